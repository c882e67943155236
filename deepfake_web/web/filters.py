"""Jinja filters for numbers, sizes, durations and dates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from .models import as_utc


def filesize(n: int | None) -> str:
    """1234567 → '1.2 MB'."""
    if n is None:
        return "–"
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def seconds(s: float | None) -> str:
    """12.3456 → '12.3 s'; 75 → '1 min 15 s'."""
    if s is None:
        return "–"
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"


def percent(p: float | None, digits: int = 1) -> str:
    """0.9731 → '97.3 %'."""
    return "–" if p is None else f"{100 * p:.{digits}f} %"


def when(value: datetime | None) -> str:
    """A UTC timestamp as 'YYYY-MM-DD HH:MM UTC'."""
    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M UTC") if v else "–"


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(filesize)
    app.add_template_filter(seconds)
    app.add_template_filter(percent)
    app.add_template_filter(when)
