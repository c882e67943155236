"""What one rate-limit hit costs: the SQLite counters versus limits' memory:// storage.

``memory://`` is the fastest but counts per process (gunicorn runs several, so a client
would get N times its limit); the SQLite file is shared by all of them. Example (the
figures in docs/operations.md)::

    .venv/bin/python benchmarks/bench_ratelimit.py --hits 2000 --processes 1 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from limits import RateLimitItemPerMinute  # noqa: E402
from limits.storage import storage_from_string  # noqa: E402
from limits.strategies import FixedWindowRateLimiter  # noqa: E402

import deepfake_web.web.ratelimit  # noqa: E402, F401  (registers the sqlite:// scheme)


def _hits(args: tuple[str, int, int]) -> tuple[float, int]:
    uri, hits, _worker = args
    limiter = FixedWindowRateLimiter(storage_from_string(uri))
    item = RateLimitItemPerMinute(10**9)
    t0 = time.perf_counter()
    for k in range(hits):
        limiter.hit(item, f"client{k % 20}")
    seconds = time.perf_counter() - t0
    counted = sum(limiter.get_window_stats(item, f"client{k}").remaining for k in range(20))
    return seconds / hits * 1e6, 20 * 10**9 - counted


def main() -> None:
    """Time hits in 1 and in several processes; report µs per hit and what was counted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=2000, help="hits per process")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.processes:
        for name in ("memory", "sqlite"):
            per_hit, counted = [], 0
            for _ in range(args.repeat):
                folder = Path(tempfile.mkdtemp(prefix="bench_rl_"))
                uri = "memory://" if name == "memory" else f"sqlite:///{folder / 'rl.db'}"
                with multiprocessing.get_context("spawn").Pool(n) as pool:
                    results = pool.map(_hits, [(uri, args.hits, k) for k in range(n)])
                per_hit.append(statistics.median(r[0] for r in results))
                counted = max(r[1] for r in results)
            print(f"{name:6s} {n} process(es): {statistics.median(per_hit):7.1f} µs per hit "
                  f"(median of {args.repeat}); the most any process saw counted: {counted} "
                  f"of {n * args.hits} hits")  # fmt: skip


if __name__ == "__main__":
    main()
