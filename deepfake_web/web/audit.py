"""The audit log: who uploaded, deleted, re-ran or reproduced, signed in (or failed to), and
changed accounts and tokens; when, and from where.

Events name what they are about by text (an analysis id, an account name), not by a
foreign key, so they stay when the analysis or the token is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from .database import immediate
from .extensions import db
from .models import AuditEvent
from .ratelimit import client_address

log = logging.getLogger(__name__)

COMMAND_LINE = "command line"


class Action(StrEnum):
    """What the log records."""

    UPLOAD = "upload"
    DELETE = "delete"
    RERUN = "rerun"
    REPRODUCE = "reproduce"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_ADDED = "user_added"
    USER_PASSWORD = "user_password"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    FILE_REMOVED = "file_removed"


def _actor() -> str | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return str(current_user.name)
    return None


def record(
    action: Action,
    subject: str | None = None,
    detail: str | None = None,
    actor: str | None = None,
) -> None:
    """Write one event (its own short transaction); the actor defaults to the signed-in user."""
    event = AuditEvent(
        action=str(action),
        actor=actor if actor is not None else _actor(),
        client=client_address() if has_request_context() else COMMAND_LINE,
        subject=subject,
        detail=detail,
    )
    with immediate():
        db.session.add(event)


@dataclass
class AuditFilters:
    """What the audit page is narrowed by."""

    action: str = ""
    actor: str = ""
    subject: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilters:
        """Read filters from query arguments, ignoring values that make no sense."""
        action = args.get("action", "")
        return cls(
            action=action if action in set(Action) else "",
            actor=args.get("actor", "").strip()[:64],
            subject=args.get("subject", "").strip()[:128],
            date_from=_date(args.get("from")),
            date_to=_date(args.get("to")),
        )


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def events(filters: AuditFilters):
    """The events matching ``filters``, newest first (a select statement)."""
    stmt = select(AuditEvent)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor == filters.actor)
    if filters.subject:
        stmt = stmt.where(AuditEvent.subject == filters.subject)
    if filters.date_from:
        stmt = stmt.where(
            AuditEvent.at >= datetime.combine(filters.date_from, time.min, tzinfo=UTC)
        )
    if filters.date_to and filters.date_to < date.max:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
