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


PERSON_COLOURS: tuple[str, ...] = (
    "#2e7d32",  # green
    "#1565c0",  # blue
    "#c62828",  # red
    "#ef6c00",  # orange
    "#6a1b9a",  # purple
    "#00838f",  # teal
    "#ad1457",  # pink
    "#5d4037",  # brown
)
"""One colour per person (``#rrggbb``), used alike in preview boxes, the chart and tables."""


def person_colour_hex(person_id: int) -> str:
    """The ``#rrggbb`` colour of person ``person_id`` (1-based; colours repeat after eight)."""
    return PERSON_COLOURS[(person_id - 1) % len(PERSON_COLOURS)]


def person_colour(person_id: int) -> tuple[int, int, int]:
    """The colour of person ``person_id`` as a BGR tuple, for drawing with OpenCV."""
    h = person_colour_hex(person_id).lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


@dataclass
class PersonBox:
    """Where one person's face is in one sampled frame, and that crop's score.

    ``index`` is the frame's index in the file; ``box`` is ``[left, top, right, bottom]`` in
    full-resolution pixels; ``p_fake`` is the network's per-frame probability for this crop.
    """

    index: int
    box: list[int]
    p_fake: float | None = None


@dataclass
class PersonScore:
    """One person followed through the clip, scored on their own face crops.

    ``id`` counts from 1 in order of first appearance; ``thumbnail_jpeg`` is a JPEG of the
    person's clearest face crop (not part of the JSON; see :meth:`to_dict`).
    """

    id: int
    frames_seen: int
    p_fake: float | None
    verdict: str
    confidence: float | None
    boxes: list[PersonBox] = field(default_factory=list)
    thumbnail_jpeg: bytes | None = field(default=None, repr=False)

    @property
    def colour(self) -> str:
        """This person's ``#rrggbb`` colour."""
        return person_colour_hex(self.id)

    def to_dict(self, thumbnail: str | None = None) -> dict:
        """JSON form; ``thumbnail`` is what to put in that field (a URL or base64 JPEG)."""
        return {
            "id": self.id,
            "frames_seen": self.frames_seen,
            "p_fake": self.p_fake,
            "verdict": self.verdict,
            "confidence": self.confidence,
            "colour": self.colour,
            "thumbnail": thumbnail,
            "boxes": [asdict(b) for b in self.boxes],
        }


def persons_summary(verdicts: list[str]) -> str:
    """Say how many people were scored and how many look fake, e.g. ``2 people; 1 looks fake``."""
    n = len(verdicts)
    if n == 0:
        return "no person scored"
    fake = sum(v == "FAKE" for v in verdicts)
    unsure = sum(v == "UNCERTAIN" for v in verdicts)
    people = "1 person" if n == 1 else f"{n} people"
    if n == 1:
        word = {"FAKE": "looks fake", "UNCERTAIN": "uncertain"}.get(verdicts[0], "looks real")
        return f"{people}; {word}"
    parts = [f"{fake} look{'s' if fake == 1 else ''} fake" if fake else "none looks fake"]
    if unsure:
        parts.append(f"{unsure} uncertain")
    return f"{people}; " + ", ".join(parts)


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
    persons: list[PersonScore] = field(default_factory=list)
    runtime: str | None = None  # the backbone's runtime (torch-fp32, openvino-bf16 ...)

    @property
    def summary(self) -> str:
        """One line on the persons scored, e.g. ``2 people; 1 looks fake``."""
        return persons_summary([p.verdict for p in self.persons])

    def to_dict(self, include_images: bool = False) -> dict:
        """Return a JSON-serialisable dict; images (base64 JPEG) only when asked for."""
        d = asdict(self)
        d["persons"] = [
            p.to_dict(
                base64.b64encode(p.thumbnail_jpeg).decode("ascii")
                if include_images and p.thumbnail_jpeg
                else None
            )
            for p in self.persons
        ]
        d["summary"] = self.summary
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
