"""Removing uploads in transit that a killed process left in ``uploads/incoming``.

An upload is written there under a name carrying its writer's host and pid
(:func:`deepfake_web.web.storage.incoming_name`) and renamed or removed when the request
ends; a ``kill -9`` of the web process leaves it behind. A file is removed when it is older
than ``INCOMING_GRACE_S`` and its writer, on this machine, is gone, or older than
``INCOMING_MAX_AGE_S`` whatever its name says (a reused pid, a writer on another machine
of a shared storage, a name of an older release). A file an upload in
progress is writing is never touched: its writer lives and it is young.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import Flask

from deepfake_web.files import temporary_owner
from deepfake_web.web.storage import host_tag, incoming_host

log = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_incoming(app: Flask, now: float | None = None) -> list[Path]:
    """Remove orphaned uploads in transit; returns the files removed."""
    folder = Path(app.config["UPLOAD_DIR"]) / "incoming"
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    grace = float(app.config["INCOMING_GRACE_S"])
    max_age = float(app.config["INCOMING_MAX_AGE_S"])
    removed: list[Path] = []
    for path in folder.iterdir():
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue  # its upload finished meanwhile
        if not path.is_file() or age < grace:
            continue
        owner = temporary_owner(path)
        here = incoming_host(path) == host_tag()  # a pid says something on its own host only
        if age < max_age and (owner is None or not here or _alive(owner)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed %d orphaned uploads from %s", len(removed), folder)
    return removed
