"""``deepfake-web users`` (add, list, passwd, disable, enable) and ``deepfake-web purge``.

Both work on the database the server uses (``DEEPFAKE_INSTANCE_PATH`` or the instance
folder), and what they change is written to the audit log as done from the command line.
"""

from __future__ import annotations

import getpass
from contextlib import contextmanager

import click


@contextmanager
def _app_context():
    from deepfake_web.web.app import create_app

    app = create_app()
    with app.app_context():
        yield app


def _cli_actor() -> str:
    """Who ran the command (the local user name), as the audit log names them."""
    try:
        return f"{getpass.getuser()} (command line)"[:64]
    except Exception:  # no user name in this environment
        return "command line"


def _user_or_fail(name: str):
    from deepfake_web.web.accounts import by_name

    user = by_name(name)
    if user is None:
        raise click.ClickException(f"There is no account called {name!r}.")
    return user


_password = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (asked for when not given; 8 characters or more).",
)


@click.group()
def users() -> None:
    """Lab accounts (used when the server runs with DEEPFAKE_AUTH=accounts)."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="An administrator: sees and deletes everything.")
@_password
def users_add(name: str, admin: bool, password: str) -> None:
    """Create the account NAME."""
    from deepfake_web.web import audit
    from deepfake_web.web.accounts import AccountError, add_user

    with _app_context():
        try:
            user = add_user(name, password, admin)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(audit.Action.USER_ADDED, user.name, f"role {user.role}", actor=_cli_actor())
        click.echo(f"created {user.role} {user.name}")


@users.command("list")
def users_list() -> None:
    """Every account: name, role, state, last login."""
    from sqlalchemy import select

    from deepfake_web.web.extensions import db
    from deepfake_web.web.filters import when
    from deepfake_web.web.models import User

    with _app_context():
        rows = db.session.scalars(select(User).order_by(User.name)).all()
        for u in rows:
            state = (
                "disabled" if not u.active else ("no password" if not u.password_hash else "active")
            )
            last = when(u.last_login_at) if u.last_login_at else "never"
            click.echo(f"{u.name:<24} {u.role:<7} {state:<12} last login {last}")


@users.command("passwd")
@click.argument("name")
@_password
def users_passwd(name: str, password: str) -> None:
    """Set the password of NAME (their sessions elsewhere end)."""
    from deepfake_web.web import audit
    from deepfake_web.web.accounts import AccountError, set_password

    with _app_context():
        user = _user_or_fail(name)
        try:
            set_password(user, password)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(audit.Action.USER_PASSWORD, user.name, actor=_cli_actor())
        click.echo(f"password of {user.name} changed")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME: no login; their sessions and API tokens stop working."""
    from deepfake_web.web import audit
    from deepfake_web.web.accounts import set_active

    with _app_context():
        user = _user_or_fail(name)
        set_active(user, False)
        audit.record(audit.Action.USER_DISABLED, user.name, actor=_cli_actor())
        click.echo(f"{user.name} disabled")


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Enable NAME again."""
    from deepfake_web.web import audit
    from deepfake_web.web.accounts import set_active

    with _app_context():
        user = _user_or_fail(name)
        set_active(user, True)
        audit.record(audit.Action.USER_ENABLED, user.name, actor=_cli_actor())
        click.echo(f"{user.name} enabled")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list the files that would be removed.")
def purge(dry_run: bool) -> None:
    """Remove the uploaded files older than DEEPFAKE_RETENTION_DAYS (results stay)."""
    from deepfake_web.web.retention import purge_expired, retention_days

    with _app_context():
        if retention_days() is None:
            click.echo("RETENTION_DAYS is not set: uploaded files are kept; nothing to do.")
            return
        due = purge_expired(dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for a in due:
            click.echo(f"{verb} {a.stored_name} ({a.original_name}, analysis {a.id})")
        click.echo(f"{verb} {len(due)} uploaded file(s)")
