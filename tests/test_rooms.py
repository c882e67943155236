"""The five rooms and the rules between them.

Read from the source (:mod:`tests.import_graph`: imports inside functions count, those
under ``if TYPE_CHECKING:`` do not), then checked at run time in fresh interpreters:

* the engine (``detection``) imports no other room and none of Flask, SQLAlchemy, huey, click;
* training imports no click and none of the web stack;
* nothing the web room imports, directly or through other modules, imports torch;
* the shared leaf modules (``paths``, ``files``) import nothing of the project;
* no module imports another in a circle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories.media import ROOT, write_tiny_published
from tests.factories.web import make_app
from tests.import_graph import Graph, read_graph

PACKAGE = ROOT / "deepfake_web"
ROOMS = ("detection", "training", "web", "jobs", "cli")
LEAVES = ("deepfake_web.paths", "deepfake_web.files")
WEB_STACK = {"flask", "flask_sqlalchemy", "flask_wtf", "flask_migrate", "sqlalchemy", "werkzeug"}
TORCH = {"torch", "torchvision"}


def room(module: str) -> str | None:
    """The room a module belongs to (None for the package root and the leaf modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else None


def violations(graph: Graph) -> list[str]:
    """Every broken rule, as a sentence naming the modules involved."""
    out: list[str] = []
    pkg = graph.package
    for mod, imports in sorted(graph.internal.items()):
        here = room(mod)
        others = {room(m) for m in imports} - {here, None}
        outside = graph.external[mod]
        if mod in {f"{pkg}.{leaf.split('.')[-1]}" for leaf in LEAVES} and imports - {pkg}:
            out.append(f"{mod} is a leaf module but imports {sorted(imports)}")
        if here == "detection":
            if others:
                out.append(f"{mod} (engine) imports the {sorted(others)} room(s)")
            if bad := outside & (WEB_STACK | {"huey", "click"}):
                out.append(f"{mod} (engine) imports {sorted(bad)}")
        if here == "training":
            if bad := others - {"detection"}:
                out.append(f"{mod} (training) imports the {sorted(bad)} room(s)")
            if bad := outside & (WEB_STACK | {"huey", "click"}):
                out.append(f"{mod} (training) imports {sorted(bad)}")
        if here == "jobs" and "click" in outside:
            out.append(f"{mod} (jobs) imports click")
        if here == "web":
            for name in sorted(TORCH & set(graph.externals_reached(mod))):
                chain = " -> ".join(graph.path(mod, name))
                out.append(f"{mod} (web) reaches {name}: {chain}")
    out.extend(f"import cycle: {' -> '.join(c)}" for c in graph.cycles())
    return out


def test_the_package_has_five_rooms() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert folders == sorted(ROOMS)


def test_the_rooms_keep_their_rules() -> None:
    assert violations(read_graph(PACKAGE)) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "deepfake_web"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # torch two steps away from a view, imported inside a function
            {
                "web/views.py": "from deepfake_web.detection import helper\n",
                "detection/helper.py": "def f():\n    import torch\n",
            },
            "deepfake_web.web.views (web) reaches torch: deepfake_web.web.views -> "
            "deepfake_web.detection.helper -> torch",
        ),
        (
            {"detection/engine.py": "from ..web import app\n", "web/app.py": ""},
            "deepfake_web.detection.engine (engine) imports the ['web'] room(s)",
        ),
        (
            {"jobs/a.py": "from . import b\n", "jobs/b.py": "def f():\n    from . import a\n"},
            "import cycle: deepfake_web.jobs.a -> deepfake_web.jobs.b",
        ),
        (
            {"training/cmd.py": "import click\n"},
            "deepfake_web.training.cmd (training) imports ['click']",
        ),
    ],
)
def test_the_rule_check_catches_what_it_must(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    assert expected in violations(read_graph(_tree(tmp_path, files)))


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
    assert violations(read_graph(_tree(tmp_path, {"web/views.py": text}))) == []


# --- the same at run time, in fresh interpreters ------------------------------------------


def _modules_after(code: str) -> set[str]:
    code += "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_the_engine_loads_without_the_web_stack() -> None:
    mods = _modules_after("from deepfake_web.detection import Detector\nDetector")
    assert "deepfake_web.detection.detector" in mods  # the import really happened
    assert not mods & {"flask", "sqlalchemy", "flask_sqlalchemy", "huey", "click"}


def test_media_and_models_folder_do_not_import_torch() -> None:
    mods = _modules_after(
        "from deepfake_web.detection.models_folder import ModelsFolder\n"
        "from deepfake_web.detection import media\n"
        "ModelsFolder('.').checkpoints()"
    )
    assert "deepfake_web.detection.models_folder" in mods
    assert "torch" not in mods


def test_the_web_process_never_imports_torch(tmp_path: Path, video_bytes: bytes) -> None:
    script = f"""
import io, sys
from pathlib import Path
from tests.factories.web import make_app
app = make_app(Path({str(tmp_path)!r}))
Path(app.config["MODELS_DIR"], "model_90_acc_20_frames_x_data.pt").write_bytes(
    Path({str(tmp_path / "ck.pt")!r}).read_bytes())
c = app.test_client()
data = Path({str(tmp_path / "v.mp4")!r}).read_bytes()
assert c.get("/").status_code == 200
r = c.post("/api/analyses", data={{"file": (io.BytesIO(data), "v.mp4"), "sequence_length": "20"}})
assert r.status_code == 202, r.json
assert c.get(r.json["result_url"]).status_code == 200
assert c.get("/history").status_code == 200 and c.get("/api/models").status_code == 200
print("torch" in sys.modules, "deepfake_web.detection.detector" in sys.modules)
"""
    write_tiny_published(tmp_path / "ck.pt")
    (tmp_path / "v.mp4").write_bytes(video_bytes)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_the_web_app_builds_without_a_worker(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    assert set(app.blueprints) == {
        "upload", "results", "history", "cards", "api", "auth", "account", "admin",
    }  # fmt: skip
