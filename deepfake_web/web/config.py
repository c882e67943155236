"""Configuration: defaults, then ``instance/config.py``, then ``DEEPFAKE_*`` environment variables.

Any key below can be set in the environment with the ``DEEPFAKE_`` prefix, for example
``DEEPFAKE_MAX_CONTENT_LENGTH=104857600`` (values are parsed as JSON when they can be).
``DEEPFAKE_INSTANCE_PATH`` and ``DEEPFAKE_MODELS_DIR`` move the data and the checkpoints;
``DEEPFAKE_STORAGE_PATH`` moves the uploads and previews (a shared mount), and
``DEEPFAKE_DATABASE_URL`` / ``DEEPFAKE_QUEUE_URL`` the database and the queue.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from deepfake_web.detection.config import DetectorConfig, FaceConfig
from deepfake_web.detection.media import MediaLimits
from deepfake_web.files import temporary_name
from deepfake_web.paths import default_models_dir

log = logging.getLogger(__name__)

_ENGINE = DetectorConfig()  # the engine's own defaults, so that they are stated once

DEFAULTS: dict[str, Any] = {
    # Uploads: 200 MB (match nginx's client_max_body_size when proxied).
    "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
    # Checkpoints folder; None means $DEEPFAKE_MODELS_DIR, else the project's models/.
    "MODELS_DIR": None,
    # Uploads and previews (uploads/, previews/): a folder every machine mounts (NFS...)
    # when workers run elsewhere; None means the instance folder.
    "STORAGE_PATH": None,
    # Database and queue; None means SQLite files in the instance folder. A lab that scales
    # out sets DATABASE_URL=postgresql://user@host/db (psycopg 3) and QUEUE_URL=redis://host.
    "DATABASE_URL": None,
    "SQLALCHEMY_DATABASE_URI": None,  # set from DATABASE_URL; not to be set by hand
    "QUEUE_URL": None,
    "SQLITE_BUSY_TIMEOUT_MS": 10_000,
    # Background analyses.
    "QUEUE_LIMIT": 20,  # queued + running analyses before uploads get "busy, try later"
    "QUEUE_LIMIT_PER_CLIENT": 10,  # of those, how many one client may hold (None: no share)
    "ANALYSIS_MAX_ATTEMPTS": 2,  # a worker crash is retried once, then marked failed
    "HEARTBEAT_INTERVAL_S": 10,
    "HEARTBEAT_STALE_S": 120,  # a running analysis silent for this long is recovered
    "HEARTBEAT_MISSED": 3,  # a worker that missed this many heartbeats in a row is dead
    "RECOVERY_INTERVAL_S": 60,  # how often each worker looks for dead workers' analyses
    "QUEUE_LOST_AFTER_S": 30,  # a queued analysis missing from the queue this long is re-sent
    "WORKER_THREADS": 1,
    "DEVICE": _ENGINE.device,
    "PRECISION": _ENGINE.precision,
    "BATCH_SIZE": _ENGINE.batch_size,
    "FACE_WORKERS": _ENGINE.face_workers,
    # A face followed through at least this share of the sampled frames is a person, scored
    # on their own (standard mode); fewer sightings are passers-by or false faces.
    "PERSON_MIN_SHARE": _ENGINE.faces.person_min_share,
    # Engine limits (checked on upload, before anything is queued).
    "MAX_VIDEO_WIDTH": _ENGINE.limits.max_width,
    "MAX_VIDEO_HEIGHT": _ENGINE.limits.max_height,
    "MAX_VIDEO_SECONDS": _ENGINE.limits.max_duration_s,
    "MAX_VIDEO_FRAMES": _ENGINE.limits.max_frames,
    "MAX_SEQUENCE_LENGTH": 300,
    # Pages.
    "HISTORY_PER_PAGE": 25,
    # Access token: when set, nothing changes state without it (Bearer header for scripts,
    # the sign-in page for browsers); reading stays open. None: anyone may change things.
    "API_TOKEN": None,
    # Who is who: "single" (one person, no accounts: the default) or "accounts" (sign-in
    # with a name and password; roles, private analyses, tokens per user). See accounts.py.
    "AUTH": "single",
    "SHARE_WITH_LAB_DEFAULT": False,  # accounts: a new analysis is shared with the lab
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,  # a signed-in session ends after 12 h idle
    "LOGIN_ACCOUNT_RATE_LIMIT": "5 per minute;30 per hour",  # failed logins, per account
    # Uploaded files are removed this many days after upload (the result, previews and
    # report stay); None keeps them until their analysis is deleted. See retention.py.
    "RETENTION_DAYS": None,
    # Per-client fairness (a client is its address; see TRUSTED_PROXIES).
    "UPLOAD_RATE_LIMIT": "30 per minute;300 per hour",  # uploads and re-runs, per client
    "SIGN_IN_RATE_LIMIT": "10 per minute",  # sign-in and login attempts, per client
    "RATELIMIT_STORAGE_URI": None,  # None: sqlite in the instance folder; or redis://host
    "RATELIMIT_HEADERS_ENABLED": True,  # X-RateLimit-* and Retry-After
    "RATELIMIT_SWALLOW_ERRORS": True,  # a broken counter store must not refuse uploads
    # Proxies in front of gunicorn whose X-Forwarded-For/-Proto are honoured (nginx: 1).
    "TRUSTED_PROXIES": 0,
    # Uploads in transit left by a killed process are removed when older than this (and
    # their process is gone), or older than INCOMING_MAX_AGE_S whatever their process.
    "INCOMING_GRACE_S": 300,
    "INCOMING_MAX_AGE_S": 6 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
}


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Load the configuration into ``app`` and fill the paths that depend on the instance folder."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("DEEPFAKE")
    else:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    cfg = app.config
    if not cfg.get("MODELS_DIR"):
        cfg["MODELS_DIR"] = str(default_models_dir())
    storage = Path(cfg["STORAGE_PATH"] or instance)
    cfg.setdefault("UPLOAD_DIR", str(storage / "uploads"))
    cfg.setdefault("PREVIEW_DIR", str(storage / "previews"))
    if cfg.get("DATABASE_URL"):
        cfg["SQLALCHEMY_DATABASE_URI"] = database_url(str(cfg["DATABASE_URL"]))
    elif not cfg.get("SQLALCHEMY_DATABASE_URI"):
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'deepfake.db'}"
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Connections dropped by a server restart are replaced, not handed to a request.
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = f"sqlite:///{instance / 'ratelimit.db'}"
    if not cfg.get("QUEUE_URL"):
        cfg["QUEUE_URL"] = f"sqlite:///{instance / 'queue.db'}"
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _instance_secret_key(instance)


def database_url(url: str) -> str:
    """A SQLAlchemy URL with PostgreSQL's driver named: ``postgresql://`` means psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def engine_config(config: Mapping[str, Any]) -> DetectorConfig:
    """The engine's settings from the app's configuration (upload checks and worker alike)."""
    return DetectorConfig(
        device=str(config["DEVICE"]),
        precision=config["PRECISION"],
        batch_size=int(config["BATCH_SIZE"]),
        face_workers=int(config["FACE_WORKERS"]),
        faces=FaceConfig(person_min_share=person_min_share(config)),
        limits=MediaLimits(
            max_width=int(config["MAX_VIDEO_WIDTH"]),
            max_height=int(config["MAX_VIDEO_HEIGHT"]),
            max_duration_s=float(config["MAX_VIDEO_SECONDS"]),
            max_frames=int(config["MAX_VIDEO_FRAMES"]),
        ),
    )


def person_min_share(config: Mapping[str, Any]) -> float:
    """``PERSON_MIN_SHARE`` as a fraction in (0, 1]; a value outside it is refused."""
    share = float(config["PERSON_MIN_SHARE"])
    if not 0.0 < share <= 1.0:
        raise ValueError(f"PERSON_MIN_SHARE must be above 0 and at most 1, not {share}")
    return share


def _instance_secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating it (random, mode 0600) on first start."""
    path = instance / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_hex(32)
    tmp = temporary_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    try:  # a link, not a rename: never replace the key another process has just written
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created a new secret key in %s", path)
    return key
