"""Retention: uploaded files are removed ``RETENTION_DAYS`` days after their upload.

Only the uploaded file goes; the analysis (its result, previews and report) stays, with
the time the file was removed (``file_removed_at``), and it can no longer be run again.
The worker runs :func:`purge_expired` periodically (:mod:`deepfake_web.jobs.consumer`) and
``deepfake-web purge`` runs it at once. Analyses still queued or running are left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from . import audit
from .audit import Action
from .database import immediate
from .extensions import db
from .models import ACTIVE, Analysis, as_utc, utcnow
from .storage import upload_path

log = logging.getLogger(__name__)
ACTOR = "retention"


def retention_days() -> float | None:
    """``RETENTION_DAYS``, or None when uploaded files are kept."""
    days = current_app.config.get("RETENTION_DAYS")
    return float(days) if days not in (None, "", 0) else None


def removal_time(analysis: Analysis) -> datetime | None:
    """When the analysis's uploaded file was or will be removed (None: it is kept)."""
    if analysis.file_removed_at is not None:
        return as_utc(analysis.file_removed_at)
    days = retention_days()
    created = as_utc(analysis.created_at)
    return created + timedelta(days=days) if days is not None and created else None


def expired(now: datetime | None = None):
    """The analyses whose uploaded file is due for removal (a select statement)."""
    days = retention_days()
    if days is None:
        return None
    cutoff = (now or utcnow()) - timedelta(days=days)
    return select(Analysis).where(
        Analysis.file_removed_at.is_(None),
        Analysis.created_at < cutoff,
        Analysis.status.not_in(ACTIVE),
    )


def purge_expired(now: datetime | None = None, dry_run: bool = False) -> list[Analysis]:
    """Remove the uploaded files past retention; returns their analyses (needs an app context)."""
    stmt = expired(now)
    if stmt is None:
        return []
    due = list(db.session.scalars(stmt))
    if dry_run:
        return due
    for analysis in due:
        upload_path(analysis.stored_name).unlink(missing_ok=True)
        with immediate():
            analysis.file_removed_at = now or utcnow()
        audit.record(
            Action.FILE_REMOVED, analysis.id, f"{analysis.original_name}: retention", actor=ACTOR
        )
    if due:
        log.info("retention: removed %d uploaded files", len(due))
    return due
