"""Model commands: ``train``, ``calibrate`` and ``evaluate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import (
    SPLIT_CHOICES,
    backbone_options,
    batch_size_option,
    cache_dir,
    cache_option,
    channel_option,
    crop_options,
    crop_settings,
    device_option,
    fail,
    models_dir_option,
    progress_bars,
    resolve_models_dir,
    scoring_options,
)


@click.command("train")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--frames",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Sequence length of the model (≤ --cache-frames).",
)
@crop_options("--cache-frames", "Frames per video of the face cache [default: 20].")
@channel_option
@backbone_options
@click.option(
    "--init",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Start from this deepfake-web checkpoint (its backbone and head).",
)
@click.option(
    "--finetune",
    is_flag=True,
    help="Train the backbone too, end to end on the cached crops (slow without GPU).",
)
@click.option("--hidden-size", type=click.IntRange(1, 4096), default=512, show_default=True)
@click.option("--layers", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--bidirectional/--unidirectional", default=False, show_default=True)
@click.option("--pooling", type=click.Choice(["mean", "last"]), default="mean", show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 0.95), default=0.4, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option(
    "--backbone-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-5,
    show_default=True,
    help="Learning rate of the backbone with --finetune.",
)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=1e-2, show_default=True)
@click.option("--epochs", type=click.IntRange(1, 10_000), default=30, show_default=True)
@batch_size_option("Videos per training step.")
@click.option(
    "--patience",
    type=click.IntRange(1, 10_000),
    default=8,
    show_default=True,
    help="Stop after this many epochs without a better validation AUC.",
)
@click.option(
    "--balance",
    type=click.Choice(["weight", "oversample", "none"]),
    default="weight",
    show_default=True,
    help="Imbalanced classes: weight the loss, oversample the rarer class, or neither.",
)
@click.option(
    "--feature-norm",
    type=click.Choice(["standard", "none"]),
    default="standard",
    show_default=True,
    help="Standardise features while training (folded into the saved LSTM).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
@cache_option
@models_dir_option("Where the checkpoint goes")
@click.option(
    "--name",
    "data_name",
    default=None,
    help="Data name in the checkpoint's file name [default: the dataset folder].",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Exact checkpoint path (instead of the generated name).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing file of the same name.")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the training-curve PNG goes [default: the project's artifacts/training/].",
)
def train_command(
    manifest: str,
    frames: int,
    cache_frames: int | None,
    margin: float,
    image_size: int,
    detector: str,
    detect_max_side: int,
    channel_order: str,
    backbone_weights: str,
    backbone_seed: int,
    init: str | None,
    finetune: bool,
    hidden_size: int,
    layers: int,
    bidirectional: bool,
    pooling: str,
    dropout: float,
    lr: float,
    backbone_lr: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    patience: int,
    balance: str,
    feature_norm: str,
    seed: int,
    device: str,
    cache: str | None,
    models_dir: str | None,
    data_name: str | None,
    output: str | None,
    overwrite: bool,
    report_dir: str | None,
) -> None:
    """Train the LSTM head on cached features (or end to end) and save the best checkpoint.

    Selects the epoch with the best validation AUC and writes
    model_<acc>_acc_<frames>_frames_<data>_data.pt into the models folder, where the app
    and `deepfake-web predict` find it.
    """
    from tqdm import tqdm

    from deepfake_web.detection.errors import DetectionError
    from deepfake_web.training.errors import TrainingError
    from deepfake_web.training.runs import default_reports_dir, train_run
    from deepfake_web.training.train import TrainConfig

    config = TrainConfig(
        frames=frames,
        hidden_size=hidden_size,
        num_layers=layers,
        bidirectional=bidirectional,
        pooling=pooling,
        dropout=dropout,
        lr=lr,
        weight_decay=weight_decay,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        device=device,
        balance=balance,
        finetune=finetune,
        backbone_lr=backbone_lr,
        feature_norm=feature_norm,
    )
    crops = crop_settings(
        cache_frames, margin, image_size, detector, detect_max_side, channel_order
    )
    bar = tqdm(total=epochs, desc="epochs", unit="epoch", file=sys.stderr)

    def on_epoch(e) -> None:
        auc = "n/a" if e.val_auc is None else f"{e.val_auc:.4f}"
        bar.update(1)
        bar.set_postfix_str(f"val AUC {auc}")
        tqdm.write(
            f"epoch {e.epoch:3d}: loss {e.train_loss:.4f}  acc {e.train_accuracy:.3f}  |  "
            f"val loss {e.val_loss:.4f}  acc {e.val_accuracy:.3f}  AUC {auc}  "
            f"({e.seconds:.1f} s)",
            file=sys.stdout,
        )

    try:
        run = train_run(
            manifest,
            crops,
            config,
            cache=cache_dir(cache),
            models_dir=resolve_models_dir(models_dir),
            backbone_weights=backbone_weights,
            backbone_seed=backbone_seed,
            init=init,
            data_name=data_name,
            output=output,
            overwrite=overwrite,
            reports=report_dir or default_reports_dir() / "training",
            on_epoch=on_epoch,
        )
    except (TrainingError, DetectionError) as exc:
        raise fail(exc) from exc
    finally:
        bar.close()
    auc = "n/a" if run.val_auc is None else f"{run.val_auc:.4f}"
    stop = "early stop" if run.stopped_early else "all epochs"
    click.echo(
        f"Trained on {run.train_videos} videos, validated on {run.val_videos}: best epoch "
        f"{run.best_epoch} of {run.epochs} ({stop}), val AUC {auc}, val accuracy "
        f"{run.val_accuracy:.3f} at threshold 0.5, {run.seconds:.1f} s"
    )
    click.echo(f"Saved {run.checkpoint}")
    if run.plot:
        click.echo(f"  training curves: {run.plot}")
    for split, n in run.excluded.items():
        if any(n.values()):
            click.echo(f"  left out of {split}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    if run.synthetic:
        click.echo(
            "  WARNING: trained on the SYNTHETIC set; the checkpoint says so next to every verdict."
        )
    click.echo("Next: deepfake-web calibrate <checkpoint> <manifest>, then evaluate.")


@click.command("calibrate")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", type=SPLIT_CHOICES, default="val", show_default=True)
@click.option(
    "--target-fpr",
    type=click.FloatRange(0, 1),
    default=None,
    help="Choose the threshold that catches most fakes with at most this share of "
    "real videos called FAKE [default: maximise balanced accuracy].",
)
@click.option(
    "--target-accuracy",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="The UNCERTAIN band is the narrowest outside which accuracy reaches this.",
)
@click.option(
    "--band",
    type=click.FloatRange(0, 0.5),
    default=None,
    help="Fixed half-width of the UNCERTAIN band instead (0: no band).",
)
@click.option(
    "--max-uncertain",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="At most this share of the videos may fall into the band.",
)
@click.option("--dry-run", is_flag=True, help="Report only; leave the checkpoint unchanged.")
@scoring_options
def calibrate_command(
    checkpoint: str,
    manifest: str,
    split: str,
    target_fpr: float | None,
    target_accuracy: float,
    band: float | None,
    max_uncertain: float,
    dry_run: bool,
    cache_frames: int | None,
    workers: int,
    device: str,
    batch_size: int,
    out: str | None,
    cache: str | None,
) -> None:
    """Choose the decision threshold and UNCERTAIN band on the validation split.

    They are written into the checkpoint's metadata, so the app's REAL / FAKE / UNCERTAIN
    verdicts follow them; a reliability diagram and the scores are saved as PNGs.
    """

    from deepfake_web.training.runs import calibrate_run, default_reports_dir

    folder = out or default_reports_dir() / "calibrate" / f"{Path(checkpoint).stem}-{split}"
    with progress_bars(ValueError) as bars:
        res = calibrate_run(
            checkpoint,
            manifest,
            cache=cache_dir(cache),
            out=folder,
            split=split,
            frames=cache_frames,
            target_fpr=target_fpr,
            target_accuracy=target_accuracy,
            band=band,
            max_uncertain=max_uncertain,
            workers=workers,
            device=device,
            batch_size=batch_size,
            dry_run=dry_run,
            progress=bars,
        )
    dec, cal = res["decision"], res["calibration"]
    th, bd, rel = cal["threshold"], cal["band"], cal["reliability"]
    click.echo(f"Calibrated {res['checkpoint']} on {dec['calibrated_on']}")
    click.echo(
        f"  threshold {dec['threshold']:.4f} ({th['method']}): balanced accuracy "
        f"{th['balanced_accuracy']:.3f}, TPR {th['tpr']:.3f}, FPR {th['fpr']:.3f}"
    )
    acc = "n/a" if bd["accuracy_outside"] is None else f"{bd['accuracy_outside']:.3f}"
    click.echo(
        f"  UNCERTAIN band ±{dec['uncertain_margin']:.4f} ({bd['method']}): "
        f"{bd['uncertain_fraction']:.1%} of these videos inside, accuracy outside {acc}"
        + ("" if bd["reached"] else "  — TARGET NOT REACHED within --max-uncertain")
    )
    click.echo(f"  reliability: ECE {rel['ece']:.3f}, Brier {rel['brier']:.3f}")
    click.echo("  written into the checkpoint" if res["written"] else "  dry run: not written")
    click.echo(f"  report: {res['files']['markdown']} (+ reliability.png, scores.png)")


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", type=SPLIT_CHOICES, default="test", show_default=True)
@click.option(
    "--record",
    is_flag=True,
    help="Write these metrics into the checkpoint's metadata (deepfake-web format).",
)
@scoring_options
def evaluate_command(
    checkpoint: str,
    manifest: str,
    split: str,
    record: bool,
    cache_frames: int | None,
    workers: int,
    device: str,
    batch_size: int,
    out: str | None,
    cache: str | None,
) -> None:
    """Evaluate a checkpoint (either format) on the test split: JSON, Markdown and PNG report."""

    from deepfake_web.training.runs import default_reports_dir, evaluate_run

    folder = out or default_reports_dir() / "evaluate" / f"{Path(checkpoint).stem}-{split}"
    with progress_bars() as bars:
        res = evaluate_run(
            checkpoint,
            manifest,
            cache=cache_dir(cache),
            out=folder,
            split=split,
            frames=cache_frames,
            workers=workers,
            device=device,
            batch_size=batch_size,
            record=record,
            progress=bars,
        )
    s, info = res["summary"], res["info"]
    tm = s["threshold_metrics"]

    def f(x, pct=True):
        return "n/a" if x is None else (f"{100 * x:.1f}%" if pct else f"{x:.3f}")

    click.echo(f"Evaluated {info['checkpoint']} ({info['format']}) on {info['data']}")
    click.echo(
        f"  {s['videos']} videos: " + ", ".join(f"{k} {n}" for k, n in s["verdicts"].items())
    )
    click.echo(
        f"  AUC {f(tm.get('auc'), False)}  accuracy {f(tm.get('accuracy'))}  precision "
        f"{f(tm.get('precision'))}  recall {f(tm.get('recall'))}  F1 "
        f"{f(tm.get('f1'), False)}  (threshold {s['decision']['threshold']:.3f})"
    )
    click.echo(
        f"  UNCERTAIN {f(s['uncertain_rate'])}  NO_FACE {f(s['no_face_rate'])}  strict "
        f"accuracy {f(s['strict_accuracy'])}"
    )
    for r in s["per_method"]:
        click.echo(
            f"    {r['method']:16s} {r['videos']:5d} videos  accuracy {f(r['accuracy'])}"
            f"  AUC vs real {f(r['auc_vs_real'], False)}"
        )
    if info.get("warning"):
        click.echo(f"  WARNING: {info['warning']}")
    click.echo(
        f"  report: {res['files']['markdown']} (+ report.json, scores.csv, roc.png, scores.png)"
    )
    if res["recorded"]:
        click.echo("  metrics recorded in the checkpoint's metadata")
