"""The Flask application factory, in the shape of Flask's tutorial app.

``create_app`` reads the configuration, then registers the extensions, the blueprints, the
error handlers and the template helpers, each in a ``register_*`` function of its own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from deepfake_web.jobs import queue
from deepfake_web.paths import PROJECT_ROOT, default_instance_path

from . import database, errors, filters, ratelimit, retention, security, storage, visibility
from .account.views import bp as account_bp
from .admin.views import bp as admin_bp
from .api.views import bp as api_bp
from .auth import access, login
from .auth.views import bp as auth_bp
from .cards.views import bp as cards_bp
from .config import configure
from .extensions import csrf, db, limiter, migrate
from .history.views import bp as history_bp
from .results.views import bp as results_bp
from .upload.views import bp as upload_bp

BLUEPRINTS = (
    upload_bp, results_bp, history_bp, cards_bp, api_bp, auth_bp, account_bp, admin_bp,
)  # fmt: skip


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app (``test_config`` replaces the instance file and env)."""
    instance = (test_config or {}).get("INSTANCE_PATH") or default_instance_path()
    app = Flask(
        "deepfake_web",
        instance_path=str(Path(instance).resolve()),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def register_logging(app: Flask) -> None:
    """Log INFO and above to stderr unless the host process set logging up already."""
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def register_extensions(app: Flask) -> None:
    """Database (with its SQLite settings and file check), migrations, CSRF protection,
    accounts (Flask-Login) and the access rules, rate limits (behind trusted proxies only)
    and the task queue."""
    ratelimit.trust_proxies(app)
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login.init_app(app)
    access.init_app(app)
    limiter.init_app(app)
    queue.init_app(app)


def register_blueprints(app: Flask) -> None:
    """The upload, results, history, model cards, API, sign-in, account and admin blueprints."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the site's layout (JSON for the API) and security headers."""
    errors.init_app(app)
    security.init_app(app)


def register_template_helpers(app: Flask) -> None:
    """Jinja filters, the preview-name helper, who may delete, when a file is removed."""
    filters.init_app(app)
    app.add_template_global(storage.preview_name)
    app.add_template_global(visibility.may_delete)
    app.add_template_global(retention.removal_time, "file_removal_time")
