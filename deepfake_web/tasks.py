"""The task queue (huey): analyses run in a separate worker process, never in a web request.

The queue lives in SQLite (``instance/queue.db``) by default, so no server is needed; a lab
that scales out sets ``QUEUE_URL=redis://host:6379/0`` (and installs ``redis``). The web
process only enqueues: this module imports neither torch nor the detector.
"""

from __future__ import annotations

import logging

from flask import Flask
from huey import SqliteHuey, crontab

log = logging.getLogger(__name__)

# Created in memory ("immediate") so importing this module touches no file; init_app()
# points it at the configured storage.
huey = SqliteHuey("deepfake-web", immediate=True, results=False)
_state: dict[str, Flask] = {}


def init_app(app: Flask) -> None:
    """Point the queue at ``QUEUE_URL`` (sqlite:///path, redis://..., or immediate://)."""
    url = app.config["QUEUE_URL"]
    _state["app"] = app
    if url.startswith("immediate://"):  # tests: tasks run synchronously where enqueued
        huey.immediate = True
        return
    if url.startswith("sqlite:///"):
        from huey.storage import SqliteStorage

        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": url.removeprefix("sqlite:///"), "timeout": 30}
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from huey.storage import RedisStorage

        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": url}
    else:
        raise ValueError(f"Unsupported QUEUE_URL {url!r} (use sqlite:///path or redis://host)")
    huey.immediate = False
    huey.storage = huey.create_storage()  # always: the setter skips it when already False


def _app() -> Flask:
    if "app" not in _state:
        from . import create_app

        create_app()  # registers itself through init_app
    return _state["app"]


@huey.task(name="analyse")
def analyse(analysis_id: str) -> None:
    """Run one analysis (in the worker process)."""
    from .jobs import run_analysis

    run_analysis(_app(), analysis_id)


@huey.on_startup()
def recover_on_startup() -> None:
    """When the worker starts: resume or fail what a dead worker left, then load the model."""
    from .jobs import recover_interrupted, warm_up

    recover_interrupted(_app())
    warm_up(_app())


@huey.periodic_task(crontab(minute="*"), name="recover")
def recover_periodically() -> None:
    """Every minute, recover analyses whose worker stopped sending heartbeats."""
    from .jobs import recover_interrupted

    recover_interrupted(_app())


def enqueue(analysis_id: str) -> None:
    """Queue an analysis for the worker."""
    analyse(analysis_id)


def pending_ids() -> set[str]:
    """Ids of the analyses waiting in the queue (for recovery of lost messages)."""
    return {str(task.args[0]) for task in huey.pending() if task.name == "analyse" and task.args}
