"""Where things live by default: the project folder, ``models/`` and ``instance/``.

Both can be moved without editing files: ``DEEPFAKE_MODELS_DIR`` and
``DEEPFAKE_INSTANCE_PATH``. A leaf module (it imports nothing of the project), shared by the
rooms.
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
