"""The report of a finished analysis: its JSON record and its PDF, from the row and previews.

What the report says is made by the engine (:mod:`deepfake_web.detection.report`); this
module gathers the row's facts, the stored previews and the checkpoint's card (when the
same file, by SHA-256, is still installed).
"""

from __future__ import annotations

import io
import logging

from flask import abort

from deepfake_web.detection.cards import model_card
from deepfake_web.detection.checkpoint_info import CheckpointInfo
from deepfake_web.detection.report import ReportFrame, build_record, render_pdf

from . import reproductions
from .models import Analysis, Status, iso
from .reproductions import runtime_of
from .storage import preview_dir, preview_name
from .upload.validation import models_folder

log = logging.getLogger(__name__)


def installed_checkpoint(sha256: str | None, prefer: str | None = None) -> CheckpointInfo | None:
    """The installed checkpoint file with this SHA-256 (trying the one named ``prefer``
    first), if any."""
    return models_folder().by_sha256(sha256, prefer)


def _require_done(analysis: Analysis) -> None:
    if analysis.status != Status.DONE or not analysis.result:
        abort(409, description="The analysis has not finished; its report is not ready.")


def record(analysis: Analysis) -> dict:
    """The reproducibility record of a finished analysis (409 while it runs)."""
    _require_done(analysis)
    info = installed_checkpoint(analysis.checkpoint_sha256, analysis.checkpoint_name)
    source = {
        "file_name": analysis.original_name,
        "sha256": analysis.sha256,
        "size_bytes": analysis.size_bytes,
    }
    facts = {
        "id": analysis.id,
        "created_at": iso(analysis.created_at),
        "started_at": iso(analysis.started_at),
        "finished_at": iso(analysis.finished_at),
    }
    card = model_card(info).to_dict() if info else None
    out = build_record(analysis.result, source, card=card, analysis=facts)
    out["runtime"] = runtime_of(analysis)
    if analysis.reproduces:
        out["reproduces"] = reproductions.record(analysis)
        comparison = out["reproduces"].get("comparison")
        said = (
            f"{comparison['sentence']}; checkpoint SHA-256 {comparison['checkpoint_sha256']}; "
            f"runtimes: original {comparison['original_runtime']}, reproduction "
            f"{comparison['reproduction_runtime']}"
            if comparison
            else "the original is no longer available to compare with"
        )
        out["notes"] = [f"Reproduction of analysis {analysis.reproduces}: {said}."] + out["notes"]
    return out


def _read(path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def frames(analysis: Analysis) -> list[ReportFrame]:
    """The stored previews of each analysed frame, with its score."""
    folder = preview_dir(analysis.id)
    out = []
    for k, s in enumerate(analysis.frame_scores or [], start=1):
        out.append(
            ReportFrame(
                number=k,
                index=s["index"],
                time_s=s["time_s"],
                p_fake=s.get("p_fake"),
                frame_jpeg=_read(folder / preview_name("frame", k)),
                face_jpeg=_read(folder / preview_name("face", k)),
                heat_jpeg=_read(folder / preview_name("heat", k)),
            )
        )
    return out


def pdf(analysis: Analysis) -> bytes:
    """The report PDF of a finished analysis."""
    buffer = io.BytesIO()
    render_pdf(record(analysis), frames(analysis), buffer)
    return buffer.getvalue()
