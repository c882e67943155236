"""Video-level metrics of scored videos (scikit-learn), overall, with the band, per method.

FAKE is the positive class. Threshold metrics use every scored video (FAKE when
``p_fake >= threshold``); the band's numbers count UNCERTAIN verdicts apart; NO_FACE and
failed videos have no score and are counted in their own rates, and in ``strict_accuracy``
(correct verdicts over all videos) as wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from deepfake_web.detection.decision import DecisionRule

from .scoring import VideoScore


def binary_metrics(y, p, threshold: float) -> dict:
    """Accuracy, precision, recall, F1, ROC AUC and the confusion matrix at ``threshold``."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y, p = np.asarray(y, dtype=np.int64), np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return {"videos": 0}
    pred = (p >= threshold).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, pred, average="binary", pos_label=1, zero_division=0
    )
    both = len(set(y.tolist())) == 2
    cm = confusion_matrix(y, pred, labels=[0, 1])
    return {
        "videos": len(y),
        "fake": int(y.sum()),
        "real": int(len(y) - y.sum()),
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if both else None,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auc": float(roc_auc_score(y, p)) if both else None,
        "confusion": {
            "rows": "true REAL, true FAKE",
            "columns": "predicted REAL, predicted FAKE",
            "matrix": cm.tolist(),
        },
    }


def verdict(score: VideoScore, rule: DecisionRule) -> str:
    """The engine's verdict for a scored video, NO_FACE, or FAILED."""
    if score.status == "no_face":
        return "NO_FACE"
    if score.status != "scored":
        return "FAILED"
    return str(rule.decide(score.p_fake)[0])


def summarise(scores: Sequence[VideoScore], threshold: float, margin: float) -> dict:
    """Every number of the evaluation report (JSON-serialisable)."""
    rule = DecisionRule(threshold, margin)
    verdicts = [verdict(s, rule) for s in scores]
    scored = [s for s in scores if s.status == "scored"]
    y = np.array([int(s.is_fake) for s in scored], dtype=np.int64)
    p = np.array([s.p_fake for s in scored], dtype=np.float64)
    counts = Counter(verdicts)
    total = len(scores)
    decided = [(s, v) for s, v in zip(scores, verdicts, strict=True) if v in ("REAL", "FAKE")]
    right = sum(1 for s, v in decided if v == s.label)
    return {
        "videos": total,
        "verdicts": {
            k: counts.get(k, 0) for k in ("REAL", "FAKE", "UNCERTAIN", "NO_FACE", "FAILED")
        },
        "no_face_rate": counts.get("NO_FACE", 0) / total if total else None,
        "failed_rate": counts.get("FAILED", 0) / total if total else None,
        "uncertain_rate": counts.get("UNCERTAIN", 0) / len(scored) if scored else None,
        "threshold_metrics": binary_metrics(y, p, threshold),
        "decided": {
            "videos": len(decided),
            "accuracy": right / len(decided) if decided else None,
            "coverage": len(decided) / len(scored) if scored else None,
        },
        "strict_accuracy": right / total if total else None,
        "per_method": per_method(scores, verdicts, threshold),
        "decision": {"threshold": threshold, "uncertain_margin": margin},
    }


def per_method(scores: Sequence[VideoScore], verdicts: Sequence[str], threshold: float) -> list:
    """One row per manipulation method (``original`` = real videos)."""
    from sklearn.metrics import roc_auc_score

    real_p = [s.p_fake for s in scores if s.status == "scored" and not s.is_fake]
    rows = []
    for method in sorted({s.method for s in scores}, key=lambda m: (m != "original", m)):
        items = [(s, v) for s, v in zip(scores, verdicts, strict=True) if s.method == method]
        scored = [s for s, _ in items if s.status == "scored"]
        c = Counter(v for _, v in items)
        labels = {s.label for s, _ in items}
        correct = sum(1 for s in scored if (s.p_fake >= threshold) == s.is_fake)
        row = {
            "method": method,
            "label": "/".join(sorted(labels)),
            "videos": len(items),
            "scored": len(scored),
            "no_face": c.get("NO_FACE", 0),
            "failed": c.get("FAILED", 0),
            "uncertain": c.get("UNCERTAIN", 0),
            "mean_p_fake": float(np.mean([s.p_fake for s in scored])) if scored else None,
            "accuracy": correct / len(scored) if scored else None,
            "auc_vs_real": None,
        }
        fake_p = [s.p_fake for s in scored if s.is_fake]
        if method != "original" and fake_p and real_p:
            yy = np.r_[np.zeros(len(real_p)), np.ones(len(fake_p))]
            row["auc_vs_real"] = float(roc_auc_score(yy, np.r_[real_p, fake_p]))
        rows.append(row)
    return rows
