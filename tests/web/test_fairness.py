"""Per-client fairness: the upload rate limit, each client's share of the queue, Retry-After."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

import pytest

from deepfake_web.web.ratelimit import SQLiteStorage
from tests.factories.media import noise_frames, write_tiny_published, write_video
from tests.factories.web import make_app, post_api, rows


def _clip(tmp_path: Path, seed: int) -> bytes:
    return write_video(tmp_path / f"c{seed}.mp4", noise_frames(6, 64, 48, seed=seed)).read_bytes()


def _post(client, data: bytes, addr: str | None = None, headers: dict | None = None):
    """Upload as the client at ``addr`` (the test client's own address by default)."""
    form = {"file": (io.BytesIO(data), "c.mp4"), "sequence_length": "20"}
    environ = {"REMOTE_ADDR": addr} if addr else {}
    return client.post("/api/analyses", data=form, headers=headers, environ_base=environ)


def _app(tmp_path: Path, **config):
    tmp_path.mkdir(parents=True, exist_ok=True)
    app = make_app(tmp_path, **config)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_t_data.pt")
    return app


def test_uploads_are_rate_limited_per_client_with_retry_after(tmp_path: Path) -> None:
    """Issue 8, failure 5: nothing limited how fast one client could upload."""
    app = _app(tmp_path, UPLOAD_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for seed in range(3):
        assert post_api(client, _clip(tmp_path, seed)).status_code == 202
    res = post_api(client, _clip(tmp_path, 3))
    assert res.status_code == 429 and "Too many requests" in res.json["error"]["message"]
    assert 0 < int(res.headers["Retry-After"]) <= 60
    other = _post(client, _clip(tmp_path, 4), "10.0.0.2")
    assert other.status_code == 202  # another client is not held back
    assert len(rows(app)) == 4


def test_one_client_cannot_hold_the_whole_queue(tmp_path: Path) -> None:
    """Issue 8, failure 5: one client filled all QUEUE_LIMIT slots; the 503 had no Retry-After."""
    app = _app(tmp_path, QUEUE_LIMIT=4, QUEUE_LIMIT_PER_CLIENT=2)
    client = app.test_client()
    for seed in range(2):
        assert post_api(client, _clip(tmp_path, seed)).status_code == 202
    mine = post_api(client, _clip(tmp_path, 2))
    assert (
        mine.status_code == 503 and "You already have 2 analyses" in mine.json["error"]["message"]
    )
    assert int(mine.headers["Retry-After"]) > 0
    for seed, addr in ((3, "10.0.0.2"), (4, "10.0.0.2")):
        res = _post(client, _clip(tmp_path, seed), addr)
        assert res.status_code == 202
    full = _post(client, _clip(tmp_path, 5), "10.0.0.3")
    assert full.status_code == 503 and "server is busy" in full.json["error"]["message"]
    assert int(full.headers["Retry-After"]) > 0


def test_forwarded_for_counts_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    spoof = {"X-Forwarded-For": "203.0.113.9"}
    plain = _app(tmp_path / "a", QUEUE_LIMIT_PER_CLIENT=1)
    client = plain.test_client()
    assert _post(client, _clip(tmp_path, 0), headers=spoof).status_code == 202
    # The header is ignored: the same client (127.0.0.1) asks again.
    assert _post(client, _clip(tmp_path, 1), headers=spoof).status_code == 503
    assert {a.client for a in rows(plain)} == {"127.0.0.1"}
    proxied = _app(tmp_path / "b", QUEUE_LIMIT_PER_CLIENT=1, TRUSTED_PROXIES=1)
    client = proxied.test_client()
    assert _post(client, _clip(tmp_path, 0), headers=spoof).status_code == 202
    assert post_api(client, _clip(tmp_path, 1)).status_code == 202  # 127.0.0.1 is another one
    assert {a.client for a in rows(proxied)} == {"203.0.113.9", "127.0.0.1"}


def _hit(args: tuple[str, int]) -> list[int]:
    uri, n = args
    storage = SQLiteStorage(uri)
    return [storage.incr("k", 60) for _ in range(n)]


def test_the_counters_are_shared_by_processes(tmp_path: Path) -> None:
    """gunicorn runs several processes: they must count against one limit."""
    uri = f"sqlite:///{tmp_path / 'ratelimit.db'}"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        seen = [v for values in pool.map(_hit, [(uri, 50)] * 4) for v in values]
    assert sorted(seen) == list(range(1, 201))  # every hit counted once, none lost
    storage = SQLiteStorage(uri)
    assert storage.get("k") == 200 and storage.get_expiry("k") > 0
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def test_an_expired_window_starts_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deepfake_web.web.ratelimit as rl

    storage = SQLiteStorage(f"sqlite:///{tmp_path / 'r.db'}")
    now = [1000.0]
    monkeypatch.setattr(rl.time, "time", lambda: now[0])
    assert [storage.incr("k", 10) for _ in range(3)] == [1, 2, 3]
    assert storage.get_expiry("k") == 1010.0
    now[0] = 1011.0
    assert storage.get("k") == 0 and storage.incr("k", 10) == 1
