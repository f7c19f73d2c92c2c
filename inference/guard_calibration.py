"""Setting a guard's thresholds on clean scores: used by training (``training.guard``), kept in the
core and tested there because the runtime trusts what it produces (:mod:`inference.guard`
re-exports these names)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

# Detectors that need extra classifier runs; with a screen they run only on screened images.
GATED = ("divergence", "squeeze")


def threshold_at_false_alarm_rate(clean_scores: Sequence[float], rate: float) -> float:
    """The threshold that lets ``rate`` of the clean scores exceed it (MagNet's convention).

    A score fires when it is strictly above the threshold; the threshold is the ``1 - rate``
    empirical quantile ("higher" interpolation, so at most ``rate`` of the clean scores exceed it).
    """
    s = np.asarray(clean_scores, dtype=np.float64)
    if s.size == 0:
        raise ValueError("no clean scores to calibrate on")
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be in [0, 1]")
    return float(np.quantile(s, 1.0 - rate, method="higher"))


def fired_any(scores: Mapping[str, np.ndarray], thresholds: Mapping[str, float],
              screen: float | None = None) -> np.ndarray:
    """Which images any detector flags. With a ``screen`` threshold, the classifier-based detectors
    (divergence, squeeze) only count where the reconstruction error exceeds it — as at run time,
    where they are not even computed elsewhere."""
    n = len(next(iter(scores.values())))
    fired = np.zeros(n, bool)
    gate = np.ones(n, bool)
    if screen is not None and "reconstruction" in scores:
        gate = np.asarray(scores["reconstruction"]) > screen
    for name, thr in thresholds.items():
        hit = np.asarray(scores[name]) > thr
        fired |= hit & gate if name in GATED else hit
    return fired


def joint_thresholds(clean: Mapping[str, Sequence[float]], target_rate: float, *, screen: float | None = None,
                     steps: int = 200) -> tuple[dict[str, float], float, float]:
    """Thresholds for several detectors so that *any* of them fires on at most ``target_rate`` of
    the clean images: every detector gets the same per-detector rate r, the largest r whose union
    stays within the target. Returns ``(thresholds, r, union rate)``."""
    arrays = {n: np.asarray(v, np.float64) for n, v in clean.items()}
    best: tuple[dict[str, float], float, float] | None = None
    for r in np.linspace(target_rate / len(arrays), target_rate, steps):
        thr = {n: threshold_at_false_alarm_rate(a, float(r)) for n, a in arrays.items()}
        union = float(fired_any(arrays, thr, screen).mean())
        if union <= target_rate + 1e-12:
            best = (thr, float(r), union)
    if best is None:
        r = target_rate / len(arrays)
        thr = {n: threshold_at_false_alarm_rate(a, r) for n, a in arrays.items()}
        best = (thr, r, float(fired_any(arrays, thr, screen).mean()))
    return best
