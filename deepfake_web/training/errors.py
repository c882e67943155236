"""Errors of the training pipeline, each with a message meant for a person."""

from __future__ import annotations


class TrainingError(Exception):
    """A fatal problem of a training command (bad input, missing cache, unusable data)."""
