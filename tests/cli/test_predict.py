"""The deepfake-web command line: predict and models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from deepfake_web.cli import cli
from tests.factories.media import face_frames, noise_frames, shared, write_video


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    (folder / "sub").mkdir(parents=True)
    write_video(folder / "noface.mp4", noise_frames(12))
    cv2.imwrite(str(folder / "sub" / "still.png"), noise_frames(1)[0])
    (folder / "notes.txt").write_text("ignored: not a media file")
    (folder / "broken.mp4").write_text("<html>not a video</html>")
    return folder


def test_predict_folder_to_json(
    cli_runner: CliRunner, models_dir: Path, inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    res = cli_runner.invoke(
        cli,
        [
            "predict",
            str(inputs),
            "--frames",
            "6",
            "--models-dir",
            str(models_dir),
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 1, res.output  # broken.mp4 failed
    entries = json.loads(out.read_text())
    by_name = {Path(e["file"]).name: e for e in entries}
    assert set(by_name) == {"noface.mp4", "still.png", "broken.mp4"}
    assert by_name["noface.mp4"]["verdict"] == "NO_FACE"
    assert by_name["noface.mp4"]["frames_sampled"] == 6
    assert "previews" not in by_name["noface.mp4"]
    assert by_name["broken.mp4"]["error_type"] == "UnsupportedMediaError"
    assert "could not be opened" in by_name["broken.mp4"]["error"]
    assert "1 of 3 input(s) failed" in res.output


def test_predict_json_to_stdout_and_exit_zero(
    cli_runner: CliRunner, published_checkpoint: Path, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "v.mp4", noise_frames(10))
    res = cli_runner.invoke(
        cli,
        [
            "predict",
            str(video),
            "-n",
            "4",
            "--checkpoint",
            str(published_checkpoint),
            "--json",
            "-",
        ],
    )
    assert res.exit_code == 0, res.output
    [entry] = json.loads(res.stdout)
    assert entry["checkpoint"]["name"] == published_checkpoint.name
    assert entry["mode"] == "standard"


@pytest.mark.media
def test_predict_readable_summary(
    cli_runner: CliRunner, published_checkpoint: Path, tmp_path: Path
) -> None:
    video = write_video(
        tmp_path / "face.mp4",
        face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 10),
    )
    res = cli_runner.invoke(
        cli, ["predict", str(video), "-n", "5", "--checkpoint", str(published_checkpoint)]
    )
    assert res.exit_code == 0, res.output
    assert "face.mp4: " in res.stdout
    assert "p_fake=" in res.stdout and "frames 5/5" in res.stdout


def test_predict_without_models_explains_how_to_install(
    cli_runner: CliRunner, tmp_path: Path
) -> None:
    video = write_video(tmp_path / "v.mp4", noise_frames(3))
    res = cli_runner.invoke(cli, ["predict", str(video), "--models-dir", str(tmp_path / "empty")])
    assert res.exit_code == 1
    assert "No usable checkpoint" in res.output and "models demo" in res.output


def test_models_list_and_demo(cli_runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    res = cli_runner.invoke(cli, ["models", "list", "--models-dir", str(folder)])
    assert res.exit_code == 0 and "No checkpoint in" in res.output
    res = cli_runner.invoke(cli, ["models", "demo", "--models-dir", str(folder), "--frames", "10"])
    assert res.exit_code == 0, res.output
    assert "verdicts are meaningless" in res.output
    res = cli_runner.invoke(cli, ["models", "list", "--models-dir", str(folder), "--json"])
    [row] = json.loads(res.output)
    assert row["name"] == "demo_random_weights_10_frames.pt"
    assert row["demo"] is True and row["sequence_length"] == 10 and row["format"] == "deepfake-web"
    assert len(row["sha256"]) == 64
    assert "random weights" in row["warning"]
    table = cli_runner.invoke(cli, ["models", "list", "--models-dir", str(folder)]).output
    assert "WARNING: DEMO checkpoint" in table


def test_demo_verdict_carries_the_warning(cli_runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    cli_runner.invoke(cli, ["models", "demo", "--models-dir", str(folder), "-n", "4"])
    video = write_video(tmp_path / "v.mp4", noise_frames(8))
    res = cli_runner.invoke(
        cli, ["predict", str(video), "--models-dir", str(folder), "--json", "-"]
    )
    [entry] = json.loads(res.stdout)
    assert entry["checkpoint"]["demo"] is True
    assert "means nothing" in entry["checkpoint"]["warning"]


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "deepfake_web", "--help"], capture_output=True, text=True, check=True
    )
    assert "predict" in out.stdout and "models" in out.stdout


def test_predict_prints_a_line_per_person_when_there_are_several() -> None:
    from deepfake_web.cli.predict import _summary_line
    from tests.factories.persons import persons_result

    two = _summary_line(persons_result("two.mp4").to_dict()).splitlines()
    assert two[0].startswith("two.mp4: FAKE  p_fake=0.900  frames 5/6")
    assert two[1:4] == [
        "    2 people; 1 looks fake",
        "    person 1: REAL  p_fake=0.200  seen in 6/6 frames",
        "    person 2: FAKE  p_fake=0.900  seen in 5/6 frames",
    ]
    one = _summary_line(persons_result("one.mp4", people=1).to_dict())
    assert "person 1" not in one and "1 person" not in one
