"""PNG plots of evaluations and calibrations (matplotlib, Agg: no display needed).

Figures are built with :class:`matplotlib.figure.Figure` directly, so nothing touches
pyplot's global state (safe in worker processes and tests).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

REAL_COLOUR, FAKE_COLOUR, BAND_COLOUR = "#2b7bb9", "#d7301f", "#999999"


def _figure(width: float = 6.0, height: float = 4.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def roc_plot(y, p, path: str | os.PathLike, title: str, threshold: float | None = None) -> None:
    """ROC curve with its AUC in the legend, and the operating point at ``threshold``."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y, p = np.asarray(y), np.asarray(p)
    fig = _figure(5.2, 5.0)
    ax = fig.add_subplot()
    if len(set(y.tolist())) == 2:
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, color=FAKE_COLOUR, lw=2, label=f"ROC (AUC = {roc_auc_score(y, p):.3f})")
        if threshold is not None:
            pred = p >= threshold
            op_fpr = pred[y == 0].mean()
            op_tpr = pred[y == 1].mean()
            ax.plot(
                [op_fpr],
                [op_tpr],
                "o",
                color="black",
                ms=7,
                label=f"threshold {threshold:.3f}: TPR {op_tpr:.2f}, FPR {op_fpr:.2f}",
            )
    else:
        ax.text(0.5, 0.5, "needs REAL and FAKE videos", ha="center", va="center")
    ax.plot([0, 1], [0, 1], ls="--", color=BAND_COLOUR, lw=1, label="chance")
    ax.set(
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
        aspect="equal",
        title=title,
        xlabel="false-positive rate (REAL called FAKE)",
        ylabel="true-positive rate (FAKE caught)",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path)


def histogram_plot(
    y, p, threshold: float, margin: float, path: str | os.PathLike, title: str
) -> None:
    """Histograms of p_fake per class, the threshold, and the UNCERTAIN band shaded."""
    y, p = np.asarray(y), np.asarray(p)
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 26)
    if margin > 0:
        ax.axvspan(
            max(0, threshold - margin),
            min(1, threshold + margin),
            color=BAND_COLOUR,
            alpha=0.25,
            label=f"UNCERTAIN band (±{margin:.3f})",
        )
    for label, colour, name in ((0, REAL_COLOUR, "REAL"), (1, FAKE_COLOUR, "FAKE")):
        sel = p[y == label]
        ax.hist(
            sel,
            bins=bins,
            color=colour,
            alpha=0.55,
            edgecolor=colour,
            label=f"{name} videos (n={len(sel)})",
        )
    ax.axvline(threshold, color="black", lw=1.5, label=f"threshold {threshold:.3f}")
    ax.set(
        xlim=(0, 1),
        xlabel="p_fake (the checkpoint's probability of FAKE)",
        ylabel="videos",
        title=title,
    )
    ax.legend(fontsize=8, loc="upper left", framealpha=0.95)
    fig.savefig(path)


def reliability_plot(rel: dict, path: str | os.PathLike, title: str) -> None:
    """Reliability diagram: observed fraction FAKE against mean p_fake per bin, with counts."""
    fig = _figure(5.4, 5.4)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color=BAND_COLOUR, lw=1, label="perfect calibration")
    used = [b for b in rel["bins"] if b["count"]]
    width = rel["bins"][0]["upper"] - rel["bins"][0]["lower"]
    ax.bar(
        [b["lower"] for b in used],
        [b["fraction_fake"] for b in used],
        width=width,
        align="edge",
        color=FAKE_COLOUR,
        alpha=0.5,
        edgecolor=FAKE_COLOUR,
        label="observed fraction FAKE",
    )
    ax.plot(
        [b["mean_p_fake"] for b in used],
        [b["fraction_fake"] for b in used],
        "o-",
        color="black",
        ms=4,
        lw=1,
        label="mean p_fake in bin",
    )
    for b in used:
        ax.annotate(
            str(b["count"]),
            (b["lower"] + width / 2, min(0.97, b["fraction_fake"] + 0.02)),
            ha="center",
            fontsize=7,
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        aspect="equal",
        xlabel="p_fake",
        ylabel="fraction of videos that are FAKE",
        title=f"{title}\nECE {rel['ece']:.3f}, Brier {rel['brier']:.3f} "
        f"({rel['videos']} videos; numbers = videos per bin)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.savefig(path)


def training_plot(history: Sequence[dict], best_epoch: int, path: str | os.PathLike) -> None:
    """Loss and validation AUC per epoch, the selected epoch marked."""
    fig = _figure(7.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", ms=3, label="train loss")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", ms=3, label="val loss")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    aucs = [h["val_auc"] if h["val_auc"] is not None else np.nan for h in history]
    ax2.plot(epochs, aucs, "o-", ms=3, color=FAKE_COLOUR, label="val AUC")
    ax2.plot(
        epochs,
        [h["val_accuracy"] for h in history],
        "o-",
        ms=3,
        color=REAL_COLOUR,
        label="val accuracy (0.5)",
    )
    ax2.set(xlabel="epoch", ylim=(0, 1.02), title="validation")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(best_epoch, color=BAND_COLOUR, ls="--", lw=1, label=f"kept: epoch {best_epoch}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(path)
