"""Finding analyses for the history page and the API list: filters, search, sort, pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import ACTIVE, VERDICTS, Analysis, Status
from ..visibility import visible_analyses

MAX_PAGE = 1_000_000
SORTS = {
    "created": Analysis.created_at,
    "name": Analysis.original_name,
    "verdict": Analysis.verdict,
    "p_fake": Analysis.p_fake,
    "people": Analysis.person_count,
    "frames": Analysis.sequence_length,
    "checkpoint": Analysis.checkpoint_name,
}


@dataclass
class Filters:
    """What the history page (and the API list) is narrowed and sorted by."""

    q: str = ""
    verdict: str = ""
    checkpoint: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "created"
    order: str = "desc"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read filters from query arguments, ignoring values that make no sense."""
        verdict = args.get("verdict", "").upper()
        sort = args.get("sort", "created")
        return cls(
            q=args.get("q", "").strip()[:100],
            verdict=verdict if verdict in (*VERDICTS, "FAILED", "ACTIVE") else "",
            checkpoint=args.get("checkpoint", "").strip()[:255],
            date_from=_parse_date(args.get("from")),
            date_to=_parse_date(args.get("to")),
            sort=sort if sort in SORTS else "created",
            order="asc" if args.get("order") == "asc" else "desc",
        )

    def args(self, **changes: str) -> dict[str, str]:
        """These filters as query arguments (for links), with ``changes`` applied."""
        out = {
            "q": self.q,
            "verdict": self.verdict,
            "checkpoint": self.checkpoint,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "sort": self.sort,
            "order": self.order,
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v}


def _parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def matching(filters: Filters, stmt=None):
    """``stmt`` (default: every analysis) narrowed to the rows the current user may see
    (:func:`..visibility.visible_analyses`) that ``filters`` match, unordered."""
    stmt = visible_analyses(stmt)
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        stmt = stmt.where(Analysis.original_name.ilike(f"%{escaped}%", escape="\\"))
    if filters.verdict == "FAILED":
        stmt = stmt.where(Analysis.status == Status.FAILED)
    elif filters.verdict == "ACTIVE":
        stmt = stmt.where(Analysis.status.in_(ACTIVE))
    elif filters.verdict:
        stmt = stmt.where(Analysis.verdict == filters.verdict)
    if filters.checkpoint:
        stmt = stmt.where(Analysis.checkpoint_name == filters.checkpoint)
    if filters.date_from:
        start = datetime.combine(filters.date_from, time.min, tzinfo=UTC)
        stmt = stmt.where(Analysis.created_at >= start)
    if filters.date_to and filters.date_to < date.max:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        stmt = stmt.where(Analysis.created_at < end)
    return stmt


def ordered(filters: Filters):
    """The analyses matching ``filters`` in the order the history page shows them."""
    column = SORTS[filters.sort]
    stmt = matching(filters)
    primary = column.asc() if filters.order == "asc" else column.desc()
    return stmt.order_by(primary.nulls_last(), Analysis.created_at.desc(), Analysis.id)


def search(filters: Filters, page: int, per_page: int):
    """One page of analyses matching ``filters`` (a Flask-SQLAlchemy Pagination)."""
    stmt = ordered(filters)
    page = min(max(page, 1), MAX_PAGE)  # a page number SQLite's OFFSET can hold
    per_page = min(max(per_page, 1), 200)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, max_per_page=200)


def checkpoint_names() -> list[str]:
    """Every checkpoint name in the history the current user sees (for the filter)."""
    return list(
        db.session.scalars(
            visible_analyses(select(Analysis.checkpoint_name))
            .where(Analysis.checkpoint_name.is_not(None))
            .distinct()
            .order_by(Analysis.checkpoint_name)
        )
    )
