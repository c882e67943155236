"""The task queue (huey): analyses run in the worker process, never in a web request.

The queue lives in SQLite (``instance/queue.db``) by default, so no server is needed; a lab
that scales out sets ``QUEUE_URL=redis://host:6379/0`` (and installs ``redis``). The web
process only enqueues: this module imports neither torch nor the worker. What the
``analyse`` task does is bound by the worker's command (:mod:`.consumer`); a queue that
nothing bound refuses to run it rather than building an app of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from huey import SqliteHuey

log = logging.getLogger(__name__)

# Created in memory ("immediate") so importing this module touches no file; init_app()
# points it at the configured storage.
huey = SqliteHuey("deepfake-web", immediate=True, results=False)
ANALYSE = "analyse"
_handlers: dict[str, Callable[[str], None]] = {}


def init_app(app: Flask) -> None:
    """Point the queue at ``QUEUE_URL`` (``sqlite:///path`` or ``redis://...``)."""
    url = app.config["QUEUE_URL"]
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


def bind(name: str, handler: Callable[[str], None]) -> None:
    """Say what the task ``name`` does in this process (the worker's command does this)."""
    _handlers[name] = handler


@huey.task(name=ANALYSE)
def analyse(analysis_id: str) -> None:
    """Run one analysis, with the handler the worker bound."""
    handler = _handlers.get(ANALYSE)
    if handler is None:
        raise RuntimeError("No worker is bound to the queue; start it with `deepfake-web worker`.")
    handler(analysis_id)


def enqueue(analysis_id: str) -> None:
    """Queue an analysis for the worker."""
    analyse(analysis_id)


def pending_ids() -> set[str]:
    """Ids of the analyses waiting in the queue (for recovery of lost messages)."""
    return {str(task.args[0]) for task in huey.pending() if task.name == ANALYSE and task.args}
