"""Face finding on the shared clips and on variants made from them, plus face-free frames.

For every clip in ../shared/media/videos/ (see its PROVENANCE.tsv), N frames are sampled and
their faces found with the engine (``extract_faces``): the followed face of each original
frame is "the right face". The script then writes variants of those frames as mp4v videos
(tests/factories/variants.py: darkened to a third, low contrast, downscaled so the face is
~40 px tall, a face cropped to fill the frame, rotated ±20°, JPEG quality 10 per frame, two
clips side by side) and runs ``extract_faces`` on each. A variant frame counts when a found
box's centre lies inside the right face's box carried into the variant (or IoU ≥ 0.3);
frames where the original has no face are left out. Face-free videos (plain, textured,
noise) count false faces. Example (the figures in docs/performance.md)::

    .venv/bin/python benchmarks/bench_faces.py --frames 10 --json /tmp/faces.json

The last table times face finding on a one-person 720p clip at 60 frames with the engine's
defaults (two workers), to compare the engine before and after a change on one machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deepfake_web.detection.extract import FaceTrack, extract_faces  # noqa: E402
from tests.factories.variants import (  # noqa: E402
    FACE_FREE_KINDS,
    VARIANTS,
    Score,
    Source,
    Variant,
    face_free_frames,
    load_source,
    score,
    score_face_free,
    side_by_side,
    write_frames,
)

log = logging.getLogger("bench_faces")
MEDIA = ROOT.parent / "shared" / "media" / "videos"
TIMING_CLIP = MEDIA / "real" / "polimi_ffpp_c23_orig_004.mp4"
GOAL = 0.95


def clips(prefixes: list[str] | None, limit: int | None) -> list[Path]:
    """The shared clips, sorted by name, filtered by name prefix and limited in number."""
    found = sorted(MEDIA.glob("*/*.mp4"), key=lambda p: p.name)
    if prefixes:
        found = [p for p in found if any(p.name.startswith(x) for x in prefixes)]
    return found[:limit] if limit else found


def run(path: Path, n: int, workers: int) -> FaceTrack:
    """``extract_faces`` on a video without previews."""
    return extract_faces(path, n, workers=workers, preview_max_side=None)


def measure(variant: Variant, folder: Path, workers: int) -> tuple[Score, float]:
    """Write a variant, find its faces; its score and the face search's ms per frame."""
    path = variant.write(folder)
    try:
        track = run(path, len(variant.frames), workers)
    finally:
        path.unlink(missing_ok=True)
    return score(variant, track), 1000 * track.faces_s / max(1, len(track.frames))


def fmt_stages(counts: Counter, total: int) -> str:
    """``stage n (p %)`` for each stage, most frequent first."""
    if not counts:
        return "–"
    return ", ".join(f"{s} {c} ({100 * c / total:.0f} %)" for s, c in counts.most_common())


def pct(value: float) -> str:
    """A share as a percentage, or n/a."""
    return "n/a" if math.isnan(value) else f"{100 * value:.1f} %"


def bench_variants(args: argparse.Namespace, folder: Path) -> dict:
    """Every clip × every variant (and side-by-side pairs); per-variant and per-clip rows."""
    paths = clips(args.prefix, args.clips)
    if not paths:
        raise SystemExit(f"no clips under {MEDIA}")
    totals: dict[str, Score] = {}
    ms: dict[str, list[float]] = {}
    per_clip: list[dict] = []
    original = Score()
    original_ms: list[float] = []
    first: Source | None = None
    previous: Source | None = None

    def record(name: str, clip: str, result: Score, ms_frame: float) -> None:
        totals.setdefault(name, Score()).add(result)
        ms.setdefault(name, []).append(ms_frame)
        per_clip.append(
            {
                "variant": name,
                "clip": clip,
                "frames": result.frames,
                "hits": result.hits,
                "rate": None if math.isnan(result.rate) else round(result.rate, 4),
                "by_stage": dict(result.by_stage),
                "extra": result.extra,
                "ms_per_frame": round(ms_frame, 1),
            }
        )

    for k, path in enumerate(paths, 1):
        t0 = time.perf_counter()
        source, track = load_source(path, args.frames, workers=args.workers)
        with_face = sum(b is not None for b in source.target)
        original.frames += len(track.frames)
        original.hits += with_face
        original_ms.append(1000 * track.faces_s / max(1, len(track.frames)))
        for name in args.variants:
            variant = VARIANTS[name](source)
            record(name, source.name, *measure(variant, folder, args.workers))
        if previous is not None:
            pair = side_by_side(previous, source)
            record(
                "side_by_side",
                f"{previous.name}+{source.name}",
                *measure(pair, folder, args.workers),
            )
        first = first or source
        previous = source
        log.info(
            "%d/%d %s: face in %d/%d original frames (%.1f s)",
            k,
            len(paths),
            path.name,
            with_face,
            len(track.frames),
            time.perf_counter() - t0,
        )
    if len(paths) > 2 and first is not None and previous is not None:
        pair = side_by_side(previous, first)
        record(
            "side_by_side", f"{previous.name}+{first.name}", *measure(pair, folder, args.workers)
        )

    out = sys.stdout
    out.write(
        f"\nFaces in the originals: {original.hits}/{original.frames} sampled frames of "
        f"{len(paths)} clips ({pct(original.hits / max(1, original.frames))}), "
        f"{statistics.mean(original_ms):.0f} ms per frame\n\n"
    )
    out.write(
        "| variant | frames with a face in the original | right face found | by stage "
        "| clips below 95 % | extra faces | ms per frame |\n|---|---|---|---|---|---|---|\n"
    )
    for name, total in totals.items():
        below = [
            r["clip"]
            for r in per_clip
            if r["variant"] == name and r["rate"] is not None and r["rate"] < GOAL
        ]
        out.write(
            f"| {name} | {total.frames} | {total.hits} ({pct(total.rate)}) "
            f"| {fmt_stages(total.by_stage, max(1, sum(total.by_stage.values())))} "
            f"| {len(below)} | {total.extra} in {total.frames_with_extra} frames "
            f"| {statistics.mean(ms[name]):.0f} |\n"
        )
    misses = [r for r in per_clip if r["rate"] is not None and r["rate"] < GOAL]
    if misses:
        out.write("\nClips below 95 %:\n\n| variant | clip | right face found |\n|---|---|---|\n")
        for r in misses:
            out.write(f"| {r['variant']} | {r['clip']} | {r['hits']}/{r['frames']} |\n")
    return {
        "originals": {"frames": original.frames, "with_face": original.hits},
        "variants": {
            name: {
                "frames": t.frames,
                "hits": t.hits,
                "rate": None if math.isnan(t.rate) else round(t.rate, 4),
                "by_stage": dict(t.by_stage),
                "extra": t.extra,
                "frames_with_extra": t.frames_with_extra,
                "ms_per_frame": round(statistics.mean(ms[name]), 1),
            }
            for name, t in totals.items()
        },
        "per_clip": per_clip,
    }


def bench_face_free(args: argparse.Namespace, folder: Path) -> dict:
    """False faces on face-free videos (1280 × 720) of each kind."""
    out = sys.stdout
    out.write(
        "\n| face-free frames | frames | frames with a (false) face | false faces by stage "
        "| ms per frame |\n|---|---|---|---|---|\n"
    )
    rows = {}
    for kind in FACE_FREE_KINDS:
        path = write_frames(folder / f"{kind}.mp4", face_free_frames(kind, args.free_frames))
        track = run(path, args.free_frames, args.workers)
        path.unlink()
        result = score_face_free(track)
        ms_frame = 1000 * track.faces_s / max(1, len(track.frames))
        out.write(
            f"| {kind} | {result.frames} | {result.frames_with_extra} "
            f"({pct(result.frames_with_extra / max(1, result.frames))}) "
            f"| {fmt_stages(result.by_stage, max(1, result.extra))} | {ms_frame:.0f} |\n"
        )
        rows[kind] = {
            "frames": result.frames,
            "frames_with_face": result.frames_with_extra,
            "faces": result.extra,
            "by_stage": dict(result.by_stage),
            "ms_per_frame": round(ms_frame, 1),
        }
    return rows


def bench_timing(args: argparse.Namespace) -> dict:
    """Face finding on a one-person 720p clip at 60 frames, engine defaults (median of runs)."""
    if not TIMING_CLIP.is_file():
        log.warning("timing clip %s not found", TIMING_CLIP)
        return {}
    run(TIMING_CLIP, 4, 2)  # builds dlib's detectors and loads any second detector
    faces_s, walls, found = [], [], 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        track = extract_faces(TIMING_CLIP, args.timing_frames, preview_max_side=None)
        walls.append(time.perf_counter() - t0)
        faces_s.append(track.faces_s)
        found = sum(f.box is not None for f in track.frames)
    row = {
        "clip": TIMING_CLIP.name,
        "frames": args.timing_frames,
        "faces_s": round(statistics.median(faces_s), 2),
        "wall_s": round(statistics.median(walls), 2),
        "frames_with_face": found,
        "repeat": args.repeat,
    }
    sys.stdout.write(
        "\n| timing clip | frames | face search s (CPU, both workers) | extract_faces wall s "
        "| frames with a face |\n|---|---|---|---|---|\n"
        f"| {row['clip']} (1280×720) | {row['frames']} | {row['faces_s']:.2f} "
        f"| {row['wall_s']:.2f} | {found} |\n"
    )
    return row


def main() -> None:
    """Parse the options, run the chosen sections and print Markdown tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10, help="sampled frames per clip")
    ap.add_argument("--clips", type=int, help="use only the first N clips (by name)")
    ap.add_argument("--prefix", nargs="*", help="use only clips whose name starts so")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--free-frames", type=int, default=100, help="frames per face-free kind")
    ap.add_argument("--workers", type=int, default=1, help="face-search threads per video")
    ap.add_argument("--timing-frames", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (median)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["variants", "free", "timing"])
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    report: dict = {"frames": args.frames}
    with tempfile.TemporaryDirectory() as tmp:
        if "variants" not in args.skip:
            report.update(bench_variants(args, Path(tmp)))
        if "free" not in args.skip:
            report["face_free"] = bench_face_free(args, Path(tmp))
    if "timing" not in args.skip:
        report["timing"] = bench_timing(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
