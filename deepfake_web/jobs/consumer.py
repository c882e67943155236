"""The worker process: binds the queue's task to this app and runs huey's consumer.

Only ``deepfake-web worker`` imports this module: the start-up hook (recovery, then loading
the model) and the periodic recovery task are registered here, not in the web process.
"""

from __future__ import annotations

import logging
from functools import partial

from flask import Flask
from huey import crontab

from deepfake_web.web.retention import purge_expired

from . import queue
from .detectors import warm_up
from .recovery import recover_interrupted
from .sweep import sweep_incoming
from .worker import run_analysis

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
    uploads in transit and uploads past retention, then load the model."""
    app = _bound_app()
    recover_interrupted(app)
    sweep_incoming(app)
    _purge(app)
    warm_up(app)


@queue.huey.periodic_task(crontab(minute="*"), name="recover")
def recover_periodically() -> None:
    """Every minute, recover analyses whose worker stopped sending heartbeats, and remove
    orphaned uploads in transit."""
    app = _bound_app()
    try:
        recover_interrupted(app)
    finally:
        sweep_incoming(app)


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
    """Consume the queue with ``threads`` analyses at once until interrupted."""
    bind(app)
    consumer = queue.huey.create_consumer(workers=threads, worker_type="thread", periodic=True)
    consumer.run()
