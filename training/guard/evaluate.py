"""The attack table of ``guard``: the app's answers on clean and attacked test images, one row per
attack (accuracy clean / attacked / after mitigation, successful attacks, detection), the clean
false alarms, and the guard's indicative single-image cost."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from training.guard.common import _inspector

GREY_ATTACK = "FGSM, grey (no colour)"

def run_app(inspector, images01: np.ndarray) -> dict:
    """The app's answers on pixel images (uint8 at the input size, so decoding is lossless)."""
    u8 = [np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8) for x in images01]
    names = list(inspector.manifest.class_names)
    items = inspector.classify_batch(u8, batch_size=16)
    labels, flagged, mitigated, reasons = [], [], [], []
    for it in items:
        r = it.result
        labels.append(names.index(r.model_label or r.label))  # the policy's class, refused or not
        g = r.guard
        flagged.append(bool(g and g.flagged))
        mitigated.append(names.index(r.mitigated.label) if r.mitigated else names.index(r.model_label or r.label))
        reasons.append([x.split(":", 1)[0] for x in (g.reasons if g else ())])
    return {"label": np.array(labels), "flagged": np.array(flagged), "mitigated": np.array(mitigated),
            "reasons": reasons}


def attack_row(name: str, eps: float, y: np.ndarray, clean: dict, adv: dict) -> dict:
    clean_ok = clean["label"] == y
    success = clean_ok & (adv["label"] != y)
    detected = adv["flagged"] & success
    final = np.where(adv["flagged"], adv["mitigated"], adv["label"])
    by = {}
    for rs, s in zip(adv["reasons"], success):
        if s:
            for k in rs:
                by[k] = by.get(k, 0) + 1
    return {
        "attack": name, "eps_255": round(eps * 255, 3), "n": int(len(y)),
        "clean_accuracy": float(clean_ok.mean()),
        "attacked_accuracy": float((adv["label"] == y).mean()),
        "mitigated_accuracy": float((final == y).mean()),
        "successful_attacks": int(success.sum()),
        "detected_successful": int(detected.sum()),
        "detection_rate": float(detected.sum() / success.sum()) if success.sum() else None,
        "flagged_all_attacked": float(adv["flagged"].mean()),
        "detected_by": by,
    }

def clean_summary(clean: dict, y: np.ndarray) -> dict:
    """False alarms on clean test images: by any detector, by the adversarial detectors alone (the
    pack's out-of-domain refusals, calibrated on their own at the pack's acceptance rate, apart)."""
    by_detector = np.array([any(k != "ood" for k in rs) for rs in clean["reasons"]])
    by_ood = np.array(["ood" in rs for rs in clean["reasons"]])
    return {
        "test_false_alarm_rate": round(float(clean["flagged"].mean()), 4),
        "test_false_alarm_rate_detectors": round(float(by_detector.mean()), 4),
        "test_ood_refusal_rate": round(float(by_ood.mean()), 4),
        "test_clean_accuracy": float((clean["label"] == y).mean()),
        "test_clean_mitigated_accuracy": float((np.where(clean["flagged"], clean["mitigated"], clean["label"]) == y).mean()),
    }

def _row_text(r: dict) -> str:
    det = "n/a" if r["detection_rate"] is None else f"{100 * r['detection_rate']:.0f}%"
    return (f"{r['attack']} ε={r['eps_255']:g}/255: accuracy clean {100 * r['clean_accuracy']:.1f}% → attacked "
            f"{100 * r['attacked_accuracy']:.1f}% → mitigated {100 * r['mitigated_accuracy']:.1f}%; "
            f"{r['successful_attacks']} successful, detected {det}")


def guard_cost(pack_dir: Path, images01: np.ndarray, repeat: int = 10) -> dict:
    """Median single-image time (ms) of the app's classify without and with the guard (indicative:
    the benchmark measures it properly)."""
    u8 = [np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8) for x in images01]
    out = {}
    for label, use in (("without_guard_ms", False), ("with_guard_ms", True)):
        insp = _inspector(pack_dir, use_guard=use)
        for im in u8[:3]:
            insp.classify(im)
        ts = []
        for k in range(repeat):
            t = time.perf_counter()
            insp.classify(u8[k % len(u8)])
            ts.append((time.perf_counter() - t) * 1e3)
        out[label] = round(float(np.median(ts)), 2)
    out["ratio"] = round(out["with_guard_ms"] / out["without_guard_ms"], 3)
    return out
