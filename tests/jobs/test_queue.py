"""The task queue: each app points it at its own storage."""

from __future__ import annotations

from pathlib import Path

from deepfake_web.jobs import queue
from tests.factories.web import make_app


def test_each_app_uses_its_own_queue_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_app(tmp_path / "a")
    with first.app_context():
        queue.enqueue("only-in-a")
        assert queue.pending_ids() == {"only-in-a"}
    make_app(tmp_path / "b")  # a second app (same process) must not see the first's queue
    assert queue.pending_ids() == set()
    assert Path(queue.huey.storage.filename) == tmp_path / "b" / "queue.db"
