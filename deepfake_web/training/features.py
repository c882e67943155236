"""Backbone embeddings per frame, cached as ``(K, 2048)`` float32 arrays, one per video.

The folder ``<cache>/features/<key>/`` is keyed by a hash of the backbone's name, the hash
of its weights' values, the preprocessing (size, channel order, mean, std, margin) and the
face cache's key: changing any of them gives a new folder, never stale features. Row ``k``
of ``<id>.npy`` is the embedding of the face cache's crop ``k`` of that video.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from deepfake_web.detection.preprocess import Preprocessing
from deepfake_web.files import replacing, write_text

from .backbone import Backbone
from .errors import TrainingError
from .facecache import FaceCache, fingerprint

log = logging.getLogger(__name__)

FEATURE_FORMAT = 1
BACKBONE_NAME = "resnext50_32x4d"


class FeatureCache:
    """The feature folder for one backbone, preprocessing and face cache."""

    def __init__(
        self, root: str | os.PathLike, faces: FaceCache, weights_sha256: str, prep: Preprocessing
    ) -> None:
        """Check that ``prep`` matches the face crops and locate the folder."""
        s = faces.settings
        if prep.image_size != s.image_size or abs(prep.crop_margin - s.faces.margin) > 1e-9:
            raise TrainingError(
                f"Preprocessing (size {prep.image_size}, margin {prep.crop_margin:g}) does not "
                f"match the face cache (size {s.image_size}, margin {s.faces.margin:g})."
            )
        self.root = Path(root)
        self.faces = faces
        self.weights_sha256 = weights_sha256
        self.prep = prep
        self.settings = {
            "feature_format": FEATURE_FORMAT,
            "backbone": BACKBONE_NAME,
            "weights_sha256": weights_sha256,
            "preprocessing": prep.to_dict(),
            "faces": faces.settings.key,
            "dtype": "float32",
        }
        digest = hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()
        self.key = digest[:16]
        self.folder = self.root / "features" / self.key

    def npy(self, vid: str) -> Path:
        """Path of a video's features."""
        return self.folder / f"{vid}.npy"

    def has(self, vid: str) -> bool:
        """True when the video's features are cached."""
        return self.npy(vid).is_file()

    def load(self, vid: str) -> np.ndarray:
        """A video's ``(K, 2048)`` features."""
        return np.load(self.npy(vid), allow_pickle=False)

    def ensure(self, description: str = "") -> None:
        """Create the folder and its ``settings.json``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        p = self.folder / "settings.json"
        if not p.exists():
            data = {**self.settings, "backbone_weights": description}
            write_text(p, json.dumps(data, indent=1) + "\n")


@dataclass
class FeatureSummary:
    """What one feature run did."""

    total: int = 0
    cached_before: int = 0
    computed: int = 0
    frames: int = 0
    missing_faces: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


def embed_batches(backbone, crops: Sequence[np.ndarray], prep: Preprocessing, device, batch: int):
    """Embed BGR crops with the backbone in eval mode; return a float32 ``(N, 2048)`` array."""
    import torch

    from deepfake_web.detection.tensors import to_tensor

    out = []
    with torch.inference_mode():
        for start in range(0, len(crops), batch):
            x = to_tensor(crops[start : start + batch], prep).to(device)
            x = x.contiguous(memory_format=torch.channels_last)
            y = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(backbone(x), 1), 1)
            out.append(y.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 2048), np.float32)


def compute_missing(
    cache: FeatureCache,
    backbone: Backbone,
    videos: Sequence[Path],
    *,
    device: str = "auto",
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> FeatureSummary:
    """Compute the features of every video whose faces are cached and features are not.

    Crops of several videos share a batch; each video's array is written (atomically) as
    soon as its last crop is embedded. ``progress(done_frames, total_frames)``.
    """
    from deepfake_web.detection.checkpoints import resolve_device

    t0 = time.perf_counter()
    dev = resolve_device(device)
    cache.ensure(backbone.description)
    module = backbone.module.to(dev).eval()
    summary = FeatureSummary(total=len(videos))
    todo = []
    for video in videos:
        if not video.is_file():
            summary.missing_faces.append(str(video))
            continue
        vid = fingerprint(video)
        if cache.has(vid):
            summary.cached_before += 1
        elif not cache.faces.has(vid):
            summary.missing_faces.append(str(video))
        else:
            todo.append((video, vid))
    # Count frames up front for an honest progress bar (reading npz headers is cheap).
    sizes = {}
    for _, vid in todo:
        with np.load(cache.faces.npz(vid)) as z:
            sizes[vid] = len(z["face_positions"])
    total = sum(sizes.values())
    report = progress or (lambda done, total: None)
    report(0, total)
    done = 0
    buffer: list[tuple[str, np.ndarray]] = []
    parts: dict[str, list[np.ndarray]] = {}

    def flush() -> None:
        nonlocal done
        if not buffer:
            return
        feats = embed_batches(module, [c for _, c in buffer], cache.prep, dev, len(buffer))
        for (vid, _), row in zip(buffer, feats, strict=True):
            parts[vid].append(row)
            if len(parts[vid]) == sizes[vid]:
                _save(cache.npy(vid), np.stack(parts.pop(vid)))
                summary.computed += 1
        done += len(buffer)
        summary.frames += len(buffer)
        buffer.clear()
        report(done, total)

    for video, vid in todo:
        if sizes[vid] == 0:
            _save(cache.npy(vid), np.zeros((0, 2048), np.float32))
            summary.computed += 1
            summary.no_face.append(str(video))
            continue
        parts[vid] = []
        for crop in cache.faces.load(vid).faces:
            buffer.append((vid, crop))
            if len(buffer) >= batch_size:
                flush()
    flush()
    summary.seconds = time.perf_counter() - t0
    return summary


def _save(path: Path, array: np.ndarray) -> None:
    with replacing(path) as tmp, tmp.open("wb") as fh:
        np.save(fh, array.astype(np.float32, copy=False))
