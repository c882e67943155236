"""Per-person scoring is real: with a trained checkpoint, a clip of two people where only
one carries the manipulation gives that person FAKE, the other REAL, and the video FAKE."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_web.detection import Detector
from tests.factories.media import write_video
from tests.factories.training import Pipeline

pytestmark = [pytest.mark.media, pytest.mark.slow]


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def _side_by_side(left: Path, right: Path, out: Path) -> Path:
    a, b = _frames(left), _frames(right)
    n = min(len(a), len(b))
    h = min(a[0].shape[0], b[0].shape[0])

    def fit(f: np.ndarray) -> np.ndarray:
        return cv2.resize(f, (round(f.shape[1] * h / f.shape[0]), h))

    return write_video(out, [np.hstack([fit(a[i]), fit(b[i])]) for i in range(n)])


def test_only_the_manipulated_person_looks_fake(pipeline: Pipeline, tmp_path: Path) -> None:
    report = json.loads((pipeline.reports / "evaluation" / "report.json").read_text())
    scored = [v for v in report["videos"] if v["status"] == "scored"]
    # A real clip and a fake one (a manipulation of one face, not a blend of two people)
    # that the checkpoint gets right on their own, of two different identities.
    real = min((v for v in scored if v["label"] == "REAL"), key=lambda v: v["p_fake"])
    fake = max(
        (
            v
            for v in scored
            if v["label"] == "FAKE"
            and "/blend/" not in v["path"]
            and Path(v["path"]).stem.split("_")[-1] != Path(real["path"]).stem.split("_")[-1]
        ),
        key=lambda v: v["p_fake"],
    )
    detector = Detector.from_checkpoint(pipeline.checkpoint)
    alone = {k: detector(pipeline.data / v["path"]) for k, v in (("real", real), ("fake", fake))}
    assert alone["real"].verdict == "REAL" and alone["fake"].verdict == "FAKE"

    clip = _side_by_side(
        pipeline.data / real["path"], pipeline.data / fake["path"], tmp_path / "two.mp4"
    )
    result = detector(clip)

    assert len(result.persons) == 2, result.notes
    left, right = sorted(result.persons, key=lambda p: p.boxes[0].box[0])
    assert (left.verdict, right.verdict) == ("REAL", "FAKE")
    assert left.p_fake < 0.5 < right.p_fake
    # Each person's score is that person's own, close to the clip scored alone.
    assert left.p_fake == pytest.approx(alone["real"].p_fake, abs=0.15)
    assert right.p_fake == pytest.approx(alone["fake"].p_fake, abs=0.15)
    assert result.verdict == "FAKE" and result.p_fake == right.p_fake
    assert result.summary == "2 people; 1 looks fake"
    # The per-frame scores follow the suspicious person (their boxes, right of the middle).
    width = result.media["width"]
    assert all(s.box[0] >= width / 2 for s in result.frame_scores if s.box)
