"""The ``deepfake-web`` command group: every command is registered here.

A command lives in the module named for what it does (``predict``, ``models``, ``serve``,
``dataset``, ``train``, ``users``, ``status``, ``doctor``); to add one, write it there (or in
a new module) with the shared options of :mod:`.options`, and add it to :data:`COMMANDS`.
Heavy imports happen inside the commands, so ``deepfake-web --help`` stays fast.
"""

from __future__ import annotations

import logging

import click

from .dataset import dataset, faces_command, features_command
from .doctor import doctor
from .models import models
from .predict import predict
from .serve import serve, worker
from .status import status
from .train import calibrate_command, evaluate_command, train_command
from .users import purge, users

COMMANDS: tuple[click.Command, ...] = (
    predict,
    models,
    serve,
    worker,
    status,
    dataset,
    faces_command,
    features_command,
    train_command,
    calibrate_command,
    evaluate_command,
    users,
    purge,
    doctor,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="deepfake-web")
def cli(verbose: int) -> None:
    """Deepfake detection for research labs: analyse videos, manage checkpoints, serve the app."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``deepfake-web`` console script."""
    cli.main(args=argv, prog_name="deepfake-web")
