"""Corrupt files, resource bombs, hostile names, traversal URLs and CSRF variants, sent to a
real server: every refusal is a 4xx/503 with a reason, nothing is a 500, nothing leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories.server import LiveServer, multipart
from tests.reliability.conftest import assert_refusal_has_a_reason
from tests.reliability.corpus import HOSTILE_NAMES, TRAVERSAL_URLS, clip, corrupt_corpus

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

STORED = re.compile(r"^[A-Za-z0-9_-]{20,32}\.(mp4|mov|avi|mkv|webm|jpg|jpeg|png|webp)$")


def _no_leftovers(server: LiveServer) -> None:
    """Refused uploads leave nothing; stored files have server-made names, in uploads/ only."""
    uploads = server.instance / "uploads"
    incoming = uploads / "incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []
    for path in uploads.iterdir() if uploads.exists() else []:
        assert path == incoming or STORED.match(path.name), path


def _wait_none_running(server: LiveServer, ids: list[str]) -> dict[str, dict]:
    final = server.client.wait_terminal(ids, timeout=180)
    assert set(final) == set(ids), "an acknowledged analysis was lost"
    stuck = {aid: s["status"] for aid, s in final.items() if s["status"] not in ("done", "failed")}
    assert stuck == {}
    return final


def test_corrupt_files_and_bombs_are_refused_with_reasons(server, corpus_dir: Path) -> None:
    client = server.client
    accepted: list[str] = []
    corpus = corrupt_corpus(corpus_dir)
    assert len(corpus) >= 33
    for k, (name, data) in enumerate(corpus):
        reply = client.upload(data, name=name, client_ip=f"10.9.0.{k + 1}")
        assert_refusal_has_a_reason(reply)
        if reply.status in (200, 202):
            accepted.append(reply.json["id"])
        if name.startswith("bomb_"):
            assert reply.status == 422 and "too large to decode safely" in reply.reason
        if name in ("empty.mp4", "random_small.mp4", "html.mp4", "text.jpg", "too_long.mp4"):
            assert 400 <= reply.status < 500, (name, reply.status)
    assert len(accepted) < len(corpus) // 3  # almost everything was refused, with a reason
    final = _wait_none_running(server, accepted)
    for status in final.values():
        assert status["status"] == "done" or status["error"], status
    assert client.server_errors() == []
    _no_leftovers(server)


def test_hostile_names_are_stored_under_server_names(server, corpus_dir: Path) -> None:
    client = server.client
    accepted: list[str] = []
    for k, name in enumerate(HOSTILE_NAMES):
        reply = client.upload(clip(corpus_dir, 200 + k), name=name, client_ip=f"10.10.0.{k + 1}")
        assert_refusal_has_a_reason(reply)
        assert "X-Injected" not in reply.headers
        if reply.status in (200, 202):
            accepted.append(reply.json["id"])
            shown = reply.json["file_name"]
            assert "/" not in shown and "\\" not in shown and len(shown) <= 200
    assert len(accepted) >= len(HOSTILE_NAMES) // 2
    assert any(len(s["file_name"]) == 200 for s in map(lambda a: client.status(a).json, accepted))
    _wait_none_running(server, accepted)
    for aid in accepted:
        page = client.get(f"/analyses/{aid}").body.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
    assert not Path("/etc/cron.d/evil.mp4").exists()
    assert client.server_errors() == []
    _no_leftovers(server)


def test_traversal_urls_reach_nothing(server) -> None:
    client = server.client
    secret = (server.instance / "secret_key").read_text().strip()
    assert secret
    for url in TRAVERSAL_URLS:
        reply = client.get(url)
        assert reply.status != 0 and reply.status < 500, (url, reply.status, reply.body[:200])
        assert secret.encode() not in reply.body, url
        assert b"SQLite format 3" not in reply.body and b"root:x:0" not in reply.body, url
    assert client.server_errors() == []


def test_changing_requests_need_the_token_whatever_else_they_carry(
    server, corpus_dir: Path
) -> None:
    client = server.client
    owner = client.upload(clip(corpus_dir, 300), client_ip="10.11.0.1")
    assert owner.status == 202
    aid = owner.json["id"]
    no_token = client.upload(clip(corpus_dir, 301), client_ip="10.11.0.2", auth=False)
    assert no_token.status == 401 and no_token.headers["WWW-Authenticate"].startswith("Bearer")
    csrf = client.get("/api/csrf")  # an anonymous session's CSRF token
    cookie = csrf.headers["Set-Cookie"].split(";", 1)[0]
    session = {"Cookie": cookie, "X-CSRFToken": csrf.json["csrf_token"]}
    variants = [
        session,
        {**session, "Origin": "https://evil.example", "Referer": "https://evil.example/"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": b"Bearer \xff\xfe\xc3\xa9"},
        {"Authorization": b"Bearer reliability-token\x80"},
        {"Authorization": "bearer"},
        {"Authorization": "Basic cmVsaWFiaWxpdHktdG9rZW4="},
        {},
    ]
    for headers in variants:
        for method, path in (
            ("DELETE", f"/api/analyses/{aid}"),
            ("POST", f"/api/analyses/{aid}/rerun"),
        ):
            reply = client.request(method, path, headers=headers)
            assert reply.status == 401, (method, headers, reply.status)
    body, ctype = multipart({"csrf_token": "x"}, {})
    for path in ("/", f"/analyses/{aid}/rerun", f"/analyses/{aid}/delete"):
        reply = client.request("POST", path, body, {"Content-Type": ctype, "Cookie": cookie})
        assert reply.status in (400, 401), (path, reply.status)
        assert_refusal_has_a_reason(reply)
    assert client.status(aid).status == 200  # still there after all of that
    assert client.get("/sign-in").status == 200
    ok = client.request("DELETE", f"/api/analyses/{aid}", headers={
        "Authorization": "Bearer reliability-token"})  # fmt: skip
    assert ok.status == 204 and client.status(aid).status == 404
    assert client.server_errors() == []


def test_the_log_has_no_unhandled_error(server) -> None:
    text = server.log_text()
    assert "unhandled error" not in text and "Exception on /" not in text
    assert "database is locked" not in text
