"""Which runtime computes the backbone on this machine, and why (chosen once per CPU, cached).

Candidates: PyTorch fp32 with channels-last input (always), PyTorch bf16 autocast (only
where the CPU has bf16 arithmetic: ``avx512_bf16`` or ``amx_bf16``; on AVX2 it is about 6×
slower), OpenVINO in f32 (when the ``openvino`` package is installed) and OpenVINO in bf16
(bf16 CPUs only). ``auto`` measures the candidates once per CPU on a random-weight backbone
(speed does not depend on the weights' values), keeps those whose features stay within
:data:`MAX_FEATURE_DRIFT` of fp32, picks the fastest, and caches the decision in the cache
folder (``DEEPFAKE_CACHE_DIR``). ``reference`` mode always uses PyTorch fp32.

This module imports no torch at import time (the web process reads its names).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from deepfake_web.paths import default_cache_dir

log = logging.getLogger(__name__)

TORCH_FP32 = "torch-fp32"
TORCH_BF16 = "torch-bf16"
OPENVINO_FP32 = "openvino-fp32"
OPENVINO_BF16 = "openvino-bf16"
RUNTIMES = (TORCH_FP32, TORCH_BF16, OPENVINO_FP32, OPENVINO_BF16)
AUTO = "auto"
ALIASES = {"fp32": TORCH_FP32, "bf16": TORCH_BF16}
PRECISIONS = (AUTO, *ALIASES, *RUNTIMES)
"""Values of the precision setting: auto, fp32, bf16 or a runtime's name."""
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
MAX_FEATURE_DRIFT = 0.02
"""Largest relative feature difference to fp32 a runtime may show to be chosen by ``auto``."""
MEASURE_BATCH = 32
MEASURE_SIZE = 112
CHOICE_VERSION = 1


@dataclass(frozen=True)
class CpuFacts:
    """What the runtime choice depends on: the CPU's model, flags and cores."""

    model: str
    flags: frozenset[str]
    cores: int

    @property
    def bf16(self) -> bool:
        """Whether the CPU has bf16 arithmetic (AVX-512 BF16 or AMX)."""
        return any(f in self.flags for f in BF16_FLAGS)

    @property
    def vector_flags(self) -> list[str]:
        """The flags that matter for the backbone's speed (AVX2, AVX-512 parts, AMX)."""
        keep = ("avx2", "fma", "avx512", "amx", "avx_vnni")
        return sorted(f for f in self.flags if f.startswith(keep))

    def key(self, versions: dict[str, str | None]) -> str:
        """A short hash naming this CPU and the runtime libraries (the cache file's name)."""
        text = json.dumps([self.model, sorted(self.flags), self.cores, versions, CHOICE_VERSION])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_cpu_facts(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> CpuFacts:
    """This machine's CPU facts (the ``flags`` line of /proc/cpuinfo, as ``lscpu`` shows)."""
    model, flags = platform.processor() or platform.machine(), frozenset()
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "model name" and model in ("", platform.machine(), platform.processor()):
            model = value.strip()
        elif name == "flags" and not flags:
            flags = frozenset(value.split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return CpuFacts(model=model, flags=flags, cores=int(cores or 1))


def openvino_version() -> str | None:
    """The installed ``openvino`` package's version, or None."""
    try:
        return metadata.version("openvino")
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a runtime choice depends on."""
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {"torch": torch_version, "openvino": openvino_version()}


@dataclass(frozen=True)
class Candidate:
    """A runtime and whether it may run here, with the reason."""

    name: str
    eligible: bool
    reason: str


def candidates(
    facts: CpuFacts, device: str = "cpu", openvino: bool = False, cuda_bf16: bool = False
) -> list[Candidate]:
    """Every runtime with whether it may run on this device and CPU, and why (pure)."""
    if device == "cuda":
        return [
            Candidate(TORCH_FP32, True, "PyTorch on the GPU"),
            Candidate(
                TORCH_BF16,
                cuda_bf16,
                "the GPU has bf16" if cuda_bf16 else "the GPU has no bf16 arithmetic",
            ),
            Candidate(OPENVINO_FP32, False, "OpenVINO is used on CPUs only"),
            Candidate(OPENVINO_BF16, False, "OpenVINO is used on CPUs only"),
        ]
    flags = [f for f in BF16_FLAGS if f in facts.flags]
    bf16_why = (
        f"CPU has {', '.join(flags)}"
        if flags
        else "CPU has no bf16 arithmetic (no avx512_bf16 or amx_bf16): bf16 would be emulated"
    )
    ov_why = "openvino is installed" if openvino else "the openvino package is not installed"
    return [
        Candidate(TORCH_FP32, True, "always available (channels-last input)"),
        Candidate(TORCH_BF16, facts.bf16, bf16_why),
        Candidate(OPENVINO_FP32, openvino, ov_why),
        Candidate(OPENVINO_BF16, openvino and facts.bf16, f"{ov_why}; {bf16_why}"),
    ]


def runtime_name(precision: str) -> str | None:
    """The runtime a precision setting names (None for ``auto``); ValueError when unknown."""
    if precision == AUTO:
        return None
    name = ALIASES.get(precision, precision)
    if name not in RUNTIMES:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return name


@dataclass
class Choice:
    """The runtime chosen, why, and what was measured (ms per crop; None: not measured)."""

    runtime: str
    reason: str
    device: str
    cpu: dict
    candidates: list[dict]
    measured_ms: dict[str, float | None] = field(default_factory=dict)
    drift: dict[str, float | None] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    measured_at: float | None = None
    cache_file: str | None = None

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return asdict(self)


def pick_fastest(
    measured_ms: dict[str, float | None], drift: dict[str, float | None]
) -> tuple[str, str]:
    """The fastest measured runtime whose drift is within bounds, and a sentence saying why."""
    ok = {
        name: ms
        for name, ms in measured_ms.items()
        if ms is not None and (name == TORCH_FP32 or (drift.get(name) or 0.0) <= MAX_FEATURE_DRIFT)
    }
    if not ok:
        return TORCH_FP32, "no runtime could be measured; PyTorch fp32 is the safe default"
    best = min(ok, key=lambda n: ok[n])
    base = measured_ms.get(TORCH_FP32)
    figures = ", ".join(f"{n} {ms:.1f} ms" for n, ms in sorted(ok.items(), key=lambda kv: kv[1]))
    rejected = [n for n in measured_ms if n not in ok and measured_ms[n] is not None]
    why = f"fastest per crop ({figures})"
    if base and best != TORCH_FP32:
        why += f"; {base / ok[best]:.2f}× PyTorch fp32"
    if rejected:
        why += f"; rejected for feature drift > {MAX_FEATURE_DRIFT}: {', '.join(rejected)}"
    return best, why


def cache_dir() -> Path:
    """Where runtime choices and converted models are kept (``DEEPFAKE_CACHE_DIR``)."""
    return default_cache_dir()
