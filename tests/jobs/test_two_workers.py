"""Two worker processes, as on two GPU machines, sharing PostgreSQL, Redis and the storage.

Each worker has its own instance folder, models folder and caches; they share only the
database, the queue and the storage root, as the README's three-machine deployment does.
Ten queued analyses are each done exactly once; one worker is killed with ``kill -9`` in
the middle of an analysis, and the other finds it dead by its missed heartbeats and
finishes that analysis too. Nothing is left ``running``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deepfake_web.jobs import workers
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Worker
from tests.factories.media import ROOT, plain_frames, write_video
from tests.factories.web import dispose, make_app, post_api

pytestmark = pytest.mark.slow

HEARTBEAT_S, MISSED, RECOVERY_S = 1, 3, 1
ANALYSES = 10


class WorkerProcess:
    """``python -m deepfake_web worker`` with the settings of a machine of its own."""

    def __init__(self, home: Path, shared: dict[str, str]) -> None:
        """Its instance, models and cache folders under ``home``; ``shared``: the rest."""
        from deepfake_web.detection.demo import write_demo_checkpoint

        self.home = home
        (home / "instance").mkdir(parents=True)
        write_demo_checkpoint(home / "models", 20)  # each machine has its own copy
        self.env = {
            **os.environ,
            "DEEPFAKE_INSTANCE_PATH": str(home / "instance"),
            "DEEPFAKE_MODELS_DIR": str(home / "models"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "TORCH_HOME": str(home / "cache" / "torch"),
            "DEEPFAKE_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S),
            "DEEPFAKE_HEARTBEAT_MISSED": str(MISSED),
            "DEEPFAKE_RECOVERY_INTERVAL_S": str(RECOVERY_S),
            "DEEPFAKE_FACE_WORKERS": "1",
            "PYTHONUNBUFFERED": "1",
            **shared,
        }
        self.log = home / "worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the worker process."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "deepfake_web", "worker"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def name_prefix(self) -> str:
        """The start of its worker name (``host:pid:``)."""
        import socket

        return f"{socket.gethostname()}:{self.proc.pid}:"

    def kill9(self) -> None:
        """kill -9."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """Ctrl-C, then kill -9 after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill9()

    def done_ids(self) -> list[str]:
        """The analyses this worker logged as done."""
        return re.findall(r"analysis (\S+) done:", self.log.read_text(errors="replace"))


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, logs=()) -> float:
    """Poll until ``predicate`` holds; the seconds it took (fail after ``timeout``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tails}")


@pytest.fixture
def deployment(tmp_path: Path, servers) -> Iterator[tuple]:
    """The web app (this process) and two worker processes on one database, queue, storage."""
    database_url, queue_url = servers.fresh()
    shared = {
        "DEEPFAKE_DATABASE_URL": database_url,
        "DEEPFAKE_QUEUE_URL": queue_url,
        "DEEPFAKE_STORAGE_PATH": str(tmp_path / "storage"),
    }
    (tmp_path / "web").mkdir()
    web = make_app(
        tmp_path / "web",
        DATABASE_URL=database_url,
        QUEUE_URL=queue_url,
        STORAGE_PATH=shared["DEEPFAKE_STORAGE_PATH"],
        HEARTBEAT_INTERVAL_S=HEARTBEAT_S,
        HEARTBEAT_MISSED=MISSED,
        QUEUE_LIMIT=50,
        QUEUE_LIMIT_PER_CLIENT=None,
    )
    from deepfake_web.detection.demo import write_demo_checkpoint

    write_demo_checkpoint(web.config["MODELS_DIR"], 20)  # the web only picks the checkpoint
    pair = [WorkerProcess(tmp_path / name, shared) for name in ("gpu-a", "gpu-b")]
    yield web, pair
    for w in pair:
        w.stop()
    dispose(web)


def _rows(app) -> dict[str, Analysis]:
    with app.app_context():
        out = {a.id: a for a in db.session.scalars(db.select(Analysis))}
        db.session.expunge_all()
        db.session.remove()
        return out


def test_two_workers_share_ten_analyses_and_take_over_a_killed_one(deployment, tmp_path) -> None:
    web, (a, b) = deployment
    client = web.test_client()
    clip = write_video(tmp_path / "clip.mp4", plain_frames(120, 960, 540)).read_bytes()
    ids = []
    for _ in range(ANALYSES):
        res = post_api(client, clip, force="1")
        assert res.status_code == 202, res.json
        ids.append(res.json["id"])
    logs = [a.log, b.log]
    a.start()
    b.start()

    def running_on(worker: WorkerProcess) -> Analysis | None:
        for row in _rows(web).values():
            if row.status == "running" and (row.worker or "").startswith(worker.name_prefix):
                return row
        return None

    # Both are at work, and A is in the middle of an analysis (past loading the model).
    wait_for(lambda: running_on(b) is not None, 240, "worker B to start an analysis", logs)
    wait_for(
        lambda: (r := running_on(a)) is not None and r.stage in ("finding_faces", "running_model"),
        240, "worker A to be mid-analysis", logs,
    )  # fmt: skip
    victim = running_on(a)
    a.kill9()
    killed_at = time.monotonic()

    # B finds A dead by its missed heartbeats and queues A's analysis again: within the
    # heartbeat timeout (MISSED beats) plus one recovery interval, and some slack for the
    # loaded test machine.
    limit = HEARTBEAT_S * MISSED + RECOVERY_S + 10
    wait_for(lambda: _rows(web)[victim.id].status != "running", limit, "A's analysis", logs)
    taken_over_s = time.monotonic() - killed_at

    wait_for(
        lambda: all(r.status in ("done", "failed") for r in _rows(web).values()),
        600, "every analysis to finish", logs,
    )  # fmt: skip
    rows = _rows(web)
    assert sorted(rows) == sorted(ids)
    assert {r.status for r in rows.values()} == {"done"}, {r.id: r.error for r in rows.values()}
    # Each analysis was done exactly once (by the logs of both workers), none twice at once.
    done = a.done_ids() + b.done_ids()
    assert sorted(done) == sorted(ids), done
    assert b.done_ids(), "B did no work"
    assert rows[victim.id].attempts == 2 and rows[victim.id].worker.startswith(b.name_prefix)
    assert victim.id in b.done_ids() and victim.id not in a.done_ids()
    assert all(r.attempts == 1 for r in rows.values() if r.id != victim.id)
    # Nothing is left running; the status says who is dead and who is alive.
    state = {w["pid"]: w for w in workers.status(web)["workers"]}
    assert state[a.proc.pid]["state"] == "dead" and state[a.proc.pid]["running"] == []
    assert state[b.proc.pid]["state"] == "alive" and state[b.proc.pid]["running"] == []
    # The previews are on the shared storage, written by whichever worker ran the analysis.
    storage = Path(web.config["PREVIEW_DIR"])
    assert all((storage / aid).is_dir() for aid in ids)
    print(f"A's analysis was queued again {taken_over_s:.1f} s after kill -9")
    b.stop()
    with web.app_context():
        assert db.session.get(Worker, state[b.proc.pid]["name"]).stopped_at is not None
    with contextlib.suppress(Exception):
        dispose(web)
