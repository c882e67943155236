"""PostgreSQL and Redis servers started for the test run, from Debian's packages.

Each runs in a temporary folder on a free port and is stopped at the end of the run; no
Docker, no system service. ``initdb`` refuses to run as root, so as root the cluster is
made and run by Debian's ``postgres`` user (``runuser``). The web and jobs tests run on
each back end named by ``--backends`` (``sqlite``, ``postgresql``: PostgreSQL + Redis).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.factories.server import free_port

BACKENDS = ("sqlite", "postgresql")
"""``sqlite``: SQLite files, no server (the default install); ``postgresql``: PostgreSQL +
Redis, as a lab that scales out runs it."""

MISSING = (
    "PostgreSQL and redis-server are not installed (scripts/setup --dev installs Debian's "
    "`postgresql` and `redis-server`)"
)


def _pg_bin(name: str) -> str | None:
    """Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def servers_installed() -> bool:
    """True when initdb, pg_ctl and redis-server can be run."""
    return all(_pg_bin(n) for n in ("initdb", "pg_ctl")) and bool(shutil.which("redis-server"))


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@dataclass
class Postgres:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1:``port``."""

    root: Path
    port: int
    owner: str | None  # the system user that runs it (root may not)

    @classmethod
    def start(cls) -> Postgres:
        """initdb a new cluster and start it (trust authentication, local connections only)."""
        owner = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="deepfake-pg-"))
        if owner:
            os.chown(root, pwd.getpwnam(owner).pw_uid, -1)
        server = cls(root, free_port(), owner)
        data = root / "data"
        subprocess.run(
            _as_owner([_pg_bin("initdb"), "-D", str(data), "-U", "deepfake", "-A", "trust",
                       "-E", "UTF8", "--no-sync"], owner),
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_owner([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
                       "-w", "-t", "60", "start"], owner),
            check=True, capture_output=True,
        )  # fmt: skip
        return server

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3)."""
        return f"postgresql+psycopg://deepfake@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE DATABASE, DROP SCHEMA ...)."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=deepfake dbname={database}", autocommit=True
        ) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        """Stop the cluster at once and remove its folder."""
        subprocess.run(
            _as_owner([_pg_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                       "stop"], self.owner),
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis:
    """A redis-server in a temporary folder, listening on 127.0.0.1:``port``."""

    root: Path
    port: int
    proc: subprocess.Popen | None = None

    @classmethod
    def start(cls, root: Path | None = None, port: int | None = None) -> Redis:
        """Start redis-server (append-only file on, as the README's deployment asks)."""
        server = cls(root or Path(tempfile.mkdtemp(prefix="deepfake-redis-")), port or free_port())
        server.run()
        return server

    def run(self) -> None:
        """Start (or start again) the server on the same folder and port; wait for PONG."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.root), "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if self.client().ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self, db: int = 0):
        """A redis-py client of database ``db``."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def url(self, db: int = 0) -> str:
        """The queue URL of database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def kill(self) -> None:
        """Stop the server the hard way (kill -9); what it had not written to disk is lost."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Servers:
    """The PostgreSQL and Redis servers of one test run."""

    postgres: Postgres
    redis: Redis

    def fresh(self) -> tuple[str, str]:
        """An empty database schema and an empty queue; their URLs (one test at a time)."""
        self.postgres.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        self.redis.client().flushdb()
        return self.postgres.url(), self.redis.url()

    def stop(self) -> None:
        """Stop both servers."""
        self.redis.stop()
        self.postgres.stop()
