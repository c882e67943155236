"""The account page: the signed-in user's API tokens, created (shown once) and revoked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from .. import audit
from ..accounts import AccountError, accounts_mode, create_token, revoke_token, tokens_of
from ..audit import Action
from ..extensions import db
from ..forms import ConfirmForm
from ..models import ApiToken
from .forms import TokenForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
def accounts_only() -> None:
    """There is no account page in single-user mode."""
    if not accounts_mode():
        abort(404)


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):
    body = render_template(
        "account/index.html",
        tokens=tokens_of(current_user),
        form=form,
        confirm=ConfirmForm(),
        new_token=new_token,
    )
    return body, status


@bp.get("")
def index():
    """Who you are, and your tokens."""
    return _page(TokenForm())


@bp.post("/tokens")
def new_token():
    """Create a token; its value is on this response only."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        row, secret = create_token(current_user, form.name.data or "")
    except AccountError as exc:
        flash(str(exc), "error")
        return _page(form, status=400)
    audit.record(Action.TOKEN_CREATED, current_user.name, f"token {row.name!r} ({row.prefix}…)")
    return _page(TokenForm(formdata=None), new_token=secret, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke one of your tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id or token.revoked_at is not None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_token(token)
    audit.record(Action.TOKEN_REVOKED, current_user.name, f"token {token.name!r} ({token.prefix}…)")
    flash(f"Revoked the token “{token.name}”.", "info")
    return redirect(url_for("account.index"), code=303)
