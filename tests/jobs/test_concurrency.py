"""Several analyses at once in one worker: they share one backbone thread that batches crops."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from deepfake_web.jobs import detectors
from tests.factories.training import make_face_clips
from tests.factories.web import make_app, post_api, run_job

pytestmark = [pytest.mark.media, pytest.mark.slow]


def _app(tmp_path: Path, concurrency: int):
    from deepfake_web.detection.demo import write_demo_checkpoint

    tmp_path.mkdir(parents=True, exist_ok=True)
    app = make_app(tmp_path, WORKER_THREADS=concurrency, QUEUE_LIMIT_PER_CLIENT=None)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    return app


def test_concurrent_analyses_share_the_backbone_and_score_as_alone(tmp_path: Path) -> None:
    clips = make_face_clips(tmp_path / "clips", 3, frames=8)
    alone_app = _app(tmp_path / "one", 1)
    alone = {}
    for clip in clips:
        aid = post_api(alone_app.test_client(), clip.read_bytes(), clip.name).json["id"]
        alone[clip.name] = run_job(alone_app, aid).p_fake
    assert detectors.detector_for(alone_app).embedder is None

    app = _app(tmp_path / "three", 3)
    client = app.test_client()
    ids = {c.name: post_api(client, c.read_bytes(), c.name).json["id"] for c in clips}
    done = {}

    def run(name: str) -> None:
        done[name] = run_job(app, ids[name])

    threads = [threading.Thread(target=run, args=(name,)) for name in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    embedder = detectors.detector_for(app).embedder
    assert embedder is not None
    assert all(a.status == "done" for a in done.values()), [a.error for a in done.values()]
    assert embedder.crops == sum(a.frames_used for a in done.values()) > 0
    for name, a in done.items():
        assert a.p_fake == pytest.approx(alone[name], abs=1e-4), name
