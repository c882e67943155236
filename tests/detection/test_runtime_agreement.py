"""Every backbone runtime available on this machine keeps the verdicts of PyTorch fp32.

A checkpoint trained by ``deepfake-web train`` on the synthetic set (the session
``pipeline``) analyses every labelled clip of ../shared/media in fp32 and in each other
runtime this CPU may use: p(fake) moves by at most 0.01 and no verdict changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_web.detection import Detector, DetectorConfig
from deepfake_web.detection.backbones import openvino_folder
from deepfake_web.detection.checkpoint_info import file_sha256
from deepfake_web.detection.runtimes import (
    TORCH_FP32,
    candidates,
    openvino_version,
    read_cpu_facts,
)
from tests.factories.media import labelled_videos
from tests.factories.training import Pipeline

pytestmark = [pytest.mark.media, pytest.mark.slow]

FRAMES = 10
MAX_DELTA = 0.01
OTHERS = [
    c.name
    for c in candidates(read_cpu_facts(), "cpu", openvino_version() is not None)
    if c.eligible and c.name != TORCH_FP32
]


def _results(checkpoint: Path, precision: str) -> dict[str, tuple[str, float]]:
    detector = Detector.from_checkpoint(
        checkpoint, config=DetectorConfig(device="cpu", precision=precision)
    )
    assert detector.runtime().runtime == (TORCH_FP32 if precision == "fp32" else precision)
    out = {}
    for video in labelled_videos():
        r = detector(video, FRAMES)
        out[video.name] = (r.verdict, r.p_fake)
    return out


@pytest.fixture(scope="module")
def fp32(pipeline: Pipeline) -> dict[str, tuple[str, float]]:
    return _results(pipeline.checkpoint, "fp32")


def test_this_machine_has_a_runtime_besides_fp32() -> None:
    assert OTHERS, "openvino is installed by scripts/setup: at least openvino-fp32 runs here"


@pytest.mark.parametrize("runtime", OTHERS)
def test_runtime_keeps_every_verdict_and_p_fake_within_0_01(
    pipeline: Pipeline, fp32: dict[str, tuple[str, float]], runtime: str
) -> None:
    other = _results(pipeline.checkpoint, runtime)
    assert other.keys() == fp32.keys() and len(fp32) >= 20
    assert len({round(p, 3) for _, p in fp32.values()}) > 1  # the checkpoint tells clips apart
    for name, (verdict, p) in fp32.items():
        verdict_other, p_other = other[name]
        assert abs(p_other - p) <= MAX_DELTA, f"{name}: p_fake {p:.4f} → {p_other:.4f}"
        assert verdict_other == verdict, f"{name}: {verdict} → {verdict_other}"
    if runtime.startswith("openvino"):  # converted once, kept by checkpoint hash
        folder = openvino_folder(file_sha256(pipeline.checkpoint), 112)
        assert list(folder.parent.glob(f"{folder.name[:16]}-*/backbone.xml"))
