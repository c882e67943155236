"""Face-crop preprocessing shared by inference and training: size, channel order, normalisation.

Crops are ``uint8`` arrays ``(h, w, 3)`` in BGR order, resized here; :mod:`.tensors` turns
them into the network's float tensor (this module needs no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How a checkpoint expects its face crops.

    The defaults are those of the published ResNeXt-LSTM checkpoints: tight crops (no
    margin), 112×112, **BGR** channels (that project never converted OpenCV's order), and
    ImageNet's mean and std.
    """

    image_size: int = 112
    channel_order: Literal["BGR", "RGB"] = "BGR"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_margin: float = 0.0

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        """Build from a dict written by ``to_dict`` (unknown keys are ignored)."""
        return cls(
            image_size=int(data.get("image_size", 112)),
            channel_order=data.get("channel_order", "BGR"),
            mean=tuple(float(v) for v in data.get("mean", IMAGENET_MEAN)),
            std=tuple(float(v) for v in data.get("std", IMAGENET_STD)),
            crop_margin=float(data.get("crop_margin", 0.0)),
        )


def resize_face(face_bgr: np.ndarray, size: int) -> np.ndarray:
    """Resize a crop to ``size``×``size`` with PIL bilinear, as torchvision's Resize on PIL."""
    return np.asarray(Image.fromarray(face_bgr).resize((size, size), Image.BILINEAR))
