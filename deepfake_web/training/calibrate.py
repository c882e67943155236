"""Calibration on validation scores: the decision threshold, the uncertain band, reliability.

The engine decides FAKE when ``p_fake >= threshold`` and UNCERTAIN when
``|p_fake - threshold| < uncertain_margin``; both come from here.

* **Threshold**: candidates are the midpoints between consecutive distinct scores (and one
  below the lowest and one above the highest). ``balanced`` maximises balanced accuracy,
  ties broken by the wider gap between the two scores around it, then by closeness to 0.5;
  ``target_fpr`` keeps the candidates whose false-positive rate (REAL called FAKE) is at most
  the target and among them takes the highest true-positive rate (then the lowest FPR, then
  the wider gap).
* **Band**: the narrowest half-width ``m`` such that the videos with ``|p - t| >= m`` are
  decided with at least ``target_accuracy``: the ``k`` videos closest to the threshold are
  left UNCERTAIN, for the smallest ``k`` that works, and ``m`` is the midpoint between the
  ``k``-th and ``(k+1)``-th distances. At most ``max_uncertain`` of the videos may fall in the
  band; when the target cannot be met within that, the most accurate band allowed is used
  and ``reached`` is False.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdChoice:
    """A chosen threshold and the validation numbers at it."""

    threshold: float
    method: str
    balanced_accuracy: float
    tpr: float
    fpr: float

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class BandChoice:
    """A chosen uncertain band and what it does on validation."""

    margin: float
    method: str
    accuracy_outside: float | None
    uncertain_fraction: float
    reached: bool

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=np.int64), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("need one label and one score per video")
    if len(set(y.tolist())) < 2:
        raise ValueError("calibration needs both REAL and FAKE videos")
    return y, p


def candidate_thresholds(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints between consecutive distinct scores plus one beyond each end, and their gaps."""
    u = np.unique(p)
    below, above = u[0] / 2, (u[-1] + 1) / 2
    mids = (u[:-1] + u[1:]) / 2
    gaps = np.diff(u)
    return (
        np.concatenate([[below], mids, [above]]),
        np.concatenate([[u[0] - below], gaps, [above - u[-1]]]),
    )


def choose_threshold(y, p, target_fpr: float | None = None) -> ThresholdChoice:
    """The threshold by balanced accuracy, or the best TPR at FPR ≤ ``target_fpr``."""
    y, p = _check(y, p)
    t, gaps = candidate_thresholds(p)
    pred = p[None, :] >= t[:, None]
    fake, real = y == 1, y == 0
    tpr = (pred & fake).sum(1) / fake.sum()
    fpr = (pred & real).sum(1) / real.sum()
    bal = (tpr + 1 - fpr) / 2
    closeness = -np.abs(t - 0.5)
    if target_fpr is None:
        order = np.lexsort((closeness, gaps, bal))  # last key is primary
        method = "balanced_accuracy"
    else:
        ok = fpr <= target_fpr + 1e-12
        order = np.lexsort((gaps, -fpr, tpr, ok.astype(int)))
        method = f"target_fpr={target_fpr:g}"
    i = int(order[-1])
    return ThresholdChoice(float(t[i]), method, float(bal[i]), float(tpr[i]), float(fpr[i]))


def choose_band(
    y,
    p,
    threshold: float,
    target_accuracy: float | None = 0.95,
    width: float | None = None,
    max_uncertain: float = 0.5,
) -> BandChoice:
    """The uncertain band's half-width: fixed ``width``, or the narrowest reaching the target."""
    y, p = _check(y, p)
    d = np.abs(p - threshold)
    correct = (p >= threshold).astype(np.int64) == y

    def outside(m: float) -> tuple[float | None, float]:
        keep = d >= m
        acc = float(correct[keep].mean()) if keep.any() else None
        return acc, float(1 - keep.mean())

    if width is not None:
        acc, frac = outside(width)
        return BandChoice(float(width), f"fixed={width:g}", acc, frac, True)
    if target_accuracy is None:
        raise ValueError("give target_accuracy or width")
    u = np.unique(d)
    margins = np.concatenate([[0.0], (u[:-1] + u[1:]) / 2])  # exclude the k closest videos
    best = None
    for m in margins:
        acc, frac = outside(float(m))
        if acc is None or frac > max_uncertain + 1e-12:
            break
        if acc >= target_accuracy - 1e-12:
            return BandChoice(float(m), f"target_accuracy={target_accuracy:g}", acc, frac, True)
        if best is None or acc > best[1] + 1e-12:
            best = (float(m), acc, frac)
    m, acc, frac = best if best else (0.0, *outside(0.0))
    return BandChoice(m, f"target_accuracy={target_accuracy:g}", acc, frac, False)


def reliability(y, p, bins: int = 10) -> dict:
    """Reliability bins of p_fake (equal width), expected calibration error and Brier score."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        sel = which == b
        n = int(sel.sum())
        row = {
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "count": n,
            "mean_p_fake": None,
            "fraction_fake": None,
        }
        if n:
            row["mean_p_fake"] = float(p[sel].mean())
            row["fraction_fake"] = float(y[sel].mean())
            ece += n / len(p) * abs(row["mean_p_fake"] - row["fraction_fake"])
        rows.append(row)
    return {
        "bins": rows,
        "ece": float(ece),
        "brier": float(np.mean((p - y) ** 2)),
        "videos": len(p),
    }
