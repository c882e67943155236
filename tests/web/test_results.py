"""The result page, its previews, running again and deleting."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_web.jobs import queue
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis
from tests.factories.media import write_video
from tests.factories.web import drain_queue, make_app, post_api, rows, run_job, stored_files

# --- result page, rerun, delete -----------------------------------------------------


def test_result_page_shows_verdict_chart_previews_and_facts(
    tmp_path: Path, published_checkpoint: Path
) -> None:
    from tests.factories.media import face_frames, shared

    if not shared("images").is_dir():
        pytest.skip("needs ../shared/media for a real face")
    app = make_app(tmp_path)
    Path(app.config["MODELS_DIR"], published_checkpoint.name).symlink_to(published_checkpoint)
    client = app.test_client()
    frames = face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 40)
    data = write_video(tmp_path / "face.mp4", frames).read_bytes()
    a = run_job(app, post_api(client, data, name="face.mp4").json["id"])
    assert a.status == "done" and a.verdict in ("REAL", "FAKE")
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert f'class="verdict" id="verdict">{a.verdict}<' in page
    assert '<svg class="chart"' in page and "decision threshold (0.50)" in page
    assert page.count('<circle class="point"') == 20
    assert page.count("/previews/frame_") == 20 and page.count("/previews/face_") == 20
    assert a.checkpoint_name in page and "640 × 360" in page
    assert "Running the model" in page
    assert "Demo model" not in page


def test_demo_checkpoint_verdicts_carry_a_banner(tmp_path: Path, video_bytes) -> None:
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    client = app.test_client()
    a = run_job(app, post_api(client, video_bytes).json["id"])
    assert a.checkpoint_demo
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert "Demo model, not a detection." in page and "means nothing" in page
    assert 'class="tag warn"' in client.get("/history").get_data(as_text=True)
    assert client.get(f"/api/analyses/{a.id}").json["demo"] is True


def test_rerun_creates_a_new_analysis_of_the_same_file(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    res = client.post(f"/analyses/{a.id}/rerun")
    assert res.status_code == 303
    new_id = res.headers["Location"].rsplit("/", 1)[1]
    assert new_id != a.id
    with app.app_context():
        b = db.session.get(Analysis, new_id)
        assert b.status == "queued" and b.sha256 == a.sha256 and b.sequence_length == 20
    assert len(stored_files(app)) == 2
    assert client.post(f"/api/analyses/{a.id}/rerun").status_code == 202


def test_reloading_a_result_page_does_not_run_anything(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    drain_queue()
    for _ in range(3):
        assert client.get(f"/analyses/{aid}").status_code == 200
    with app.app_context():
        assert queue.pending_ids() == set()
    assert len(rows(app)) == 1


def test_delete_asks_first_then_removes_row_and_files(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    confirm = client.get(f"/analyses/{a.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert rows(app) != []  # asking deletes nothing
    res = client.post(f"/analyses/{a.id}/delete")
    assert res.status_code == 303 and res.headers["Location"] == "/history"
    assert "Deleted the analysis of “clip.mp4”" in client.get("/history").get_data(as_text=True)
    assert rows(app) == [] and stored_files(app) == []
    assert not (Path(app.config["PREVIEW_DIR"]) / a.id).exists()
    assert client.get(f"/analyses/{a.id}").status_code == 404
