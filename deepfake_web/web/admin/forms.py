"""The form that creates an account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class UserForm(FlaskForm):
    """A name, a first password and the role."""

    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password (8 characters or more)", validators=[DataRequired()])
    admin = BooleanField("Administrator (sees and deletes everything, manages accounts)")
