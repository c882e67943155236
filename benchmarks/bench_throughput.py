"""Benchmark the worker's throughput: clips per minute for a queue of clips, one at a time
against several at once (``deepfake-web worker --concurrency N``).

For each concurrency a fresh instance folder and a real worker process are started; once
the worker has warmed up (model and runtime loaded), the clips are uploaded through the
JSON API at once and the clock runs until the last analysis is done.

    .venv/bin/python benchmarks/bench_throughput.py --clips 20 --frames 20 --concurrency 1 2

Without --checkpoint, a random-weight published-format checkpoint is written (speed does
not depend on the weights' values). Clips: the labelled videos of ../shared/media/videos.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media" / "videos"


def make_checkpoint(folder: Path, frames: int) -> Path:
    """A random-weight published-format checkpoint named for ``frames`` frames."""
    import torch

    from deepfake_web.detection.network import PublishedNet

    torch.manual_seed(0)
    path = folder / f"model_0_acc_{frames}_frames_benchmark_data.pt"
    torch.save(PublishedNet().state_dict(), path)
    return path


def run(concurrency: int, clips: list[Path], frames: int, checkpoint: Path, tmp: Path) -> dict:
    """Time one queue of ``clips`` through a worker running ``concurrency`` analyses at once."""
    from deepfake_web.web.extensions import db
    from deepfake_web.web.models import Analysis
    from tests.factories.web import make_app, post_api

    folder = tmp / f"c{concurrency}"
    folder.mkdir(parents=True, exist_ok=True)
    app = make_app(folder, QUEUE_LIMIT=1000, QUEUE_LIMIT_PER_CLIENT=None)
    (Path(app.config["MODELS_DIR"]) / checkpoint.name).symlink_to(checkpoint)
    env = dict(
        os.environ,
        DEEPFAKE_INSTANCE_PATH=app.instance_path,
        DEEPFAKE_MODELS_DIR=app.config["MODELS_DIR"],
        DEEPFAKE_QUEUE_URL=app.config["QUEUE_URL"],
    )
    log = folder / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "deepfake_web", "worker", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 600
        while "warmed up" not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not warm up:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        client = app.test_client()
        t0 = time.perf_counter()
        ids = []
        for clip in clips:
            res = post_api(client, clip.read_bytes(), clip.name, frames=str(frames), force="1")
            assert res.status_code in (200, 202), res.json
            ids.append(res.json["id"])
        while True:
            with app.app_context():
                rows = [db.session.get(Analysis, i) for i in ids]
                states = [r.status for r in rows]
                db.session.remove()
            if all(s in ("done", "failed") for s in states):
                break
            if worker.poll() is not None:
                raise RuntimeError(f"the worker died:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        wall = time.perf_counter() - t0
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return {
        "concurrency": concurrency,
        "clips": len(clips),
        "frames": frames,
        "failed": states.count("failed"),
        "wall_s": round(wall, 1),
        "s_per_clip": round(wall / len(clips), 2),
        "clips_per_min": round(60 * len(clips) / wall, 1),
    }


def main() -> None:
    """Parse options, run each concurrency, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    videos = sorted(MEDIA.glob("[rf][ea][ak]*/*.mp4"))
    if not videos:
        sys.exit(f"no clips in {MEDIA}")
    clips = [videos[i % len(videos)] for i in range(args.clips)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or make_checkpoint(Path(tmp), args.frames)
        for c in args.concurrency:
            row = run(c, clips, args.frames, checkpoint.resolve(), Path(tmp))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    base = rows[0]["s_per_clip"]
    print("| concurrency | clips | N | wall s | s per clip | clips per minute | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['concurrency']} | {r['clips']} | {r['frames']} | {r['wall_s']} | "
            f"{r['s_per_clip']} | {r['clips_per_min']} | {base / r['s_per_clip']:.2f}× |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
