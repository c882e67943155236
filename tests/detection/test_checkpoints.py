"""Checkpoint formats: exact published layout, strict loading, own format, the registry."""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from deepfake_web.detection.checkpoint_info import (
    OWN,
    PUBLISHED,
    inspect_checkpoint,
    parse_name,
    read_structure,
)
from deepfake_web.detection.checkpoints import load_checkpoint, save_checkpoint, update_metadata
from deepfake_web.detection.errors import CheckpointError, NoCheckpointError
from deepfake_web.detection.models_folder import ModelsFolder
from deepfake_web.detection.network import Architecture, PublishedNet, TemporalNet
from tests.factories.media import write_tiny_published


def test_published_layout_has_exactly_the_original_keys_and_shapes() -> None:
    with torch.device("meta"):
        sd = PublishedNet().state_dict()
    assert len(sd) == 322
    assert sd["model.0.weight"].shape == (64, 3, 7, 7)
    # model.2 (ReLU) and model.3 (max-pool) hold no parameters.
    assert {k.split(".")[1] for k in sd if k.startswith("model.")} == {"0", "1", "4", "5", "6", "7"}
    assert sd["model.1.running_mean"].shape == (64,)
    assert sd["model.7.2.conv3.weight"].shape == (2048, 1024, 1, 1)  # layer4, 32 groups × 32
    assert sd["lstm.weight_ih_l0"].shape == (8192, 2048)
    assert sd["lstm.weight_hh_l0"].shape == (8192, 2048)
    assert not any(k.startswith("lstm.bias") for k in sd)
    assert sd["linear1.weight"].shape == (2, 2048) and sd["linear1.bias"].shape == (2,)
    assert {k.split(".")[0] for k in sd} == {"model", "lstm", "linear1"}


def test_random_published_checkpoint_file(published_checkpoint: Path) -> None:
    raw = torch.load(published_checkpoint, weights_only=True)
    assert isinstance(raw, OrderedDict) and len(raw) == 322
    info = inspect_checkpoint(published_checkpoint)
    assert (info.format, info.sequence_length, info.accuracy, info.data) == (
        PUBLISHED,
        20,
        90.0,
        "test",
    )
    assert info.usable and not info.demo and info.threshold == 0.5


def test_published_loads_strictly_and_matches_weights(published_checkpoint: Path) -> None:
    model = load_checkpoint(published_checkpoint, "cpu")
    raw = torch.load(published_checkpoint, weights_only=True)
    got = model.net.state_dict()
    assert set(got) == set(raw)
    assert all(torch.equal(got[k], raw[k]) for k in raw)
    assert model.preprocessing.channel_order == "BGR" and model.preprocessing.image_size == 112
    assert len(model.sha256) == 64


def test_meta_device_loading_gives_the_same_outputs_as_a_normal_load(
    published_checkpoint: Path,
) -> None:
    model = load_checkpoint(published_checkpoint, "cpu")
    plain = PublishedNet()
    plain.load_state_dict(torch.load(published_checkpoint, weights_only=True))
    plain.eval()
    x = torch.randn(3, 2048)
    with torch.inference_mode():
        assert torch.allclose(model.net.frame_logits(x), plain.frame_logits(x), atol=1e-6)


@pytest.mark.parametrize(
    ("mutate", "light", "strict"),
    [
        (
            lambda sd: sd.pop("model.4.0.conv1.weight"),
            "321 tensors instead of 322",
            "missing 1: model.4.0.conv1.weight",
        ),
        (
            lambda sd: sd.__setitem__("lstm.bias_ih_l0", torch.zeros(8192)),
            "has LSTM biases",
            "unexpected 1: lstm.bias_ih_l0",
        ),
        (
            lambda sd: sd.__setitem__("linear1.weight", torch.zeros(3, 2048)),
            "linear1.weight has shape (3, 2048)",
            "wrong shape 1: linear1.weight: (3, 2048) instead of (2, 2048)",
        ),
    ],
)
def test_wrong_published_files_are_refused_with_the_differences(
    tmp_path: Path, mutate, light: str, strict: str
) -> None:
    path = write_tiny_published(tmp_path / "model_90_acc_20_frames_x_data.pt")
    sd = torch.load(path, weights_only=True)
    mutate(sd)
    torch.save(sd, path)
    info = inspect_checkpoint(path)
    assert not info.usable and light in info.problem
    with pytest.raises(CheckpointError, match=re.escape(strict)):
        load_checkpoint(path, "cpu")


def test_strict_load_names_deep_shape_differences(tmp_path: Path) -> None:
    path = write_tiny_published(tmp_path / "model_90_acc_20_frames_x_data.pt")
    sd = torch.load(path, weights_only=True)
    sd["model.5.1.conv2.weight"] = torch.zeros(1)
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"wrong shape 1: model\.5\.1\.conv2\.weight"):
        load_checkpoint(path, "cpu")


def test_module_prefix_is_explained(tmp_path: Path) -> None:
    path = write_tiny_published(tmp_path / "model_90_acc_20_frames_x_data.pt")
    sd = torch.load(path, weights_only=True)
    torch.save(OrderedDict((f"module.{k}", v) for k, v in sd.items()), path)
    info = inspect_checkpoint(path)
    assert "module." in info.problem
    with pytest.raises(CheckpointError):
        load_checkpoint(path, "cpu")


def test_non_checkpoints_are_listed_as_unusable(tmp_path: Path) -> None:
    (tmp_path / "model_90_acc_20_frames_x_data.pt").write_text("not a checkpoint")
    torch.save({"weights": [1, 2]}, tmp_path / "other.pt")
    infos = {i.name: i for i in ModelsFolder(tmp_path).checkpoints()}
    assert not infos["model_90_acc_20_frames_x_data.pt"].usable
    assert "neither" in infos["other.pt"].problem
    with pytest.raises(NoCheckpointError, match="No usable checkpoint"):
        ModelsFolder(tmp_path).choose(20)


def test_header_reader_runs_no_code(tmp_path: Path) -> None:
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    with path.open("wb") as fh:
        pickle.dump({"x": Evil()}, fh)
    with pytest.raises(CheckpointError):
        read_structure(path)
    assert not inspect_checkpoint(path).usable


def test_own_format_round_trip(own_checkpoint: Path) -> None:
    raw = torch.load(own_checkpoint, weights_only=True)  # weights_only-safe
    assert raw["format"] == OWN and raw["format_version"] == 1
    assert raw["architecture"] == {
        "backbone": "resnext50_32x4d",
        "hidden_size": 32,
        "num_layers": 2,
        "bidirectional": True,
        "pooling": "mean",
        "dropout": 0.4,
    }
    meta = raw["metadata"]
    assert meta["labels"] == ["FAKE", "REAL"]
    assert meta["preprocessing"]["channel_order"] == "RGB"
    info = inspect_checkpoint(own_checkpoint)
    assert (info.format, info.sequence_length, info.accuracy) == (OWN, 10, 75.0)
    assert (info.threshold, info.uncertain_margin) == (0.6, 0.05)
    model = load_checkpoint(own_checkpoint, "cpu")
    assert isinstance(model.net, TemporalNet)
    assert model.net.temporal.lstm.batch_first and model.net.temporal.lstm.bias
    assert model.preprocessing.crop_margin == 0.2
    assert all(torch.equal(model.net.state_dict()[k], v) for k, v in raw["state_dict"].items())


def test_own_format_refuses_other_label_orders(tmp_path: Path) -> None:
    arch = Architecture(hidden_size=8)
    with torch.device("meta"):
        net = TemporalNet(arch)
    with pytest.raises(ValueError, match="labels"):
        save_checkpoint(
            tmp_path / "x.pt", net, {"sequence_length": 5, "labels": ["REAL", "FAKE"]}, arch
        )


def test_update_metadata_rewrites_only_metadata(tmp_path: Path, own_checkpoint: Path) -> None:
    copy = tmp_path / own_checkpoint.name
    copy.write_bytes(own_checkpoint.read_bytes())
    update_metadata(copy, {"decision": {"threshold": 0.3, "uncertain_margin": 0.1}})
    info = inspect_checkpoint(copy)
    assert (info.threshold, info.uncertain_margin) == (0.3, 0.1)
    assert info.sequence_length == 10


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    torch.save(
        {"format": OWN, "format_version": 99, "metadata": {"sequence_length": 5}, "state_dict": {}},
        tmp_path / "future.pt",
    )
    info = inspect_checkpoint(tmp_path / "future.pt")
    assert not info.usable and "newer" in info.problem


def test_name_parsing() -> None:
    assert parse_name("model_97_acc_60_frames_FF_data.pt") == (97.0, 60, "FF")
    assert parse_name("model_97.5_acc_100_frames_celeb_df_data.pth") == (97.5, 100, "celeb_df")
    assert parse_name("model_97_acc_frames_FF_data.pt") is None
    assert parse_name("checkpoint.pt") is None


# --- the registry -------------------------------------------------------------------


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    for name in (
        "model_87_acc_20_frames_a_data.pt",
        "model_90_acc_20_frames_b_data.pt",
        "model_97.5_acc_100_frames_c_data.pt",
        "model_100_acc_100_frames_d_data.pt",
        "model_84_acc_10_frames_e_data.pt",
        "model_93_acc_40_frames_f_data.pt",
    ):
        write_tiny_published(tmp_path / name)
    return tmp_path


def test_registry_picks_the_most_accurate_for_the_length(registry_dir: Path) -> None:
    reg = ModelsFolder(registry_dir)
    choice = reg.choose(20)
    assert choice.info.name == "model_90_acc_20_frames_b_data.pt" and choice.note is None
    # As numbers, 100 beats 97.5 (as strings "97.5" > "100").
    assert reg.choose(100).info.name == "model_100_acc_100_frames_d_data.pt"
    assert reg.lengths() == [10, 20, 40, 100]


def test_registry_uses_the_nearest_length_and_says_so(registry_dir: Path) -> None:
    choice = ModelsFolder(registry_dir).choose(30)
    # 20 and 40 are both 10 away: the more accurate one (93 %, 40 frames) wins.
    assert choice.info.name == "model_93_acc_40_frames_f_data.pt"
    assert "No checkpoint for 30 frames" in choice.note and "40 frames" in choice.note
    assert ModelsFolder(registry_dir).choose(15).info.sequence_length in (10, 20)


def test_registry_without_a_length_takes_the_best_overall(registry_dir: Path) -> None:
    assert ModelsFolder(registry_dir).choose(None).info.accuracy == 100.0


def test_registry_sees_new_files_and_newer_wins_ties(registry_dir: Path) -> None:
    reg = ModelsFolder(registry_dir)
    assert reg.choose(60).info.sequence_length != 60
    later = write_tiny_published(registry_dir / "model_90_acc_20_frames_z_data.pt")
    os.utime(later, (time.time() + 5, time.time() + 5))
    assert reg.choose(20).info.name == "model_90_acc_20_frames_z_data.pt"


def test_registry_lists_own_and_published(registry_dir: Path, own_checkpoint: Path) -> None:
    (registry_dir / own_checkpoint.name).symlink_to(own_checkpoint)
    reg = ModelsFolder(registry_dir)
    formats = {i.name: i.format for i in reg.checkpoints()}
    assert formats[own_checkpoint.name] == OWN
    assert reg.choose(10).info.name == "model_84_acc_10_frames_e_data.pt"  # 84 > 75
    assert 10 in reg.lengths()


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    assert ModelsFolder(tmp_path / "nope").checkpoints() == []
    with pytest.raises(NoCheckpointError, match="models demo"):
        ModelsFolder(tmp_path).choose(20)
