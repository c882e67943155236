"""The worker registry: heartbeats, dead by missed heartbeats, and ``deepfake-web status``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from deepfake_web.cli.main import cli
from deepfake_web.jobs import queue, workers
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Worker
from tests.factories.web import drain_queue, post_api


def _row(app, name: str) -> Worker | None:
    with app.app_context():
        row = db.session.get(Worker, name)
        db.session.expunge_all()
        return row


def test_a_worker_registers_beats_and_says_when_it_stops(app) -> None:
    app.config.update(HEARTBEAT_INTERVAL_S=0.2)
    recoveries: list[float] = []
    heart = workers.Heartbeat(app, "gpu-1:4242:ab", every=lambda: recoveries.append(1), every_s=0.4)
    heart.start()
    try:
        first = _row(app, "gpu-1:4242:ab")
        assert (first.host, first.pid, first.stopped_at) == ("gpu-1", 4242, None)
        time.sleep(1.2)
        later = _row(app, "gpu-1:4242:ab")
        assert later.heartbeat_at > first.heartbeat_at  # it beats
        assert len(recoveries) >= 2  # and runs recovery every 0.4 s
        assert [w["state"] for w in workers.status(app)["workers"]] == ["alive"]
    finally:
        heart.stop()
    assert _row(app, "gpu-1:4242:ab").stopped_at is not None
    assert workers.status(app)["workers"] == []  # stopped workers are listed on request only
    assert workers.status(app, include_stopped=True)["workers"][0]["state"] == "stopped"


def test_status_lists_workers_what_they_run_and_the_queue(app, client, video_bytes) -> None:
    first = post_api(client, video_bytes).json["id"]
    post_api(client, video_bytes, force="1")  # a second analysis, still queued
    now = datetime.now(UTC)
    with app.app_context():
        for name, age in (("gpu-1:11:aa", 2), ("gpu-2:22:bb", 600)):
            db.session.add(
                Worker(name=name, host=name.split(":")[0], pid=int(name.split(":")[1]),
                       threads=1, started_at=now - timedelta(hours=1),
                       heartbeat_at=now - timedelta(seconds=age))
            )  # fmt: skip
        a = db.session.get(Analysis, first)
        a.status, a.worker, a.stage, a.progress, a.attempts = (
            "running",
            "gpu-1:11:aa",
            "finding_faces",
            0.4,
            1,
        )
        db.session.commit()
    data = workers.status(app)
    by_host = {w["host"]: w for w in data["workers"]}
    assert by_host["gpu-1"]["state"] == "alive" and by_host["gpu-2"]["state"] == "dead"
    assert [r["id"] for r in by_host["gpu-1"]["running"]] == [first]
    assert by_host["gpu-1"]["running"][0]["stage_id"] == "finding_faces"
    assert by_host["gpu-1"]["running"][0]["stage"] == "finding faces"
    assert by_host["gpu-2"]["running"] == []
    assert 1 <= by_host["gpu-1"]["seconds_since_heartbeat"] < 30
    assert data["queue"]["queued"] == 1 and data["queue"]["running"] == 1
    assert data["queue"]["pending_in_queue"] == 2  # both messages are still in the queue
    drain_queue()
    assert workers.status(app)["queue"]["pending_in_queue"] == 0


@pytest.fixture
def env_of(app, monkeypatch: pytest.MonkeyPatch):
    """The environment a command on another machine would have: database, queue, models."""
    monkeypatch.setenv("DEEPFAKE_INSTANCE_PATH", app.instance_path)
    monkeypatch.setenv("DEEPFAKE_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("DEEPFAKE_QUEUE_URL", app.config["QUEUE_URL"])
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", app.config["MODELS_DIR"])
    return app


def test_the_status_command_prints_workers_and_queue(env_of, client, video_bytes) -> None:
    app = env_of
    aid = post_api(client, video_bytes).json["id"]
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(Worker(name="gpu-7:99:cc", host="gpu-7", pid=99, threads=2,
                              started_at=now, heartbeat_at=now))  # fmt: skip
        a = db.session.get(Analysis, aid)
        a.status, a.worker, a.stage, a.attempts = "running", "gpu-7:99:cc", "running_model", 1
        db.session.commit()
    text = CliRunner().invoke(cli, ["status"])
    assert text.exit_code == 0, text.output
    assert "gpu-7:99  alive" in text.output and f"running {aid} 'clip.mp4'" in text.output
    assert (
        "(running the model, 0%, attempt 1)" in text.output and "running_model" not in text.output
    )
    assert "0 queued, 1 running, 1 messages in the queue" in text.output
    as_json = CliRunner().invoke(cli, ["status", "--json"])
    data = json.loads(as_json.output)
    assert data["workers"][0]["running"][0]["id"] == aid


def test_the_dashboard_lists_the_workers(app, client, video_bytes, monkeypatch) -> None:
    aid = post_api(client, video_bytes).json["id"]
    now = datetime.now(UTC)
    with app.app_context():
        for name, age in (("gpu-1:11:aa", 1), ("gpu-2:22:bb", 900)):
            host, pid, _ = name.split(":")
            beat = now - timedelta(seconds=age)
            db.session.add(
                Worker(name=name, host=host, pid=int(pid), threads=1, started_at=now,
                       heartbeat_at=beat)
            )  # fmt: skip
        a = db.session.get(Analysis, aid)
        a.status, a.worker, a.stage, a.progress = "running", "gpu-1:11:aa", "running_model", 0.5
        db.session.commit()
    queue_reads: list[int] = []
    monkeypatch.setattr(queue, "pending_ids", lambda: queue_reads.append(1) or set())
    page = client.get("/history").get_data(as_text=True)
    assert queue_reads == []  # a page view does not read every message of the queue
    assert 'data-worker="gpu-1:11:aa" data-state="alive"' in page
    assert 'data-worker="gpu-2:22:bb" data-state="dead"' in page
    block = page.split('data-worker="gpu-1:11:aa"')[1].split("</li>")[0]
    assert f'href="/analyses/{aid}">clip.mp4</a>' in block and "running the model 50%" in block
