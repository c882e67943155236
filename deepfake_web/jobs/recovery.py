"""Finding analyses a dead or stuck worker left behind: retry once, or fail them with a reason.

A running analysis is interrupted when its worker process is gone (same host) or its
heartbeat is older than ``HEARTBEAT_STALE_S``, whoever owns it: a live worker whose own
writes fail (a full disk, a database error) stops sending heartbeats too, and its analysis
must not stay ``running``. A queued one is lost when the queue no longer holds it. Both
are queued again (or failed after ``ANALYSIS_MAX_ATTEMPTS``).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from deepfake_web.detection.stages import Stage
from deepfake_web.web.database import immediate, retrying
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Status, as_utc, utcnow

from . import queue
from .worker import worker_name

log = logging.getLogger(__name__)


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

        def recover() -> tuple[list[str], set[str]]:
            again: list[str] = []
            with immediate():
                for row in db.session.scalars(
                    select(Analysis).where(Analysis.status == Status.RUNNING)
                ):
                    beat = as_utc(row.heartbeat_at)
                    fresh = beat is not None and beat >= stale_before
                    mine = row.worker == worker_name()
                    if fresh and (mine or _pid_alive(row.worker) is not False):
                        continue  # its worker lives (or is elsewhere) and sends heartbeats
                    if (row.attempts or 0) < max_attempts:
                        row.status, row.stage, row.progress = Status.QUEUED, Stage.RETRYING, 0.0
                        again.append(row.id)
                    else:
                        row.status, row.stage, row.finished_at = Status.FAILED, None, now
                        row.error = (
                            f"The analysis worker stopped unexpectedly during this analysis "
                            f"({row.attempts} attempts). The file may crash the video decoder "
                            "or exhaust memory; the worker's log has the details."
                        )
                    log.warning(
                        "analysis %s interrupted (worker %s, last heartbeat %s)",
                        row.id, row.worker, beat,
                    )  # fmt: skip
                old = now - timedelta(seconds=30)
                queued = set(
                    db.session.scalars(
                        select(Analysis.id).where(
                            Analysis.status == Status.QUEUED, Analysis.created_at < old
                        )
                    )
                )
            return again, queued

        again, queued = retrying(recover, "recovering interrupted analyses")
        lost = queued - set(again) - queue.pending_ids()
        for analysis_id in again + sorted(lost):
            queue.enqueue(analysis_id)
        if lost:
            log.warning("re-queued %d analyses missing from the queue", len(lost))
        db.session.remove()
        return again + sorted(lost)
