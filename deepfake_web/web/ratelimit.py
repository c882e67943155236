"""Per-client fairness: who a client is, and where the rate-limit counters live.

A client is its address: ``request.remote_addr``, which is the ``X-Forwarded-For`` address
only when ``TRUSTED_PROXIES`` says how many proxies (nginx) stand in front; otherwise the
header is ignored, so a client cannot pick its own identity.

The counters of Flask-Limiter (the ``limits`` library) must be shared by every gunicorn
worker process: ``memory://`` would give each process its own count. :class:`SQLiteStorage`
keeps them in ``instance/ratelimit.db`` (no server to run; a separate file, so counting
never waits for the analyses' write lock); a lab that runs Redis sets
``RATELIMIT_STORAGE_URI=redis://host:6379/1``. One hit is one SQLite upsert in autocommit
mode (``benchmarks/bench_ratelimit.py`` measures it).
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from typing import Any

from flask import Flask, current_app, request
from limits.storage import Storage
from werkzeug.middleware.proxy_fix import ProxyFix

SCHEME = "sqlite"


def client_address() -> str:
    """The client's address (after ProxyFix, when proxies are trusted)."""
    return request.remote_addr or "unknown"


def upload_limit() -> str:
    """The per-client limit on uploads and re-runs (``UPLOAD_RATE_LIMIT``)."""
    return str(current_app.config["UPLOAD_RATE_LIMIT"])


def sign_in_limit() -> str:
    """The per-client limit on sign-in attempts (``SIGN_IN_RATE_LIMIT``)."""
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


def trust_proxies(app: Flask) -> None:
    """Honour ``X-Forwarded-For``/``-Proto`` from ``TRUSTED_PROXIES`` proxies, and no more."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


class SQLiteStorage(Storage):
    """Fixed-window counters in an SQLite file, shared by every process on the machine.

    ``sqlite:////abs/path/ratelimit.db``. Each thread keeps its own connection; every
    operation is a single statement in autocommit mode, so it is atomic across processes.
    """

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the limits library's declaration)

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        """Open (or create) the file named by ``uri``."""
        self.path = uri.removeprefix(f"{SCHEME}:///")
        self.busy_timeout_ms = int(options.get("busy_timeout_ms", 5000))
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._connection()  # fail at start-up, not on the first upload

    @property
    def base_exceptions(self) -> type[Exception]:
        """What this storage raises (Flask-Limiter swallows them when configured to)."""
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=OFF")  # counters: losing the last second is fine
            con.execute(
                "CREATE TABLE IF NOT EXISTS counters ("
                "key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)"
            )
            self._local.con = con
        return con

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter, starting a new window of ``expiry`` s if it expired."""
        now = time.time()
        con = self._connection()
        (value,) = con.execute(
            "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET "
            "value = CASE WHEN counters.expires_at <= ? THEN excluded.value "
            "ELSE counters.value + excluded.value END, "
            "expires_at = CASE WHEN counters.expires_at <= ? THEN excluded.expires_at "
            "ELSE counters.expires_at END "
            "RETURNING value",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        if random.random() < 0.01:  # now and then, forget windows long gone
            con.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        return int(value)

    def get(self, key: str) -> int:
        """The counter's value in its current window (0 when expired or absent)."""
        row = (
            self._connection()
            .execute(
                "SELECT value FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the counter's window ends (a UNIX time; now when there is none)."""
        row = (
            self._connection()
            .execute("SELECT expires_at FROM counters WHERE key = ?", (key,))
            .fetchone()
        )
        return float(row[0]) if row and row[0] > time.time() else time.time()

    def check(self) -> bool:
        """True when the file answers."""
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Forget one counter."""
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
