"""The engine on the real videos in ../shared/media (FaceForensics++, DFDC, UADFV...)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from deepfake_web.detection import Detector
from tests.factories.media import labelled_videos, shared

pytestmark = [pytest.mark.media, pytest.mark.slow]

FRAMES = 20


@pytest.fixture(scope="module")
def detector(published_checkpoint: Path) -> Detector:
    return Detector.from_checkpoint(published_checkpoint)


@pytest.mark.parametrize("video", labelled_videos(), ids=lambda p: p.name)
def test_faces_found_in_nine_of_ten_frames_and_result_is_complete(
    detector: Detector, video: Path
) -> None:
    result = detector(video, FRAMES)
    with_face = sum(1 for s in result.frame_scores if s.box is not None)
    assert result.frames_sampled == FRAMES
    assert with_face >= 0.9 * FRAMES, f"faces in only {with_face}/{FRAMES} frames"
    assert result.verdict in {"REAL", "FAKE"}
    assert 0.0 <= result.p_fake <= 1.0
    assert result.p_fake + result.p_real == pytest.approx(1.0)
    assert result.frames_used == with_face
    t = result.timings
    assert t.decode_s > 0 and t.faces_s > 0 and t.model_s > 0
    assert t.total_s >= t.model_s
    assert result.media["width"] > 0 and result.media["fps"] > 0
    assert result.media["codec"] in {"h264", "fmp4"}  # UADFV is MPEG-4 part 2
    for score in result.frame_scores:
        if score.box:
            left, top, right, bottom = score.box
            assert 0 <= left < right <= result.media["width"]
            assert 0 <= top < bottom <= result.media["height"]
    assert len(result.previews) == FRAMES
    assert all(p.frame_jpeg[:2] == b"\xff\xd8" for p in result.previews)
    json.dumps(result.to_dict())


def test_multi_face_clip_records_counts_and_follows_one_person(detector: Detector) -> None:
    result = detector(shared("videos", "unlabeled", "facenetpt_video.mp4"), 30)
    counts = [s.faces for s in result.frame_scores]
    assert max(counts) >= 2, counts  # several people are visible
    boxes = [s.box for s in result.frame_scores if s.box]
    assert len(boxes) >= 25
    # The followed face moves smoothly: consecutive boxes overlap or sit close together.
    jumps = 0
    for a, b in pairwise(boxes):
        ca, cb = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        size = max(a[2] - a[0], a[3] - a[1])
        jumps += abs(ca[0] - cb[0]) + abs(ca[1] - cb[1]) > 2 * size
    assert jumps <= 2, f"the followed face jumped {jumps} times"


def test_image_input_with_a_real_face(detector: Detector) -> None:
    result = detector(shared("images", "frames", "real", "ffpp_ex_original.png"))
    assert result.media["kind"] == "image"
    assert result.frames_sampled == 1 and result.frame_scores[0].faces == 1
