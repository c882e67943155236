"""Who may see and delete which analysis: the rule, in one place.

Every view, API route, preview, report and export finds analyses through this module:
:func:`visible_analyses` narrows any ``select`` over :class:`Analysis`, and
:func:`get_visible_or_404` fetches one by id. In single-user mode everything is visible.
With accounts (``AUTH=accounts``) an administrator sees everything; a member sees their own
analyses and those shared with the lab; another member's private analysis does not exist
for them (404, never 403, so its existence is not revealed). Deleting is for the owner and
administrators (:func:`may_delete`).
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false, or_, select

from .accounts import accounts_mode, first_admin
from .extensions import db
from .models import Analysis

NOT_FOUND = "No analysis with this id (it may have been deleted)."


def visible_analyses(stmt: Select | None = None) -> Select:
    """``stmt`` (default: every analysis) narrowed to those the current user may see."""
    stmt = select(Analysis) if stmt is None else stmt
    if not accounts_mode():
        return stmt
    if not current_user.is_authenticated:
        return stmt.where(false())
    if current_user.is_admin:
        return stmt
    return stmt.where(or_(Analysis.owner_id == current_user.id, Analysis.shared.is_(True)))


def get_visible_or_404(analysis_id: str) -> Analysis:
    """The analysis with this id if the current user may see it, else a 404."""
    analysis = None
    if len(analysis_id) <= 32:
        stmt = visible_analyses().where(Analysis.id == analysis_id)
        analysis = db.session.scalars(stmt).first()
    if analysis is None:
        abort(404, description=NOT_FOUND)
    return analysis


def may_delete(analysis: Analysis) -> bool:
    """True when the current user may delete ``analysis`` (its owner, or an administrator)."""
    if not accounts_mode():
        return True
    return current_user.is_authenticated and (
        current_user.is_admin or analysis.owner_id == current_user.id
    )


def owner_of_new() -> int | None:
    """Who a new analysis belongs to: the signed-in user, or the first administrator."""
    if accounts_mode() and current_user.is_authenticated:
        return int(current_user.id)
    admin = first_admin()
    return admin.id if admin is not None else None
