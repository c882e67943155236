"""The detector end to end: reference mode, standard mode, verdicts, edge cases."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from deepfake_web.detection import Detector, DetectorConfig
from deepfake_web.detection.decision import DecisionRule, Verdict
from deepfake_web.detection.errors import DetectionError, EmptyMediaError, MediaLimitError
from deepfake_web.detection.media import MediaLimits
from deepfake_web.detection.stages import Stage
from tests.factories.media import (
    face_frames,
    noise_frames,
    shared,
    write_tiny_published,
    write_video,
)
from tests.factories.original_app import original_p_fake


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shared("images").is_dir():
        pytest.skip("needs ../shared/media for a real face")
    folder = tmp_path_factory.mktemp("face")
    frames = face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 30)
    return write_video(folder / "face.mp4", frames)


@pytest.fixture(scope="module")
def noface_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("noface") / "noface.mp4", noise_frames(24, 320, 240))


# --- reference mode -------------------------------------------------------------------


@pytest.mark.media
@pytest.mark.slow
def test_reference_mode_reproduces_the_original_forward(published_checkpoint: Path) -> None:
    video = shared("videos", "real", "cyshih_real.mp4")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = original_p_fake(video, 6, published_checkpoint)
    result = Detector.from_checkpoint(published_checkpoint)(video, 6, mode="reference")
    assert result.p_fake == pytest.approx(expected, abs=1e-4)
    assert [s.index for s in result.frame_scores] == list(range(6))  # first N, contiguous
    assert result.frame_scores[-1].p_fake == pytest.approx(result.p_fake, abs=1e-6)
    # The test can tell a wrong pooling apart: the frames disagree with the last one.
    first = result.frame_scores[0].p_fake
    assert abs(first - expected) > 1e-3
    assert all(s.faces >= 1 for s in result.frame_scores)


def test_reference_mode_scores_whole_frames_without_faces(
    published_checkpoint: Path, noface_video: Path
) -> None:
    expected = original_p_fake(noface_video, 5, published_checkpoint)
    result = Detector.from_checkpoint(published_checkpoint)(noface_video, 5, mode="reference")
    assert result.p_fake == pytest.approx(expected, abs=1e-4)
    assert result.verdict == "NO_FACE"  # the original app also stopped with "no faces"
    assert "reference mode scored the whole frames" in result.reason


def test_reference_mode_needs_a_published_checkpoint(
    own_checkpoint: Path, noface_video: Path
) -> None:
    with pytest.raises(DetectionError, match="published-format"):
        Detector.from_checkpoint(own_checkpoint)(noface_video, 5, mode="reference")


# --- standard mode --------------------------------------------------------------------


@pytest.mark.media
def test_standard_mode_scores_the_mean_of_per_frame_logits(
    published_checkpoint: Path, face_video: Path
) -> None:
    result = Detector.from_checkpoint(published_checkpoint)(face_video, 12)
    ps = [s.p_fake for s in result.frame_scores]
    assert len(ps) == 12 and all(p is not None for p in ps)
    assert max(ps) - min(ps) > 1e-3  # frames differ, so mean and last frame differ
    expected = _sigmoid(sum(_logit(p) for p in ps) / len(ps))
    assert result.p_fake == pytest.approx(expected, abs=1e-5)
    idx = [s.index for s in result.frame_scores]
    assert idx[0] < 3 and idx[-1] > 26  # spread over the whole clip
    assert result.frames_used == 12 and result.frames_without_face == 0


@pytest.mark.media
def test_own_format_checkpoint_end_to_end(own_checkpoint: Path, face_video: Path) -> None:
    result = Detector.from_checkpoint(own_checkpoint)(face_video)
    assert result.frames_requested == 10  # the checkpoint's own length by default
    assert result.checkpoint.format == "deepfake-web"
    assert (result.checkpoint.threshold, result.checkpoint.uncertain_margin) == (0.6, 0.05)
    ps = [s.p_fake for s in result.frame_scores]
    # mean pooling over LSTM outputs = mean of per-step logits (the head is affine)
    assert result.p_fake == pytest.approx(_sigmoid(sum(map(_logit, ps)) / len(ps)), abs=1e-5)
    rule = DecisionRule(0.6, 0.05)
    assert result.verdict == rule.decide(result.p_fake)[0]


@pytest.mark.media
@pytest.mark.parametrize(("bias", "verdict"), [((6.0, -6.0), "FAKE"), ((-6.0, 6.0), "REAL")])
def test_label_index_zero_is_fake(tmp_path: Path, face_video: Path, bias, verdict) -> None:
    # All-zero weights make every logit equal to linear1's bias, whatever the input.
    path = write_tiny_published(tmp_path / "model_50_acc_20_frames_bias_data.pt")
    sd = torch.load(path, weights_only=True)
    sd["linear1.bias"] = torch.tensor(bias)
    torch.save(sd, path)
    result = Detector.from_checkpoint(path)(face_video, 4)
    assert result.verdict == verdict
    assert result.confidence == pytest.approx(_sigmoid(12.0), abs=1e-6)
    assert result.p_fake == pytest.approx(_sigmoid(bias[0] - bias[1]), abs=1e-6)


def test_no_face_anywhere_gives_no_face(published_checkpoint: Path, noface_video: Path) -> None:
    result = Detector.from_checkpoint(published_checkpoint)(noface_video, 8)
    assert result.verdict == Verdict.NO_FACE
    assert result.p_fake is None and result.confidence is None and result.frames_used == 0
    assert result.frames_without_face == 8
    assert "No face was found in any of the 8 analysed frames" in result.reason
    assert all(s.p_fake is None and s.faces == 0 and s.box is None for s in result.frame_scores)
    assert len(result.previews) == 8 and all(p.face_jpeg is None for p in result.previews)
    json.dumps(result.to_dict())


@pytest.mark.media
def test_frames_without_face_are_left_out_and_counted(
    published_checkpoint: Path, tmp_path: Path
) -> None:
    faces = face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 10)
    blank = [np.full_like(faces[0], 90) for _ in range(10)]
    alternating = [f for pair in zip(faces, blank, strict=True) for f in pair]
    video = write_video(tmp_path / "half.mp4", alternating)
    result = Detector.from_checkpoint(published_checkpoint)(video, 20)
    assert result.frames_sampled == 20
    assert result.frames_without_face == 10 and result.frames_used == 10
    with_face = [s for s in result.frame_scores if s.p_fake is not None]
    assert {s.index % 2 for s in with_face} == {0}
    expected = _sigmoid(sum(_logit(s.p_fake) for s in with_face) / 10)
    assert result.p_fake == pytest.approx(expected, abs=1e-5)


def test_one_frame_video_and_images(published_checkpoint: Path, tmp_path: Path) -> None:
    det = Detector.from_checkpoint(published_checkpoint)
    one = det(write_video(tmp_path / "one.mp4", noise_frames(1)), 20)
    assert one.frames_sampled == 1 and "only 1 frame" in " ".join(one.notes)
    img = tmp_path / "still.png"
    cv2.imwrite(str(img), noise_frames(1)[0])
    still = det(img, 20)
    assert still.media["kind"] == "image" and still.frames_sampled == 1


def test_fewer_frames_than_requested(published_checkpoint: Path, tmp_path: Path) -> None:
    result = Detector.from_checkpoint(published_checkpoint)(
        write_video(tmp_path / "short.mp4", noise_frames(5)), 60
    )
    assert result.frames_requested == 60 and result.frames_sampled == 5
    assert any("only 5 frames" in n for n in result.notes)


def test_bad_inputs_raise_typed_errors_before_loading(
    published_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepfake_web.detection import detector as detector_module

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded for a file that cannot be analysed")

    monkeypatch.setattr(detector_module, "load_cached", no_loading)
    det = Detector.from_checkpoint(
        published_checkpoint, config=DetectorConfig(limits=MediaLimits(max_width=200))
    )
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMediaError):
        det(empty)
    with pytest.raises(MediaLimitError):
        det(write_video(tmp_path / "big.mp4", noise_frames(2, 320, 240)))


def test_progress_reports_stages_in_order(published_checkpoint: Path, noface_video: Path) -> None:
    seen: list[tuple[Stage, float]] = []
    Detector.from_checkpoint(published_checkpoint)(
        noface_video, 6, progress=lambda s, f: seen.append((s, f))
    )
    stages = [s for s, _ in seen]
    assert all(isinstance(s, Stage) for s in stages)
    assert stages[0] is Stage.LOADING_MODEL and stages[-1] is Stage.DONE
    assert Stage.FINDING_FACES in stages
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_result_json_has_the_documented_fields(
    published_checkpoint: Path, noface_video: Path
) -> None:
    d = Detector.from_checkpoint(published_checkpoint)(noface_video, 4).to_dict()
    for key in (
        "file", "verdict", "p_fake", "p_real", "confidence", "frames_requested", "frames_used",
        "frame_scores", "checkpoint", "mode", "media", "timings", "versions",
    ):  # fmt: skip
        assert key in d
    assert set(d["frame_scores"][0]) == {"index", "time_s", "p_fake", "faces", "box"}
    assert {
        "name",
        "sha256",
        "format",
        "sequence_length",
        "requested_sequence_length",
        "note",
    } <= set(d["checkpoint"])
    assert set(d["media"]) == {"kind", "width", "height", "fps", "frames", "duration_s", "codec"}
    assert {"decode_s", "faces_s", "model_s", "total_s"} <= set(d["timings"])
    assert d["timings"]["total_s"] > 0 and "previews" not in d
    with_images = Detector.from_checkpoint(published_checkpoint)(noface_video, 2).to_dict(True)
    assert with_images["previews"][0]["frame_jpeg"].startswith("/9j/")  # base64 JPEG


def test_nearest_length_note_reaches_the_result(models_dir: Path, noface_video: Path) -> None:
    result = Detector.from_models_dir(models_dir)(noface_video, 40)
    assert result.checkpoint.sequence_length == 20
    assert result.checkpoint.requested_sequence_length == 40
    assert "No checkpoint for 40 frames" in result.checkpoint.note


def test_decision_rule() -> None:
    rule = DecisionRule()
    assert rule.decide(0.5) == (Verdict.FAKE, 0.5)
    assert rule.decide(0.2) == (Verdict.REAL, pytest.approx(0.8))
    band = DecisionRule(threshold=0.7, uncertain_margin=0.1)
    assert band.decide(0.65)[0] == Verdict.UNCERTAIN
    assert band.decide(0.79)[0] == Verdict.UNCERTAIN
    assert band.decide(0.8)[0] == Verdict.FAKE
    assert band.decide(0.55)[0] == Verdict.REAL
