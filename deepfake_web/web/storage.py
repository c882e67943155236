"""Where an analysis's files live: the stored upload, its previews, uploads in transit.

Every path and file name of stored data is made here, for the web and the worker alike.
They live under one storage root (``STORAGE_PATH``: ``uploads/`` and ``previews/``), a
folder every machine of a deployment mounts; it is the instance folder when unset.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Literal

from flask import current_app

PreviewKind = Literal["frame", "face", "heat", "person"]
PREVIEW_NAME = re.compile(r"^(frame|face|heat|person)_\d{4}\.jpg$")
"""The names :func:`preview_name` makes (the only ones the preview route serves)."""


def preview_name(kind: PreviewKind, number: int) -> str:
    """``frame_0001.jpg``: the ``number``-th (1-based) sampled frame, its face crop or heatmap;
    ``person_0001.jpg``: the thumbnail of person ``number``."""
    return f"{kind}_{number:04d}.jpg"


def upload_path(stored_name: str) -> Path:
    """Where an analysed file is kept (never served back)."""
    return Path(current_app.config["UPLOAD_DIR"]) / stored_name


def incoming_dir() -> Path:
    """Where uploads are written while they arrive and are checked."""
    return Path(current_app.config["UPLOAD_DIR"]) / "incoming"


def host_tag() -> str:
    """This machine's name as it goes into file names (letters, digits, ``-`` and ``_``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def incoming_name(token: str, extension: str) -> str:
    """``.<token>.<host>.<pid>.tmp<ext>``: an upload in transit, named for its writer.

    The host and pid tell the sweep (:mod:`deepfake_web.jobs.sweep`) whether the writer
    still lives (a pid means something only on its own machine: the storage is shared);
    the media extension stays last because the media checks read it.
    """
    return f".{token}.{host_tag()}.{os.getpid()}.tmp{extension}"


def incoming_host(path: Path) -> str | None:
    """The host tag in a name :func:`incoming_name` made (None for other names)."""
    parts = path.name.split(".")
    return parts[-4] if len(parts) >= 6 and parts[-2] == "tmp" else None


def preview_dir(analysis_id: str) -> Path:
    """Folder of an analysis's preview images."""
    return Path(current_app.config["PREVIEW_DIR"]) / analysis_id
