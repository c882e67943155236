"""Evaluation and calibration reports: JSON, Markdown, a CSV of scores, and PNG plots."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np

from deepfake_web.detection.cards import card_files
from deepfake_web.files import replacing

from .plots import histogram_plot, reliability_plot, roc_plot
from .scoring import VideoScore


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def write_scores(path: Path, scores: list[VideoScore], verdicts: list[str]) -> None:
    """One CSV row per video: path, label, method, split, status, verdict, p_fake, frames."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "path",
                "label",
                "method",
                "split",
                "status",
                "verdict",
                "p_fake",
                "frames_used",
                "error",
            ]
        )
        for s, v in zip(scores, verdicts, strict=True):
            p = "" if s.p_fake is None else f"{s.p_fake:.6f}"
            writer.writerow(
                [s.path, s.label, s.method, s.split, s.status, v, p, s.frames_used, s.error or ""]
            )


def evaluation_markdown(summary: dict, info: dict) -> str:
    """The evaluation report as Markdown."""
    tm = summary["threshold_metrics"]
    v = summary["verdicts"]
    dec = summary["decision"]
    lines = [f"# Evaluation: {info['checkpoint']}", ""]
    if info.get("warning"):
        lines += [f"> **Warning:** {info['warning']}", ""]
    lines += [
        f"- data: {info['data']} — {summary['videos']} videos",
        f"- checkpoint: `{info['checkpoint']}` ({info['format']}), sha256 `{info['sha256']}`",
        f"- sequence length {info['sequence_length']}, scored on {info['frames']} cached "
        f"frames per video; preprocessing {info['preprocessing']}",
        f"- decision: FAKE when p_fake ≥ {dec['threshold']:.3f}; UNCERTAIN within "
        f"±{dec['uncertain_margin']:.3f} ({info.get('decision_method', 'n/a')})",
        f"- face cache `{info['faces']}`, feature cache `{info['features']}`",
        f"- made {info['created']} with deepfake-web evaluate",
        "",
        "## Overall",
        "",
        "Threshold metrics use every video with a score (FAKE is the positive class); the "
        "band columns count UNCERTAIN verdicts apart. Strict accuracy counts NO_FACE, "
        "UNCERTAIN and failed videos as wrong.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| videos scored | {tm.get('videos', 0)} of {summary['videos']} |",
        f"| ROC AUC | {_num(tm.get('auc'))} |",
        f"| accuracy (threshold) | {_pct(tm.get('accuracy'))} |",
        f"| balanced accuracy | {_pct(tm.get('balanced_accuracy'))} |",
        f"| precision (FAKE) | {_pct(tm.get('precision'))} |",
        f"| recall (FAKE) | {_pct(tm.get('recall'))} |",
        f"| F1 (FAKE) | {_num(tm.get('f1'))} |",
        f"| UNCERTAIN rate (of scored) | {_pct(summary['uncertain_rate'])} |",
        f"| accuracy outside the band | {_pct(summary['decided']['accuracy'])} |",
        f"| NO_FACE rate | {_pct(summary['no_face_rate'])} |",
        f"| failed | {v['FAILED']} |",
        f"| strict accuracy (all videos) | {_pct(summary['strict_accuracy'])} |",
        "",
        "Verdicts: " + ", ".join(f"{k} {n}" for k, n in v.items()),
        "",
    ]
    if "confusion" in tm:
        (tn, fp), (fn, tp) = tm["confusion"]["matrix"]
        lines += [
            "## Confusion matrix (threshold only, scored videos)",
            "",
            "| | predicted REAL | predicted FAKE |",
            "|---|---|---|",
            f"| **true REAL** | {tn} | {fp} |",
            f"| **true FAKE** | {fn} | {tp} |",
            "",
        ]
    lines += [
        "## Per manipulation method",
        "",
        "`original` are the real videos; for them accuracy is the share called REAL. AUC vs "
        "real ranks one method's fakes against all real videos.",
        "",
        "| method | label | videos | scored | NO_FACE | UNCERTAIN | mean p_fake | accuracy | "
        "AUC vs real |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["per_method"]:
        lines.append(
            f"| {r['method']} | {r['label']} | {r['videos']} | {r['scored']} | {r['no_face']} | "
            f"{r['uncertain']} | {_num(r['mean_p_fake'])} | {_pct(r['accuracy'])} | "
            f"{_num(r['auc_vs_real'])} |"
        )
    lines += [
        "",
        "## Plots",
        "",
        "![ROC curve](roc.png)",
        "",
        "![p_fake per class](scores.png)",
        "",
        "Files: `report.json` (every number), `scores.csv` (one row per video).",
        "",
    ]
    return "\n".join(lines)


def write_evaluation(
    out: str | os.PathLike,
    summary: dict,
    scores: list[VideoScore],
    verdicts: list[str],
    info: dict,
) -> dict[str, str]:
    """Write report.json, report.md, scores.csv, roc.png and scores.png into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    scored = [s for s in scores if s.status == "scored"]
    y = np.array([int(s.is_fake) for s in scored])
    p = np.array([s.p_fake for s in scored])
    dec = summary["decision"]
    title = f"{info['data_short']} ({len(scored)} scored videos)"
    files = {
        "json": folder / "report.json",
        "markdown": folder / "report.md",
        "scores": folder / "scores.csv",
        "roc": folder / "roc.png",
        "histogram": folder / "scores.png",
    }
    roc_plot(y, p, files["roc"], f"ROC: {title}", dec["threshold"])
    histogram_plot(
        y,
        p,
        dec["threshold"],
        dec["uncertain_margin"],
        files["histogram"],
        f"p_fake per class: {title}",
    )
    write_scores(files["scores"], scores, verdicts)
    files["json"].write_text(
        json.dumps(
            {"info": info, "summary": summary, "videos": [s.to_dict() for s in scores]}, indent=1
        )
    )
    files["markdown"].write_text(evaluation_markdown(summary, info))
    return {k: str(v) for k, v in files.items()}


def write_calibration(out: str | os.PathLike, result: dict, y, p) -> dict[str, str]:
    """Write calibration.json, reliability.png, scores.png and calibration.md into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    dec = result["decision"]
    title = result["data_short"]
    files = {
        "json": folder / "calibration.json",
        "markdown": folder / "calibration.md",
        "reliability": folder / "reliability.png",
        "histogram": folder / "scores.png",
    }
    reliability_plot(
        result["calibration"]["reliability"], files["reliability"], f"Reliability: {title}"
    )
    histogram_plot(
        y,
        p,
        dec["threshold"],
        dec["uncertain_margin"],
        files["histogram"],
        f"p_fake per class: {title}",
    )
    files["json"].write_text(json.dumps(result, indent=1))
    rel = result["calibration"]["reliability"]
    th, band = result["calibration"]["threshold"], result["calibration"]["band"]
    lines = [
        f"# Calibration: {result['checkpoint']}",
        "",
        f"- data: {dec['calibrated_on']}",
        f"- threshold {dec['threshold']:.4f} ({th['method']}): balanced accuracy "
        f"{_pct(th['balanced_accuracy'])}, TPR {_pct(th['tpr'])}, FPR {_pct(th['fpr'])}",
        f"- uncertain band ±{dec['uncertain_margin']:.4f} ({band['method']}): "
        f"{_pct(band['uncertain_fraction'])} of these videos UNCERTAIN, accuracy outside "
        f"{_pct(band['accuracy_outside'])}" + ("" if band["reached"] else " (target NOT reached)"),
        f"- reliability: ECE {rel['ece']:.3f}, Brier {rel['brier']:.3f}",
        f"- written into the checkpoint: {'yes' if result['written'] else 'no (dry run)'}",
        "",
        "![reliability](reliability.png)",
        "",
        "![p_fake per class](scores.png)",
        "",
    ]
    files["markdown"].write_text("\n".join(lines))
    return {k: str(v) for k, v in files.items()}


def keep_in_card(checkpoint: str | os.PathLike, kind: str, files: dict[str, str]) -> None:
    """Copy a calibrate / evaluate report's JSON and plots into the checkpoint's card folder."""
    for role, dest in card_files(checkpoint, kind).items():
        if role in files:
            with replacing(dest) as tmp:
                shutil.copyfile(files[role], tmp)
