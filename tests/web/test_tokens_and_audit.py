"""API tokens per user (shown once, stored hashed, Bearer acts as the user) and the audit log."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from click.testing import CliRunner

from deepfake_web.cli.main import cli
from deepfake_web.web.extensions import db
from deepfake_web.web.models import ApiToken, AuditEvent, User
from tests.factories.web import (
    PASSWORD,
    add_account,
    log_in,
    make_accounts_app,
    post_api,
    rows,
    run_job,
)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _signed_in(app, name: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    data = {"name": name, "password": PASSWORD, "csrf_token": _csrf(page)}
    assert client.post("/login", data=data).status_code == 303
    return client


def _new_token(client, name: str) -> str:
    page = client.get("/account").get_data(as_text=True)
    res = client.post("/account/tokens", data={"name": name, "csrf_token": _csrf(page)})
    assert res.status_code == 201
    return re.search(r'id="new-token-value">([^<]+)<', res.get_data(as_text=True)).group(1)


def _events(app) -> list[AuditEvent]:
    with app.app_context():
        out = list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)))
        for e in out:
            db.session.expunge(e)
        return out


def test_tokens_are_shown_once_stored_hashed_and_act_as_their_user(
    tmp_path: Path, video_bytes
) -> None:
    app = make_accounts_app(tmp_path, WTF_CSRF_ENABLED=True)
    alice_id = add_account(app, "alice")
    add_account(app, "bob")
    alice = _signed_in(app, "alice")
    token = _new_token(alice, "batch script")
    assert token.startswith("dfw_") and len(token) > 40
    assert token not in alice.get("/account").get_data(as_text=True)  # shown once
    with app.app_context():
        row = db.session.scalars(db.select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.name == "batch script" and row.last_used_at is None
        assert token not in repr(row.__dict__)

    script = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    res = script.post(
        "/api/analyses",
        data={"file": (__import__("io").BytesIO(video_bytes), "s.mp4"), "sequence_length": "20"},
        headers=bearer,
    )
    assert res.status_code == 202, res.json  # no CSRF token needed with a Bearer token
    assert rows(app)[0].owner_id == alice_id and rows(app)[0].shared is False
    assert script.get("/api/analyses", headers=bearer).json["total"] == 1
    with app.app_context():
        assert db.session.scalars(db.select(ApiToken)).one().last_used_at is not None
    bob = _signed_in(app, "bob")
    assert bob.get(f"/api/analyses/{res.json['id']}").status_code == 404
    page = bob.get("/account").get_data(as_text=True)
    with app.app_context():
        tid = db.session.scalars(db.select(ApiToken.id)).one()
    revoke = bob.post(f"/account/tokens/{tid}/revoke", data={"csrf_token": _csrf(page)})
    assert revoke.status_code == 404  # not bob's
    assert (
        script.get("/api/analyses", headers={"Authorization": "Bearer dfw_wrong"}).status_code
        == 401
    )

    page = alice.get("/account").get_data(as_text=True)
    assert "batch script" in page and "never" not in page.split("batch script", 1)[1][:400]
    res = alice.post(f"/account/tokens/{tid}/revoke", data={"csrf_token": _csrf(page)})
    assert res.status_code == 303
    assert script.get("/api/analyses", headers=bearer).status_code == 401


def test_a_disabled_users_tokens_stop_working(tmp_path: Path) -> None:
    app = make_accounts_app(tmp_path)
    add_account(app, "alice")
    alice = app.test_client()
    log_in(alice, "alice")
    token = re.search(
        r'id="new-token-value">([^<]+)<',
        alice.post("/account/tokens", data={"name": "t"}).get_data(as_text=True),
    ).group(1)
    client = app.test_client()
    assert (
        client.get("/api/analyses", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    with app.app_context():
        from deepfake_web.web.accounts import by_name, set_active

        set_active(by_name("alice"), False)
    assert (
        client.get("/api/analyses", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_the_audit_log_records_each_event_with_who_when_and_where(
    tmp_path: Path, video_bytes
) -> None:
    app = make_accounts_app(tmp_path, RETENTION_DAYS=1)
    add_account(app, "root", admin=True)
    env = {
        "DEEPFAKE_INSTANCE_PATH": app.instance_path,
        "DEEPFAKE_MODELS_DIR": app.config["MODELS_DIR"],
        "DEEPFAKE_QUEUE_URL": app.config["QUEUE_URL"],
    }
    runner = CliRunner()
    pw = f"{PASSWORD}\n{PASSWORD}\n"
    assert runner.invoke(cli, ["users", "add", "alice"], input=pw, env=env).exit_code == 0
    assert runner.invoke(cli, ["users", "passwd", "alice"], input=pw, env=env).exit_code == 0

    alice = app.test_client()
    alice.environ_base["REMOTE_ADDR"] = "10.1.1.1"  # where alice works from
    assert log_in(alice, "alice", "wrong", REMOTE_ADDR="10.1.1.1").status_code == 401
    assert log_in(alice, "alice", REMOTE_ADDR="10.1.1.1").status_code == 303
    aid = post_api(alice, video_bytes, name="audited.mp4").json["id"]
    run_job(app, aid)
    rerun = alice.post(f"/api/analyses/{aid}/rerun").json["id"]
    run_job(app, rerun)
    assert alice.delete(f"/api/analyses/{aid}").status_code == 204
    res = alice.post("/account/tokens", data={"name": "laptop"})
    with app.app_context():
        tid = db.session.scalars(db.select(ApiToken.id)).one()
    assert alice.post(f"/account/tokens/{tid}/revoke").status_code == 303
    assert res.status_code == 201
    assert alice.post("/logout").status_code == 303

    root = app.test_client()
    log_in(root, "root")
    assert (
        root.post("/admin/users", data={"name": "carol", "password": PASSWORD}).status_code == 303
    )
    with app.app_context():
        carol = db.session.scalars(db.select(User).where(User.name == "carol")).one().id
    assert root.post(f"/admin/users/{carol}/disable").status_code == 303
    assert runner.invoke(cli, ["users", "disable", "alice"], input="", env=env).exit_code == 0
    with app.app_context():  # the rerun's file expires: retention removes it
        from datetime import timedelta

        from deepfake_web.web.models import Analysis, utcnow
        from deepfake_web.web.retention import purge_expired

        db.session.get(Analysis, rerun).created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert [a.id for a in purge_expired()] == [rerun]

    events = _events(app)
    by_action: dict[str, list[AuditEvent]] = {}
    for e in events:
        by_action.setdefault(e.action, []).append(e)
    expected = {
        "user_added", "user_password", "login_failed", "login", "upload", "rerun", "delete",
        "token_created", "token_revoked", "logout", "user_disabled", "file_removed",
    }  # fmt: skip
    assert expected <= set(by_action), expected - set(by_action)
    assert all(e.at is not None for e in events)
    upload = by_action["upload"][0]
    assert upload.subject == aid and upload.actor == "alice" and upload.client == "10.1.1.1"
    assert "audited.mp4" in upload.detail  # kept although the analysis is deleted
    assert by_action["delete"][0].subject == aid and by_action["delete"][0].actor == "alice"
    assert by_action["rerun"][0].subject == rerun and aid in by_action["rerun"][0].detail
    failed = by_action["login_failed"][0]
    assert failed.subject == "alice" and failed.actor is None and failed.client == "10.1.1.1"
    assert by_action["login"][0].actor == "alice"
    assert by_action["user_added"][0].client == "command line"
    assert "(command line)" in by_action["user_added"][0].actor
    assert {e.subject for e in by_action["user_disabled"]} == {"carol", "alice"}
    assert (
        by_action["token_created"][0].actor == "alice"
        and "laptop" in by_action["token_created"][0].detail
    )
    assert by_action["file_removed"][0].subject == rerun
    assert by_action["file_removed"][0].actor == "retention"

    page = root.get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert page.count('class="event-login_failed"') == 1 and 'class="event-upload"' not in page
    page = root.get(f"/admin/audit?subject={aid}").get_data(as_text=True)
    assert 'class="event-upload"' in page and 'class="event-delete"' in page
    page = root.get("/admin/audit?actor=root").get_data(as_text=True)
    assert 'class="event-login"' in page and "event-upload" not in page
    member = app.test_client()
    add_account(app, "dave")
    log_in(member, "dave")
    assert member.get("/admin/audit").status_code == 403
    assert member.get("/admin/users").status_code == 403
