"""The Flask application factory (the shape of Flask's tutorial app)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from .settings import PROJECT_ROOT, default_instance_path


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: config, database, queue, security headers, error pages, blueprints."""
    from . import api, database, errors, filters, history, results, security, tasks, upload
    from .config import configure
    from .extensions import csrf, db, migrate

    instance = (test_config or {}).get("INSTANCE_PATH") or default_instance_path()
    app = Flask(
        __name__,
        instance_path=str(instance.resolve() if hasattr(instance, "resolve") else instance),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    tasks.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    filters.init_app(app)

    app.register_blueprint(upload.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(api.bp)
    return app
