"""Time decoding N evenly spaced frames: streaming with grab() versus seeking, per video.

Without --videos, a 3-minute 1280×720 clip (mp4v, 25 fps, 4500 frames) is written to a
temporary folder first; it is the case the seek path exists for. Example (the figures in
docs/performance.md)::

    .venv/bin/python benchmarks/bench_decode.py --frames 20 60 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deepfake_web.detection.media import (  # noqa: E402
    SEEK_MIN_STRIDE,
    decode_frames,
    probe,
    sample_indices,
)

DEFAULT_VIDEOS = [
    ROOT.parent / "shared" / "media" / "videos" / "real" / "polimi_ffpp_c23_orig_004.mp4",
]


def write_long_clip(path: Path, seconds: int = 180, fps: int = 25) -> Path:
    """A moving-gradient 1280×720 clip (mp4v) of ``seconds`` seconds."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1280, 720))
    base = np.add.outer(np.arange(720) // 3, np.arange(1280) // 5)
    for i in range(seconds * fps):
        frame = np.dstack([base + i, base + 2 * i, base + 3 * i]) % 256
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        cv2.putText(frame, str(i), (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        writer.write(frame)
    writer.release()
    return path


def timed(path: Path, targets: list[int], fps: float, stride: int) -> tuple[float, int]:
    """Seconds to decode ``targets`` with the given seek threshold, and frames returned."""
    t0 = time.perf_counter()
    got = decode_frames(path, targets, fps, lambda f: f.index, seek_min_stride=stride)
    return time.perf_counter() - t0, len(got)


def main() -> None:
    """Print one Markdown row per video × N: streaming, seeking, and the default's choice."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[20, 60, 100])
    ap.add_argument("--videos", type=Path, nargs="*")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        videos = args.videos or [write_long_clip(Path(tmp) / "long_720p_3min.mp4")]
        if not args.videos:
            videos += [v for v in DEFAULT_VIDEOS if v.is_file()]
        sys.stdout.write(
            "| video | frames in clip | N | stride | stream (grab) s | seek s | default |\n"
            "|---|---|---|---|---|---|---|\n"
        )
        for video in videos:
            info = probe(video)
            for n in args.frames:
                targets = sample_indices(info.frames, n)
                stride = (targets[-1] - targets[0]) / max(len(targets) - 1, 1)
                stream_s, got_stream = timed(video, targets, info.fps, 10**9)
                seek_s, got_seek = timed(video, targets, info.fps, 0)
                if got_stream != got_seek:
                    raise SystemExit(f"{video.name}: stream gave {got_stream}, seek {got_seek}")
                choice = "seek" if stride >= SEEK_MIN_STRIDE else "stream"
                sys.stdout.write(
                    f"| {video.name} ({info.width}×{info.height}, {info.codec}) | {info.frames} "
                    f"| {n} | {stride:.0f} | {stream_s:.2f} | {seek_s:.2f} | {choice} |\n"
                )


if __name__ == "__main__":
    main()
