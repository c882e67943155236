"""Face boxes and the image patches cut around them.

Images are ``uint8`` arrays of shape ``(H, W, 3)`` in **BGR** order; boxes are in pixel
coordinates of the full-resolution frame, in ``face_recognition``'s (top, right, bottom,
left) convention.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np


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

    def contains(self, x: float, y: float) -> bool:
        """Whether the point (x, y) lies inside the box."""
        return self.left <= x <= self.right and self.top <= y <= self.bottom

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


def to_frame_boxes(
    found: Iterable[tuple[float, float, float, float]],
    scale: float,
    dx: int,
    dy: int,
    w: int,
    h: int,
) -> list[Box]:
    """Map (top, right, bottom, left) boxes of a scaled, shifted copy back to frame pixels.

    A box in the copy at ``scale`` whose origin sits at (``dx``, ``dy``) of a ``w`` × ``h``
    frame; boxes are clamped to the frame and empty ones dropped.
    """
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


PATCH_SIZE = 150
"""Side of a :func:`square_patch`; the face box spans its middle 100 pixels."""


def square_patch(image: np.ndarray, box: Box, size: int = PATCH_SIZE) -> np.ndarray:
    """A ``size`` × ``size`` BGR patch centred on ``box``, the face spanning its middle two
    thirds (padded with black beyond the frame), for checks and face encodings."""
    cx, cy = box.center
    half = max(box.width, box.height) * 0.75
    src = np.float32([[cx - half, cy - half], [cx + half, cy - half], [cx - half, cy + half]])
    dst = np.float32([[0, 0], [size, 0], [0, size]])
    m = cv2.getAffineTransform(src, dst)
    interpolation = cv2.INTER_AREA if 2 * half > size else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (size, size), flags=interpolation, borderValue=(0, 0, 0))


def patch_box(size: int = PATCH_SIZE) -> tuple[int, int, int, int]:
    """Where the face sits in a :func:`square_patch`, as (top, right, bottom, left)."""
    lo, hi = round(size / 6), round(size * 5 / 6)
    return lo, hi, hi, lo
