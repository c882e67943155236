"""Forms shared by several pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A button whose only field is the CSRF token (delete, run again)."""
