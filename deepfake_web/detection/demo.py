"""Demo checkpoints: random weights in this project's format, clearly marked as meaningless."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from .checkpoints import save_checkpoint
from .preprocess import Preprocessing

DEMO_WARNING = (
    "DEMO checkpoint with random weights: this verdict means nothing. Install a trained "
    "checkpoint before relying on any result."
)


def write_demo_checkpoint(
    models_dir: str | os.PathLike, sequence_length: int, seed: int = 0
) -> Path:
    """Write ``demo_random_weights_<N>_frames.pt`` into ``models_dir`` and return its path."""
    import torch

    from .network import Architecture, TemporalNet

    torch.manual_seed(seed)
    arch = Architecture(hidden_size=64, num_layers=1, bidirectional=False, pooling="mean")
    net = TemporalNet(arch)
    metadata = {
        "sequence_length": sequence_length,
        "preprocessing": Preprocessing(channel_order="RGB", crop_margin=0.1).to_dict(),
        "decision": {"threshold": 0.5, "uncertain_margin": 0.0},
        "metrics": {},
        "training_data": "none: random initialisation (demo)",
        "training_data_name": "demo",
        "backbone_weights": "none (random)",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "demo": True,
        "warning": DEMO_WARNING,
        "seed": seed,
    }
    path = Path(models_dir) / f"demo_random_weights_{sequence_length}_frames.pt"
    return save_checkpoint(path, net, metadata, arch)
