"""Operating points chosen on validation data.

- :func:`acceptance_threshold`: the out-of-domain threshold that accepts a given share of
  in-domain images (the app refuses a score *above* it).
- :func:`alarm_threshold`: the summed probability of the alarming classes at which the app alarms,
  chosen to reach a target sensitivity (the highest such threshold, capped).
- :func:`review_band`: ``[low, high)`` around it where a person must look: below ``low`` nearly
  every alarming case is caught anyway; at or above ``high`` alarms are precise enough.
- :func:`alarm_aware` (issue 24, opt-in): a refusal gives no verdict and so silences an alarm; the
  images decided alarming may get their own out-of-domain threshold (``ood.alarm_acceptance``), and
  the alarm threshold and band may be chosen on the app's decisions (``decision.alarm_basis: app``).
"""

from __future__ import annotations

import math

import numpy as np


def acceptance_threshold(scores: np.ndarray, acceptance: float) -> float:
    """Smallest observed score ``t`` with ``mean(scores <= t) >= acceptance``.

    For 100 in-domain scores and acceptance 0.95 that is the 95th smallest score: 95 are accepted,
    the 5 largest refused (ties aside).
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if len(s) == 0:
        raise ValueError("no scores to set a threshold on")
    if not 0 < acceptance <= 1:
        raise ValueError("acceptance must be in (0, 1]")
    k = max(1, math.ceil(acceptance * len(s) - 1e-9))
    return float(s[k - 1])


def _floor(v: float, digits: int = 4) -> float:
    f = 10 ** digits
    return math.floor(v * f) / f


def _ceil(v: float, digits: int = 4) -> float:
    f = 10 ** digits
    return math.ceil(v * f) / f


def sensitivity_threshold(p_alarm: np.ndarray, is_alarm: np.ndarray, sensitivity: float) -> float:
    """Highest threshold ``t`` such that at least ``sensitivity`` of alarming cases have p >= t."""
    pos = np.sort(np.asarray(p_alarm, dtype=np.float64)[np.asarray(is_alarm, bool)])[::-1]
    if len(pos) == 0:
        return 0.5
    k = max(1, math.ceil(sensitivity * len(pos) - 1e-9))
    return _floor(float(pos[k - 1]))


def alarm_threshold(p_alarm: np.ndarray, is_alarm: np.ndarray, target_sensitivity: float,
                    max_threshold: float = 0.5) -> float:
    """The alarm threshold: reach ``target_sensitivity`` on these (validation) cases, never above
    ``max_threshold`` (so the alarm is at least as sensitive as the plain most-probable rule)."""
    return min(sensitivity_threshold(p_alarm, is_alarm, target_sensitivity), max_threshold)


def precision_threshold(p_alarm: np.ndarray, is_alarm: np.ndarray, precision: float) -> float | None:
    """Smallest threshold ``t`` with precision(p >= t) >= ``precision`` and at least one case above."""
    p = np.asarray(p_alarm, dtype=np.float64)
    y = np.asarray(is_alarm, bool)
    for t in np.unique(p):
        sel = p >= t
        if sel.sum() and y[sel].mean() >= precision:
            return _ceil(float(t))
    return None


def review_band(p_alarm: np.ndarray, is_alarm: np.ndarray, threshold: float, *, sensitivity: float,
                precision: float, max_rate: float | None = None) -> tuple[float, float]:
    """``[low, high)`` on the alarming probability, containing ``threshold``.

    ``low``: below it at least ``sensitivity`` of the alarming cases are caught anyway (p >= low);
    ``high``: at or above it alarms are at least ``precision`` precise. If that band would hold more
    than ``max_rate`` of these cases, it is narrowed to the ``max_rate`` of cases nearest the
    threshold (in rank), so the review queue stays workable; the card reports the resulting rate.
    """
    p = np.asarray(p_alarm, dtype=np.float64)
    low = min(sensitivity_threshold(p, is_alarm, sensitivity), threshold)
    high_t = precision_threshold(p, is_alarm, precision)
    high = max(high_t if high_t is not None else 1.0, threshold)
    if max_rate is not None and len(p) and np.mean((p >= low) & (p < high)) > max_rate:
        s = np.sort(p)
        n = len(s)
        m = int(math.floor(max_rate * n))
        k = int(np.searchsorted(s, threshold, side="left"))  # items below the threshold
        lo_idx = min(max(0, k - m // 2), max(0, n - m))
        hi_idx = lo_idx + m
        cap_low = _ceil(float(s[lo_idx])) if m else threshold
        cap_high = _floor(float(s[hi_idx])) if hi_idx < n else 1.0
        low = max(low, min(cap_low, threshold))
        high = min(high, max(cap_high, threshold))
    return float(round(low, 4)), float(min(round(high, 4), 1.0))


def alarm_decisions(probs: np.ndarray, alarming_idx: list[int], threshold: float | None) -> np.ndarray:
    """The class the app reports, as :class:`inference.inspector.Inspector` decides it: the likeliest
    alarming class when their summed probability reaches ``threshold``, else the likeliest other one."""
    probs = np.asarray(probs, dtype=np.float64)
    if threshold is None or not alarming_idx:
        return probs.argmax(1)
    calm_idx = [i for i in range(probs.shape[1]) if i not in alarming_idx]
    p_alarm = probs[:, alarming_idx].sum(1)
    best_alarm = np.asarray(alarming_idx)[probs[:, alarming_idx].argmax(1)]
    if not calm_idx:
        return best_alarm
    best_calm = np.asarray(calm_idx)[probs[:, calm_idx].argmax(1)]
    return np.where(p_alarm >= threshold, best_alarm, best_calm)


# ------------------------------------------------------------------------------------------------
# The app's own decisions: a refused image gets no verdict, so it raises no alarm (issue 24).

def ood_refusals(scores: np.ndarray, decided_alarming: np.ndarray, threshold: float,
                 alarm_threshold: float | None = None) -> np.ndarray:
    """Which images the app refuses as out of domain, as :class:`inference.inspector.Inspector`
    does: above ``alarm_threshold`` when the decision is an alarming class (the manifest's
    ``ood.alarm_threshold``), above ``threshold`` otherwise."""
    s = np.asarray(scores, dtype=np.float64)
    upper = threshold if alarm_threshold is None else np.where(np.asarray(decided_alarming, bool),
                                                                alarm_threshold, threshold)
    return s > upper


def alarm_ood_threshold(scores: np.ndarray, p_alarm: np.ndarray, alarm_line: float, acceptance: float,
                        threshold: float) -> float:
    """``ood.alarm_threshold``: the score accepting ``acceptance`` of the images whose summed
    alarming probability reaches ``alarm_line``, never below the calm ``threshold``."""
    s = np.asarray(scores, dtype=np.float64)[np.asarray(p_alarm, dtype=np.float64) >= alarm_line]
    if len(s) == 0:
        return float(threshold)
    return max(acceptance_threshold(s, acceptance), float(threshold))


def app_alarm_threshold(p_alarm: np.ndarray, is_alarm: np.ndarray, scores: np.ndarray | None,
                        ood_threshold: float | None, ood_alarm_threshold: float | None,
                        target_sensitivity: float, max_threshold: float = 0.5) -> float:
    """The alarm threshold chosen on what the app shows: the highest ``t`` at which at least
    ``target_sensitivity`` of the alarming cases are alarmed by the app (``p >= t`` and not refused,
    a refusal depending on ``t`` through the decision), never above ``max_threshold``. Without an
    out-of-domain score it is :func:`alarm_threshold`. When no ``t`` reaches the target (too many
    alarming cases refused whatever ``t``), the lowest candidate: the most the app can alarm."""
    if scores is None or ood_threshold is None:
        return alarm_threshold(p_alarm, is_alarm, target_sensitivity, max_threshold)
    p = np.asarray(p_alarm, dtype=np.float64)
    pos = np.asarray(is_alarm, bool)
    if not pos.any():
        return min(0.5, max_threshold)
    candidates = np.unique(np.floor(p[pos] * 1e4) / 1e4)[::-1]
    for t in candidates:
        decided = p >= t
        alarmed = decided & ~ood_refusals(scores, decided, ood_threshold, ood_alarm_threshold)
        if alarmed[pos].mean() >= target_sensitivity - 1e-12:
            return min(float(t), max_threshold)
    return min(float(candidates[-1]), max_threshold)


def app_review_band(p_alarm: np.ndarray, is_alarm: np.ndarray, threshold: float, refused: np.ndarray, *,
                    sensitivity: float, precision: float, max_rate: float | None = None) -> tuple[float, float]:
    """:func:`review_band` on what the app can show: a refused image has no probability to review
    (counted below every band), so the band's sensitivity counts only what the app judges."""
    p_eff = np.where(np.asarray(refused, bool), -1.0, np.asarray(p_alarm, dtype=np.float64))
    low, high = review_band(p_eff, is_alarm, threshold, sensitivity=sensitivity, precision=precision,
                            max_rate=max_rate)
    return max(low, 0.0), high


def alarm_aware(cfg: dict, decision: dict, ood_block: dict, val_ood: np.ndarray, val_probs: np.ndarray,
                 alarming_idx: list[int], y_val: np.ndarray) -> None:
    """Issue 24, only when the config asks: ``ood.alarm_acceptance`` gives the images decided
    alarming (at the probability-based alarm threshold) their own out-of-domain threshold, and
    ``decision.alarm_basis: app`` chooses the alarm threshold and review band again on what the app
    shows (a refused image raises no alarm). Edits ``decision`` and ``ood_block`` in place."""
    dec, alarm_acc = cfg["decision"], cfg["ood"].get("alarm_acceptance")
    if not alarming_idx or "alarm_threshold" not in decision:
        return
    p_alarm = val_probs[:, alarming_idx].sum(1)
    is_alarm = np.isin(y_val, alarming_idx)
    if alarm_acc is not None:
        ood_block["alarm_threshold"] = alarm_ood_threshold(val_ood, p_alarm, decision["alarm_threshold"],
                                                           float(alarm_acc), ood_block["threshold"])
        ood_block["alarm_acceptance"] = float(alarm_acc)
    if dec.get("alarm_basis", "probability") == "app":
        thr = app_alarm_threshold(p_alarm, is_alarm, val_ood, ood_block["threshold"], ood_block.get("alarm_threshold"),
                                  float(dec["target_sensitivity"]), float(dec["max_alarm_threshold"]))
        refused = ood_refusals(val_ood, p_alarm >= thr, ood_block["threshold"], ood_block.get("alarm_threshold"))
        band = app_review_band(p_alarm, is_alarm, thr, refused, sensitivity=float(dec["review"]["sensitivity"]),
                               precision=float(dec["review"]["precision"]), max_rate=dec["review"].get("max_rate"))
        decision.update({"alarm_threshold": thr, "review_band": list(band), "alarm_basis": "app"})
