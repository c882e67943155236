"""A small synthetic real/fake video set made from real face photos, for trying the pipeline.

Each source face is one identity (numbered from 101). A *real* clip moves and scales the
face over a smooth background; its *fake* twin has the same motion and background but a
manipulated inner face region (a feathered ellipse inside the face box):

* ``blend``: alpha-blended with another identity's face (the clip then shows both people),
* ``blur``: Gaussian-blurred,
* ``colour``: a cold colour cast,
* ``flicker``: brightened or darkened.

The strength of each artefact is drawn independently for every frame, so fakes are also
unstable in time, as frame-by-frame face swaps are.

Files follow FaceForensics++ naming so that ``dataset index`` finds the identities:
``real/clip0_101.mp4``, ``fake/blur/clip0_101.mp4``, ``fake/blend/clip0_101_102.mp4``.
The set is meaningless as a benchmark: a model trained on it learns these four artefacts.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from deepfake_web.detection.faces import Box, FaceConfig, FaceDetector
from deepfake_web.files import replacing

from .errors import TrainingError
from .manifest import SYNTHETIC_MARKER

log = logging.getLogger(__name__)

METHODS = ("blend", "blur", "colour", "flicker")
SOURCE_SIZE = 224
WARNING = "Trained on a synthetic dataset: its verdicts on real videos mean nothing."
COLOUR_GAINS = (1.35, 1.12, 0.68)  # B, G, R: a cold, blue-green skin


@dataclass
class SourceFace:
    """A square face photo, where the face is in it, and where it came from."""

    identity: str
    image: np.ndarray
    box: Box
    source: str


@dataclass
class SyntheticSummary:
    """What :func:`make_synthetic` wrote."""

    folder: Path
    identities: int
    real: int
    fake: int
    methods: dict[str, int]
    skipped_sources: list[str]


def _pad_box(box: Box, image: np.ndarray, factor: float) -> tuple[np.ndarray, Box]:
    """A square cut of side ``factor`` × the box around its centre (edges replicated)."""
    cx, cy = box.center
    side = round(max(box.width, box.height) * factor)
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    pad = side
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    cut = padded[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    scale = SOURCE_SIZE / side
    cut = cv2.resize(
        cut,
        (SOURCE_SIZE, SOURCE_SIZE),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    b = Box(
        round((box.top - y0) * scale),
        round((box.right - x0) * scale),
        round((box.bottom - y0) * scale),
        round((box.left - x0) * scale),
    )
    return cut, b


def _find_box(image: np.ndarray, detector: FaceDetector) -> Box | None:
    """The largest face of a square face photo, searched on a grey-padded, enlarged copy."""
    pad = image.shape[0] // 3
    canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(110,) * 3)
    boxes = detector.detect(canvas)
    if not boxes:
        return None
    b = max(boxes, key=lambda x: x.area)
    h, w = image.shape[:2]
    return Box(
        max(0, b.top - pad), min(w, b.right - pad), min(h, b.bottom - pad), max(0, b.left - pad)
    )


def _renders_detectably(face: np.ndarray, detector: FaceDetector, rng: np.random.Generator) -> bool:
    """True when the engine finds the face at the small, middle and large clip sizes."""
    for side in (120, 145, 170):
        canvas = _background(rng, 320, 240)
        small = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        y, x = (240 - side) // 2, (320 - side) // 2
        canvas[y : y + side, x : x + side] = small
        if not detector.detect(canvas):
            return False
    return True


def source_faces(media: Path, seed: int = 0) -> tuple[list[SourceFace], list[str]]:
    """Collect source faces from ``media/images/real`` and ``media/images/unlabeled``.

    Only faces the engine's own detector finds when rendered at clip size are kept; the
    names of the others are returned too.
    """
    detector = FaceDetector(FaceConfig(detect_max_side=2000))
    rng = np.random.default_rng(seed)
    faces, skipped = [], []
    candidates: list[tuple[str, np.ndarray, Box | None]] = []
    seen_videos: set[str] = set()
    for sub in ("real", "fake"):
        for p in sorted((media / "images" / sub).glob("*.jpg")):
            video = p.stem.split("_")[3] if p.stem.count("_") >= 4 else p.stem
            img = cv2.imread(str(p))
            if img is None or video in seen_videos:  # two crops of one DFDC video: one person
                continue
            seen_videos.add(video)
            img = cv2.resize(img, (SOURCE_SIZE, SOURCE_SIZE), interpolation=cv2.INTER_AREA)
            candidates.append((f"images/{sub}/{p.name}", img, None))
    pictures = [
        (f"images/unlabeled/{p.name}", cv2.imread(str(p)))
        for p in sorted((media / "images" / "unlabeled").glob("*"))
    ]
    pictures += [
        (f"videos/real/{p.name} (middle frame)", _middle_frame(p))
        for p in sorted((media / "videos" / "real").glob("*.mp4"))
    ]
    for name, img in pictures:
        if img is None:
            continue
        for k, box in enumerate(sorted(detector.detect(img), key=lambda b: b.left)):
            if box.height < 70:
                skipped.append(f"{name} face {k} (too small)")
                continue
            cut, b = _pad_box(box, img, 1.7)
            candidates.append((f"{name} face {k}", cut, b))
    for name, img, box in candidates:
        box = box or _find_box(img, detector)
        if box is None or not _renders_detectably(img, detector, rng):
            skipped.append(name)
            continue
        faces.append(SourceFace(str(101 + len(faces)), img, box, name))
    return faces, skipped


def _middle_frame(path: Path) -> np.ndarray | None:
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // 2))
        ok, frame = cap.read()
        return frame if ok else None
    finally:
        cap.release()


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A smooth, muted colour field with a little grain (a plausible wall or room)."""
    small = rng.uniform(40, 215, size=(4, 5, 3)).astype(np.float32)
    small = 0.1 * small + 0.9 * small.mean(axis=2, keepdims=True)  # nearly grey
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    bg += rng.normal(0, 5, size=(h, w, 1)).astype(np.float32)
    return np.clip(bg, 0, 255).astype(np.uint8)


def _mask(box: Box) -> np.ndarray:
    """Feathered ellipse over the inner face (brows to chin), float ``(S, S, 1)`` in [0, 1]."""
    m = np.zeros((SOURCE_SIZE, SOURCE_SIZE), np.float32)
    cx, cy = box.center
    axes = (max(1, round(box.width * 0.50)), max(1, round(box.height * 0.60)))
    cv2.ellipse(m, (round(cx), round(cy)), axes, 0, 0, 360, 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, box.width * 0.05))
    return m[..., None]


def _aligned(other: SourceFace, box: Box) -> np.ndarray:
    """``other``'s photo scaled and shifted so that its face box lands on ``box``."""
    sx, sy = box.width / max(1, other.box.width), box.height / max(1, other.box.height)
    m = np.float32([[sx, 0, box.left - other.box.left * sx], [0, sy, box.top - other.box.top * sy]])
    return cv2.warpAffine(
        other.image, m, (SOURCE_SIZE, SOURCE_SIZE), borderMode=cv2.BORDER_REPLICATE
    )


def manipulate(
    face: SourceFace,
    method: str,
    frame: int,
    strengths: dict,
    partner: SourceFace | None = None,
) -> np.ndarray:
    """The fake version of ``face``'s photo for one frame.

    ``strengths[method][frame]`` is that frame's strength, drawn independently per frame:
    like a face-swap generator working frame by frame, the artefact is unstable in time.
    """
    img = face.image.astype(np.float32)
    mask = _mask(face.box)
    k = strengths[method][frame]
    if method == "blur":
        changed = cv2.GaussianBlur(img, (0, 0), k)
    elif method == "colour":
        changed = img * _cast(k)
    elif method == "flicker":
        changed = img * np.float32(k)
    elif method == "blend":
        if partner is None:
            raise ValueError("blend needs a partner face")
        changed = (1 - k) * img + k * _aligned(partner, face.box).astype(np.float32)
    else:
        raise ValueError(f"unknown method {method!r}")
    if method != "colour":  # the un-corrected colour mismatch every pasted face has
        changed = changed * _cast(strengths["mismatch"])
    out = img * (1 - mask) + changed * mask
    return np.clip(out, 0, 255).astype(np.uint8)


def _cast(strength: float) -> np.ndarray:
    """Channel gains of the cold colour cast at ``strength`` (0: none, 1: full)."""
    return np.float32([1 + strength * (g - 1) for g in COLOUR_GAINS])


def _strengths(rng: np.random.Generator, frames: int) -> dict:
    """Per-frame strengths of each method, and the clip's colour mismatch."""
    sign = rng.choice([-1.0, 1.0], size=frames)
    return {
        "mismatch": float(rng.uniform(0.3, 0.5)),
        "blend": rng.uniform(0.35, 0.8, frames).tolist(),  # alpha of the other face
        "blur": rng.uniform(3.5, 6.0, frames).tolist(),  # Gaussian sigma at 224 px
        "colour": rng.uniform(0.5, 1.0, frames).tolist(),  # fraction of COLOUR_GAINS
        "flicker": (1 + sign * rng.uniform(0.3, 0.5, frames)).tolist(),  # brightness gain
    }


def _render(
    face_for_frame: Callable[[int], np.ndarray],
    frames: int,
    size: tuple[int, int],
    motion: dict,
    background: np.ndarray,
) -> list[np.ndarray]:
    w, h = size
    out = []
    for t in range(frames):
        u = t / max(1, frames - 1)
        wobble = 1 + 0.12 * np.sin(2 * np.pi * u + motion["phase"])
        side = round(float(motion["side"] * wobble))
        cx = motion["x0"] + (motion["x1"] - motion["x0"]) * u
        cy = motion["y0"] + (motion["y1"] - motion["y0"]) * u
        x = int(np.clip(round(cx - side / 2), 0, w - side))
        y = int(np.clip(round(cy - side / 2), 0, h - side))
        canvas = background.copy()
        canvas[y : y + side, x : x + side] = cv2.resize(
            face_for_frame(t), (side, side), interpolation=cv2.INTER_AREA
        )
        out.append(canvas)
    return out


CODECS = {"mp4": "mp4v", "avi": "MJPG"}


def _write(path: Path, frames: list[np.ndarray], fps: float) -> None:
    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*CODECS[path.suffix.lstrip(".")])
    with replacing(path, keep_suffix=True) as tmp:
        writer = cv2.VideoWriter(str(tmp), fourcc, fps, (w, h))
        if not writer.isOpened():
            raise TrainingError(f"OpenCV cannot write {path}")
        for f in frames:
            writer.write(f)
        writer.release()


def make_synthetic(
    out: str | os.PathLike,
    media: str | os.PathLike,
    *,
    clips: int = 1,
    methods: tuple[str, ...] = METHODS,
    frames: int = 16,
    size: tuple[int, int] = (320, 240),
    fps: float = 8.0,
    seed: int = 0,
    max_identities: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SyntheticSummary:
    """Write the synthetic set into ``out`` (``real/``, ``fake/<method>/``, README, marker).

    Every identity gets ``clips`` real clips, and every real clip one fake per method with
    the same motion and background (as FaceForensics++ makes every method from every
    original), so there are ``len(methods)`` fakes per real video.
    """
    unknown = set(methods) - set(METHODS)
    if unknown or not methods:
        raise TrainingError(f"Unknown method(s) {sorted(unknown)}; choose from {list(METHODS)}.")
    media, folder = Path(media), Path(out)
    if not (media / "images").is_dir():
        raise TrainingError(f"No images/ folder in {media} (the real face photos).")
    faces, skipped = source_faces(media, seed)
    if max_identities:
        faces = faces[:max_identities]
    if len(faces) < 4:
        raise TrainingError(f"Only {len(faces)} usable face(s) in {media}/images; need ≥ 4.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(faces))
    partner: dict[int, SourceFace] = {}
    for a, b in zip(order[0::2], order[1::2], strict=False):  # blend partners come in pairs
        partner[int(a)], partner[int(b)] = faces[int(b)], faces[int(a)]
    w, h = size
    total, done = len(faces) * clips * (1 + len(methods)), 0
    counts = dict.fromkeys(methods, 0)
    for i, face in enumerate(faces):
        for k in range(clips):
            side = float(rng.uniform(0.5, 0.7) * h)
            motion = {
                "side": side,
                "phase": float(rng.uniform(0, 2 * np.pi)),
                "x0": float(rng.uniform(side / 2, w - side / 2)),
                "x1": float(rng.uniform(side / 2, w - side / 2)),
                "y0": float(rng.uniform(side / 2, h - side / 2)),
                "y1": float(rng.uniform(side / 2, h - side / 2)),
            }
            background = _background(rng, w, h)
            real_frames = _render(lambda t, f=face: f.image, frames, size, motion, background)
            _write(folder / "real" / f"clip{k}_{face.identity}.mp4", real_frames, fps)
            done += 1
            strengths = _strengths(rng, frames)
            for method in methods:
                mate = partner.get(i)
                if method == "blend" and mate is None:
                    continue  # the odd identity out has no partner
                stem = f"clip{k}_{face.identity}"
                if method == "blend":
                    stem += f"_{mate.identity}"
                fake_frames = _render(
                    lambda t, f=face, m=method, p=mate, s=strengths: manipulate(f, m, t, s, p),
                    frames,
                    size,
                    motion,
                    background,
                )
                _write(folder / "fake" / method / f"{stem}.mp4", fake_frames, fps)
                counts[method] += 1
                done += 1
                if progress:
                    progress(done, total)
    listing = [{"identity": f.identity, "source": f.source} for f in faces]
    _write_notes(folder, media, listing, skipped, counts, clips, frames, size, fps, seed)
    return SyntheticSummary(
        folder, len(faces), len(faces) * clips, sum(counts.values()), counts, skipped
    )


def _write_notes(
    folder: Path,
    media: Path,
    listing: list[dict],
    skipped: list[str],
    counts: dict[str, int],
    clips: int,
    frames: int,
    size: tuple[int, int],
    fps: float,
    seed: int,
) -> None:
    settings = {
        "clips_per_identity": clips,
        "frames": frames,
        "size": list(size),
        "fps": fps,
        "seed": seed,
    }
    marker = {
        "synthetic": True,
        "warning": WARNING,
        "made": datetime.now(UTC).isoformat(timespec="seconds"),
        "media": str(media.resolve()),
        "settings": settings,
        "methods": counts,
        "identities": listing,
        "skipped_sources": skipped,
    }
    (folder / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    lines = [
        "# Synthetic deepfake set: NOT real data",
        "",
        "Made by `deepfake-web dataset synth` from the face photos in "
        f"`{media}` (research-licensed; do not redistribute these clips).",
        "",
        "Every clip is synthetic. A *real* clip moves one face photo over a smooth "
        "background; its *fake* twin has the same motion with the inner face region "
        "manipulated: `blend` (mixed with another person's face), `blur`, `colour` (a "
        "colour cast) or `flicker` (brightness jumping between frames).",
        "",
        f"**{WARNING}** Any accuracy measured on this set says only that the pipeline "
        "works; it says nothing about real deepfakes.",
        "",
        f"- identities: {len(listing)} (numbered from 101; see `{SYNTHETIC_MARKER}`)",
        f"- real clips: {len(listing) * clips}; fake clips: {sum(counts.values())} "
        f"({', '.join(f'{m} {n}' for m, n in counts.items())})",
        f"- {frames} frames of {size[0]}×{size[1]} at {fps:g} fps, MPEG-4 part 2, seed {seed}",
        "",
        "Names follow FaceForensics++: `real/clip0_101.mp4` shows identity 101, "
        "`fake/blend/clip0_101_102.mp4` identities 101 and 102, so `deepfake-web dataset "
        "index` keeps each person in one split.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines))
