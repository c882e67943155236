"""One analysis as the worker runs it: claim, progress and heartbeat, result, failure.

This is where a result reaches the database (:func:`_finish`). Runs in the worker process
only (it imports the detector, hence torch).

Every write is one short transaction that begins as a write (``BEGIN IMMEDIATE``), run
through :func:`~deepfake_web.web.database.retrying` so that a locked database is tried
again with backoff instead of failing the analysis; no read transaction stays open while
the engine works. A write is only applied while the row is still this worker's: an
analysis that recovery handed to another attempt (its heartbeat went stale) is left alone.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, select, update

from deepfake_web.detection.errors import DetectionError
from deepfake_web.detection.models_folder import ModelsFolder
from deepfake_web.detection.stages import Stage
from deepfake_web.files import write_bytes
from deepfake_web.web.database import immediate, retrying
from deepfake_web.web.errors import is_disk_full, is_locked
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Person, Status, utcnow
from deepfake_web.web.storage import preview_dir, preview_name, upload_path

from .detectors import detector_for, pinned_detector

log = logging.getLogger(__name__)

_PROCESS_TOKEN = secrets.token_hex(4)  # tells this process from an earlier one with its pid
FAIL_ATTEMPTS = 12  # recording a failure is tried for about half a minute


class AnalysisDeletedError(Exception):
    """The analysis was deleted while it ran."""


class AnalysisTakenOverError(AnalysisDeletedError):
    """The analysis is no longer this worker's (recovery queued it again)."""


@dataclass(frozen=True)
class Claimed:
    """What the worker needs of a claimed analysis, read inside the claiming transaction."""

    path: Path
    original_name: str
    sequence_length: int
    mode: str
    attempt: int
    reproduces: str | None = None  # a reproduction: the original's id
    checkpoint_name: str | None = None
    checkpoint_sha256: str | None = None


def worker_name() -> str:
    """This process as ``host:pid:token`` (stored in the rows it works on)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


def _mine(analysis_id: str, attempt: int):
    """The condition of a write that applies only to this worker's attempt at an analysis."""
    return (
        Analysis.id == analysis_id,
        Analysis.status == Status.RUNNING,
        Analysis.worker == worker_name(),
        Analysis.attempts == attempt,
    )


def _claim(analysis_id: str) -> Claimed | None:
    """Mark a queued analysis as running by this worker; None if it is not queued.

    One conditional UPDATE (``... WHERE status = 'queued'``): when two workers on any
    machines try to claim the same analysis, the database lets exactly one of them change
    the row, on PostgreSQL as on SQLite.
    """

    def claim() -> Claimed | None:
        with immediate():
            now = utcnow()
            res = db.session.execute(
                update(Analysis)
                .where(Analysis.id == analysis_id, Analysis.status == Status.QUEUED)
                .values(
                    status=Status.RUNNING,
                    stage=Stage.STARTING,
                    progress=0.0,
                    attempts=func.coalesce(Analysis.attempts, 0) + 1,
                    worker=worker_name(),
                    started_at=now,
                    heartbeat_at=now,
                    error=None,
                )
                .execution_options(synchronize_session=False)
            )
            if res.rowcount != 1:
                return None
            row = db.session.get(Analysis, analysis_id, populate_existing=True)
            return Claimed(
                upload_path(row.stored_name),
                row.original_name,
                row.sequence_length,
                row.mode,
                row.attempts,
                row.reproduces,
                row.checkpoint_name,
                row.checkpoint_sha256,
            )

    return retrying(claim, f"claiming analysis {analysis_id}")


def _gone_or_taken(analysis_id: str) -> AnalysisDeletedError:
    """Which of the two a write that matched no row means."""
    status = db.session.scalar(select(Analysis.status).where(Analysis.id == analysis_id))
    db.session.commit()  # end the read at once
    if status is None:
        return AnalysisDeletedError(analysis_id)
    return AnalysisTakenOverError(analysis_id)


def _touch(analysis_id: str, attempt: int, retries: int = 8, **values) -> None:
    """Update a running analysis's fields and heartbeat (one short write, retried if locked).

    Raises AnalysisDeletedError when the row is gone, AnalysisTakenOverError when it is no
    longer this worker's.
    """

    def touch() -> int:
        with immediate():
            res = db.session.execute(
                update(Analysis)
                .where(*_mine(analysis_id, attempt))
                .values(heartbeat_at=utcnow(), **values)
            )
            return res.rowcount

    if retrying(touch, f"updating analysis {analysis_id}", attempts=retries) == 0:
        raise _gone_or_taken(analysis_id)


def _heartbeat(app: Flask, analysis_id: str, attempt: int, stop: threading.Event) -> None:
    interval = float(app.config["HEARTBEAT_INTERVAL_S"])
    while not stop.wait(interval):
        with app.app_context():
            try:
                _touch(analysis_id, attempt, retries=3)
            except AnalysisDeletedError:
                return
            except Exception:  # a locked or full database must not kill the heartbeat
                log.warning("heartbeat of %s failed", analysis_id, exc_info=True)
            finally:
                db.session.remove()


def run_analysis(app: Flask, analysis_id: str) -> None:
    """Run one queued analysis to the end: done, failed (with a reason), or cancelled."""
    with app.app_context():
        job = _claim(analysis_id)
        if job is None:
            log.info("analysis %s is not waiting (deleted or already taken)", analysis_id)
            return
        stop = threading.Event()
        beat = threading.Thread(
            target=_heartbeat, args=(app, analysis_id, job.attempt, stop), daemon=True
        )
        beat.start()
        last: list = [0.0, None]

        def progress(stage: Stage, fraction: float) -> None:
            now = time.monotonic()
            if stage != last[1] or now - last[0] >= 0.5:
                last[:] = [now, stage]
                progress_ = round(min(fraction, 0.99), 3)
                _touch(analysis_id, job.attempt, stage=stage, progress=progress_)

        try:
            log.info(
                "analysing %s (%s, %d frames, %s)",
                analysis_id, job.path.name, job.sequence_length, job.mode,
            )  # fmt: skip
            if job.reproduces:
                detector = pinned_detector(app, _pinned_checkpoint(app, job))
            else:
                detector = detector_for(app)
            result = detector(
                job.path, sequence_length=job.sequence_length, mode=job.mode, progress=progress
            )
            if job.reproduces and result.checkpoint.sha256 != job.checkpoint_sha256:
                raise DetectionError(
                    f"The checkpoint {result.checkpoint.name} changed while the reproduction ran "
                    f"(SHA-256 {result.checkpoint.sha256}, not {job.checkpoint_sha256}); "
                    "its score would not be comparable."
                )
            _finish(analysis_id, job.attempt, result)
        except AnalysisTakenOverError:
            log.warning("analysis %s was queued again by recovery; this attempt stops", analysis_id)
        except AnalysisDeletedError:
            log.info("analysis %s was deleted while running", analysis_id)
            shutil.rmtree(preview_dir(analysis_id), ignore_errors=True)
        except DetectionError as exc:
            _fail(analysis_id, job.attempt, str(exc).replace(job.path.name, job.original_name))
        except Exception as exc:
            log.exception("analysis %s crashed", analysis_id)
            _fail(analysis_id, job.attempt, _internal_reason(exc))
        finally:
            stop.set()
            db.session.remove()


def _pinned_checkpoint(app: Flask, job: Claimed) -> Path:
    """The installed checkpoint file with the SHA-256 a reproduction was queued with."""
    info = ModelsFolder(app.config["MODELS_DIR"]).by_sha256(
        job.checkpoint_sha256, job.checkpoint_name
    )
    if info is None:
        raise DetectionError(
            f"Cannot reproduce: no installed checkpoint has the SHA-256 {job.checkpoint_sha256} "
            f"any more ({job.checkpoint_name} was removed or changed after the reproduction "
            "was queued); nothing was run."
        )
    return info.path


def _internal_reason(exc: Exception) -> str:
    if is_disk_full(exc):
        return "The server's disk was full while analysing; try again later."
    if is_locked(exc):
        return "The database stayed busy while analysing; try again."
    return (
        f"Internal error while analysing ({type(exc).__name__}); the worker's log has the details."
    )


def _write_previews(analysis_id: str, result) -> int:
    folder = preview_dir(analysis_id)
    folder.mkdir(parents=True, exist_ok=True)
    for k, p in enumerate(result.previews, start=1):
        write_bytes(folder / preview_name("frame", k), p.frame_jpeg)
        if p.face_jpeg:
            write_bytes(folder / preview_name("face", k), p.face_jpeg)
    for old in folder.glob("person_*.jpg"):  # an earlier attempt's persons
        old.unlink(missing_ok=True)
    for person in result.persons:
        if person.thumbnail_jpeg:
            write_bytes(folder / preview_name("person", person.id), person.thumbnail_jpeg)
    return len(result.previews)


def _person_rows(analysis_id: str, result) -> list[Person]:
    """The result's persons as rows of the analysis."""
    return [
        Person(
            analysis_id=analysis_id,
            number=p.id,
            frames_seen=p.frames_seen,
            p_fake=p.p_fake,
            verdict=p.verdict,
            confidence=p.confidence,
            boxes=[asdict(b) for b in p.boxes],
            thumbnail=bool(p.thumbnail_jpeg),
        )
        for p in result.persons
    ]


def _finish(analysis_id: str, attempt: int, result) -> None:
    count = _write_previews(analysis_id, result)
    data = result.to_dict()
    data["file"] = None  # the server-side path is nobody's business
    ck = result.checkpoint
    values = {
        "status": Status.DONE,
        "stage": None,
        "progress": 1.0,
        "verdict": result.verdict,
        "p_fake": result.p_fake,
        "confidence": result.confidence,
        "frames_sampled": result.frames_sampled,
        "frames_used": result.frames_used,
        "frames_without_face": result.frames_without_face,
        "frame_scores": data["frame_scores"],
        "timings": data["timings"],
        "result": data,
        "checkpoint_name": ck.name,
        "checkpoint_sha256": ck.sha256,
        "checkpoint_frames": ck.sequence_length,
        "checkpoint_note": ck.note,
        "checkpoint_demo": ck.demo,
        "checkpoint_warning": ck.warning,
        "preview_count": count,
        "finished_at": utcnow(),
    }

    def store() -> int:
        """The result and its persons in one transaction (an earlier attempt's replaced)."""
        with immediate():
            res = db.session.execute(
                update(Analysis)
                .where(*_mine(analysis_id, attempt))
                .values(heartbeat_at=utcnow(), **values)
            )
            if res.rowcount != 1:
                return res.rowcount
            db.session.execute(delete(Person).where(Person.analysis_id == analysis_id))
            db.session.add_all(_person_rows(analysis_id, result))
            return 1

    if retrying(store, f"storing the result of {analysis_id}") == 0:
        raise _gone_or_taken(analysis_id)
    log.info(
        "analysis %s done: %s p_fake=%s (%s)",
        analysis_id, result.verdict, result.p_fake, result.summary,
    )  # fmt: skip


def _fail(analysis_id: str, attempt: int, message: str) -> None:
    """Record a failure, trying again for a while if the database is locked or full.

    When even that fails the row stays ``running`` with a heartbeat that no longer moves:
    recovery fails or retries it once the heartbeat is stale, whoever owns it.
    """

    def fail() -> int:
        with immediate():
            res = db.session.execute(
                update(Analysis)
                .where(*_mine(analysis_id, attempt))
                .values(status=Status.FAILED, stage=None, error=message, finished_at=utcnow())
            )
            return res.rowcount

    try:
        changed = retrying(
            fail,
            f"recording the failure of {analysis_id}",
            attempts=FAIL_ATTEMPTS,
            retry_on=lambda exc: is_locked(exc) or is_disk_full(exc),
        )
    except Exception:
        log.exception(
            "could not record the failure of analysis %s (%s); recovery will fail it when its "
            "heartbeat is stale",
            analysis_id, message,
        )  # fmt: skip
        return
    if changed:
        log.info("analysis %s failed: %s", analysis_id, message)
