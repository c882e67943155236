"""Benchmark the detection engine: seconds per stage and in total, and peak memory.

Each configuration (video × sequence length × mode × precision) runs in a fresh process: the
model is loaded and warmed up on a short run first, then the measured run follows ("warm
model"). Peak RSS is the process's maximum resident memory (model, dlib and the run
included). By default every configuration runs with today's PyTorch fp32 path and with the
runtime chosen for this CPU (``auto``; `deepfake-web doctor` says which and why).

    .venv/bin/python benchmarks/bench_detector.py --original --cold   # the whole comparison
    .venv/bin/python benchmarks/bench_detector.py --frames 60 --videos 720p --repeat 3
    .venv/bin/python benchmarks/bench_detector.py --modes standard reference

``--original`` adds the original app's code path (tests/factories/original_app.py) for each
clip and length; ``--cold`` times a cold ``deepfake-web predict <720p clip> --frames 60``
(a new process, model on disk) with each precision. Without --checkpoint, a random-weight
published-format checkpoint is written to a temporary folder (timings do not depend on the
weights' values).
"""

from __future__ import annotations

import argparse
import json
import os
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
    runtime = detector.runtime().runtime if args.mode == "standard" else "torch-fp32"
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
        "runtime": runtime,
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


def cold_predict(video: Path, checkpoint: Path, precision: str, frames: int = 60) -> dict:
    """Wall time and peak memory of ``deepfake-web predict`` in a new process."""
    args = ["predict", str(video), "--frames", str(frames), "--checkpoint", str(checkpoint)]
    args += ["--precision", precision, "--json", "-"]
    # The console script's own code, with the process's peak memory printed as it exits.
    code = (
        "import resource, sys\nfrom deepfake_web.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "finally:\n    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " file=sys.stderr)"
    )
    argv = [sys.executable, "-c", code, *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"cold predict failed: {err[-2000:]}")
    peak_kb = int(err.rsplit("PEAK", 1)[1].split()[0])
    result = json.loads(out)[0]
    return {
        "precision": precision,
        "frames": frames,
        "wall_s": round(wall, 2),
        "engine_total_s": round(result["timings"]["total_s"], 2),
        "load_s": round(result["timings"]["load_s"], 2),
        "p_fake": result["p_fake"],
        "notes": result["notes"],
        "peak_rss_mb": round(peak_kb / 1024),
    }


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
    parser.add_argument("--modes", nargs="+", default=["standard"])
    parser.add_argument("--videos", nargs="+", default=list(DEFAULT_VIDEOS))
    parser.add_argument(
        "--precisions", nargs="+", default=["fp32", "auto"], help="standard mode's runtimes"
    )
    parser.add_argument("--cold", action="store_true", help="also time a cold predict")
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
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return run_one(args)
    if args.orig_one:
        return run_original(args)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or make_checkpoint(Path(tmp))
        rows, cold = [], []
        print(f"load average before: {os.getloadavg()}", file=sys.stderr)
        for label in args.videos:
            video = DEFAULT_VIDEOS.get(label, Path(label))
            for n in args.frames:
                for mode in args.modes:
                    precisions = args.precisions if mode == "standard" else ["fp32"]
                    for precision in precisions:
                        row = child(
                            ["--one", "--video", str(video), "--label", label, "--n", str(n),
                             "--mode", mode, "--checkpoint", str(checkpoint),
                             "--precision", precision, "--batch-size", str(args.batch_size),
                             "--repeat", str(args.repeat)]
                        )  # fmt: skip
                        row["load_avg"] = round(os.getloadavg()[0], 1)
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr)
                if args.original:
                    row = child(
                        ["--orig-one", "--video", str(video), "--label", label, "--n", str(n),
                         "--checkpoint", str(checkpoint)]
                    )  # fmt: skip
                    row["load_avg"] = round(os.getloadavg()[0], 1)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
        if args.cold:
            for precision in args.precisions:
                row = cold_predict(DEFAULT_VIDEOS["720p"], checkpoint, precision)
                row["load_avg"] = round(os.getloadavg()[0], 1)
                cold.append(row)
                print(json.dumps(row), file=sys.stderr)

    print(
        "| video | N | path | decode s | faces s (CPU) | model s | total s | × original "
        "| faces | peak RSS MB | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    original = {(r["video"], r["frames"]): r["total_s"] for r in rows if "runtime" not in r}
    for r in rows:
        if "runtime" in r:
            path = f"{r['mode']}, {r['runtime']}"
            if r["precision"] == "auto":
                path += " (chosen)"
        else:
            path = r["mode"]
        base = original.get((r["video"], r["frames"]))
        cells = [
            r["video"],
            r["frames"],
            path,
            *(f"{r[k]:.2f}" if k in r else "–" for k in ("decode_s", "faces_s", "model_s")),
            f"{r['total_s']:.2f}",
            f"{base / r['total_s']:.1f}×" if base else "–",
            f"{r['faces_found']}/{r['frames']}" if "faces_found" in r else "–",
            r["peak_rss_mb"],
            r.get("load_avg", "–"),
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if cold:
        base = original.get(("720p", 60))
        print(
            "\n| cold `deepfake-web predict` 720p N=60 | wall s | engine total s | load s "
            "| × original | peak RSS MB | load |"
        )
        print("|---|---|---|---|---|---|---|")
        for c in cold:
            times = f"{base / c['wall_s']:.1f}×" if base else "–"
            cells = [f"--precision {c['precision']}", c["wall_s"], c["engine_total_s"]]
            cells += [c["load_s"], times, c["peak_rss_mb"], c["load_avg"]]
            print("| " + " | ".join(str(x) for x in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "cold": cold}, indent=2))


if __name__ == "__main__":
    main()
