"""Every check an upload passes, for the form and the API alike.

The sequence length, the mode and the checkpoint they need are checked first (before the
file is read); then the file is streamed to disk with its SHA-256, its name's extension is
checked against the allow-list and its content against the engine's media limits (a
renamed text file is refused). Nothing here imports torch: the content check uses the
engine's media module (OpenCV, PIL).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from deepfake_web.detection.checkpoint_info import PUBLISHED
from deepfake_web.detection.errors import (
    EmptyMediaError,
    MediaError,
    MediaLimitError,
    NoCheckpointError,
)
from deepfake_web.detection.media import (
    IMAGE_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    MediaInfo,
    verify,
)
from deepfake_web.detection.models_folder import INSTALL_HINT, CheckpointChoice, ModelsFolder
from deepfake_web.detection.modes import Mode

from ..config import engine_config
from ..errors import InvalidUploadError, ModelUnavailableError, is_disk_full
from ..storage import incoming_dir, incoming_name

log = logging.getLogger(__name__)
MAX_NAME_LENGTH = 200


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


def models_folder() -> ModelsFolder:
    """The checkpoints folder of this app (read on every call: files come and go)."""
    return ModelsFolder(current_app.config["MODELS_DIR"])


def parse_sequence_length(raw: str | int | None) -> int:
    """The requested number of frames, or InvalidUploadError when it is not a sensible number."""
    limit = int(current_app.config["MAX_SEQUENCE_LENGTH"])
    try:
        n = int(raw) if raw not in (None, "") else 0
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= limit:
        raise InvalidUploadError(f"Choose a sequence length between 1 and {limit} frames.")
    return n


def parse_mode(raw: str | None) -> Mode:
    """The requested mode (standard when none is given), or InvalidUploadError."""
    try:
        return Mode(raw or Mode.STANDARD)
    except ValueError:
        names = " or ".join(m.value for m in Mode)
        raise InvalidUploadError(f"Unknown mode {raw!r}; use {names}.") from None


def choose_checkpoint(sequence_length: int, mode: Mode) -> CheckpointChoice:
    """The checkpoint an analysis of ``sequence_length`` frames in ``mode`` would use."""
    try:
        choice = models_folder().choose(sequence_length)
    except NoCheckpointError as exc:
        hint = INSTALL_HINT.format(dir=current_app.config["MODELS_DIR"])
        raise ModelUnavailableError(
            f"No model is installed, so nothing can be analysed. {hint}"
        ) from exc
    if mode is Mode.REFERENCE and choice.info.format != PUBLISHED:
        raise InvalidUploadError(
            "Reference mode reproduces the original app and needs a published-format "
            f"checkpoint; {choice.info.name} is not one."
        )
    return choice


def display_name(filename: str) -> str:
    """The original name, made safe to show (never used as a path), at most 200 characters.

    A long name is shortened in its stem, so that its extension (what the type check
    reads) is kept.
    """
    name = os.path.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, ext = os.path.splitext(name)
        if len(ext) > 16:  # not an extension anyone reads
            stem, ext = name, ""
        name = stem[: MAX_NAME_LENGTH - len(ext)] + ext
    return name or "upload"


def upload_extension(name: str) -> str:
    """The lower-case extension of a display name (``""`` when it has none)."""
    return os.path.splitext(name)[1].lower()


def receive(file: FileStorage | None) -> ReceivedFile:
    """Stream an upload to a temporary file and check it; InvalidUploadError when refused.

    Refused uploads leave no file behind.
    """
    if file is None or not file.filename:
        raise InvalidUploadError("Choose a video or image file to analyse.")
    name = display_name(file.filename)
    ext = upload_extension(name)
    if ext not in SUPPORTED_EXTENSIONS:
        allowed = ", ".join(sorted(e.lstrip(".") for e in SUPPORTED_EXTENSIONS))
        raise InvalidUploadError(f"“{name}” is not a supported file type. Allowed: {allowed}.", 415)
    folder = incoming_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / incoming_name(secrets.token_hex(8), ext)
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "xb") as out:
            for chunk in iter(lambda: file.stream.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise InvalidUploadError(f"“{name}” is empty (0 bytes).")
        info = _check_content(path, name, ext)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(path, name, ext, digest.hexdigest(), size, info)


def _check_content(path: Path, name: str, ext: str) -> MediaInfo:
    """The media facts of a received file, or InvalidUploadError saying what is wrong with it."""
    try:
        return verify(path, engine_config(current_app.config).limits)
    except MediaLimitError as exc:
        raise InvalidUploadError(str(exc).replace(path.name, name), 422) from exc
    except EmptyMediaError as exc:
        raise InvalidUploadError(f"“{name}” contains no decodable frame.") from exc
    except MediaError as exc:
        kind = "image" if ext in IMAGE_EXTENSIONS else "video"
        raise InvalidUploadError(
            f"“{name}” is not a readable {kind} (its content does not match “{ext}”).", 415
        ) from exc
    except Exception as exc:  # a decoder's surprise on hostile input: refuse, with a reason
        if is_disk_full(exc):
            raise  # the server's trouble, answered as such (503)
        log.warning("reading %s failed unexpectedly", name, exc_info=True)
        raise InvalidUploadError(f"“{name}” could not be read as a video or image.", 422) from exc


SHARED_VALUES = {
    **dict.fromkeys(("1", "true", "yes", "on", "lab"), True),
    **dict.fromkeys(("0", "false", "no", "off", "private"), False),
}


def parse_shared(raw: str | None) -> bool | None:
    """``shared`` of an upload: lab-wide (True), private (False) or not said (None: default)."""
    if raw is None or raw == "":
        return None
    try:
        return SHARED_VALUES[raw.strip().lower()]
    except KeyError:
        raise InvalidUploadError("shared must be one of: lab, private (or true, false).") from None
