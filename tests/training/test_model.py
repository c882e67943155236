"""The trainer's pieces: packed forward, folded standardisation, determinism, saving, backbones."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_web.detection.checkpoint_info import inspect_checkpoint
from deepfake_web.detection.checkpoints import load_checkpoint
from deepfake_web.detection.models_folder import ModelsFolder
from deepfake_web.detection.network import Architecture, TemporalHead, TemporalNet
from deepfake_web.detection.preprocess import Preprocessing
from deepfake_web.training.backbone import load_backbone, state_sha256
from deepfake_web.training.errors import TrainingError
from deepfake_web.training.export import checkpoint_name, free_path, save_trained
from deepfake_web.training.manifest import VideoEntry
from deepfake_web.training.sequences import CachedVideo, scoring_rows, training_rows
from deepfake_web.training.train import TrainConfig, fit, fold_input_map, input_map, padded_forward


@pytest.mark.parametrize(
    ("bidirectional", "pooling"), [(False, "mean"), (True, "last"), (True, "mean")]
)
def test_padded_forward_equals_the_head_on_each_unpadded_sequence(bidirectional, pooling) -> None:
    torch.manual_seed(0)
    arch = Architecture(hidden_size=8, num_layers=2, bidirectional=bidirectional, pooling=pooling)
    head = TemporalHead(arch).eval()
    lengths = torch.tensor([5, 2, 7])
    x = torch.randn(3, 7, 2048)
    x[0, 5:] = 9.0  # padding must not matter, whatever it holds
    x[1, 2:] = -9.0
    frames, clip = padded_forward(head, x, lengths)
    for i, n in enumerate(lengths.tolist()):
        f_ref, c_ref = head(x[i : i + 1, :n])
        torch.testing.assert_close(clip[i], c_ref[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(frames[i, :n], f_ref[0], rtol=1e-5, atol=1e-6)


def test_folding_the_standardisation_is_exact() -> None:
    rng = np.random.default_rng(0)
    feats = (rng.random((50, 2048)) * rng.random(2048) * 0.1).astype(np.float32)
    feats[:, 7] = 0.25  # a constant dimension keeps scale 1
    imap = input_map(feats)
    assert imap.scale[7] == 1.0
    torch.manual_seed(1)
    head = TemporalHead(Architecture(hidden_size=16, bidirectional=True)).eval()
    x = torch.from_numpy(feats[:6])[None]
    expected = head((x - torch.from_numpy(imap.mean)) * torch.from_numpy(imap.scale))[1]
    fold_input_map(head, imap)
    torch.testing.assert_close(head(x)[1], expected, rtol=1e-4, atol=1e-5)


def test_frame_selection_for_scoring_and_training() -> None:
    entry = VideoEntry("v.mp4", "FAKE")
    video = CachedVideo(entry, Path("v.mp4"), "v", np.array([0, 1, 2, 4, 5, 6, 7]), 8)
    # 4 of 8 sampled frames: positions 1, 3, 5, 7 (centres of 4 segments); 3 has no face.
    assert scoring_rows(video, 4).tolist() == [1, 4, 6]
    assert scoring_rows(video, 8).tolist() == list(range(7))
    rows = training_rows(video, 4, np.random.default_rng(0))
    assert len(rows) == 4 and list(rows) == sorted(rows) and len(set(rows.tolist())) == 4
    assert training_rows(video, 10, np.random.default_rng(0)).tolist() == list(range(7))


def _videos(n: int, seed: int) -> list[CachedVideo]:
    """Random clips whose fakes have a shifted mean in 30 dimensions (a learnable task)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        fake = i % 2 == 1
        feats = rng.random((6, 2048)).astype(np.float32) * 0.05
        if fake:
            feats[:, :30] += 0.03
        entry = VideoEntry(f"{i}.mp4", "FAKE" if fake else "REAL", "m" if fake else "original")
        out.append(CachedVideo(entry, Path(entry.path), str(i), np.arange(6), 6, feats))
    return out


def test_training_learns_is_deterministic_and_folds_into_a_temporal_net() -> None:
    train, val = _videos(40, 0), _videos(16, 1)
    cfg = TrainConfig(
        frames=4, hidden_size=8, epochs=6, patience=6, batch_size=8, lr=3e-3, device="cpu", seed=5
    )
    a = fit(train, val, cfg)
    b = fit(train, val, cfg)
    assert [h.train_loss for h in a.history] == [h.train_loss for h in b.history]
    assert a.val_auc == b.val_auc and a.val_auc > 0.9
    assert isinstance(a.net, TemporalNet)
    # The saved network scores raw features exactly as training scored standardised ones.
    p = []
    with torch.inference_mode():
        for v in val:
            _, logits = a.net.score(torch.from_numpy(v.features[scoring_rows(v, 4)]))
            p.append(float(torch.softmax(logits, 0)[0]))
    assert p == pytest.approx(a.val_scores, abs=1e-5)
    weighted = fit(train[:10] + [v for v in train[10:] if v.label], val, cfg)
    assert weighted.history  # 5 REAL vs 20 FAKE trains with class weights
    with pytest.raises(TrainingError, match="val split"):
        fit(train, [], cfg)


def test_checkpoint_names_never_overwrite_silently(tmp_path: Path) -> None:
    assert checkpoint_name(0.9412, 20, "FF++ c23") == "model_94.1_acc_20_frames_FF-c23_data.pt"
    assert checkpoint_name(1.0, 8, "synthetic") == "model_100_acc_8_frames_synthetic_data.pt"
    name = checkpoint_name(0.9, 8, "x")
    (tmp_path / name).write_bytes(b"old")
    assert free_path(tmp_path, name).name == "model_90_acc_8_frames_x-2_data.pt"
    assert free_path(tmp_path, name, overwrite=True).name == name


def test_saved_checkpoint_is_listed_and_carries_its_metadata(tmp_path: Path) -> None:
    torch.manual_seed(0)
    arch = Architecture(hidden_size=8)
    net = TemporalNet(arch)
    path = save_trained(
        tmp_path / checkpoint_name(0.875, 6, "unit"),
        net,
        preprocessing=Preprocessing(channel_order="RGB", crop_margin=0.1),
        face_detection={"frames": 6},
        metrics={"accuracy": np.float64(0.875), "auc": 0.9, "data": "val split of unit"},
        training_data="unit: 2 videos",
        training_dataset={"name": "unit"},
        data_name="unit",
        backbone_weights="none: random initialisation (seed 0)",
        backbone_sha256="0" * 64,
        training={"frames": 6},
        seed=0,
        warning="synthetic!",
    )
    info = inspect_checkpoint(path)  # torch-free header reading must understand it
    assert info.usable and info.format == "deepfake-web", info.problem
    assert info.sequence_length == 6 and info.accuracy == 87.5 and info.warning == "synthetic!"
    assert info.preprocessing.channel_order == "RGB" and info.preprocessing.crop_margin == 0.1
    assert info.threshold == 0.5 and info.metadata["decision"]["method"].startswith("default")
    assert ModelsFolder(tmp_path).choose(6).info.name == path.name
    loaded = load_checkpoint(path, "cpu")
    for k, v in net.state_dict().items():
        torch.testing.assert_close(loaded.net.state_dict()[k], v)


def test_backbone_sources_and_their_weight_hashes(tmp_path: Path, own_checkpoint: Path) -> None:
    a, b = load_backbone("none", seed=3), load_backbone("none", seed=3)
    assert a.sha256 == b.sha256 != load_backbone("none", seed=4).sha256
    own = load_backbone(str(own_checkpoint))
    ckpt = load_checkpoint(own_checkpoint, "cpu")
    assert own.sha256 == state_sha256(ckpt.net.model.state_dict())
    # A torchvision state_dict (with fc) gives the same weights as the checkpoint it came from.
    from torchvision.models import resnext50_32x4d

    full = resnext50_32x4d(weights=None)
    full.load_state_dict(
        {
            **full.state_dict(),
            **{
                k: v
                for k, v in zip(
                    full.state_dict(), list(ckpt.net.model.state_dict().values()), strict=False
                )
            },
        }
    )
    tv = tmp_path / "resnext.pth"
    torch.save(full.state_dict(), tv)
    assert load_backbone(str(tv)).sha256 == own.sha256
    junk = tmp_path / "junk.pt"
    torch.save({"x": torch.zeros(1)}, junk)
    with pytest.raises(TrainingError, match="not a resnext50_32x4d"):
        load_backbone(str(junk))
    with pytest.raises(TrainingError, match="an existing file"):
        load_backbone(str(tmp_path / "absent.pth"))


def test_imagenet_weights_offline_name_the_file_and_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(TrainingError) as err:
        load_backbone("imagenet")
    text = str(err.value)
    assert "resnext50_32x4d-7cdf4587.pth" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in text
    assert "IMAGENET1K_V1" in text


def test_training_package_stays_off_the_web_stack_and_help_stays_light() -> None:
    import subprocess
    import sys

    def modules_after(code: str) -> set[str]:
        code += "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        return set(out.stdout.split())

    mods = modules_after("import deepfake_web.training.runs")
    assert "deepfake_web.training.runs" in mods and "torch" in mods
    assert not {"flask", "sqlalchemy", "flask_sqlalchemy", "click"} & mods
    mods = modules_after("import deepfake_web.cli")  # what `deepfake-web --help` loads
    assert "deepfake_web.cli.train" in mods and "torch" not in mods
