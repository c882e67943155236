"""The report of one analysis: a JSON reproducibility record and a PDF a person can file.

:func:`build_record` gathers everything needed to defend or reproduce a result (verdict, per
person when there are several, probability and uncertain band, per-frame scores, the
checkpoint and its card, the input's facts with its SHA-256, the settings, library versions,
stage times, when and by which version of this program). :func:`render_pdf` lays the same
record out on A4 pages with matplotlib (already a dependency; no torch), with the per-frame
chart and the frames, face crops and heatmaps.
"""

from __future__ import annotations

import io
import logging
import os
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from .result import library_versions

log = logging.getLogger(__name__)

RECORD_VERSION = 1
HEATMAP_NOTE = (
    "Heatmaps show where the network's evidence for FAKE came from (Grad-CAM of the FAKE "
    "score on the backbone's last convolutional block, through the temporal head). They are "
    "not proof of manipulation."
)


@dataclass
class ReportFrame:
    """One analysed frame's images for the PDF (JPEG bytes; None when absent)."""

    number: int
    index: int
    time_s: float
    p_fake: float | None
    frame_jpeg: bytes | None
    face_jpeg: bytes | None
    heat_jpeg: bytes | None = None


def _band(threshold: float, margin: float) -> list[float] | None:
    return [max(0.0, threshold - margin), min(1.0, threshold + margin)] if margin else None


def build_record(
    result: dict,
    source: dict,
    *,
    card: dict | None = None,
    analysis: dict | None = None,
) -> dict:
    """The reproducibility record of one analysis, as plain JSON types.

    ``result`` is an engine result in its JSON form; ``source`` the input's facts
    (``file_name``, ``sha256``, ``size_bytes``); ``card`` the checkpoint's model card when it
    is still installed; ``analysis`` the app's own facts (id, times), if any.
    """
    ck = dict(result.get("checkpoint") or {})
    media = result.get("media") or {}
    threshold = float(ck.get("threshold", 0.5))
    margin = float(ck.get("uncertain_margin", 0.0))
    versions = result.get("versions") or library_versions()
    return {
        "record_version": RECORD_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "app": {"name": "deepfake-web", "version": versions.get("deepfake-web", "unknown")},
        "analysis": analysis or {},
        "verdict": result.get("verdict"),
        "p_fake": result.get("p_fake"),
        "confidence": result.get("confidence"),
        "reason": result.get("reason"),
        "decision": {
            "threshold": threshold,
            "uncertain_margin": margin,
            "uncertain_band": _band(threshold, margin),
        },
        "persons": result.get("persons") or [],
        "summary": result.get("summary"),
        "input": {
            "file_name": source.get("file_name"),
            "sha256": source.get("sha256"),
            "size_bytes": source.get("size_bytes"),
            "kind": media.get("kind"),
            "codec": media.get("codec"),
            "width": media.get("width"),
            "height": media.get("height"),
            "fps": media.get("fps"),
            "frames": media.get("frames"),
            "duration_s": media.get("duration_s"),
        },
        "settings": {
            "sequence_length": result.get("frames_requested"),
            "mode": result.get("mode"),
            "frames_sampled": result.get("frames_sampled"),
            "frames_used": result.get("frames_used"),
            "frames_without_face": result.get("frames_without_face"),
        },
        "checkpoint": ck,
        "checkpoint_card": card,
        "frame_scores": result.get("frame_scores") or [],
        "heatmaps": result.get("heatmaps"),
        "timings": result.get("timings") or {},
        "runtime": result.get("runtime"),
        "versions": versions,
        "notes": result.get("notes") or [],
    }


# --- the PDF ----------------------------------------------------------------------------

_A4 = (8.27, 11.69)
_VERDICT_COLOURS = {"REAL": "#1d7a45", "FAKE": "#b3261e", "UNCERTAIN": "#8a5a00"}


_LINE = 0.0125  # one more line of 8-9 pt text, as a fraction of the page's height


def _wrapped(text: str, width: int) -> tuple[str, int]:
    """``text`` broken into lines of at most ``width`` characters, and how many lines."""
    lines = [part for line in str(text).splitlines() for part in textwrap.wrap(line, width) or [""]]
    return "\n".join(lines), max(1, len(lines))


def _fmt(value: Any, spec: str = "") -> str:
    if value is None or value == "":
        return "–"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _image(jpeg: bytes | None):
    if not jpeg:
        return None
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        import numpy as np

        return np.asarray(img.convert("RGB"))


def _facts_text(record: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    inp, st, ck = record["input"], record["settings"], record["checkpoint"]
    card = record.get("checkpoint_card") or {}
    t = record["timings"]
    an = record.get("analysis") or {}
    sections = [
        (
            "Input",
            [
                ("File", _fmt(inp["file_name"])),
                ("SHA-256", _fmt(inp["sha256"])),
                ("Size", f"{_fmt(inp['size_bytes'])} bytes"),
                ("Codec", _fmt(inp["codec"])),
                ("Resolution", f"{_fmt(inp['width'])} × {_fmt(inp['height'])}"),
                (
                    "Duration",
                    f"{_fmt(inp['duration_s'], '.2f')} s, {_fmt(inp['frames'])} "
                    f"frames at {_fmt(inp['fps'], '.2f')} fps",
                ),
            ],
        ),
        (
            "Settings",
            [
                (
                    "Frames",
                    f"{_fmt(st['sequence_length'])} requested, {_fmt(st['frames_sampled'])}"
                    f" sampled, {_fmt(st['frames_used'])} scored, "
                    f"{_fmt(st['frames_without_face'])} without a face",
                ),
                ("Mode", _fmt(st["mode"])),
                ("Backbone runtime", _fmt(record.get("runtime"))),
            ],
        ),
        (
            "Checkpoint",
            [
                ("Name", _fmt(ck.get("name"))),
                ("SHA-256", _fmt(ck.get("sha256"))),
                (
                    "Format",
                    f"{_fmt(ck.get('format'))}, made for {_fmt(ck.get('sequence_length'))} frames",
                ),
                ("Claimed accuracy", f"{_fmt(card.get('claimed_accuracy'))} % (its name)"),
                (
                    "Measured AUC",
                    _fmt(card.get("measured_auc"), ".3f")
                    + (
                        f" on {card['evaluation']['data']}"
                        if (card.get("evaluation") or {}).get("data")
                        else ""
                    ),
                )
                if card
                else ("Card", "checkpoint no longer installed"),
                ("Training data", _fmt(card.get("training_data"))),
                ("Warning", _fmt(ck.get("warning"))),
            ],
        ),
        (
            "Run",
            [
                ("Analysis", _fmt(an.get("id"))),
                ("Run at", _fmt(an.get("finished_at") or record["generated_at"])),
                ("App version", f"deepfake-web {record['app']['version']}"),
                (
                    "Libraries",
                    ", ".join(
                        f"{k} {v}" for k, v in record["versions"].items() if k != "deepfake-web"
                    ),
                ),
                (
                    "Stage times",
                    f"model load {_fmt(t.get('load_s'), '.2f')} s, decode "
                    f"{_fmt(t.get('decode_s'), '.2f')} s, faces "
                    f"{_fmt(t.get('faces_s'), '.2f')} s, model "
                    f"{_fmt(t.get('model_s'), '.2f')} s, heatmaps "
                    f"{_fmt(t.get('heatmap_s'), '.2f')} s, total "
                    f"{_fmt(t.get('total_s'), '.2f')} s",
                ),
            ],
        ),
    ]
    return sections


def _first_page(pdf, record: dict) -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=_A4)
    y = 0.96
    fig.text(0.06, y, "deepfake-web analysis report", fontsize=16, weight="bold")
    y -= 0.03
    fig.text(0.06, y, f"Generated {record['generated_at']}", fontsize=8, color="#555")
    verdict = str(record["verdict"] or "–")
    y -= 0.06
    fig.text(
        0.06,
        y,
        f"Verdict: {verdict.replace('_', ' ')}",
        fontsize=22,
        weight="bold",
        color=_VERDICT_COLOURS.get(verdict, "#333"),
    )
    dec = record["decision"]
    band = dec["uncertain_band"]
    lines = [
        f"p(fake) = {_fmt(record['p_fake'], '.4f')}   confidence in verdict "
        f"{_fmt(record['confidence'], '.3f')}",
        f"FAKE when p(fake) ≥ {dec['threshold']:.4f}"
        + (f"; UNCERTAIN from {band[0]:.4f} to {band[1]:.4f}" if band else "; no uncertain band"),
    ]
    if record.get("reason"):
        lines.append(str(record["reason"]))
    for line in lines:
        y -= 0.025
        fig.text(0.06, y, line, fontsize=10)
    persons = record.get("persons") or []
    if len(persons) > 1:
        y -= 0.035
        summary = record.get("summary") or f"{len(persons)} people"
        fig.text(0.06, y, f"Per person: {summary}", fontsize=11, weight="bold")
        for p in persons[:12]:
            y -= 0.022
            fig.text(
                0.08,
                y,
                f"person {p.get('id')}: {p.get('verdict')}  p(fake) "
                f"{_fmt(p.get('p_fake'), '.4f')}  confidence {_fmt(p.get('confidence'), '.3f')}"
                f"  seen in {_fmt(p.get('frames_seen'))} of "
                f"{_fmt(record['settings']['frames_sampled'])} frames",
                fontsize=9,
                color=p.get("colour") or "#333",
            )
        if len(persons) > 12:
            y -= 0.022
            fig.text(0.08, y, f"and {len(persons) - 12} more (see the JSON record)", fontsize=9)
    warning = record["checkpoint"].get("warning")
    if warning:
        y -= 0.035
        text, n = _wrapped(f"WARNING: {warning}", 105)
        fig.text(0.06, y, text, fontsize=9, color="#8a5a00", va="top")
        y -= _LINE * (n - 1)
    for title, rows in _facts_text(record):
        y -= 0.04
        fig.text(0.06, y, title, fontsize=11, weight="bold")
        for key, value in rows:
            y -= 0.021
            text, n = _wrapped(value, 90)
            fig.text(0.08, y, key, fontsize=8, color="#555", va="top")
            fig.text(0.27, y, text, fontsize=8, va="top")
            y -= _LINE * (n - 1)
    for note in record.get("notes") or []:
        y -= 0.022
        text, n = _wrapped(f"Note: {note}", 118)
        fig.text(0.06, y, text, fontsize=8, color="#333", va="top")
        y -= _LINE * (n - 1)
    pdf.savefig(fig)
    plt.close(fig)


def _plot_persons(ax, persons: list[dict], frame_scores: list[dict]) -> None:
    """One line per person, in the person's colour, on the per-frame chart."""
    times = {s["index"]: s["time_s"] for s in frame_scores}
    for p in persons:
        pts = [
            (times[b["index"]], b["p_fake"])
            for b in p.get("boxes") or []
            if b.get("p_fake") is not None and b["index"] in times
        ]
        if pts:
            ax.plot(
                [t for t, _ in pts],
                [v for _, v in pts],
                "o-",
                color=p.get("colour") or None,
                ms=3,
                lw=1.2,
                label=f"person {p.get('id')}",
            )


def _chart_and_frames(pdf, record: dict, frames: list[ReportFrame]) -> None:
    import matplotlib.pyplot as plt

    per_page = 12
    scored = [s for s in record["frame_scores"] if s.get("p_fake") is not None]
    chunks = [frames[i : i + per_page] for i in range(0, len(frames), per_page)] or [[]]
    for page, chunk in enumerate(chunks):
        fig = plt.figure(figsize=_A4)
        top = 0.95
        if page == 0:
            ax = fig.add_axes((0.1, 0.74, 0.84, 0.2))
            dec = record["decision"]
            if dec["uncertain_band"]:
                ax.axhspan(*dec["uncertain_band"], color="#ffe39a", alpha=0.6, label="uncertain")
            ax.axhline(dec["threshold"], color="#b3261e", ls="--", lw=1, label="threshold")
            persons = record.get("persons") or []
            if len(persons) > 1:
                _plot_persons(ax, persons, record["frame_scores"])
            elif scored:
                ax.plot(
                    [s["time_s"] for s in scored],
                    [s["p_fake"] for s in scored],
                    "o-",
                    color="#2f6db5",
                    ms=3,
                    lw=1.2,
                    label="p(fake) of the frame",
                )
            ax.set_ylim(0, 1)
            ax.set_xlabel("time in the clip (s)", fontsize=8)
            ax.set_ylabel("p(fake)", fontsize=8)
            ax.set_title("Score of each analysed frame", fontsize=10)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7, loc="upper right")
            top = 0.68
        fig.text(0.06, top, "Frames, face crops and heatmaps", fontsize=11, weight="bold")
        fig.text(0.06, top - 0.018, HEATMAP_NOTE, fontsize=6.5, color="#555", wrap=True)
        rows = 4 if page == 0 else 6
        cols = 3
        cell_h = (top - 0.08) / rows
        for k, f in enumerate(chunk[: rows * cols]):
            r, c = divmod(k, cols)
            x0, y0 = 0.06 + c * 0.31, top - 0.045 - (r + 1) * cell_h
            images = [_image(f.frame_jpeg), _image(f.face_jpeg), _image(f.heat_jpeg)]
            widths = [0.14, 0.07, 0.07]
            x = x0
            for img, w in zip(images, widths, strict=True):
                if img is not None:
                    ax = fig.add_axes((x, y0 + 0.02, w, cell_h - 0.03))
                    ax.imshow(img)
                    ax.set_axis_off()
                x += w + 0.005
            score = _fmt(f.p_fake, ".3f")
            label = f"#{f.number} frame {f.index}, {f.time_s:.2f} s, p(fake) {score}"
            fig.text(x0, y0 + 0.005, label, fontsize=6.5)
        pdf.savefig(fig)
        plt.close(fig)


def render_pdf(record: dict, frames: list[ReportFrame], out: str | os.PathLike | IO[bytes]) -> None:
    """Write the report PDF of ``record`` with the images of ``frames`` to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    meta = {
        "Title": f"deepfake-web report: {record['input']['file_name']}",
        "Creator": f"deepfake-web {record['app']['version']}",
    }
    with PdfPages(out, metadata=meta) as pdf:
        _first_page(pdf, record)
        _chart_and_frames(pdf, record, frames)
