"""Command-line commands of the training pipeline (registered on ``deepfake-web``).

A lab runs them in this order: ``dataset index`` (or ``dataset synth`` first), ``faces``,
``features``, ``train``, ``calibrate``, ``evaluate``. Heavy imports happen inside the
commands, so ``deepfake-web --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

SPLIT_CHOICES = click.Choice(["all", "train", "val", "test"])


class _Bars:
    """One tqdm bar per stage on stderr, created when the stage first reports."""

    def __init__(self) -> None:
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None and total == 0:
            return
        if bar is None:
            for other in self.bars.values():  # stages run one after the other
                other.close()
            bar = self.bars[stage] = tqdm(
                total=total,
                desc=stage,
                file=sys.stderr,
                unit="frame" if stage == "features" else "video",
                dynamic_ncols=True,
            )
        if total != bar.total:
            bar.total = total
            bar.refresh()
        if done > bar.n:
            bar.update(done - bar.n)  # respects tqdm's redraw interval

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _cache_option(f: Callable) -> Callable:
    return click.option(
        "--cache",
        type=click.Path(file_okay=False),
        default=None,
        help="Cache folder for faces and features [default: $DEEPFAKE_CACHE_DIR or ./cache].",
    )(f)


def _crop_options(frames_flag: str, frames_help: str) -> Callable:
    """Options that decide the face cache and the preprocessing (same on every command)."""

    def deco(f: Callable) -> Callable:
        opts = [
            click.option(
                frames_flag,
                "cache_frames",
                type=click.IntRange(1, 1000),
                default=20,
                show_default=True,
                help=frames_help,
            ),
            click.option(
                "--margin",
                type=click.FloatRange(0, 1),
                default=0.1,
                show_default=True,
                help="Crop margin: the face box grows by this fraction on each side.",
            ),
            click.option(
                "--image-size",
                type=click.IntRange(32, 512),
                default=112,
                show_default=True,
                help="Side of the square face crop.",
            ),
            click.option(
                "--detector",
                type=click.Choice(["hog", "cnn"]),
                default="hog",
                show_default=True,
                help="dlib face detector (the app uses hog unless configured).",
            ),
            click.option(
                "--detect-max-side",
                type=click.IntRange(64, 4096),
                default=640,
                show_default=True,
                help="Faces are searched on a copy at most this many pixels wide.",
            ),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f

    return deco


def _channel_option(f: Callable) -> Callable:
    return click.option(
        "--channel-order",
        type=click.Choice(["RGB", "BGR"]),
        default="RGB",
        show_default=True,
        help="Channel order fed to the network (ImageNet weights expect RGB).",
    )(f)


def _backbone_options(f: Callable) -> Callable:
    f = click.option(
        "--backbone-seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of the random backbone with --backbone-weights none.",
    )(f)
    return click.option(
        "--backbone-weights",
        default="imagenet",
        show_default=True,
        help="imagenet (torchvision IMAGENET1K_V1), imagenet-v2, none (random), or a file: a "
        "resnext50_32x4d state_dict, a published or a deepfake-web checkpoint.",
    )(f)


def _crops(cache_frames, margin, image_size, detector, detect_max_side, channel_order="RGB"):
    from .runs import CropOptions

    return CropOptions(cache_frames, image_size, margin, channel_order, detector, detect_max_side)


def _cache_dir(cache: str | None) -> Path:
    from .runs import default_cache_dir

    return Path(cache) if cache else default_cache_dir()


def _entries(manifest_path: str, split: str):
    from .manifest import read_manifest

    manifest = read_manifest(manifest_path)
    entries = manifest.split(None if split == "all" else split)
    if not entries:
        raise click.ClickException(f"The manifest has no {split} videos.")
    return manifest, entries


def _list(title: str, items, limit: int = 20) -> None:
    items = list(items)
    if not items:
        return
    click.echo(f"{title} ({len(items)}):")
    for item in items[:limit]:
        click.echo(f"  {item}")
    if len(items) > limit:
        click.echo(f"  ... and {len(items) - limit} more")


# --- dataset ------------------------------------------------------------------------------


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
    from .errors import TrainingError
    from .layouts import (
        DEFAULT_IDENTITY_PATTERN,
        detect_layout,
        index_dfdc,
        index_faceforensics,
        index_folders,
        read_official_splits,
    )
    from .manifest import Manifest, write_manifest
    from .splits import assign_splits, check_disjoint, identity_groups

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
        raise _fail(exc) from exc
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

    from deepfake_web.settings import PROJECT_ROOT

    from .errors import TrainingError
    from .synthetic import make_synthetic

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
        raise _fail(exc) from exc
    finally:
        bar.close()
    click.echo(
        f"Wrote a SYNTHETIC set to {summary.folder}: {summary.identities} identities, "
        f"{summary.real} real and {summary.fake} fake clips "
        f"({', '.join(f'{m} {n}' for m, n in summary.methods.items())})."
    )
    _list(
        "Source faces skipped (too small, or not found by the detector)",
        summary.skipped_sources,
        limit=5,
    )
    click.echo(f"Next: deepfake-web dataset index {summary.folder}")


# --- faces and features -----------------------------------------------------------------------


@click.command("faces")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@_crop_options("--frames", "Frames sampled per video (evenly spread over it).")
@click.option("--split", type=SPLIT_CHOICES, default="all", show_default=True)
@_cache_option
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
    from .errors import TrainingError
    from .facecache import FaceCache, extract_missing

    man, entries = _entries(manifest, split)
    crops = _crops(cache_frames, margin, image_size, detector, detect_max_side)
    fc = FaceCache(_cache_dir(cache), crops.face_settings())
    bars = _Bars()
    try:
        summary = extract_missing(
            fc,
            [man.resolve(e) for e in entries],
            workers=workers,
            retry_failed=retry_failed,
            progress=lambda d, t, name: bars("faces", d, t),
        )
    except TrainingError as exc:
        raise _fail(exc) from exc
    finally:
        bars.close()
    report = fc.folder / "last_run.json"
    report.write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    click.echo(f"Faces of {summary.total} videos in {fc.folder}")
    click.echo(
        f"  {summary.cached_before} already cached, {summary.extracted} extracted now in "
        f"{summary.seconds:.1f} s, {len(summary.failed)} failed, "
        f"{len(summary.skipped_failed)} skipped (failed before), "
        f"{len(summary.no_face)} without any face"
    )
    _list("Failed", (f"{k}: {v}" for k, v in summary.failed.items()))
    _list("Skipped, failed before (--retry-failed to try again)", summary.skipped_failed)
    _list("No face found (NO_FACE in evaluations, left out of training)", summary.no_face)
    click.echo(f"  lists: {report}")
    if summary.interrupted:
        click.echo("Interrupted: run the same command again to continue.", err=True)
        sys.exit(130)


@click.command("features")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@_crop_options("--frames", "Frames per video of the face cache to use.")
@_channel_option
@_backbone_options
@click.option("--split", type=SPLIT_CHOICES, default="all", show_default=True)
@_cache_option
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True)
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
    from .backbone import load_backbone
    from .errors import TrainingError
    from .facecache import FaceCache, require_faces
    from .features import FeatureCache, compute_missing

    man, entries = _entries(manifest, split)
    crops = _crops(cache_frames, margin, image_size, detector, detect_max_side, channel_order)
    root = _cache_dir(cache)
    fc = FaceCache(root, crops.face_settings())
    bars = _Bars()
    try:
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
    except TrainingError as exc:
        raise _fail(exc) from exc
    finally:
        bars.close()
    rate = summary.seconds / summary.frames * 1000 if summary.frames else 0
    click.echo(f"Features of {summary.total} videos in {feats.folder}")
    click.echo(f"  backbone {backbone.description} (weights sha256 {backbone.sha256[:16]}...)")
    click.echo(
        f"  {summary.cached_before} already cached, {summary.computed} computed now "
        f"({summary.frames} frames in {summary.seconds:.1f} s, {rate:.0f} ms/frame)"
    )
    _list(
        "Without cached faces (run deepfake-web faces; failed videos stay out)",
        summary.missing_faces,
    )


# --- train, calibrate, evaluate -----------------------------------------------------------


@click.command("train")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--frames",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Sequence length of the model (≤ --cache-frames).",
)
@_crop_options("--cache-frames", "Frames per video of the face cache [default: 20].")
@_channel_option
@_backbone_options
@click.option(
    "--init",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Start from this deepfake-web checkpoint (its backbone and head).",
)
@click.option(
    "--finetune",
    is_flag=True,
    help="Train the backbone too, end to end on the cached crops (slow without GPU).",
)
@click.option("--hidden-size", type=click.IntRange(1, 4096), default=512, show_default=True)
@click.option("--layers", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--bidirectional/--unidirectional", default=False, show_default=True)
@click.option("--pooling", type=click.Choice(["mean", "last"]), default="mean", show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 0.95), default=0.4, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option(
    "--backbone-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-5,
    show_default=True,
    help="Learning rate of the backbone with --finetune.",
)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=1e-2, show_default=True)
@click.option("--epochs", type=click.IntRange(1, 10_000), default=30, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 4096), default=32, show_default=True)
@click.option(
    "--patience",
    type=click.IntRange(1, 10_000),
    default=8,
    show_default=True,
    help="Stop after this many epochs without a better validation AUC.",
)
@click.option(
    "--balance",
    type=click.Choice(["weight", "oversample", "none"]),
    default="weight",
    show_default=True,
    help="Imbalanced classes: weight the loss, oversample the rarer class, or neither.",
)
@click.option(
    "--feature-norm",
    type=click.Choice(["standard", "none"]),
    default="standard",
    show_default=True,
    help="Standardise features while training (folded into the saved LSTM).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@_cache_option
@click.option(
    "--models-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the checkpoint goes [default: $DEEPFAKE_MODELS_DIR or ./models].",
)
@click.option(
    "--name",
    "data_name",
    default=None,
    help="Data name in the checkpoint's file name [default: the dataset folder].",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Exact checkpoint path (instead of the generated name).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing file of the same name.")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the training-curve PNG goes [default: artifacts/training].",
)
def train_command(
    manifest: str,
    frames: int,
    cache_frames: int | None,
    margin: float,
    image_size: int,
    detector: str,
    detect_max_side: int,
    channel_order: str,
    backbone_weights: str,
    backbone_seed: int,
    init: str | None,
    finetune: bool,
    hidden_size: int,
    layers: int,
    bidirectional: bool,
    pooling: str,
    dropout: float,
    lr: float,
    backbone_lr: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    patience: int,
    balance: str,
    feature_norm: str,
    seed: int,
    device: str,
    cache: str | None,
    models_dir: str | None,
    data_name: str | None,
    output: str | None,
    overwrite: bool,
    report_dir: str | None,
) -> None:
    """Train the LSTM head on cached features (or end to end) and save the best checkpoint.

    Selects the epoch with the best validation AUC and writes
    model_<acc>_acc_<frames>_frames_<data>_data.pt into the models folder, where the app
    and `deepfake-web predict` find it.
    """
    from tqdm import tqdm

    from deepfake_web.detection.errors import DetectionError
    from deepfake_web.settings import default_models_dir

    from .errors import TrainingError
    from .runs import default_reports_dir, train_run
    from .train import TrainConfig

    config = TrainConfig(
        frames=frames,
        hidden_size=hidden_size,
        num_layers=layers,
        bidirectional=bidirectional,
        pooling=pooling,
        dropout=dropout,
        lr=lr,
        weight_decay=weight_decay,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        device=device,
        balance=balance,
        finetune=finetune,
        backbone_lr=backbone_lr,
        feature_norm=feature_norm,
    )
    crops = _crops(cache_frames, margin, image_size, detector, detect_max_side, channel_order)
    bar = tqdm(total=epochs, desc="epochs", unit="epoch", file=sys.stderr)

    def on_epoch(e) -> None:
        auc = "n/a" if e.val_auc is None else f"{e.val_auc:.4f}"
        bar.update(1)
        bar.set_postfix_str(f"val AUC {auc}")
        tqdm.write(
            f"epoch {e.epoch:3d}: loss {e.train_loss:.4f}  acc {e.train_accuracy:.3f}  |  "
            f"val loss {e.val_loss:.4f}  acc {e.val_accuracy:.3f}  AUC {auc}  "
            f"({e.seconds:.1f} s)",
            file=sys.stdout,
        )

    try:
        run = train_run(
            manifest,
            crops,
            config,
            cache=_cache_dir(cache),
            models_dir=models_dir or default_models_dir(),
            backbone_weights=backbone_weights,
            backbone_seed=backbone_seed,
            init=init,
            data_name=data_name,
            output=output,
            overwrite=overwrite,
            reports=report_dir or default_reports_dir() / "training",
            on_epoch=on_epoch,
        )
    except (TrainingError, DetectionError) as exc:
        raise _fail(exc) from exc
    finally:
        bar.close()
    auc = "n/a" if run.val_auc is None else f"{run.val_auc:.4f}"
    stop = "early stop" if run.stopped_early else "all epochs"
    click.echo(
        f"Trained on {run.train_videos} videos, validated on {run.val_videos}: best epoch "
        f"{run.best_epoch} of {run.epochs} ({stop}), val AUC {auc}, val accuracy "
        f"{run.val_accuracy:.3f} at threshold 0.5, {run.seconds:.1f} s"
    )
    click.echo(f"Saved {run.checkpoint}")
    if run.plot:
        click.echo(f"  training curves: {run.plot}")
    for split, n in run.excluded.items():
        if any(n.values()):
            click.echo(f"  left out of {split}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    if run.synthetic:
        click.echo(
            "  WARNING: trained on the SYNTHETIC set; the checkpoint says so next to every verdict."
        )
    click.echo("Next: deepfake-web calibrate <checkpoint> <manifest>, then evaluate.")


def _common_scoring(f: Callable) -> Callable:
    opts = [
        click.option(
            "--cache-frames",
            type=click.IntRange(1, 1000),
            default=None,
            help="Frames per video to sample [default: the checkpoint's length, as "
            "deepfake-web predict does].",
        ),
        click.option(
            "--workers",
            type=click.IntRange(0, 64),
            default=2,
            show_default=True,
            help="Face extraction processes for videos not cached yet.",
        ),
        click.option(
            "--device",
            type=click.Choice(["auto", "cpu", "cuda"]),
            default="auto",
            show_default=True,
        ),
        click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True),
        click.option(
            "--out",
            type=click.Path(file_okay=False),
            default=None,
            help="Report folder [default: artifacts/<command>/<checkpoint>-<split>].",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return _cache_option(f)


@click.command("calibrate")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", type=SPLIT_CHOICES, default="val", show_default=True)
@click.option(
    "--target-fpr",
    type=click.FloatRange(0, 1),
    default=None,
    help="Choose the threshold that catches most fakes with at most this share of "
    "real videos called FAKE [default: maximise balanced accuracy].",
)
@click.option(
    "--target-accuracy",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="The UNCERTAIN band is the narrowest outside which accuracy reaches this.",
)
@click.option(
    "--band",
    type=click.FloatRange(0, 0.5),
    default=None,
    help="Fixed half-width of the UNCERTAIN band instead (0: no band).",
)
@click.option(
    "--max-uncertain",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="At most this share of the videos may fall into the band.",
)
@click.option("--dry-run", is_flag=True, help="Report only; leave the checkpoint unchanged.")
@_common_scoring
def calibrate_command(
    checkpoint: str,
    manifest: str,
    split: str,
    target_fpr: float | None,
    target_accuracy: float,
    band: float | None,
    max_uncertain: float,
    dry_run: bool,
    cache_frames: int | None,
    workers: int,
    device: str,
    batch_size: int,
    out: str | None,
    cache: str | None,
) -> None:
    """Choose the decision threshold and UNCERTAIN band on the validation split.

    They are written into the checkpoint's metadata, so the app's REAL / FAKE / UNCERTAIN
    verdicts follow them; a reliability diagram and the scores are saved as PNGs.
    """
    from deepfake_web.detection.errors import DetectionError

    from .errors import TrainingError
    from .runs import calibrate_run, default_reports_dir

    folder = out or default_reports_dir() / "calibrate" / f"{Path(checkpoint).stem}-{split}"
    bars = _Bars()
    try:
        res = calibrate_run(
            checkpoint,
            manifest,
            cache=_cache_dir(cache),
            out=folder,
            split=split,
            frames=cache_frames,
            target_fpr=target_fpr,
            target_accuracy=target_accuracy,
            band=band,
            max_uncertain=max_uncertain,
            workers=workers,
            device=device,
            batch_size=batch_size,
            dry_run=dry_run,
            progress=bars,
        )
    except (TrainingError, DetectionError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        bars.close()
    dec, cal = res["decision"], res["calibration"]
    th, bd, rel = cal["threshold"], cal["band"], cal["reliability"]
    click.echo(f"Calibrated {res['checkpoint']} on {dec['calibrated_on']}")
    click.echo(
        f"  threshold {dec['threshold']:.4f} ({th['method']}): balanced accuracy "
        f"{th['balanced_accuracy']:.3f}, TPR {th['tpr']:.3f}, FPR {th['fpr']:.3f}"
    )
    acc = "n/a" if bd["accuracy_outside"] is None else f"{bd['accuracy_outside']:.3f}"
    click.echo(
        f"  UNCERTAIN band ±{dec['uncertain_margin']:.4f} ({bd['method']}): "
        f"{bd['uncertain_fraction']:.1%} of these videos inside, accuracy outside {acc}"
        + ("" if bd["reached"] else "  — TARGET NOT REACHED within --max-uncertain")
    )
    click.echo(f"  reliability: ECE {rel['ece']:.3f}, Brier {rel['brier']:.3f}")
    click.echo("  written into the checkpoint" if res["written"] else "  dry run: not written")
    click.echo(f"  report: {res['files']['markdown']} (+ reliability.png, scores.png)")


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", type=SPLIT_CHOICES, default="test", show_default=True)
@click.option(
    "--record",
    is_flag=True,
    help="Write these metrics into the checkpoint's metadata (deepfake-web format).",
)
@_common_scoring
def evaluate_command(
    checkpoint: str,
    manifest: str,
    split: str,
    record: bool,
    cache_frames: int | None,
    workers: int,
    device: str,
    batch_size: int,
    out: str | None,
    cache: str | None,
) -> None:
    """Evaluate a checkpoint (either format) on the test split: JSON, Markdown and PNG report."""
    from deepfake_web.detection.errors import DetectionError

    from .errors import TrainingError
    from .runs import default_reports_dir, evaluate_run

    folder = out or default_reports_dir() / "evaluate" / f"{Path(checkpoint).stem}-{split}"
    bars = _Bars()
    try:
        res = evaluate_run(
            checkpoint,
            manifest,
            cache=_cache_dir(cache),
            out=folder,
            split=split,
            frames=cache_frames,
            workers=workers,
            device=device,
            batch_size=batch_size,
            record=record,
            progress=bars,
        )
    except (TrainingError, DetectionError) as exc:
        raise _fail(exc) from exc
    finally:
        bars.close()
    s, info = res["summary"], res["info"]
    tm = s["threshold_metrics"]

    def f(x, pct=True):
        return "n/a" if x is None else (f"{100 * x:.1f}%" if pct else f"{x:.3f}")

    click.echo(f"Evaluated {info['checkpoint']} ({info['format']}) on {info['data']}")
    click.echo(
        f"  {s['videos']} videos: " + ", ".join(f"{k} {n}" for k, n in s["verdicts"].items())
    )
    click.echo(
        f"  AUC {f(tm.get('auc'), False)}  accuracy {f(tm.get('accuracy'))}  precision "
        f"{f(tm.get('precision'))}  recall {f(tm.get('recall'))}  F1 "
        f"{f(tm.get('f1'), False)}  (threshold {s['decision']['threshold']:.3f})"
    )
    click.echo(
        f"  UNCERTAIN {f(s['uncertain_rate'])}  NO_FACE {f(s['no_face_rate'])}  strict "
        f"accuracy {f(s['strict_accuracy'])}"
    )
    for r in s["per_method"]:
        click.echo(
            f"    {r['method']:16s} {r['videos']:5d} videos  accuracy {f(r['accuracy'])}"
            f"  AUC vs real {f(r['auc_vs_real'], False)}"
        )
    if info.get("warning"):
        click.echo(f"  WARNING: {info['warning']}")
    click.echo(
        f"  report: {res['files']['markdown']} (+ report.json, scores.csv, roc.png, scores.png)"
    )
    if res["recorded"]:
        click.echo("  metrics recorded in the checkpoint's metadata")


COMMANDS: list[click.Command] = [
    dataset,
    faces_command,
    features_command,
    train_command,
    calibrate_command,
    evaluate_command,
]
