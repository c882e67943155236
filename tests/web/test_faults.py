"""Faults answered with a reason: bombs, a full disk, odd forms, a deleted database file."""

from __future__ import annotations

import errno
import io
import logging
from pathlib import Path

import pytest

from deepfake_web.web.upload import validation
from tests.factories.media import bomb_png, write_tiny_published
from tests.factories.web import make_app, post_api, post_form, rows, stored_files


def test_a_decompression_bomb_is_refused_with_a_reason(app, client) -> None:
    """Issue 8, failure 3: a 14000×14000 PNG escaped the media probe as a 500."""
    bomb = bomb_png(14000, 14000)
    assert len(bomb) < 100_000
    res = post_api(client, bomb, name="bomb.png")
    assert res.status_code == 422 and "too large to decode safely" in res.json["error"]["message"]
    assert "bomb.png" in res.json["error"]["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_a_long_name_keeps_its_extension(app, client, video_bytes) -> None:
    """Issue 8, failure 7: the name was cut to 200 characters before its extension was read."""
    name = "x" * 296 + ".mp4"
    res = post_api(client, video_bytes, name=name)
    assert res.status_code == 202, res.json
    [a] = rows(app)
    assert len(a.original_name) == 200 and a.original_name.endswith("x.mp4")
    assert a.stored_name == f"{a.id}.mp4"


class _FullDisk(io.RawIOBase):
    """A file whose second write fails with ENOSPC, as on a full disk."""

    def __init__(self, path: Path) -> None:
        self.path, self.writes = path, 0
        path.write_bytes(b"")

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return len(data)


def test_a_full_disk_is_a_503_with_a_reason_and_leaves_nothing(
    app, client, video_bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, failure 3: an upload when the disk was full was a 500."""
    real_open = open

    def full_open(path, mode="r", *args, **kwargs):
        if "x" in mode and "incoming" in str(path):
            return _FullDisk(Path(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(validation, "open", full_open, raising=False)
    big = video_bytes + bytes(3_000_000)  # more than one chunk of 1 MB
    for res in (post_api(client, big), post_form(client, big)):
        assert res.status_code == 503, res.get_data(as_text=True)[:300]
        assert "disk is full" in res.get_data(as_text=True)
        assert int(res.headers["Retry-After"]) > 0
    assert rows(app) == [] and stored_files(app) == []


def test_every_413_says_its_real_cause(tmp_path: Path, video_bytes) -> None:
    """Issue 8, failure 7: too many form parts was reported as a file over 200 MB."""
    app = make_app(tmp_path)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    client = app.test_client()
    form = {f"f{i}": "x" for i in range(1200)} | {"sequence_length": "20"}
    res = client.post("/api/analyses", data=form, content_type="multipart/form-data")
    assert res.status_code == 413
    message = res.json["error"]["message"]
    assert "too many parts" in message and "MB" not in message
    field = {"sequence_length": "2" * 600_000}
    res = client.post("/api/analyses", data=field, content_type="multipart/form-data")
    assert res.status_code == 413 and "too large" in res.json["error"]["message"]
    (tmp_path / "small").mkdir()
    small = make_app(tmp_path / "small", MAX_CONTENT_LENGTH=1000)
    res = post_api(small.test_client(), video_bytes)
    assert res.status_code == 413 and "upload limit of" in res.json["error"]["message"]


@pytest.mark.sqlite_only
def test_a_deleted_database_file_is_a_loud_503(
    app, client, video_bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8, failure 6: uploads kept succeeding into the unlinked database file."""
    first = post_api(client, video_bytes)
    assert first.status_code == 202
    db_file = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR):
        again = post_api(client, video_bytes, force="1")
        status = client.get(first.json["status_url"])
        page = client.get("/history")
    assert (
        again.status_code == 503 and "database file was deleted" in again.json["error"]["message"]
    )
    assert int(again.headers["Retry-After"]) > 0
    assert status.status_code == 503 and page.status_code == 503
    assert "DATABASE FILE" in caplog.text and str(db_file) in caplog.text
    assert len(stored_files(app)) == 1  # the refused upload left nothing


@pytest.mark.sqlite_only
def test_a_replaced_database_file_is_refused_too(app, client, video_bytes) -> None:
    assert post_api(client, video_bytes).status_code == 202
    db_file = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    copy = db_file.with_name("copy.db")
    copy.write_bytes(db_file.read_bytes())
    copy.replace(db_file)  # same name, another inode (a restore while running)
    res = client.get("/api/analyses")
    assert res.status_code == 503 and "replaced" in res.json["error"]["message"]


def test_a_file_that_is_not_sqlite_is_refused_at_start_up(tmp_path: Path) -> None:
    from deepfake_web.web.errors import DatabaseUnavailableError

    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "deepfake.db").write_text("not a database")
    with pytest.raises(DatabaseUnavailableError, match="not an SQLite database"):
        make_app(tmp_path)
