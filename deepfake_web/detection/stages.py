"""The stages an analysis goes through, each with the words shown to a person.

The engine reports ``LOADING_MODEL`` to ``DONE`` through a :data:`ProgressCallback`; the
queue and the worker add the stages before the engine runs (``QUEUED``, ``RETRYING``,
``STARTING``). Stored and compared by value, shown by :attr:`Stage.label`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Stage(StrEnum):
    """One stage of an analysis."""

    QUEUED = "queued"
    RETRYING = "retrying"
    STARTING = "starting"
    LOADING_MODEL = "loading_model"
    READING_VIDEO = "reading_video"
    FINDING_FACES = "finding_faces"
    RUNNING_MODEL = "running_model"
    DONE = "done"

    @property
    def label(self) -> str:
        """What a person reads on the page or in a progress bar."""
        return _LABELS[self]


_LABELS = {
    Stage.QUEUED: "waiting in the queue",
    Stage.RETRYING: "waiting in the queue (retrying: the worker stopped)",
    Stage.STARTING: "starting",
    Stage.LOADING_MODEL: "loading the model",
    Stage.READING_VIDEO: "reading the video",
    Stage.FINDING_FACES: "finding faces",
    Stage.RUNNING_MODEL: "running the model",
    Stage.DONE: "finishing",
}

ProgressCallback = Callable[[Stage, float], None]
"""Called as ``progress(stage, fraction)``, ``fraction`` being the whole analysis's progress
in [0, 1]."""
