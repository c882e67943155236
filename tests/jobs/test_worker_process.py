"""End to end through the real queue and a real worker process, including kill -9."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis
from tests.factories.media import ROOT, shared
from tests.factories.web import make_app

pytestmark = [pytest.mark.media, pytest.mark.slow]


class Worker:
    """`python -m deepfake_web worker` against the test app's instance folder."""

    def __init__(self, app, log: Path) -> None:
        self.env = dict(
            os.environ,
            DEEPFAKE_INSTANCE_PATH=app.instance_path,
            DEEPFAKE_MODELS_DIR=app.config["MODELS_DIR"],
            DEEPFAKE_QUEUE_URL=app.config["QUEUE_URL"],
            DEEPFAKE_HEARTBEAT_INTERVAL_S="1",
            DEEPFAKE_RECOVERY_INTERVAL_S="2",
        )
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "deepfake_web", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple]:
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    write_demo_checkpoint(app.config["MODELS_DIR"], 100)
    worker = Worker(app, tmp_path / "worker.log")
    worker.start()
    yield app, app.test_client(), worker
    worker.stop()


def upload(client, video: Path, frames: int) -> str:
    res = client.post(
        "/api/analyses",
        data={"file": (io.BytesIO(video.read_bytes()), video.name), "sequence_length": str(frames)},
    )
    assert res.status_code == 202, res.json
    return res.json["id"]


def wait_for(client, aid: str, predicate, timeout: float = 240, what: str = "") -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/analyses/{aid}").json
        if predicate(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: last status {status}")


def test_upload_queue_worker_result_history_delete(live) -> None:
    app, client, _ = live
    video = shared("videos", "fake", "mudouble_ffpp_c40_Deepfakes_183_253.mp4")
    aid = upload(client, video, 20)
    stages = set()

    def finished(s: dict) -> bool:
        stages.add(s["stage"])
        return s["status"] in ("done", "failed")

    status = wait_for(client, aid, finished, what="the analysis")
    assert status["status"] == "done", status.get("error")
    assert status["verdict"] in ("REAL", "FAKE") and 0 <= status["p_fake"] <= 1
    assert status["frames_used"] >= 18 and len(status["frame_scores"]) == 20
    assert stages & {"finding faces", "running the model", "waiting in the queue"}
    page = client.get(f"/analyses/{aid}").get_data(as_text=True)
    assert f'id="verdict">{status["verdict"]}<' in page and '<svg class="chart"' in page
    assert page.count("/previews/face_") >= 18 and "Demo model, not a detection." in page
    history = client.get("/history").get_data(as_text=True)
    assert video.name in history
    assert client.post(f"/analyses/{aid}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Analysis, aid) is None
    assert not list(Path(app.config["UPLOAD_DIR"]).glob(f"{aid}*"))
    assert not (Path(app.config["PREVIEW_DIR"]) / aid).exists()


def test_killed_worker_is_retried_once_then_failed_never_left_running(live) -> None:
    _, client, worker = live
    video = shared("videos", "real", "polimi_dfdc_lynaeydofd.mp4")  # 1080p, 100 frames: slow

    def running(s: dict) -> bool:
        return s["status"] == "running" and s["stage"] in ("finding faces", "running the model")

    aid = upload(client, video, 100)
    wait_for(client, aid, running, what="the first attempt")
    worker.kill9()
    time.sleep(1.5)
    assert client.get(f"/api/analyses/{aid}").json["status"] == "running"  # nobody knows yet
    worker.start()  # the worker comes back: it retries the analysis once
    second = wait_for(client, aid, lambda s: running(s) and s["attempts"] == 2, what="the retry")
    assert second["attempts"] == 2
    worker.kill9()
    worker.start()
    final = wait_for(client, aid, lambda s: s["status"] != "running", timeout=60, what="recovery")
    assert final["status"] == "failed"
    assert "worker stopped unexpectedly" in final["error"] and "2 attempts" in final["error"]
    # The worker is healthy afterwards and analyses the next file.
    other = upload(client, shared("videos", "real", "polimi_ffpp_c23_orig_004.mp4"), 20)
    done = wait_for(client, other, lambda s: s["status"] in ("done", "failed"), what="next")
    assert done["status"] == "done"
