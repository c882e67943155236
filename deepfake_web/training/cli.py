"""Command-line commands of the training pipeline (registered on ``deepfake-web``)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
