"""The upload page and the upload checks, through the form and the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_web.jobs import queue
from tests.factories.media import noise_frames, write_video
from tests.factories.web import make_app, post_api, post_form, rows, stored_files

# --- upload page and uploads --------------------------------------------------------


def test_upload_page_offers_the_installed_lengths(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'id="dropzone"' in page and 'type="file"' in page
    assert '<option selected value="20">20 frames</option>' in page
    assert "No model is installed" not in page


def test_upload_page_without_models_explains_how_to_install(tmp_path: Path) -> None:
    page = make_app(tmp_path).test_client().get("/").get_data(as_text=True)
    assert "No model is installed yet" in page
    assert "deepfake-web models demo" in page and "<fieldset disabled>" in page


def test_form_upload_queues_an_analysis(app, client, video_bytes: bytes) -> None:
    res = post_form(client, video_bytes, name="../../evil name.mp4")
    assert res.status_code == 303
    [a] = rows(app)
    assert res.headers["Location"] == f"/analyses/{a.id}"
    assert a.status == "queued" and a.original_name == "evil name.mp4"
    assert a.stored_name == f"{a.id}.mp4" and len(a.id) >= 20
    assert (a.width, a.height, a.frame_count, a.media_kind) == (320, 240, 30, "video")
    assert stored_files(app) == [Path(app.config["UPLOAD_DIR"]) / a.stored_name]
    with app.app_context():
        assert queue.pending_ids() == {a.id}
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert 'id="analysis-progress"' in page and "waiting in the queue" in page


@pytest.mark.parametrize(
    ("name", "payload", "status", "message"),
    [
        ("empty.mp4", b"", 400, "is empty (0 bytes)"),
        ("page.mp4", b"<html><body>hello</body></html>" * 10, 415, "is not a readable video"),
        ("notes.txt", b"plain text", 415, "is not a supported file type"),
        ("pic.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 415, "is not a readable image"),
    ],
)
def test_refused_uploads_leave_no_row_and_no_file(
    app, client, name, payload, status, message
) -> None:
    for res in (post_api(client, payload, name), post_form(client, payload, name)):
        assert res.status_code == status
        assert message in res.get_data(as_text=True)
    assert rows(app) == []
    assert stored_files(app) == []


def test_upload_over_the_size_limit_is_413(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, MAX_CONTENT_LENGTH=len(video_bytes) - 1)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    client = app.test_client()
    res = post_api(client, video_bytes)
    assert res.status_code == 413 and "upload limit" in res.json["error"]["message"]
    page = post_form(client, video_bytes)
    assert page.status_code == 413 and "File too large" in page.get_data(as_text=True)
    assert rows(app) == [] and stored_files(app) == []


def test_upload_over_the_engine_limits_is_422(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, MAX_VIDEO_WIDTH=200)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    res = post_api(app.test_client(), video_bytes)
    assert res.status_code == 422
    assert "320×240 exceeds the limit of 200×2160" in res.json["error"]["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_missing_file_or_bad_length_is_400(client, video_bytes: bytes) -> None:
    assert client.post("/api/analyses", data={"sequence_length": "20"}).status_code == 400
    res = post_api(client, video_bytes, frames="abc")
    assert res.status_code == 400 and "sequence length" in res.json["error"]["message"]


def test_upload_without_models_is_refused_clearly(tmp_path: Path, video_bytes: bytes) -> None:
    app = make_app(tmp_path)
    res = post_api(app.test_client(), video_bytes)
    assert res.status_code == 503 and "No model is installed" in res.json["error"]["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_same_file_same_settings_shows_the_stored_analysis(app, client, video_bytes) -> None:
    first = post_api(client, video_bytes)
    again = post_api(client, video_bytes, name="renamed.mp4")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json["existing"] is True and again.json["id"] == first.json["id"]
    form = post_form(client, video_bytes)
    assert form.headers["Location"].endswith(f"/analyses/{first.json['id']}?existing=1")
    page = client.get(form.headers["Location"]).get_data(as_text=True)
    assert "already analysed with the same settings" in page and "Run it again" in page
    forced = post_api(client, video_bytes, force="1")
    assert forced.status_code == 202 and forced.json["id"] != first.json["id"]
    assert len(rows(app)) == 2 and len(stored_files(app)) == 2


def test_queue_limit_answers_busy(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, QUEUE_LIMIT=1)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    client = app.test_client()
    assert post_api(client, video_bytes).status_code == 202
    other = write_video(tmp_path / "other.mp4", noise_frames(10, 320, 240, seed=5)).read_bytes()
    res = post_api(client, other)
    assert res.status_code == 503 and "busy" in res.json["error"]["message"]
    assert len(rows(app)) == 1


def test_reference_mode_needs_a_published_checkpoint(tmp_path: Path, video_bytes) -> None:
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    res = post_api(app.test_client(), video_bytes, mode="reference")
    assert res.status_code == 400 and "published-format" in res.json["error"]["message"]


def test_two_uploads_at_once_cannot_both_take_the_last_place(
    tmp_path: Path, backend_config: dict[str, str]
) -> None:
    """The queue-limit check and the new row are one step: a second check waits for the first."""
    import threading

    from deepfake_web.web.analyses import _check_capacity
    from deepfake_web.web.database import immediate
    from deepfake_web.web.errors import ServerBusyError
    from deepfake_web.web.extensions import db
    from deepfake_web.web.models import Analysis
    from tests.factories.web import dispose

    app = make_app(tmp_path, QUEUE_LIMIT=1, **backend_config)
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def upload(name: str, hold: bool) -> None:
        with app.test_request_context():
            try:
                with immediate():
                    _check_capacity()
                    db.session.add(
                        Analysis(original_name=name, stored_name=f"{name}.mp4", sha256=name * 8,
                                 size_bytes=1, media_kind="video", sequence_length=20,
                                 status="queued")
                    )  # fmt: skip
                    db.session.flush()
                    if hold:  # the first upload has checked and inserted, not yet committed
                        inside.set()
                        release.wait(10)
                outcome[name] = "queued"
            except ServerBusyError:
                outcome[name] = "busy"
            finally:
                db.session.remove()

    first = threading.Thread(target=upload, args=("aaaaaaaa", True))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=upload, args=("bbbbbbbb", False))
    second.start()
    second.join(0.5)
    waited = second.is_alive()  # the second check waits for the first transaction
    release.set()
    first.join(10)
    second.join(10)
    assert outcome == {"aaaaaaaa": "queued", "bbbbbbbb": "busy"}
    assert waited
    assert len(rows(app)) == 1
    dispose(app)
