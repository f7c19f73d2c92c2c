"""PNG plots for runs and model cards (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(history: list[dict], path: Path, monitor: str = "balanced_accuracy") -> Path:
    """Loss and the monitored validation metric per epoch, both stages on one time axis."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    if history:
        x = np.arange(1, len(history) + 1)
        stages = [h["stage"] for h in history]
        axes[0].plot(x, [h["train_loss"] for h in history], "o-", ms=3, label="train loss (augmented)")
        axes[0].plot(x, [h["val_loss"] for h in history], "o-", ms=3, label="validation loss")
        metric = monitor if monitor != "loss" else "balanced_accuracy"
        axes[1].plot(x, [h["train_accuracy"] for h in history], "o-", ms=3, label="train accuracy")
        axes[1].plot(x, [h["val_accuracy"] for h in history], "o-", ms=3, label="val accuracy")
        axes[1].plot(x, [h[f"val_{metric}"] for h in history], "o-", ms=3, label=f"val {metric}")
        if metric != "roc_auc":
            axes[1].plot(x, [h["val_roc_auc"] for h in history], ".--", ms=3, label="val ROC-AUC")
        for ax in axes:
            for i in range(1, len(stages)):
                if stages[i] != stages[i - 1]:
                    ax.axvline(i + 0.5, color="grey", ls=":", lw=1)
                    ax.text(i + 0.6, ax.get_ylim()[1], stages[i], va="top", fontsize=8, color="grey")
            ax.set_xlabel("epoch (head, then fine-tuning)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    axes[0].set_title("loss")
    axes[1].set_title("validation metrics")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion_matrix(cm: list[list[int]], labels: list[str], path: Path, title: str) -> Path:
    """Counts with row-normalised shading (rows = true class)."""
    plt = _plt()
    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 0.75 * n, 1.0 + 0.7 * n), dpi=100)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]}\n{100 * norm[i, j]:.0f}%", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def roc_curves(y_true: np.ndarray, probs: np.ndarray, labels: list[str], path: Path, title: str,
               operating_points: list[tuple[str, float, float]] | None = None) -> Path:
    """ROC per class (one-vs-rest), or of the positive class for two classes."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.6), dpi=100)
    y = np.asarray(y_true)
    classes = [1] if len(labels) == 2 else range(len(labels))
    for c in classes:
        pos = y == c
        if 0 < pos.sum() < len(y):
            fpr, tpr, _ = roc_curve(pos, probs[:, c])
            ax.plot(fpr, tpr, lw=1.5, label=f"{labels[c]} (AUC {roc_auc_score(pos, probs[:, c]):.3f}, n={pos.sum()})")
    for name, fpr, tpr in operating_points or []:
        ax.plot([fpr], [tpr], "k*", ms=10)
        ax.annotate(name, (fpr, tpr), textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def ood_histogram(in_domain: dict[str, np.ndarray], ood: dict[str, np.ndarray], threshold: float,
                  path: Path, title: str, log_scale: bool = True) -> Path:
    """Score distributions of in-domain and out-of-domain sets, with the refusal threshold."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    every = np.concatenate([np.asarray(v, float) for v in list(in_domain.values()) + list(ood.values())])
    lo, hi = float(np.min(every)), float(np.max(every))
    positive = lo > 0 and log_scale
    bins = np.geomspace(lo, hi, 60) if positive else np.linspace(lo, hi, 60)
    for name, v in in_domain.items():
        ax.hist(v, bins=bins, histtype="stepfilled", alpha=0.35, label=f"{name} (n={len(v)})")
    for name, v in ood.items():
        ax.hist(v, bins=bins, histtype="step", lw=1.5, label=f"{name} (n={len(v)})")
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.3g}")
    if positive:
        ax.set_xscale("log")
    ax.set_xlabel("out-of-domain score (higher = less like the training images)")
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
