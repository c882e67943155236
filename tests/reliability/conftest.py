"""Fixtures of the reliability suite: real servers in temporary folders, and their clean-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.server import LiveServer


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated clips and corrupt files are written (once per module)."""
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One running ``deepfake-web serve`` shared by a module's tests (token mode)."""
    live = LiveServer(tmp_path_factory.mktemp("server"))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own (for tests that kill it or break its disk)."""
    live = LiveServer(tmp_path / "server")
    yield live
    live.stop()


def assert_refusal_has_a_reason(reply) -> None:
    """A refusal is a 4xx or 503 with a message, never a 5xx of another kind or no answer."""
    assert reply.status != 0, reply.error
    assert reply.status < 500 or reply.status == 503, (reply.status, reply.body[:300])
    if reply.status >= 400:
        assert reply.reason.strip(), (reply.status, reply.body[:300])
    if reply.status in (429, 503):
        assert int(reply.headers.get("Retry-After", "0")) > 0, reply.headers
