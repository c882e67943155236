"""The result of one analysis: a JSON-serialisable dataclass."""

from __future__ import annotations

import base64
import platform
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata


@dataclass
class FrameScore:
    """One sampled frame: when it is, how many faces it had, the face used and its score.

    ``box`` is ``[left, top, right, bottom]`` in full-resolution pixels; ``p_fake`` is None
    for frames left out of the score (no face).
    """

    index: int
    time_s: float
    p_fake: float | None
    faces: int
    box: list[int] | None


@dataclass
class CheckpointUsed:
    """Which checkpoint decided, and why that one."""

    name: str
    sha256: str
    format: str
    sequence_length: int | None
    requested_sequence_length: int | None
    note: str | None = None
    accuracy: float | None = None
    demo: bool = False
    warning: str | None = None
    threshold: float = 0.5
    uncertain_margin: float = 0.0


@dataclass
class Timings:
    """Seconds spent per stage (decoding and face search are interleaved and timed apart)."""

    load_s: float = 0.0
    decode_s: float = 0.0
    faces_s: float = 0.0
    model_s: float = 0.0
    total_s: float = 0.0


@dataclass
class Preview:
    """A sampled frame (downscaled, face boxes drawn) and the face crop fed to the network.

    Both are JPEG bytes; ``face_jpeg`` is None when the frame had no face.
    """

    index: int
    time_s: float
    frame_jpeg: bytes
    face_jpeg: bytes | None


@dataclass
class AnalysisResult:
    """Everything one analysis found; ``to_dict()`` gives the JSON form."""

    file: str
    verdict: str
    p_fake: float | None
    p_real: float | None
    confidence: float | None
    frames_requested: int
    frames_sampled: int
    frames_used: int
    frames_without_face: int
    frame_scores: list[FrameScore]
    checkpoint: CheckpointUsed
    mode: str
    media: dict
    timings: Timings
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    previews: list[Preview] = field(default_factory=list)

    def to_dict(self, include_images: bool = False) -> dict:
        """Return a JSON-serialisable dict; images (base64 JPEG) only when asked for."""
        d = asdict(self)
        if include_images:
            d["previews"] = [
                {
                    "index": p.index,
                    "time_s": p.time_s,
                    "frame_jpeg": base64.b64encode(p.frame_jpeg).decode("ascii"),
                    "face_jpeg": base64.b64encode(p.face_jpeg).decode("ascii")
                    if p.face_jpeg
                    else None,
                }
                for p in self.previews
            ]
        else:
            d.pop("previews")
        return d


_DISTRIBUTIONS = {
    "deepfake-web": ("deepfake-web",),
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "opencv": ("opencv-python", "opencv-python-headless"),
    "numpy": ("numpy",),
    "pillow": ("pillow",),
    "dlib": ("dlib-bin", "dlib"),
    "face_recognition": ("face-recognition",),
}


def _version(dists: tuple[str, ...]) -> str:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


@cache
def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a result (for reproducibility)."""
    return {"python": platform.python_version()} | {
        key: _version(dists) for key, dists in _DISTRIBUTIONS.items()
    }
