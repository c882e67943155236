"""deepfake-web: deepfake video detection for research labs.

Five rooms, each a sub-package: ``detection`` (the engine, usable from Python on its own),
``training`` (making checkpoints), ``web`` (the Flask app), ``jobs`` (the queue and the
analysis worker) and ``cli`` (every command). :func:`create_app` is imported lazily, so that
importing the engine never pulls Flask in.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Any:
    """Create and configure the Flask application (see :mod:`deepfake_web.web.app`)."""
    from .web.app import create_app as _create_app

    return _create_app(test_config)
