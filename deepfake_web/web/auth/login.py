"""Accounts mode (``AUTH=accounts``): Flask-Login's sessions and per-user API tokens.

A browser signs in on ``/login`` and keeps a session cookie signed with the instance's
secret key (so it survives a restart) that ends after ``PERMANENT_SESSION_LIFETIME`` idle
seconds, or at once when the account's password changes or it is disabled (the session
carries the account's nonce). A script sends ``Authorization: Bearer <token>`` with one of
its user's tokens and acts as that user.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import AnonymousUserMixin

from ..accounts import load_session_user, user_for_token
from ..extensions import login_manager
from ..models import User


class Anonymous(AnonymousUserMixin):
    """Nobody signed in: no name, no role."""

    name = None
    is_admin = False


def bearer_value() -> str | None:
    """The value of ``Authorization: Bearer <value>``, or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _user_from_request(_request) -> User | None:
    token = bearer_value()
    user = user_for_token(token) if token else None
    if user is not None:
        g.signed_in_by_token = True
    return user


def by_token() -> bool:
    """True when this request's user was identified by an API token."""
    return bool(g.get("signed_in_by_token"))


def init_app(app: Flask) -> None:
    """Attach Flask-Login: sessions name ``id:nonce``; Bearer tokens name their user."""
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.user_loader(load_session_user)
    login_manager.request_loader(_user_from_request)
