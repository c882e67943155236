"""Face detection with ``face_recognition`` (dlib), face crops, and following one person.

Images are ``uint8`` arrays of shape ``(H, W, 3)`` in **BGR** order. Boxes are in pixel
coordinates of the full-resolution frame.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Box:
    """A face box in ``face_recognition``'s (top, right, bottom, left) convention."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top

    @property
    def area(self) -> int:
        """Area in square pixels."""
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        """Centre as (x, y)."""
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other``."""
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        inter = max(0, w) * max(0, h)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def expanded(self, margin: float, width: int, height: int) -> Box:
        """Grow by ``margin`` × the box size on every side, clamped to a width × height image."""
        dx, dy = round(self.width * margin), round(self.height * margin)
        return Box(
            max(0, self.top - dy),
            min(width, self.right + dx),
            min(height, self.bottom + dy),
            max(0, self.left - dx),
        )

    def to_list(self) -> list[int]:
        """Return ``[left, top, right, bottom]`` (x1, y1, x2, y2), for JSON."""
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True)
class FaceConfig:
    """How faces are found and cropped.

    Detection runs on a copy whose longer side is at most ``detect_max_side`` pixels with
    ``upsample`` pyramid up-samplings; frames where that finds nothing are searched once more
    with ``fallback_upsample`` (small or distant faces). Frames still without a face next to
    frames with one are searched again near that face (``rescue``): a window twice the
    face's size, scaled so the face is ``rescue_face_size`` pixels tall. ``margin`` widens
    the crop on every side by that fraction of the face box. A face followed through at
    least ``person_min_share`` of the sampled frames is a person, scored on its own.
    """

    model: Literal["hog", "cnn"] = "hog"
    detect_max_side: int = 640
    upsample: int = 0
    fallback_upsample: int | None = 1
    rescue: bool = True
    rescue_face_size: int = 130
    margin: float = 0.0
    person_min_share: float = 0.2


_idle: dict[str, list] = {"hog": [], "cnn": []}
_idle_lock = threading.Lock()


def _new_dlib_detector(model: str):
    """Build face_recognition's HOG or CNN dlib detector (about 0.5 s: build few, reuse)."""
    import dlib

    if model == "cnn":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            import face_recognition_models

        return dlib.cnn_face_detection_model_v1(
            face_recognition_models.cnn_face_detector_model_location()
        )
    return dlib.get_frontal_face_detector()


def prepare_detectors(model: str, count: int) -> None:
    """Build detectors up front so that ``count`` threads can search at once without waiting."""
    with _idle_lock:
        missing = count - len(_idle[model])
    built = [_new_dlib_detector(model) for _ in range(max(0, missing))]
    with _idle_lock:
        _idle[model].extend(built)


@contextmanager
def _dlib_detector(model: str) -> Iterator:
    """Borrow a detector no other thread is using (dlib's detectors are not thread-safe)."""
    with _idle_lock:
        detector = _idle[model].pop() if _idle[model] else None
    if detector is None:
        detector = _new_dlib_detector(model)
    try:
        yield detector
    finally:
        with _idle_lock:
            _idle[model].append(detector)


def face_locations(
    image: np.ndarray, upsample: int = 1, model: str = "hog"
) -> list[tuple[int, int, int, int]]:
    """``face_recognition.face_locations``, safe to call from several threads at once.

    The same dlib detector and the same (top, right, bottom, left) boxes clamped to the
    image; face_recognition keeps a single module-level detector, which crashes when two
    threads use it, so each call here borrows one that no other thread holds.
    """
    with _dlib_detector(model) as detector:
        found = detector(image, upsample)
    h, w = image.shape[:2]
    rects = [d.rect for d in found] if model == "cnn" else found
    return [
        (max(r.top(), 0), min(r.right(), w), min(r.bottom(), h), max(r.left(), 0)) for r in rects
    ]


class FaceDetector:
    """Finds faces in a full-resolution BGR frame by searching a downscaled copy."""

    def __init__(self, config: FaceConfig | None = None) -> None:
        """Keep the configuration; dlib's models load on first use."""
        self.config = config or FaceConfig()

    def detect(self, image: np.ndarray) -> list[Box]:
        """Return the faces in ``image`` (H, W, 3 BGR uint8), in full-resolution pixels."""
        cfg = self.config
        h, w = image.shape[:2]
        scale = min(1.0, cfg.detect_max_side / max(h, w)) if cfg.detect_max_side else 1.0
        if scale < 1.0:
            small = cv2.resize(
                image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        else:
            small = image
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        found = face_locations(rgb, cfg.upsample, cfg.model)
        if not found and cfg.fallback_upsample is not None and cfg.fallback_upsample > cfg.upsample:
            found = face_locations(rgb, cfg.fallback_upsample, cfg.model)
        return _to_frame_boxes(found, scale, 0, 0, w, h)

    def detect_near(self, image: np.ndarray, near: Box) -> list[Box]:
        """Search for faces in a window around ``near`` (a face in a neighbouring frame)."""
        h, w = image.shape[:2]
        window = near.expanded(0.5, w, h)
        scale = self.config.rescue_face_size / max(near.height, 1)
        patch = image[window.top : window.bottom, window.left : window.right]
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=interpolation)
        found = face_locations(cv2.cvtColor(patch, cv2.COLOR_BGR2RGB), 0, self.config.model)
        return _to_frame_boxes(found, scale, window.left, window.top, w, h)


def _to_frame_boxes(
    found: Sequence[tuple[int, int, int, int]], scale: float, dx: int, dy: int, w: int, h: int
) -> list[Box]:
    """Map (top, right, bottom, left) boxes of a scaled, shifted copy back to frame pixels."""
    boxes = []
    for top, right, bottom, left in found:
        box = Box(
            max(0, dy + round(top / scale)),
            min(w, dx + round(right / scale)),
            min(h, dy + round(bottom / scale)),
            max(0, dx + round(left / scale)),
        )
        if box.area > 0:
            boxes.append(box)
    return boxes


def crop(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray:
    """Cut ``box`` (grown by ``margin``, clamped to the image) out of ``image``; a copy."""
    h, w = image.shape[:2]
    b = box.expanded(margin, w, h)
    return image[b.top : b.bottom, b.left : b.right].copy()


def _matches(prev: Box, cand: Box) -> float:
    """Score how likely ``cand`` is the same face as ``prev`` a sampled frame earlier (0 = no)."""
    iou = prev.iou(cand)
    if iou > 0:
        return 1.0 + iou
    (px, py), (cx, cy) = prev.center, cand.center
    dist = ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5
    size = max(prev.width, prev.height, 1)
    ratio = cand.area / max(prev.area, 1)
    return 1.0 - dist / size if dist < size and 0.5 <= ratio <= 2.0 else 0.0


def follow_one_face(detections: Sequence[Sequence[Box]]) -> list[int | None]:
    """Choose one face per frame so that the same person is followed through the clip.

    The track starts at the largest face of the clip and is extended forwards and backwards
    to the face that overlaps (or sits closest to) the previous choice; where no face
    continues the track, the largest face of that frame starts it again. Returns, per
    frame, the index of the chosen face in that frame's list, or None for frames without
    faces.
    """
    chosen: list[int | None] = [None] * len(detections)
    candidates = [
        (box.area, f, i) for f, boxes in enumerate(detections) for i, box in enumerate(boxes)
    ]
    if not candidates:
        return chosen
    _, seed_frame, seed_index = max(candidates, key=lambda c: (c[0], -c[1], -c[2]))
    chosen[seed_frame] = seed_index

    def walk(frames: range) -> None:
        prev = detections[seed_frame][seed_index]
        for f in frames:
            boxes = detections[f]
            if not boxes:
                continue
            scores = [_matches(prev, b) for b in boxes]
            best = int(np.argmax(scores))
            if scores[best] <= 0:
                best = max(range(len(boxes)), key=lambda i: boxes[i].area)
            chosen[f] = best
            prev = boxes[best]

    walk(range(seed_frame + 1, len(detections)))
    walk(range(seed_frame - 1, -1, -1))
    return chosen
