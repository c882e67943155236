"""A full disk and a deleted database file, under a real server: refusals with reasons (503,
Retry-After), never a 500, nothing left running, and a loud failure for the database."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.server import LiveServer
from tests.reliability.conftest import assert_refusal_has_a_reason
from tests.reliability.corpus import clip

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs mounted on the server's instance folder (root only)."""
    if os.geteuid() != 0:
        pytest.skip("filling a disk needs a small tmpfs on the instance folder: run as root")
    instance = tmp_path / "server" / "instance"
    instance.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(instance)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"could not mount a tmpfs on the instance folder: {mounted.stderr.strip()}")
    try:
        yield instance
    finally:
        subprocess.run(["umount", "-l", str(instance)], check=False)


def _fill(path: Path) -> None:
    """Write ``path`` until the disk refuses another byte."""
    with path.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def test_a_full_disk_refuses_uploads_with_a_reason_and_recovers(
    tmp_path: Path, small_disk: Path, corpus_dir: Path
) -> None:
    """Issue 8, failures 2 and 3: a full disk gave 500s and could leave analyses running."""
    server = LiveServer(
        tmp_path / "server",
        env={"DEEPFAKE_HEARTBEAT_STALE_S": "8", "DEEPFAKE_INCOMING_GRACE_S": "0"},
    )
    client = server.client
    try:
        server.start()
        before = client.upload(clip(corpus_dir, 7000), client_ip="10.40.0.1")
        assert before.status == 202
        slow = [clip(corpus_dir, 7100 + k, frames=12, size=(320, 240)) for k in range(4)]
        in_flight = [client.upload(c, client_ip=f"10.40.1.{k + 1}") for k, c in enumerate(slow)]
        assert all(r.status == 202 for r in in_flight)
        filler = small_disk / "filler"
        _fill(filler)
        refused = []
        for k in range(6):
            reply = client.upload(clip(corpus_dir, 7200 + k), client_ip=f"10.40.2.{k + 1}")
            assert_refusal_has_a_reason(reply)
            assert reply.status in (202, 503), (reply.status, reply.reason)
            if reply.status == 503:
                refused.append(reply.reason)
            assert client.status(before.json["id"]).status == 200  # reading still works
        assert refused and any("disk is full" in r for r in refused), refused
        time.sleep(3)  # the worker meets the full disk too
        filler.unlink()
        after = client.upload(clip(corpus_dir, 7300), client_ip="10.40.3.1")
        assert after.status == 202, after.reason
        ids = [r.json["id"] for r in (before, after, *in_flight)]
        final = client.wait_terminal(ids, timeout=200)
        assert set(final) == set(ids), "an acknowledged analysis was lost"
        for status in final.values():
            assert status["status"] == "done" or (status["status"] == "failed" and status["error"])
        assert client.server_errors() == []
        assert "unhandled error" not in server.log_text()
    finally:
        server.stop()


def test_a_deleted_database_file_is_a_loud_503_not_silent_writes(
    fresh_server: LiveServer, corpus_dir: Path
) -> None:
    """Issue 8, failure 6: uploads kept succeeding into the unlinked database file."""
    server, client = fresh_server, fresh_server.client
    server.start()
    first = [
        client.upload(clip(corpus_dir, 8000 + k), client_ip=f"10.50.0.{k + 1}") for k in range(3)
    ]
    ids = [r.json["id"] for r in first]
    assert {s["status"] for s in client.wait_terminal(ids, timeout=120).values()} == {"done"}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{server.instance / 'deepfake.db'}{suffix}").unlink(missing_ok=True)
    for k in range(6):
        reply = client.upload(clip(corpus_dir, 8100 + k), client_ip=f"10.50.1.{k + 1}")
        assert reply.status == 503, (reply.status, reply.reason)
        assert "database file was" in reply.reason and int(reply.headers["Retry-After"]) > 0
    status = client.status(ids[0])
    assert status.status == 503 and "database file was" in status.reason
    assert client.get("/history").status == 503
    server.wait_for(lambda: "DATABASE FILE" in server.log_text(), 10, "the error in the log")
    assert client.server_errors() == []
    stored = [p for p in (server.instance / "uploads").glob("*") if p.is_file()]
    assert len(stored) == 3  # nothing was stored for the refused uploads
