"""The backbone's runtimes: PyTorch (fp32 channels-last, bf16 autocast) and OpenVINO (f32, bf16).

Each runtime is a callable mapping a normalised ``(N, 3, S, S)`` float tensor to ``(N, 2048)``
float32 features. A network's runtimes are built once per process and kept on its
:class:`~.checkpoints.LoadedModel`. OpenVINO models are converted once per checkpoint and
kept in the cache folder, keyed by the checkpoint's SHA-256, the input size and the
openvino version; OpenVINO's compiled-model cache lives beside them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .runtimes import (
    MEASURE_BATCH,
    MEASURE_SIZE,
    OPENVINO_BF16,
    OPENVINO_FP32,
    TORCH_BF16,
    TORCH_FP32,
    cache_dir,
    openvino_version,
)

log = logging.getLogger(__name__)

Backbone = Callable[[torch.Tensor], torch.Tensor]
_BUILD_LOCK = threading.Lock()


class _Embed(nn.Module):
    """A network's ResNeXt part and pooling as a module's forward (what OpenVINO converts)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.model(images), 1), 1)

    embed = forward


class TorchBackbone:
    """PyTorch on the model's device: channels-last input, fp32 or bf16 autocast."""

    def __init__(self, net: nn.Module, device: Any, bf16: bool = False) -> None:
        """Run ``net.embed`` on ``device``, in bf16 autocast when ``bf16``."""
        self.net, self.device, self.bf16 = net, device, bf16

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(N, 2048)`` (float32, on the model's device)."""
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16),
        ):
            return self.net.embed(x).float()


class OpenVinoBackbone:
    """OpenVINO's CPU plugin on an IR converted from the network (f32 or bf16 inference)."""

    def __init__(self, xml: Path, bf16: bool = False, threads: int | None = None) -> None:
        """Compile the IR at ``xml`` for the CPU (bf16 inference precision when ``bf16``)."""
        import openvino as ov

        core = ov.Core()
        core.set_property({"CACHE_DIR": str(xml.parent.parent / "compiled")})
        config = {
            "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
        }
        self.compiled = core.compile_model(str(xml), "CPU", config)
        self.bf16 = bf16

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(N, 2048)`` (float32, on the CPU)."""
        request = self.compiled.create_infer_request()  # one per call: thread-safe
        out = request.infer({0: x.detach().cpu().contiguous().numpy()})
        return torch.from_numpy(next(iter(out.values())).copy())


def convert_openvino(net: nn.Module, image_size: int, folder: Path) -> Path:
    """Convert ``net``'s backbone to OpenVINO IR in ``folder`` (once: kept when present)."""
    import openvino as ov

    xml = folder / "backbone.xml"
    if xml.is_file() and xml.with_suffix(".bin").is_file():
        return xml
    t0 = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        module = _Embed(net.model).eval()
        example = torch.zeros(2, 3, image_size, image_size)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracing's deprecation notices, not ours to fix
            model = ov.convert_model(
                module, example_input=example, input=[(-1, 3, image_size, image_size)]
            )
        ov.save_model(model, str(tmp / "backbone.xml"), compress_to_fp16=False)
        try:
            tmp.rename(folder)
        except OSError:  # another process converted it meanwhile
            if not xml.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted the backbone to OpenVINO in %.1f s: %s", time.perf_counter() - t0, folder)
    return xml


def openvino_folder(sha256: str, image_size: int, root: Path | None = None) -> Path:
    """Where a checkpoint's OpenVINO IR is kept: by SHA-256, input size and openvino version."""
    root = root or cache_dir()
    return root / "openvino" / f"{sha256[:16]}-s{image_size}-ov{openvino_version()}"


def build_backbone_runtime(
    runtime: str,
    net: nn.Module,
    device: Any,
    sha256: str,
    image_size: int,
    root: Path | None = None,
) -> Backbone:
    """Build ``runtime`` for ``net`` (OpenVINO converts, or reads its cached IR)."""
    if runtime == TORCH_FP32:
        return TorchBackbone(net, device, bf16=False)
    if runtime == TORCH_BF16:
        return TorchBackbone(net, device, bf16=True)
    if runtime in (OPENVINO_FP32, OPENVINO_BF16):
        xml = convert_openvino(net, image_size, openvino_folder(sha256, image_size, root))
        return OpenVinoBackbone(xml, bf16=runtime == OPENVINO_BF16)
    raise ValueError(f"unknown runtime {runtime!r}")


def backbone_for(model: Any, runtime: str) -> Backbone:
    """``model``'s backbone in ``runtime``, built once per loaded model and runtime."""
    with _BUILD_LOCK:
        built = model.runtimes.get(runtime)
        if built is None:
            t0 = time.perf_counter()
            built = build_backbone_runtime(
                runtime, model.net, model.device, model.sha256, model.preprocessing.image_size
            )
            model.runtimes[runtime] = built
            took = time.perf_counter() - t0
            log.info("%s ready for %s in %.1f s", runtime, model.info.name, took)
        return built


def _time_per_crop(run: Backbone, x: torch.Tensor, budget_s: float = 3.0) -> float:
    """Median milliseconds per crop over a few batches (one untimed warm-up batch first)."""
    run(x)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 2 or (len(times) < 5 and time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1000 * times[len(times) // 2] / x.shape[0]


def measure_runtimes(
    names: list[str], device: str, root: Path
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Milliseconds per crop and relative feature drift vs fp32 for each runtime in ``names``.

    Uses a random-weight backbone (speed does not depend on the weights) with a fixed seed;
    a runtime that fails to build or run is reported as None and never chosen.
    """
    from .checkpoints import resolve_device
    from .network import build_backbone

    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = _Embed(build_backbone()).eval().to(dev)
    x = torch.randn(MEASURE_BATCH, 3, MEASURE_SIZE, MEASURE_SIZE, generator=gen)
    reference = TorchBackbone(net, dev)(x[:8]).cpu()
    measured: dict[str, float | None] = {}
    drift: dict[str, float | None] = {}
    for name in names:
        try:
            run = build_backbone_runtime(name, net, dev, "random-backbone", MEASURE_SIZE, root)
            feats = run(x[:8]).cpu()
            drift[name] = float((feats - reference).abs().max() / reference.abs().max())
            measured[name] = round(_time_per_crop(run, x), 2)
        except Exception as exc:  # a runtime that cannot run here is simply not chosen
            log.warning("runtime %s could not be measured: %s", name, exc)
            measured[name], drift[name] = None, None
    return measured, drift
