"""Geometry of the per-frame score chart, drawn as SVG by the result template."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Series:
    """One person's line: their colour, the polyline's points and each point's label."""

    label: str
    colour: str
    line: str
    points: list[tuple[float, float, str]] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)


@dataclass
class Chart:
    """Everything the template needs to draw the chart (coordinates in SVG pixels)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    points: list[tuple[float, float, str]] = field(default_factory=list)
    missing: list[tuple[float, str]] = field(default_factory=list)
    persons: list[Series] = field(default_factory=list)
    threshold_y: float = 0.0
    band: tuple[float, float] | None = None
    x_label: str = "time in the clip (s)"


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / max(target, 1)
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300):
        if step >= raw:
            return step
    return 600.0


def build_chart(
    frame_scores: list[dict],
    duration_s: float | None,
    threshold: float = 0.5,
    margin: float = 0.0,
    width: int = 720,
    height: int = 260,
    persons: list[dict] | None = None,
) -> Chart:
    """Lay out p_fake per frame against time; frames without a face appear as marks below.

    With several ``persons`` (their JSON form: ``id``, ``colour``, ``boxes`` with each
    frame's ``p_fake``) each gets a line of their own in their colour, instead of the
    video's line (which is the most suspicious person's).
    """
    c = Chart(width, height, left=52, right=width - 16, top=14, bottom=height - 42)
    times = [s["time_s"] for s in frame_scores]
    by_index = len(times) > 1 and max(times) == 0  # images and streams without timestamps
    xs = [float(s["index"]) for s in frame_scores] if by_index else times
    span = max([*xs, 0.0 if by_index else duration_s or 0.0]) or 1.0
    if by_index:
        c.x_label = "frame"

    def x(v: float) -> float:
        return round(c.left + (c.right - c.left) * (v / span if span else 0.5), 1)

    def y(p: float) -> float:
        return round(c.bottom - (c.bottom - c.top) * p, 1)

    step = _nice_step(span)
    tick, ticks = 0.0, []
    while tick <= span + 1e-9:
        ticks.append((x(tick), f"{tick:g}"))
        tick += step
    c.x_ticks = ticks
    c.y_ticks = [(y(v), f"{v:.2g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    c.threshold_y = y(threshold)
    if margin > 0:
        c.band = (y(min(1.0, threshold + margin)), y(max(0.0, threshold - margin)))

    if persons and len(persons) > 1:
        where = {s["index"]: xv for xv, s in zip(xs, frame_scores, strict=True)}
        times = {s["index"]: s["time_s"] for s in frame_scores}
        c.persons = [_series(p, where, times, x, y) for p in persons]
        seen = {index for series in c.persons for index in series.indices}
        for s, xv in zip(frame_scores, xs, strict=True):
            if s["index"] not in seen and s.get("p_fake") is None:
                c.missing.append((x(xv), f"frame {s['index']} at {s['time_s']:.2f} s: no face"))
        return c

    run: list[str] = []
    for xv, s in zip(xs, frame_scores, strict=True):
        label = f"frame {s['index']} at {s['time_s']:.2f} s"
        if s.get("p_fake") is None:
            c.missing.append((x(xv), f"{label}: no face"))
            if len(run) > 1:
                c.lines.append(" ".join(run))
            run = []
            continue
        px, py = x(xv), y(s["p_fake"])
        c.points.append((px, py, f"{label}: p_fake {s['p_fake']:.3f}"))
        run.append(f"{px},{py}")
    if len(run) > 1:
        c.lines.append(" ".join(run))
    return c


def _series(person: dict, where: dict, times: dict, x, y) -> Series:
    """One person's scored frames as a line (frames they were not seen in are skipped)."""
    label = f"person {person['id']}"
    series = Series(label, person.get("colour") or "#000000", "")
    for b in person.get("boxes") or []:
        if b.get("p_fake") is None or b["index"] not in where:
            continue
        px, py = x(where[b["index"]]), y(b["p_fake"])
        tip = f"{label}, frame {b['index']} at {times[b['index']]:.2f} s: p_fake {b['p_fake']:.3f}"
        series.points.append((px, py, tip))
        series.indices.append(b["index"])
    series.line = " ".join(f"{px},{py}" for px, py, _ in series.points)
    return series
