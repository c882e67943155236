"""Options and helpers shared by the commands: each option is declared once, here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from deepfake_web.detection.config import DEVICES, PRECISIONS, DetectorConfig
from deepfake_web.paths import default_models_dir

if TYPE_CHECKING:
    from deepfake_web.training.manifest import Manifest, VideoEntry
    from deepfake_web.training.runs import CropOptions

SPLIT_CHOICES = click.Choice(["all", "train", "val", "test"])


_ENGINE = DetectorConfig()  # the engine's defaults are the commands' defaults


def device_option(f: Callable) -> Callable:
    """``--device``: auto (CUDA when present), cpu or cuda."""
    return click.option(
        "--device",
        type=click.Choice(DEVICES),
        default=_ENGINE.device,
        show_default=True,
        help="Where the network runs (auto: CUDA when present, else the CPU).",
    )(f)


def batch_size_option(help_text: str = "Face crops per backbone batch.") -> Callable:
    """``--batch-size``, with what one batch holds in this command."""
    return click.option(
        "--batch-size",
        type=click.IntRange(1, 4096),
        default=_ENGINE.batch_size,
        show_default=True,
        help=help_text,
    )


def models_dir_option(help_text: str = "The checkpoints folder") -> Callable:
    """``--models-dir`` (default: ``$DEEPFAKE_MODELS_DIR``, else the project's ``models/``)."""
    return click.option(
        "--models-dir",
        type=click.Path(file_okay=False),
        default=None,
        help=f"{help_text} [default: $DEEPFAKE_MODELS_DIR, else the project's models/].",
    )


def resolve_models_dir(value: str | None) -> Path:
    """The ``--models-dir`` given, else the default."""
    return Path(value) if value else default_models_dir()


def precision_option(f: Callable) -> Callable:
    """``--precision``: the backbone's runtime in standard mode (``$DEEPFAKE_PRECISION``)."""
    return click.option(
        "--precision",
        type=click.Choice(PRECISIONS),
        default=_ENGINE.precision,
        show_default=True,
        help="The backbone's runtime in standard mode: auto (the fastest measured on this "
        "CPU, cached; `deepfake-web doctor` says which), fp32, bf16 (fast only with bf16 "
        "arithmetic) or a runtime's name [env: DEEPFAKE_PRECISION].",
    )(f)


class Bars:
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


@contextmanager
def progress_bars(*also: type[Exception]) -> Iterator[Bars]:
    """Progress bars for one step; its pipeline errors (and ``also``) become click errors."""
    from deepfake_web.detection.errors import DetectionError
    from deepfake_web.training.errors import TrainingError

    bars = Bars()
    try:
        yield bars
    except (TrainingError, DetectionError, *also) as exc:
        raise fail(exc) from exc
    finally:
        bars.close()


def fail(exc: Exception) -> click.ClickException:
    """A pipeline error as a click error (message, exit code 1, no traceback)."""
    return click.ClickException(str(exc))


def cache_option(f: Callable) -> Callable:
    """The ``--cache`` option."""
    return click.option(
        "--cache",
        type=click.Path(file_okay=False),
        default=None,
        help="Cache folder for faces and features "
        "[default: $DEEPFAKE_CACHE_DIR, else the project's cache/].",
    )(f)


def crop_options(frames_flag: str, frames_help: str) -> Callable:
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


def channel_option(f: Callable) -> Callable:
    """The ``--channel-order`` option."""
    return click.option(
        "--channel-order",
        type=click.Choice(["RGB", "BGR"]),
        default="RGB",
        show_default=True,
        help="Channel order fed to the network (ImageNet weights expect RGB).",
    )(f)


def backbone_options(f: Callable) -> Callable:
    """The ``--backbone-weights`` and ``--backbone-seed`` options."""
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


def crop_settings(
    cache_frames: int,
    margin: float,
    image_size: int,
    detector: str,
    detect_max_side: int,
    channel_order: str = "RGB",
) -> CropOptions:
    """The crop and preprocessing settings of the command-line options."""
    from deepfake_web.training.runs import CropOptions

    return CropOptions(cache_frames, image_size, margin, channel_order, detector, detect_max_side)


def cache_dir(cache: str | None) -> Path:
    """The cache folder: ``--cache``, else the default."""
    from deepfake_web.training.runs import default_cache_dir

    return Path(cache) if cache else default_cache_dir()


def manifest_entries(manifest_path: str, split: str) -> tuple[Manifest, list[VideoEntry]]:
    """The manifest and its videos of ``split`` (``all``: every video); none is an error."""
    from deepfake_web.training.manifest import read_manifest

    manifest = read_manifest(manifest_path)
    entries = manifest.split(None if split == "all" else split)
    if not entries:
        raise click.ClickException(f"The manifest has no {split} videos.")
    return manifest, entries


def echo_list(title: str, items: Iterable[object], limit: int = 20) -> None:
    """Print a titled list (the first ``limit`` items and how many more)."""
    items = list(items)
    if not items:
        return
    click.echo(f"{title} ({len(items)}):")
    for item in items[:limit]:
        click.echo(f"  {item}")
    if len(items) > limit:
        click.echo(f"  ... and {len(items) - limit} more")


def scoring_options(f: Callable) -> Callable:
    """Options of the commands that score a checkpoint (calibrate, evaluate)."""
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
        device_option,
        batch_size_option(),
        click.option(
            "--out",
            type=click.Path(file_okay=False),
            default=None,
            help="Report folder "
            "[default: the project's artifacts/<command>/<checkpoint>-<split>/].",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return cache_option(f)
