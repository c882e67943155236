"""Settings of a :class:`~.detector.Detector` that do not come from the checkpoint.

Imports neither torch nor the detector, so the web process can build the same settings the
worker uses (for its upload checks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .faces import FaceConfig
from .media import MediaLimits
from .runtimes import AUTO, PRECISIONS

DEVICES = ("auto", "cpu", "cuda")
__all__ = ["DEFAULT_SEQUENCE_LENGTH", "DEVICES", "PRECISIONS", "DetectorConfig"]


def default_precision() -> str:
    """``$DEEPFAKE_PRECISION``, else ``auto`` (the fastest runtime measured on this CPU)."""
    return os.environ.get("DEEPFAKE_PRECISION") or AUTO


DEFAULT_SEQUENCE_LENGTH = 60
"""Frames analysed when neither the request nor the checkpoint says how many."""


@dataclass(frozen=True)
class DetectorConfig:
    """Device, precision, batching, face search, media limits, previews and the model cache.

    ``device`` is ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``; ``precision`` is
    ``auto`` (the runtime measured fastest on this CPU, see :mod:`.runtimes`), ``fp32``,
    ``bf16`` or a runtime's name, for the backbone in standard mode (reference mode is
    always PyTorch fp32).
    """

    device: str = "auto"
    precision: str = field(default_factory=default_precision)
    batch_size: int = 32
    face_workers: int = 2
    faces: FaceConfig = field(default_factory=FaceConfig)
    limits: MediaLimits = field(default_factory=MediaLimits)
    preview_max_side: int = 320
    jpeg_quality: int = 85
    max_cached_models: int = 3
