"""The training commands on the real videos of ../shared/media (index, faces, features, evaluate).

The checkpoint has random weights (the ``own_checkpoint`` fixture): the numbers mean nothing,
the point is that real codecs, resolutions and FaceForensics++ names go through every step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deepfake_web.cli import cli
from deepfake_web.training.manifest import read_manifest
from deepfake_web.training.splits import check_disjoint
from tests.factories.media import SHARED_MEDIA, labelled_videos

pytestmark = [pytest.mark.media, pytest.mark.slow]


def run(*args: str) -> str:
    """Run a deepfake-web command in-process; fail with its output if it fails."""
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def test_real_videos_through_index_faces_features_evaluate(
    tmp_path: Path, own_checkpoint: Path
) -> None:
    manifest, cache = tmp_path / "real-media.csv", tmp_path / "cache"
    run("dataset", "index", str(SHARED_MEDIA / "videos"), "--out", str(manifest), "--val", "0.3",
        "--test", "0.3", "--seed", "1")  # fmt: skip
    entries = read_manifest(manifest).entries
    assert len(entries) == len(labelled_videos())  # unlabeled/ is not indexed
    assert all(Path(e.path).is_absolute() for e in entries)  # outside the manifest's folder
    assert check_disjoint(entries) == []
    by_name = {Path(e.path).stem: e for e in entries}
    fake = by_name["mudouble_ffpp_c40_Deepfakes_183_253"]
    assert fake.identities == ("183", "253") and fake.method == "Deepfakes"
    for original in ("mudouble_ffpp_c40_orig_youtube_183", "mudouble_ffpp_c40_orig_youtube_253"):
        assert by_name[original].split == fake.split
    assert by_name["polimi_ffpp_c23_NeuralTextures_004_982"].method == "NeuralTextures"

    # own_checkpoint crops with margin 0.2; cache 4 frames per video.
    crops = ["--frames", "4", "--margin", "0.2", "--cache", str(cache)]
    out = run("faces", str(manifest), "--workers", "2", *crops)
    assert f"{len(entries)} extracted now" in out and "0 failed" in out
    out = run("features", str(manifest), "--backbone-weights", str(own_checkpoint), *crops)
    assert f"{len(entries)} computed now" in out

    report_dir = tmp_path / "report"
    run("evaluate", str(own_checkpoint), str(manifest), "--split", "all", "--cache-frames", "4",
        "--out", str(report_dir), "--cache", str(cache))  # fmt: skip
    report = json.loads((report_dir / "report.json").read_text())
    summary, info = report["summary"], report["info"]
    assert info["features_computed"] == 0 and info["features_reused"] == len(entries)
    assert summary["videos"] == len(entries) and summary["verdicts"]["FAILED"] == 0
    assert summary["no_face_rate"] <= 0.1
    assert summary["decision"] == {"threshold": 0.6, "uncertain_margin": 0.05}
    methods = {r["method"] for r in summary["per_method"]}
    assert {"original", "Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"} <= methods
    assert (report_dir / "roc.png").stat().st_size > 10_000
