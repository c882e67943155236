"""Where things live by default: the project folder, ``models/``, ``instance/`` and the cache.

Each can be moved without editing files: ``DEEPFAKE_MODELS_DIR``,
``DEEPFAKE_INSTANCE_PATH`` and ``DEEPFAKE_CACHE_DIR`` (runtime choices, converted models).
A leaf module (it imports nothing of the project), shared by the rooms.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_models_dir() -> Path:
    """``$DEEPFAKE_MODELS_DIR``, else ``models/`` in the project folder."""
    return Path(os.environ.get("DEEPFAKE_MODELS_DIR") or PROJECT_ROOT / "models")


def default_instance_path() -> Path:
    """``$DEEPFAKE_INSTANCE_PATH``, else ``instance/`` in the project folder."""
    return Path(os.environ.get("DEEPFAKE_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def default_cache_dir() -> Path:
    """``$DEEPFAKE_CACHE_DIR``, else ``deepfake-web`` in the user's cache folder (XDG)."""
    explicit = os.environ.get("DEEPFAKE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepfake-web"
