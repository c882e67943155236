"""The engine kept loaded in the worker process, one detector per configuration."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from flask import Flask

from deepfake_web.detection.errors import DetectionError
from deepfake_web.web.config import engine_config

if TYPE_CHECKING:
    from deepfake_web.detection.detector import Detector

log = logging.getLogger(__name__)

_detectors: dict[tuple, Detector] = {}


def detector_for(app: Flask) -> Detector:
    """The detector for the app's models folder and engine settings (built once per process)."""
    from deepfake_web.detection.detector import Detector

    config = engine_config(app.config)
    key = (str(app.config["MODELS_DIR"]), config)
    if key not in _detectors:
        _detectors[key] = Detector.from_models_dir(app.config["MODELS_DIR"], config=config)
    return _detectors[key]


def warm_up(app: Flask, sequence_length: int | None = None) -> None:
    """Load the model most analyses will use, so that the first one does not wait for it."""
    from deepfake_web.detection.config import DEFAULT_SEQUENCE_LENGTH

    t0 = time.perf_counter()
    try:
        model = detector_for(app).warm_up(sequence_length or DEFAULT_SEQUENCE_LENGTH)
    except DetectionError as exc:
        log.info("nothing to warm up: %s", exc)
        return
    log.info("warmed up %s in %.1f s", model.info.name, time.perf_counter() - t0)
