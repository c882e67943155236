"""The JSON API: submit, follow, list and delete analyses; list models."""
