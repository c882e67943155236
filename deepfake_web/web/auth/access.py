"""Who may reach the app at all, in one place: accounts mode, or the single-user rules.

With accounts (``AUTH=accounts``), nothing but the login page and the static files is
served to someone not signed in: browsers asking for a page are sent to the login page,
everything else gets 401 (JSON with ``WWW-Authenticate`` for the API). What a signed-in
user may see is :mod:`..visibility`'s business.

In single-user mode (the default), without a token every request is served as before
(anyone who reaches the port may upload, re-run and delete). With ``API_TOKEN``, every
request that changes something (any method but GET, HEAD and OPTIONS) needs either
``Authorization: Bearer <token>`` (scripts) or a browser session signed in with the same
token on the sign-in page. A CSRF token of an anonymous session opens nothing. Reading
pages, results and the JSON API stays open.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..accounts import accounts_mode
from ..errors import error_response, wants_json
from .login import by_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ENDPOINTS = frozenset({"auth.sign_in", "auth.sign_out", "static"})
OPEN_TO_ANYONE = frozenset({"auth.login", "static"})  # accounts mode
SESSION_KEY = "access"


def token_mode() -> bool:
    """True when the server runs single-user with an access token."""
    return bool(current_app.config.get("API_TOKEN")) and not accounts_mode()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of any two strings (non-ASCII included)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def token_matches(given: str) -> bool:
    """True when ``given`` is the configured token."""
    return token_mode() and _same(given, str(current_app.config["API_TOKEN"]))


def bearer_ok() -> bool:
    """True when the request carries a valid ``Authorization: Bearer`` token (the access
    token in single-user mode; one of the signed-in user's tokens with accounts)."""
    if accounts_mode():
        return current_user.is_authenticated and by_token()
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    return scheme.lower() == "bearer" and token_matches(value.strip())


def _fingerprint() -> str:
    """What a signed-in session keeps: it changes when the token or the secret key does."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    token = str(current_app.config["API_TOKEN"]).encode()
    return hmac.new(key, b"access:" + token, hashlib.sha256).hexdigest()[:32]


def signed_in() -> bool:
    """True when this browser session was signed in with the current token."""
    return token_mode() and _same(str(session.get(SESSION_KEY, "")), _fingerprint())


def sign_in_session() -> None:
    """Start a fresh signed-in session (the old session's contents, CSRF token included, go)."""
    session.clear()
    session[SESSION_KEY] = _fingerprint()
    session.permanent = True


def sign_out_session() -> None:
    """Forget the sign-in."""
    session.pop(SESSION_KEY, None)


def may_change() -> bool:
    """True when this request may change state (always, without a token)."""
    return not token_mode() or bearer_ok() or signed_in()


def refuse():
    """401: JSON with ``WWW-Authenticate`` for API clients, the sign-in page for browsers."""
    message = (
        "This server asks for its access token before anything is uploaded, re-run or "
        "deleted: send Authorization: Bearer <token>, or sign in on the page."
    )
    if wants_json():
        body, status, headers = error_response(401, message)
        headers["WWW-Authenticate"] = 'Bearer realm="deepfake-web"'
        return body, status, headers
    from .forms import SignInForm  # the form needs a request context

    form = SignInForm(next=_back_to())
    return render_template("auth/sign_in.html", form=form, refused=True), 401


def refuse_anonymous():
    """Accounts mode, nobody signed in: the login page for browsers, 401 for the rest."""
    if request.method == "GET" and not wants_json() and request.endpoint is not None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    message = "Sign in first: this server has accounts (send Authorization: Bearer <token>)."
    if wants_json():
        body, status, headers = error_response(401, message)
        headers["WWW-Authenticate"] = 'Bearer realm="deepfake-web"'
        return body, status, headers
    return error_response(401, message)


def _back_to() -> str:
    """Where to return after signing in: the page the refused form was on."""
    ref = request.referrer or ""
    host = request.host_url
    return ref[len(host) - 1 :] if ref.startswith(host) else "/"


def init_app(app: Flask) -> None:
    """Check every request that changes state, before any view runs."""

    @app.before_request
    def check_access():
        if accounts_mode():
            if request.endpoint in OPEN_TO_ANYONE or current_user.is_authenticated:
                return None
            return refuse_anonymous()
        if request.method in SAFE_METHODS or request.endpoint in OPEN_ENDPOINTS:
            return None
        if may_change():
            return None
        return refuse()

    @app.context_processor
    def access_flags() -> dict:
        return {
            "token_mode": token_mode(),
            "signed_in": signed_in(),
            "accounts_mode": accounts_mode(),
        }
