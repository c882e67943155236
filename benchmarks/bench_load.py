"""20 concurrent uploads × 3 rounds with pollers against a real ``deepfake-web serve``.

Prints how many analyses ended ``done``, how many requests got a 5xx, how many times the
server's log says "database is locked", and the upload acknowledgement times (the time
from sending an upload to its 202). Each client uploads its own small generated clip from
its own address (``X-Forwarded-For``), as lab members behind nginx would.

By default the script starts its own server (a temporary instance folder, a demo checkpoint
written by ``deepfake-web models demo``)::

    .venv/bin/python benchmarks/bench_load.py                      # the figures in docs/

or it loads a server that runs already; start that one with ``DEEPFAKE_TRUSTED_PROXIES=1``
(so that the script's addresses count as 20 clients) and an access token::

    DEEPFAKE_TRUSTED_PROXIES=1 DEEPFAKE_API_TOKEN=t .venv/bin/deepfake-web serve --port 8000
    .venv/bin/python benchmarks/bench_load.py --port 8000 --token t --log server.log \
        --sequence-length 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories.media import face_frames, write_video  # noqa: E402
from tests.factories.server import Client, LiveServer  # noqa: E402
from tests.reliability.corpus import clip  # noqa: E402
from tests.reliability.load import concurrent_round, p95  # noqa: E402


def cpu_flags() -> str:
    """The vector extensions of this CPU (as docs/performance.md reports them)."""
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = {f for f in out.split() if f.startswith(("avx512", "amx")) or f == "avx2"}
    return " ".join(sorted(flags)) or "none"


def face_clip(folder: Path, image: Path, seed: int, frames: int, size: tuple[int, int]) -> bytes:
    """A clip of ``image`` drifting across the frame, made unique by ``seed`` written on it."""
    import cv2

    images = face_frames(image, frames, size)
    for frame in images:
        white = (255, 255, 255)
        cv2.putText(frame, f"{seed:05d}", (8, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, white, 3)
    return write_video(folder / f"face_{seed}.mp4", images).read_bytes()


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, help="load a server already running on this port")
    parser.add_argument("--token", help="its DEEPFAKE_API_TOKEN")
    parser.add_argument("--log", type=Path, help="its log file (to count 'database is locked')")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequence-length", type=int, default=8)
    parser.add_argument("--clip-frames", type=int, default=12)
    parser.add_argument("--size", default="320x240", help="clip size WxH")
    parser.add_argument(
        "--face-image",
        type=Path,
        help="a photo of a face: clips show it drifting (faces found, the model runs) instead "
        "of face-free noise (NO FACE, the model is skipped)",
    )
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    server = None
    if args.port:
        client, log = Client(args.port, args.token), args.log
    else:
        server = LiveServer(work / "server", frames=args.sequence_length)
        server.start()
        client, log = server.client, server.log
    load_before = os.getloadavg()
    print(f"CPU flags: {cpu_flags()}; {os.cpu_count()} cores; load average before "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")  # fmt: skip
    acks: list[float] = []
    outcomes = []
    stamp = int(time.time())
    try:
        for r in range(args.rounds):
            clips = [
                face_clip(work, args.face_image, 100 * r + k, args.clip_frames, (w, h))
                if args.face_image
                else clip(work, stamp * 1000 + 100 * r + k, args.clip_frames, (w, h))
                for k in range(args.clients)
            ]
            t0 = time.perf_counter()
            done = concurrent_round(client, clips, lambda k, r=r: f"10.77.{r}.{k + 1}")
            seconds = time.perf_counter() - t0
            outcomes += done
            acks += [o.upload.seconds for o in done if o.upload.status in (200, 202)]
            ok = sum(1 for o in done if o.final and o.final["status"] == "done")
            print(f"round {r + 1}: {ok}/{len(done)} done in {seconds:.1f} s")
    finally:
        text = log.read_text(errors="replace") if log and log.exists() else None
        if server is not None:
            server.stop()
    total = len(outcomes)
    done = sum(1 for o in outcomes if o.final and o.final["status"] == "done")
    failed = [o.final.get("error") for o in outcomes if o.final and o.final["status"] == "failed"]
    refused = [o.upload.status for o in outcomes if o.upload.status not in (200, 202)]
    server_errors = [s for s in client.statuses if s[2] >= 500]
    load_after = os.getloadavg()
    print(f"analyses done: {done}/{total}; failed: {len(failed)} {failed[:3]}")
    existing = sum(1 for o in outcomes if o.upload.status == 200)
    verdicts = Counter(o.final.get("verdict") for o in outcomes if o.final)
    print(f"new analyses: {total - existing} (existing: {existing}); verdicts {dict(verdicts)}")
    print(f"uploads refused: {len(refused)} {sorted(set(refused))}")
    print(f"requests: {len(client.statuses)}; 5xx: {len(server_errors)}")
    locked = "n/a (no log)" if text is None else text.count("database is locked")
    print(f"'database is locked' in the log: {locked}")
    if acks:
        print(f"upload acknowledgement: median {statistics.median(acks):.3f} s, "
              f"p95 {p95(acks):.3f} s, max {max(acks):.3f} s")  # fmt: skip
    print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
