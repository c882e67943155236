"""SQLite set-up for every connection, and immediate transactions for read-then-write work.

Each connection gets WAL journaling (readers never block the writer), a busy timeout and
foreign keys. Python's sqlite3 module is told not to open transactions itself, so that
SQLAlchemy's ``BEGIN`` can be ``BEGIN IMMEDIATE`` where a transaction reads and then writes:
that takes the write lock up front, instead of failing with "database is locked" when two
such transactions race.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from .extensions import db

_BEGIN_OPTION = "sqlite_begin"


def init_app(app: Flask) -> None:
    """Attach the SQLite connection settings to the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, int(app.config["SQLITE_BUSY_TIMEOUT_MS"]))


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
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
