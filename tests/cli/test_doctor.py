"""``deepfake-web doctor``: the runtime chosen for the backbone, with the CPU facts and why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from deepfake_web.cli import cli
from deepfake_web.detection import backbones, runtime_choice
from deepfake_web.detection.runtimes import read_cpu_facts


def test_doctor_says_what_runs_and_why() -> None:
    res = CliRunner().invoke(cli, ["doctor", "--precision", "fp32", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    facts = read_cpu_facts()
    assert data["runtime"] == "torch-fp32" and "asked for" in data["reason"]
    assert data["cpu"]["bf16"] == facts.bf16
    assert ("avx2" in data["cpu"]["flags"]) == ("avx2" in facts.flags)
    names = {c["name"]: c["eligible"] for c in data["candidates"]}
    assert names["torch-fp32"] and names["torch-bf16"] == facts.bf16
    assert data["cache_dir"] == os.environ["DEEPFAKE_CACHE_DIR"]
    text = CliRunner().invoke(cli, ["doctor", "--precision", "fp32"]).output
    assert "chosen: torch-fp32" in text and "reference mode always uses torch-fp32" in text


def test_doctor_measure_caches_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPFAKE_CACHE_DIR", str(tmp_path))

    def measure(names, device, root):
        return {n: 10.0 + i for i, n in enumerate(names)}, {n: 0.0 for n in names}

    monkeypatch.setattr(backbones, "measure_runtimes", measure)
    monkeypatch.setattr(runtime_choice, "openvino_version", lambda: "2026.4.1")
    res = CliRunner().invoke(cli, ["doctor", "--measure", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["runtime"] == "torch-fp32"  # the fake figures make it the fastest
    assert data["measured_ms"]["torch-fp32"] == 10.0
    assert Path(data["cache_file"]).parent == tmp_path and Path(data["cache_file"]).is_file()
    again = json.loads(CliRunner().invoke(cli, ["doctor", "--precision", "auto", "--json"]).output)
    assert again["measured_ms"] == data["measured_ms"]  # read from the cache, not measured
