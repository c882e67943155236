"""The app on a fresh instance folder, and the requests and reads the web and jobs tests share."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis


def make_app(tmp_path: Path, **overrides) -> Flask:
    """A test app on a fresh instance folder, migrated from an empty database."""
    from flask_migrate import upgrade

    from deepfake_web import create_app

    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "WTF_CSRF_ENABLED": False,
        "INSTANCE_PATH": tmp_path / "instance",
        "MODELS_DIR": str(models),
        "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        **overrides,
    }
    app = create_app(config)
    with app.app_context():
        upgrade()
    return app


def dispose(app: Flask) -> None:
    """Close the app's database connections (a server database is reset for the next test)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def post_api(client, data: bytes, name: str = "clip.mp4", frames: str = "20", **extra):
    """Upload ``data`` through the JSON API."""
    form = {"file": (io.BytesIO(data), name), "sequence_length": frames, **extra}
    return client.post("/api/analyses", data=form, content_type="multipart/form-data")


def post_form(client, data: bytes, name: str = "clip.mp4", frames: str = "20", **extra):
    """Upload ``data`` through the page's form (the no-JavaScript path)."""
    form = {
        "file": (io.BytesIO(data), name),
        "sequence_length": frames,
        "mode": "standard",
        **extra,
    }
    return client.post("/", data=form, content_type="multipart/form-data")


def rows(app: Flask) -> list[Analysis]:
    """Every analysis row."""
    with app.app_context():
        return list(db.session.scalars(db.select(Analysis)))


def stored_files(app: Flask) -> list[Path]:
    """Every file under the upload folder."""
    upload_dir = Path(app.config["UPLOAD_DIR"])
    return [p for p in upload_dir.rglob("*") if p.is_file()] if upload_dir.exists() else []


def run_job(app: Flask, analysis_id: str) -> Analysis:
    """Run one queued analysis with the worker's code, in this process; return its row."""
    from deepfake_web.jobs import worker

    worker.run_analysis(app, analysis_id)
    with app.app_context():
        return db.session.get(Analysis, analysis_id)


def drain_queue() -> None:
    """Empty the task queue (as if a worker had taken everything)."""
    from deepfake_web.jobs import queue

    while queue.huey.dequeue() is not None:
        pass


PASSWORD = "correct horse battery"


def make_accounts_app(tmp_path: Path, **overrides) -> Flask:
    """A test app with accounts (``AUTH=accounts``) and a demo checkpoint for 20 frames."""
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path, AUTH="accounts", **overrides)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    return app


def add_account(app: Flask, name: str, admin: bool = False, password: str = PASSWORD) -> int:
    """Create an account directly; returns its id."""
    from deepfake_web.web.accounts import add_user

    with app.app_context():
        return add_user(name, password, admin).id


def log_in(client, name: str, password: str = PASSWORD, **environ):
    """Post the login form (CSRF checks off, as in the other web tests)."""
    data = {"name": name, "password": password, "next": "/"}
    return client.post("/login", data=data, environ_base=environ or {})
