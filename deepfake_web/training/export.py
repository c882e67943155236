"""Saving a trained network as a deepfake-web checkpoint: its name and full metadata."""

from __future__ import annotations

import json
import logging
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from deepfake_web.detection.checkpoint_info import NAME_RE
from deepfake_web.detection.checkpoints import save_checkpoint
from deepfake_web.detection.preprocess import Preprocessing

from .errors import TrainingError
from .manifest import safe_name

log = logging.getLogger(__name__)


def checkpoint_name(accuracy: float, frames: int, data: str) -> str:
    """``model_<acc>_acc_<frames>_frames_<data>_data.pt``; acc in percent, one decimal at most."""
    acc = f"{round(accuracy * 100, 1):g}"
    name = f"model_{acc}_acc_{frames}_frames_{safe_name(data)}_data.pt"
    if not NAME_RE.match(name):  # pragma: no cover - safe_name guarantees it
        raise TrainingError(f"cannot build a checkpoint name from {data!r}")
    return name


def free_path(folder: Path, name: str, overwrite: bool = False) -> Path:
    """``folder/name``, or with ``-2``, ``-3``... appended to the data part if it exists."""
    path = folder / name
    if overwrite or not path.exists():
        return path
    m = NAME_RE.match(name)
    for i in range(2, 1000):
        candidate = folder / f"model_{m['acc']}_acc_{m['frames']}_frames_{m['data']}-{i}_data.pt"
        if not candidate.exists():
            log.info("%s exists; writing %s instead", name, candidate.name)
            return candidate
    raise TrainingError(f"Too many checkpoints named like {name} in {folder}.")


def save_trained(
    path: str | os.PathLike,
    net,
    *,
    preprocessing: Preprocessing,
    face_detection: dict,
    metrics: dict,
    training_data: str,
    training_dataset: dict,
    data_name: str,
    backbone_weights: str,
    backbone_sha256: str,
    training: dict,
    seed: int,
    warning: str | None = None,
) -> Path:
    """Write the checkpoint with everything needed to use, compare and reproduce it."""
    import torch

    meta = {
        "sequence_length": training["frames"],
        "preprocessing": preprocessing.to_dict(),
        "face_detection": face_detection,
        "labels": ["FAKE", "REAL"],
        "decision": {
            "threshold": 0.5,
            "uncertain_margin": 0.0,
            "method": "default (not calibrated; run deepfake-web calibrate)",
        },
        "metrics": metrics,
        "training_data": training_data,
        "training_dataset": training_dataset,
        "training_data_name": safe_name(data_name),
        "backbone_weights": backbone_weights,
        "backbone_weights_sha256": backbone_sha256,
        "training": training,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "software": {"torch": str(torch.__version__), "python": platform.python_version()},
    }
    if warning:
        meta["warning"] = warning
        meta["synthetic"] = True
    return save_checkpoint(path, net, plain(meta), net.temporal.arch)


def plain(data: dict) -> dict:
    """``data`` as plain JSON types only (the engine reads metadata without torch or numpy)."""
    return json.loads(json.dumps(data, allow_nan=False))
