"""Dataset trees and clips made by the training tests (FaceForensics++, DFDC, face clips)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories.media import face_frames, shared, write_video

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
