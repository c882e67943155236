"""The ``deepfake-web`` command line: predict, models, serve, worker and the training commands."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from .settings import default_models_dir

log = logging.getLogger(__name__)

SEQUENCE_LENGTHS = (10, 20, 40, 60, 80, 100)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="deepfake-web")
def cli(verbose: int) -> None:
    """Deepfake detection for research labs: analyse videos, manage checkpoints, serve the app."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _expand_inputs(paths: tuple[str, ...]) -> list[Path]:
    from .detection.media import SUPPORTED_EXTENSIONS

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS
            )
            if not found:
                log.warning("%s holds no supported video or image", p)
            files.extend(found)
        else:
            files.append(p)
    return files


def _summary_line(entry: dict) -> str:
    name = Path(entry["file"]).name
    if "error" in entry:
        return f"{name}: ERROR ({entry['error_type']}) {entry['error']}"
    parts = [f"{name}: {entry['verdict']}"]
    if entry["p_fake"] is not None:
        parts.append(f"p_fake={entry['p_fake']:.3f}")
    parts.append(f"frames {entry['frames_used']}/{entry['frames_sampled']}")
    parts.append(f"{entry['checkpoint']['name']}")
    parts.append(f"{entry['timings']['total_s']:.1f}s")
    line = "  ".join(parts)
    for extra in (entry.get("reason"), *entry.get("notes", []), entry["checkpoint"]["warning"]):
        if extra:
            line += f"\n    note: {extra}"
    return line


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--frames",
    "-n",
    type=click.IntRange(1, 1000),
    default=None,
    help="Frames to analyse per video (the sequence length). Default: the checkpoint's own.",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this checkpoint file (instead of choosing from --models-dir).",
)
@click.option(
    "--models-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Choose the best checkpoint for --frames from this folder "
    "[default: $DEEPFAKE_MODELS_DIR, else the project's models/].",
)
@click.option(
    "--mode",
    type=click.Choice(["standard", "reference"]),
    default="standard",
    show_default=True,
    help="standard: frames spread over the clip, mean of per-frame logits. reference: the "
    "original app's exact number (first N frames, last-frame logits; published checkpoints).",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="bf16 autocast for the backbone in standard mode (fast only on CPUs with AMX or on "
    "GPUs; see docs/performance.md).",
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the results as a JSON list to this file ('-' for stdout).",
)
def predict(
    paths: tuple[str, ...],
    frames: int | None,
    checkpoint: str | None,
    models_dir: str | None,
    mode: str,
    device: str,
    precision: str,
    batch_size: int,
    json_out: str | None,
) -> None:
    """Analyse videos or images (files or folders) and say REAL, FAKE, UNCERTAIN or NO_FACE."""
    from tqdm import tqdm

    from .detection import DetectionError, Detector, DetectorConfig

    if checkpoint and models_dir:
        raise click.UsageError("give --checkpoint or --models-dir, not both")
    config = DetectorConfig(device=device, precision=precision, batch_size=batch_size)
    try:
        if checkpoint:
            detector = Detector.from_checkpoint(checkpoint, device=device, config=config)
        else:
            folder = models_dir or default_models_dir()
            detector = Detector.from_models_dir(folder, device=device, config=config)
            detector.choose(frames)  # fail now, not once per file, when nothing is installed
    except DetectionError as exc:
        raise click.ClickException(str(exc)) from exc

    files = _expand_inputs(paths)
    if not files:
        raise click.ClickException("No supported video or image among the inputs.")
    entries, failed = [], 0
    bar = tqdm(files, desc="analysing", unit="file", file=sys.stderr, disable=len(files) < 2)
    for f in bar:
        bar.set_postfix_str(f.name[:30])
        try:
            result = detector(f, sequence_length=frames, mode=mode)
            entries.append(result.to_dict())
        except DetectionError as exc:
            failed += 1
            entries.append({"file": str(f), "error": str(exc), "error_type": type(exc).__name__})
        if json_out is None:
            tqdm.write(_summary_line(entries[-1]), file=sys.stdout)
    if json_out is not None:
        text = json.dumps(entries, indent=2)
        if json_out == "-":
            click.echo(text)
        else:
            Path(json_out).write_text(text + "\n")
            click.echo(f"Wrote {len(entries)} result(s) to {json_out}", err=True)
    if failed:
        click.echo(f"{failed} of {len(files)} input(s) failed.", err=True)
        sys.exit(1)


@cli.group()
def models() -> None:
    """List installed checkpoints or write a demo one."""


@models.command("list")
@click.option("--models-dir", type=click.Path(file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--no-sha256", is_flag=True, help="Skip hashing (faster for many large files).")
def models_list(models_dir: str | None, as_json: bool, no_sha256: bool) -> None:
    """List the checkpoints in the models folder: length, accuracy, format, size, sha256."""
    from .detection.checkpoint_info import file_sha256
    from .detection.models_folder import INSTALL_HINT, ModelsFolder

    folder = Path(models_dir or default_models_dir())
    infos = ModelsFolder(folder).checkpoints()
    rows = []
    for info in infos:
        row = info.to_dict()
        row["sha256"] = None if no_sha256 else file_sha256(info.path)
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No checkpoint in {folder}.\n" + INSTALL_HINT.format(dir=folder))
        return
    click.echo(f"Checkpoints in {folder}:")
    for r in rows:
        acc = f"{r['accuracy']:g}%" if r["accuracy"] is not None else "n/a"
        length = r["sequence_length"] or "?"
        size = f"{r['size'] / 1e6:.0f} MB"
        click.echo(f"  {r['name']}")
        sha = (r["sha256"] or "")[:16]
        click.echo(f"      frames {length}  accuracy {acc}  {r['format']}  {size}  sha256 {sha}")
        if r["problem"]:
            click.echo(f"      NOT USABLE: {r['problem']}")
        if r["warning"]:
            click.echo(f"      WARNING: {r['warning']}")


@models.command("demo")
@click.option("--models-dir", type=click.Path(file_okay=False), default=None)
@click.option(
    "--frames",
    "-n",
    "lengths",
    type=click.IntRange(1, 1000),
    multiple=True,
    default=(20,),
    show_default=True,
    help="Sequence length of the demo checkpoint (repeat for several).",
)
@click.option("--seed", type=int, default=0, show_default=True)
def models_demo(models_dir: str | None, lengths: tuple[int, ...], seed: int) -> None:
    """Write a random-weight demo checkpoint, so the app can be tried before a real one exists.

    Its verdicts mean nothing; every page that shows one says so.
    """
    from .detection.demo import write_demo_checkpoint

    folder = Path(models_dir or default_models_dir())
    for n in lengths:
        path = write_demo_checkpoint(folder, n, seed=seed)
        click.echo(f"Wrote {path} (random weights, {n} frames; verdicts are meaningless).")


def _register_commands() -> None:
    """Attach the command groups that live in other modules."""
    from .serve import serve, worker
    from .training.cli import COMMANDS

    for command in (serve, worker, *COMMANDS):
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``deepfake-web`` console script."""
    cli.main(args=argv, prog_name="deepfake-web")
