"""The upload page (views, form) and the checks every upload passes (validation)."""
