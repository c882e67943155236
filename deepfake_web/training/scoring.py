"""Scoring a manifest's videos with a checkpoint, through the face and feature caches.

Crops come from the face cache made with the checkpoint's own crop size and margin (and
the face detection settings it was trained with), features from the feature cache keyed by
the checkpoint's own backbone weights and preprocessing; what is missing is computed and
cached on the way. The video's score is the checkpoint's: ``softmax(net.score(features))``
of the evenly spaced frames with a face, which for published checkpoints is the mean of
per-frame logits, as in the engine's standard mode.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from deepfake_web.detection.checkpoints import LoadedModel
from deepfake_web.detection.faces import FaceConfig

from .backbone import backbone_from_net
from .facecache import ExtractionSummary, FaceCache, FaceSettings, extract_missing, fingerprint
from .features import FeatureCache, FeatureSummary, compute_missing
from .manifest import Manifest, VideoEntry
from .sequences import CachedVideo, scoring_rows

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; stages: faces, features, scoring."""


@dataclass
class VideoScore:
    """One video's outcome: its score, or why it has none (no_face, failed, missing)."""

    path: str
    label: str
    method: str
    split: str
    status: str
    p_fake: float | None = None
    frames_used: int = 0
    frames_sampled: int = 0
    error: str | None = None

    @property
    def is_fake(self) -> bool:
        """True for FAKE videos."""
        return self.label == "FAKE"

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass
class ScoringRun:
    """The scores and what the caches did to get them."""

    scores: list[VideoScore]
    faces: FaceCache
    features: FeatureCache
    extraction: ExtractionSummary
    feature_run: FeatureSummary
    frames: int
    sequence_length: int


def model_face_settings(model: LoadedModel, frames: int) -> FaceSettings:
    """The face cache settings for a checkpoint: its crop size and margin, its face detection."""
    prep = model.preprocessing
    stored = (model.info.metadata.get("face_detection") or {}).get("faces") or {}
    known = FaceConfig.__dataclass_fields__
    faces = FaceConfig(**{k: v for k, v in stored.items() if k in known})
    return FaceSettings(frames, prep.image_size, replace(faces, margin=prep.crop_margin))


def score_entries(
    model: LoadedModel,
    manifest: Manifest,
    entries: Sequence[VideoEntry],
    cache_root: str | os.PathLike,
    *,
    frames: int | None = None,
    workers: int = 2,
    batch_size: int = 32,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> ScoringRun:
    """Score ``entries`` with ``model``; ``frames`` per video are cached (default: its length)."""
    import torch

    report = progress or (lambda stage, done, total: None)
    length = model.info.sequence_length or frames or 20
    n = frames or length
    faces = FaceCache(cache_root, model_face_settings(model, n))
    videos = [manifest.resolve(e) for e in entries]
    extraction = extract_missing(
        faces,
        videos,
        workers=workers,
        retry_failed=retry_failed,
        progress=lambda d, t, name: report("faces", d, t),
    )
    backbone = backbone_from_net(model.net, f"checkpoint {model.info.name}")
    features = FeatureCache(cache_root, faces, backbone.sha256, model.preprocessing)
    feature_run = compute_missing(
        features,
        backbone,
        videos,
        device=str(model.device),
        batch_size=batch_size,
        progress=lambda d, t: report("features", d, t),
    )
    scores = []
    net = model.net.eval()
    for i, (entry, path) in enumerate(zip(entries, videos, strict=True)):
        base = dict(path=entry.path, label=entry.label, method=entry.method, split=entry.split)
        if not path.is_file():
            scores.append(VideoScore(**base, status="missing", error="file not found"))
            continue
        vid = fingerprint(path)
        if not faces.has(vid):
            fail = faces.failure(vid) or {}
            scores.append(
                VideoScore(**base, status="failed", error=fail.get("error", "not extracted"))
            )
            continue
        with np.load(faces.npz(vid)) as z:
            positions, sampled = z["face_positions"], len(z["indices"])
        video = CachedVideo(entry, path, vid, positions, sampled)
        rows = scoring_rows(video, length)
        if len(rows) == 0:
            scores.append(VideoScore(**base, status="no_face", frames_sampled=sampled))
            continue
        feats = torch.from_numpy(features.load(vid)[rows]).to(model.device)
        with torch.inference_mode():
            _, video_logits = net.score(feats)
            p_fake = float(torch.softmax(video_logits.float(), dim=0)[0])
        scores.append(
            VideoScore(
                **base,
                status="scored",
                p_fake=p_fake,
                frames_used=len(rows),
                frames_sampled=min(sampled, length),
            )
        )
        report("scoring", i + 1, len(entries))
    return ScoringRun(scores, faces, features, extraction, feature_run, n, length)


def labels_and_scores(scores: Sequence[VideoScore]) -> tuple[np.ndarray, np.ndarray]:
    """``y`` (1 = FAKE) and ``p_fake`` of the scored videos."""
    scored = [s for s in scores if s.status == "scored"]
    return (
        np.array([int(s.is_fake) for s in scored], dtype=np.int64),
        np.array([s.p_fake for s in scored], dtype=np.float64),
    )


def describe_split(manifest: Manifest, split: str | None) -> str:
    """``"val split of <name>"`` (or ``"all videos of <name>"``) for metadata and reports."""
    where = "all videos" if split in (None, "all") else f"{split} split"
    return f"{where} of {manifest.name} ({Path(manifest.path or manifest.base).name})"
