"""Following faces through the sampled frames of a clip, and deciding who is a person.

Faces are linked frame to frame by their boxes (overlap, else a nearby centre of a similar
size, across at most :data:`MAX_GAP` frames without them); tracks that never share a frame
are joined when ``face_recognition``'s 128-d encodings say they are the same face (after an
occlusion, or two people crossing). A track seen in at least ``min_share`` of the sampled
frames is a person.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from .boxes import Box

MAX_GAP = 3
"""Sampled frames a face may be missing from and still continue its track by position."""

SAME_PERSON = 0.6
"""``face_recognition``'s distance under which two encodings are the same person (its own
default tolerance)."""

FACES_PER_TRACK = 3
"""Faces of a track that speak for it: their encodings are averaged to compare tracks, and
the second opinion judges the track by their median."""

T = TypeVar("T")

Track = dict[int, int]
"""A face followed through the clip: sampled frame number → index of its box in that frame."""


def spread(items: Sequence[T], count: int = FACES_PER_TRACK) -> list[T]:
    """Up to ``count`` distinct items spread evenly from the first to the last."""
    if not items:
        return []
    step = (len(items) - 1) / max(1, count - 1)
    return list(dict.fromkeys(items[round(k * step)] for k in range(count)))


def same_face_score(prev: Box, cand: Box) -> float:
    """How likely ``cand`` is the face ``prev`` a few sampled frames later (0 = not at all)."""
    iou = prev.iou(cand)
    if iou > 0:
        return 1.0 + iou
    (px, py), (cx, cy) = prev.center, cand.center
    dist = math.hypot(px - cx, py - cy)
    size = max(prev.width, prev.height, 1)
    ratio = cand.area / max(prev.area, 1)
    return 1.0 - dist / size if dist < size and 0.5 <= ratio <= 2.0 else 0.0


def tracks_by_position(frames: Sequence[Sequence[Box]], max_gap: int = MAX_GAP) -> list[Track]:
    """Link the boxes of consecutive sampled frames into tracks, best matches first."""
    tracks: list[Track] = []
    last: list[tuple[int, Box]] = []  # per track: frame number and box of its latest face
    for t, boxes in enumerate(frames):
        pairs = sorted(
            (
                (same_face_score(box_prev, box), k, i)
                for k, (t_prev, box_prev) in enumerate(last)
                if t - t_prev <= max_gap + 1
                for i, box in enumerate(boxes)
            ),
            reverse=True,
        )
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for score, k, i in pairs:
            if score <= 0 or k in used_tracks or i in used_boxes:
                continue
            tracks[k][t] = i
            last[k] = (t, boxes[i])
            used_tracks.add(k)
            used_boxes.add(i)
        for i, box in enumerate(boxes):
            if i not in used_boxes:
                tracks.append({t: i})
                last.append((t, box))
    return tracks


def join_by_encoding(
    tracks: list[Track],
    encode: Callable[[int, int], np.ndarray | None],
    tolerance: float = SAME_PERSON,
) -> list[Track]:
    """Join tracks that never share a frame and whose faces encode alike, closest first.

    ``encode(frame, index)`` returns the 128-d encoding of that face (None when it cannot).
    """
    if len(tracks) < 2:
        return tracks
    unknown = object()
    means: list = [unknown] * len(tracks)

    def mean(k: int) -> np.ndarray | None:
        """Track ``k``'s mean encoding, computed when first needed (encodings are slow)."""
        if means[k] is unknown:
            found = [
                e for t in spread(sorted(tracks[k])) if (e := encode(t, tracks[k][t])) is not None
            ]
            means[k] = np.mean(found, axis=0) if found else None
        return means[k]

    groups = [dict(t) for t in tracks]
    alive = list(range(len(tracks)))
    while True:
        best = None
        for a_pos, a in enumerate(alive):
            for b in alive[a_pos + 1 :]:
                if groups[a].keys() & groups[b].keys():
                    continue
                ea, eb = mean(a), mean(b)
                if ea is None or eb is None:
                    continue
                d = float(np.linalg.norm(ea - eb))
                if d < tolerance and (best is None or d < best[0]):
                    best = (d, a, b)
        if best is None:
            break
        _, a, b = best
        na, nb = len(groups[a]), len(groups[b])
        means[a] = (means[a] * na + means[b] * nb) / (na + nb)
        groups[a].update(groups[b])
        alive.remove(b)
    return [groups[k] for k in alive]


def choose_persons(tracks: list[Track], frames: int, min_share: float) -> tuple[list[Track], int]:
    """The tracks seen in at least ``min_share`` of ``frames`` (else the longest one), in order
    of first appearance, and how many tracks were left out."""
    if not tracks:
        return [], 0
    need = max(1, math.ceil(min_share * frames - 1e-9))
    persons = [t for t in tracks if len(t) >= need]
    if not persons:
        persons = [max(tracks, key=len)]
    persons.sort(key=min)
    return persons, len(tracks) - len(persons)
