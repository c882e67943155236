"""Indexing datasets into manifests, and identity-disjoint seeded splits."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from deepfake_web.cli import cli
from deepfake_web.training.errors import TrainingError
from deepfake_web.training.layouts import DEFAULT_IDENTITY_PATTERN, identities_from_name
from deepfake_web.training.manifest import VideoEntry, read_manifest, write_manifest
from deepfake_web.training.splits import assign_splits, check_disjoint, identity_groups
from tests.factories.training import FFPP_METHODS, FFPP_PAIRS, make_dfdc_tree, make_ffpp_tree


def _index(*args: str) -> str:
    res = CliRunner().invoke(cli, ["dataset", "index", *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_faceforensics_index_keeps_each_fake_with_both_of_its_originals(tmp_path: Path) -> None:
    root = make_ffpp_tree(tmp_path / "ffpp")
    out = _index(str(root), "--val", "0.2", "--test", "0.2", "--seed", "3")
    assert "splits share no identity" in out
    manifest = read_manifest(root / "manifest.csv")
    entries = manifest.entries
    ids = sorted({i for p in FFPP_PAIRS for i in p})
    # c23 only: originals, 4 methods × pairs, 4 actor videos, 2 DeepFakeDetection fakes.
    assert len(entries) == len(ids) + len(FFPP_METHODS) * len(FFPP_PAIRS) + 4 + 2
    assert all("/c23/" in e.path and not Path(e.path).is_absolute() for e in entries)
    split_of = {e.path: e.split for e in entries}
    for method in FFPP_METHODS:
        for a, b in FFPP_PAIRS:
            fake = split_of[f"manipulated_sequences/{method}/c23/videos/{a}_{b}.mp4"]
            assert fake == split_of[f"original_sequences/youtube/c23/videos/{a}.mp4"]
            assert fake == split_of[f"original_sequences/youtube/c23/videos/{b}.mp4"]
    dfd = next(e for e in entries if e.path.endswith("01_02__meeting__YVGY8LOK.mp4"))
    assert dfd.identities == ("actor:01", "actor:02") and dfd.method == "DeepFakeDetection"
    actor_splits = {
        e.split
        for e in entries
        if "actor:01" in e.identities or "actor:02" in e.identities or "actor:03" in e.identities
    }
    assert len(actor_splits) == 1  # 01-02 and 03-01 chain actors 01, 02 and 03 together
    assert check_disjoint(entries) == []
    assert {e.split for e in entries} == {"train", "val", "test"}
    by_label = defaultdict(set)
    for e in entries:
        by_label[e.label].add(e.method)
    assert by_label["REAL"] == {"original"}
    assert by_label["FAKE"] == {*FFPP_METHODS, "DeepFakeDetection"}


def test_faceforensics_compression_and_method_filters(tmp_path: Path) -> None:
    root = make_ffpp_tree(tmp_path / "ffpp")
    out = tmp_path / "c40.json"
    _index(str(root), "--compression", "c40", "--methods", "Deepfakes", "--out", str(out))
    data = json.loads(out.read_text())
    assert data["layout"] == "ffpp"
    methods = {v["method"] for v in data["videos"]}
    assert methods == {"original", "Deepfakes"}
    assert all("/c40/" in v["path"] for v in data["videos"])
    assert all(isinstance(v["identities"], list) for v in data["videos"])
    assert len(read_manifest(out).entries) == len(data["videos"])


def test_splits_are_seeded_and_near_the_requested_fractions(tmp_path: Path) -> None:
    root = make_ffpp_tree(tmp_path / "ffpp")
    a, b, c = (tmp_path / f"{n}.csv" for n in "abc")
    _index(str(root), "--out", str(a), "--seed", "1", "--val", "0.25", "--test", "0.25")
    _index(str(root), "--out", str(b), "--seed", "1", "--val", "0.25", "--test", "0.25")
    _index(str(root), "--out", str(c), "--seed", "2", "--val", "0.25", "--test", "0.25")
    assert a.read_text() == b.read_text()
    assert a.read_text() != c.read_text()
    entries = read_manifest(a).entries
    share = {s: sum(e.split == s for e in entries) / len(entries) for s in ("train", "val")}
    # Groups hold 10 videos here (2 originals + 8 fakes), so fractions move in steps of ~10 %.
    assert abs(share["train"] - 0.5) <= 0.15
    assert abs(share["val"] - 0.25) <= 0.15


def test_dfdc_fakes_share_the_split_of_their_original(tmp_path: Path) -> None:
    root = make_dfdc_tree(tmp_path / "dfdc")
    out = _index(str(root), "--val", "0.3", "--test", "0.3", "--seed", "0")
    assert "dfdc layout" in out
    entries = read_manifest(root / "manifest.csv").entries
    assert not any("zzz_missing" in e.path for e in entries)  # listed but absent: skipped
    assert len(entries) == 14
    split_of = {Path(e.path).stem: e.split for e in entries}
    groups = {"aaa": "bbb ccc", "ddd": "eee", "ggg": "hhh iii jjj", "kkk": "lll", "mmm": "nnn"}
    for original, fakes in groups.items():
        assert {split_of[f] for f in fakes.split()} == {split_of[original]}
    assert all(e.method == ("dfdc" if e.label == "FAKE" else "original") for e in entries)

    grouped = tmp_path / "grouped.csv"
    _index(str(root), "--folder-groups", "--out", str(grouped), "--val", "0.3", "--test", "0.3")
    parts = defaultdict(set)
    for e in read_manifest(grouped).entries:
        parts[Path(e.path).parent.name].add(e.split)
    assert all(len(s) == 1 for s in parts.values())


def test_folders_layout_methods_and_identity_rules(tmp_path: Path) -> None:
    root = tmp_path / "lab"
    for rel in (
        "real/183.mp4",
        "real/253.mp4",
        "real/interview.mov",
        "fake/x_183_253.mp4",
        "fake/FaceSwap/253_183.mp4",
        "fake/notes.txt",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\x00")
    _index(str(root), "--val", "0.3", "--test", "0.3")
    rows = {e.path: e for e in read_manifest(root / "manifest.csv").entries}
    assert set(rows) == {
        "real/183.mp4",
        "real/253.mp4",
        "real/interview.mov",
        "fake/x_183_253.mp4",
        "fake/FaceSwap/253_183.mp4",
    }
    assert rows["fake/x_183_253.mp4"].identities == ("183", "253")
    assert rows["fake/x_183_253.mp4"].method == "unknown"
    assert rows["fake/FaceSwap/253_183.mp4"].method == "FaceSwap"
    assert rows["real/interview.mov"].identities == ("real/interview",)
    assert len({rows[p].split for p in rows if p != "real/interview.mov"}) == 1

    own = tmp_path / "own.csv"
    _index(str(root), "--no-identities", "--out", str(own))
    assert all(
        len(e.identities) == 1 and "/" in e.identities[0] for e in read_manifest(own).entries
    )


def test_official_faceforensics_splits_are_followed(tmp_path: Path) -> None:
    root = make_ffpp_tree(tmp_path / "ffpp")
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "train.json").write_text(json.dumps([["183", "253"], ["469", "481"]]))
    (splits / "val.json").write_text(json.dumps([["720", "672"]]))
    (splits / "test.json").write_text(json.dumps([["004", "982"]]))
    _index(str(root), "--official-splits", str(splits))
    split_of = {e.path: e.split for e in read_manifest(root / "manifest.csv").entries}
    assert split_of["original_sequences/youtube/c23/videos/183.mp4"] == "train"
    assert split_of["manipulated_sequences/FaceSwap/c23/videos/672_720.mp4"] == "val"
    assert split_of["manipulated_sequences/Deepfakes/c23/videos/982_004.mp4"] == "test"


def test_union_find_joins_chains_and_refuses_conflicting_fixed_splits() -> None:
    entries = [
        VideoEntry("a.mp4", "REAL", identities=("A",)),
        VideoEntry("ab.mp4", "FAKE", identities=("A", "B")),
        VideoEntry("bc.mp4", "FAKE", identities=("B", "C")),
        VideoEntry("d.mp4", "REAL", identities=("D",)),
        VideoEntry("e.mp4", "REAL"),  # no identity: its own group
    ]
    groups = identity_groups(entries)
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3], [4]]
    with pytest.raises(TrainingError, match="fixed to splits"):
        assign_splits(entries, fixed={"A": "train", "C": "test"})
    with pytest.raises(TrainingError, match="less than 1"):
        assign_splits(entries, val=0.5, test=0.5)


def test_identity_pattern_and_manifest_errors(tmp_path: Path) -> None:
    assert identities_from_name("ffpp_c23_Deepfakes_183_253", "x", DEFAULT_IDENTITY_PATTERN) == (
        "183",
        "253",
    )
    assert identities_from_name("orig_youtube_004", "x", DEFAULT_IDENTITY_PATTERN) == ("004",)
    assert identities_from_name("clip_12", "own", DEFAULT_IDENTITY_PATTERN) == ("own",)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nx.mp4,maybe\n")
    with pytest.raises(TrainingError, match="Unknown label"):
        read_manifest(bad)
    good = write_manifest(tmp_path / "m.csv", [VideoEntry("v.mp4", "FAKE", "m", ("1", "2"))])
    assert read_manifest(good).entries[0].identities == ("1", "2")
    res = CliRunner().invoke(cli, ["dataset", "index", str(tmp_path)])
    assert res.exit_code != 0 and "Cannot tell the layout" in res.output
