"""Verification metrics: FAR, FRR, EER, accuracy at a threshold, ROC-AUC, DET points.

Scores are "higher = more likely genuine"; a query is accepted as genuine when ``score >= t``.
FRR = genuine rejected / genuine; FAR = skilled forgeries accepted / forgeries.
"""

from __future__ import annotations

import numpy as np


def _split(y, s):
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    return s[y], s[~y]


def rates_at(y, s, t: float) -> dict[str, float]:
    """FRR, FAR, accuracy and balanced accuracy when accepting ``score >= t``."""
    gen, forg = _split(y, s)
    frr = float(np.mean(gen < t)) if len(gen) else float("nan")
    far = float(np.mean(forg >= t)) if len(forg) else float("nan")
    y = np.asarray(y).astype(bool)
    acc = float(np.mean((np.asarray(s) >= t) == y))
    return {"frr": frr, "far": far, "accuracy": acc, "balanced_accuracy": 1.0 - (frr + far) / 2.0, "threshold": float(t)}


def eer(y, s) -> tuple[float, float]:
    """(EER, threshold): where FAR and FRR cross (mean of the two at the closest threshold)."""
    gen, forg = _split(y, s)
    cand = np.unique(np.concatenate([gen, forg]))
    # thresholds between consecutive scores as well, so a perfect separation gives EER 0
    mids = np.concatenate([cand, (cand[:-1] + cand[1:]) / 2.0, [cand[-1] + 1e-9]])
    mids.sort()
    frr = np.searchsorted(np.sort(gen), mids, side="left") / max(len(gen), 1)
    far = 1.0 - np.searchsorted(np.sort(forg), mids, side="left") / max(len(forg), 1)
    diff = np.abs(far - frr)
    best = np.flatnonzero(diff == diff.min())
    i = best[len(best) // 2]
    return float((far[i] + frr[i]) / 2.0), float(mids[i])


def threshold_at_far(y, s, target: float) -> float:
    """Lowest threshold whose FAR is at most ``target``."""
    _, forg = _split(y, s)
    forg = np.sort(forg)
    if len(forg) == 0:
        return 0.0
    k = int(np.floor(target * len(forg)))  # forgeries allowed above the threshold
    if k >= len(forg):
        return float(forg[0])
    return float(np.nextafter(forg[len(forg) - 1 - k], np.inf))


def threshold_at_frr(y, s, target: float) -> float:
    """Highest threshold whose FRR is at most ``target``."""
    gen, _ = _split(y, s)
    gen = np.sort(gen)
    if len(gen) == 0:
        return 1.0
    k = int(np.floor(target * len(gen)))  # genuine allowed below the threshold
    return float(gen[min(k, len(gen) - 1)])


def auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y).astype(int), s))


def roc_points(y, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FAR, 1 - FRR, thresholds) from sklearn's roc_curve."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(np.asarray(y).astype(int), s)
    return fpr, tpr, thr


def summary(y, s, threshold: float | None = None) -> dict[str, float]:
    """EER (+ its threshold), AUC and, when given, the rates at ``threshold``."""
    e, t = eer(y, s)
    out = {"eer": e, "eer_threshold": t, "auc": auc(y, s), "n_genuine": int(np.sum(y)),
           "n_forged": int(len(y) - np.sum(y))}
    if threshold is not None:
        out.update({f"{k}": v for k, v in rates_at(y, s, threshold).items()})
    return out
