"""The worker process: binds the queue's task to this app and runs huey's consumer.

Only ``deepfake-web worker`` imports this module: the start-up hook (recovery, then loading
the model), the worker's heartbeat (with recovery every ``RECOVERY_INTERVAL_S``) and the
periodic sweep of uploads in transit are set up here, not in the web process.
"""

from __future__ import annotations

import logging
from functools import partial

from flask import Flask
from huey import crontab

from deepfake_web.web.retention import purge_expired

from . import queue
from .detectors import warm_up_in_background
from .recovery import recover_interrupted
from .sweep import sweep_incoming
from .worker import run_analysis, worker_name
from .workers import Heartbeat

log = logging.getLogger(__name__)

_app: dict[str, Flask] = {}


def _bound_app() -> Flask:
    if "app" not in _app:
        raise RuntimeError("No app is bound to the worker; start it with `deepfake-web worker`.")
    return _app["app"]


def bind(app: Flask) -> None:
    """Make this process's queue tasks run against ``app``."""
    _app["app"] = app
    queue.bind(queue.ANALYSE, partial(run_analysis, app))


@queue.huey.on_startup()
def recover_on_startup() -> None:
    """When the worker starts: resume or fail what a dead worker left, remove orphaned
    uploads in transit and uploads past retention, then load the model and its runtime in
    the background."""
    app = _bound_app()
    recover_interrupted(app)
    sweep_incoming(app)
    _purge(app)
    warm_up_in_background(app)


@queue.huey.periodic_task(crontab(minute="*"), name="sweep")
def sweep_periodically() -> None:
    """Every minute, remove orphaned uploads in transit."""
    sweep_incoming(_bound_app())


@queue.huey.periodic_task(crontab(minute="*/10"), name="retention")
def purge_periodically() -> None:
    """Every ten minutes, remove the uploaded files past ``RETENTION_DAYS`` (when set)."""
    _purge(_bound_app())


def _purge(app: Flask) -> None:
    """Remove expired uploads; a failure is logged, never stops the worker."""
    try:
        with app.app_context():
            purge_expired()
    except Exception:
        log.exception("retention: could not remove the expired uploads")


def run(app: Flask, threads: int) -> None:
    """Consume the queue with ``threads`` analyses at once until interrupted.

    The worker is registered in the database and beats from its own thread while it runs;
    the same thread hands the analyses of dead workers (on any machine) to the queue again.
    With more than one analysis at once, they share one backbone thread that batches their
    crops.
    """
    bind(app)
    app.config["WORKER_THREADS"] = threads
    heartbeat = Heartbeat(
        app,
        worker_name(),
        every=partial(recover_interrupted, app),
        every_s=float(app.config["RECOVERY_INTERVAL_S"]),
    )
    heartbeat.start()
    try:
        consumer = queue.huey.create_consumer(workers=threads, worker_type="thread", periodic=True)
        consumer.run()
    finally:
        heartbeat.stop()
