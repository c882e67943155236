"""The engine kept loaded in the worker process, one detector per configuration.

With several analyses at once (``deepfake-web worker --concurrency N``), the detector's
backbone runs on one shared embedder thread that batches the crops of every running analysis
(:mod:`deepfake_web.detection.embedder`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from deepfake_web.detection.errors import DetectionError
from deepfake_web.web.config import engine_config

if TYPE_CHECKING:
    from deepfake_web.detection.detector import Detector

log = logging.getLogger(__name__)

_detectors: dict[tuple, Detector] = {}
_lock = threading.Lock()


def detector_for(app: Flask) -> Detector:
    """The detector for the app's models folder and engine settings (built once per process)."""
    from deepfake_web.detection.detector import Detector

    config = engine_config(app.config)
    concurrency = int(app.config["WORKER_THREADS"])
    key = (str(app.config["MODELS_DIR"]), config, concurrency)
    with _lock:
        if key not in _detectors:
            detector = Detector.from_models_dir(app.config["MODELS_DIR"], config=config)
            if concurrency > 1:
                from deepfake_web.detection.embedder import SharedEmbedder

                detector.embedder = SharedEmbedder(max_batch=config.batch_size * concurrency)
            _detectors[key] = detector
        return _detectors[key]


def pinned_detector(app: Flask, checkpoint: Path) -> Detector:
    """A detector that always uses ``checkpoint``, its backbone in PyTorch fp32 (for
    reproductions: the number must not depend on the runtime chosen for this machine)."""
    from deepfake_web.detection.detector import Detector
    from deepfake_web.detection.runtimes import TORCH_FP32

    config = replace(engine_config(app.config), precision=TORCH_FP32)
    key = ("pinned", str(checkpoint), config)
    with _lock:
        if key not in _detectors:
            _detectors[key] = Detector.from_checkpoint(checkpoint, config=config)
        return _detectors[key]


def warm_up(app: Flask, sequence_length: int | None = None) -> None:
    """Load the model most analyses will use, its backbone runtime (chosen for this CPU,
    measured once) and the face detectors, so that the first analysis does not wait for it."""
    from deepfake_web.detection.config import DEFAULT_SEQUENCE_LENGTH

    t0 = time.perf_counter()
    try:
        model = detector_for(app).warm_up(sequence_length or DEFAULT_SEQUENCE_LENGTH)
    except DetectionError as exc:
        log.info("nothing to warm up: %s", exc)
        return
    except Exception:  # the first analysis will meet (and report) the same problem
        log.exception("warming up failed")
        return
    log.info("warmed up %s in %.1f s", model.info.name, time.perf_counter() - t0)


def warm_up_in_background(app: Flask) -> threading.Thread:
    """:func:`warm_up` on a thread: the worker takes analyses meanwhile (the first waits for it)."""
    thread = threading.Thread(target=warm_up, args=(app,), name="warm-up", daemon=True)
    thread.start()
    return thread
