"""CSRF, security headers, error pages, rollback on errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis
from tests.factories.web import make_app, post_api, post_form, rows

# --- CSRF, headers, error pages, no torch in the web process -------------------------


def test_csrf_is_enforced_on_forms_and_api(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)  # no access token: sessions suffice
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    client = app.test_client()
    assert post_form(client, video_bytes).status_code == 400
    res = post_api(client, video_bytes)
    assert res.status_code == 400 and "CSRF" in res.json["error"]["message"]
    assert rows(app) == []
    token = client.get("/api/csrf").json["csrf_token"]
    ok = client.post(
        "/api/analyses",
        data={"file": (io.BytesIO(video_bytes), "a.mp4"), "sequence_length": "20"},
        headers={"X-CSRFToken": token},
    )
    assert ok.status_code == 202
    page = client.get("/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"file": (io.BytesIO(video_bytes), "b.mp4"), "sequence_length": "20", "mode": "standard",
            "force": "y", "csrf_token": form_token}  # fmt: skip
    assert client.post("/", data=data).status_code == 303
    scripted = app.test_client()  # no session, no token configured: CSRF refuses
    res = scripted.delete(f"/api/analyses/{ok.json['id']}", headers={"Authorization": "Bearer x"})
    assert res.status_code == 400


def test_security_headers_on_every_response(client) -> None:
    for path in ("/", "/history", "/api/analyses", "/nope", "/static/css/app.css"):
        res = client.get(path)
        assert res.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in res.headers["Content-Security-Policy"]
        assert "script-src 'self'" in res.headers["Content-Security-Policy"]


@pytest.mark.parametrize("status", [400, 404, 413, 415, 422, 500])
def test_error_pages_use_the_site_layout(app, status: int) -> None:
    from flask import abort

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production

    @app.get(f"/boom/{status}")
    def boom():
        if status == 500:
            raise RuntimeError("secret detail /etc/passwd")
        abort(status)

    res = app.test_client().get(f"/boom/{status}")
    page = res.get_data(as_text=True)
    assert res.status_code == status
    assert '<header class="site">' in page and f"Error {status}" in page
    assert "Traceback" not in page and "/etc/passwd" not in page


def test_500_rolls_back_the_session(app) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/half-write")
    def half_write():
        db.session.add(Analysis(original_name="ghost", stored_name="g.mp4", sha256="1" * 64,
                                size_bytes=1, media_kind="video", sequence_length=1))  # fmt: skip
        db.session.flush()
        raise RuntimeError("after a write")

    assert app.test_client().get("/half-write").status_code == 500
    assert rows(app) == []
