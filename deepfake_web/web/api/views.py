"""The JSON API: submit, follow, list and delete analyses; list models.

Unsafe methods need the CSRF token of a browser session (header ``X-CSRFToken``, from
``GET /api/csrf`` or the page's meta tag), or ``Authorization: Bearer <API_TOKEN>`` when
the server is configured with an API token; with a token, a session's CSRF token counts
only when that session signed in (:mod:`..auth.access`).
"""

from __future__ import annotations

from functools import partial

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_wtf.csrf import generate_csrf

from deepfake_web.detection.checkpoint_info import file_sha256

from .. import analyses, reports, reproductions
from ..auth.access import bearer_ok
from ..extensions import csrf, limiter
from ..history.search import Filters, search
from ..models import Analysis, Status, iso
from ..ratelimit import upload_limit
from ..storage import preview_name
from ..upload.validation import (
    choose_checkpoint,
    models_folder,
    parse_mode,
    parse_sequence_length,
    parse_shared,
    receive,
)

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # checked below, so that token-authenticated scripts can skip it


@bp.before_request
def check_csrf() -> None:
    """Require a CSRF token (or the API token) on every request that changes something.

    With ``API_TOKEN`` set, the access check (:mod:`..auth.access`) has already refused
    requests that carry neither the token nor a signed-in session.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or not current_app.config["WTF_CSRF_ENABLED"]:
        return
    if bearer_ok():
        return
    csrf.protect()


def _links(a: Analysis) -> dict:
    return {
        "status_url": url_for("api.analysis", analysis_id=a.id, _external=False),
        "result_url": url_for("results.detail", analysis_id=a.id),
    }


def _detail(a: Analysis) -> dict:
    out = a.summary() | _links(a)
    out["media"] = {
        "kind": a.media_kind,
        "width": a.width,
        "height": a.height,
        "fps": a.fps,
        "frames": a.frame_count,
        "duration_s": a.duration_s,
        "codec": a.codec,
        "size_bytes": a.size_bytes,
        "sha256": a.sha256,
    }
    out["started_at"], out["attempts"] = iso(a.started_at), a.attempts
    out["checkpoint_warning"] = a.checkpoint_warning
    if a.reproduces:
        out["reproduction"] = reproductions.record(a)
    if a.status == Status.DONE and a.result:
        preview = partial(url_for, "results.preview", analysis_id=a.id)
        out.update({k: v for k, v in a.result.items() if k not in ("file", "media")})
        out["previews"] = [
            {
                "frame": preview(name=preview_name("frame", k)),
                "face": preview(name=preview_name("face", k)) if score.get("box") else None,
            }
            for k, score in enumerate(a.frame_scores or [], start=1)
        ]
        out["persons"] = [
            p.to_dict(preview(name=preview_name("person", p.number)) if p.thumbnail else None)
            for p in a.persons
        ]
        out["summary"] = a.result.get("summary")
    return out


@bp.get("/csrf")
def csrf_token():
    """A CSRF token bound to this session (for scripts that keep the session cookie)."""
    return jsonify(csrf_token=generate_csrf())


@bp.get("/models")
def models():
    """Installed checkpoints (add ``?sha256=1`` to hash them: slow for large files)."""
    with_sha = request.args.get("sha256") == "1"
    rows = []
    folder = models_folder()
    for info in folder.checkpoints():
        row = info.to_dict()
        row.pop("path")
        row["sha256"] = file_sha256(info.path) if with_sha else None
        rows.append(row)
    return jsonify(models=rows, lengths=folder.lengths())


@bp.post("/analyses")
@limiter.shared_limit(upload_limit, scope="uploads")
def create():
    """Upload ``file`` with ``sequence_length`` (and optional ``mode``, ``force``, ``shared``)."""
    sequence_length = parse_sequence_length(request.form.get("sequence_length"))
    mode = parse_mode(request.form.get("mode"))
    shared = parse_shared(request.form.get("shared"))
    force = request.form.get("force", "").lower() in ("1", "true", "yes", "on")
    choose_checkpoint(sequence_length, mode)  # refuse early, before reading the upload
    received = receive(request.files.get("file"))
    analysis, created = analyses.create(received, sequence_length, mode, force, shared)
    body = _detail(analysis) | {"existing": not created}
    return jsonify(body), 202 if created else 200


@bp.get("/analyses")
def index():
    """One page of analyses: ``page``, ``per_page``, ``verdict``, ``q``, ``checkpoint``..."""
    filters = Filters.from_args(request.args)
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", 25, type=int)
    p = search(filters, page, per_page)
    return jsonify(
        items=[a.summary() | _links(a) for a in p.items],
        page=p.page,
        per_page=p.per_page,
        pages=p.pages,
        total=p.total,
    )


@bp.get("/analyses/<analysis_id>")
def analysis(analysis_id: str):
    """Status and progress; the engine's result fields once done."""
    return jsonify(_detail(analyses.get_or_404(analysis_id)))


@bp.get("/analyses/<analysis_id>/report.json")
def report(analysis_id: str):
    """The reproducibility record of a finished analysis (the facts of its PDF report)."""
    return jsonify(reports.record(analyses.get_or_404(analysis_id)))


@bp.post("/analyses/<analysis_id>/rerun")
@limiter.shared_limit(upload_limit, scope="uploads")
def rerun(analysis_id: str):
    """Analyse the stored file again with the same settings."""
    analysis = analyses.rerun(analyses.get_or_404(analysis_id))
    return jsonify(_detail(analysis) | {"existing": False}), 202


@bp.post("/analyses/<analysis_id>/reproduce")
@limiter.shared_limit(upload_limit, scope="uploads")
def reproduce(analysis_id: str):
    """Run the stored file again with the same checkpoint (by SHA-256) and settings, in fp32."""
    analysis = analyses.reproduce(analyses.get_or_404(analysis_id))
    return jsonify(_detail(analysis) | {"existing": False}), 202


@bp.delete("/analyses/<analysis_id>")
def delete(analysis_id: str):
    """Delete an analysis with its stored file and previews."""
    analyses.delete(analyses.get_or_404(analysis_id))
    return "", 204
