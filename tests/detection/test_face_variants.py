"""Face finding on variants of the shared clips: dim, face-filling, two people, no face at all.

The right face is the one the engine follows in the original frame, carried into the
variant's coordinates (tests/factories/variants.py); benchmarks/bench_faces.py runs the same
variants on every shared clip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_web.detection.extract import FaceTrack, extract_faces
from tests.factories.media import shared
from tests.factories.variants import (
    FACE_FREE_KINDS,
    Source,
    darkened,
    face_filling,
    face_free_frames,
    load_source,
    matches,
    score,
    side_by_side,
    write_frames,
)

FRAMES = 10
GOAL = 0.95
CLIPS = [
    "real/polimi_ffpp_c23_orig_004.mp4",  # FaceForensics++ c23, 720p
    "real/polimi_dfdc_lynaeydofd.mp4",  # DFDC, 1080p, full frame
    "fake/mudouble_ffpp_c40_FaceSwap_469_481.mp4",  # FaceForensics++ c40, 480p
]
_sources: dict[str, Source] = {}


def source(clip: str) -> Source:
    """The clip's sampled frames and their faces, found once per test session."""
    if clip not in _sources:
        _sources[clip], _ = load_source(shared("videos", *clip.split("/")), FRAMES)
    return _sources[clip]


def run(path: Path, n: int) -> FaceTrack:
    return extract_faces(path, n, preview_max_side=None)


@pytest.mark.media
@pytest.mark.slow
@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: Path(c).stem)
@pytest.mark.parametrize("make", [darkened, face_filling], ids=["dark", "fill"])
def test_variant_keeps_the_right_face(make, clip: str, tmp_path: Path) -> None:
    original = source(clip)
    assert sum(b is not None for b in original.target) >= 0.9 * FRAMES
    variant = make(original)
    track = run(variant.write(tmp_path), len(variant.frames))
    result = score(variant, track)
    assert result.frames >= 0.9 * FRAMES
    assert result.rate >= GOAL, f"{variant.name}: right face in {result.hits}/{result.frames}"


@pytest.mark.media
@pytest.mark.slow
def test_two_clips_side_by_side_give_two_persons_with_distinct_boxes(tmp_path: Path) -> None:
    left, right = source(CLIPS[0]), source(CLIPS[1])
    pair = side_by_side(left, right)
    assert pair.size == (2560, 720)
    track = run(pair.write(tmp_path), len(pair.frames))
    result = score(pair, track)
    assert result.rate >= GOAL, f"both faces in {result.hits}/{result.frames} frames"
    assert len(track.persons) >= 2, f"persons: {track.persons}"
    # Each side's right face belongs to one person throughout, a different one on each side,
    # and the two boxes are distinct (no overlap, one in each half).
    sides: list[set[int | None]] = [set(), set()]
    for frame, truth in zip(track.frames, pair.truth, strict=True):
        if truth is None:
            continue
        found = [[i for i, b in enumerate(frame.boxes) if matches(b, t)] for t in truth.targets]
        if all(found):
            a, b = found[0][0], found[1][0]
            sides[0].add(frame.persons[a])
            sides[1].add(frame.persons[b])
            assert frame.boxes[a].iou(frame.boxes[b]) == 0
            assert frame.boxes[a].center[0] < 1280 <= frame.boxes[b].center[0]
    assert len(sides[0]) == 1 and len(sides[1]) == 1, sides
    assert None not in sides[0] | sides[1] and sides[0] != sides[1], sides


@pytest.mark.slow
@pytest.mark.parametrize("kind", FACE_FREE_KINDS)
def test_face_free_frames_give_at_most_one_percent_false_faces(kind: str, tmp_path: Path) -> None:
    n = 100
    path = write_frames(tmp_path / f"{kind}.mp4", face_free_frames(kind, n, seed=7))
    track = run(path, n)
    assert len(track.frames) == n
    false = sum(1 for f in track.frames if f.boxes)
    assert false <= 0.01 * n, f"{false} of {n} {kind} frames have a face"
