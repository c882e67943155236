"""The detection engine: video reading, faces, network, checkpoints and the detector.

It imports no other room of the project (no Flask, SQLAlchemy, queue or click). Modules that
need torch are :mod:`.checkpoints`, :mod:`.network`, :mod:`.tensors`, :mod:`.detector` and
:mod:`.demo`; the others (media, faces, checkpoint_info, models_folder, config, modes,
stages, decision) do not, so the web process can use them. Public names are loaded lazily::

    from deepfake_web.detection import Detector
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Detector": ".detector",
    "DetectorConfig": ".config",
    "AnalysisResult": ".result",
    "FaceConfig": ".faces",
    "MediaLimits": ".media",
    "ModelsFolder": ".models_folder",
    "Mode": ".modes",
    "Stage": ".stages",
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
