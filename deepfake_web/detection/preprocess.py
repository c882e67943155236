"""Face-crop preprocessing shared by inference and training: resize, channel order, normalise.

Crops come in as ``uint8`` arrays ``(h, w, 3)`` in BGR order and leave as a float tensor
``(N, 3, S, S)`` in the checkpoint's channel order, normalised with its mean and std.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def to_tensor(faces: Sequence[np.ndarray], prep: Preprocessing):
    """Stack resized ``(S, S, 3)`` BGR crops into a normalised ``(N, 3, S, S)`` float tensor."""
    import torch

    batch = np.stack([np.asarray(f) for f in faces])
    if prep.channel_order == "RGB":
        batch = batch[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(prep.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(prep.std, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)
