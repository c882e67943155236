"""The filtered history as CSV: one row per analysis, the columns a lab sheet needs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from sqlalchemy import select

from ..accounts import accounts_mode
from ..extensions import db
from ..models import Analysis, User, iso
from .search import Filters, ordered

COLUMNS = (
    "id", "created_at", "finished_at", "file_name", "file_sha256", "size_bytes", "status",
    "verdict", "p_fake", "confidence", "sequence_length", "mode", "checkpoint",
    "checkpoint_sha256", "frames_used", "total_s", "error", "people", "owner",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell (empty for None)."""
    return "" if value is None else str(value)


def _text(value: str | None) -> str:
    """A free-text cell; text a spreadsheet would run as a formula is quoted with a '."""
    text = _cell(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(a: Analysis, owners: dict[int, str]) -> list[str]:
    values = (
        a.id, iso(a.created_at), iso(a.finished_at), _text(a.original_name), a.sha256,
        a.size_bytes, a.status, a.verdict, a.p_fake, a.confidence, a.sequence_length, a.mode,
        _text(a.checkpoint_name), a.checkpoint_sha256, a.frames_used,
        (a.timings or {}).get("total_s"), _text(a.error), a.person_count,
        _text(owners.get(a.owner_id)) if a.owner_id is not None else "",
    )  # fmt: skip
    return [_cell(v) for v in values]


def _lines(rows: Iterable[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def history_csv(filters: Filters) -> Iterator[str]:
    """The analyses matching ``filters``, in the page's order, as CSV lines (header first).

    ``owner`` is the account's name with accounts, empty in single-user mode.
    """
    owners: dict[int, str] = {}
    if accounts_mode():  # the few accounts read once, not one query per row
        owners = {i: n for i, n in db.session.execute(select(User.id, User.name))}
    analyses = db.session.scalars(ordered(filters).execution_options(yield_per=500))
    yield from _lines([list(COLUMNS)])
    yield from _lines(_row(a, owners) for a in analyses)
