"""Who sees what with accounts: every route is closed to anonymous clients, and another
member's private analysis is a 404 on every route that serves an analysis.

Both crawls read the app's URL map, so routes added later are covered without editing
this file: a route with an ``analysis_id`` is tried with another member's private one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask

from deepfake_web.web.auth.access import OPEN_TO_ANYONE
from tests.factories.web import (
    add_account,
    log_in,
    make_accounts_app,
    post_api,
    rows,
    run_job,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PLACEHOLDERS = {  # a value for each URL argument the app's routes use
    "name": "frame_0001.jpg",
    "kind": "calibration",
    "file": "reliability.png",
    "token_id": 1,
    "user_id": 1,
    "change": "disable",
}


def _urls(app: Flask, analysis_id: str, only_analysis_routes: bool = False):
    """(method, url, endpoint) of every route, with placeholder arguments filled in."""
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint in OPEN_TO_ANYONE:
                continue
            if only_analysis_routes and "analysis_id" not in rule.arguments:
                continue
            args = {k: PLACEHOLDERS.get(k, "x") for k in rule.arguments}
            if "analysis_id" in rule.arguments:
                args["analysis_id"] = analysis_id
            missing = rule.arguments - set(args)
            assert not missing, f"no placeholder for {missing} of {rule.rule}: add one"
            url = url_for(rule.endpoint, **args)
            for method in sorted(set(rule.methods or ()) & set(METHODS)):
                yield method, url, rule.endpoint


@pytest.fixture
def lab(tmp_path: Path, video_bytes: bytes):
    """Accounts mode with members alice and bob and an admin; alice's private analysis, done."""
    app = make_accounts_app(tmp_path)
    add_account(app, "alice")
    add_account(app, "bob")
    add_account(app, "root", admin=True)
    alice = app.test_client()
    assert log_in(alice, "alice").status_code == 303
    res = post_api(alice, video_bytes, name="alice-private.mp4", shared="private")
    assert res.status_code == 202, res.json
    done = run_job(app, res.json["id"])
    assert done.status == "done"
    return app, alice, done.id


def test_anonymous_clients_get_the_login_page_or_401_everywhere(lab) -> None:
    app, _alice, aid = lab
    anonymous = app.test_client()
    seen = 0
    for method, url, endpoint in _urls(app, aid):
        res = anonymous.open(url, method=method)
        seen += 1
        if res.status_code == 302:
            assert res.headers["Location"].startswith("/login"), (method, url)
            continue
        assert res.status_code == 401, (method, url, endpoint, res.status_code)
        if url.startswith("/api/"):
            assert res.is_json and res.headers["WWW-Authenticate"].startswith("Bearer")
    assert seen >= 20  # the crawl did reach the app's routes
    assert anonymous.get("/").status_code == 302
    assert anonymous.get("/no-such-page").status_code in (302, 401)  # not even a 404 leaks
    login = anonymous.get("/login")
    assert login.status_code == 200 and 'id="log-in"' in login.get_data(as_text=True)
    assert len(rows(app)) == 1  # nothing was changed


def test_another_members_private_analysis_is_404_on_every_route(lab) -> None:
    app, alice, aid = lab
    bob = app.test_client()
    assert log_in(bob, "bob").status_code == 303
    tried = set()
    for method, url, endpoint in _urls(app, aid, only_analysis_routes=True):
        res = bob.open(url, method=method, headers={"Accept": "application/json"})
        assert res.status_code == 404, (method, url, endpoint, res.status_code)
        tried.add(endpoint)
    assert {"results.detail", "results.preview", "api.analysis", "api.delete"} <= tried
    # the owner does get them: the 404s above are the rule, not broken routes
    for url in (
        f"/analyses/{aid}",
        f"/api/analyses/{aid}",
        f"/analyses/{aid}/previews/frame_0001.jpg",
        f"/api/analyses/{aid}/report.json",
        f"/analyses/{aid}/report.pdf",
    ):
        assert alice.get(url).status_code == 200, url
    # and bob's lists, exports and counts do not show it
    assert bob.get("/api/analyses").json["total"] == 0
    assert "alice-private.mp4" not in bob.get("/history").get_data(as_text=True)
    assert "alice-private.mp4" not in bob.get("/history.csv").get_data(as_text=True)
    assert "alice-private.mp4" not in bob.get("/").get_data(as_text=True)
    assert len(rows(app)) == 1  # bob's DELETE did nothing


def test_shared_analyses_are_seen_by_the_lab_but_deleted_only_by_owner_or_admin(
    lab, video_bytes
) -> None:
    app, alice, private_id = lab
    shared = post_api(alice, video_bytes + b"\0", name="alice-shared.mp4", shared="lab")
    sid = shared.json["id"]
    bob = app.test_client()
    log_in(bob, "bob")
    assert bob.get(f"/api/analyses/{sid}").status_code == 200
    listing = bob.get("/api/analyses").json
    assert [i["id"] for i in listing["items"]] == [sid]
    assert listing["items"][0]["owner"] == "alice" and listing["items"][0]["shared"] is True
    assert bob.delete(f"/api/analyses/{sid}").status_code == 403
    page = bob.get(f"/analyses/{sid}").get_data(as_text=True)
    assert "Delete…" not in page and "shared with the lab" in page
    root = app.test_client()
    log_in(root, "root")
    assert root.get("/api/analyses").json["total"] == 2  # an admin sees everything
    table = csv.DictReader(io.StringIO(root.get("/history.csv").get_data(as_text=True)))
    assert {r["file_name"]: r["owner"] for r in table} == {
        "alice-private.mp4": "alice",
        "alice-shared.mp4": "alice",
    }
    assert root.get(f"/analyses/{private_id}").status_code == 200
    assert root.delete(f"/api/analyses/{private_id}").status_code == 204
    assert alice.delete(f"/api/analyses/{sid}").status_code == 204
    assert rows(app) == []


def test_the_share_default_comes_from_the_setting(tmp_path: Path, video_bytes) -> None:
    app = make_accounts_app(tmp_path, SHARE_WITH_LAB_DEFAULT=True)
    add_account(app, "alice")
    add_account(app, "bob")
    alice = app.test_client()
    log_in(alice, "alice")
    form = alice.get("/").get_data(as_text=True)
    assert (
        'value="lab" checked' in form
        or 'checked id="shared-1"' in form
        or ('id="shared-1"' in form and "checked" in form.split('id="shared-1"')[0][-120:])
    )
    aid = post_api(alice, video_bytes).json["id"]
    bob = app.test_client()
    log_in(bob, "bob")
    assert bob.get(f"/api/analyses/{aid}").status_code == 200
    assert post_api(alice, video_bytes, name="x.mp4", shared="maybe").status_code == 400


def test_a_member_uploading_a_file_another_member_keeps_private_gets_a_new_analysis(
    lab, video_bytes
) -> None:
    app, _alice, aid = lab
    bob = app.test_client()
    log_in(bob, "bob")
    res = post_api(bob, video_bytes, name="same-bytes.mp4")
    assert res.status_code == 202 and res.json["id"] != aid and res.json["existing"] is False
