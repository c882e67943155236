"""The worker registry: every worker process on every machine, its heartbeat, and the status.

A worker writes its row (``host:pid:token``) when it starts, beats every
``HEARTBEAT_INTERVAL_S`` from a thread of its own, and marks the row stopped when it stops
cleanly. It is *dead* when it missed ``HEARTBEAT_MISSED`` beats in a row: that is the only
test, so it holds for a worker on another machine as for one on this machine (a pid check
cannot see another machine). Recovery (:mod:`.recovery`) hands the analyses of a dead
worker to the others. :func:`status` is what ``deepfake-web status`` and the dashboard show.
This module imports no torch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, update

from deepfake_web.web.database import immediate, retrying
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Status, Worker, as_utc, iso, utcnow

from . import queue

log = logging.getLogger(__name__)

ALIVE, STOPPED, DEAD = "alive", "stopped", "dead"


def dead_after(config: Mapping[str, Any]) -> timedelta:
    """How long a worker may stay silent before it is declared dead."""
    return timedelta(
        seconds=float(config["HEARTBEAT_INTERVAL_S"]) * int(config["HEARTBEAT_MISSED"])
    )


def state_of(worker: Worker, now: datetime, config: Mapping[str, Any]) -> str:
    """``alive``, ``stopped`` (it said so) or ``dead`` (it missed its heartbeats)."""
    if worker.stopped_at is not None:
        return STOPPED
    beat = as_utc(worker.heartbeat_at)
    return ALIVE if beat is not None and now - beat <= dead_after(config) else DEAD


def register(name: str, threads: int) -> None:
    """Write (or rewrite) this worker's row: started now, alive."""

    def write() -> None:
        with immediate():
            now = utcnow()
            row = db.session.get(Worker, name)
            if row is None:
                row = Worker(name=name)
                db.session.add(row)
            host, pid, *_ = name.split(":")
            row.host, row.pid, row.threads = host, int(pid), threads
            row.started_at, row.heartbeat_at, row.stopped_at = now, now, None

    retrying(write, f"registering worker {name}")


def beat(name: str) -> None:
    """Record that the worker ``name`` is alive."""

    def write() -> None:
        with immediate():
            db.session.execute(
                update(Worker)
                .where(Worker.name == name)
                .values(heartbeat_at=utcnow(), stopped_at=None)
            )

    retrying(write, f"heartbeat of worker {name}", attempts=3)


def mark_stopped(name: str) -> None:
    """Record that the worker ``name`` stopped cleanly."""

    def write() -> None:
        with immediate():
            db.session.execute(
                update(Worker).where(Worker.name == name).values(stopped_at=utcnow())
            )

    retrying(write, f"stopping worker {name}", attempts=3)


class Heartbeat:
    """A thread that beats for one worker process and runs ``every`` (recovery) now and then."""

    def __init__(
        self, app: Flask, name: str, every: Callable[[], Any] | None = None, every_s: float = 60
    ) -> None:
        """Beat every ``HEARTBEAT_INTERVAL_S``; call ``every`` each ``every_s`` seconds."""
        self.app, self.name, self.every, self.every_s = app, name, every, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        """Register the worker and start beating."""
        with self.app.app_context():
            register(self.name, int(self.app.config["WORKER_THREADS"]))
            db.session.remove()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and mark the worker stopped."""
        self._stop.set()
        self._thread.join(timeout=10)
        with self.app.app_context():
            try:
                mark_stopped(self.name)
            except Exception:
                log.warning("could not mark worker %s stopped", self.name, exc_info=True)
            finally:
                db.session.remove()

    def _run(self) -> None:
        interval = float(self.app.config["HEARTBEAT_INTERVAL_S"])
        waited = 0.0
        while not self._stop.wait(interval):
            waited += interval
            with self.app.app_context():
                try:
                    beat(self.name)
                except Exception:  # a database that is down must not end the heartbeat
                    log.warning("heartbeat of worker %s failed", self.name, exc_info=True)
                finally:
                    db.session.remove()
            if self.every is not None and waited >= self.every_s:
                waited = 0.0
                try:
                    self.every()
                except Exception:
                    log.warning("periodic recovery failed", exc_info=True)


@dataclass
class WorkerStatus:
    """One worker as the status shows it."""

    name: str
    host: str
    pid: int
    threads: int
    state: str
    started_at: str | None
    heartbeat_at: str | None
    seconds_since_heartbeat: float | None
    running: list[dict[str, Any]] = field(default_factory=list)


def snapshot(include_stopped: bool = False, read_queue: bool = True) -> dict[str, Any]:
    """Workers (state, last heartbeat, what each runs), the queue depth and the counts.

    Reads in the current app context (a request's, for the dashboard); JSON-serialisable.
    Without ``read_queue`` the queue back end is not asked (``pending_in_queue`` is None):
    counting its messages reads every one of them, too much for each page view.
    """
    config = current_app.config
    now = utcnow()
    rows = list(db.session.scalars(select(Worker).order_by(Worker.host, Worker.pid)))
    running = list(
        db.session.scalars(
            select(Analysis).where(Analysis.status == Status.RUNNING).order_by(Analysis.started_at)
        )
    )
    counts = {
        str(state): n
        for state, n in db.session.execute(
            select(Analysis.status, func.count()).group_by(Analysis.status)
        )
    }
    pending: int | None = None
    try:
        if read_queue:
            pending = len(queue.pending_ids())
    except Exception as exc:  # the status must still show the database's view
        log.warning("could not read the queue: %s", exc)
    workers: list[WorkerStatus] = []
    for row in rows:
        state = state_of(row, now, config)
        if state == STOPPED and not include_stopped:
            continue
        beat = as_utc(row.heartbeat_at)
        workers.append(
            WorkerStatus(
                name=row.name,
                host=row.host,
                pid=row.pid,
                threads=row.threads,
                state=state,
                started_at=iso(row.started_at),
                heartbeat_at=iso(row.heartbeat_at),
                seconds_since_heartbeat=round((now - beat).total_seconds(), 1) if beat else None,
                running=[
                    {
                        "id": a.id,
                        "file_name": a.original_name,
                        "stage": a.stage_label,
                        "stage_id": a.stage,
                        "progress": round(a.progress or 0.0, 3),
                        "attempt": a.attempts,
                        "started_at": iso(a.started_at),
                    }
                    for a in running
                    if a.worker == row.name
                ],
            )
        )
    return {
        "workers": [asdict(w) for w in workers],
        "queue": {
            "pending_in_queue": pending,
            "queued": counts.get(Status.QUEUED.value, 0),
            "running": counts.get(Status.RUNNING.value, 0),
        },
        "dead_after_s": dead_after(config).total_seconds(),
    }


def status(app: Flask, include_stopped: bool = False) -> dict[str, Any]:
    """:func:`snapshot` in an app context of its own (``deepfake-web status``)."""
    with app.app_context():
        try:
            return snapshot(include_stopped)
        finally:
            db.session.remove()
