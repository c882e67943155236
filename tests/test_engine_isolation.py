"""The engine stays free of the web stack, and light modules stay free of torch."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(out.stdout.split())


def test_engine_import_leaves_flask_and_sqlalchemy_out() -> None:
    mods = _modules_after(
        "import deepfake_web.detection\nfrom deepfake_web.detection import Detector"
    )
    assert "deepfake_web.detection.detector" in mods  # the import really happened
    assert "flask" not in mods
    assert "sqlalchemy" not in mods
    assert "flask_sqlalchemy" not in mods


def test_media_and_models_folder_do_not_import_torch() -> None:
    mods = _modules_after(
        "from deepfake_web.detection import media, models_folder\n"
        "from deepfake_web.detection.models_folder import ModelsFolder\n"
        "ModelsFolder('.').checkpoints()"
    )
    assert "deepfake_web.detection.models_folder" in mods
    assert "torch" not in mods
