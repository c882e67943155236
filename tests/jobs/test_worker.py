"""One analysis run by the worker code in-process (the real worker: test_worker_process)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import cv2
import pytest
from sqlalchemy import text

from deepfake_web.jobs import worker
from deepfake_web.web.extensions import db
from tests.factories.media import noise_frames, write_video
from tests.factories.web import make_app, post_api, rows, run_job

# --- jobs (run in-process here; through the real worker in test_worker_process.py) -----


def test_job_stores_result_previews_and_timings(app, client, video_bytes: bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    assert a.status == "done" and a.verdict == "NO_FACE" and a.p_fake is None
    assert a.attempts == 1 and a.started_at and a.finished_at and a.progress == 1.0
    assert a.frames_sampled == 20 and len(a.frame_scores) == 20
    assert a.timings["total_s"] > 0 and a.result["checkpoint"]["sha256"] == a.checkpoint_sha256
    assert a.preview_count == 20
    previews = Path(app.config["PREVIEW_DIR"]) / a.id
    assert len(list(previews.glob("frame_*.jpg"))) == 20
    res = client.get(f"/analyses/{a.id}/previews/frame_0001.jpg")
    assert res.status_code == 200 and res.mimetype == "image/jpeg"
    assert res.data[:2] == b"\xff\xd8"
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert "NO FACE" in page and "No face was found in any of the 20 analysed frames" in page


def test_preview_route_checks_the_analysis_and_the_name(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    assert client.get(f"/analyses/{a.id}/previews/frame_0001.jpg").status_code == 200
    assert client.get(f"/analyses/{a.id}/previews/..%2Fsecret_key").status_code == 404
    assert client.get(f"/analyses/{a.id}/previews/secret_key").status_code == 404
    assert client.get("/analyses/unknown/previews/frame_0001.jpg").status_code == 404


def test_engine_errors_become_a_failed_analysis_with_a_reason(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    for f in Path(app.config["MODELS_DIR"]).iterdir():
        f.unlink()  # the model vanished between upload and analysis
    a = run_job(app, aid)
    assert a.status == "failed" and "No usable checkpoint" in a.error
    page = client.get(f"/analyses/{aid}").get_data(as_text=True)
    assert "The analysis failed" in page and "No usable checkpoint" in page


def test_crash_inside_the_job_is_reported_without_a_traceback(
    app, client, video_bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = post_api(client, video_bytes).json["id"]

    def explode(*args, **kwargs):
        raise RuntimeError("boom at /secret/path")

    monkeypatch.setattr(worker, "detector_for", lambda app: explode)
    a = run_job(app, aid)
    assert a.status == "failed" and "Internal error" in a.error and "RuntimeError" in a.error
    assert "/secret/path" not in a.error


def test_deleting_a_running_analysis_stops_it(app, client, video_bytes, monkeypatch) -> None:
    aid = post_api(client, video_bytes).json["id"]
    real = worker.detector_for

    def deleting_detector(app_):
        detector = real(app_)

        def run(path, **kwargs):
            with app.app_context():
                db.session.execute(text("DELETE FROM analysis WHERE id = :i"), {"i": aid})
                db.session.commit()
            return detector(path, **kwargs)

        return run

    monkeypatch.setattr(worker, "detector_for", deleting_detector)
    worker.run_analysis(app, aid)
    assert rows(app) == []
    assert not (Path(app.config["PREVIEW_DIR"]) / aid).exists()


def test_job_only_runs_queued_analyses(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    finished = a.finished_at
    again = run_job(app, a.id)  # a duplicate message must not run it twice
    assert again.attempts == 1 and again.finished_at == finished


def test_image_uploads_are_analysed_as_one_frame(app, client, tmp_path: Path) -> None:
    path = tmp_path / "still.webp"
    cv2.imwrite(str(path), noise_frames(1, 320, 240)[0])
    res = post_api(client, path.read_bytes(), name="still.webp")
    assert res.status_code == 202
    a = run_job(app, res.json["id"])
    assert a.media_kind == "image" and a.frames_sampled == 1 and a.status == "done"
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert "Image</h2>" in page and '<svg class="chart"' not in page


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_the_configured_device_reaches_the_engine(tmp_path: Path, video_bytes, device) -> None:
    from deepfake_web.jobs.detectors import detector_for
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, DEVICE=device)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_test_data.pt")
    assert detector_for(app).config.device == device
    a = run_job(app, post_api(app.test_client(), video_bytes).json["id"])
    import torch

    if device == "cuda" and not torch.cuda.is_available():  # the request reached the loader
        assert a.status == "failed" and "CUDA was requested" in a.error
    else:
        assert a.status == "done" and a.error is None


# --- the database under concurrent writers, and failures that must be recorded -----------


def _commit_elsewhere(app, aid: str) -> None:
    """Another connection (an upload, say) commits a write, as from another process."""
    from sqlalchemy import update

    from deepfake_web.web.database import immediate
    from deepfake_web.web.models import Analysis

    def write() -> None:
        with app.app_context():
            with immediate():
                db.session.execute(update(Analysis).where(Analysis.id == aid).values(fps=1.0))
            db.session.remove()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()


def test_a_write_committed_during_an_analysis_does_not_fail_it(
    app, client, video_bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, failure 1: a read snapshot left open made the first progress update fail."""
    from deepfake_web.detection.stages import Stage

    aid = post_api(client, video_bytes).json["id"]
    other_clip = write_video(tmp_path / "o.mp4", noise_frames(8, 160, 120, seed=9)).read_bytes()
    other = post_api(client, other_clip, name="o.mp4").json["id"]
    real = worker.detector_for

    def committing_detector(app_):
        detector = real(app_)

        def run(path, progress, **kwargs):
            _commit_elsewhere(app, other)
            progress(Stage.READING_VIDEO, 0.1)  # the first progress write after that commit
            return detector(path, progress=progress, **kwargs)

        return run

    monkeypatch.setattr(worker, "detector_for", committing_detector)
    a = run_job(app, aid)
    assert a.status == "done", a.error


def test_failure_is_recorded_even_while_the_database_is_locked(
    tmp_path: Path, video_bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, failure 2: recording a failure that met a locked database left `running`."""
    from deepfake_web.detection.errors import MediaError
    from tests.factories.media import write_tiny_published

    app = make_app(tmp_path, SQLITE_BUSY_TIMEOUT_MS=100)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_test_data.pt")
    aid = post_api(app.test_client(), video_bytes).json["id"]
    db_path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    locked = threading.Event()

    def hold_the_write_lock() -> None:
        con = sqlite3.connect(db_path, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(1.5)
        con.execute("ROLLBACK")
        con.close()

    def failing_detector(app_):
        def run(path, **kwargs):
            threading.Thread(target=hold_the_write_lock).start()
            locked.wait(5)
            raise MediaError("the decoder gave up")

        return run

    monkeypatch.setattr(worker, "detector_for", failing_detector)
    a = run_job(app, aid)
    assert a.status == "failed" and a.error == "the decoder gave up"
