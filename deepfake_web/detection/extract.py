"""From a file to the face crops a network sees: sampling, face search, tracking, cropping.

This is the one implementation used by the detector and by the training pipeline, so that
their preprocessing cannot drift apart. Crops are ``uint8`` ``(S, S, 3)`` in **BGR** order,
resized with PIL's bilinear filter (see :mod:`.preprocess`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from .faces import (
    Box,
    FaceConfig,
    FaceDetector,
    crop,
    face_locations,
    follow_one_face,
    prepare_detectors,
)
from .media import Frame, MediaInfo, MediaLimits, decode_frames, read_frames
from .modes import Mode
from .preprocess import resize_face


@dataclass
class FaceFrame:
    """One sampled frame: every face found, their crops, and which face is followed."""

    index: int
    time_s: float
    boxes: list[Box]
    crops: list[np.ndarray]
    preview: np.ndarray | None = None
    preview_scale: float = 1.0
    chosen: int | None = None
    rescued: bool = False

    @property
    def box(self) -> Box | None:
        """The followed face's box, or None."""
        return self.boxes[self.chosen] if self.chosen is not None else None

    @property
    def face(self) -> np.ndarray | None:
        """The followed face's crop (the network input), or None."""
        return self.crops[self.chosen] if self.chosen is not None else None


@dataclass
class FaceTrack:
    """The sampled frames of a file with their faces, and what it cost to find them."""

    info: MediaInfo
    frames: list[FaceFrame]
    frames_requested: int
    note: str | None = None
    rescued: int = 0
    decode_s: float = 0.0
    faces_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def with_face(self) -> list[FaceFrame]:
        """The frames in which a face is followed."""
        return [f for f in self.frames if f.chosen is not None]


def _downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image.copy(), 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def extract_faces(
    path: str | os.PathLike,
    n: int,
    *,
    image_size: int = 112,
    faces: FaceConfig | None = None,
    mode: Mode | str = Mode.STANDARD,
    limits: MediaLimits | None = None,
    info: MediaInfo | None = None,
    workers: int = 2,
    preview_max_side: int | None = 320,
    progress: Callable[[float], None] | None = None,
) -> FaceTrack:
    """Sample ``n`` frames of a video (or the image) and extract the followed face of each.

    ``mode="standard"`` spreads the frames over the clip, searches every face (on a
    downscaled copy, then near the neighbours' face for frames still without one), follows
    one person, and crops with ``faces.margin``. ``mode="reference"`` is the original
    ResNeXt-LSTM app: the first ``n`` frames, face_recognition's defaults on the full BGR
    frame, the first face, a tight crop, the whole frame when there is none.

    Face search runs on ``workers`` threads while decoding goes on (dlib and OpenCV release
    the GIL); at most ``2 × workers`` decoded frames wait in memory. ``progress`` receives
    the fraction of frames done, from the calling thread.
    """
    faces = faces or FaceConfig()
    mode = Mode(mode)
    workers = max(1, workers)
    prepare_detectors(faces.model, workers)
    detector = FaceDetector(faces)
    report = progress or (lambda fraction: None)
    slots = threading.BoundedSemaphore(2 * workers)
    spent = [0.0]
    lock = threading.Lock()

    def analyse(frame: Frame) -> FaceFrame:
        t0 = time.perf_counter()
        try:
            if mode is Mode.REFERENCE:
                boxes = [Box(*loc) for loc in face_locations(frame.image)]  # HOG, upsample 1
                b = boxes[0] if boxes else None
                face = frame.image[b.top : b.bottom, b.left : b.right] if b else frame.image
                crops = [resize_face(face, image_size)]
            else:
                boxes = detector.detect(frame.image)
                crops = [resize_face(crop(frame.image, b, faces.margin), image_size) for b in boxes]
            preview, scale = (
                _downscale(frame.image, preview_max_side) if preview_max_side else (None, 1.0)
            )
            return FaceFrame(frame.index, frame.time_s, boxes, crops, preview, scale)
        finally:
            with lock:
                spent[0] += time.perf_counter() - t0
            slots.release()

    expected = max(1, min(n, info.frames if info and info.frames else n))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers, thread_name_prefix="faces") as pool:
        futures: list[Future] = []

        def submit(frame: Frame) -> Future:
            slots.acquire()
            futures.append(pool.submit(analyse, frame))
            report(min(1.0, sum(f.done() for f in futures) / expected))
            return futures[-1]

        sample = read_frames(
            path,
            n,
            "first" if mode is Mode.REFERENCE else "even",
            limits,
            info,
            process=submit,
        )
        frames = [f.result() for f in sample.frames]
    wall = time.perf_counter() - t0
    # Face search overlaps decoding: faces_s is its CPU time over all threads, decode_s the
    # rest of the wall time (so the two can add up to more than the stage's wall time).
    track = FaceTrack(
        sample.info,
        frames,
        n,
        note=sample.note,
        decode_s=max(0.0, wall - spent[0] / workers),
        faces_s=spent[0],
    )
    if mode is Mode.REFERENCE:
        for f in frames:
            f.chosen = 0 if f.boxes else None
        return track
    if faces.rescue and sample.info.kind == "video":
        t1 = time.perf_counter()
        track.rescued = _rescue(path, track, detector, image_size, faces.margin)
        track.faces_s += time.perf_counter() - t1
        if track.rescued:
            track.notes.append(
                f"{track.rescued} frame(s) had their face found only by a closer search next to "
                "the face of a neighbouring frame."
            )
    for f, chosen in zip(frames, follow_one_face([f.boxes for f in frames]), strict=True):
        f.chosen = chosen
    report(1.0)
    return track


def _rescue(
    path: str | os.PathLike,
    track: FaceTrack,
    detector: FaceDetector,
    image_size: int,
    margin: float,
) -> int:
    """Search frames without a face again, near the followed face of a neighbouring frame.

    Only those frames are decoded again (none is held back in memory for this). Returns how
    many frames gained a face.
    """
    frames = track.frames
    chosen = follow_one_face([f.boxes for f in frames])
    near: dict[int, tuple[int, Box]] = {}
    for i, f in enumerate(frames):
        if f.boxes:
            continue
        for j in (i - 1, i + 1, i - 2, i + 2):
            if 0 <= j < len(frames) and chosen[j] is not None:
                near[f.index] = (i, frames[j].boxes[chosen[j]])
                break
    if not near:
        return 0

    def search(frame: Frame) -> bool:
        i, box = near[frame.index]
        boxes = detector.detect_near(frame.image, box)
        if boxes:
            target = frames[i]
            target.boxes = boxes
            target.crops = [resize_face(crop(frame.image, b, margin), image_size) for b in boxes]
            target.rescued = True
        return bool(boxes)

    return sum(decode_frames(path, sorted(near), track.info.fps, search))
