"""Who may change things: the access token (``API_TOKEN``), the sign-in page, the session flag."""
