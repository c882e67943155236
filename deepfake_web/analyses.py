"""Creating, re-running and deleting analyses: the work behind the upload, result and API views."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask import abort, current_app
from sqlalchemy import func, select

from . import tasks
from .database import immediate
from .detection.checkpoint_info import PUBLISHED
from .detection.errors import NoCheckpointError
from .detection.models_folder import INSTALL_HINT, CheckpointChoice, ModelsFolder
from .extensions import db
from .models import ACTIVE, VERDICTS, Analysis, new_id
from .uploads import ReceivedFile, UploadError

log = logging.getLogger(__name__)

MODES = ("standard", "reference")


def registry() -> ModelsFolder:
    """The checkpoints folder of this app (read on every call: files come and go)."""
    return ModelsFolder(current_app.config["MODELS_DIR"])


def upload_path(analysis: Analysis) -> Path:
    """Where the analysed file is kept (never served back)."""
    return Path(current_app.config["UPLOAD_DIR"]) / analysis.stored_name


def preview_dir(analysis_id: str) -> Path:
    """Folder of an analysis's preview images."""
    return Path(current_app.config["PREVIEW_DIR"]) / analysis_id


def get_or_404(analysis_id: str) -> Analysis:
    """The analysis with this id, or a 404."""
    analysis = db.session.get(Analysis, analysis_id) if len(analysis_id) <= 32 else None
    if analysis is None:
        abort(404, description="No analysis with this id (it may have been deleted).")
    return analysis


def parse_frames(raw: str | int | None) -> int:
    """Validate a requested sequence length (400 when it is not a sensible number)."""
    limit = int(current_app.config["MAX_SEQUENCE_LENGTH"])
    try:
        n = int(raw) if raw not in (None, "") else 0
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= limit:
        raise UploadError(400, f"Choose a sequence length between 1 and {limit} frames.")
    return n


def choose_checkpoint(frames: int, mode: str) -> CheckpointChoice:
    """The checkpoint an analysis of ``frames`` frames would use, or an UploadError."""
    if mode not in MODES:
        raise UploadError(400, f"Unknown mode {mode!r}; use standard or reference.")
    try:
        choice = registry().choose(frames)
    except NoCheckpointError as exc:
        hint = INSTALL_HINT.format(dir=current_app.config["MODELS_DIR"])
        raise UploadError(
            503, f"No model is installed, so nothing can be analysed. {hint}"
        ) from exc
    if mode == "reference" and choice.info.format != PUBLISHED:
        raise UploadError(
            400,
            "Reference mode reproduces the original app and needs a published-format "
            f"checkpoint; {choice.info.name} is not one.",
        )
    return choice


def _check_capacity() -> None:
    active = db.session.scalar(select(func.count()).where(Analysis.status.in_(ACTIVE)))
    if active >= int(current_app.config["QUEUE_LIMIT"]):
        raise UploadError(
            503, f"The server is busy ({active} analyses waiting or running). Try again later."
        )


def _new_row(
    source: ReceivedFile | Analysis, frames: int, mode: str, choice: CheckpointChoice
) -> Analysis:
    analysis_id = new_id()
    if isinstance(source, Analysis):
        facts = {
            k: getattr(source, k)
            for k in ("original_name", "sha256", "size_bytes", "media_kind", "width", "height",
                      "fps", "frame_count", "duration_s", "codec")
        }  # fmt: skip
        ext = Path(source.stored_name).suffix
    else:
        info = source.info
        facts = dict(
            original_name=source.original_name,
            sha256=source.sha256,
            size_bytes=source.size,
            media_kind=info.kind,
            width=info.width,
            height=info.height,
            fps=info.fps,
            frame_count=info.frames,
            duration_s=info.duration_s,
            codec=info.codec,
        )
        ext = source.extension
    return Analysis(
        id=analysis_id,
        stored_name=f"{analysis_id}{ext}",
        requested_frames=frames,
        mode=mode,
        checkpoint_name=choice.info.name,
        checkpoint_frames=choice.info.sequence_length,
        checkpoint_note=choice.note,
        checkpoint_demo=choice.info.demo,
        checkpoint_warning=choice.info.warning,
        status="queued",
        stage="waiting in the queue",
        **facts,
    )


def find_existing(sha256: str, frames: int, mode: str, checkpoint_name: str) -> Analysis | None:
    """The newest analysis of the same file with the same settings that did not fail."""
    return db.session.scalars(
        select(Analysis)
        .where(
            Analysis.sha256 == sha256,
            Analysis.requested_frames == frames,
            Analysis.mode == mode,
            Analysis.checkpoint_name == checkpoint_name,
            Analysis.status != "failed",
        )
        .order_by(Analysis.created_at.desc())
        .limit(1)
    ).first()


def create(received: ReceivedFile, frames: int, mode: str, force: bool) -> tuple[Analysis, bool]:
    """Queue an analysis of an uploaded file; returns (analysis, created).

    When the same file was already analysed with the same settings (and ``force`` is false)
    the stored analysis is returned and the upload discarded.
    """
    try:
        choice = choose_checkpoint(frames, mode)
        with immediate():
            if not force:
                existing = find_existing(received.sha256, frames, mode, choice.info.name)
                if existing is not None:
                    received.discard()
                    return existing, False
            _check_capacity()
            analysis = _new_row(received, frames, mode, choice)
            db.session.add(analysis)
        dest = upload_path(analysis)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, dest)
    except BaseException:
        received.discard()
        raise
    _enqueue(analysis)
    return analysis, True


def rerun(original: Analysis) -> Analysis:
    """Queue a new analysis of the same stored file with the same settings."""
    source = upload_path(original)
    if not source.exists():
        raise UploadError(410, "The original file is no longer stored; upload it again.")
    choice = choose_checkpoint(original.requested_frames, original.mode)
    with immediate():
        _check_capacity()
        analysis = _new_row(original, original.requested_frames, original.mode, choice)
        db.session.add(analysis)
    dest = upload_path(analysis)
    try:
        os.link(source, dest)  # same bytes, no copy; each analysis owns its own name
    except OSError:
        shutil.copyfile(source, dest)
    _enqueue(analysis)
    return analysis


def _enqueue(analysis: Analysis) -> None:
    try:
        tasks.enqueue(analysis.id)
    except Exception:
        log.exception("could not queue analysis %s", analysis.id)
        analysis.status, analysis.stage = "failed", None
        analysis.error = "The analysis could not be queued (the task queue is unavailable)."
        db.session.commit()


def delete(analysis: Analysis) -> None:
    """Delete an analysis: its row, its stored file and its previews."""
    analysis_id, stored = analysis.id, upload_path(analysis)
    with immediate():
        db.session.delete(analysis)
    stored.unlink(missing_ok=True)
    shutil.rmtree(preview_dir(analysis_id), ignore_errors=True)


SORTS = {
    "created": Analysis.created_at,
    "name": Analysis.original_name,
    "verdict": Analysis.verdict,
    "p_fake": Analysis.p_fake,
    "frames": Analysis.requested_frames,
    "checkpoint": Analysis.checkpoint_name,
}


@dataclass
class Filters:
    """What the history page (and the API list) is narrowed and sorted by."""

    q: str = ""
    verdict: str = ""
    checkpoint: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "created"
    order: str = "desc"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read filters from query arguments, ignoring values that make no sense."""
        verdict = args.get("verdict", "").upper()
        sort = args.get("sort", "created")
        return cls(
            q=args.get("q", "").strip()[:100],
            verdict=verdict if verdict in (*VERDICTS, "FAILED", "ACTIVE") else "",
            checkpoint=args.get("checkpoint", "").strip()[:255],
            date_from=_parse_date(args.get("from")),
            date_to=_parse_date(args.get("to")),
            sort=sort if sort in SORTS else "created",
            order="asc" if args.get("order") == "asc" else "desc",
        )

    def args(self, **changes: str) -> dict[str, str]:
        """These filters as query arguments (for links), with ``changes`` applied."""
        out = {
            "q": self.q,
            "verdict": self.verdict,
            "checkpoint": self.checkpoint,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "sort": self.sort,
            "order": self.order,
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v}


def _parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def search(filters: Filters, page: int, per_page: int):
    """One page of analyses matching ``filters`` (a Flask-SQLAlchemy Pagination)."""
    stmt = select(Analysis)
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        stmt = stmt.where(Analysis.original_name.ilike(f"%{escaped}%", escape="\\"))
    if filters.verdict == "FAILED":
        stmt = stmt.where(Analysis.status == "failed")
    elif filters.verdict == "ACTIVE":
        stmt = stmt.where(Analysis.status.in_(ACTIVE))
    elif filters.verdict:
        stmt = stmt.where(Analysis.verdict == filters.verdict)
    if filters.checkpoint:
        stmt = stmt.where(Analysis.checkpoint_name == filters.checkpoint)
    if filters.date_from:
        start = datetime.combine(filters.date_from, time.min, tzinfo=UTC)
        stmt = stmt.where(Analysis.created_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        stmt = stmt.where(Analysis.created_at < end)
    column = SORTS[filters.sort]
    primary = column.asc() if filters.order == "asc" else column.desc()
    stmt = stmt.order_by(primary.nulls_last(), Analysis.created_at.desc(), Analysis.id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, max_per_page=200)


def checkpoint_names() -> list[str]:
    """Every checkpoint name that appears in the history (for the filter)."""
    return list(
        db.session.scalars(
            select(Analysis.checkpoint_name)
            .where(Analysis.checkpoint_name.is_not(None))
            .distinct()
            .order_by(Analysis.checkpoint_name)
        )
    )
