"""The ResNeXt50 + LSTM networks: the published project's layout and this project's own.

Both take face crops ``(N, 3, S, S)`` (float, normalised) through ``embed`` to per-frame
features ``(N, 2048)``, and score a clip's features with ``score`` into per-frame logits
``(N, 2)`` and video logits ``(2,)``. Class index 0 is FAKE, 1 is REAL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn
from torchvision.models import resnext50_32x4d

FEATURE_DIM = 2048
NUM_CLASSES = 2
Pooling = Literal["mean", "last"]


def build_backbone() -> nn.Sequential:
    """ResNeXt50-32x4d without avgpool and fc, randomly initialised (weights come from a file)."""
    net = resnext50_32x4d(weights=None)
    return nn.Sequential(*list(net.children())[:-2])


class _Embedder(nn.Module):
    """Shared backbone part: ``model`` (the ResNeXt children) and global average pooling."""

    model: nn.Sequential

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``(N, 3, S, S)`` crops to ``(N, 2048)`` features."""
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.model(images), 1), 1)


class PublishedNet(_Embedder):
    """The public ResNeXt-LSTM project's network, with its exact parameter names.

    Its LSTM has no bias (the original passed ``bidirectional=False`` into the positional
    ``bias`` argument). Its app fed features as ``(1, N, 2048)`` to an LSTM with
    ``batch_first=False``: every frame is one LSTM step from a zero state.
    """

    def __init__(self) -> None:
        """Build the layers (random weights)."""
        super().__init__()
        self.model = build_backbone()
        self.lstm = nn.LSTM(FEATURE_DIM, FEATURE_DIM, 1, bias=False)
        self.linear1 = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def frame_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(N, 2)``: one LSTM step from zero state for each ``(N, 2048)`` row."""
        out, _ = self.lstm(features.unsqueeze(0))
        return self.linear1(out[0])

    def score(
        self, features: torch.Tensor, pooling: Pooling = "mean"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return per-frame logits ``(N, 2)`` and video logits ``(2,)`` (mean, or last frame)."""
        frames = self.frame_logits(features)
        video = frames[-1] if pooling == "last" else frames.mean(dim=0)
        return frames, video


@dataclass(frozen=True)
class Architecture:
    """Shape of this project's temporal model (stored in its checkpoints)."""

    backbone: str = "resnext50_32x4d"
    hidden_size: int = 512
    num_layers: int = 1
    bidirectional: bool = False
    pooling: Pooling = "mean"
    dropout: float = 0.4

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Architecture:
        """Build from a stored dict, refusing unknown backbones."""
        arch = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        if arch.backbone != "resnext50_32x4d":
            raise ValueError(f"Unsupported backbone {arch.backbone!r}")
        if arch.pooling not in ("mean", "last"):
            raise ValueError(f"Unsupported pooling {arch.pooling!r}")
        return arch


class TemporalHead(nn.Module):
    """LSTM over a clip's frame features (``batch_first=True``, with bias) and a linear head."""

    def __init__(self, arch: Architecture) -> None:
        """Build the layers (random weights) for ``arch``."""
        super().__init__()
        self.arch = arch
        self.lstm = nn.LSTM(
            FEATURE_DIM,
            arch.hidden_size,
            arch.num_layers,
            batch_first=True,
            bidirectional=arch.bidirectional,
            dropout=arch.dropout if arch.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(arch.dropout)
        self.head = nn.Linear(arch.hidden_size * (2 if arch.bidirectional else 1), NUM_CLASSES)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``(B, T, 2048)`` to per-frame logits ``(B, T, 2)`` and clip logits ``(B, 2)``."""
        out, _ = self.lstm(features)
        out = self.dropout(out)
        frames = self.head(out)
        pooled = out[:, -1] if self.arch.pooling == "last" else out.mean(dim=1)
        return frames, self.head(pooled)


class TemporalNet(_Embedder):
    """This project's network: the same backbone (``model.*``) and a :class:`TemporalHead`."""

    def __init__(self, arch: Architecture) -> None:
        """Build the layers (random weights) for ``arch``."""
        super().__init__()
        self.model = build_backbone()
        self.temporal = TemporalHead(arch)

    def score(
        self, features: torch.Tensor, pooling: Pooling | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return per-frame logits ``(N, 2)`` and video logits ``(2,)`` for ``(N, 2048)`` features.

        Per-frame logits apply the head to the LSTM output at each step; the video logits use
        the architecture's pooling (``pooling`` is accepted for interface symmetry and must
        match it when given).
        """
        if pooling is not None and pooling != self.temporal.arch.pooling:
            raise ValueError("This checkpoint's pooling is fixed by its architecture.")
        frames, video = self.temporal(features.unsqueeze(0))
        return frames[0], video[0]
