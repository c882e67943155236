"""Recovery after a worker died: retry once, fail with a reason, re-queue lost analyses."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from deepfake_web.jobs import queue, recovery
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Worker
from tests.factories.web import drain_queue, post_api

# --- recovery after a worker died ---------------------------------------------------


def _mark_running(app, aid: str, worker: str, attempts: int, beat_age_s: float) -> None:
    with app.app_context():
        a = db.session.get(Analysis, aid)
        a.status, a.worker, a.attempts = "running", worker, attempts
        a.heartbeat_at = datetime.now(UTC) - timedelta(seconds=beat_age_s)
        db.session.commit()


def _register(app, name: str, beat_age_s: float, stopped: bool = False) -> None:
    """A worker row whose last heartbeat is ``beat_age_s`` old."""
    with app.app_context():
        host, pid, _ = name.split(":")
        beat = datetime.now(UTC) - timedelta(seconds=beat_age_s)
        db.session.merge(
            Worker(name=name, host=host, pid=int(pid), threads=1, started_at=beat,
                   heartbeat_at=beat, stopped_at=beat if stopped else None)
        )  # fmt: skip
        db.session.commit()


def test_recovery_retries_once_then_fails_with_a_reason(app, client, video_bytes) -> None:

    aid = post_api(client, video_bytes).json["id"]
    drain_queue()
    dead = "gpu-2:4242:0f0f0f0f"
    _register(app, dead, beat_age_s=31)  # 3 heartbeats of 10 s missed: dead, on any machine
    _mark_running(app, aid, dead, attempts=1, beat_age_s=1)
    assert recovery.recover_interrupted(app) == [aid]
    with app.app_context():
        a = db.session.get(Analysis, aid)
        assert a.status == "queued" and "retrying" in a.stage
        assert queue.pending_ids() == {aid}
    drain_queue()
    _mark_running(app, aid, dead, attempts=2, beat_age_s=1)
    assert recovery.recover_interrupted(app) == []
    with app.app_context():
        a = db.session.get(Analysis, aid)
        assert a.status == "failed" and "worker stopped unexpectedly" in a.error


def test_recovery_leaves_live_workers_alone_and_catches_silent_ones(app, client, video_bytes):
    import os

    aid = post_api(client, video_bytes).json["id"]
    alive = f"{socket.gethostname()}:{os.getppid()}:0f0f0f0f"
    _mark_running(app, aid, alive, attempts=1, beat_age_s=5)
    assert recovery.recover_interrupted(app) == []
    _mark_running(app, aid, alive, attempts=1, beat_age_s=3600)  # a reused pid, no heartbeat
    assert recovery.recover_interrupted(app) == [aid]
    drain_queue()
    _mark_running(app, aid, "other-host:1:aa", attempts=1, beat_age_s=5)
    assert recovery.recover_interrupted(app) == []  # another host, fresh heartbeat
    _mark_running(app, aid, "other-host:1:aa", attempts=1, beat_age_s=3600)
    assert recovery.recover_interrupted(app) == [aid]  # silent for an hour


def test_a_worker_is_dead_when_it_misses_its_heartbeats_on_any_machine(app, client, video_bytes):
    """Not a pid check: the worker table's heartbeat decides, whatever host the worker is on."""
    aid = post_api(client, video_bytes).json["id"]
    drain_queue()
    for name in ("gpu-1:77:aa", f"{socket.gethostname()}:999999:bb"):
        _register(app, name, beat_age_s=5)  # alive: beat 5 s ago (dead after 30 s)
        _mark_running(app, aid, name, attempts=1, beat_age_s=5)
        assert recovery.recover_interrupted(app) == [], name  # even with no such local pid
        _register(app, name, beat_age_s=45)  # missed 4 heartbeats
        assert recovery.recover_interrupted(app) == [aid], name
        drain_queue()
    _register(app, "gpu-1:77:aa", beat_age_s=1, stopped=True)  # stopped cleanly mid-analysis
    _mark_running(app, aid, "gpu-1:77:aa", attempts=1, beat_age_s=1)
    assert recovery.recover_interrupted(app) == [aid]


def test_recovery_requeues_analyses_lost_from_the_queue(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    drain_queue()
    with app.app_context():
        a = db.session.get(Analysis, aid)
        a.created_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    assert recovery.recover_interrupted(app) == [aid]
    with app.app_context():
        assert queue.pending_ids() == {aid}


def test_recovery_takes_back_stale_analyses_of_this_very_worker(app, client, video_bytes) -> None:
    """Issue 8, failure 2: a live worker whose writes failed kept its analysis `running`."""
    from deepfake_web.jobs.worker import worker_name

    aid = post_api(client, video_bytes).json["id"]
    drain_queue()
    _mark_running(app, aid, worker_name(), attempts=1, beat_age_s=5)
    assert recovery.recover_interrupted(app) == []  # fresh heartbeat: it is working
    _mark_running(app, aid, worker_name(), attempts=1, beat_age_s=3600)
    assert recovery.recover_interrupted(app) == [aid]  # its heartbeat stopped an hour ago
    _mark_running(app, aid, worker_name(), attempts=2, beat_age_s=3600)
    drain_queue()
    assert recovery.recover_interrupted(app) == []
    with app.app_context():
        a = db.session.get(Analysis, aid)
        assert a.status == "failed" and "2 attempts" in a.error
