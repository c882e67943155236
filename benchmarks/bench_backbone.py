"""Benchmark the ResNeXt50 backbone alone at 112×112: layout, precision, batch size.

Prints milliseconds per frame and how far each variant's features drift from plain fp32,
the evidence behind the engine's defaults (fp32, channels-last input in standard mode,
bf16 only on request).

    .venv/bin/python benchmarks/bench_backbone.py [--frames 64] [--batch 16 32 64]
"""

from __future__ import annotations

import argparse
import time

import torch

from deepfake_web.detection.network import build_backbone


def embed(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Backbone + global average pooling, as the engine does."""
    return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(model(x), 1), 1)


def run(model, x, batch: int, layout, bf16: bool, repeat: int) -> tuple[float, torch.Tensor]:
    """Median ms per frame over ``repeat`` passes, and the features of the last pass."""
    times, out = [], None
    with torch.inference_mode():
        for r in range(repeat + 1):  # the first pass warms up and is not counted
            t0 = time.perf_counter()
            parts = []
            for i in range(0, len(x), batch):
                xb = x[i : i + batch].contiguous(memory_format=layout)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    parts.append(embed(model, xb).float())
            out = torch.cat(parts)
            if r:
                times.append((time.perf_counter() - t0) / len(x) * 1000)
    return sorted(times)[len(times) // 2], out


def main() -> None:
    """Run the grid and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_backbone().eval()
    x = torch.randn(args.frames, 3, 112, 112)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")  # fmt: skip
    _, reference = run(model, x, 32, torch.contiguous_format, False, 1)
    print("| precision | input layout | batch | ms/frame | max rel. feature drift vs fp32 |")
    print("|---|---|---|---|---|")
    for bf16 in (False, True):
        for name, layout in (("contiguous", torch.contiguous_format),
                             ("channels_last", torch.channels_last)):  # fmt: skip
            for batch in args.batch if not bf16 else [32]:
                ms, out = run(model, x, batch, layout, bf16, args.repeat)
                drift = ((out - reference).abs().max() / reference.abs().max()).item()
                prec = "bf16 autocast" if bf16 else "fp32"
                print(f"| {prec} | {name} | {batch} | {ms:.1f} | {drift:.1e} |")


if __name__ == "__main__":
    main()
