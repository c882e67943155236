"""Resolving the precision setting to a runtime on this machine: named, cached or measured.

The facts and rules are in :mod:`.runtimes` (no torch); this module measures (torch) and
keeps one decision per CPU, device and library versions in the cache folder.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path

from deepfake_web.files import write_bytes

from .errors import DetectionError
from .runtimes import (
    TORCH_FP32,
    Candidate,
    Choice,
    CpuFacts,
    cache_dir,
    candidates,
    library_versions,
    openvino_version,
    pick_fastest,
    read_cpu_facts,
    runtime_name,
)

log = logging.getLogger(__name__)


class RuntimeChooser:
    """Resolves a precision setting to a runtime for a device, measuring once per CPU."""

    def __init__(self, folder: Path | None = None, facts: CpuFacts | None = None) -> None:
        """Keep choices in ``folder`` (default: the cache folder) for ``facts`` (this CPU)."""
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.facts = facts or read_cpu_facts()
        self._lock = threading.Lock()

    def _candidates(self, device: str) -> list[Candidate]:
        cuda_bf16 = False
        if device == "cuda":
            import torch

            cuda_bf16 = bool(torch.cuda.is_bf16_supported())
        return candidates(self.facts, device, openvino_version() is not None, cuda_bf16)

    def cache_file(self, device: str) -> Path:
        """The file holding this CPU's (and device's) choice."""
        return self.folder / f"runtime-{device}-{self.facts.key(library_versions())}.json"

    def cached(self, device: str) -> Choice | None:
        """The cached choice for this CPU and device, if any (and readable)."""
        path = self.cache_file(device)
        try:
            data = json.loads(path.read_text())
            return Choice(**data)
        except (OSError, ValueError, TypeError):
            return None

    def resolve(self, precision: str, device: str = "cpu", measure: bool = True) -> Choice:
        """The runtime for ``precision`` on ``device``: named, cached, or measured now."""
        cands = self._candidates(device)
        facts = {"model": self.facts.model, "cores": self.facts.cores}
        facts["flags"] = self.facts.vector_flags
        rows = [asdict(c) for c in cands]
        named = runtime_name(precision)
        if named is not None:
            cand = next(c for c in cands if c.name == named)
            if named.startswith("openvino") and openvino_version() is None:
                raise DetectionError(f"{named} was asked for but openvino is not installed")
            if named.startswith("openvino") and device != "cpu":
                raise DetectionError(f"{named} runs on the CPU only; the device is {device}")
            why = f"asked for by the precision setting ({precision})"
            if not cand.eligible:
                why += f"; note: {cand.reason}"
            return Choice(named, why, device, facts, rows, versions=library_versions())
        eligible = [c.name for c in cands if c.eligible]
        if eligible == [TORCH_FP32]:
            why = "the only candidate here: " + "; ".join(
                f"{c.name}: {c.reason}" for c in cands if not c.eligible
            )
            return Choice(TORCH_FP32, why, device, facts, rows, versions=library_versions())
        with self._lock:
            found = self.cached(device)
            if found is not None and found.runtime in eligible:
                return found
            if not measure:
                return Choice(
                    TORCH_FP32,
                    "not measured yet on this CPU (`deepfake-web doctor --measure`)",
                    device,
                    facts,
                    rows,
                    versions=library_versions(),
                )
            return self.measure(device, eligible, rows, facts)

    def measure(self, device: str, names: list[str], rows: list[dict], facts: dict) -> Choice:
        """Time each runtime in ``names`` on a random-weight backbone; cache the choice."""
        from .backbones import measure_runtimes

        log.warning(
            "choosing the backbone's runtime for this CPU (once; cached in %s): measuring %s",
            self.folder,
            ", ".join(names),
        )
        measured, drift = measure_runtimes(names, device, self.folder)
        best, why = pick_fastest(measured, drift)
        choice = Choice(
            best,
            why,
            device,
            facts,
            rows,
            measured_ms=measured,
            drift=drift,
            versions=library_versions(),
            measured_at=time.time(),
        )
        path = self.cache_file(device)
        choice.cache_file = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, json.dumps(choice.to_dict(), indent=2).encode())
        log.warning("backbone runtime for this CPU: %s (%s)", best, why)
        return choice

    def remeasure(self, device: str = "cpu") -> Choice:
        """Measure every eligible runtime again and replace the cached choice."""
        cands = self._candidates(device)
        facts = {"model": self.facts.model, "cores": self.facts.cores}
        facts["flags"] = self.facts.vector_flags
        with self._lock:
            eligible = [c.name for c in cands if c.eligible]
            return self.measure(device, eligible, [asdict(c) for c in cands], facts)


_CHOOSERS: dict[str, RuntimeChooser] = {}
_CHOOSERS_LOCK = threading.Lock()


def chooser() -> RuntimeChooser:
    """The process's chooser for the current cache folder."""
    folder = str(cache_dir())
    with _CHOOSERS_LOCK:
        if folder not in _CHOOSERS:
            _CHOOSERS[folder] = RuntimeChooser(Path(folder))
        return _CHOOSERS[folder]
