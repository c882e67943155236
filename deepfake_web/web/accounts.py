"""Lab accounts and their API tokens: creating, checking and changing them.

``AUTH=accounts`` turns accounts on; in the default single-user mode they are not asked
for, and every analysis belongs to the first administrator (:func:`first_admin`), whom the
database migration creates (``admin``, without a password until ``users passwd admin``).
Passwords are hashed with scrypt (werkzeug); API tokens are random and only their SHA-256
is stored. The command line (``deepfake-web users``) and the pages call these functions.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .database import immediate, retrying
from .extensions import db
from .models import ApiToken, Role, User, as_utc, new_nonce, utcnow

AUTH_MODES = ("single", "accounts")
TOKEN_PREFIX = "dfw_"
MIN_PASSWORD = 8
MAX_NAME = 64
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


class AccountError(ValueError):
    """A refused change (a taken name, a short password, an unknown account...)."""


def accounts_mode() -> bool:
    """True when the server asks who is who (``AUTH=accounts``)."""
    mode = str(current_app.config.get("AUTH") or "single").lower()
    if mode not in AUTH_MODES:
        raise ValueError(f"AUTH must be one of {AUTH_MODES}, not {mode!r}")
    return mode == "accounts"


def hash_password(password: str) -> str:
    """A scrypt hash of ``password`` (werkzeug's format, salted)."""
    return generate_password_hash(password, method="scrypt")


def by_name(name: str) -> User | None:
    """The account called ``name`` (case-insensitive), or None."""
    return db.session.scalars(select(User).where(db.func.lower(User.name) == name.lower())).first()


def first_admin() -> User | None:
    """The oldest administrator: the owner of analyses made without accounts."""
    return db.session.scalars(
        select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
    ).first()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")


def add_user(name: str, password: str, admin: bool = False) -> User:
    """Create an account (commits; the slow hash is made before the short write)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() for c in name):
        raise AccountError(f"A name has 1 to {MAX_NAME} characters and no spaces.")
    _check_password(password)
    password_hash = hash_password(password)  # ~0.1 s of scrypt, outside any transaction
    taken = AccountError(f"There is already an account called {name!r}.")

    def insert() -> User:
        with immediate():  # SQLite: the check and the insert under one write lock
            if by_name(name) is not None:
                raise taken
            user = User(
                name=name,
                password_hash=password_hash,
                role=Role.ADMIN if admin else Role.MEMBER,
            )
            db.session.add(user)
        return user

    try:
        return retrying(insert, f"adding account {name}")
    except IntegrityError:  # PostgreSQL: the unique name decides between two at once
        raise taken from None


def _update_user(user: User, what: str, **values) -> None:
    """Write ``values`` to ``user``'s row in one short write transaction (retried if locked)."""
    user_id = user.id

    def write() -> None:
        with immediate():
            db.session.execute(update(User).where(User.id == user_id).values(**values))

    retrying(write, f"{what} of account {user_id}")


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password; their sessions elsewhere end (commits)."""
    _check_password(password)
    password_hash = hash_password(password)  # slow: before the write transaction
    _update_user(user, "password", password_hash=password_hash, session_nonce=new_nonce())


def set_active(user: User, active: bool) -> None:
    """Disable (or enable again) an account: a disabled one cannot sign in or use tokens."""
    _update_user(user, "state", active=active, session_nonce=new_nonce())


def authenticate(name: str, password: str) -> User | None:
    """The active account with this name and password, or None (same time either way)."""
    user = by_name(name)
    hashed = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(hashed, password)
    if user is None or not user.password_hash or not ok or not user.is_active:
        return None
    return user


def load_session_user(session_id: str) -> User | None:
    """The account a session's ``id:nonce`` names, when it is active and the nonce current."""
    raw_id, _, nonce = session_id.partition(":")
    user = db.session.get(User, int(raw_id)) if raw_id.isdigit() else None
    if user is None or not user.is_active or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (tokens are random, 256 bits: no salt needed)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself (shown once; commits)."""
    name = name.strip()[:80]
    if not name:
        raise AccountError("Give the token a name (what it is for).")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_digest(secret), prefix=secret[:10])
    db.session.add(row)
    db.session.commit()
    return row, secret


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(token: ApiToken) -> None:
    """Revoke a token at once (commits)."""
    token.revoked_at = utcnow()
    db.session.commit()


TOKEN_TOUCH_S = 60  # last-used time is written at most once a minute per token


def user_for_token(token: str) -> User | None:
    """The active account a (not revoked) API token belongs to; notes when it was used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    last = as_utc(row.last_used_at)
    if last is None or (now - last).total_seconds() > TOKEN_TOUCH_S:
        row.last_used_at = now
        db.session.commit()
    return user
