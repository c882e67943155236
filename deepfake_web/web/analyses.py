"""Creating, re-running, reproducing, finding and deleting analyses: the work behind the views.

An upload that passed :mod:`.upload.validation` becomes a row and a queued job here; the
worker (:mod:`deepfake_web.jobs.worker`) writes the result into the same row.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from flask import abort, current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from deepfake_web.detection.models_folder import CheckpointChoice
from deepfake_web.detection.modes import Mode
from deepfake_web.detection.stages import Stage
from deepfake_web.jobs import queue

from . import audit
from .audit import Action
from .database import immediate, serialised
from .errors import CannotReproduceError, ServerBusyError, StoredFileGoneError
from .extensions import db
from .models import ACTIVE, Analysis, Status, iso, new_id
from .ratelimit import client_address
from .storage import preview_dir, upload_path
from .upload.validation import ReceivedFile, choose_checkpoint, models_folder
from .visibility import get_visible_or_404, may_delete, owner_of_new, visible_analyses

log = logging.getLogger(__name__)

_MEDIA_FACTS = (
    "original_name", "sha256", "size_bytes", "media_kind", "width", "height", "fps",
    "frame_count", "duration_s", "codec",
)  # fmt: skip


def get_or_404(analysis_id: str) -> Analysis:
    """The analysis with this id if the current user may see it, else a 404
    (:func:`.visibility.get_visible_or_404`: the rule lives there)."""
    return get_visible_or_404(analysis_id)


def share_default() -> bool:
    """Whether a new analysis is shared with the lab unless the upload says otherwise."""
    return bool(current_app.config["SHARE_WITH_LAB_DEFAULT"])


def find_existing(
    sha256: str, sequence_length: int, mode: Mode, checkpoint_name: str
) -> Analysis | None:
    """The newest analysis of the same file with the same settings that did not fail, among
    those the current user may see."""
    return db.session.scalars(
        visible_analyses()
        .where(
            Analysis.sha256 == sha256,
            Analysis.sequence_length == sequence_length,
            Analysis.mode == mode,
            Analysis.checkpoint_name == checkpoint_name,
            Analysis.status != Status.FAILED,
        )
        .order_by(Analysis.created_at.desc())
        .limit(1)
    ).first()


def create(
    received: ReceivedFile,
    sequence_length: int,
    mode: Mode,
    force: bool,
    shared: bool | None = None,
) -> tuple[Analysis, bool]:
    """Queue an analysis of an uploaded file; returns (analysis, created).

    When the same file was already analysed with the same settings (and ``force`` is false)
    the stored analysis is returned and the upload discarded.
    """
    try:
        choice = choose_checkpoint(sequence_length, mode)
        with immediate():
            if not force:
                existing = find_existing(received.sha256, sequence_length, mode, choice.info.name)
                if existing is not None:
                    received.discard()
                    return existing, False
            _check_capacity()
            info = received.info
            analysis = _new_row(
                received.extension,
                sequence_length,
                mode,
                choice,
                original_name=received.original_name,
                sha256=received.sha256,
                size_bytes=received.size,
                media_kind=info.kind,
                width=info.width,
                height=info.height,
                fps=info.fps,
                frame_count=info.frames,
                duration_s=info.duration_s,
                codec=info.codec,
                shared=share_default() if shared is None else shared,
            )
            db.session.add(analysis)
        dest = upload_path(analysis.stored_name)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(received.path, dest)
        except BaseException:
            _forget(analysis.id)
            raise
    except BaseException:
        received.discard()
        raise
    _enqueue(analysis)
    audit.record(
        Action.UPLOAD, analysis.id, f"{analysis.original_name} ({analysis.size_bytes} bytes)"
    )
    return analysis, True


def rerun(original: Analysis) -> Analysis:
    """Queue a new analysis of the same stored file with the same settings."""
    source = _stored_file(original)
    mode = Mode(original.mode)
    choice = choose_checkpoint(original.sequence_length, mode)
    analysis = _queue_copy(original, source, choice)
    audit.record(Action.RERUN, analysis.id, f"of {original.id} ({original.original_name})")
    return analysis


def reproduce(original: Analysis) -> Analysis:
    """Queue a reproduction: the stored file again, with the same checkpoint (found by its
    SHA-256 among the installed ones), sequence length and mode, in PyTorch fp32.

    Refused before anything is queued when the analysis has not finished, its file is gone,
    or no installed checkpoint has that SHA-256 (removed, or its file changed).
    """
    if original.status != Status.DONE or not original.checkpoint_sha256:
        raise CannotReproduceError(
            "Only a finished analysis can be reproduced; this one has no result to compare with."
        )
    source = _stored_file(original)
    info = models_folder().by_sha256(original.checkpoint_sha256, original.checkpoint_name)
    if info is None:
        raise CannotReproduceError(_checkpoint_gone(original))
    choice = CheckpointChoice(info, original.sequence_length, None)
    analysis = _queue_copy(original, source, choice, reproduces=original.id)
    audit.record(
        Action.REPRODUCE,
        analysis.id,
        f"of {original.id} ({original.original_name}) with {info.name} "
        f"(SHA-256 {original.checkpoint_sha256})",
    )
    return analysis


def _checkpoint_gone(original: Analysis) -> str:
    """Why the checkpoint of ``original`` cannot be used again: gone, or changed."""
    sha = original.checkpoint_sha256
    path = Path(current_app.config["MODELS_DIR"]) / (original.checkpoint_name or "")
    if original.checkpoint_name and path.is_file():
        return (
            f"Cannot reproduce: the checkpoint {original.checkpoint_name} has changed since this "
            f"analysis (its file no longer has the SHA-256 {sha}), and no other installed "
            "checkpoint has it."
        )
    return (
        f"Cannot reproduce: the checkpoint {original.checkpoint_name} (SHA-256 {sha}) is no "
        "longer installed: no installed checkpoint has that SHA-256."
    )


def _stored_file(original: Analysis) -> Path:
    """The stored upload of ``original``; StoredFileGoneError when retention (or anything
    else) removed it."""
    source = upload_path(original.stored_name)
    if original.file_removed_at is not None:
        raise StoredFileGoneError(
            "The original file is no longer stored: it was removed on "
            f"{iso(original.file_removed_at)} (retention of uploads); upload it again."
        )
    if not source.exists():
        raise StoredFileGoneError("The original file is no longer stored; upload it again.")
    return source


def _queue_copy(
    original: Analysis, source: Path, choice: CheckpointChoice, reproduces: str | None = None
) -> Analysis:
    """A new queued row with ``original``'s file and settings, its own link to the bytes."""
    mode = Mode(original.mode)
    with immediate():
        _check_capacity()
        facts = {k: getattr(original, k) for k in _MEDIA_FACTS}
        ext = Path(original.stored_name).suffix
        analysis = _new_row(
            ext,
            original.sequence_length,
            mode,
            choice,
            shared=original.shared,
            reproduces=reproduces,
            **facts,
        )
        if reproduces:
            analysis.checkpoint_sha256 = original.checkpoint_sha256
        db.session.add(analysis)
    dest = upload_path(analysis.stored_name)
    try:
        try:
            os.link(source, dest)  # same bytes, no copy; each analysis owns its own name
        except OSError:
            shutil.copyfile(source, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        _forget(analysis.id)
        raise
    _enqueue(analysis)
    return analysis


def delete(analysis: Analysis) -> None:
    """Delete an analysis: its row, its stored file and its previews (owner or admin: else 403)."""
    if not may_delete(analysis):
        abort(403, description="Only its owner or an administrator may delete this analysis.")
    analysis_id, stored = analysis.id, upload_path(analysis.stored_name)
    name = analysis.original_name
    with immediate():
        db.session.delete(analysis)
    stored.unlink(missing_ok=True)
    shutil.rmtree(preview_dir(analysis_id), ignore_errors=True)
    audit.record(Action.DELETE, analysis_id, name)


def _forget(analysis_id: str) -> None:
    """Remove a row whose file could not be stored (best effort: the error is what matters)."""
    try:
        with immediate():
            db.session.execute(sql_delete(Analysis).where(Analysis.id == analysis_id))
    except Exception:
        log.exception("could not remove the row of analysis %s after a failed store", analysis_id)


def _check_capacity() -> None:
    """Refuse (503, Retry-After) when the queue is full, or this client holds its share of it.

    Called in the write transaction that adds the row: until it commits, another upload's
    check waits, so two at once cannot both take the last place.
    """
    serialised("queue limit")
    config = current_app.config
    active = db.session.scalar(select(func.count()).where(Analysis.status.in_(ACTIVE)))
    if active >= int(config["QUEUE_LIMIT"]):
        raise ServerBusyError(
            f"The server is busy ({active} analyses waiting or running). Try again later."
        )
    share = config.get("QUEUE_LIMIT_PER_CLIENT")
    if share:
        mine = db.session.scalar(
            select(func.count()).where(
                Analysis.status.in_(ACTIVE), Analysis.client == client_address()
            )
        )
        if mine >= int(share):
            raise ServerBusyError(
                f"You already have {mine} analyses waiting or running, the most one client may "
                "have at once so that others get their turn. Try again when one has finished."
            )


def _new_row(
    extension: str, sequence_length: int, mode: Mode, choice: CheckpointChoice, **facts
) -> Analysis:
    analysis_id = new_id()
    return Analysis(
        id=analysis_id,
        stored_name=f"{analysis_id}{extension}",
        sequence_length=sequence_length,
        mode=mode,
        checkpoint_name=choice.info.name,
        checkpoint_frames=choice.info.sequence_length,
        checkpoint_note=choice.note,
        checkpoint_demo=choice.info.demo,
        checkpoint_warning=choice.info.warning,
        status=Status.QUEUED,
        stage=Stage.QUEUED,
        client=client_address(),
        owner_id=owner_of_new(),
        **facts,
    )


def _enqueue(analysis: Analysis) -> None:
    """Queue the analysis; when the queue cannot take it, the row says so (never a 500).

    Should even that write fail, the row stays queued and recovery queues it again.
    """
    try:
        queue.enqueue(analysis.id)
    except Exception:
        log.exception("could not queue analysis %s", analysis.id)
        try:
            with immediate():
                row = db.session.get(Analysis, analysis.id)
                if row is not None:
                    row.status, row.stage = Status.FAILED, None
                    row.error = "The analysis could not be queued (the task queue is unavailable)."
        except Exception:
            log.exception("could not mark analysis %s as not queued", analysis.id)
