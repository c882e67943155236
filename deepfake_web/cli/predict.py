"""``deepfake-web predict``: analyse files and folders, as the web app does, to text or JSON."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from deepfake_web.detection.modes import Mode

from .options import (
    batch_size_option,
    device_option,
    models_dir_option,
    precision_option,
    resolve_models_dir,
)

log = logging.getLogger(__name__)


def _expand_inputs(paths: tuple[str, ...]) -> list[Path]:
    from deepfake_web.detection.media import SUPPORTED_EXTENSIONS

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
    persons = entry.get("persons") or []
    if len(persons) > 1:
        line += f"\n    {entry.get('summary') or f'{len(persons)} people'}"
        for p in persons:
            score = f"p_fake={p['p_fake']:.3f}" if p.get("p_fake") is not None else "not scored"
            line += (
                f"\n    person {p['id']}: {p['verdict']}  {score}  "
                f"seen in {p['frames_seen']}/{entry['frames_sampled']} frames"
            )
    for extra in (entry.get("reason"), *entry.get("notes", []), entry["checkpoint"]["warning"]):
        if extra:
            line += f"\n    note: {extra}"
    return line


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--frames",
    "-n",
    "sequence_length",
    type=click.IntRange(1, 1000),
    default=None,
    help="Frames to analyse per video (the sequence length). Default: the checkpoint's own.",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this checkpoint file (instead of choosing from --models-dir).",
)
@models_dir_option("Choose the best checkpoint for --frames from this folder")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    default=Mode.STANDARD.value,
    show_default=True,
    help="; ".join(m.description for m in Mode) + ".",
)
@device_option
@precision_option
@batch_size_option()
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the results as a JSON list to this file ('-' for stdout).",
)
def predict(
    paths: tuple[str, ...],
    sequence_length: int | None,
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

    from deepfake_web.detection.config import DetectorConfig
    from deepfake_web.detection.detector import Detector
    from deepfake_web.detection.errors import DetectionError

    if checkpoint and models_dir:
        raise click.UsageError("give --checkpoint or --models-dir, not both")
    config = DetectorConfig(device=device, precision=precision, batch_size=batch_size)
    try:
        if checkpoint:
            detector = Detector.from_checkpoint(checkpoint, config=config)
        else:
            detector = Detector.from_models_dir(resolve_models_dir(models_dir), config=config)
            detector.choose(
                sequence_length
            )  # fail now, not once per file, when nothing is installed
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
            result = detector(f, sequence_length=sequence_length, mode=mode)
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
