"""Administration pages (administrators, accounts mode): accounts, and the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit
from ..accounts import AccountError, accounts_mode, add_user, set_active
from ..audit import Action, AuditFilters, events
from ..extensions import db
from ..forms import ConfirmForm
from ..models import User
from .forms import UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PER_PAGE = 50


@bp.before_request
def admins_only() -> None:
    """Not in single-user mode (404); administrators only (403)."""
    if not accounts_mode():
        abort(404)
    if not current_user.is_admin:
        abort(403, description="Only administrators may manage accounts and read the audit log.")


def _users_page(form: UserForm, status: int = 200):
    users = db.session.scalars(select(User).order_by(User.name)).all()
    body = render_template("admin/users.html", users=users, form=form, confirm=ConfirmForm())
    return body, status


@bp.get("/users")
def users():
    """Every account, with its role and state."""
    return _users_page(UserForm())


@bp.post("/users")
def add():
    """Create an account."""
    form = UserForm()
    if not form.validate_on_submit():
        return _users_page(form, 400)
    try:
        user = add_user(form.name.data or "", form.password.data or "", bool(form.admin.data))
    except AccountError as exc:
        flash(str(exc), "error")
        return _users_page(form, 400)
    audit.record(Action.USER_ADDED, user.name, f"role {user.role}")
    flash(f"Created the account “{user.name}”.", "info")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
def toggle(user_id: int, change: str):
    """Disable (or enable again) an account; its sessions and tokens stop at once."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("admin.users"), code=303)
    set_active(user, change == "enable")
    audit.record(Action.USER_ENABLED if change == "enable" else Action.USER_DISABLED, user.name)
    flash(f"The account “{user.name}” is {change}d.", "info")
    return redirect(url_for("admin.users"), code=303)


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, with filters (action, who, about what, dates)."""
    filters = AuditFilters.from_args(request.args)
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        events(filters), page=max(page, 1), per_page=AUDIT_PER_PAGE, error_out=False
    )
    return render_template(
        "admin/audit.html", pagination=pagination, filters=filters, actions=list(Action)
    )
