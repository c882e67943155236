"""One analysis as the worker runs it: claim, progress and heartbeat, result, failure.

This is where a result reaches the database (:func:`_finish`). Runs in the worker process
only (it imports the detector, hence torch).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time

from flask import Flask
from sqlalchemy import update

from deepfake_web.detection.errors import DetectionError
from deepfake_web.detection.stages import Stage
from deepfake_web.files import write_bytes
from deepfake_web.web.database import immediate
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Status, utcnow
from deepfake_web.web.storage import preview_dir, preview_name, upload_path

from .detectors import detector_for

log = logging.getLogger(__name__)

_PROCESS_TOKEN = secrets.token_hex(4)  # tells this process from an earlier one with its pid


class AnalysisDeletedError(Exception):
    """The analysis was deleted while it ran."""


def worker_name() -> str:
    """This process as ``host:pid:token`` (stored in the rows it works on)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


def _claim(analysis_id: str) -> Analysis | None:
    """Mark a queued analysis as running by this worker; None if it is not queued."""
    with immediate():
        row = db.session.get(Analysis, analysis_id)
        if row is None or row.status != Status.QUEUED:
            return None
        now = utcnow()
        row.status, row.stage, row.progress = Status.RUNNING, Stage.STARTING, 0.0
        row.attempts = (row.attempts or 0) + 1
        row.worker, row.started_at, row.heartbeat_at = worker_name(), now, now
        row.error = None
    return row


def _touch(analysis_id: str, **values) -> None:
    """Update a running analysis's fields and heartbeat; AnalysisDeletedError when it is gone."""
    res = db.session.execute(
        update(Analysis)
        .where(Analysis.id == analysis_id, Analysis.status == Status.RUNNING)
        .values(heartbeat_at=utcnow(), **values)
    )
    db.session.commit()
    if res.rowcount == 0:
        raise AnalysisDeletedError(analysis_id)


def _heartbeat(app: Flask, analysis_id: str, stop: threading.Event) -> None:
    interval = float(app.config["HEARTBEAT_INTERVAL_S"])
    while not stop.wait(interval):
        with app.app_context():
            try:
                _touch(analysis_id)
            except AnalysisDeletedError:
                return
            except Exception:  # a locked database must not kill the heartbeat
                log.warning("heartbeat of %s failed", analysis_id, exc_info=True)
                db.session.rollback()


def run_analysis(app: Flask, analysis_id: str) -> None:
    """Run one queued analysis to the end: done, failed (with a reason), or cancelled."""
    with app.app_context():
        row = _claim(analysis_id)
        if row is None:
            log.info("analysis %s is not waiting (deleted or already taken)", analysis_id)
            return
        path, sequence_length, mode = upload_path(row.stored_name), row.sequence_length, row.mode
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(app, analysis_id, stop), daemon=True)
        beat.start()
        last: list = [0.0, None]

        def progress(stage: Stage, fraction: float) -> None:
            now = time.monotonic()
            if stage != last[1] or now - last[0] >= 0.5:
                last[:] = [now, stage]
                _touch(analysis_id, stage=stage, progress=round(min(fraction, 0.99), 3))

        try:
            log.info(
                "analysing %s (%s, %d frames, %s)", analysis_id, path.name, sequence_length, mode
            )
            detector = detector_for(app)
            result = detector(path, sequence_length=sequence_length, mode=mode, progress=progress)
            _finish(analysis_id, result)
        except AnalysisDeletedError:
            log.info("analysis %s was deleted while running", analysis_id)
            shutil.rmtree(preview_dir(analysis_id), ignore_errors=True)
        except DetectionError as exc:
            _fail(analysis_id, str(exc).replace(path.name, row.original_name))
        except Exception as exc:
            log.exception("analysis %s crashed", analysis_id)
            _fail(
                analysis_id,
                f"Internal error while analysing ({type(exc).__name__}); the worker's log has "
                "the details.",
            )
        finally:
            stop.set()
            db.session.remove()


def _write_previews(analysis_id: str, result) -> int:
    folder = preview_dir(analysis_id)
    folder.mkdir(parents=True, exist_ok=True)
    for k, p in enumerate(result.previews, start=1):
        write_bytes(folder / preview_name("frame", k), p.frame_jpeg)
        if p.face_jpeg:
            write_bytes(folder / preview_name("face", k), p.face_jpeg)
    return len(result.previews)


def _finish(analysis_id: str, result) -> None:
    count = _write_previews(analysis_id, result)
    data = result.to_dict()
    data["file"] = None  # the server-side path is nobody's business
    ck = result.checkpoint
    with immediate():
        row = db.session.get(Analysis, analysis_id)
        if row is None or row.status != Status.RUNNING:
            raise AnalysisDeletedError(analysis_id)
        row.status, row.stage, row.progress = Status.DONE, None, 1.0
        row.verdict, row.p_fake, row.confidence = result.verdict, result.p_fake, result.confidence
        row.frames_sampled = result.frames_sampled
        row.frames_used = result.frames_used
        row.frames_without_face = result.frames_without_face
        row.frame_scores = data["frame_scores"]
        row.timings = data["timings"]
        row.result = data
        row.checkpoint_name, row.checkpoint_sha256 = ck.name, ck.sha256
        row.checkpoint_frames, row.checkpoint_note = ck.sequence_length, ck.note
        row.checkpoint_demo, row.checkpoint_warning = ck.demo, ck.warning
        row.preview_count = count
        row.finished_at = utcnow()
    log.info("analysis %s done: %s p_fake=%s", analysis_id, result.verdict, result.p_fake)


def _fail(analysis_id: str, message: str) -> None:
    db.session.rollback()
    with immediate():
        row = db.session.get(Analysis, analysis_id)
        if row is not None:
            row.status, row.stage, row.error = Status.FAILED, None, message
            row.finished_at = utcnow()
    log.info("analysis %s failed: %s", analysis_id, message)
