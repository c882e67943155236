"""The web app through Flask's test client: routes, uploads, errors, history, API, security."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import text

from deepfake_web import create_app, jobs, tasks
from deepfake_web.database import immediate
from deepfake_web.extensions import db
from deepfake_web.models import Analysis
from tests.conftest import make_app
from tests.media_factory import noise_frames, plain_frames, write_video


@pytest.fixture
def video_bytes(tmp_path: Path) -> bytes:
    return write_video(tmp_path / "clip.mp4", plain_frames(30)).read_bytes()


def post_api(client, data: bytes, name: str = "clip.mp4", frames: str = "20", **extra):
    form = {"file": (io.BytesIO(data), name), "sequence_length": frames, **extra}
    return client.post("/api/analyses", data=form, content_type="multipart/form-data")


def post_form(client, data: bytes, name: str = "clip.mp4", frames: str = "20", **extra):
    form = {
        "file": (io.BytesIO(data), name),
        "sequence_length": frames,
        "mode": "standard",
        **extra,
    }
    return client.post("/", data=form, content_type="multipart/form-data")


def rows(app) -> list[Analysis]:
    with app.app_context():
        return list(db.session.scalars(db.select(Analysis)))


def stored_files(app) -> list[Path]:
    upload_dir = Path(app.config["UPLOAD_DIR"])
    return [p for p in upload_dir.rglob("*") if p.is_file()] if upload_dir.exists() else []


# --- configuration and database -----------------------------------------------------


def test_config_layers_defaults_instance_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text("QUEUE_LIMIT = 7\nHISTORY_PER_PAGE = 3\n")
    monkeypatch.setenv("DEEPFAKE_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("DEEPFAKE_MAX_CONTENT_LENGTH", "1048576")
    monkeypatch.setenv("DEEPFAKE_HISTORY_PER_PAGE", "9")
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["QUEUE_LIMIT"] == 7  # instance/config.py over the default (20)
    assert app.config["HISTORY_PER_PAGE"] == 9  # environment over instance/config.py
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["MODELS_DIR"] == str(tmp_path / "m")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'deepfake.db'}"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    a = make_app(tmp_path, SECRET_KEY=None)
    key_file = Path(a.instance_path) / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(a.config["SECRET_KEY"]) == 64
    b = make_app(tmp_path, SECRET_KEY=None)
    assert b.config["SECRET_KEY"] == a.config["SECRET_KEY"]


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app) -> None:
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_migrations_create_the_schema_from_an_empty_database(app, runner) -> None:
    with app.app_context():
        tables = set(db.session.execute(text("SELECT name FROM sqlite_master")).scalars())
        assert {"analysis", "alembic_version"} <= tables
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    heads = [p.name.split("_", 1)[0] for p in Path("migrations/versions").glob("*.py")]
    assert version in heads
    assert runner.invoke(args=["db", "check"]).exit_code == 0  # models and migrations agree


def test_immediate_transactions_survive_concurrent_read_then_write(app) -> None:
    with app.app_context():
        row = Analysis(original_name="x", stored_name="x.mp4", sha256="0" * 64, size_bytes=1,
                       media_kind="video", requested_frames=1, attempts=0)  # fmt: skip
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    errors: list[Exception] = []

    def bump() -> None:
        with app.app_context():
            for _ in range(25):
                try:
                    with immediate():
                        r = db.session.get(Analysis, row_id)
                        r.attempts = r.attempts + 1
                except Exception as exc:  # the test counts them
                    errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert db.session.get(Analysis, row_id).attempts == 200  # no lost update


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
        assert tasks.pending_ids() == {a.id}
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
    from tests.media_factory import write_tiny_published

    app = make_app(tmp_path, MAX_CONTENT_LENGTH=len(video_bytes) - 1)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    client = app.test_client()
    res = post_api(client, video_bytes)
    assert res.status_code == 413 and "upload limit" in res.json["error"]["message"]
    page = post_form(client, video_bytes)
    assert page.status_code == 413 and "File too large" in page.get_data(as_text=True)
    assert rows(app) == [] and stored_files(app) == []


def test_upload_over_the_engine_limits_is_422(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.media_factory import write_tiny_published

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
    from tests.media_factory import write_tiny_published

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


# --- jobs (run in-process here; through the real worker in test_e2e.py) ----------------


def run_job(app, analysis_id: str) -> Analysis:
    jobs.run_analysis(app, analysis_id)
    with app.app_context():
        return db.session.get(Analysis, analysis_id)


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

    monkeypatch.setattr(jobs, "_detector", lambda app: explode)
    a = run_job(app, aid)
    assert a.status == "failed" and "Internal error" in a.error and "RuntimeError" in a.error
    assert "/secret/path" not in a.error


def test_deleting_a_running_analysis_stops_it(app, client, video_bytes, monkeypatch) -> None:
    aid = post_api(client, video_bytes).json["id"]
    real = jobs._detector

    def deleting_detector(app_):
        detector = real(app_)

        def run(path, **kwargs):
            with app.app_context():
                db.session.execute(text("DELETE FROM analysis WHERE id = :i"), {"i": aid})
                db.session.commit()
            return detector(path, **kwargs)

        return run

    monkeypatch.setattr(jobs, "_detector", deleting_detector)
    jobs.run_analysis(app, aid)
    assert rows(app) == []
    assert not (Path(app.config["PREVIEW_DIR"]) / aid).exists()


def test_job_only_runs_queued_analyses(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    finished = a.finished_at
    again = run_job(app, a.id)  # a duplicate message must not run it twice
    assert again.attempts == 1 and again.finished_at == finished


# --- recovery after a worker died ---------------------------------------------------


def _mark_running(app, aid: str, worker: str, attempts: int, beat_age_s: float) -> None:
    with app.app_context():
        a = db.session.get(Analysis, aid)
        a.status, a.worker, a.attempts = "running", worker, attempts
        a.heartbeat_at = datetime.now(UTC) - timedelta(seconds=beat_age_s)
        db.session.commit()


def _drain_queue() -> None:
    while tasks.huey.dequeue() is not None:
        pass


def test_each_app_uses_its_own_queue_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_app(tmp_path / "a")
    with first.app_context():
        tasks.enqueue("only-in-a")
        assert tasks.pending_ids() == {"only-in-a"}
    make_app(tmp_path / "b")  # a second app (same process) must not see the first's queue
    assert tasks.pending_ids() == set()
    assert Path(tasks.huey.storage.filename) == tmp_path / "b" / "queue.db"


def test_recovery_retries_once_then_fails_with_a_reason(app, client, video_bytes) -> None:
    import socket

    aid = post_api(client, video_bytes).json["id"]
    _drain_queue()
    dead = f"{socket.gethostname()}:999999:0f0f0f0f"
    _mark_running(app, aid, dead, attempts=1, beat_age_s=1)
    assert jobs.recover_interrupted(app) == [aid]
    with app.app_context():
        a = db.session.get(Analysis, aid)
        assert a.status == "queued" and "retrying" in a.stage
        assert tasks.pending_ids() == {aid}
    _drain_queue()
    _mark_running(app, aid, dead, attempts=2, beat_age_s=1)
    assert jobs.recover_interrupted(app) == []
    with app.app_context():
        a = db.session.get(Analysis, aid)
        assert a.status == "failed" and "worker stopped unexpectedly" in a.error


def test_recovery_leaves_live_workers_alone_and_catches_silent_ones(app, client, video_bytes):
    import os
    import socket

    aid = post_api(client, video_bytes).json["id"]
    alive = f"{socket.gethostname()}:{os.getppid()}:0f0f0f0f"
    _mark_running(app, aid, alive, attempts=1, beat_age_s=5)
    assert jobs.recover_interrupted(app) == []
    _mark_running(app, aid, alive, attempts=1, beat_age_s=3600)  # a reused pid, no heartbeat
    assert jobs.recover_interrupted(app) == [aid]
    _drain_queue()
    _mark_running(app, aid, "other-host:1:aa", attempts=1, beat_age_s=5)
    assert jobs.recover_interrupted(app) == []  # another host, fresh heartbeat
    _mark_running(app, aid, "other-host:1:aa", attempts=1, beat_age_s=3600)
    assert jobs.recover_interrupted(app) == [aid]  # silent for an hour


def test_recovery_requeues_analyses_lost_from_the_queue(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    _drain_queue()
    with app.app_context():
        a = db.session.get(Analysis, aid)
        a.created_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    assert jobs.recover_interrupted(app) == [aid]
    with app.app_context():
        assert tasks.pending_ids() == {aid}


# --- result page, rerun, delete -----------------------------------------------------


def test_result_page_shows_verdict_chart_previews_and_facts(
    tmp_path: Path, published_checkpoint: Path
) -> None:
    from tests.media_factory import face_frames, shared

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
        assert b.status == "queued" and b.sha256 == a.sha256 and b.requested_frames == 20
    assert len(stored_files(app)) == 2
    assert client.post(f"/api/analyses/{a.id}/rerun").status_code == 202


def test_reloading_a_result_page_does_not_run_anything(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    _drain_queue()
    for _ in range(3):
        assert client.get(f"/analyses/{aid}").status_code == 200
    with app.app_context():
        assert tasks.pending_ids() == set()
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


# --- history ------------------------------------------------------------------------


@pytest.fixture
def filled(app):
    """Thirty analyses with known names, verdicts, checkpoints and dates."""
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    verdicts = ["REAL", "FAKE", "UNCERTAIN", "NO_FACE", None]
    with app.app_context():
        for i in range(30):
            v = verdicts[i % 5]
            db.session.add(
                Analysis(
                    original_name=f"{'interview' if i % 3 == 0 else 'clip'}_{i:02d}.mp4",
                    stored_name=f"x{i}.mp4",
                    sha256=f"{i:064d}",
                    size_bytes=1,
                    media_kind="video",
                    requested_frames=20,
                    checkpoint_name="a.pt" if i < 20 else "b.pt",
                    status="done" if v else "failed",
                    verdict=v,
                    p_fake=None if v in (None, "NO_FACE") else i / 30,
                    created_at=base + timedelta(days=i),
                )
            )
        db.session.commit()
    return app


def names(page: str) -> list[str]:
    return re.findall(r'<td class="file"><a href="[^"]+">([^<]+)</a>', page)


def test_history_paginates_newest_first(filled, client) -> None:
    first = client.get("/history").get_data(as_text=True)
    assert "30 analyses" in first
    assert names(first)[:2] == ["clip_29.mp4", "clip_28.mp4"] and len(names(first)) == 25
    second = client.get("/history?page=2").get_data(as_text=True)
    assert names(second) == [
        "clip_04.mp4",
        "interview_03.mp4",
        "clip_02.mp4",
        "clip_01.mp4",
        "interview_00.mp4",
    ]


def test_history_filters_and_search(filled, client) -> None:
    get = lambda q: names(client.get(f"/history?{q}").get_data(as_text=True))  # noqa: E731
    assert get("verdict=FAKE") == [
        f"{'interview' if i % 3 == 0 else 'clip'}_{i:02d}.mp4" for i in (26, 21, 16, 11, 6, 1)
    ]
    assert (
        all(n.startswith("interview") for n in get("q=INTERVIEW")) and len(get("q=interview")) == 10
    )
    assert len(get("checkpoint=b.pt")) == 10
    dated = get("from=2026-03-05&to=2026-03-06")
    assert dated == ["clip_05.mp4", "clip_04.mp4"]
    assert len(get("verdict=FAILED")) == 6
    assert get("q=%25") == []  # the % is searched literally, not as a wildcard


def test_history_sorts_by_column(filled, client) -> None:
    by_name = names(client.get("/history?sort=name&order=asc").get_data(as_text=True))
    assert by_name == sorted(by_name) and by_name[0] == "clip_01.mp4"
    by_p = names(client.get("/history?sort=p_fake&order=desc").get_data(as_text=True))
    assert by_p[0] == "interview_27.mp4"  # highest p_fake; rows without one come last
    page = client.get("/history?sort=p_fake&order=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in page


def test_history_links_keep_filters_across_pages(filled, client) -> None:
    page = client.get("/history?q=clip&sort=name&order=asc").get_data(as_text=True)
    assert "page=2" not in page  # 20 clips fit on one page
    full = client.get("/history?sort=name&order=asc").get_data(as_text=True)
    assert re.search(r'href="/history\?page=2&amp;sort=name&amp;order=asc"', full)


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


# --- CSRF, headers, error pages, no torch in the web process -------------------------


def test_csrf_is_enforced_on_forms_and_api(tmp_path: Path, video_bytes: bytes) -> None:
    from tests.media_factory import write_tiny_published

    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, API_TOKEN="s3cret")
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
    scripted = app.test_client()  # no session: the API token instead
    res = scripted.delete(
        f"/api/analyses/{ok.json['id']}", headers={"Authorization": "Bearer s3cret"}
    )
    assert res.status_code == 204
    res = scripted.delete(
        f"/api/analyses/{ok.json['id']}", headers={"Authorization": "Bearer wrong"}
    )
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
                                size_bytes=1, media_kind="video", requested_frames=1))  # fmt: skip
        db.session.flush()
        raise RuntimeError("after a write")

    assert app.test_client().get("/half-write").status_code == 500
    assert rows(app) == []


def test_the_web_process_never_imports_torch(tmp_path: Path, video_bytes: bytes) -> None:
    script = f"""
import io, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pathlib import Path
from tests.conftest import make_app
app = make_app(Path({str(tmp_path)!r}))
Path(app.config["MODELS_DIR"], "model_90_acc_20_frames_x_data.pt").write_bytes(
    Path({str(tmp_path / "ck.pt")!r}).read_bytes())
c = app.test_client()
data = Path({str(tmp_path / "v.mp4")!r}).read_bytes()
assert c.get("/").status_code == 200
r = c.post("/api/analyses", data={{"file": (io.BytesIO(data), "v.mp4"), "sequence_length": "20"}})
assert r.status_code == 202, r.json
assert c.get(r.json["result_url"]).status_code == 200
assert c.get("/history").status_code == 200 and c.get("/api/models").status_code == 200
print("torch" in sys.modules, "deepfake_web.detection.detector" in sys.modules)
"""
    from tests.media_factory import write_tiny_published

    write_tiny_published(tmp_path / "ck.pt")
    (tmp_path / "v.mp4").write_bytes(video_bytes)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_api_detail_is_json_serialisable_and_hides_server_paths(app, client, video_bytes) -> None:
    a = run_job(app, post_api(client, video_bytes).json["id"])
    body = client.get(f"/api/analyses/{a.id}").get_data(as_text=True)
    assert app.config["UPLOAD_DIR"] not in body and a.stored_name not in body
    json.loads(body)


def test_image_uploads_are_analysed_as_one_frame(app, client, tmp_path: Path) -> None:
    path = tmp_path / "still.webp"
    cv2.imwrite(str(path), noise_frames(1, 320, 240)[0])
    res = post_api(client, path.read_bytes(), name="still.webp")
    assert res.status_code == 202
    a = run_job(app, res.json["id"])
    assert a.media_kind == "image" and a.frames_sampled == 1 and a.status == "done"
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert "Image</h2>" in page and '<svg class="chart"' not in page
