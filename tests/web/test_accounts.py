"""Lab accounts: the users command, login and logout, sessions, login rate limits."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from deepfake_web.cli.main import cli
from deepfake_web.web import accounts
from deepfake_web.web.accounts import add_user, authenticate, by_name, set_active, set_password
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Role, User
from tests.factories.web import PASSWORD, add_account, log_in, make_accounts_app, make_app


def _env(app) -> dict[str, str]:
    """The environment that points the command line at ``app``'s instance."""
    return {
        "DEEPFAKE_INSTANCE_PATH": app.instance_path,
        "DEEPFAKE_MODELS_DIR": app.config["MODELS_DIR"],
        "DEEPFAKE_QUEUE_URL": app.config["QUEUE_URL"],
    }


def _user(app, name: str) -> User:
    with app.app_context():
        user = db.session.scalars(db.select(User).where(User.name == name)).one()
        db.session.expunge(user)
        return user


def test_users_command_adds_lists_changes_and_disables(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path)
    runner = CliRunner()
    pw = "s3cret-pass\ns3cret-pass\n"
    res = runner.invoke(cli, ["users", "add", "alice", "--admin"], input=pw, env=_env(app))
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["users", "add", "bob"], input=pw, env=_env(app))
    assert res.exit_code == 0, res.output
    again = runner.invoke(cli, ["users", "add", "Bob"], input=pw, env=_env(app))
    assert again.exit_code != 0 and "already an account" in again.output
    short = runner.invoke(cli, ["users", "add", "carol"], input="short\nshort\n", env=_env(app))
    assert short.exit_code != 0 and "at least 8" in short.output
    alice, bob = _user(app, "alice"), _user(app, "bob")
    assert alice.role == Role.ADMIN and bob.role == Role.MEMBER
    assert alice.password_hash.startswith("scrypt:") and "s3cret" not in alice.password_hash
    listing = runner.invoke(cli, ["users", "list"], env=_env(app)).output
    assert "alice" in listing and "admin" in listing and "bob" in listing and "member" in listing
    assert "no password" in listing  # the first admin made by the migration

    client = app.test_client()
    assert log_in(client, "bob", "s3cret-pass").status_code == 303
    res = runner.invoke(
        cli, ["users", "passwd", "bob"], input="another-pass\nanother-pass\n", env=_env(app)
    )
    assert res.exit_code == 0, res.output
    assert client.get("/history").status_code == 302  # the old session ended with the password
    assert log_in(client, "bob", "s3cret-pass").status_code == 401
    assert log_in(client, "bob", "another-pass").status_code == 303
    assert runner.invoke(cli, ["users", "disable", "bob"], env=_env(app)).exit_code == 0
    assert client.get("/history").status_code == 302  # disabled: the session ends at once
    assert log_in(client, "bob", "another-pass").status_code == 401
    assert "disabled" in runner.invoke(cli, ["users", "list"], env=_env(app)).output
    unknown = runner.invoke(cli, ["users", "disable", "nobody"], env=_env(app))
    assert unknown.exit_code != 0 and "no account called" in unknown.output


def test_login_and_logout(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path)
    add_account(app, "alice")
    client = app.test_client()
    res = client.get("/history")
    assert res.status_code == 302 and res.headers["Location"].startswith("/login?next=/history")
    assert log_in(client, "alice", "wrong password").status_code == 401
    assert log_in(client, "nobody", PASSWORD).status_code == 401
    res = client.post("/login", data={"name": "alice", "password": PASSWORD, "next": "/history"})
    assert res.status_code == 303 and res.headers["Location"] == "/history"
    page = client.get("/history").get_data(as_text=True)
    assert 'id="account-link"' in page and "alice" in page and "Single-user mode" not in page
    assert client.post("/logout").status_code == 303
    assert client.get("/history").status_code == 302
    assert client.get("/api/analyses").status_code == 401


def test_the_first_admin_of_the_migration_cannot_log_in_until_given_a_password(
    tmp_path: Path,
) -> None:
    app = make_accounts_app(tmp_path)
    admin = _user(app, "admin")
    assert admin.role == Role.ADMIN and admin.password_hash is None
    client = app.test_client()
    assert log_in(client, "admin", "").status_code in (400, 401)
    assert log_in(client, "admin", PASSWORD).status_code == 401
    res = CliRunner().invoke(
        cli, ["users", "passwd", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n", env=_env(app)
    )
    assert res.exit_code == 0, res.output
    assert log_in(client, "admin", PASSWORD).status_code == 303


def test_single_user_mode_says_so_and_has_no_login(app, client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'id="single-user"' in page and "DEEPFAKE_AUTH=accounts" in page
    assert client.get("/login").status_code == 302
    assert client.get("/account").status_code == 404
    assert client.get("/admin/audit").status_code == 404


def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, SECRET_KEY=None)  # the instance's key file, as in production
    add_account(app, "alice")
    client = app.test_client()
    assert log_in(client, "alice").status_code == 303
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.expires is not None  # a lasting cookie, not per-tab
    restarted = make_app(tmp_path, AUTH="accounts", SECRET_KEY=None)
    other = restarted.test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/history").status_code == 200


def test_sessions_expire(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, PERMANENT_SESSION_LIFETIME=1)
    add_account(app, "alice")
    client = app.test_client()
    assert log_in(client, "alice").status_code == 303
    assert client.get("/history").status_code == 200
    value = client.get_cookie("session").value
    time.sleep(2.2)
    stale = app.test_client()
    stale.set_cookie("session", value)
    assert stale.get("/history").status_code == 302  # signed too long ago: refused


def test_login_attempts_are_limited_per_account(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    add_account(app, "alice")
    client = app.test_client()
    for i in range(3):  # from three different addresses: the account is what counts
        res = log_in(client, "alice", "wrong", REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert res.status_code == 401
    res = log_in(client, "alice", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert res.status_code == 429  # even the right password waits now
    assert log_in(client, "bob-does-not-exist", "x", REMOTE_ADDR="10.0.0.9").status_code == 401


def test_successful_logins_do_not_use_up_the_account_limit(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    add_account(app, "alice")
    for i in range(4):
        res = log_in(app.test_client(), "alice", REMOTE_ADDR=f"10.0.1.{i}")
        assert res.status_code == 303


def test_login_attempts_are_limited_per_client(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, SIGN_IN_RATE_LIMIT="4 per minute")
    client = app.test_client()
    codes = [
        log_in(client, f"user{i}", "wrong", REMOTE_ADDR="10.0.2.1").status_code for i in range(5)
    ]
    assert codes == [401, 401, 401, 401, 429]
    assert log_in(client, "user9", "wrong", REMOTE_ADDR="10.0.2.2").status_code == 401


@pytest.mark.parametrize("value", ["single", "accounts"])
def test_the_auth_setting_is_read_from_the_environment(tmp_path: Path, monkeypatch, value) -> None:
    from deepfake_web import create_app

    monkeypatch.setenv("DEEPFAKE_AUTH", value)
    monkeypatch.setenv("DEEPFAKE_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app()
    assert app.config["AUTH"] == value


def _write_lock(app, held_s: float) -> threading.Thread:
    """Another connection takes SQLite's write lock for ``held_s`` seconds (in a thread)."""
    with app.app_context():
        path = db.engine.url.database
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(held_s)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(5)
    return thread


def test_adding_and_changing_accounts_wait_out_a_locked_database(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path, SQLITE_BUSY_TIMEOUT_MS=50)  # locked for longer than that
    with app.app_context():
        thread = _write_lock(app, 0.4)
        user = add_user("dana", PASSWORD)
        thread.join()
        thread = _write_lock(app, 0.4)
        set_password(user, "a-new-password")
        thread.join()
        thread = _write_lock(app, 0.4)
        set_active(user, False)
        thread.join()
    dana = _user(app, "dana")
    assert dana.password_hash.startswith("scrypt:") and not dana.active
    with app.app_context():
        assert authenticate("dana", "a-new-password") is None  # disabled
        set_active(by_name("dana"), True)
        assert authenticate("dana", "a-new-password") is not None


def test_the_password_is_hashed_outside_any_transaction(tmp_path: Path, monkeypatch) -> None:
    """Another process writing during the slow hash must not make the insert fail."""
    app = make_accounts_app(tmp_path)
    real_hash = accounts.hash_password
    seen: list[bool] = []

    def slow_hash(password: str) -> str:
        seen.append(db.session().in_transaction())
        _write_lock(app, 0.01).join()  # a write committed while the hash is made
        return real_hash(password)

    monkeypatch.setattr(accounts, "hash_password", slow_hash)
    with app.app_context():
        add_user("erin", PASSWORD)
        user = by_name("erin")  # a read transaction open, as on the command line
        set_password(user, "another-password")
    assert seen == [False, True]  # add_user reads nothing before the hash
    assert _user(app, "erin").password_hash.startswith("scrypt:")
