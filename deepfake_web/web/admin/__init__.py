"""Administration (accounts mode): the accounts, and the audit log."""
