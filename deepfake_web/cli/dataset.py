"""Dataset commands: ``dataset index``, ``dataset synth``, ``faces`` and ``features``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .options import (
    SPLIT_CHOICES,
    backbone_options,
    batch_size_option,
    cache_dir,
    cache_option,
    channel_option,
    crop_options,
    crop_settings,
    device_option,
    echo_list,
    fail,
    manifest_entries,
    progress_bars,
)


@click.group()
def dataset() -> None:
    """Index a dataset into a manifest, or make the synthetic set."""


@dataset.command("index")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Manifest to write, .csv or .json [default: ROOT/manifest.csv].",
)
@click.option(
    "--layout",
    type=click.Choice(["auto", "folders", "dfdc", "ffpp"]),
    default="auto",
    show_default=True,
    help="folders: real/ + fake/[<method>/]; dfdc: metadata.json; ffpp: "
    "FaceForensics++ original_sequences/ + manipulated_sequences/.",
)
@click.option("--val", type=click.FloatRange(0, 1), default=0.15, show_default=True)
@click.option("--test", type=click.FloatRange(0, 1), default=0.15, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option(
    "--compression",
    type=click.Choice(["raw", "c23", "c40", "all"]),
    default="c23",
    show_default=True,
    help="FaceForensics++ quality to index.",
)
@click.option(
    "--methods",
    default=None,
    help="FaceForensics++ methods to index, comma-separated [default: all found].",
)
@click.option(
    "--official-splits",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="FaceForensics++ splits folder (train.json, val.json, test.json).",
)
@click.option(
    "--identity-pattern",
    default=None,
    help="Regex on file stems whose groups are identities (folders layout) "
    "[default: FaceForensics++ numbers, e.g. 183_253].",
)
@click.option(
    "--no-identities", is_flag=True, help="Folders layout: every video is its own identity."
)
@click.option("--folder-groups", is_flag=True, help="DFDC: keep each part folder in one split.")
def dataset_index(
    root: str,
    out: str | None,
    layout: str,
    val: float,
    test: float,
    seed: int,
    compression: str,
    methods: str | None,
    official_splits: str | None,
    identity_pattern: str | None,
    no_identities: bool,
    folder_groups: bool,
) -> None:
    """Index ROOT into a manifest with seeded, identity-disjoint train/val/test splits.

    Videos that show the same person (an original and every fake made from it) always
    land in the same split.
    """
    from deepfake_web.training.errors import TrainingError
    from deepfake_web.training.layouts import (
        DEFAULT_IDENTITY_PATTERN,
        detect_layout,
        index_dfdc,
        index_faceforensics,
        index_folders,
        read_official_splits,
    )
    from deepfake_web.training.manifest import Manifest, write_manifest
    from deepfake_web.training.splits import assign_splits, check_disjoint, identity_groups

    root_p = Path(root)
    out_p = Path(out) if out else root_p / "manifest.csv"
    base = out_p.resolve().parent
    try:
        kind = detect_layout(root_p) if layout == "auto" else layout
        if kind == "folders":
            pattern = None if no_identities else (identity_pattern or DEFAULT_IDENTITY_PATTERN)
            entries = index_folders(root_p, base, pattern)
        elif kind == "dfdc":
            entries = index_dfdc(root_p, base, folder_groups)
        else:
            wanted = [m.strip() for m in methods.split(",")] if methods else None
            entries = index_faceforensics(root_p, base, compression, wanted)
        fixed = read_official_splits(Path(official_splits)) if official_splits else None
        entries = assign_splits(entries, val, test, seed, fixed)
    except TrainingError as exc:
        raise fail(exc) from exc
    leaks = check_disjoint(entries)
    if leaks:  # cannot happen by construction; refuse rather than write a leaking manifest
        raise click.ClickException(f"identities in several splits: {leaks[:5]}")
    write_manifest(out_p, entries, {"layout": kind, "seed": seed, "val": val, "test": test})
    manifest = Manifest(entries, base, out_p.resolve())
    click.echo(f"Indexed {len(entries)} videos ({kind} layout) into {out_p}")
    click.echo(f"  {len(identity_groups(entries))} identity groups; splits share no identity.")
    for split, c in manifest.counts().items():
        methods_txt = ", ".join(f"{k[7:]} {v}" for k, v in c.items() if k.startswith("method:"))
        click.echo(
            f"  {split:5s} {c['videos']:6d} videos: REAL {c['REAL']}, FAKE {c['FAKE']} "
            f"({methods_txt})"
        )
    if manifest.is_synthetic():
        click.echo("  NOTE: this is the synthetic set; models trained on it are flagged as such.")


@dataset.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--media",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Folder with images/ of real faces [default: ../shared/media beside the project].",
)
@click.option(
    "--clips",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Real clips per identity (each gets one fake per method).",
)
@click.option(
    "--frames", type=click.IntRange(2, 300), default=12, show_default=True, help="Frames per clip."
)
@click.option("--methods", default="blend,blur,colour,flicker", show_default=True)
@click.option("--max-identities", type=click.IntRange(4, 10_000), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
def dataset_synth(
    out: str,
    media: str | None,
    clips: int,
    frames: int,
    methods: str,
    max_identities: int | None,
    seed: int,
) -> None:
    """Make the SYNTHETIC real/fake clip set (for trying the pipeline; not a benchmark)."""
    from tqdm import tqdm

    from deepfake_web.paths import PROJECT_ROOT
    from deepfake_web.training.errors import TrainingError
    from deepfake_web.training.synthetic import make_synthetic

    media_p = Path(media) if media else PROJECT_ROOT.parent / "shared" / "media"
    bar = tqdm(desc="clips", unit="clip", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = make_synthetic(
            out,
            media_p,
            clips=clips,
            frames=frames,
            seed=seed,
            methods=tuple(m.strip() for m in methods.split(",")),
            max_identities=max_identities,
            progress=progress,
        )
    except TrainingError as exc:
        raise fail(exc) from exc
    finally:
        bar.close()
    click.echo(
        f"Wrote a SYNTHETIC set to {summary.folder}: {summary.identities} identities, "
        f"{summary.real} real and {summary.fake} fake clips "
        f"({', '.join(f'{m} {n}' for m, n in summary.methods.items())})."
    )
    echo_list(
        "Source faces skipped (too small, or not found by the detector)",
        summary.skipped_sources,
        limit=5,
    )
    click.echo(f"Next: deepfake-web dataset index {summary.folder}")


# --- faces and features -----------------------------------------------------------------------


@click.command("faces")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@crop_options("--frames", "Frames sampled per video (evenly spread over it).")
@click.option("--split", type=SPLIT_CHOICES, default="all", show_default=True)
@cache_option
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=2,
    show_default=True,
    help="Worker processes (0: in this process).",
)
@click.option("--retry-failed", is_flag=True, help="Try again videos that failed before.")
def faces_command(
    manifest: str,
    cache_frames: int,
    margin: float,
    image_size: int,
    detector: str,
    detect_max_side: int,
    split: str,
    cache: str | None,
    workers: int,
    retry_failed: bool,
) -> None:
    """Extract and cache the face crops of the manifest's videos (resumable).

    Uses the engine's own sampling, face search, tracking and cropping. A run that is
    stopped continues where it stopped; videos that fail or have no face are listed.
    """
    from deepfake_web.training.facecache import FaceCache, extract_missing

    man, entries = manifest_entries(manifest, split)
    crops = crop_settings(cache_frames, margin, image_size, detector, detect_max_side)
    fc = FaceCache(cache_dir(cache), crops.face_settings())
    with progress_bars() as bars:
        summary = extract_missing(
            fc,
            [man.resolve(e) for e in entries],
            workers=workers,
            retry_failed=retry_failed,
            progress=lambda d, t, name: bars("faces", d, t),
        )
    report = fc.folder / "last_run.json"
    report.write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    click.echo(f"Faces of {summary.total} videos in {fc.folder}")
    click.echo(
        f"  {summary.cached_before} already cached, {summary.extracted} extracted now in "
        f"{summary.seconds:.1f} s, {len(summary.failed)} failed, "
        f"{len(summary.skipped_failed)} skipped (failed before), "
        f"{len(summary.no_face)} without any face"
    )
    echo_list("Failed", (f"{k}: {v}" for k, v in summary.failed.items()))
    echo_list("Skipped, failed before (--retry-failed to try again)", summary.skipped_failed)
    echo_list("No face found (NO_FACE in evaluations, left out of training)", summary.no_face)
    click.echo(f"  lists: {report}")
    if summary.interrupted:
        click.echo("Interrupted: run the same command again to continue.", err=True)
        sys.exit(130)


@click.command("features")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@crop_options("--frames", "Frames per video of the face cache to use.")
@channel_option
@backbone_options
@click.option("--split", type=SPLIT_CHOICES, default="all", show_default=True)
@cache_option
@device_option
@batch_size_option()
def features_command(
    manifest: str,
    cache_frames: int,
    margin: float,
    image_size: int,
    detector: str,
    detect_max_side: int,
    channel_order: str,
    backbone_weights: str,
    backbone_seed: int,
    split: str,
    cache: str | None,
    device: str,
    batch_size: int,
) -> None:
    """Compute and cache the backbone features of the cached faces (resumable)."""
    from deepfake_web.training.backbone import load_backbone
    from deepfake_web.training.facecache import FaceCache, require_faces
    from deepfake_web.training.features import FeatureCache, compute_missing

    man, entries = manifest_entries(manifest, split)
    crops = crop_settings(
        cache_frames, margin, image_size, detector, detect_max_side, channel_order
    )
    root = cache_dir(cache)
    fc = FaceCache(root, crops.face_settings())
    with progress_bars() as bars:
        require_faces(fc)
        backbone = load_backbone(backbone_weights, backbone_seed)
        feats = FeatureCache(root, fc, backbone.sha256, crops.preprocessing())
        summary = compute_missing(
            feats,
            backbone,
            [man.resolve(e) for e in entries],
            device=device,
            batch_size=batch_size,
            progress=lambda d, t: bars("features", d, t),
        )
    rate = summary.seconds / summary.frames * 1000 if summary.frames else 0
    click.echo(f"Features of {summary.total} videos in {feats.folder}")
    click.echo(f"  backbone {backbone.description} (weights sha256 {backbone.sha256[:16]}...)")
    click.echo(
        f"  {summary.cached_before} already cached, {summary.computed} computed now "
        f"({summary.frames} frames in {summary.seconds:.1f} s, {rate:.0f} ms/frame)"
    )
    echo_list(
        "Without cached faces (run deepfake-web faces; failed videos stay out)",
        summary.missing_faces,
    )
