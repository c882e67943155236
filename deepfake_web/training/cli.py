"""Command-line commands of the training pipeline (registered on ``deepfake-web``).

A lab runs them in this order: ``dataset index`` (or ``dataset synth`` first), ``faces``,
``features``, ``train``, ``calibrate``, ``evaluate``. Heavy imports happen inside the
commands, so ``deepfake-web --help`` stays fast.
"""

from __future__ import annotations

import click

from .cli_data import dataset, faces_command, features_command
from .cli_model import calibrate_command, evaluate_command, train_command

COMMANDS: list[click.Command] = [
    dataset,
    faces_command,
    features_command,
    train_command,
    calibrate_command,
    evaluate_command,
]
