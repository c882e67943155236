"""The sign-in form: the lab's access token (a shared password until accounts arrive)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired


class SignInForm(FlaskForm):
    """The access token, and the page to return to."""

    token = PasswordField("Access token", validators=[DataRequired()])
    next = HiddenField()
