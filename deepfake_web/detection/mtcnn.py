"""MTCNN (``facenet-pytorch``'s weights, shipped inside its wheel): the second detector and
the second opinion on faces.

Used where dlib's HOG finds nothing (dark frames, turned or small faces) and to check every
face before it is scored (:meth:`Mtcnn.face_probability`, its O-Net on the face). Images are
``uint8`` ``(H, W, 3)`` **RGB** arrays; boxes are (top, right, bottom, left) in the image's
pixels. Runs on the CPU; ``torch`` and ``facenet_pytorch`` are imported on first use.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
"""P-Net, R-Net and O-Net thresholds (MTCNN's published defaults)."""


@dataclass(frozen=True)
class MtcnnFace:
    """One MTCNN detection: box, probability and five landmarks (eyes, nose, mouth corners)."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: np.ndarray  # (5, 2) x, y


def plausible_landmarks(face: MtcnnFace) -> bool:
    """Whether the five landmarks sit like a face's: eyes above the mouth, nose between.

    Rejects the textures MTCNN sometimes takes for a face, whose points land anywhere.
    """
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    top, right, bottom, left = face.box
    width = max(right - left, 1.0)
    eye_gap = abs(rx - lx)
    eyes_y, mouth_y = (ly + ry) / 2, (mly + mry) / 2
    return bool(
        eye_gap >= 0.2 * width
        and mouth_y - eyes_y >= 0.15 * (bottom - top)
        and eyes_y < ny < mouth_y
        and min(lx, rx) - 0.1 * width <= nx <= max(lx, rx) + 0.1 * width
        and abs(mrx - mlx) >= 0.15 * width
    )


class Mtcnn:
    """P-Net, R-Net and O-Net with facenet-pytorch's weights, built once per process."""

    def __init__(self) -> None:
        """Load the three networks from the files inside the ``facenet-pytorch`` wheel."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

        self.pnet, self.rnet, self.onet = PNet().eval(), RNet().eval(), ONet().eval()

    def detect(self, rgb: np.ndarray, min_face: int = 20) -> list[MtcnnFace]:
        """Faces of at least ``min_face`` pixels in ``rgb``, with landmarks."""
        import torch
        from facenet_pytorch.models.utils.detect_face import detect_face

        with torch.inference_mode():
            boxes, points = detect_face(
                np.ascontiguousarray(rgb)[None],
                min_face,
                self.pnet,
                self.rnet,
                self.onet,
                list(STAGE_THRESHOLDS),
                0.709,
                torch.device("cpu"),
            )
        found = []
        for (x1, y1, x2, y2, p), marks in zip(boxes[0], points[0], strict=True):
            found.append(MtcnnFace((float(y1), float(x2), float(y2), float(x1)), float(p), marks))
        return found

    def face_probability(self, patches: list[np.ndarray]) -> np.ndarray:
        """O-Net's probability that each RGB patch (a face box, any size) is a face."""
        import torch
        from torch.nn import functional

        if not patches:
            return np.zeros(0, np.float32)
        x = torch.stack(
            [torch.from_numpy(np.ascontiguousarray(p)).permute(2, 0, 1) for p in patches]
        )
        x = functional.interpolate(x.float(), size=(48, 48), mode="area")
        with torch.inference_mode():
            _, _, prob = self.onet((x - 127.5) * 0.0078125)
        return prob[:, 1].numpy()


_shared: Mtcnn | None = None
_lock = threading.Lock()


def mtcnn() -> Mtcnn:
    """The process's MTCNN (built on first use; its networks are safe to share by threads)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Mtcnn()
            log.debug("MTCNN loaded")
        return _shared


_users = 0
_threads_before = 0
_threads_lock = threading.Lock()


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread while faces are searched (nested and concurrent uses nest).

    MTCNN's networks are small: sharing their convolutions across threads costs more than
    it gains (up to 20 times more on a busy machine, where a thread waits at every barrier
    for a descheduled peer), and the face threads already use the cores.
    """
    import torch

    global _users, _threads_before
    with _threads_lock:
        if _users == 0:
            _threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
        _users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _users -= 1
            if _users == 0:
                torch.set_num_threads(_threads_before)
