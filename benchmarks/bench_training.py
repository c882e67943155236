"""Time the training of the LSTM head on cached features (seconds per epoch, peak memory).

The features are random ``(frames, 2048)`` float32 arrays, so only the speed is meaningful:
it is what ``deepfake-web train`` spends per epoch once ``deepfake-web features`` has run.
Example (the figures in docs/training.md)::

    .venv/bin/python benchmarks/bench_training.py --videos 1000 --frames 20 --hidden 512 128
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepfake_web.training.manifest import VideoEntry
from deepfake_web.training.sequences import CachedVideo
from deepfake_web.training.train import TrainConfig, fit


def videos(n: int, frames: int, split: str, rng: np.random.Generator) -> list[CachedVideo]:
    """``n`` cached videos (1 REAL in 5) with random features."""
    out = []
    for i in range(n):
        label = "REAL" if i % 5 == 0 else "FAKE"
        entry = VideoEntry(f"{split}/{i}.mp4", label, "bench", (f"{split}{i}",), split)
        feats = rng.standard_normal((frames, 2048), dtype=np.float32)
        out.append(CachedVideo(entry, Path(entry.path), str(i), np.arange(frames), frames, feats))
    return out


def main() -> None:
    """Parse arguments, train for a few epochs per hidden size, print one line each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=1000, help="training videos")
    ap.add_argument("--frames", type=int, default=20, help="sequence length")
    ap.add_argument("--hidden", type=int, nargs="+", default=[512, 128])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--json", action="store_true", help="print JSON lines")
    args = ap.parse_args()
    import torch

    rng = np.random.default_rng(0)
    train = videos(args.videos, args.frames, "train", rng)
    val = videos(max(args.videos // 5, 10), args.frames, "val", rng)
    for hidden in args.hidden:
        cfg = TrainConfig(
            frames=args.frames,
            hidden_size=hidden,
            epochs=args.epochs,
            patience=args.epochs,
            batch_size=args.batch_size,
            device="cpu",
        )
        t0 = time.perf_counter()
        result = fit(train, val, cfg)
        total = time.perf_counter() - t0
        per_epoch = float(np.median([h.seconds for h in result.history]))
        row = {
            "videos": args.videos,
            "frames": args.frames,
            "hidden": hidden,
            "epochs": len(result.history),
            "s_per_epoch": round(per_epoch, 2),
            "total_s": round(total, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "threads": torch.get_num_threads(),
        }
        if args.json:
            sys.stdout.write(json.dumps(row) + "\n")
        else:
            sys.stdout.write(
                f"{args.videos} videos × {args.frames} frames, hidden {hidden}: "
                f"{per_epoch:.2f} s/epoch (train + val), total {total:.1f} s "
                f"for {len(result.history)} epochs, peak RSS {row['peak_rss_mb']} MB\n"
            )


if __name__ == "__main__":
    main()
