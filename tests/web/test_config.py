"""Configuration layers, the secret key, SQLite settings and migrations."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from deepfake_web import create_app
from deepfake_web.web.database import immediate
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis
from tests.factories.web import make_app

# --- configuration and database -----------------------------------------------------


def test_config_layers_defaults_instance_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text("QUEUE_LIMIT = 7\nHISTORY_PER_PAGE = 3\n")
    monkeypatch.setenv("DEEPFAKE_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("DEEPFAKE_MAX_CONTENT_LENGTH", "1048576")
    monkeypatch.setenv("DEEPFAKE_HISTORY_PER_PAGE", "9")
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["QUEUE_LIMIT"] == 7  # instance/config.py over the default (20)
    assert app.config["HISTORY_PER_PAGE"] == 9  # environment over instance/config.py
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["MODELS_DIR"] == str(tmp_path / "m")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'deepfake.db'}"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    a = make_app(tmp_path, SECRET_KEY=None)
    key_file = Path(a.instance_path) / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(a.config["SECRET_KEY"]) == 64
    b = make_app(tmp_path, SECRET_KEY=None)
    assert b.config["SECRET_KEY"] == a.config["SECRET_KEY"]


@pytest.mark.sqlite_only
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app) -> None:
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_migrations_create_the_schema_from_an_empty_database(app, runner) -> None:
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"analysis", "alembic_version"} <= tables
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    heads = [p.name.split("_", 1)[0] for p in Path("migrations/versions").glob("*.py")]
    assert version in heads
    assert runner.invoke(args=["db", "check"]).exit_code == 0  # models and migrations agree


@pytest.mark.sqlite_only
def test_immediate_transactions_survive_concurrent_read_then_write(app) -> None:
    with app.app_context():
        row = Analysis(original_name="x", stored_name="x.mp4", sha256="0" * 64, size_bytes=1,
                       media_kind="video", sequence_length=1, attempts=0)  # fmt: skip
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    errors: list[Exception] = []

    def bump() -> None:
        with app.app_context():
            for _ in range(25):
                try:
                    with immediate():
                        r = db.session.get(Analysis, row_id)
                        r.attempts = r.attempts + 1
                except Exception as exc:  # the test counts them
                    errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert db.session.get(Analysis, row_id).attempts == 200  # no lost update
