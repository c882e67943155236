"""From a file to the face crops a network sees: sampling, face search, tracking, cropping.

This is the one implementation used by the detector and by the training pipeline, so that
their preprocessing cannot drift apart. Crops are ``uint8`` ``(S, S, 3)`` in **BGR** order,
resized with PIL's bilinear filter (see :mod:`.preprocess`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from .boxes import Box, crop, patch_box, square_patch
from .faces import (
    Face,
    FaceConfig,
    FaceDetector,
    FaceStage,
    face_locations,
    face_probability,
    prepare_detectors,
)
from .media import Frame, MediaInfo, MediaLimits, decode_frames, read_frames
from .modes import Mode
from .mtcnn import one_torch_thread
from .persons import Track, choose_persons, join_by_encoding, spread, tracks_by_position
from .preprocess import resize_face

log = logging.getLogger(__name__)


@dataclass
class FaceFrame:
    """One sampled frame: every face found, their crops, and whose face each is.

    ``boxes``, ``crops``, ``stages``, ``patches`` and ``persons`` are parallel lists (one entry
    per face); ``persons[i]`` is the id of the person face ``i`` belongs to, or None for a
    face that is no one's (seen too rarely). ``chosen`` is the face of the person followed
    by default (the one seen most often).
    """

    index: int
    time_s: float
    boxes: list[Box]
    crops: list[np.ndarray]
    preview: np.ndarray | None = None
    preview_scale: float = 1.0
    chosen: int | None = None
    stages: list[FaceStage] = field(default_factory=list)
    patches: list[np.ndarray] = field(default_factory=list, repr=False)
    persons: list[int | None] = field(default_factory=list)

    @property
    def box(self) -> Box | None:
        """The followed face's box, or None."""
        return self.boxes[self.chosen] if self.chosen is not None else None

    @property
    def face(self) -> np.ndarray | None:
        """The followed face's crop (the network input), or None."""
        return self.crops[self.chosen] if self.chosen is not None else None

    def face_of(self, person: int) -> int | None:
        """The index of ``person``'s face in this frame, or None."""
        return self.persons.index(person) if person in self.persons else None

    def add(self, face: Face, crop_: np.ndarray, patch: np.ndarray) -> None:
        """Record one more face of this frame."""
        self.boxes.append(face.box)
        self.stages.append(face.stage)
        self.crops.append(crop_)
        self.patches.append(patch)
        self.persons.append(None)


@dataclass
class FaceTrack:
    """The sampled frames of a file with their faces and persons, and what finding them cost."""

    info: MediaInfo
    frames: list[FaceFrame]
    frames_requested: int
    note: str | None = None
    rescued: int = 0
    decode_s: float = 0.0
    faces_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    persons: list[int] = field(default_factory=list)
    dropped: int = 0

    @property
    def with_face(self) -> list[FaceFrame]:
        """The frames in which a face is followed."""
        return [f for f in self.frames if f.chosen is not None]

    def person_faces(self, person: int) -> list[tuple[FaceFrame, int]]:
        """Each frame where ``person`` is seen, with the index of their face in it."""
        return [(f, i) for f in self.frames if (i := f.face_of(person)) is not None]

    def stage_counts(self) -> dict[str, int]:
        """How many frames each stage gave their first face (``none``: no face at all)."""
        counts: dict[str, int] = {}
        for f in self.frames:
            key = str(f.stages[0]) if f.stages else "none"
            counts[key] = counts.get(key, 0) + 1
        return counts


def _downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image.copy(), 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def discovery_positions(count: int, looks: int) -> set[int]:
    """Which of ``count`` sampled frames are searched in full: ``looks`` of them (at most one
    in five), spread evenly."""
    looks = min(looks, max(1, count // 5))
    return {min(count - 1, int((k + 0.5) * count / looks)) for k in range(looks)}


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
    """Sample ``n`` frames of a video (or the image), find every face and follow each person.

    ``mode="standard"`` spreads the frames over the clip, searches each frame stage by stage
    (see :mod:`.faces`), searches a few frames in full for further people, searches again
    near each face in the frames where it is missing, links faces into persons (see
    :mod:`.persons`) and crops with ``faces.margin``. ``mode="reference"`` is the original
    ResNeXt-LSTM app: the first ``n`` frames, face_recognition's defaults on the full BGR
    frame, the first face, a tight crop, the whole frame when there is none.

    Face search runs on ``workers`` threads while decoding goes on (dlib, OpenCV and torch
    release the GIL); at most ``2 × workers`` decoded frames wait in memory. ``progress``
    receives the fraction of frames done, from the calling thread.
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
    expected = max(1, min(n, info.frames if info and info.frames else n))
    discover_at = discovery_positions(expected, faces.discovery_frames)

    def analyse(frame: Frame, ordinal: int) -> FaceFrame:
        t0 = time.perf_counter()
        try:
            preview, scale = (
                _downscale(frame.image, preview_max_side) if preview_max_side else (None, 1.0)
            )
            out = FaceFrame(frame.index, frame.time_s, [], [], preview, scale)
            if mode is Mode.REFERENCE:
                boxes = [Box(*loc) for loc in face_locations(frame.image)]  # HOG, upsample 1
                b = boxes[0] if boxes else None
                face = frame.image[b.top : b.bottom, b.left : b.right] if b else frame.image
                out.boxes, out.crops = boxes, [resize_face(face, image_size)]
                return out
            found = detector.find(frame.image)
            # Where the first stage found a face, search the frame for further people too;
            # where it did not, the later stages already searched the whole frame.
            if ordinal in discover_at and (not found or found[0].stage is FaceStage.HOG):
                found += [
                    d
                    for d in detector.discover(frame.image)
                    if all(d.box.iou(f.box) < 0.3 for f in found)
                ]
            for face in found:
                _add_face(out, frame.image, face, image_size, faces.margin)
            return out
        finally:
            with lock:
                spent[0] += time.perf_counter() - t0
            slots.release()

    t0 = time.perf_counter()
    with one_torch_thread(), ThreadPoolExecutor(workers, thread_name_prefix="faces") as pool:
        futures: list[Future] = []

        def submit(frame: Frame) -> Future:
            slots.acquire()
            futures.append(pool.submit(analyse, frame, len(futures)))
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
    t1 = time.perf_counter()
    with one_torch_thread():
        if faces.rescue and sample.info.kind == "video":
            track.rescued = _rescue(path, track, detector, image_size, faces)
            if track.rescued:
                track.notes.append(
                    f"{track.rescued} face(s) were found only by a closer search next to the "
                    "same face in a neighbouring frame."
                )
        _assign_persons(track, faces.person_min_share, faces.verify_threshold)
    track.faces_s += time.perf_counter() - t1
    report(1.0)
    return track


def _add_face(
    frame: FaceFrame, image: np.ndarray, face: Face, image_size: int, margin: float
) -> None:
    """Crop ``face`` out of ``image`` (network input and encoding patch) into ``frame``."""
    frame.add(
        face,
        resize_face(crop(image, face.box, margin), image_size),
        square_patch(image, face.box),
    )


def _rescue(
    path: str | os.PathLike,
    track: FaceTrack,
    detector: FaceDetector,
    image_size: int,
    faces: FaceConfig,
) -> int:
    """Search again, near each followed face, the neighbouring frames where it is missing.

    Round after round (at most ``faces.rescue_rounds``), only the frames to search are
    decoded again (none is held back in memory for this). Returns how many faces were found.
    """
    frames = track.frames
    total = 0
    for _ in range(max(0, faces.rescue_rounds)):
        wanted: dict[int, tuple[int, list[Box]]] = {}
        for trk in _worth_chasing(frames, tracks_by_position([f.boxes for f in frames]), faces):
            for t, i in trk.items():
                for j in (t - 1, t + 1, t - 2, t + 2):
                    if 0 <= j < len(frames) and j not in trk:
                        near = frames[t].boxes[i]
                        if all(b.iou(near) < 0.3 for b in frames[j].boxes):
                            slot = wanted.setdefault(frames[j].index, (j, []))
                            if all(b.iou(near) < 0.3 for b in slot[1]):
                                slot[1].append(near)
        if not wanted:
            break

        def search(frame: Frame, wanted: dict = wanted) -> int:
            j, nears = wanted[frame.index]
            target, added = frames[j], 0
            for near in nears:
                for face in detector.find_near(frame.image, near):
                    if all(face.box.iou(b) < 0.3 for b in target.boxes):
                        _add_face(target, frame.image, face, image_size, faces.margin)
                        added += 1
            return added

        found = sum(decode_frames(path, sorted(wanted), track.info.fps, search))
        total += found
        if not found:
            break
    return total


def _worth_chasing(frames: list[FaceFrame], tracks: list[Track], faces: FaceConfig) -> list[Track]:
    """The tracks to search for in neighbouring frames: those seen more than once, and faces
    seen once that pass the second opinion (a first-stage face seen once may be a false one)."""
    single = [
        trk
        for trk in tracks
        if len(trk) == 1 and frames[next(iter(trk))].stages[trk[next(iter(trk))]] is FaceStage.HOG
    ]
    if single and faces.verify_threshold > 0:
        patches = [frames[t].patches[i] for trk in single for t, i in trk.items()]
        doubtful = {
            id(trk)
            for trk, p in zip(single, face_probability(patches), strict=True)
            if p < faces.verify_threshold
        }
    else:
        doubtful = set()
    return [trk for trk in tracks if id(trk) not in doubtful]


def _encoder(frames: list[FaceFrame]) -> Callable[[int, int], np.ndarray | None]:
    """``encode(frame, index)``: face_recognition's 128-d encoding of that face's patch."""
    import face_recognition

    location = [patch_box()]

    def encode(t: int, i: int) -> np.ndarray | None:
        rgb = cv2.cvtColor(frames[t].patches[i], cv2.COLOR_BGR2RGB)
        found = face_recognition.face_encodings(rgb, location)
        return found[0] if found else None

    return encode


def _second_opinion(
    frames: list[FaceFrame], tracks: list[Track], threshold: float
) -> tuple[list[Track], int]:
    """Drop the tracks whose first-stage faces O-Net does not take for a face (median of a
    few), and say how many were dropped; faces of later stages were checked when found."""
    if threshold <= 0:
        return tracks, 0
    picks: list[list[tuple[int, int]]] = []
    for trk in tracks:
        hog = [(t, i) for t, i in sorted(trk.items()) if frames[t].stages[i] is FaceStage.HOG]
        picks.append(spread(hog))
    flat = [frames[t].patches[i] for pick in picks for t, i in pick]
    probability = iter(face_probability(flat) if flat else [])
    kept = []
    for trk, pick in zip(tracks, picks, strict=True):
        if not pick or float(np.median([next(probability) for _ in pick])) >= threshold:
            kept.append(trk)
    return kept, len(tracks) - len(kept)


def _assign_persons(track: FaceTrack, min_share: float, verify_threshold: float) -> None:
    """Link the faces into persons, number them by first appearance, choose the main one."""
    frames = track.frames
    tracks: list[Track] = tracks_by_position([f.boxes for f in frames])
    if len(tracks) > 1:
        tracks = join_by_encoding(tracks, _encoder(frames))
    tracks, refused = _second_opinion(frames, tracks, verify_threshold)
    if refused:
        track.notes.append(
            f"{refused} face track(s) failed the second opinion (MTCNN's O-Net) and were "
            "not scored."
        )
    persons, track.dropped = choose_persons(tracks, len(frames), min_share)
    for pid, person in enumerate(persons, start=1):
        for t, i in person.items():
            frames[t].persons[i] = pid
    track.persons = list(range(1, len(persons) + 1))
    if track.dropped:
        track.notes.append(
            f"{track.dropped} face(s) seen in fewer than {min_share:.0%} of the frames "
            "were not scored as persons."
        )
    if persons:
        main = max(track.persons, key=lambda p: len(persons[p - 1]))
        for f in frames:
            f.chosen = f.face_of(main)
