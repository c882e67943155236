"""Settings of a :class:`~.detector.Detector` that do not come from the checkpoint.

Imports neither torch nor the detector, so the web process can build the same settings the
worker uses (for its upload checks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from .media import MediaLimits
from .runtimes import AUTO, PRECISIONS

DEVICES = ("auto", "cpu", "cuda")
__all__ = ["DEFAULT_SEQUENCE_LENGTH", "DEVICES", "PRECISIONS", "DetectorConfig", "FaceConfig"]


def default_precision() -> str:
    """``$DEEPFAKE_PRECISION``, else ``auto`` (the fastest runtime measured on this CPU)."""
    return os.environ.get("DEEPFAKE_PRECISION") or AUTO


DEFAULT_SEQUENCE_LENGTH = 60
"""Frames analysed when neither the request nor the checkpoint says how many."""


@dataclass(frozen=True)
class FaceConfig:
    """How faces are found, checked, followed and cropped.

    Detection runs on a copy whose longer side is at most ``detect_max_side`` and whose
    shorter side is at least ``detect_min_side`` pixels (never above full size), with
    ``upsample`` pyramid up-samplings, then with ``fallback_upsample`` where that finds
    nothing; then the ``fill``, ``normalise_light`` and ``second_detector`` (MTCNN) stages.
    Frames darker than ``dark_below`` (mean lightness, 0-1) are brightened with ``gamma``.
    HOG faces whose O-Net probability is below ``verify_threshold`` are dropped; MTCNN's
    need ``mtcnn_threshold`` and faces of ``mtcnn_min_face`` pixels or more.

    ``discovery_frames`` frames spread over the clip (none by default) are also searched on a
    copy 1.5 times larger (faces of ``discovery_min_face`` pixels or more), so that a second,
    smaller person is found even where the first stage stopped at someone else; off by
    default because, measured, it added about 0.5 s to a one-person 720p clip of 60 frames
    (mostly the closer search it then starts around a face seen once) and found under 1 % of
    the faces of the side-by-side benchmark. Faces seen in some frames are then
    searched for near their place in the others (``rescue``, up to ``rescue_rounds`` rounds
    of neighbouring frames): a window twice the face's size, scaled so the face is
    ``rescue_face_size`` pixels tall. A face followed through at least ``person_min_share``
    of the sampled frames is a person, scored on its own. ``margin`` widens the crop on
    every side by that fraction of the face box.
    """

    model: Literal["hog", "cnn"] = "hog"
    detect_max_side: int = 640
    detect_min_side: int = 360
    upsample: int = 0
    fallback_upsample: int | None = 1
    fill: bool = True
    normalise_light: bool = True
    dark_below: float = 0.3
    gamma: float = 0.5
    second_detector: bool = True
    mtcnn_min_face: int = 20
    mtcnn_threshold: float = 0.95
    verify_threshold: float = 0.5
    discovery_frames: int = 0
    discovery_min_face: int = 40
    rescue: bool = True
    rescue_rounds: int = 3
    rescue_face_size: int = 130
    margin: float = 0.0
    person_min_share: float = 0.2


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
