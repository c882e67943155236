"""Metrics against hand counts and scikit-learn; calibration picks the constructed answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from deepfake_web.detection.decision import DecisionRule
from deepfake_web.training.calibrate import choose_band, choose_threshold, reliability
from deepfake_web.training.metrics import binary_metrics, summarise, verdict
from deepfake_web.training.scoring import VideoScore

# Five real and five fake videos. Cutting at 0.35 catches every fake and calls one real
# (0.62) FAKE; cutting at 0.66 misses one fake (0.40) and calls no real FAKE. Both have
# balanced accuracy 0.9; the gap around 0.35 (0.30 → 0.40) is wider than around 0.66
# (0.62 → 0.70), so 0.35 is chosen.
REAL = [0.05, 0.10, 0.20, 0.30, 0.62]
FAKE = [0.40, 0.70, 0.80, 0.90, 0.95]
Y = np.array([0] * 5 + [1] * 5)
P = np.array(REAL + FAKE)


def test_binary_metrics_match_hand_counts_and_sklearn() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.4, 0.6, 0.3, 0.7, 0.8, 0.9])
    m = binary_metrics(y, p, 0.5)
    assert m["confusion"]["matrix"] == [[2, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(0.75)
    assert m["auc"] == pytest.approx(10 / 12)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 3 / 4) / 2)

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    m = binary_metrics(y, p, 0.45)
    pred = p >= 0.45
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["accuracy"] == pytest.approx(np.mean(pred == y))


def test_threshold_maximises_balanced_accuracy_with_the_wider_gap() -> None:
    th = choose_threshold(Y, P)
    assert th.threshold == pytest.approx(0.35)
    assert th.balanced_accuracy == pytest.approx(0.9)
    assert (th.tpr, th.fpr) == (pytest.approx(1.0), pytest.approx(0.2))
    assert th.method == "balanced_accuracy"


def test_threshold_for_a_target_false_positive_rate() -> None:
    strict = choose_threshold(Y, P, target_fpr=0.0)
    assert strict.threshold == pytest.approx(0.66)
    assert (strict.tpr, strict.fpr) == (pytest.approx(0.8), 0.0)
    loose = choose_threshold(Y, P, target_fpr=0.2)
    assert loose.threshold == pytest.approx(0.35)
    nothing = choose_threshold(np.array([0, 1]), np.array([0.9, 0.1]), target_fpr=0.0)
    assert nothing.fpr == 0.0 and nothing.threshold > 0.9  # only "never FAKE" is allowed


def test_band_is_the_narrowest_that_reaches_the_target_accuracy() -> None:
    # At 0.35 the one mistake (real 0.62) lies 0.27 away. Leaving the five videos within
    # 0.27 UNCERTAIN makes the rest 100 % right: the band is the midpoint of 0.27 and the
    # next distance, 0.30 (real 0.05).
    band = choose_band(Y, P, 0.35, target_accuracy=1.0)
    assert band.margin == pytest.approx(0.285)
    assert band.accuracy_outside == 1.0
    assert band.uncertain_fraction == pytest.approx(0.5)
    assert band.reached
    assert choose_band(Y, P, 0.35, target_accuracy=0.9).margin == 0.0  # already 9/10
    capped = choose_band(Y, P, 0.35, target_accuracy=1.0, max_uncertain=0.4)
    assert not capped.reached
    assert capped.margin == 0.0 and capped.accuracy_outside == pytest.approx(0.9)
    fixed = choose_band(Y, P, 0.35, width=0.1)
    assert fixed.margin == 0.1 and fixed.uncertain_fraction == pytest.approx(0.2)
    # The engine's rule agrees with the band: exactly the five closest are UNCERTAIN.
    rule = DecisionRule(0.35, band.margin)
    uncertain = [p for p in P if rule.decide(float(p))[0] == "UNCERTAIN"]
    assert sorted(uncertain) == [0.1, 0.2, 0.3, 0.4, 0.62]


def test_reliability_bins_ece_and_brier() -> None:
    rel = reliability([0, 0, 1, 1], [0.05, 0.15, 0.15, 0.95])
    counts = [b["count"] for b in rel["bins"]]
    assert counts == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert rel["bins"][1]["fraction_fake"] == 0.5
    assert rel["ece"] == pytest.approx(0.25 * 0.05 + 0.5 * 0.35 + 0.25 * 0.05)
    assert rel["brier"] == pytest.approx((0.05**2 + 0.15**2 + 0.85**2 + 0.05**2) / 4)

    rng = np.random.default_rng(3)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    rel = reliability(y, p)
    true, pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    used = [b for b in rel["bins"] if b["count"]]
    assert [b["fraction_fake"] for b in used] == pytest.approx(list(true))
    assert [b["mean_p_fake"] for b in used] == pytest.approx(list(pred))


def _score(label: str, method: str, p: float | None, status: str = "scored") -> VideoScore:
    return VideoScore(f"{method}/{label}{p}.mp4", label, method, "test", status, p)


def test_summary_counts_verdicts_rates_and_methods() -> None:
    scores = [_score("REAL", "original", p) for p in REAL]
    scores += [_score("FAKE", "swap", p) for p in FAKE[:3]]
    scores += [_score("FAKE", "blur", p) for p in FAKE[3:]]
    scores += [_score("FAKE", "blur", None, "no_face"), _score("REAL", "original", None, "failed")]
    s = summarise(scores, 0.35, 0.285)
    assert s["videos"] == 12
    assert s["verdicts"] == {"REAL": 1, "FAKE": 4, "UNCERTAIN": 5, "NO_FACE": 1, "FAILED": 1}
    assert s["no_face_rate"] == pytest.approx(1 / 12)
    assert s["uncertain_rate"] == pytest.approx(0.5)
    assert s["decided"] == {"videos": 5, "accuracy": 1.0, "coverage": 0.5}
    assert s["strict_accuracy"] == pytest.approx(5 / 12)
    assert s["threshold_metrics"]["auc"] == pytest.approx(roc_auc_score(Y, P))
    rows = {r["method"]: r for r in s["per_method"]}
    assert list(rows) == ["original", "blur", "swap"]
    assert rows["original"]["failed"] == 1 and rows["original"]["accuracy"] == pytest.approx(0.8)
    assert rows["blur"]["no_face"] == 1 and rows["blur"]["scored"] == 2
    assert rows["swap"]["auc_vs_real"] == pytest.approx(
        roc_auc_score([0] * 5 + [1] * 3, REAL + FAKE[:3])
    )
    assert verdict(scores[-1], DecisionRule()) == "FAILED"
