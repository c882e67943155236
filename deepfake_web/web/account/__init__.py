"""The account page: who you are, and your API tokens (accounts mode)."""
