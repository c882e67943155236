"""The Redis queue across a Redis restart: nothing acknowledged is lost.

Redis runs with its append-only file (as the README's deployment sets it up): a ``kill -9``
and a restart keep every queued message. A Redis that comes back *without* its data (no
persistence, a lost disk) loses the messages, but not the analyses: they are rows in the
database, and the recovery pass sends every queued row the queue no longer holds again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepfake_web.jobs import queue, recovery
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis
from tests.factories.backends import Redis
from tests.factories.web import dispose, make_app, post_api, run_job


@pytest.fixture
def own_redis(servers) -> Iterator[Redis]:
    """A Redis of this test's own, to be killed and restarted."""
    server = Redis.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app(tmp_path: Path, servers, own_redis: Redis):
    """The app on PostgreSQL and the test's own Redis."""
    from tests.factories.media import write_tiny_published

    database_url, _ = servers.fresh()
    app = make_app(
        tmp_path, DATABASE_URL=database_url, QUEUE_URL=own_redis.url(), QUEUE_LOST_AFTER_S=0
    )
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_test_data.pt")
    yield app
    dispose(app)


def _queued(app, client, video_bytes: bytes, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        res = post_api(client, video_bytes, force="1")
        assert res.status_code == 202, res.json
        ids.append(res.json["id"])
    with app.app_context():
        assert queue.pending_ids() == set(ids)
    return ids


def test_redis_killed_and_restarted_keeps_the_queue(redis_app, own_redis, video_bytes) -> None:
    client = redis_app.test_client()
    ids = _queued(redis_app, client, video_bytes, 3)
    own_redis.kill()  # kill -9
    own_redis.run()  # same folder, same port: the append-only file is read back
    with redis_app.app_context():
        assert queue.pending_ids() == set(ids)  # the app's connections reconnect by themselves
    assert recovery.recover_interrupted(redis_app) == []  # nothing to send again
    for aid in ids:
        assert run_job(redis_app, aid).status == "done"


def test_redis_back_without_its_data_loses_no_analysis(redis_app, own_redis, video_bytes) -> None:
    client = redis_app.test_client()
    ids = _queued(redis_app, client, video_bytes, 3)
    own_redis.kill()
    down = post_api(client, video_bytes, force="1")  # while Redis is down: a reason, not a 500
    assert down.status_code < 500
    with redis_app.app_context():
        row = db.session.get(Analysis, down.json["id"])
        assert row.status == "failed" and "could not be queued" in row.error
    shutil.rmtree(own_redis.root)
    own_redis.root.mkdir()
    own_redis.run()  # an empty Redis: every message is gone
    with redis_app.app_context():
        assert queue.pending_ids() == set()
    assert sorted(recovery.recover_interrupted(redis_app)) == sorted(ids)  # from the database
    with redis_app.app_context():
        assert queue.pending_ids() == set(ids)
    for aid in ids:
        assert run_job(redis_app, aid).status == "done"
