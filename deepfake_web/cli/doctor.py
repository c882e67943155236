"""``deepfake-web doctor``: which runtime computes the backbone on this machine, and why."""

from __future__ import annotations

import json

import click

from .options import device_option, precision_option


def _text(data: dict) -> str:
    """The doctor's report as lines for a person."""
    cpu = data["cpu"]
    lines = [
        f"CPU: {cpu['model']}, {cpu['cores']} cores; vector flags: {', '.join(cpu['flags']) or '-'}"
        f"; bf16 arithmetic: {'yes' if cpu['bf16'] else 'no'}",
        "libraries: "
        + ", ".join(f"{k} {v or 'not installed'}" for k, v in data["versions"].items()),
        f"precision setting: {data['precision']} (DEEPFAKE_PRECISION or --precision)",
        f"device: {data['device']}; cache folder: {data['cache_dir']}",
        "",
        "candidates:",
    ]
    for c in data["candidates"]:
        ms = data["measured_ms"].get(c["name"])
        drift = data["drift"].get(c["name"])
        figures = f"{ms:.1f} ms/crop" if ms is not None else "not measured"
        if drift is not None:
            figures += f", feature drift {drift:.1e}"
        mark = "yes" if c["eligible"] else "no "
        lines.append(f"  {mark} {c['name']:<14} {figures:<38} {c['reason']}")
    lines += ["", f"chosen: {data['runtime']}", f"why: {data['reason']}"]
    if data.get("cache_file"):
        lines.append(f"measured once and cached in {data['cache_file']}")
    lines.append("reference mode always uses torch-fp32 (the original app's computation).")
    return "\n".join(lines)


@click.command()
@click.option(
    "--measure", is_flag=True, help="Measure every candidate now and cache the choice again."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@device_option
@precision_option
def doctor(measure: bool, as_json: bool, device: str, precision: str) -> None:
    """Say which runtime the backbone uses on this machine and why (CPU flags, ms per crop)."""
    from deepfake_web.detection.checkpoints import resolve_device
    from deepfake_web.detection.errors import DetectionError
    from deepfake_web.detection.runtime_choice import chooser
    from deepfake_web.detection.runtimes import cache_dir

    dev = resolve_device(device).type
    ch = chooser()
    try:
        choice = ch.remeasure(dev) if measure else ch.resolve(precision, dev, measure=False)
    except DetectionError as exc:
        raise click.ClickException(str(exc)) from exc
    data = choice.to_dict()
    data["cpu"]["bf16"] = ch.facts.bf16
    data["precision"] = "auto (measured now)" if measure else precision
    data["cache_dir"] = str(cache_dir())
    click.echo(json.dumps(data, indent=2) if as_json else _text(data))
