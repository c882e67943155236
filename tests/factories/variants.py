"""Variants of real clips that face finding must survive, with the faces they should yield.

A :class:`Source` is a clip's sampled frames and the faces the engine finds in them (the
ground truth: the original's followed face is "the right face"). Each variant function turns
it into a :class:`Variant`: new frames, and per frame the boxes carried into the variant's
coordinates (``None`` where the original has no face: such frames are left out of the
denominator). :meth:`Variant.write` writes the frames as an mp4v video, so the real pipeline
(:func:`~deepfake_web.detection.extract.extract_faces`) runs on it; the video holds exactly
the sampled frames, so sampling it with the same ``n`` returns them one for one.

The low-quality variant is each frame JPEG-encoded at quality 10 and decoded again (blocks,
ringing, lost detail), then written with mp4v like every other variant (no ffmpeg here).

Face-free frames (plain, textured, noise) come from :func:`face_free_frames`. Nothing here
needs torch.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from deepfake_web.detection.config import FaceConfig
from deepfake_web.detection.extract import FaceFrame, FaceTrack, extract_faces
from deepfake_web.detection.faces import Box
from deepfake_web.detection.media import read_frames

FACE_TALL_PX = 40
FILL_MARGIN = 0.1
ROTATION_DEG = 20.0
JPEG_QUALITY = 10
PAIR_HEIGHT = 720
MIN_IOU = 0.3


@dataclass(frozen=True)
class Truth:
    """What one variant frame should yield: the right face(s), and every face of the original."""

    targets: tuple[Box, ...]
    faces: tuple[Box, ...]


@dataclass
class Source:
    """A clip's sampled frames and the faces found in them (the ground truth)."""

    name: str
    frames: list[np.ndarray]
    faces: list[list[Box]]
    target: list[Box | None]
    fps: float

    @property
    def face_heights(self) -> list[int]:
        """Height of the right face in each frame that has one."""
        return [b.height for b in self.target if b is not None]

    def centre(self) -> tuple[float, float]:
        """Median centre of the right face over the clip (the frame's centre without one)."""
        boxes = [b for b in self.target if b is not None]
        if not boxes:
            h, w = self.frames[0].shape[:2]
            return w / 2, h / 2
        return (
            float(np.median([b.center[0] for b in boxes])),
            float(np.median([b.center[1] for b in boxes])),
        )


@dataclass
class Variant:
    """Frames derived from one or two sources, with each frame's expected faces."""

    name: str
    frames: list[np.ndarray]
    truth: list[Truth | None]
    fps: float = 25.0
    sources: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        h, w = self.frames[0].shape[:2]
        return w, h

    def write(self, folder: str | os.PathLike) -> Path:
        """Write the frames as an mp4v video in ``folder`` and return its path."""
        label = "+".join(Path(s).stem for s in self.sources) or "frames"
        path = Path(folder) / f"{label}.{self.name}.mp4"
        return write_frames(path, self.frames, self.fps)


@dataclass
class Score:
    """How the faces found in a variant compare with what it should yield."""

    frames: int = 0
    hits: int = 0
    by_stage: Counter = field(default_factory=Counter)
    extra: int = 0
    frames_with_extra: int = 0
    sampled: int = 0

    @property
    def rate(self) -> float:
        """Share of frames (with an expected face) in which the right face(s) were found."""
        return self.hits / self.frames if self.frames else float("nan")

    def add(self, other: Score) -> None:
        """Accumulate ``other`` into this score."""
        self.frames += other.frames
        self.hits += other.hits
        self.by_stage.update(other.by_stage)
        self.extra += other.extra
        self.frames_with_extra += other.frames_with_extra
        self.sampled += other.sampled


def write_frames(path: Path, frames: Sequence[np.ndarray], fps: float = 25.0) -> Path:
    """Write BGR frames (even sizes) with cv2.VideoWriter (mp4v) and return the path."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write {path}")
    for frame in frames:
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


def load_source(
    path: str | os.PathLike, n: int, faces: FaceConfig | None = None, workers: int = 1
) -> tuple[Source, FaceTrack]:
    """Sample ``n`` frames of a clip and find their faces with the engine (the ground truth)."""
    track = extract_faces(path, n, faces=faces, workers=workers, preview_max_side=None)
    sample = read_frames(path, n)
    images = {f.index: f.image for f in sample.frames}
    kept = [f for f in track.frames if f.index in images]
    source = Source(
        Path(path).name,
        [_even(images[f.index]) for f in kept],
        [list(f.boxes) for f in kept],
        [f.box for f in kept],
        sample.info.fps or 25.0,
    )
    return source, track


def _even(image: np.ndarray) -> np.ndarray:
    """Crop a row/column so both sides are even (what video encoders want)."""
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


def _transform(box: Box, matrix: np.ndarray, width: int, height: int) -> Box | None:
    """The axis-aligned box around ``box``'s corners under a 2×3 affine ``matrix``, clamped.

    None when less than half of the transformed box lies inside the width × height frame.
    """
    corners = np.array(
        [
            [box.left, box.top, 1],
            [box.right, box.top, 1],
            [box.left, box.bottom, 1],
            [box.right, box.bottom, 1],
        ],
        dtype=np.float64,
    )
    pts = corners @ matrix.T
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    full = max(1e-6, (x1 - x0) * (y1 - y0))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < 0.5 * full:
        return None
    return Box(round(cy0), round(cx1), round(cy1), round(cx0))


def _truth(
    target: Box | None, faces: Sequence[Box], matrix: np.ndarray, width: int, height: int
) -> Truth | None:
    """Carry one frame's right face and every face into the variant's coordinates."""
    if target is None:
        return None
    moved = _transform(target, matrix, width, height)
    if moved is None:
        return None
    others = [_transform(b, matrix, width, height) for b in faces]
    return Truth((moved,), tuple(b for b in others if b is not None))


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _pixelwise(source: Source, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> Variant:
    """A variant that changes pixel values only (the boxes stay where they are)."""
    h, w = source.frames[0].shape[:2]
    return Variant(
        name,
        [fn(f) for f in source.frames],
        [_truth(t, fs, IDENTITY, w, h) for t, fs in zip(source.target, source.faces, strict=True)],
        source.fps,
        (source.name,),
    )


def copy(source: Source) -> Variant:
    """The sampled frames unchanged (written with mp4v: checks the plumbing)."""
    return _pixelwise(source, "copy", lambda f: f.copy())


def darkened(source: Source, factor: float = 1 / 3) -> Variant:
    """Every pixel value times ``factor`` (a third of the brightness by default)."""
    return _pixelwise(
        source, "dark", lambda f: np.clip(f.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    )


def low_contrast(source: Source, factor: float = 1 / 3) -> Variant:
    """Pixel values squeezed towards mid-grey: 128 + ``factor`` × (value − 128)."""

    def squeeze(f: np.ndarray) -> np.ndarray:
        return np.clip(128 + (f.astype(np.float32) - 128) * factor, 0, 255).astype(np.uint8)

    return _pixelwise(source, "low_contrast", squeeze)


def low_quality(source: Source, quality: int = JPEG_QUALITY) -> Variant:
    """Each frame JPEG-encoded at ``quality`` and decoded again (then written with mp4v)."""

    def jpeg(f: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return cv2.imdecode(data, cv2.IMREAD_COLOR)

    return _pixelwise(source, f"jpeg{quality}", jpeg)


def _warped(source: Source, name: str, matrix: np.ndarray, width: int, height: int) -> Variant:
    """A variant made by one affine warp of every frame into a width × height frame."""
    flags = cv2.INTER_AREA if matrix[0, 0] ** 2 + matrix[0, 1] ** 2 < 1 else cv2.INTER_LINEAR
    frames = [
        cv2.warpAffine(f, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)
        for f in source.frames
    ]
    truth = [
        _truth(t, fs, matrix, width, height)
        for t, fs in zip(source.target, source.faces, strict=True)
    ]
    return Variant(name, frames, truth, source.fps, (source.name,))


def downscaled(source: Source, face_px: int = FACE_TALL_PX) -> Variant:
    """The whole frame scaled so the right face is about ``face_px`` pixels tall."""
    h, w = source.frames[0].shape[:2]
    heights = source.face_heights
    scale = min(1.0, face_px / float(np.median(heights))) if heights else 1.0
    width, height = max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2)
    frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in source.frames]
    matrix = np.array([[width / w, 0.0, 0.0], [0.0, height / h, 0.0]])
    truth = [
        _truth(t, fs, matrix, width, height)
        for t, fs in zip(source.target, source.faces, strict=True)
    ]
    return Variant(f"small{face_px}", frames, truth, source.fps, (source.name,))


def rotated(source: Source, degrees: float) -> Variant:
    """Every frame rotated by ``degrees`` (counter-clockwise) about the face's median centre."""
    h, w = source.frames[0].shape[:2]
    matrix = cv2.getRotationMatrix2D(source.centre(), degrees, 1.0)
    return _warped(source, f"rot{degrees:+.0f}", matrix, w, h)


def face_filling(source: Source, margin: float = FILL_MARGIN, side: int = 480) -> Variant:
    """Each frame cropped to a square around its right face (``margin`` on each side).

    The crop is resized to ``side`` × ``side``, so the face fills about 1 / (1 + 2 × margin)
    of the frame, as in pre-cropped face videos. Frames without a face keep the crop of the
    nearest frame with one (and are left out of the score).
    """
    boxes = list(source.target)
    known = [i for i, b in enumerate(boxes) if b is not None]
    frames, truth = [], []
    h, w = source.frames[0].shape[:2]
    for i, image in enumerate(source.frames):
        nearest = min(known, key=lambda k: abs(k - i)) if known else None
        box = boxes[nearest] if nearest is not None else Box(0, w, h, 0)
        size = max(box.width, box.height) * (1 + 2 * margin)
        cx, cy = box.center
        x0, y0 = cx - size / 2, cy - size / 2
        scale = side / size
        matrix = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
        frames.append(
            cv2.warpAffine(
                image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        )
        truth.append(_truth(boxes[i], source.faces[i], matrix, side, side))
    return Variant("fill", frames, truth, source.fps, (source.name,))


def side_by_side(left: Source, right: Source, height: int = PAIR_HEIGHT) -> Variant:
    """Two clips next to each other, each scaled to ``height`` (two 720p clips: 2560 × 720).

    Both right faces must be found: a frame counts only where both originals have a face.
    """
    n = min(len(left.frames), len(right.frames))
    parts = []
    for src in (left, right):
        h, w = src.frames[0].shape[:2]
        width = max(2, round(w * height / h) // 2 * 2)
        parts.append((src, width, np.array([[width / w, 0, 0], [0, height / h, 0]], float)))
    total = sum(width for _, width, _ in parts)
    frames, truth = [], []
    for i in range(n):
        row, targets, faces, x = [], [], [], 0
        for src, width, scale in parts:
            img = src.frames[i]
            interp = cv2.INTER_AREA if width < img.shape[1] else cv2.INTER_LINEAR
            row.append(cv2.resize(img, (width, height), interpolation=interp))
            matrix = scale.copy()
            matrix[0, 2] = x
            t = _truth(src.target[i], src.faces[i], matrix, total, height)
            targets.append(t)
            x += width
        frames.append(np.hstack(row))
        if all(t is not None for t in targets):
            for t in targets:
                faces.extend(t.faces)
            truth.append(Truth(tuple(t.targets[0] for t in targets), tuple(faces)))
        else:
            truth.append(None)
    fps = min(left.fps, right.fps)
    return Variant("side_by_side", frames, truth, fps, (left.name, right.name))


VARIANTS: dict[str, Callable[[Source], Variant]] = {
    "copy": copy,
    "dark": darkened,
    "low_contrast": low_contrast,
    "small40": downscaled,
    "fill": face_filling,
    "rot+20": lambda s: rotated(s, ROTATION_DEG),
    "rot-20": lambda s: rotated(s, -ROTATION_DEG),
    "jpeg10": low_quality,
}
"""One-clip variants by name (``side_by_side`` takes two sources)."""


def face_free_frames(
    kind: str, n: int, size: tuple[int, int] = (1280, 720), seed: int = 0
) -> list[np.ndarray]:
    """``n`` frames without any face: ``plain``, ``textured`` or ``noise``.

    plain: one colour per frame with a gentle gradient; textured: stripes, checkerboards,
    sine gratings, blurred blobs and random rectangles and circles; noise: per-pixel
    Gaussian noise around a random grey.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        if kind == "plain":
            colour = rng.integers(0, 256, 3).astype(np.float32)
            ramp = (xx / w - 0.5)[..., None] * rng.uniform(-40, 40)
            img = colour + ramp
        elif kind == "noise":
            img = rng.normal(rng.uniform(60, 200), rng.uniform(10, 60), (h, w, 3))
        elif kind == "textured":
            img = _texture(i, rng, xx, yy)
        else:
            raise ValueError(f"unknown face-free kind {kind!r}")
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


FACE_FREE_KINDS = ("plain", "textured", "noise")


def _texture(i: int, rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """One of five textures, chosen by ``i``."""
    h, w = xx.shape
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    mix = np.zeros((h, w), np.float32)
    pattern = i % 5
    if pattern == 0:  # stripes at a random angle
        angle, period = rng.uniform(0, np.pi), rng.uniform(8, 60)
        mix = ((xx * np.cos(angle) + yy * np.sin(angle)) // period % 2).astype(np.float32)
    elif pattern == 1:  # checkerboard
        cell = int(rng.integers(10, 80))
        mix = ((xx // cell + yy // cell) % 2).astype(np.float32)
    elif pattern == 2:  # crossed sine gratings
        f1, f2 = rng.uniform(0.01, 0.1, 2)
        mix = 0.5 + 0.25 * (np.sin(xx * f1 + yy * f2 * 0.3) + np.sin(yy * f2 - xx * f1 * 0.5))
    elif pattern == 3:  # blurred blobs (clouds)
        small = rng.random((h // 40 + 1, w // 40 + 1)).astype(np.float32)
        mix = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    img = a + mix[..., None] * (b.astype(np.float32) - a)
    if pattern == 4:  # random rectangles and circles on a plain ground
        img = np.ascontiguousarray(img.astype(np.uint8))
        for _ in range(40):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(5, 120))
            if rng.random() < 0.5:
                cv2.rectangle(img, (x, y), (x + r, y + int(rng.integers(5, 120))), colour, -1)
            else:
                cv2.circle(img, (x, y), r, colour, -1)
    return img


def matches(found: Box, expected: Box, min_iou: float = MIN_IOU) -> bool:
    """A found box is the expected face when its centre lies inside it or their IoU ≥ 0.3."""
    cx, cy = found.center
    inside = expected.left <= cx <= expected.right and expected.top <= cy <= expected.bottom
    return inside or found.iou(expected) >= min_iou


def frame_stages(frame: FaceFrame) -> list[str]:
    """The stage that found each box of a frame (parallel to its boxes)."""
    return [str(s) for s in frame.stages]


def score(variant: Variant, track: FaceTrack) -> Score:
    """Compare the faces ``extract_faces`` found in a variant's video with its truth."""
    result = Score(sampled=len(track.frames))
    if len(track.frames) != len(variant.truth):
        raise ValueError(
            f"{variant.name}: {len(track.frames)} frames sampled, {len(variant.truth)} written"
        )
    for frame, truth in zip(track.frames, variant.truth, strict=True):
        stages = frame_stages(frame)
        if truth is None:
            continue
        result.frames += 1
        found = [
            next((i for i, box in enumerate(frame.boxes) if matches(box, t)), None)
            for t in truth.targets
        ]
        if all(i is not None for i in found):
            result.hits += 1
            result.by_stage.update(stages[i] for i in found)
        extra = sum(1 for box in frame.boxes if not any(matches(box, f) for f in truth.faces))
        result.extra += extra
        result.frames_with_extra += extra > 0
    return result


def score_face_free(track: FaceTrack) -> Score:
    """Count the frames of a face-free video in which any face was found (all false)."""
    result = Score(sampled=len(track.frames))
    for frame in track.frames:
        result.frames += 1
        result.extra += len(frame.boxes)
        result.frames_with_extra += bool(frame.boxes)
        result.by_stage.update(frame_stages(frame))
    return result
