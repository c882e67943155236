"""Receiving an uploaded file: allow-list, streaming to disk with a hash, and a content check.

Nothing here imports torch: the content check uses the engine's media module (OpenCV, PIL).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from .detection.errors import EmptyMediaError, MediaError, MediaLimitError
from .detection.media import SUPPORTED_EXTENSIONS, MediaInfo, MediaLimits, verify


class UploadError(Exception):
    """An upload refused with an HTTP status and a message for the person who sent it."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status code and message."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ReceivedFile:
    """An upload written to a temporary file, hashed and checked."""

    path: Path
    original_name: str
    extension: str
    sha256: str
    size: int
    info: MediaInfo

    def discard(self) -> None:
        """Remove the temporary file."""
        self.path.unlink(missing_ok=True)


def engine_limits() -> MediaLimits:
    """The media limits from the app's configuration."""
    cfg = current_app.config
    return MediaLimits(
        max_width=int(cfg["MAX_VIDEO_WIDTH"]),
        max_height=int(cfg["MAX_VIDEO_HEIGHT"]),
        max_duration_s=float(cfg["MAX_VIDEO_SECONDS"]),
        max_frames=int(cfg["MAX_VIDEO_FRAMES"]),
    )


def display_name(filename: str) -> str:
    """The original name, trimmed to something safe to show (never used as a path)."""
    name = os.path.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "upload"


def receive(file: FileStorage | None) -> ReceivedFile:
    """Stream an upload to a temporary file and check it; raise UploadError when refused.

    Refused uploads leave no file behind.
    """
    if file is None or not file.filename:
        raise UploadError(400, "Choose a video or image file to analyse.")
    name = display_name(file.filename)
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        allowed = ", ".join(sorted(e.lstrip(".") for e in SUPPORTED_EXTENSIONS))
        raise UploadError(415, f"“{name}” is not a supported file type. Allowed: {allowed}.")
    folder = Path(current_app.config["UPLOAD_DIR"]) / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=ext, dir=folder)
    path = Path(tmp)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: file.stream.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise UploadError(400, f"“{name}” is empty (0 bytes).")
        try:
            info = verify(path, engine_limits())
        except MediaLimitError as exc:
            raise UploadError(422, str(exc).replace(path.name, name)) from exc
        except EmptyMediaError as exc:
            raise UploadError(400, f"“{name}” contains no decodable frame.") from exc
        except MediaError as exc:
            kind = "image" if ext in {".jpg", ".jpeg", ".png", ".webp"} else "video"
            raise UploadError(
                415, f"“{name}” is not a readable {kind} (its content does not match “{ext}”)."
            ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(path, name, ext, digest.hexdigest(), size, info)
