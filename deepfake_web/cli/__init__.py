"""The command line room: every ``deepfake-web`` command (see :mod:`.main`)."""

from __future__ import annotations

from .main import cli, main

__all__ = ["cli", "main"]
