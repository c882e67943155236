"""Cached videos as training and scoring sequences: which of a video's frames are used.

A face cache holds ``N`` evenly spaced frames of each video (fewer for short clips) and
the crops of those with a face. A model of sequence length ``T ≤ N`` is *scored* on the
frames at :func:`~deepfake_web.detection.media.sample_indices` ``(N, T)`` among them that
have a face: with ``N = T`` exactly the frames and crops ``deepfake-web predict`` uses. In
*training*, ``T`` frames are drawn at random among those with a face (kept in time order),
or all of them when there are fewer; no frame is repeated or padded, so a clip with
``k < T`` faces is seen as a ``k``-step sequence, as inference sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_web.detection.media import sample_indices

from .facecache import FaceCache, fingerprint
from .features import FeatureCache
from .manifest import Manifest, VideoEntry

log = logging.getLogger(__name__)


@dataclass
class CachedVideo:
    """One video's cached facts: its entry, cache id, face positions and (maybe) features."""

    entry: VideoEntry
    path: Path
    vid: str
    positions: np.ndarray  # (K,) positions of the face frames among the sampled ones
    sampled: int
    features: np.ndarray | None = None  # (K, 2048) float32

    @property
    def label(self) -> int:
        """1 for FAKE, 0 for REAL (the positive class of the metrics)."""
        return int(self.entry.is_fake)

    @property
    def faces(self) -> int:
        """Number of sampled frames with a face."""
        return len(self.positions)


def scoring_rows(video: CachedVideo, length: int) -> np.ndarray:
    """Rows (face crops) scored for a sequence of ``length``: evenly spaced, faces only."""
    chosen = set(sample_indices(video.sampled, length))
    return np.array([k for k, pos in enumerate(video.positions) if int(pos) in chosen], np.int64)


def training_rows(video: CachedVideo, length: int, rng: np.random.Generator) -> np.ndarray:
    """``length`` random face rows in time order (all of them when there are fewer)."""
    if video.faces <= length:
        return np.arange(video.faces)
    return np.sort(rng.choice(video.faces, size=length, replace=False))


@dataclass
class LoadReport:
    """Videos left out while loading a split, and why."""

    not_found: list[str]
    missing: list[str]
    failed: list[str]
    no_face: list[str]


def load_videos(
    manifest: Manifest,
    entries: Sequence[VideoEntry],
    faces: FaceCache,
    features: FeatureCache | None = None,
) -> tuple[list[CachedVideo], LoadReport]:
    """Load the cached faces' positions (and features) of ``entries``.

    Videos whose file does not exist, that are not cached (not extracted, or failed) or that
    have no face are left out and listed in the report.
    """
    out, report = [], LoadReport([], [], [], [])
    for entry in entries:
        path = manifest.resolve(entry)
        if not path.is_file():
            report.not_found.append(entry.path)
            continue
        vid = fingerprint(path)
        if not faces.has(vid):
            (report.failed if faces.failure(vid) else report.missing).append(entry.path)
            continue
        with np.load(faces.npz(vid)) as z:
            positions, sampled = z["face_positions"], len(z["indices"])
        if len(positions) == 0:
            report.no_face.append(entry.path)
            continue
        feats = None
        if features is not None:
            if not features.has(vid):
                report.missing.append(entry.path)
                continue
            feats = features.load(vid)
        out.append(CachedVideo(entry, path, vid, positions, sampled, feats))
    return out, report
