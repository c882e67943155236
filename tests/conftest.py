"""Shared fixtures: random-weight checkpoints, generated media, and the Flask app.

Factories the tests share (media, training trees, the app and its requests) live in
``tests/factories/``; tests mirror the rooms (``tests/detection/``, ``tests/web/`` ...).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite is deterministic: the backbone runs in PyTorch fp32 unless a test asks for another
# runtime, and runtime choices and converted models go to a folder of this run (set before
# the engine is imported; subprocesses inherit both).
os.environ["DEEPFAKE_PRECISION"] = "fp32"
os.environ["DEEPFAKE_CACHE_DIR"] = tempfile.mkdtemp(prefix="deepfake-web-cache-")
atexit.register(shutil.rmtree, os.environ["DEEPFAKE_CACHE_DIR"], ignore_errors=True)

from tests.factories import backends  # noqa: E402
from tests.factories.media import NO_MEDIA_REASON, SHARED_MEDIA, plain_frames, write_video  # noqa: E402
from tests.factories.training import Pipeline, train_synthetic  # noqa: E402
from tests.factories.web import make_app  # noqa: E402

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--backends``: the database + queue back ends the web and jobs tests run on."""
    parser.addoption(
        "--backends",
        default=os.environ.get("DEEPFAKE_TEST_BACKENDS", ",".join(backends.BACKENDS)),
        help="comma-separated: sqlite (files, no server), postgresql (PostgreSQL + Redis, "
        "started for the run); default both, or $DEEPFAKE_TEST_BACKENDS",
    )


def _selected_backends(config: pytest.Config) -> list[str]:
    names = [n.strip() for n in config.getoption("--backends").split(",") if n.strip()]
    unknown = set(names) - set(backends.BACKENDS)
    if unknown:
        raise pytest.UsageError(f"--backends: unknown {sorted(unknown)}; use {backends.BACKENDS}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the app (or ``backend``) once per selected back end.

    Tests marked ``sqlite_only`` check SQLite's own file handling and run on SQLite only.
    """
    if "backend" not in metafunc.fixturenames:
        return
    names = _selected_backends(metafunc.config)
    if metafunc.definition.get_closest_marker("sqlite_only"):
        names = [n for n in names if n == "sqlite"]
    metafunc.parametrize("backend", names, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``media`` when ../shared/media is absent, saying why."""
    if SHARED_MEDIA.is_dir():
        return
    skip = pytest.mark.skip(reason=NO_MEDIA_REASON)
    for item in items:
        if "media" in item.keywords:
            item.add_marker(skip)


def _random_published(path: Path, seed: int) -> Path:
    """A published-format checkpoint with random weights whose head separates frames clearly.

    A freshly initialised head gives p ≈ 0.5 for every frame, which would make comparisons
    at 1e-4 meaningless; scaling the head spreads the probabilities over (0, 1).
    """
    import torch

    from deepfake_web.detection.network import PublishedNet

    torch.manual_seed(seed)
    net = PublishedNet()
    with torch.no_grad():
        net.linear1.weight.mul_(4000.0)
        net.lstm.weight_ih_l0.mul_(4.0)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A checkpoint trained, calibrated and evaluated on the synthetic set (needs media)."""
    if not SHARED_MEDIA.is_dir():
        pytest.skip(NO_MEDIA_REASON)
    return train_synthetic(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="session")
def published_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 226 MB random-weight checkpoint in the published format, named for 20 frames."""
    folder = tmp_path_factory.mktemp("published")
    return _random_published(folder / "model_90_acc_20_frames_test_data.pt", seed=1)


@pytest.fixture(scope="session")
def own_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight checkpoint in this project's format (10 frames, RGB, margin 0.2)."""
    import torch

    from deepfake_web.detection.checkpoints import save_checkpoint
    from deepfake_web.detection.network import Architecture, TemporalNet
    from deepfake_web.detection.preprocess import Preprocessing

    torch.manual_seed(2)
    arch = Architecture(hidden_size=32, num_layers=2, bidirectional=True, pooling="mean")
    net = TemporalNet(arch)
    meta = {
        "sequence_length": 10,
        "preprocessing": Preprocessing(channel_order="RGB", crop_margin=0.2).to_dict(),
        "decision": {"threshold": 0.6, "uncertain_margin": 0.05},
        "metrics": {"accuracy": 0.75, "auc": 0.8, "data": "test split of a test set"},
        "training_data": "none (test fixture)",
        "created": "2026-01-01T00:00:00+00:00",
    }
    folder = tmp_path_factory.mktemp("own")
    return save_checkpoint(folder / "model_75_acc_10_frames_fixture_data.pt", net, meta, arch)


@pytest.fixture(scope="session")
def models_dir(published_checkpoint: Path) -> Path:
    """A models folder holding the random published checkpoint."""
    return published_checkpoint.parent


# --- the web application ----------------------------------------------------------


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest) -> Iterator[backends.Servers]:
    """PostgreSQL and Redis for the whole run, in temporary folders on free ports."""
    if "postgresql" not in _selected_backends(request.config):
        pytest.skip("the postgresql back end is not selected (--backends)")
    if not backends.servers_installed():
        if os.environ.get("CI"):
            pytest.fail(backends.MISSING)
        pytest.skip(backends.MISSING)
    postgres = backends.Postgres.start()
    try:
        redis = backends.Redis.start()
    except BaseException:
        postgres.stop()
        raise
    both = backends.Servers(postgres, redis)
    yield both
    both.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The back end this test runs on (parametrised by ``--backends``)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def backend_config(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Database and queue settings of ``backend`` for make_app (SQLite: its defaults)."""
    if backend == "sqlite":
        return {}
    database_url, queue_url = request.getfixturevalue("servers").fresh()
    return {"DATABASE_URL": database_url, "QUEUE_URL": queue_url}


@pytest.fixture
def app(tmp_path: Path, backend_config: dict[str, str]) -> Iterator:
    """The app with a (tiny, structurally valid) published checkpoint for 20 frames."""
    from tests.factories.media import write_tiny_published
    from tests.factories.web import dispose

    app = make_app(tmp_path, **backend_config)
    write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_test_data.pt")
    yield app
    dispose(app)


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of ``app`` (``flask`` commands)."""
    return app.test_cli_runner()


@pytest.fixture
def video_bytes(tmp_path: Path) -> bytes:
    """A 30-frame face-free test clip (MP4)."""
    return write_video(tmp_path / "clip.mp4", plain_frames(30)).read_bytes()
