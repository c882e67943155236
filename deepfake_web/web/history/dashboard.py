"""The overview above the history table: counts, a chart per day, times, queue and disk."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from deepfake_web.jobs.workers import snapshot

from ..extensions import db
from ..models import Analysis, Status, as_utc
from .search import Filters, matching

DAY_CHART = {"width": 640, "height": 160, "pad": 28}
"""The per-day chart's size in SVG units (it scales to the page)."""


@dataclass
class DayBar:
    """One bar of the per-day chart."""

    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Dashboard:
    """The figures of the overview (those of the filtered analyses, plus what is live now)."""

    total: int
    per_verdict: dict[str, int]
    per_day: list[tuple[date, int]]
    per_checkpoint: list[tuple[str, int]]
    median_s: float | None
    waiting: int
    running: int
    uploads_bytes: int
    previews_bytes: int
    workers: list[dict] = field(default_factory=list)  # jobs.workers.snapshot()'s workers

    def bars(self) -> list[DayBar]:
        """The per-day counts as SVG bars (one slot per day from the first to the last)."""
        if not self.per_day:
            return []
        first, last = self.per_day[0][0], self.per_day[-1][0]
        counts = dict(self.per_day)
        days = [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]
        w, h, pad = DAY_CHART["width"], DAY_CHART["height"], DAY_CHART["pad"]
        slot = (w - pad) / len(days)
        top = max(counts.values())
        out = []
        for i, d in enumerate(days):
            n = counts.get(d, 0)
            bar_h = (h - pad) * n / top
            out.append(DayBar(d, n, pad + i * slot, h - pad - bar_h, max(slot * 0.8, 1), bar_h))
        return out


def _grouped(filters: Filters, column) -> list[tuple]:
    stmt = matching(filters, select(column, func.count()).select_from(Analysis))
    return [tuple(r) for r in db.session.execute(stmt.group_by(column).order_by(column))]


def folder_bytes(folder: str | os.PathLike) -> int:
    """Bytes of every file under ``folder`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(Path(root) / name).st_size
            except OSError:  # removed while counting
                continue
    return total


def overview(filters: Filters) -> Dashboard:
    """The dashboard of the analyses matching ``filters``."""
    per_status = dict(_grouped(filters, Analysis.status))
    per_verdict = {str(v): n for v, n in _grouped(filters, Analysis.verdict) if v}
    if per_status.get(Status.FAILED):
        per_verdict["FAILED"] = per_status[Status.FAILED]
    active = per_status.get(Status.QUEUED, 0) + per_status.get(Status.RUNNING, 0)
    if active:
        per_verdict["ACTIVE"] = active
    per_day = [
        (date.fromisoformat(str(d)), n)
        for d, n in _grouped(filters, func.date(Analysis.created_at))
    ]
    per_checkpoint = [(c or "–", n) for c, n in _grouped(filters, Analysis.checkpoint_name)]
    per_checkpoint.sort(key=lambda cn: (-cn[1], cn[0]))
    spans = db.session.execute(
        matching(filters, select(Analysis.started_at, Analysis.finished_at)).where(
            Analysis.status == Status.DONE,
            Analysis.started_at.is_not(None),
            Analysis.finished_at.is_not(None),
        )
    ).all()
    durations = [(as_utc(f) - as_utc(s)).total_seconds() for s, f in spans]
    live = {
        status: n
        for status, n in db.session.execute(
            select(Analysis.status, func.count())
            .where(Analysis.status.in_((Status.QUEUED, Status.RUNNING)))
            .group_by(Analysis.status)
        )
    }
    config = current_app.config
    return Dashboard(
        total=sum(per_status.values()),
        per_verdict=per_verdict,
        per_day=per_day,
        per_checkpoint=per_checkpoint,
        median_s=statistics.median(durations) if durations else None,
        waiting=live.get(Status.QUEUED, 0),
        running=live.get(Status.RUNNING, 0),
        uploads_bytes=folder_bytes(config["UPLOAD_DIR"]),
        previews_bytes=folder_bytes(config["PREVIEW_DIR"]),
        workers=snapshot(read_queue=False)["workers"],  # no queue read per page view
    )
