"""The sign-in form: the lab's access token (a shared password until accounts arrive)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    """The access token, and the page to return to."""

    token = PasswordField("Access token", validators=[DataRequired()])
    next = HiddenField()


class LoginForm(FlaskForm):
    """An account's name and password (accounts mode), and the page to return to."""

    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
