"""Benchmark the detection engine: seconds per stage and in total, and peak memory.

Each configuration (video × sequence length × mode) runs in a fresh process: the model is
loaded and warmed up on a short run first, then the measured run follows ("warm model").
Peak RSS is the process's maximum resident memory (model, dlib and the run included).

    .venv/bin/python benchmarks/bench_detector.py                 # default grid
    .venv/bin/python benchmarks/bench_detector.py --frames 60 --modes standard --repeat 3
    .venv/bin/python benchmarks/bench_detector.py --original      # + the original app's code path

Without --checkpoint, a random-weight published-format checkpoint is written to a
temporary folder (timings do not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media" / "videos"
DEFAULT_VIDEOS = {
    "720p": MEDIA / "real" / "polimi_ffpp_c23_orig_004.mp4",
    "1080p": MEDIA / "real" / "polimi_dfdc_lynaeydofd.mp4",
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(args: argparse.Namespace) -> None:
    """Child process: warm up, then time one configuration and print one JSON line."""
    from deepfake_web.detection import Detector, DetectorConfig

    config = DetectorConfig(precision=args.precision, batch_size=args.batch_size)
    detector = Detector.from_checkpoint(args.checkpoint, config=config)
    t0 = time.perf_counter()
    detector(args.video, 4, mode="standard")  # loads the model and dlib, warms the caches
    warm_s = time.perf_counter() - t0
    runs = []
    for _ in range(args.repeat):
        r = detector(args.video, args.n, mode=args.mode)
        runs.append(r)
    t = [r.timings for r in runs]
    out = {
        "video": args.label,
        "frames": args.n,
        "mode": args.mode,
        "precision": args.precision,
        "first_call_s": round(warm_s, 2),
        "decode_s": statistics.median(x.decode_s for x in t),
        "faces_s": statistics.median(x.faces_s for x in t),
        "model_s": statistics.median(x.model_s for x in t),
        "total_s": statistics.median(x.total_s for x in t),
        "faces_found": sum(1 for s in runs[-1].frame_scores if s.box),
        "p_fake": runs[-1].p_fake,
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(json.dumps(out))


def run_original(args: argparse.Namespace) -> None:
    """Child process: the original app's computation (tests/factories/original_app.py)."""
    import warnings

    warnings.simplefilter("ignore")
    from tests.factories.original_app import original_p_fake

    t0 = time.perf_counter()
    p = original_p_fake(Path(args.video), args.n, Path(args.checkpoint))
    out = {
        "video": args.label,
        "frames": args.n,
        "mode": "original app (re-stated)",
        "total_s": time.perf_counter() - t0,
        "p_fake": p,
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(json.dumps(out))


def make_checkpoint(folder: Path) -> Path:
    """Write a random-weight published-format checkpoint (timing only)."""
    import torch

    from deepfake_web.detection.network import PublishedNet

    torch.manual_seed(0)
    path = folder / "model_0_acc_60_frames_benchmark_data.pt"
    torch.save(PublishedNet().state_dict(), path)
    return path


def child(argv: list[str]) -> dict:
    """Run this script in a fresh process and parse its JSON line."""
    out = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse options, run the grid, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--frames", type=int, nargs="+", default=[20, 60, 100])
    parser.add_argument("--modes", nargs="+", default=["standard", "reference"])
    parser.add_argument("--videos", nargs="+", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--original", action="store_true", help="also time the original code")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--orig-one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return run_one(args)
    if args.orig_one:
        return run_original(args)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or make_checkpoint(Path(tmp))
        rows = []
        for label in args.videos:
            video = DEFAULT_VIDEOS.get(label, Path(label))
            for n in args.frames:
                for mode in args.modes:
                    row = child(
                        ["--one", "--video", str(video), "--label", label, "--n", str(n),
                         "--mode", mode, "--checkpoint", str(checkpoint),
                         "--precision", args.precision, "--batch-size", str(args.batch_size),
                         "--repeat", str(args.repeat)]
                    )  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
                if args.original:
                    row = child(
                        ["--orig-one", "--video", str(video), "--label", label, "--n", str(n),
                         "--checkpoint", str(checkpoint)]
                    )  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)

    print(
        "| video | N | mode | decode s | faces s (CPU) | model s | total s | faces | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [
            r["video"],
            r["frames"],
            r["mode"] + ("" if r.get("precision", "fp32") == "fp32" else f" ({r['precision']})"),
            *(f"{r[k]:.2f}" if k in r else "–" for k in ("decode_s", "faces_s", "model_s")),
            f"{r['total_s']:.2f}",
            f"{r['faces_found']}/{r['frames']}" if "faces_found" in r else "–",
            r["peak_rss_mb"],
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
