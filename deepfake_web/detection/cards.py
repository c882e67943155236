"""Model cards: what a checkpoint is and how good it was measured to be, without torch.

A card is made from the checkpoint's name and header (:mod:`.checkpoint_info`) and from the
card folder next to it, ``<stem>.card/`` (:func:`card_dir`), where ``deepfake-web calibrate``
and ``deepfake-web evaluate`` leave a copy of their JSON and plots (:func:`card_files`).
The claim its name makes (``model_97_acc_…``) is shown next to what was measured, and on
which data.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .checkpoint_info import CheckpointInfo, file_sha256, parse_name

log = logging.getLogger(__name__)

CARD_SUFFIX = ".card"
CARD_KINDS = ("calibration", "evaluation")
CARD_FILES = {
    "calibration": {
        "json": "calibration.json",
        "reliability": "reliability.png",
        "histogram": "scores.png",
    },
    "evaluation": {"json": "report.json", "roc": "roc.png", "histogram": "scores.png"},
}
"""Which files of a calibrate / evaluate report are kept in the card folder, by role."""
PLOT_CAPTIONS = {
    ("calibration", "reliability"): "Reliability diagram (calibration split)",
    ("calibration", "histogram"): "p(fake) per class (calibration split)",
    ("evaluation", "roc"): "ROC curve (evaluation split)",
    ("evaluation", "histogram"): "p(fake) per class (evaluation split)",
}


def card_dir(checkpoint: str | os.PathLike) -> Path:
    """``models/<stem>.card/``: the folder of a checkpoint's measured reports and plots."""
    p = Path(checkpoint)
    return p.with_name(p.stem + CARD_SUFFIX)


def card_files(checkpoint: str | os.PathLike, kind: str) -> dict[str, Path]:
    """Where the ``kind`` ("calibration" or "evaluation") files of a checkpoint's card go."""
    folder = card_dir(checkpoint) / kind
    return {role: folder / name for role, name in CARD_FILES[kind].items()}


@dataclass(frozen=True)
class Plot:
    """One plot of a card: which report it came from, its file name and a caption."""

    kind: str
    file: str
    caption: str


@dataclass
class ModelCard:
    """Everything the app says about one checkpoint (JSON-serialisable via ``to_dict``)."""

    name: str
    format: str | None
    sequence_length: int | None
    claimed_accuracy: float | None
    claimed_data: str | None
    size: int
    sha256: str | None
    created: str | None
    training_data: str | None
    demo: bool
    synthetic: bool
    warning: str | None
    problem: str | None
    threshold: float
    uncertain_margin: float
    decision_method: str | None
    calibrated_on: str | None
    training_metrics: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    plots: list[Plot] = field(default_factory=list)

    @property
    def measured_auc(self) -> float | None:
        """The AUC measured by ``evaluate`` if it ran, else the one training measured."""
        return self.evaluation.get("auc", self.training_metrics.get("auc"))

    def to_dict(self) -> dict:
        """JSON form (plots as file names per report)."""
        d = asdict(self)
        d["measured_auc"] = self.measured_auc
        return d


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        if path.exists():
            log.warning("unreadable card file %s: %s", path, exc)
        return {}


def _evaluation(checkpoint: Path) -> dict:
    """The headline of the card's evaluation report (``evaluate``), or {}."""
    report = _read_json(card_files(checkpoint, "evaluation")["json"])
    if not report:
        return {}
    summary, info = report.get("summary", {}), report.get("info", {})
    tm = summary.get("threshold_metrics", {})
    return {
        "auc": tm.get("auc"),
        "accuracy": tm.get("accuracy"),
        "precision": tm.get("precision"),
        "recall": tm.get("recall"),
        "videos": summary.get("videos"),
        "uncertain_rate": summary.get("uncertain_rate"),
        "threshold": (summary.get("decision") or {}).get("threshold"),
        "data": info.get("data"),
        "when": info.get("created"),
        "sha256": info.get("sha256"),
    }


def _plots(checkpoint: Path) -> list[Plot]:
    out = []
    for kind in CARD_KINDS:
        for role, path in card_files(checkpoint, kind).items():
            if role != "json" and path.is_file():
                out.append(Plot(kind, path.name, PLOT_CAPTIONS[(kind, role)]))
    return out


def model_card(info: CheckpointInfo, sha256: bool = True) -> ModelCard:
    """The card of one checkpoint (``sha256=False`` skips hashing the file)."""
    meta = info.metadata
    path = Path(info.path)
    decision = meta.get("decision") or {}
    created = meta.get("created") or datetime.fromtimestamp(info.mtime, UTC).isoformat(
        timespec="seconds"
    )
    evaluation = _evaluation(path)
    parsed = parse_name(info.name)
    digest = None
    if sha256:
        try:
            digest = file_sha256(path)
        except OSError as exc:
            log.warning("cannot hash %s: %s", path, exc)
    return ModelCard(
        name=info.name,
        format=info.format,
        sequence_length=info.sequence_length,
        claimed_accuracy=parsed[0] if parsed else None,
        claimed_data=info.data,
        size=info.size,
        sha256=digest,
        created=created if meta.get("created") else f"{created} (file time)",
        training_data=meta.get("training_data")
        or (f"{info.data} (from the file name)" if info.data else None),
        demo=info.demo,
        synthetic=bool(meta.get("synthetic")),
        warning=info.warning,
        problem=info.problem,
        threshold=info.threshold,
        uncertain_margin=info.uncertain_margin,
        decision_method=decision.get("method"),
        calibrated_on=decision.get("calibrated_on"),
        training_metrics=dict(meta.get("metrics") or {}),
        evaluation=evaluation,
        plots=_plots(path),
    )
