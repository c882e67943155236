"""Signing a browser in with the access token, and out again."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..extensions import limiter
from ..ratelimit import sign_in_limit
from .access import sign_in_session, sign_out_session, token_matches, token_mode
from .forms import SignInForm

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
