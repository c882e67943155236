"""The upload page: drop a file, pick a sequence length, start an analysis."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from wtforms.fields import SelectChoice

from deepfake_web.detection.config import DEFAULT_SEQUENCE_LENGTH

from .. import analyses
from ..accounts import accounts_mode
from ..errors import RequestRefusedError
from ..extensions import db, limiter
from ..models import Analysis
from ..ratelimit import upload_limit
from ..visibility import visible_analyses
from .forms import UploadForm
from .validation import (
    choose_checkpoint,
    models_folder,
    parse_mode,
    parse_sequence_length,
    parse_shared,
    receive,
)

bp = Blueprint("upload", __name__)


def _form() -> UploadForm:
    form = UploadForm()
    lengths = models_folder().lengths()
    form.sequence_length.choices = [SelectChoice(n, f"{n} frames") for n in lengths]
    if lengths and form.sequence_length.data is None:
        form.sequence_length.data = min(lengths, key=lambda n: abs(n - DEFAULT_SEQUENCE_LENGTH))
    if form.shared.data is None:
        form.shared.data = "lab" if analyses.share_default() else "private"
    return form


def _page(form: UploadForm, error: str | None = None, status: int = 200):
    folder = models_folder()
    checkpoints = folder.checkpoints()
    cards = {n: folder.choose(n).info.name for n in folder.lengths()}
    recent = db.session.scalars(
        visible_analyses().order_by(Analysis.created_at.desc()).limit(5)
    ).all()
    body = render_template(
        "upload/index.html",
        form=form,
        error=error,
        checkpoints=checkpoints,
        cards=cards,
        usable=[c for c in checkpoints if c.usable],
        recent=recent,
        models_dir=current_app.config["MODELS_DIR"],
        max_mb=current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024),
    )
    return body, status


@bp.get("/")
def index():
    """Show the drop zone, the sequence-length choice and the installed models."""
    return _page(_form())


@bp.post("/")
@limiter.shared_limit(upload_limit, scope="uploads")
def submit():
    """Receive a file from the form (the no-JavaScript path) and start its analysis."""
    form = _form()
    if not form.validate_on_submit():
        errors = "; ".join(e for field in form.errors.values() for e in field)
        return _page(form, errors or "The form is incomplete.", 400)
    try:
        sequence_length = parse_sequence_length(form.sequence_length.data)
        mode = parse_mode(form.mode.data)
        choose_checkpoint(sequence_length, mode)  # refuse early (no model, mode)
        received = receive(request.files.get("file"))
        shared = parse_shared(form.shared.data) if accounts_mode() else None
        analysis, created = analyses.create(
            received, sequence_length, mode, form.force.data, shared
        )
    except RequestRefusedError as exc:
        return _page(form, exc.message, exc.status)
    target = url_for("results.detail", analysis_id=analysis.id, existing=None if created else 1)
    return redirect(target, code=303)
