"""Classification metrics with scikit-learn, in one JSON-able dict.

:func:`classification_metrics` gives accuracy, balanced accuracy, per-class precision, recall
(sensitivity), F1, specificity, ROC-AUC and counts (TP/FP/FN/TN, support), macro and weighted
averages, the confusion matrix (rows = true class, columns = predicted), ROC-AUC (binary: of the
second class's probability; multi-class: one-vs-rest, macro and weighted) and top-k accuracy for
every k below the number of classes.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def specificity_per_class(cm: np.ndarray) -> np.ndarray:
    """TN / (TN + FP) per class from a confusion matrix (rows true, columns predicted)."""
    cm = np.asarray(cm, dtype=np.int64)
    total = cm.sum()
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = total - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        spec = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), 0.0)
    return spec.astype(float)


def top_k_accuracy(y_true: Sequence[int], probs: np.ndarray, k: int) -> float:
    """Fraction of items whose true class is among the ``k`` most probable (ties broken by index)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(order == y[:, None], axis=1)))


def _safe(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def roc_auc(y_true: Sequence[int], probs: np.ndarray, n_classes: int) -> dict:
    """ROC-AUC: binary (positive = class 1), or one-vs-rest macro/weighted plus per class."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    per_class = {}
    for c in range(n_classes):
        pos = y == c
        per_class[c] = _safe(roc_auc_score(pos, probs[:, c])) if 0 < pos.sum() < len(y) else None
    out: dict = {"per_class": per_class}
    if n_classes == 2:
        out["auc"] = per_class[1]
        out["macro"] = per_class[1]
        out["weighted"] = per_class[1]
        return out
    present = [c for c in range(n_classes) if per_class[c] is not None]
    if present:
        out["macro"] = float(np.mean([per_class[c] for c in present]))
        w = np.array([(y == c).sum() for c in present], float)
        out["weighted"] = float(np.sum(w * np.array([per_class[c] for c in present])) / w.sum())
    else:
        out["macro"] = out["weighted"] = None
    out["auc"] = out["macro"]
    return out


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], probs: np.ndarray | None,
                           class_names: Sequence[str]) -> dict:
    """All the card's metrics for one set of predictions (see the module docstring)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    names = list(class_names)
    n_classes = len(names)
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(y_pred, dtype=int)
    labels = list(range(n_classes))
    cm = confusion_matrix(y, p, labels=labels)
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    spec = specificity_per_class(cm)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    auc = roc_auc(y, probs, n_classes) if probs is not None else None
    per_class = {}
    for i, name in enumerate(names):
        per_class[name] = {
            "precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
            "specificity": float(spec[i]), "support": int(support[i]),
            "tp": int(tp[i]), "fp": int(fp[i]), "fn": int(fn[i]), "tn": int(tn[i]),
            "roc_auc": auc["per_class"][i] if auc else None,
        }
    w = support / max(support.sum(), 1)

    def avg(values: np.ndarray) -> dict:
        return {"macro": float(np.mean(values)), "weighted": float(np.sum(w * values))}

    # sklearn's balanced accuracy averages recall over the classes present in y_true.
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bal = balanced_accuracy_score(y, p)
    out = {
        "n": int(len(y)),
        "correct": int((y == p).sum()),
        "accuracy": float(accuracy_score(y, p)),
        "balanced_accuracy": float(bal),
        "per_class": per_class,
        "macro": {k: avg(v)["macro"] for k, v in (("precision", prec), ("recall", rec), ("f1", f1),
                                                   ("specificity", spec))},
        "weighted": {k: avg(v)["weighted"] for k, v in (("precision", prec), ("recall", rec), ("f1", f1),
                                                         ("specificity", spec))},
        "confusion_matrix": cm.tolist(),
        "classes": names,
    }
    if auc is not None:
        out["roc_auc"] = auc["auc"]
        out["roc_auc_macro"] = auc["macro"]
        out["roc_auc_weighted"] = auc["weighted"]
        out["top_k"] = {str(k): top_k_accuracy(y, probs, k) for k in range(2, n_classes) if k <= 5}
    return out


def quick_metrics(y_true: np.ndarray, probs: np.ndarray, class_weights: np.ndarray | None = None) -> dict:
    """The validation numbers the training loop watches: loss, accuracy, balanced accuracy,
    macro F1 and ROC-AUC (from argmax predictions)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    y = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    pred = probs.argmax(1)
    eps = 1e-12
    nll = -np.log(np.clip(probs[np.arange(len(y)), y], eps, 1.0))
    if class_weights is not None:
        wts = np.asarray(class_weights)[y]
        loss = float(np.sum(wts * nll) / np.sum(wts))
    else:
        loss = float(nll.mean())
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bal = float(balanced_accuracy_score(y, pred))
    try:
        auc = roc_auc(y, probs, n_classes)["auc"]
    except ValueError:
        auc = None
    return {"loss": loss, "accuracy": float(np.mean(pred == y)), "balanced_accuracy": bal,
            "macro_f1": float(f1_score(y, pred, average="macro", labels=list(range(n_classes)), zero_division=0)),
            "roc_auc": auc if auc is not None else float("nan")}


def _auc_rank(pos: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC by the rank-sum (Mann-Whitney) formula, ties averaged; None if one side is empty."""
    from scipy.stats import rankdata

    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    r = rankdata(score)
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def bootstrap_ci(y_true: Sequence[int], y_pred: Sequence[int], probs: np.ndarray, n_classes: int, *,
                 n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, list[float]]:
    """Percentile bootstrap intervals (resampling test images) for accuracy, balanced accuracy,
    macro F1, ROC-AUC (as :func:`roc_auc` computes it) and top-k: how much the numbers could move
    on another test set of this size."""
    y = np.asarray(y_true, int)
    p = np.asarray(y_pred, int)
    probs = np.asarray(probs, np.float64)
    rng = np.random.default_rng(seed)
    ks = [k for k in (2, 3) if k < n_classes]
    rows: dict[str, list[float]] = {"accuracy": [], "balanced_accuracy": [], "macro_f1": [], "roc_auc": []}
    for k in ks:
        rows[f"top{k}"] = []
    order = np.argsort(-probs, axis=1, kind="stable")
    auc_classes = [1] if n_classes == 2 else list(range(n_classes))
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        yb, pb = y[idx], p[idx]
        cm = np.bincount(yb * n_classes + pb, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
        tp = np.diag(cm).astype(float)
        support = cm.sum(1)
        predicted = cm.sum(0)
        rows["accuracy"].append(float(tp.sum() / len(yb)))
        present = support > 0
        rows["balanced_accuracy"].append(float(np.mean(tp[present] / support[present])))
        denom = support + predicted
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        rows["macro_f1"].append(float(np.mean(f1)))
        aucs = [_auc_rank(yb == c, probs[idx, c]) for c in auc_classes]
        aucs = [a for a in aucs if a is not None]
        if aucs:
            rows["roc_auc"].append(float(np.mean(aucs)))
        for k in ks:
            rows[f"top{k}"].append(float(np.mean(np.any(order[idx, :k] == yb[:, None], axis=1))))
    a = (1.0 - level) / 2.0
    return {k: [float(np.quantile(v, a)), float(np.quantile(v, 1 - a))] for k, v in rows.items() if v}
