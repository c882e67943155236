"""Typed errors raised by the detection engine, each with a message meant for a person."""

from __future__ import annotations


class DetectionError(Exception):
    """Base class of every error the engine raises on purpose."""


class MediaError(DetectionError):
    """The file cannot be read as a video or an image."""


class EmptyMediaError(MediaError):
    """The file is empty (zero bytes) or holds no decodable frame."""


class UnsupportedMediaError(MediaError):
    """The file's extension or content is not a supported video or image."""


class MediaLimitError(DetectionError):
    """The media exceeds a configured limit (resolution, duration or frame count)."""


class CheckpointError(DetectionError):
    """A checkpoint is missing, unreadable or does not match the expected format."""


class NoCheckpointError(CheckpointError):
    """No usable checkpoint is installed."""
