"""Signing in and out: with an account (``/login``, ``/logout``) or, in single-user mode,
with the lab's access token (``/sign-in``, ``/sign-out``)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..accounts import accounts_mode, authenticate
from ..audit import Action
from ..database import immediate
from ..extensions import limiter
from ..models import utcnow
from ..ratelimit import sign_in_limit
from .access import sign_in_session, sign_out_session, token_matches, token_mode
from .forms import LoginForm, SignInForm

bp = Blueprint("auth", __name__)


def _local(target: str | None) -> str:
    """``target`` when it is a path on this site, else the upload page."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("upload.index")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
def sign_in():
    """Ask for the access token once; the session remembers it."""
    if accounts_mode():
        return redirect(url_for("auth.login"))
    if not token_mode():
        flash("This server does not ask for an access token: anyone here may analyse.", "info")
        return redirect(url_for("upload.index"))
    form = SignInForm()
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        if token_matches(form.token.data or ""):
            target = _local(form.next.data)
            sign_in_session()
            flash("Signed in: you can analyse, re-run and delete.", "info")
            return redirect(target, code=303)
        return render_template("auth/sign_in.html", form=form, wrong=True), 401
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
def sign_out():
    """Forget this browser's sign-in."""
    sign_out_session()
    flash("Signed out.", "info")
    return redirect(url_for("upload.index"), code=303)


def login_account_limit() -> str:
    """Failed logins allowed per account (``LOGIN_ACCOUNT_RATE_LIMIT``)."""
    return str(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"])


def login_account_key() -> str:
    """The rate-limit key of a login attempt: the account name tried."""
    return "account:" + (request.form.get("name") or "").strip().lower()[:64]


def _failed(response) -> bool:
    """Only failed attempts count against an account (a success redirects)."""
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
@limiter.limit(
    login_account_limit, key_func=login_account_key, methods=["POST"], deduct_when=_failed
)
def login():
    """Sign in with a name and password (accounts mode)."""
    if not accounts_mode():
        flash("This server runs in single-user mode: there are no accounts.", "info")
        return redirect(url_for("upload.index"))
    form = LoginForm()
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        user = authenticate(name, form.password.data or "")
        if user is None:
            audit.record(Action.LOGIN_FAILED, name[:128], "wrong name or password, or disabled")
            return render_template("auth/login.html", form=form, wrong=True), 401
        target = _local(form.next.data)
        session.clear()  # a fresh session: nothing of the anonymous one is kept
        session.permanent = True
        login_user(user)
        with immediate():
            user.last_login_at = utcnow()
        audit.record(Action.LOGIN, user.name, actor=user.name)
        return redirect(target, code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """End this browser's session."""
    if current_user.is_authenticated:
        audit.record(Action.LOGOUT, current_user.name)
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
