"""Concurrent uploads with pollers, as a class of lab members would send them."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.factories.server import TERMINAL, Client, Reply


@dataclass
class Outcome:
    """One client's upload and what its poller saw last."""

    upload: Reply
    final: dict | None = None


def upload_and_poll(
    client: Client,
    data: bytes,
    client_ip: str,
    frames: int = 8,
    poll: bool = True,
    timeout: float = 300,
) -> Outcome:
    """Upload, then poll the analysis until it is done or failed (a page's live progress)."""
    reply = client.upload(data, name=f"clip_{client_ip}.mp4", frames=frames, client_ip=client_ip)
    out = Outcome(reply)
    if not poll or reply.status not in (200, 202):
        return out
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.status(reply.json["id"])
        if status.status == 200:
            out.final = status.json
            if status.json["status"] in TERMINAL:
                break
        time.sleep(0.3)
    return out


def concurrent_round(
    client: Client,
    clips: list[bytes],
    ip: Callable[[int], str],
    poll: bool = True,
    during: Callable[[list], None] | None = None,
) -> list[Outcome]:
    """Send every clip at once from its own client address; ``during`` runs meanwhile."""
    with ThreadPoolExecutor(len(clips)) as pool:
        futures = [
            pool.submit(upload_and_poll, client, data, ip(k), poll=poll)
            for k, data in enumerate(clips)
        ]
        if during is not None:
            during(futures)
        return [f.result() for f in futures]


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)] if ordered else float("nan")
