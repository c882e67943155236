"""Orphaned uploads in transit: removed at start-up and periodically, never a live upload's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from deepfake_web.files import temporary_owner
from deepfake_web.jobs.sweep import sweep_incoming
from deepfake_web.web.storage import host_tag, incoming_host, incoming_name


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_incoming_names_carry_the_writers_pid(app) -> None:
    with app.app_context():
        name = incoming_name("abc123", ".mp4")
    assert name.endswith(".mp4") and temporary_owner(Path(name)) == os.getpid()
    assert incoming_host(Path(name)) == host_tag()
    assert temporary_owner(Path(".clip.mp4.42.tmp")) == 42
    assert temporary_owner(Path(".clip.mp4.42.tmp.mp4")) == 42
    assert temporary_owner(Path("tmpab12.mp4")) is None


def test_sweep_removes_orphans_and_keeps_uploads_in_progress(app) -> None:
    """Issue 8, failure 7: a kill -9 during an upload left its temp file forever."""
    folder = Path(app.config["UPLOAD_DIR"]) / "incoming"
    folder.mkdir(parents=True)
    old = time.time() - 600
    here = host_tag()
    orphan = folder / f".aa.{here}.{_dead_pid()}.tmp.mp4"  # its writer was killed
    live = folder / f".bb.{here}.{os.getpid()}.tmp.mp4"  # an upload this process is writing
    young = folder / f".cc.{here}.{_dead_pid()}.tmp.mp4"  # just now: left for the grace period
    ancient = folder / "tmpolder.mp4"  # a name without a pid, a day old
    elsewhere = folder / f".dd.web-1.{_dead_pid()}.tmp.mp4"  # another machine's pid: unknown
    for path in (orphan, live, young, ancient, elsewhere):
        path.write_bytes(b"x")
    for path in (orphan, live, elsewhere):
        os.utime(path, (old, old))
    os.utime(ancient, (time.time() - 86400,) * 2)
    removed = sweep_incoming(app)
    assert sorted(removed) == sorted([orphan, ancient])
    assert live.exists() and young.exists()
    assert sweep_incoming(app, now=time.time() + 400) == [young]
    assert sorted(sweep_incoming(app, now=time.time() + 7 * 3600)) == sorted([live, elsewhere])
