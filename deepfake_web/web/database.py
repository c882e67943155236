"""SQLite set-up for every connection, immediate transactions, retries, and the file's identity.

Each connection gets WAL journaling (readers never block the writer), a busy timeout and
foreign keys. Python's sqlite3 module is told not to open transactions itself, so that
SQLAlchemy's ``BEGIN`` can be ``BEGIN IMMEDIATE`` where a transaction will write: that takes
the write lock up front, instead of failing with "database is locked" when a read
transaction tries to become a write transaction after another writer committed (the busy
timeout cannot help there). :func:`retrying` runs a unit of work again, with backoff, when
SQLite still answers "locked" (the worker wraps every write in it).

The database file is checked at start-up and before every transaction (its inode and its
SQLite header): a file deleted or replaced under the running app stops every request with
a 503 and an error in the log, instead of writes going silently into an unlinked file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from flask import Flask
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from .errors import DatabaseUnavailableError, is_locked
from .extensions import db

log = logging.getLogger(__name__)

_BEGIN_OPTION = "sqlite_begin"
SQLITE_HEADER = b"SQLite format 3\x00"
T = TypeVar("T")


def init_app(app: Flask) -> None:
    """Attach the SQLite connection settings and the file check to the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        guard = DatabaseFile(Path(engine.url.database))
        guard.check_at_startup(Path(app.config["UPLOAD_DIR"]))
        app.extensions["deepfake_database_file"] = guard
    else:
        guard = None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, int(app.config["SQLITE_BUSY_TIMEOUT_MS"]), guard)


class DatabaseFile:
    """The SQLite file this app started with: its inode, checked again before each transaction.

    The identity is taken the first time the file exists (at start-up, or right after
    ``flask db upgrade`` created it); from then on a missing file, another inode or a
    header that is not SQLite's raises :class:`DatabaseUnavailableError`.
    """

    def __init__(self, path: Path) -> None:
        """Remember the path; the identity is read when the file first exists."""
        self.path = path
        self._identity: tuple[int, int] | None = None
        self._fd: int | None = None  # kept open: see check()
        self._lock = threading.Lock()
        self._reported = False

    def check_at_startup(self, upload_dir: Path) -> None:
        """Refuse a file that is not SQLite; say loudly when uploads exist but the database not."""
        if self.path.exists():
            self.check()
            return
        stored = [p for p in upload_dir.glob("*") if p.is_file()] if upload_dir.is_dir() else []
        if stored:
            log.error(
                "the database %s does not exist but %s holds %d stored uploads: it was deleted "
                "or moved. Restore it from a backup; a new, empty database will be created.",
                self.path, upload_dir, len(stored),
            )  # fmt: skip

    def check(self) -> None:
        """Raise DatabaseUnavailableError when the file is gone, replaced or not SQLite."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._identity is None:
                return  # not created yet (a first start, before the migrations)
            self._fail("was deleted")
        identity = (st.st_dev, st.st_ino)
        with self._lock:
            if self._identity is None:
                self._identity = identity
                # One descriptor for the life of the process, never closed: closing any
                # descriptor of the file drops every POSIX lock this process holds on it,
                # SQLite's included, and another process closing its last connection would
                # then delete the WAL this process still writes to (its commits lost).
                self._fd = os.open(self.path, os.O_RDONLY)
        if identity != self._identity:
            self._fail("was replaced by another file")
        if st.st_size > 0 and self._fd is not None:
            header = os.pread(self._fd, len(SQLITE_HEADER), 0)  # the same inode (checked above)
            if header != SQLITE_HEADER:
                self._fail("is not an SQLite database (its header is wrong)")

    def _fail(self, what: str) -> None:
        if not self._reported:  # once per process, loudly; every request still gets the 503
            self._reported = True
            log.error(
                "DATABASE FILE %s %s while the app was running. Nothing more is written; "
                "restore the database from a backup and restart the app.",
                self.path, what,
            )  # fmt: skip
        raise DatabaseUnavailableError(
            f"The database file {what} while the server was running, so nothing can be "
            "stored or read. The server's log has the details; an administrator must restore "
            "it and restart the app."
        )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, guard: DatabaseFile | None) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        if guard is not None:
            guard.check()
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def immediate(session: Session | None = None) -> Iterator[Session]:
    """A transaction that takes SQLite's write lock at BEGIN; commits on success.

    Any transaction the session had open (reads) is committed first, so that the new one
    starts with ``BEGIN IMMEDIATE``.
    """
    session = session or db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def serialised(name: str, session: Session | None = None) -> None:
    """Make the current write transaction the only one at a time that passes here.

    PostgreSQL: a transaction-level advisory lock on ``name`` (released at commit or
    rollback), so a check-then-insert such as the queue limit is not raced by another
    process. SQLite: nothing to do, an immediate transaction already holds the only write
    lock.
    """
    session = session or db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def retrying(
    work: Callable[[], T],
    what: str,
    attempts: int = 8,
    first_delay_s: float = 0.05,
    max_delay_s: float = 2.0,
    retry_on: Callable[[BaseException], bool] = is_locked,
) -> T:
    """Run ``work`` (one short transaction) again with backoff while SQLite says "locked".

    The session is rolled back between attempts; the last error is raised when every
    attempt failed. Other errors are raised at once.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            db.session.rollback()
            if attempt == attempts or not retry_on(exc):
                raise
            reason = getattr(exc, "orig", None) or exc  # e.g. "database is locked"
            log.warning("%s: %s; trying again (%d/%d)", what, reason, attempt, attempts)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")  # pragma: no cover
