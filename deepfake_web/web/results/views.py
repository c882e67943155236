"""The result page of an analysis, its preview images, re-running, reproducing and deleting it."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from deepfake_web.detection.result import persons_summary

from .. import analyses, reports, reproductions
from ..errors import RequestRefusedError
from ..extensions import limiter
from ..forms import ConfirmForm
from ..models import Analysis, Status
from ..ratelimit import upload_limit
from ..storage import PREVIEW_NAME, preview_dir
from .chart import build_chart

bp = Blueprint("results", __name__, url_prefix="/analyses")


@bp.get("/<analysis_id>")
def detail(analysis_id: str):
    """Progress while it runs; verdict, chart, previews and facts when done."""
    analysis = analyses.get_or_404(analysis_id)
    chart = None
    persons = analysis.persons if analysis.status == Status.DONE else []
    if analysis.status == Status.DONE and analysis.frame_scores:
        result = analysis.result or {}
        ck = result.get("checkpoint", {})
        chart = build_chart(
            analysis.frame_scores,
            analysis.duration_s,
            ck.get("threshold", 0.5),
            ck.get("uncertain_margin", 0.0),
            persons=[p.to_dict() for p in persons],
        )
    return render_template(
        "results/detail.html",
        a=analysis,
        r=analysis.result or {},
        chart=chart,
        persons=persons,
        frame_persons=_frame_persons(persons),
        persons_summary=persons_summary([p.verdict for p in persons]),
        existing=request.args.get("existing") == "1",
        form=ConfirmForm(),
        **_reproduction_facts(analysis),
    )


def _reproduction_facts(analysis) -> dict:
    """What the page says about reproductions: of which analysis this one is, and how the
    reproductions of this one compared."""
    original = reproductions.original_of(analysis)
    own = reproductions.compare(original, analysis) if original is not None else None
    others = [
        (r, reproductions.compare(analysis, r)) for r in reproductions.reproductions_of(analysis)
    ]
    return {
        "original": original,
        "comparison": own,
        "reproductions": others,
        "runtime": reproductions.runtime_of(analysis) if analysis.status == Status.DONE else None,
    }


def _frame_persons(persons: list) -> dict[int, list[tuple[int, str, float | None]]]:
    """Who is in each sampled frame (by frame index): number, colour and that crop's score."""
    out: dict[int, list[tuple[int, str, float | None]]] = {}
    for p in persons:
        for b in p.boxes or []:
            out.setdefault(b["index"], []).append((p.number, p.colour, b.get("p_fake")))
    return out


@bp.get("/<analysis_id>/previews/<name>")
def preview(analysis_id: str, name: str):
    """A preview image, served only for an existing analysis."""
    analysis = analyses.get_or_404(analysis_id)
    if not PREVIEW_NAME.match(name):
        abort(404)
    response = send_from_directory(preview_dir(analysis.id), name, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/<analysis_id>/report.pdf")
def report_pdf(analysis_id: str):
    """The analysis's report as a PDF to file."""
    analysis = analyses.get_or_404(analysis_id)
    body = reports.pdf(analysis)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in analysis.original_name)
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="report-{stem[:80]}-{analysis.id}.pdf"'
        },
    )


@bp.post("/<analysis_id>/rerun")
@limiter.shared_limit(upload_limit, scope="uploads")
def rerun(analysis_id: str):
    """Analyse the stored file again with the same settings."""
    return _queue_again(analysis_id, analyses.rerun)


@bp.post("/<analysis_id>/reproduce")
@limiter.shared_limit(upload_limit, scope="uploads")
def reproduce(analysis_id: str):
    """Run the stored file again with the same checkpoint (by SHA-256) and settings, in fp32."""
    return _queue_again(analysis_id, analyses.reproduce)


def _queue_again(analysis_id: str, queue: Callable[[Analysis], Analysis]):
    """Queue a new analysis made from ``analysis_id`` by ``queue``; show it, or the refusal."""
    original = analyses.get_or_404(analysis_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        analysis = queue(original)
    except RequestRefusedError as exc:
        flash(exc.message, "error")
        return redirect(url_for("results.detail", analysis_id=original.id), code=303)
    return redirect(url_for("results.detail", analysis_id=analysis.id), code=303)


@bp.get("/<analysis_id>/delete")
def confirm_delete(analysis_id: str):
    """Ask before deleting."""
    analysis = analyses.get_or_404(analysis_id)
    return render_template("results/confirm_delete.html", a=analysis, form=ConfirmForm())


@bp.post("/<analysis_id>/delete")
def delete(analysis_id: str):
    """Delete the analysis, its stored file and its previews."""
    analysis = analyses.get_or_404(analysis_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = analysis.original_name
    analyses.delete(analysis)
    flash(f"Deleted the analysis of “{name}”.", "info")
    return redirect(url_for("history.index"), code=303)
