"""The backbone's runtime: which may run on which CPU, how the choice is made and cached,
the shared embedder, and that every runtime available here keeps the verdicts."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from deepfake_web.detection import backbones, runtime_choice, runtimes
from deepfake_web.detection.embedder import SharedEmbedder
from deepfake_web.detection.runtime_choice import RuntimeChooser
from deepfake_web.detection.runtimes import (
    OPENVINO_BF16,
    OPENVINO_FP32,
    TORCH_BF16,
    TORCH_FP32,
    CpuFacts,
    candidates,
    pick_fastest,
    read_cpu_facts,
    runtime_name,
)

AVX2 = CpuFacts("AMD EPYC", frozenset({"sse4_2", "avx", "avx2", "fma"}), 2)
AVX512_BF16 = CpuFacts(
    "Intel Xeon (Cooper Lake)", frozenset({"avx2", "fma", "avx512f", "avx512_bf16"}), 8
)
AMX = CpuFacts("Intel Xeon (Sapphire Rapids)", frozenset({"avx2", "avx512f", "amx_bf16"}), 8)


def _eligible(facts: CpuFacts, openvino: bool) -> set[str]:
    return {c.name for c in candidates(facts, "cpu", openvino) if c.eligible}


def test_bf16_is_a_candidate_only_where_the_cpu_has_bf16_arithmetic() -> None:
    assert not AVX2.bf16 and AVX512_BF16.bf16 and AMX.bf16
    assert _eligible(AVX2, openvino=True) == {TORCH_FP32, OPENVINO_FP32}
    assert _eligible(AVX2, openvino=False) == {TORCH_FP32}
    assert _eligible(AVX512_BF16, openvino=True) == set(runtimes.RUNTIMES)
    assert _eligible(AMX, openvino=False) == {TORCH_FP32, TORCH_BF16}
    reason = next(c.reason for c in candidates(AVX2) if c.name == TORCH_BF16)
    assert "no bf16 arithmetic" in reason


def test_on_a_gpu_the_backbone_runs_in_torch() -> None:
    cands = {c.name: c.eligible for c in candidates(AVX2, "cuda", openvino=True, cuda_bf16=True)}
    assert cands == {TORCH_FP32: True, TORCH_BF16: True, OPENVINO_FP32: False, OPENVINO_BF16: False}


def test_precision_names() -> None:
    assert runtime_name("auto") is None
    assert runtime_name("fp32") == TORCH_FP32 and runtime_name("bf16") == TORCH_BF16
    assert runtime_name(OPENVINO_FP32) == OPENVINO_FP32
    with pytest.raises(ValueError, match="unknown precision"):
        runtime_name("int4")


def test_cpu_facts_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 fma avx512_bf16\n\n"
        "processor\t: 1\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 fma avx512_bf16\n"
    )
    facts = read_cpu_facts(info)
    assert facts.model == "Test CPU 9000"
    assert facts.bf16 and facts.vector_flags == ["avx2", "avx512_bf16", "fma"]
    assert facts.key({"torch": "1"}) != facts.key({"torch": "2"})


def test_the_fastest_runtime_within_the_drift_bound_is_picked() -> None:
    best, why = pick_fastest({TORCH_FP32: 40.0, OPENVINO_FP32: 20.0}, {OPENVINO_FP32: 1e-6})
    assert best == OPENVINO_FP32 and "2.00×" in why
    best, why = pick_fastest({TORCH_FP32: 40.0, TORCH_BF16: 10.0}, {TORCH_BF16: 0.5})
    assert best == TORCH_FP32 and "rejected for feature drift" in why
    best, _ = pick_fastest({TORCH_FP32: None, OPENVINO_FP32: None}, {})
    assert best == TORCH_FP32


@pytest.fixture
def fake_measure(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the timing of runtimes: bf16 would be fastest, whatever the CPU."""
    calls: list[list[str]] = []
    speed = {TORCH_FP32: 40.0, TORCH_BF16: 5.0, OPENVINO_FP32: 20.0, OPENVINO_BF16: 4.0}

    def measure(names, device, root):
        calls.append(list(names))
        return {n: speed[n] for n in names}, {n: 1e-3 for n in names}

    monkeypatch.setattr(backbones, "measure_runtimes", measure)
    monkeypatch.setattr(runtime_choice, "openvino_version", lambda: "2026.4.1")
    monkeypatch.setattr(runtimes, "openvino_version", lambda: "2026.4.1")
    return calls


def test_avx2_never_gets_bf16_even_when_it_would_measure_fastest(
    tmp_path: Path, fake_measure: list[list[str]]
) -> None:
    choice = RuntimeChooser(tmp_path, AVX2).resolve("auto", "cpu")
    assert fake_measure == [[TORCH_FP32, OPENVINO_FP32]]
    assert choice.runtime == OPENVINO_FP32
    assert "bf16" not in choice.runtime


def test_a_bf16_cpu_gets_the_fastest_and_the_choice_is_cached(
    tmp_path: Path, fake_measure: list[list[str]]
) -> None:
    chooser = RuntimeChooser(tmp_path, AMX)
    first = chooser.resolve("auto", "cpu")
    assert first.runtime == OPENVINO_BF16
    assert fake_measure == [[TORCH_FP32, TORCH_BF16, OPENVINO_FP32, OPENVINO_BF16]]
    stored = json.loads(chooser.cache_file("cpu").read_text())
    assert stored["runtime"] == OPENVINO_BF16 and stored["measured_ms"][TORCH_BF16] == 5.0
    again = RuntimeChooser(tmp_path, AMX).resolve("auto", "cpu")  # a new process: the file
    assert again.runtime == OPENVINO_BF16 and len(fake_measure) == 1
    other_cpu = RuntimeChooser(tmp_path, AVX2).resolve("auto", "cpu")
    assert other_cpu.runtime == OPENVINO_FP32 and len(fake_measure) == 2


def test_named_precisions_are_taken_as_asked(tmp_path: Path, fake_measure) -> None:
    chooser = RuntimeChooser(tmp_path, AVX2)
    assert chooser.resolve("fp32", "cpu").runtime == TORCH_FP32
    forced = chooser.resolve("bf16", "cpu")  # an explicit request is honoured, with a note
    assert forced.runtime == TORCH_BF16 and "no bf16 arithmetic" in forced.reason
    assert fake_measure == []


def test_without_openvino_auto_needs_no_measurement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_choice, "openvino_version", lambda: None)

    def boom(*args):
        raise AssertionError("nothing to measure with one candidate")

    monkeypatch.setattr(backbones, "measure_runtimes", boom)
    choice = RuntimeChooser(tmp_path, AVX2).resolve("auto", "cpu")
    assert choice.runtime == TORCH_FP32 and "only candidate" in choice.reason


def test_this_machine_never_chooses_bf16_without_bf16_arithmetic() -> None:
    facts = read_cpu_facts()
    allowed = _eligible(facts, openvino=True)
    assert (TORCH_BF16 in allowed) == facts.bf16
    assert (OPENVINO_BF16 in allowed) == facts.bf16


# --- the shared embedder --------------------------------------------------------------


def test_shared_embedder_batches_concurrent_requests_and_returns_each_its_rows() -> None:
    seen: list[int] = []
    gate = threading.Event()

    def backbone(x: torch.Tensor) -> torch.Tensor:
        gate.wait(5)  # hold the first call so that the others queue up behind it
        seen.append(x.shape[0])
        return x.flatten(1).sum(1, keepdim=True).repeat(1, 4)

    embedder = SharedEmbedder(max_batch=64)
    inputs = [torch.full((n, 3, 2, 2), float(i)) for i, n in enumerate((3, 5, 7, 9))]
    results: dict[int, torch.Tensor] = {}

    def run(i: int) -> None:
        results[i] = embedder.embed(backbone, inputs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    threads[0].start()
    while embedder._queue.qsize():  # the first request is taken by the embedder thread
        time.sleep(0.001)
    for t in threads[1:]:
        t.start()
    while embedder._queue.qsize() < 3:
        time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(10)
    embedder.close()
    for i, x in enumerate(inputs):
        assert torch.equal(results[i], backbone(x))
    assert seen[:2] == [3, 5 + 7 + 9]  # the three that waited ran as one batch


def test_shared_embedder_hands_failures_to_the_caller() -> None:
    def broken(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("backbone exploded")

    embedder = SharedEmbedder()
    with pytest.raises(RuntimeError, match="exploded"):
        embedder.embed(broken, torch.zeros(1, 3, 2, 2))
    assert torch.equal(embedder.embed(lambda x: x + 1, torch.zeros(1)), torch.ones(1))
    embedder.close()
