"""``deepfake-web models``: list the installed checkpoints, or write a demo one."""

from __future__ import annotations

import json

import click

from .options import models_dir_option, resolve_models_dir


@click.group()
def models() -> None:
    """List installed checkpoints or write a demo one."""


@models.command("list")
@models_dir_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--no-sha256", is_flag=True, help="Skip hashing (faster for many large files).")
def models_list(models_dir: str | None, as_json: bool, no_sha256: bool) -> None:
    """List the checkpoints in the models folder: length, accuracy, format, size, sha256."""
    from deepfake_web.detection.checkpoint_info import file_sha256
    from deepfake_web.detection.models_folder import INSTALL_HINT, ModelsFolder

    folder = resolve_models_dir(models_dir)
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
@models_dir_option()
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
    from deepfake_web.detection.demo import write_demo_checkpoint

    folder = resolve_models_dir(models_dir)
    for n in lengths:
        path = write_demo_checkpoint(folder, n, seed=seed)
        click.echo(f"Wrote {path} (random weights, {n} frames; verdicts are meaningless).")
