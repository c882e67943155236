"""The access token: with API_TOKEN set, nothing changes state without it; without, as before."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.factories.media import write_tiny_published
from tests.factories.web import make_app, post_api, rows

TOKEN = "lab-s3cret"


@pytest.fixture
def locked_app(tmp_path: Path):
    """The app in token mode, with CSRF checks on (as in production)."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, API_TOKEN=TOKEN)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    return app


def _upload(client, data: bytes, name: str = "a.mp4", **headers):
    form = {"file": (io.BytesIO(data), name), "sequence_length": "20"}
    return client.post("/api/analyses", data=form, headers=headers)


def _form_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _sign_in(client, token: str = TOKEN, next_: str = "/"):
    page = client.get("/sign-in").get_data(as_text=True)
    data = {"csrf_token": _form_token(page), "token": token, "next": next_}
    return client.post("/sign-in", data=data)


def test_bearer_token_opens_the_api_and_nothing_else_does(locked_app, video_bytes) -> None:
    client = locked_app.test_client()
    res = _upload(client, video_bytes)
    assert res.status_code == 401 and "Bearer" in res.json["error"]["message"]
    assert res.headers["WWW-Authenticate"].startswith("Bearer")
    assert _upload(client, video_bytes, Authorization="Bearer wrong").status_code == 401
    assert _upload(client, video_bytes, Authorization=f"Basic {TOKEN}").status_code == 401
    ok = _upload(client, video_bytes, Authorization=f"Bearer {TOKEN}")
    assert ok.status_code == 202
    assert client.get(ok.json["status_url"]).status_code == 200  # reading stays open
    gone = client.delete(ok.json["status_url"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert gone.status_code == 204


def test_an_anonymous_sessions_csrf_token_opens_nothing(locked_app, video_bytes) -> None:
    """Issue 8, failure 4: GET /api/csrf was a side door around the API token."""
    owner = locked_app.test_client()
    aid = _upload(owner, video_bytes, Authorization=f"Bearer {TOKEN}").json["id"]
    stranger = locked_app.test_client()
    csrf = stranger.get("/api/csrf").json["csrf_token"]
    res = stranger.delete(f"/api/analyses/{aid}", headers={"X-CSRFToken": csrf})
    assert res.status_code == 401
    assert (
        stranger.post(f"/api/analyses/{aid}/rerun", headers={"X-CSRFToken": csrf}).status_code
        == 401
    )
    assert _upload(stranger, video_bytes, "b.mp4", **{"X-CSRFToken": csrf}).status_code == 401
    assert len(rows(locked_app)) == 1


@pytest.mark.parametrize("value", ["Bearer café", "Bearer \xff\xfe", "Bearer ключ", "\x80"])
def test_non_ascii_authorization_is_refused_not_a_500(locked_app, value: str) -> None:
    """Issue 8, failure 3: a non-ASCII byte in Authorization crashed the token comparison."""
    raw = value.encode("utf-8").decode("latin-1")  # the bytes on the wire, as WSGI sees them
    res = locked_app.test_client().delete("/api/analyses/x", headers={"Authorization": raw})
    assert res.status_code == 401 and res.is_json


def test_forms_need_a_signed_in_browser(locked_app, video_bytes) -> None:
    client = locked_app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert 'id="sign-in-needed"' in page and "<fieldset disabled>" in page
    form = {"file": (io.BytesIO(video_bytes), "a.mp4"), "sequence_length": "20",
            "mode": "standard", "csrf_token": _form_token(page)}  # fmt: skip
    refused = client.post("/", data=form)
    assert refused.status_code == 401 and 'name="token"' in refused.get_data(as_text=True)
    assert rows(locked_app) == []
    wrong = _sign_in(client, "nope")
    assert wrong.status_code == 401 and "not the access token" in wrong.get_data(as_text=True)
    signed = _sign_in(client, next_="/history")
    assert signed.status_code == 303 and signed.headers["Location"] == "/history"
    page = client.get("/").get_data(as_text=True)
    assert 'id="sign-in-needed"' not in page and 'id="sign-out"' in page
    form["csrf_token"] = _form_token(page)
    form["file"] = (io.BytesIO(video_bytes), "a.mp4")
    assert client.post("/", data=form).status_code == 303
    [a] = rows(locked_app)
    # The signed-in session's CSRF token works for the page's own API calls too.
    csrf = client.get("/api/csrf").json["csrf_token"]
    assert client.delete(f"/api/analyses/{a.id}", headers={"X-CSRFToken": csrf}).status_code == 204
    out = client.post("/sign-out", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert 'id="sign-in-needed"' in client.get("/").get_data(as_text=True)


def test_sign_in_redirects_only_within_the_site(locked_app) -> None:
    client = locked_app.test_client()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        res = _sign_in(locked_app.test_client(), next_=target)
        assert res.status_code == 303 and res.headers["Location"] == "/"
    assert client.get("/sign-in?next=/history").status_code == 200


def test_changing_the_token_signs_everyone_out(locked_app, video_bytes) -> None:
    client = locked_app.test_client()
    assert _sign_in(client).status_code == 303
    locked_app.config["API_TOKEN"] = "rotated"
    csrf = client.get("/api/csrf").json["csrf_token"]
    assert _upload(client, video_bytes, **{"X-CSRFToken": csrf}).status_code == 401


def test_without_a_token_nothing_asks_for_one(client, video_bytes) -> None:
    assert "Sign in" not in client.get("/").get_data(as_text=True)
    assert client.get("/sign-in").status_code == 302
    assert post_api(client, video_bytes).status_code == 202
