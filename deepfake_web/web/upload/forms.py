"""The upload form (Flask-WTF: it carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField
from wtforms.fields import SelectChoice

from deepfake_web.detection.modes import Mode


class UploadForm(FlaskForm):
    """A file, the sequence length and the mode; the values are checked by ``validation``."""

    file = FileField("Video or image")
    # Checked like the API's (a length whose checkpoint was removed since the page was shown
    # still works: the nearest one is used, with a note).
    sequence_length = SelectField("Frames to analyse", coerce=int, validate_choice=False)
    mode = SelectField(
        "Mode",
        choices=[SelectChoice(m.value, m.description) for m in Mode],
        default=Mode.STANDARD.value,
        validate_choice=False,
    )
    force = BooleanField("Analyse again even if this file was already analysed")
    # Accounts only: who may see the analysis (the default comes from SHARE_WITH_LAB_DEFAULT).
    shared = RadioField(
        "Who may see the result",
        choices=[
            SelectChoice("private", "Only me (and the administrators)"),
            SelectChoice("lab", "Everyone in the lab"),
        ],
        validate_choice=False,
    )
