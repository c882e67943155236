"""deepfake-web: deepfake video detection for research labs.

The engine lives in :mod:`deepfake_web.detection` (no Flask); the web application is built
by :func:`create_app` (imported lazily so that the engine never pulls Flask in).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Any:
    """Create and configure the Flask application (see :mod:`deepfake_web.app`)."""
    from .app import create_app as _create_app

    return _create_app(test_config)
