"""The JSON API: create, follow, list, delete; errors; models."""

from __future__ import annotations

import json

from tests.factories.web import post_api, run_job

# --- JSON API -----------------------------------------------------------------------


def test_api_create_status_list_delete(app, client, video_bytes) -> None:
    created = post_api(client, video_bytes)
    assert created.status_code == 202
    body = created.json
    assert body["status"] == "queued" and body["status_url"] == f"/api/analyses/{body['id']}"
    status = client.get(body["status_url"]).json
    assert status["status"] == "queued" and "verdict" in status and status["verdict"] is None
    run_job(app, body["id"])
    done = client.get(body["status_url"]).json
    assert done["status"] == "done" and done["verdict"] == "NO_FACE"
    for key in (
        "p_fake",
        "frame_scores",
        "checkpoint",
        "timings",
        "media",
        "frames_used",
        "previews",
    ):
        assert key in done
    listing = client.get("/api/analyses?page=1&verdict=NO_FACE").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == body["id"]
    assert client.get("/api/analyses?verdict=FAKE").json["total"] == 0
    assert client.delete(body["status_url"]).status_code == 204
    missing = client.get(body["status_url"])
    assert missing.status_code == 404 and missing.json["error"]["status"] == 404


def test_api_errors_are_json(client) -> None:
    res = client.post("/api/analyses", data={"sequence_length": "20"})
    assert (
        res.status_code == 400 and res.is_json and "Choose a video" in res.json["error"]["message"]
    )
    res = client.put("/api/analyses")
    assert res.status_code == 405 and res.is_json


def test_api_models_lists_checkpoints(client) -> None:
    body = client.get("/api/models?sha256=1").json
    assert body["lengths"] == [20]
    [m] = body["models"]
    assert m["name"] == "model_90_acc_20_frames_test_data.pt" and len(m["sha256"]) == 64
    assert "path" not in m


def test_api_detail_is_json_serialisable_and_hides_server_paths(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    body = client.get(f"/api/analyses/{a.id}").get_data(as_text=True)
    assert app.config["UPLOAD_DIR"] not in body and a.stored_name not in body
    json.loads(body)
