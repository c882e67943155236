"""Settings of a :class:`~.detector.Detector` that do not come from the checkpoint.

Imports neither torch nor the detector, so the web process can build the same settings the
worker uses (for its upload checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .faces import FaceConfig
from .media import MediaLimits

Precision = Literal["fp32", "bf16"]
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16")
DEFAULT_SEQUENCE_LENGTH = 60
"""Frames analysed when neither the request nor the checkpoint says how many."""


@dataclass(frozen=True)
class DetectorConfig:
    """Device, precision, batching, face search, media limits, previews and the model cache.

    ``device`` is ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``; ``precision`` is
    ``fp32`` or ``bf16`` (autocast of the backbone, standard mode only).
    """

    device: str = "auto"
    precision: Precision = "fp32"
    batch_size: int = 32
    face_workers: int = 2
    faces: FaceConfig = field(default_factory=FaceConfig)
    limits: MediaLimits = field(default_factory=MediaLimits)
    preview_max_side: int = 320
    jpeg_quality: int = 85
    max_cached_models: int = 3
