"""Face crops to the network's input: a normalised float tensor (torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .preprocess import Preprocessing


def to_tensor(faces: Sequence[np.ndarray], prep: Preprocessing) -> torch.Tensor:
    """Stack resized ``(S, S, 3)`` BGR crops into a normalised ``(N, 3, S, S)`` float tensor."""
    batch = np.stack([np.asarray(f) for f in faces])
    if prep.channel_order == "RGB":
        batch = batch[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(prep.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(prep.std, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)
