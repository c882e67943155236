"""The detection engine: video reading, faces, network, checkpoints and the detector.

It imports neither Flask nor SQLAlchemy, and torch only when a model is built or loaded,
so the web process can use :mod:`.media` and :mod:`.registry` without torch. Public names
are loaded lazily::

    from deepfake_web.detection import Detector
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Detector": ".detector",
    "DetectorConfig": ".detector",
    "AnalysisResult": ".result",
    "FaceConfig": ".faces",
    "MediaLimits": ".media",
    "ModelRegistry": ".registry",
    "Verdict": ".decision",
    "DetectionError": ".errors",
    "MediaError": ".errors",
    "MediaLimitError": ".errors",
    "CheckpointError": ".errors",
    "NoCheckpointError": ".errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import public names on first use (keeps ``import deepfake_web.detection`` light)."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
