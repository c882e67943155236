"""Finding analyses a dead or stuck worker left behind: retry once, or fail them with a reason.

A running analysis is interrupted when its worker is dead or stopped in the worker table
(it missed its heartbeats: :mod:`.workers`; this holds for a worker on any machine), or
when the analysis's own heartbeat is older than ``HEARTBEAT_STALE_S``, whoever owns it: a
live worker whose own writes fail (a full disk, a database error) stops those heartbeats
too, and its analysis must not stay ``running``. On PostgreSQL the running rows are
locked (``FOR UPDATE SKIP LOCKED``), so two workers recovering at once never both take
the same analysis. A queued one is lost when the queue no longer holds it
``QUEUE_LOST_AFTER_S`` after it was created (a Redis restarted without its data, a deleted
``queue.db``): the database is the record, the queue only a notice. Both
are queued again (or failed after ``ANALYSIS_MAX_ATTEMPTS``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from deepfake_web.detection.stages import Stage
from deepfake_web.web.database import immediate, retrying
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Status, Worker, as_utc, utcnow

from . import queue
from .workers import ALIVE, state_of

log = logging.getLogger(__name__)


def recover_interrupted(app: Flask) -> list[str]:
    """Retry once, or fail with a reason, analyses whose worker died; re-queue lost ones.

    A running analysis is interrupted when its worker missed its heartbeats (or stopped),
    or its own heartbeat is older than ``HEARTBEAT_STALE_S``. Returns the ids queued again.
    """
    with app.app_context():
        now = utcnow()
        stale_before = now - timedelta(seconds=float(app.config["HEARTBEAT_STALE_S"]))
        max_attempts = int(app.config["ANALYSIS_MAX_ATTEMPTS"])

        def recover() -> tuple[list[str], set[str]]:
            again: list[str] = []
            with immediate():
                owners = {w.name: w for w in db.session.scalars(select(Worker))}
                running = (
                    select(Analysis)
                    .where(Analysis.status == Status.RUNNING)
                    .with_for_update(skip_locked=True)  # PostgreSQL: one recovery per row
                )
                for row in db.session.scalars(running):
                    beat = as_utc(row.heartbeat_at)
                    fresh = beat is not None and beat >= stale_before
                    owner = owners.get(row.worker or "")
                    if fresh and (owner is None or state_of(owner, now, app.config) == ALIVE):
                        continue  # its worker sends heartbeats, on this machine or another
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
                old = now - timedelta(seconds=float(app.config["QUEUE_LOST_AFTER_S"]))
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
