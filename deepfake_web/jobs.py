"""The analysis job, run by the worker: claim, progress and heartbeat, result, recovery.

Runs in the worker process only (it imports the detector, hence torch).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from . import tasks
from .analyses import preview_dir, upload_path
from .database import immediate
from .extensions import db
from .models import Analysis, as_utc, utcnow

log = logging.getLogger(__name__)

STAGE_LABELS = {
    "loading model": "loading the model",
    "reading video": "reading the video",
    "finding faces": "finding faces",
    "running model": "running the model",
    "done": "saving the result",
}
_detectors: dict[tuple, object] = {}
_PROCESS_TOKEN = secrets.token_hex(4)  # tells this process from an earlier one with its pid


class AnalysisDeletedError(Exception):
    """The analysis was deleted while it ran."""


def worker_name() -> str:
    """This process as ``host:pid:token`` (stored in the rows it works on)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


def _detector(app: Flask):
    """One Detector per configuration and process, so models stay loaded between analyses."""
    from .detection import Detector, DetectorConfig
    from .uploads import engine_limits

    cfg = app.config
    with app.app_context():
        limits = engine_limits()
    key = (cfg["MODELS_DIR"], cfg["DEVICE"], cfg["PRECISION"], cfg["BATCH_SIZE"],
           cfg["FACE_WORKERS"], limits)  # fmt: skip
    if key not in _detectors:
        config = DetectorConfig(
            device=cfg["DEVICE"],
            precision=cfg["PRECISION"],
            batch_size=int(cfg["BATCH_SIZE"]),
            face_workers=int(cfg["FACE_WORKERS"]),
            limits=limits,
        )
        _detectors[key] = Detector.from_models_dir(cfg["MODELS_DIR"], config=config)
    return _detectors[key]


def warm_up(app: Flask, sequence_length: int = 60) -> None:
    """Load the model most analyses will use, so that the first one does not wait for it."""
    from .detection.errors import DetectionError

    t0 = time.perf_counter()
    try:
        model = _detector(app).warm_up(sequence_length)
    except DetectionError as exc:
        log.info("nothing to warm up: %s", exc)
        return
    log.info("warmed up %s in %.1f s", model.info.name, time.perf_counter() - t0)


def _claim(analysis_id: str) -> Analysis | None:
    """Mark a queued analysis as running by this worker; None if it is not queued."""
    with immediate():
        row = db.session.get(Analysis, analysis_id)
        if row is None or row.status != "queued":
            return None
        now = utcnow()
        row.status, row.stage, row.progress = "running", "starting", 0.0
        row.attempts = (row.attempts or 0) + 1
        row.worker, row.started_at, row.heartbeat_at = worker_name(), now, now
        row.error = None
    return row


def _touch(analysis_id: str, **values) -> None:
    """Update a running analysis's fields and heartbeat; AnalysisDeletedError when it is gone."""
    res = db.session.execute(
        update(Analysis)
        .where(Analysis.id == analysis_id, Analysis.status == "running")
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
    from .detection.errors import DetectionError

    with app.app_context():
        row = _claim(analysis_id)
        if row is None:
            log.info("analysis %s is not waiting (deleted or already taken)", analysis_id)
            return
        path, frames, mode = upload_path(row), row.requested_frames, row.mode
        stop = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(app, analysis_id, stop), daemon=True)
        beat.start()
        last = [0.0, ""]

        def progress(stage: str, fraction: float) -> None:
            label = STAGE_LABELS.get(stage, stage)
            now = time.monotonic()
            if label != last[1] or now - last[0] >= 0.5:
                last[:] = [now, label]
                _touch(analysis_id, stage=label, progress=round(min(fraction, 0.99), 3))

        try:
            log.info("analysing %s (%s, %d frames, %s)", analysis_id, path.name, frames, mode)
            result = _detector(app)(path, sequence_length=frames, mode=mode, progress=progress)
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
        (folder / f"frame_{k:04d}.jpg").write_bytes(p.frame_jpeg)
        if p.face_jpeg:
            (folder / f"face_{k:04d}.jpg").write_bytes(p.face_jpeg)
    return len(result.previews)


def _finish(analysis_id: str, result) -> None:
    count = _write_previews(analysis_id, result)
    data = result.to_dict()
    data["file"] = None  # the server-side path is nobody's business
    ck = result.checkpoint
    with immediate():
        row = db.session.get(Analysis, analysis_id)
        if row is None or row.status != "running":
            raise AnalysisDeletedError(analysis_id)
        row.status, row.stage, row.progress = "done", None, 1.0
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
            row.status, row.stage, row.error, row.finished_at = "failed", None, message, utcnow()
    log.info("analysis %s failed: %s", analysis_id, message)


def _pid_alive(worker: str | None) -> bool | None:
    """Whether the ``host:pid:token`` worker's pid runs (None when it is on another host).

    A live pid may belong to a new process that reused it: the heartbeat settles that.
    """
    host, pid, *_ = [*(worker or "").split(":"), "", ""]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(app: Flask) -> list[str]:
    """Retry once, or fail with a reason, analyses whose worker died; re-queue lost ones.

    A running analysis is interrupted when its worker process is gone (same host) or its
    heartbeat is older than ``HEARTBEAT_STALE_S``. Returns the ids queued again.
    """
    with app.app_context():
        now = utcnow()
        stale_before = now - timedelta(seconds=float(app.config["HEARTBEAT_STALE_S"]))
        max_attempts = int(app.config["ANALYSIS_MAX_ATTEMPTS"])
        again: list[str] = []
        with immediate():
            for row in db.session.scalars(select(Analysis).where(Analysis.status == "running")):
                if row.worker == worker_name():
                    continue  # this very process is working on it
                beat = as_utc(row.heartbeat_at)
                alive = _pid_alive(row.worker)
                if alive is not False and beat and beat >= stale_before:
                    continue  # its worker lives (or is elsewhere) and sends heartbeats
                if (row.attempts or 0) < max_attempts:
                    row.status, row.progress = "queued", 0.0
                    row.stage = "waiting in the queue (retrying: the worker stopped)"
                    again.append(row.id)
                else:
                    row.status, row.stage, row.finished_at = "failed", None, now
                    row.error = (
                        f"The analysis worker stopped unexpectedly during this analysis "
                        f"({row.attempts} attempts). The file may crash the video decoder or "
                        "exhaust memory; the worker's log has the details."
                    )
                log.warning("analysis %s interrupted (worker %s)", row.id, row.worker)
            old = now - timedelta(seconds=30)
            queued = set(
                db.session.scalars(
                    select(Analysis.id).where(
                        Analysis.status == "queued", Analysis.created_at < old
                    )
                )
            )
        lost = queued - set(again) - tasks.pending_ids()
        for analysis_id in again + sorted(lost):
            tasks.enqueue(analysis_id)
        if lost:
            log.warning("re-queued %d analyses missing from the queue", len(lost))
        db.session.remove()
        return again + sorted(lost)
