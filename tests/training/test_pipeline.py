"""The whole pipeline through the commands on the synthetic set: it must learn the task.

One session-scoped run (the ``pipeline`` fixture of ``tests/conftest.py``, about three
minutes on 2 CPU cores): ``dataset synth`` → ``dataset index`` → ``faces`` → ``features``
(random backbone) → ``train`` → ``calibrate`` → ``evaluate``.
The tests then check what each step left behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from deepfake_web.cli import cli
from deepfake_web.detection import Detector
from deepfake_web.detection.checkpoint_info import inspect_checkpoint
from deepfake_web.detection.checkpoints import load_checkpoint
from deepfake_web.detection.models_folder import ModelsFolder
from deepfake_web.training.backbone import load_backbone, state_sha256
from deepfake_web.training.manifest import read_manifest, write_manifest
from deepfake_web.training.splits import check_disjoint
from deepfake_web.training.synthetic import WARNING
from tests.factories.training import SYNTHETIC_FRAMES as FRAMES
from tests.factories.training import Pipeline, run

pytestmark = [pytest.mark.media, pytest.mark.slow]


def test_synthetic_set_says_so_and_its_splits_share_no_identity(pipeline: Pipeline) -> None:
    assert "SYNTHETIC" in pipeline.outputs["synth"]
    assert "NOT real data" in (pipeline.data / "README.md").read_text()
    assert json.loads((pipeline.data / "SYNTHETIC.json").read_text())["synthetic"] is True
    manifest = read_manifest(pipeline.manifest)
    assert manifest.is_synthetic()
    assert check_disjoint(manifest.entries) == []
    methods = {e.method for e in manifest.entries}
    assert methods == {"original", "blend", "blur", "colour", "flicker"}
    split_of = {i: e.split for e in manifest.entries for i in e.identities}
    for e in manifest.entries:
        if e.method == "blend":  # a blend shows two people: both stay in its split
            assert len(e.identities) == 2 and {split_of[i] for i in e.identities} == {e.split}


def test_the_task_is_learned_to_validation_auc_of_at_least_0_9(pipeline: Pipeline) -> None:
    info = inspect_checkpoint(pipeline.checkpoint)
    meta = info.metadata
    assert meta["metrics"]["auc"] >= 0.9, pipeline.outputs["train"]
    assert meta["metrics"]["data"].startswith("val split of synthetic")
    assert re.fullmatch(r"model_[\d.]+_acc_6_frames_synthetic_data\.pt", info.name)
    assert info.accuracy == pytest.approx(100 * meta["metrics"]["accuracy"], abs=0.01)
    assert re.search(r"epoch +1: loss", pipeline.outputs["train"])  # one log line per epoch
    history = meta["training"]["history"]
    assert len(history) == meta["training"]["epochs_run"] >= meta["training"]["best_epoch"]
    assert max(h["val_auc"] for h in history) == pytest.approx(meta["metrics"]["auc"])
    assert (pipeline.reports / "training" / f"{info.name[:-3]}.training.png").stat().st_size > 5000


def test_checkpoint_is_self_contained_and_marked_synthetic(pipeline: Pipeline) -> None:
    info = inspect_checkpoint(pipeline.checkpoint)
    meta = info.metadata
    assert info.usable and info.format == "deepfake-web" and info.sequence_length == FRAMES
    assert info.warning == WARNING and meta["synthetic"] is True
    assert meta["preprocessing"] == {
        "image_size": 112,
        "channel_order": "RGB",
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "crop_margin": 0.1,
    }
    assert meta["face_detection"]["frames"] == FRAMES
    assert meta["face_detection"]["faces"]["margin"] == 0.1
    assert meta["backbone_weights"] == "none: random initialisation (seed 0)"
    assert meta["training_dataset"]["train"]["FAKE"] > meta["training_dataset"]["train"]["REAL"]
    assert "SYNTHETIC" in meta["training_data"]
    # The random backbone whose features were cached is exactly the one saved.
    net = load_checkpoint(pipeline.checkpoint, "cpu").net
    assert state_sha256(net.model.state_dict()) == load_backbone("none", 0).sha256
    assert meta["backbone_weights_sha256"] == load_backbone("none", 0).sha256


def test_registry_and_models_list_show_the_trained_checkpoint(pipeline: Pipeline) -> None:
    registry = ModelsFolder(pipeline.models)
    assert [i.name for i in registry.usable()] == [pipeline.checkpoint.name]
    assert registry.choose(FRAMES).note is None
    listing = run("models", "list", "--models-dir", str(pipeline.models), "--no-sha256")
    assert pipeline.checkpoint.name in listing and WARNING in listing


def test_calibration_is_written_into_the_metadata(pipeline: Pipeline) -> None:
    meta = inspect_checkpoint(pipeline.checkpoint).metadata
    calibration = json.loads((pipeline.reports / "calibration" / "calibration.json").read_text())
    decision = meta["decision"]
    assert decision == calibration["decision"]
    assert decision["method"] == "balanced_accuracy"
    assert decision["calibrated_on"].startswith("val split of synthetic")
    assert 0 < decision["threshold"] < 1 and decision["uncertain_margin"] >= 0
    rel = meta["calibration"]["reliability"]
    assert sum(b["count"] for b in rel["bins"]) == rel["videos"] > 50
    assert 0 <= rel["ece"] <= 1 and 0 <= rel["brier"] <= 1
    for png in ("reliability.png", "scores.png"):
        assert (pipeline.reports / "calibration" / png).read_bytes()[:4] == b"\x89PNG"
    assert f"{decision['threshold']:.4f}" in pipeline.outputs["calibrate"]


def test_evaluation_report_is_consistent_and_reuses_cached_features(pipeline: Pipeline) -> None:
    folder = pipeline.reports / "evaluation"
    report = json.loads((folder / "report.json").read_text())
    summary, info = report["summary"], report["info"]
    scored = [v for v in report["videos"] if v["status"] == "scored"]
    y = [int(v["label"] == "FAKE") for v in scored]
    p = [v["p_fake"] for v in scored]
    assert summary["threshold_metrics"]["auc"] == pytest.approx(roc_auc_score(y, p))
    assert summary["decision"]["threshold"] == inspect_checkpoint(pipeline.checkpoint).threshold
    assert all(v["split"] == "test" for v in report["videos"])
    assert info["features_computed"] == 0  # the cache of the features command was used
    assert info["features_reused"] == summary["videos"]
    methods = [r["method"] for r in summary["per_method"]]
    assert methods == ["original", "blend", "blur", "colour", "flicker"]
    rows = list(csv.DictReader((folder / "scores.csv").open()))
    assert len(rows) == summary["videos"]
    md = (folder / "report.md").read_text()
    assert WARNING in md and "| blend | FAKE |" in md and "predicted FAKE" in md
    for png in ("roc.png", "scores.png"):
        assert (folder / png).stat().st_size > 10_000
    assert "report:" in pipeline.outputs["evaluate"]


def test_cli_predict_uses_the_checkpoint_and_matches_the_evaluation(pipeline: Pipeline) -> None:
    report = json.loads((pipeline.reports / "evaluation" / "report.json").read_text())
    video = next(v for v in report["videos"] if v["status"] == "scored" and v["label"] == "FAKE")
    path = pipeline.data / video["path"]
    out = run("predict", str(path), "--models-dir", str(pipeline.models), "--json", "-")
    result = json.loads(out[out.index("[") :])[0]
    assert result["verdict"] in {"REAL", "FAKE", "UNCERTAIN"}
    assert result["checkpoint"]["name"] == pipeline.checkpoint.name
    assert result["checkpoint"]["warning"] == WARNING
    assert result["checkpoint"]["threshold"] == report["summary"]["decision"]["threshold"]
    assert result["frames_sampled"] == FRAMES
    # The engine and the training pipeline see the same crops and compute the same score.
    assert result["p_fake"] == pytest.approx(video["p_fake"], abs=1e-4)


def test_features_are_not_recomputed_and_commands_fail_clearly(pipeline: Pipeline) -> None:
    again = run(
        "features",
        str(pipeline.manifest),
        "--frames",
        str(FRAMES),
        "--backbone-weights",
        "none",
        "--cache",
        str(pipeline.cache),
    )
    assert "0 computed now" in again
    res = CliRunner().invoke(
        cli,
        [
            "train",
            str(pipeline.manifest),
            "--frames",
            str(FRAMES),
            "--cache-frames",
            str(FRAMES),
            "--backbone-weights",
            "none",
            "--backbone-seed",
            "1",
            "--cache",
            str(pipeline.cache),
            "--models-dir",
            str(pipeline.root / "m2"),
        ],
    )
    assert res.exit_code == 1 and "Run `deepfake-web features`" in res.output
    res = CliRunner().invoke(
        cli,
        [
            "train",
            str(pipeline.manifest),
            "--frames",
            "12",
            "--cache-frames",
            str(FRAMES),
            "--cache",
            str(pipeline.cache),
        ],
    )
    assert res.exit_code == 1 and "at least that many frames" in res.output


def test_published_checkpoint_is_evaluated_in_its_own_preprocessing(
    pipeline: Pipeline, published_checkpoint: Path
) -> None:
    manifest = read_manifest(pipeline.manifest)
    subset = [e for e in manifest.split("test") if e.method in ("original", "colour")][:8]
    small = write_manifest(pipeline.data / "small.csv", subset)
    out = pipeline.root / "published-eval"
    run(
        "evaluate",
        str(published_checkpoint),
        str(small),
        "--cache-frames",
        str(FRAMES),
        "--out",
        str(out),
        "--cache",
        str(pipeline.cache),
    )
    report = json.loads((out / "report.json").read_text())
    assert report["info"]["format"] == "published"
    assert report["info"]["preprocessing"] == "112px BGR, margin 0"
    assert "-m0-" in Path(report["info"]["faces"]).name  # tight crops: their own face cache
    assert report["info"]["features_computed"] == len(subset)
    detector = Detector.from_checkpoint(published_checkpoint, device="cpu")
    for v in report["videos"][:2]:
        engine = detector(pipeline.data / v["path"], sequence_length=FRAMES)
        assert engine.p_fake == pytest.approx(v["p_fake"], abs=1e-4)


def test_finetuning_end_to_end_changes_the_backbone(pipeline: Pipeline) -> None:
    manifest = read_manifest(pipeline.manifest)
    pick = []
    for split, n in (("train", 3), ("val", 2)):
        for method in ("original", "colour"):
            pick += [e for e in manifest.split(split) if e.method == method][:n]
    small = write_manifest(pipeline.data / "finetune.csv", pick)
    out = run(
        "train",
        str(small),
        "--finetune",
        "--frames",
        "4",
        "--cache-frames",
        str(FRAMES),
        "--backbone-weights",
        "none",
        "--hidden-size",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "3",
        "--backbone-lr",
        "1e-3",
        "--device",
        "cpu",
        "--cache",
        str(pipeline.cache),
        "--models-dir",
        str(pipeline.root / "finetuned"),
        "--report-dir",
        str(pipeline.reports),
    )
    path = Path(re.search(r"Saved (\S+\.pt)", out)[1])
    meta = inspect_checkpoint(path).metadata
    assert meta["training"]["finetune"] is True and meta["training"]["feature_cache"] is None
    net = load_checkpoint(path, "cpu").net
    assert state_sha256(net.model.state_dict()) != load_backbone("none", 0).sha256
    assert np.isfinite(meta["metrics"]["loss"])


def test_web_app_picks_up_the_trained_checkpoint_and_shows_its_warning(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    from tests.factories.web import make_app, run_job

    app = make_app(tmp_path, MODELS_DIR=str(pipeline.models))
    client = app.test_client()
    assert f'value="{FRAMES}"' in client.get("/").get_data(as_text=True)
    report = json.loads((pipeline.reports / "evaluation" / "report.json").read_text())
    video = next(v for v in report["videos"] if v["status"] == "scored")
    data = (pipeline.data / video["path"]).read_bytes()
    form = {"file": (io.BytesIO(data), "clip.mp4"), "sequence_length": str(FRAMES)}
    res = client.post("/api/analyses", data=form, content_type="multipart/form-data")
    assert res.status_code == 202, res.json
    row = run_job(app, res.json["id"])
    with app.app_context():
        assert row.status == "done" and row.checkpoint_name == pipeline.checkpoint.name
        assert row.p_fake == pytest.approx(video["p_fake"], abs=1e-4)
        assert not row.checkpoint_demo
    page = client.get(f"/analyses/{row.id}").get_data(as_text=True)
    assert "Warning about this model." in page and WARNING in page


def test_model_card_shows_the_measured_auc_and_the_evaluation_plots(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    from tests.factories.web import make_app

    report = json.loads((pipeline.reports / "evaluation" / "report.json").read_text())
    auc = report["summary"]["threshold_metrics"]["auc"]
    app = make_app(tmp_path, MODELS_DIR=str(pipeline.models))
    client = app.test_client()
    page = client.get("/models").get_data(as_text=True)
    card = page[page.index(f'id="card-{pipeline.checkpoint.name}"') :]
    card = card[: card.index("</section>")]
    row = re.search(r'<tr class="m-evaluation">.*?</tr>', card, re.S)[0]
    assert f"{auc:.3f}" in row and report["info"]["data"] in row
    assert WARNING in card
    plots = re.findall(r'src="([^"]+\.png)"', card)
    assert {p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in plots} == {
        "calibration/reliability.png",
        "calibration/scores.png",
        "evaluation/roc.png",
        "evaluation/scores.png",
    }
    for p in plots:
        res = client.get(p)
        assert res.status_code == 200 and res.data[:4] == b"\x89PNG"
