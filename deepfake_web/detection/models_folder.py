"""The models folder: which checkpoints exist and which one to use for a sequence length."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .checkpoint_info import (
    CHECKPOINT_SUFFIXES,
    CheckpointInfo,
    file_sha256,
    inspect_checkpoint,
)
from .errors import NoCheckpointError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "Put published ResNeXt-LSTM checkpoints (model_<acc>_acc_<frames>_frames_<data>_data.pt) "
    "into {dir}, train one with `deepfake-web train`, or write a demo checkpoint with "
    "`deepfake-web models demo` (random weights, meaningless verdicts)."
)


@dataclass(frozen=True)
class CheckpointChoice:
    """The checkpoint picked for a request, with a note when it is not an exact match."""

    info: CheckpointInfo
    requested: int | None
    note: str | None


class ModelsFolder:
    """Lists the checkpoints in a folder and chooses the best one for a sequence length.

    Reading the folder needs no torch and no weights (headers only, cached per file), so the
    web process can use it; loading happens in :mod:`.checkpoints`.
    """

    def __init__(self, models_dir: str | os.PathLike) -> None:
        """Remember the folder; it is read again on every query (files come and go)."""
        self.models_dir = Path(models_dir)

    def checkpoints(self) -> list[CheckpointInfo]:
        """Every checkpoint file in the folder, usable ones first (by length, best first)."""
        if not self.models_dir.is_dir():
            return []
        infos = []
        for p in sorted(self.models_dir.iterdir()):
            if (
                p.suffix.lower() in CHECKPOINT_SUFFIXES
                and p.is_file()
                and not p.name.startswith(".")
            ):
                try:
                    infos.append(inspect_checkpoint(p))
                except OSError as exc:  # vanished or unreadable between listing and reading
                    log.warning("skipping %s: %s", p, exc)
        return sorted(
            infos,
            key=lambda i: (not i.usable, i.sequence_length or 0, -(i.accuracy or 0), i.name),
        )

    def usable(self) -> list[CheckpointInfo]:
        """The checkpoints that can be chosen."""
        return [i for i in self.checkpoints() if i.usable]

    def by_sha256(self, sha256: str | None, prefer: str | None = None) -> CheckpointInfo | None:
        """The installed checkpoint whose file has this SHA-256 (the one named ``prefer``
        first, so that usually a single file is hashed), else None."""
        if not sha256:
            return None
        infos = sorted(self.checkpoints(), key=lambda i: i.name != prefer)
        for info in infos:
            try:
                if file_sha256(info.path) == sha256:
                    return info
            except OSError:
                continue
        return None

    def lengths(self) -> list[int]:
        """Sequence lengths for which a checkpoint is installed, ascending."""
        return sorted({i.sequence_length for i in self.usable() if i.sequence_length})

    def choose(self, sequence_length: int | None = None) -> CheckpointChoice:
        """Pick the most accurate checkpoint for ``sequence_length`` (the nearest length if none).

        Accuracies are compared as numbers (100 beats 97.5); among equals the newer file wins.
        Without a length, the most accurate checkpoint overall is chosen.
        """
        usable = self.usable()
        if not usable:
            raise NoCheckpointError(
                f"No usable checkpoint in {self.models_dir}. "
                + INSTALL_HINT.format(dir=self.models_dir)
            )

        def rank(i: CheckpointInfo) -> tuple:
            return (i.accuracy if i.accuracy is not None else -1.0, i.mtime, i.name)

        if sequence_length is None:
            return CheckpointChoice(max(usable, key=rank), None, None)
        exact = [i for i in usable if i.sequence_length == sequence_length]
        if exact:
            return CheckpointChoice(max(exact, key=rank), sequence_length, None)
        distance = min(abs(i.sequence_length - sequence_length) for i in usable)
        nearest = [i for i in usable if abs(i.sequence_length - sequence_length) == distance]
        best = max(nearest, key=lambda i: (rank(i), i.sequence_length))
        note = (
            f"No checkpoint for {sequence_length} frames is installed; used the nearest, "
            f"{best.name} ({best.sequence_length} frames)."
        )
        return CheckpointChoice(best, sequence_length, note)
