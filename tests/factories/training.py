"""Dataset trees, clips and a trained synthetic checkpoint made by the tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from tests.factories.media import SHARED_MEDIA, face_frames, shared, write_video

FFPP_PAIRS = [
    ("183", "253"),
    ("253", "183"),
    ("469", "481"),
    ("481", "469"),
    ("720", "672"),
    ("672", "720"),
    ("004", "982"),
    ("982", "004"),
    ("519", "515"),
    ("515", "519"),
    ("634", "660"),
    ("660", "634"),
    ("750", "743"),
    ("743", "750"),
    ("033", "097"),
    ("097", "033"),
]
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")  # indexing looks at names only
    return path


def make_ffpp_tree(root: Path) -> Path:
    """A FaceForensics++ layout (empty files): c23 and c40 originals, four methods, DFD."""
    ids = sorted({i for pair in FFPP_PAIRS for i in pair})
    for c in ("c23", "c40"):
        for vid in ids:
            _touch(root / "original_sequences" / "youtube" / c / "videos" / f"{vid}.mp4")
        for method in FFPP_METHODS:
            for a, b in FFPP_PAIRS:
                _touch(root / "manipulated_sequences" / method / c / "videos" / f"{a}_{b}.mp4")
    actors = root / "original_sequences" / "actors" / "c23" / "videos"
    for name in ("01__kitchen_pan", "01__walking_outside", "02__meeting", "03__talking"):
        _touch(actors / f"{name}.mp4")
    dfd = root / "manipulated_sequences" / "DeepFakeDetection" / "c23" / "videos"
    _touch(dfd / "01_02__meeting__YVGY8LOK.mp4")
    _touch(dfd / "03_01__kitchen__ABCDEFGH.mp4")
    return root


def make_dfdc_tree(root: Path) -> Path:
    """Two DFDC part folders with metadata.json: originals and the fakes made from them."""
    parts = {
        "dfdc_train_part_0": {"aaa": ["bbb", "ccc"], "ddd": ["eee"], "fff": []},
        "dfdc_train_part_1": {"ggg": ["hhh", "iii", "jjj"], "kkk": ["lll"], "mmm": ["nnn"]},
    }
    for part, originals in parts.items():
        meta = {}
        for original, fakes in originals.items():
            _touch(root / part / f"{original}.mp4")
            meta[f"{original}.mp4"] = {"label": "REAL", "split": "train", "original": None}
            for fake in fakes:
                _touch(root / part / f"{fake}.mp4")
                meta[f"{fake}.mp4"] = {
                    "label": "FAKE",
                    "split": "train",
                    "original": f"{original}.mp4",
                }
        meta["zzz_missing.mp4"] = {"label": "FAKE", "split": "train", "original": "aaa.mp4"}
        (root / part / "metadata.json").write_text(json.dumps(meta))
    return root


def make_face_clips(folder: Path, count: int, frames: int = 8) -> list[Path]:
    """``count`` short clips of real face photos drifting across a frame (needs shared media)."""
    images = sorted(shared("images", "real").glob("*.jpg"))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        clip = face_frames(images[i % len(images)], frames, size=(320, 240))
        out.append(write_video(folder / f"clip_{i:02d}.mp4", clip, fps=8))
    return out


SYNTHETIC_FRAMES = 6
"""Frames per clip of the synthetic training run (and of the checkpoint it saves)."""


def run(*args: str) -> str:
    """Run a deepfake-web command in-process; fail with its output if it fails."""
    from deepfake_web.cli import cli

    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


@dataclass
class Pipeline:
    """What ``train_synthetic`` left behind: folders, the checkpoint, each command's output."""

    root: Path
    data: Path
    manifest: Path
    cache: Path
    models: Path
    reports: Path
    checkpoint: Path
    outputs: dict


def train_synthetic(root: Path) -> Pipeline:
    """Make the synthetic set and run faces → features → train → calibrate → evaluate on it.

    About three minutes on 2 CPU cores; the checkpoint (``models/``) learns the synthetic
    manipulations well (validation AUC ≥ 0.9), so tests can rely on its verdicts.
    """
    frames = str(SYNTHETIC_FRAMES)
    data, cache, models, reports = (root / n for n in ("synthetic", "cache", "models", "reports"))
    out = {}
    out["synth"] = run("dataset", "synth", str(data), "--media", str(SHARED_MEDIA))
    out["index"] = run("dataset", "index", str(data), "--val", "0.25", "--test", "0.25")
    manifest = data / "manifest.csv"
    common = ["--cache", str(cache)]
    out["faces"] = run("faces", str(manifest), "--frames", frames, "--workers", "2", *common)
    out["features"] = run(
        "features", str(manifest), "--frames", frames, "--backbone-weights", "none", *common
    )
    out["train"] = run(
        "train", str(manifest), "--frames", frames, "--cache-frames", frames,
        "--backbone-weights", "none", "--hidden-size", "32", "--lr", "3e-3",
        "--epochs", "40", "--patience", "10", "--models-dir", str(models),
        "--report-dir", str(reports / "training"), *common,
    )  # fmt: skip
    checkpoint = Path(re.search(r"Saved (\S+\.pt)", out["train"])[1])
    out["calibrate"] = run(
        "calibrate", str(checkpoint), str(manifest), "--out", str(reports / "calibration"), *common
    )
    out["evaluate"] = run(
        "evaluate", str(checkpoint), str(manifest), "--out", str(reports / "evaluation"), *common
    )
    return Pipeline(root, data, manifest, cache, models, reports, checkpoint, out)
