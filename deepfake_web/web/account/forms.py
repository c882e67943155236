"""The form that names a new API token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    """What the token is for (its name)."""

    name = StringField("Name (what the token is for)", validators=[DataRequired(), Length(max=80)])
