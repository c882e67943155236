"""The face cache: resumable after a kill, failures recorded once, entries keyed by content."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from deepfake_web.cli import cli
from deepfake_web.training.facecache import FaceCache, FaceSettings, extract_missing, fingerprint
from deepfake_web.training.manifest import VideoEntry, write_manifest
from tests.factories.media import ROOT, noise_frames, write_video
from tests.factories.training import make_face_clips


def _manifest(folder: Path, videos: list[Path]) -> Path:
    entries = [
        VideoEntry(v.relative_to(folder).as_posix(), "REAL" if i % 2 else "FAKE")
        for i, v in enumerate(videos)
    ]
    return write_manifest(folder / "manifest.csv", entries)


@pytest.mark.media
@pytest.mark.slow
def test_killed_extraction_resumes_without_redoing_or_missing_anything(tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    clips = make_face_clips(data / "clips", 24, frames=12)  # 24 different photos
    manifest = _manifest(data, clips)
    args = ["faces", str(manifest), "--frames", "10", "--workers", "2", "--cache", str(cache)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepfake_web", *args],
        cwd=ROOT,
        start_new_session=True,  # its own process group: the kill reaches the workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            done = list(cache.glob("faces/*/*.npz"))
            if len(done) >= 4 or proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be stopped"
    folder = next(cache.glob("faces/*"))
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.npz")}
    assert 4 <= len(before) < len(clips)

    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert f"{len(before)} already cached, {len(clips) - len(before)} extracted now" in res.output
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.npz")}
    assert len(after) == len(clips)
    assert {k: after[k] for k in before} == before  # finished entries were not redone
    assert not list(folder.glob(".*.tmp"))  # a killed worker's half-written file is gone
    fc = FaceCache(
        cache, FaceSettings.from_dict(json.loads((folder / "settings.json").read_text()))
    )
    for clip in clips:
        entry = fc.load(fingerprint(clip))
        assert entry.sampled == 10
        assert len(entry.face_positions) >= 8  # a face is found in (nearly) every frame
        assert entry.faces.shape[1:] == (112, 112, 3) and entry.faces.dtype == np.uint8
        assert (entry.boxes[entry.face_positions] >= 0).all()
    again = CliRunner().invoke(cli, args)
    assert f"{len(clips)} already cached, 0 extracted now" in again.output


def test_failures_are_recorded_once_and_cache_follows_content(tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    noface = write_video(data / "noface.mp4", noise_frames(10))
    broken = data / "broken.mp4"
    broken.write_text("<html>not a video</html>")
    fc = FaceCache(cache, FaceSettings(frames=4))
    first = extract_missing(fc, [noface, broken, data / "absent.mp4"], workers=0)
    assert first.extracted == 1 and first.no_face == [str(noface)]
    assert set(first.failed) == {str(broken), str(data / "absent.mp4")}
    assert "could not be opened" in first.failed[str(broken)]
    assert fc.failure(fingerprint(broken))["error_type"] == "UnsupportedMediaError"
    empty = fc.load(fingerprint(noface))
    assert empty.sampled == 4 and len(empty.face_positions) == 0 and (empty.boxes == -1).all()

    second = extract_missing(fc, [noface, broken], workers=0)
    assert second.cached_before == 1 and second.extracted == 0
    assert list(second.skipped_failed) == [str(broken)] and not second.failed
    third = extract_missing(fc, [broken], workers=0, retry_failed=True)
    assert list(third.failed) == [str(broken)]

    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.copy(noface, moved)  # same content, new place: the cache entry still applies
    assert extract_missing(fc, [moved], workers=0).cached_before == 1
    other = FaceCache(cache, FaceSettings(frames=4, image_size=96))
    assert other.folder != fc.folder  # any setting change gives another cache


def test_faces_command_lists_failures_and_needs_no_media(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    videos = [write_video(data / f"n{i}.mp4", noise_frames(8, seed=i)) for i in range(3)]
    broken = data / "broken.mp4"
    broken.write_text("nope")
    manifest = _manifest(data, [*videos, broken])
    res = CliRunner().invoke(
        cli,
        ["faces", str(manifest), "--frames", "3", "--workers", "2", "--cache", str(tmp_path / "c")],
    )
    assert res.exit_code == 0, res.output  # per-video failures are not fatal
    assert "Failed (1):" in res.output and "broken.mp4" in res.output
    assert "No face found" in res.output and "3 without any face" in res.output
    report = json.loads(next((tmp_path / "c").glob("faces/*/last_run.json")).read_text())
    assert len(report["no_face"]) == 3 and list(report["failed"]) == [str(broken)]
