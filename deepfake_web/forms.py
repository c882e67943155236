"""Web forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField
from wtforms.fields import SelectChoice


class UploadForm(FlaskForm):
    """A file, the sequence length and the mode."""

    file = FileField("Video or image")
    # Checked by analyses.parse_frames like the API's (a length whose checkpoint was removed
    # since the page was shown still works: the nearest one is used, with a note).
    sequence_length = SelectField("Frames to analyse", coerce=int, validate_choice=False)
    mode = SelectField(
        "Mode",
        choices=[
            SelectChoice("standard", "Standard: frames spread over the clip"),
            SelectChoice(
                "reference", "Reference: the original app's exact number (published checkpoints)"
            ),
        ],
        default="standard",
    )
    force = BooleanField("Analyse again even if this file was already analysed")


class ConfirmForm(FlaskForm):
    """A button whose only field is the CSRF token (delete, run again)."""
