"""The training commands' work, callable from Python: train, calibrate and evaluate runs.

Each takes paths and plain settings, reports progress through callbacks, writes its
outputs (checkpoint, metadata, reports) and returns a summary dict; the CLI only parses
options and prints.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deepfake_web.detection.checkpoint_info import OWN, file_sha256, inspect_checkpoint
from deepfake_web.detection.checkpoints import load_checkpoint, update_metadata
from deepfake_web.detection.faces import FaceConfig
from deepfake_web.detection.preprocess import Preprocessing
from deepfake_web.paths import PROJECT_ROOT

from .backbone import Backbone, backbone_from_net, load_backbone
from .calibrate import choose_band, choose_threshold, reliability
from .errors import TrainingError
from .export import checkpoint_name, free_path, plain, save_trained
from .facecache import FaceCache, FaceSettings, require_faces
from .features import FeatureCache
from .manifest import Manifest, read_manifest
from .metrics import binary_metrics, summarise, verdict
from .report import keep_in_card, write_calibration, write_evaluation
from .scoring import Progress, describe_split, labels_and_scores, score_entries
from .sequences import load_videos
from .synthetic import WARNING as SYNTHETIC_WARNING
from .train import EpochLog, TrainConfig, fit

log = logging.getLogger(__name__)

DEFAULT_MARGIN = 0.1
DEFAULT_CHANNEL_ORDER = "RGB"


def default_cache_dir() -> Path:
    """``$DEEPFAKE_CACHE_DIR``, else ``cache/`` in the project folder."""
    return Path(os.environ.get("DEEPFAKE_CACHE_DIR") or PROJECT_ROOT / "cache")


def default_reports_dir() -> Path:
    """``artifacts/`` in the project folder (git-ignored)."""
    return PROJECT_ROOT / "artifacts"


@dataclass(frozen=True)
class CropOptions:
    """How training crops are made and fed: the face cache settings and the preprocessing."""

    frames: int = 20
    image_size: int = 112
    margin: float = DEFAULT_MARGIN
    channel_order: str = DEFAULT_CHANNEL_ORDER
    detector: str = "hog"
    detect_max_side: int = 640

    def face_settings(self) -> FaceSettings:
        """The face cache settings."""
        faces = FaceConfig(
            model=self.detector, detect_max_side=self.detect_max_side, margin=self.margin
        )
        return FaceSettings(self.frames, self.image_size, faces)

    def preprocessing(self) -> Preprocessing:
        """The network input preprocessing (ImageNet mean and std)."""
        return Preprocessing(self.image_size, self.channel_order, crop_margin=self.margin)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(videos) -> dict:
    c = Counter(v.entry.label for v in videos)
    m = Counter(v.entry.method for v in videos)
    return {
        "videos": len(videos),
        "REAL": c.get("REAL", 0),
        "FAKE": c.get("FAKE", 0),
        "methods": dict(sorted(m.items())),
    }


@dataclass
class TrainRun:
    """What a training run produced."""

    checkpoint: Path
    val_auc: float | None
    val_accuracy: float
    best_epoch: int
    epochs: int
    stopped_early: bool
    seconds: float
    train_videos: int
    val_videos: int
    excluded: dict = field(default_factory=dict)
    synthetic: bool = False
    plot: Path | None = None

    def to_dict(self) -> dict:
        """JSON form."""
        d = asdict(self)
        d["checkpoint"], d["plot"] = str(self.checkpoint), str(self.plot) if self.plot else None
        return d


def train_run(
    manifest_path: str | os.PathLike,
    crops: CropOptions,
    config: TrainConfig,
    *,
    cache: str | os.PathLike,
    models_dir: str | os.PathLike,
    backbone_weights: str = "imagenet",
    backbone_seed: int = 0,
    init: str | os.PathLike | None = None,
    data_name: str | None = None,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    reports: str | os.PathLike | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainRun:
    """Train on the manifest's train split (selecting on val) and save the checkpoint."""
    from .plots import training_plot

    manifest = read_manifest(manifest_path)
    if config.frames > crops.frames:
        raise TrainingError(
            f"--frames {config.frames} needs a face cache of at least that many frames per "
            f"video (--cache-frames is {crops.frames})."
        )
    faces = FaceCache(cache, crops.face_settings())
    require_faces(faces)
    prep = crops.preprocessing()
    init_net = None
    if init is not None:
        loaded = load_checkpoint(init, "cpu")
        if loaded.info.format != OWN:
            raise TrainingError(
                f"--init needs a deepfake-web checkpoint; for a published one use "
                f"--backbone-weights {init} (its backbone) instead."
            )
        init_net = loaded.net
        if loaded.preprocessing != prep:
            raise TrainingError(
                f"--init {Path(init).name} was trained with {loaded.preprocessing.to_dict()}; "
                "pass the same --margin, --image-size and --channel-order."
            )
        backbone: Backbone = backbone_from_net(init_net, f"from {Path(init).name}")
        backbone = Backbone(
            backbone.module,
            loaded.info.metadata.get("backbone_weights") or backbone.description,
            backbone.sha256,
            {"kind": "init"},
        )
    else:
        backbone = load_backbone(backbone_weights, backbone_seed)
    features = None
    if not config.finetune:
        features = FeatureCache(cache, faces, backbone.sha256, prep)
        if not features.folder.is_dir():
            raise TrainingError(
                f"No cached features for this backbone ({backbone.description}) and "
                f"preprocessing in {features.folder}. Run `deepfake-web features` with the same "
                "--frames, --margin, --image-size, --channel-order and --backbone-weights first."
            )
    train, train_report = load_videos(manifest, manifest.split("train"), faces, features)
    val, val_report = load_videos(manifest, manifest.split("val"), faces, features)
    excluded = {
        split: {
            "file not found": len(r.not_found),
            "not cached": len(r.missing),
            "failed": len(r.failed),
            "no face": len(r.no_face),
        }
        for split, r in (("train", train_report), ("val", val_report))
    }
    for split, r in (("train", train_report), ("val", val_report)):
        if r.not_found:
            log.warning(
                "%d %s video(s) do not exist, e.g. %s",
                len(r.not_found),
                split,
                manifest.resolve(manifest.split(split)[0]),
            )
        if r.missing:
            log.warning(
                "%d %s video(s) have no cached faces or features; run faces/features",
                len(r.missing),
                split,
            )
    result = fit(
        train,
        val,
        config,
        backbone=backbone,
        faces=faces,
        prep=prep,
        init_net=init_net,
        on_epoch=on_epoch,
    )
    synthetic = manifest.is_synthetic()
    name = data_name or manifest.name
    val_desc = describe_split(manifest, "val")
    metrics = {
        "accuracy": result.val_accuracy,
        "auc": result.val_auc,
        "loss": result.val_loss,
        "threshold": 0.5,
        "videos": len(val),
        "data": f"{val_desc}: {len(val)} videos, threshold 0.5, epoch {result.best_epoch}",
    }
    counts = _counts(train)
    training_data = (
        f"{name}: {counts['videos']} training videos ({counts['REAL']} REAL, "
        f"{counts['FAKE']} FAKE; methods {', '.join(counts['methods'])}) from "
        f"{manifest.path}" + (" — SYNTHETIC" if synthetic else "")
    )
    training_dataset = {
        "name": name,
        "manifest": str(manifest.path),
        "manifest_sha256": _sha256(manifest.path),
        "synthetic": synthetic,
        "train": counts,
        "val": _counts(val),
        "excluded": excluded,
    }
    history = [asdict(h) for h in result.history]
    training = {
        **config.to_dict(),
        "cache_frames": crops.frames,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "seconds": round(result.seconds, 1),
        "history": history,
        "face_cache": faces.settings.key,
        "feature_cache": features.key if features else None,
        "init": str(init) if init else None,
    }
    folder = Path(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = (
        Path(output)
        if output
        else free_path(folder, checkpoint_name(result.val_accuracy, config.frames, name), overwrite)
    )
    if output and target.exists() and not overwrite:
        raise TrainingError(f"{target} exists; pass --overwrite to replace it.")
    path = save_trained(
        target,
        result.net,
        preprocessing=prep,
        face_detection=faces.settings.to_dict(),
        metrics=metrics,
        training_data=training_data,
        training_dataset=training_dataset,
        data_name=name,
        backbone_weights=backbone.description,
        backbone_sha256=backbone.sha256,
        training=training,
        seed=config.seed,
        warning=SYNTHETIC_WARNING if synthetic else None,
    )
    plot = None
    if reports is not None:
        Path(reports).mkdir(parents=True, exist_ok=True)
        plot = Path(reports) / f"{path.stem}.training.png"
        training_plot(history, result.best_epoch, plot)
    return TrainRun(
        path,
        result.val_auc,
        result.val_accuracy,
        result.best_epoch,
        len(result.history),
        result.stopped_early,
        result.seconds,
        len(train),
        len(val),
        excluded,
        synthetic,
        plot,
    )


def _short(manifest: Manifest, split: str | None) -> str:
    return f"{split or 'all'} split of {manifest.name}"


def _score_split(
    checkpoint: str | os.PathLike,
    manifest_path: str | os.PathLike,
    split: str,
    cache: str | os.PathLike,
    frames: int | None,
    workers: int,
    device: str,
    batch_size: int,
    progress: Progress | None,
):
    """Load the checkpoint and score the manifest's ``split`` (``all``: every video)."""
    model = load_checkpoint(checkpoint, device)
    manifest = read_manifest(manifest_path)
    entries = manifest.split(split)
    if not entries:
        raise TrainingError(f"The manifest has no {split} videos.")
    run = score_entries(
        model,
        manifest,
        entries,
        cache,
        frames=frames,
        workers=workers,
        batch_size=batch_size,
        progress=progress,
    )
    return model, manifest, run


def calibrate_run(
    checkpoint: str | os.PathLike,
    manifest_path: str | os.PathLike,
    *,
    cache: str | os.PathLike,
    out: str | os.PathLike,
    split: str = "val",
    frames: int | None = None,
    target_fpr: float | None = None,
    target_accuracy: float = 0.95,
    band: float | None = None,
    max_uncertain: float = 0.5,
    workers: int = 2,
    device: str = "auto",
    batch_size: int = 32,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Choose threshold and band on ``split`` and write them into the checkpoint's metadata."""
    info = inspect_checkpoint(checkpoint)
    if info.format != OWN:
        raise TrainingError(
            f"{info.name} is not a deepfake-web checkpoint: calibration is stored in the "
            "checkpoint's metadata, which published-format files do not have."
        )
    _, manifest, run = _score_split(
        checkpoint, manifest_path, split, cache, frames, workers, device, batch_size, progress
    )
    y, p = labels_and_scores(run.scores)
    if len(set(y.tolist())) < 2:
        raise TrainingError(f"Calibration needs scored REAL and FAKE videos in the {split} split.")
    th = choose_threshold(y, p, target_fpr)
    bd = choose_band(y, p, th.threshold, target_accuracy, band, max_uncertain)
    rel = reliability(y, p)
    where = f"{describe_split(manifest, split)}: {len(p)} scored videos"
    decision = {
        "threshold": th.threshold,
        "uncertain_margin": bd.margin,
        "method": th.method,
        "band": bd.method,
        "calibrated_on": where,
        "calibrated": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    status = Counter(s.status for s in run.scores)
    calibration = {
        "threshold": th.to_dict(),
        "band": bd.to_dict(),
        "reliability": rel,
        "metrics_at_threshold": binary_metrics(y, p, th.threshold),
        "videos": dict(status),
        "frames": run.frames,
    }
    if not dry_run:
        update_metadata(checkpoint, plain({"decision": decision, "calibration": calibration}))
    result = {
        "checkpoint": info.name,
        "decision": decision,
        "calibration": calibration,
        "written": not dry_run,
        "data_short": _short(manifest, split),
    }
    result["files"] = write_calibration(out, result, y, p)
    if not dry_run:
        keep_in_card(checkpoint, "calibration", result["files"])
    return result


def evaluate_run(
    checkpoint: str | os.PathLike,
    manifest_path: str | os.PathLike,
    *,
    cache: str | os.PathLike,
    out: str | os.PathLike,
    split: str = "test",
    frames: int | None = None,
    workers: int = 2,
    device: str = "auto",
    batch_size: int = 32,
    record: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Evaluate any checkpoint on ``split``; write the report; optionally record the metrics."""
    model, manifest, run = _score_split(
        checkpoint, manifest_path, split, cache, frames, workers, device, batch_size, progress
    )
    threshold, margin = model.info.threshold, model.info.uncertain_margin
    summary = summarise(run.scores, threshold, margin)
    from deepfake_web.detection.decision import DecisionRule

    rule = DecisionRule(threshold, margin)
    verdicts = [verdict(s, rule) for s in run.scores]
    prep = model.preprocessing
    meta = model.info.metadata
    info = {
        "checkpoint": model.info.name,
        "path": str(Path(checkpoint).resolve()),
        "format": model.info.format,
        "sha256": file_sha256(checkpoint),
        "sequence_length": run.sequence_length,
        "frames": run.frames,
        "preprocessing": f"{prep.image_size}px {prep.channel_order}, margin {prep.crop_margin:g}",
        "decision_method": (meta.get("decision") or {}).get("method", "published default 0.5"),
        "data": f"{describe_split(manifest, split)}",
        "data_short": _short(manifest, split),
        "faces": str(run.faces.folder),
        "features": str(run.features.folder),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "warning": model.info.warning,
        "extraction": run.extraction.to_dict(),
        "features_computed": run.feature_run.computed,
        "features_reused": run.feature_run.cached_before,
    }
    files = write_evaluation(out, summary, run.scores, verdicts, info)
    recorded = False
    if record:
        if model.info.format != OWN:
            raise TrainingError("--record writes metadata; published checkpoints have none.")
        tm = summary["threshold_metrics"]
        metrics = {
            "accuracy": tm.get("accuracy"),
            "auc": tm.get("auc"),
            "precision": tm.get("precision"),
            "recall": tm.get("recall"),
            "f1": tm.get("f1"),
            "uncertain_rate": summary["uncertain_rate"],
            "no_face_rate": summary["no_face_rate"],
            "strict_accuracy": summary["strict_accuracy"],
            "threshold": threshold,
            "videos": summary["videos"],
            "data": f"{info['data']}: {summary['videos']} videos (deepfake-web evaluate)",
        }
        update_metadata(
            checkpoint, plain({"metrics": metrics, "metrics_previous": meta.get("metrics")})
        )
        recorded = True
    keep_in_card(checkpoint, "evaluation", files)
    return {"summary": summary, "info": info, "files": files, "recorded": recorded}
