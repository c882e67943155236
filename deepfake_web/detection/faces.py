"""Finding faces: dlib's HOG first, then what it lacks, each stage only where the previous
found nothing.

Images are ``uint8`` arrays of shape ``(H, W, 3)`` in **BGR** order. Boxes are in pixel
coordinates of the full-resolution frame. The stages, in order (:class:`FaceStage`):

1. ``hog``: ``face_recognition``'s HOG detector on a copy sized from the frame
   (:func:`detect_scale`: long side at most ``detect_max_side``, short side at least
   ``detect_min_side``, so a 2560×720 frame is not shrunk below what HOG sees);
2. ``hog_upsampled``: the same with one pyramid up-sampling (small, distant faces);
3. ``fill``: the frame padded and shrunk, for a face that fills it (pre-cropped face clips);
4. ``hog_light``: HOG on the frame with its lighting normalised (gamma for dark frames,
   then CLAHE on lightness);
5. ``mtcnn``: MTCNN (:mod:`.mtcnn`) on the light-normalised frame.

Every face is checked by a second opinion before it is scored: MTCNN's O-Net on the face
(per frame for the later stages, whose faces are likelier to be false; per person, on a few
of their faces, for the first stage's), and MTCNN's own faces by their probability and the
plausibility of their five landmarks.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from .boxes import Box, crop, square_patch, to_frame_boxes
from .config import FaceConfig

log = logging.getLogger(__name__)

__all__ = ["Box", "Face", "FaceConfig", "FaceDetector", "FaceStage", "crop", "face_locations"]


class FaceStage(StrEnum):
    """Which stage of the search found a face."""

    HOG = "hog"
    HOG_UPSAMPLED = "hog_upsampled"
    FILL = "fill"
    HOG_LIGHT = "hog_light"
    MTCNN = "mtcnn"
    DISCOVERY = "discovery"
    NEAR = "near"


@dataclass(frozen=True)
class Face:
    """A face found in a frame: its box (frame pixels) and the stage that found it."""

    box: Box
    stage: FaceStage


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


def detect_scale(width: int, height: int, config: FaceConfig) -> float:
    """The scale at which a width × height frame is searched (at most 1)."""
    if not config.detect_max_side:
        return 1.0
    scale = config.detect_max_side / max(width, height)
    if config.detect_min_side:
        scale = max(scale, config.detect_min_side / min(width, height))
    return min(1.0, scale)


def _lightness(image: np.ndarray) -> np.ndarray:
    """The L channel of a BGR image in LAB (0-255 in 8-bit images)."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[..., 0]


def _is_dark(lightness: np.ndarray, dark_below: float) -> bool:
    """Whether the mean lightness (an LAB L channel) is below ``dark_below`` (0-1)."""
    return float(lightness.mean()) < dark_below * 255


def normalise_light(image: np.ndarray, dark_below: float = 0.3, gamma: float = 0.5) -> np.ndarray:
    """Brighten a dark BGR image (gamma) and equalise its lightness locally (CLAHE)."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lightness = lab[..., 0]
    if _is_dark(lightness, dark_below):
        table = (255 * (np.arange(256) / 255) ** gamma).astype(np.uint8)
        lightness = cv2.LUT(lightness, table)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lightness))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` scaled by ``scale`` (area filter when shrinking)."""
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


class FaceDetector:
    """Finds the faces of full-resolution BGR frames, stage after stage (see the module)."""

    def __init__(self, config: FaceConfig | None = None) -> None:
        """Keep the configuration; dlib's and MTCNN's models load on first use."""
        self.config = config or FaceConfig()

    def find(self, image: np.ndarray) -> list[Face]:
        """The checked faces of ``image`` (H, W, 3 BGR uint8), from the first stage that has any."""
        cfg = self.config
        h, w = image.shape[:2]
        scale = detect_scale(w, h, cfg)
        small = _resize(image, scale)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        faces = [Face(b, FaceStage.HOG) for b in self._hog(rgb, cfg.upsample, scale, 0, 0, w, h)]
        if faces:
            return faces  # checked per person, on a few of their faces (see face_probability)
        if cfg.fallback_upsample is not None and cfg.fallback_upsample > cfg.upsample:
            boxes = self._hog(rgb, cfg.fallback_upsample, scale, 0, 0, w, h)
            faces = self._checked(image, boxes, FaceStage.HOG_UPSAMPLED)
            if faces:
                return faces
        if cfg.fill:
            faces = self._checked(image, self._fill(image), FaceStage.FILL)
            if faces:
                return faces
        bright = None
        if cfg.normalise_light:
            bright = cv2.cvtColor(
                normalise_light(small, cfg.dark_below, cfg.gamma), cv2.COLOR_BGR2RGB
            )
            boxes = self._hog(
                bright, max(cfg.upsample, cfg.fallback_upsample or 0), scale, 0, 0, w, h
            )
            faces = self._checked(image, boxes, FaceStage.HOG_LIGHT)
            if faces:
                return faces
        if cfg.second_detector:
            return self._mtcnn(bright if bright is not None else rgb, scale, 0, 0, w, h)
        return []

    def detect(self, image: np.ndarray) -> list[Box]:
        """The boxes of :meth:`find`."""
        return [f.box for f in self.find(image)]

    def discover(self, image: np.ndarray) -> list[Face]:
        """Every face of ``discovery_min_face`` pixels or more: HOG on a copy 1.5 times the
        usual size (faces down to 53 of its pixels), and MTCNN too when the frame is dark;
        stage ``discovery``.

        Slower than :meth:`find`'s first stage, which stops at the first face: used on a few
        frames of a clip to find the people that stage alone would miss.
        """
        cfg = self.config
        h, w = image.shape[:2]
        scale = min(1.0, 1.5 * detect_scale(w, h, cfg))
        small = _resize(image, scale)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        boxes = self._hog(rgb, cfg.upsample, scale, 0, 0, w, h)
        kept = self._checked(image, boxes, FaceStage.DISCOVERY)
        if (
            cfg.second_detector
            and cfg.normalise_light
            and _is_dark(_lightness(small), cfg.dark_below)
        ):
            bright = cv2.cvtColor(
                normalise_light(small, cfg.dark_below, cfg.gamma), cv2.COLOR_BGR2RGB
            )
            for face in self._mtcnn(bright, scale, 0, 0, w, h):
                if all(face.box.iou(k.box) < 0.3 for k in kept):
                    kept.append(Face(face.box, FaceStage.DISCOVERY))
        minimum = cfg.discovery_min_face
        return [f for f in kept if min(f.box.width, f.box.height) >= minimum]

    def find_near(self, image: np.ndarray, near: Box) -> list[Face]:
        """Faces in a window around ``near`` (a face of a neighbouring frame); stage ``near``."""
        cfg = self.config
        h, w = image.shape[:2]
        window = near.expanded(0.5, w, h)
        scale = cfg.rescue_face_size / max(near.height, 1)
        patch = _resize(image[window.top : window.bottom, window.left : window.right], scale)
        rgb = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)
        args = (scale, window.left, window.top, w, h)
        faces = self._checked(image, self._hog(rgb, cfg.upsample, *args), FaceStage.NEAR)
        if faces:
            return faces
        if cfg.normalise_light:
            bright = normalise_light(patch, cfg.dark_below, cfg.gamma)
            rgb = cv2.cvtColor(bright, cv2.COLOR_BGR2RGB)
            faces = self._checked(image, self._hog(rgb, cfg.upsample, *args), FaceStage.NEAR)
            if faces:
                return faces
        if cfg.second_detector:
            # The face is expected at about rescue_face_size pixels: no need to look for tiny ones.
            found = self._mtcnn(
                rgb, *args, min_face=max(cfg.mtcnn_min_face, cfg.rescue_face_size // 2)
            )
            return [Face(f.box, FaceStage.NEAR) for f in found]
        return []

    # -- stages ------------------------------------------------------------------------

    def _hog(
        self, rgb: np.ndarray, upsample: int, scale: float, dx: int, dy: int, w: int, h: int
    ) -> list[Box]:
        """dlib's detector on ``rgb`` (a copy at ``scale`` placed at dx, dy), in frame pixels."""
        return to_frame_boxes(face_locations(rgb, upsample, self.config.model), scale, dx, dy, w, h)

    def _fill(self, image: np.ndarray) -> list[Box]:
        """HOG on the frame shrunk inside a black border, for a face that fills the frame."""
        h, w = image.shape[:2]
        pad = round(0.35 * max(h, w))
        canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        scale = min(1.0, 400 / max(canvas.shape[:2]))
        rgb = cv2.cvtColor(_resize(canvas, scale), cv2.COLOR_BGR2RGB)
        found = face_locations(rgb, 0, self.config.model)
        ch, cw = canvas.shape[:2]
        boxes = to_frame_boxes(found, scale, 0, 0, cw, ch)
        return to_frame_boxes(
            [(b.top - pad, b.right - pad, b.bottom - pad, b.left - pad) for b in boxes],
            1.0,
            0,
            0,
            w,
            h,
        )

    def _mtcnn(
        self,
        rgb: np.ndarray,
        scale: float,
        dx: int,
        dy: int,
        w: int,
        h: int,
        min_face: int | None = None,
    ) -> list[Face]:
        """MTCNN's faces of ``rgb`` that pass its probability and landmark checks."""
        from .mtcnn import mtcnn, plausible_landmarks

        cfg = self.config
        found = [
            f.box
            for f in mtcnn().detect(rgb, min_face or cfg.mtcnn_min_face)
            if f.probability >= cfg.mtcnn_threshold and plausible_landmarks(f)
        ]
        return [Face(b, FaceStage.MTCNN) for b in to_frame_boxes(found, scale, dx, dy, w, h)]

    def _checked(self, image: np.ndarray, boxes: list[Box], stage: FaceStage) -> list[Face]:
        """The ``boxes`` MTCNN's O-Net also takes for a face (the second opinion)."""
        if not boxes:
            return []
        if self.config.verify_threshold <= 0:
            return [Face(b, stage) for b in boxes]
        from .mtcnn import mtcnn

        patches = [_verification_patch(image, b) for b in boxes]
        probability = mtcnn().face_probability(patches)
        kept = [
            Face(b, stage)
            for b, p in zip(boxes, probability, strict=True)
            if p >= self.config.verify_threshold
        ]
        if len(kept) < len(boxes):
            log.debug(
                "%d of %d %s face(s) failed the check", len(boxes) - len(kept), len(boxes), stage
            )
        return kept


def _verification_patch(image: np.ndarray, box: Box) -> np.ndarray:
    """The RGB square O-Net judges: the face box grown to MTCNN's framing (forehead, chin)."""
    return _onet_view(square_patch(image, box, 72))


def _onet_view(patch: np.ndarray) -> np.ndarray:
    """The middle of a :func:`~.boxes.square_patch` framed as MTCNN frames a face, in RGB."""
    size = patch.shape[0]
    cut = round(size / 12)  # the face spans 2/3 of the patch; MTCNN's box is 1.25 × the face
    return cv2.cvtColor(patch[cut : size - cut, cut : size - cut], cv2.COLOR_BGR2RGB)


def face_probability(patches: list[np.ndarray]) -> np.ndarray:
    """MTCNN's O-Net probability that each :func:`~.boxes.square_patch` (BGR) shows a face."""
    from .mtcnn import mtcnn

    return mtcnn().face_probability([_onet_view(p) for p in patches])
