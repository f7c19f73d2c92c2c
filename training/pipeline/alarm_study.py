"""Two studies behind skin-binary 1.2.1 / skin-ham7 1.1.1, on the validation lesions only (the test side
is never read): which score should raise the malignancy alarm, and what the probabilities' remaining
calibration error is.

``python -m training.pipeline.alarm_study [--binary training/configs/skin-binary.yaml]
[--ham7 training/configs/skin-ham7.yaml] [--models-dir models] [--out runs/alarm_study.json]``

1. *Alarm score*: the binary pack's malignant probability, the 7-class pack's summed mel + bcc + akiec
   probability, and their average (raw, and with each pack's temperature fitted first). Per fold of
   lesion-grouped cross-validation on validation (5 folds x 5 seeds), the alarm threshold at the
   target sensitivity is chosen on four folds by :func:`training.pipeline.thresholds.alarm_threshold`
   and scored on the fifth: sensitivity, specificity, ROC-AUC, and the paired specificity difference
   to the binary head.
2. *Calibration variants*: raw, temperature, prior correction (``logits - log w_c``, ``w_c`` the
   training class weights in the manifest: a class-balanced loss trains for equal classes, so on the
   natural mix the rare classes' probabilities come out too high) then temperature, and a fitted bias
   per class plus temperature; NLL, ECE (top-1 and alarm), accuracy and balanced accuracy of the
   most probable class on the held-out folds.

Both packs must share the split (same data, seed and stratification): checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.pipeline.config import REPO_ROOT


def alarm_score_cv(scores_fn, y_alarm: np.ndarray, y_strat: np.ndarray, groups: np.ndarray, *,
                   target: float = 0.90, max_threshold: float = 0.5, folds: int = 5, seeds=range(5),
                   seed0: int = 0) -> dict:
    """``scores_fn(fit_idx) -> {name: score per image}`` (it may fit on ``fit_idx`` only); per fold the
    threshold reaching ``target`` sensitivity on the other folds, scored on the held-out one."""
    from training.pipeline.calibration import grouped_folds
    from training.pipeline.evaluate import _auc_rank
    from training.pipeline.thresholds import alarm_threshold

    y_alarm = np.asarray(y_alarm, bool)
    rows: dict[str, list[dict]] = {}
    for s in seeds:
        for tr, va in grouped_folds(np.asarray(y_strat), np.asarray(groups), folds, seed0 + s):
            for name, v in scores_fn(tr).items():
                thr = alarm_threshold(v[tr], y_alarm[tr], target, max_threshold)
                flagged = v[va] >= thr
                pos, neg = y_alarm[va], ~y_alarm[va]
                rows.setdefault(name, []).append({"sensitivity": float(flagged[pos].mean()),
                                                  "specificity": float((~flagged[neg]).mean()),
                                                  "roc_auc": _auc_rank(pos, v[va])})
    names = list(rows)
    base = np.array([r["specificity"] for r in rows[names[0]]])
    out = {}
    for name in names:
        m = {k: np.array([r[k] for r in rows[name]], float) for k in ("sensitivity", "specificity", "roc_auc")}
        diff = m["specificity"] - base
        out[name] = {**{f"{k}_mean": float(v.mean()) for k, v in m.items()},
                     **{f"{k}_sd": float(v.std()) for k, v in m.items()},
                     f"specificity_minus_{names[0]}": float(diff.mean()),
                     "folds_better": int((diff > 0).sum()), "folds_worse": int((diff < 0).sum()), "folds": len(diff)}
    return out


def fit_bias_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``T`` and a bias per class (the first fixed at 0) minimising the NLL of ``softmax(logits / T + b)``."""
    from scipy.optimize import minimize

    from training.pipeline.calibration import nll

    k = logits.shape[1]
    res = minimize(lambda p: nll(logits / np.exp(p[0]) + np.r_[0, p[1:]], y), np.zeros(k), method="L-BFGS-B")
    return float(np.exp(res.x[0])), np.r_[0, res.x[1:]]


def calibration_variants_cv(logits: np.ndarray, y: np.ndarray, groups: np.ndarray, log_weights: np.ndarray,
                            alarming_idx: list[int], *, y_strat: np.ndarray | None = None, folds: int = 5,
                            seeds=range(5), seed0: int = 0) -> dict:
    """Held-out-fold NLL, ECE (top-1, alarm), accuracy and balanced accuracy of each variant."""
    from sklearn.metrics import balanced_accuracy_score

    from training.pipeline.calibration import calibration_errors, fit_temperature, grouped_folds, softmax

    logits = np.asarray(logits, np.float64)
    y = np.asarray(y, int)
    rows: dict[str, list[dict]] = {}
    for s in seeds:
        for tr, va in grouped_folds(y if y_strat is None else y_strat, np.asarray(groups), folds, seed0 + s):
            shifted = logits - log_weights
            tv, b = fit_bias_temperature(logits[tr], y[tr])
            variants = {"raw": softmax(logits[va]),
                        "temperature": softmax(logits[va], fit_temperature(logits[tr], y[tr])),
                        "prior correction + temperature": softmax(shifted[va], fit_temperature(shifted[tr], y[tr])),
                        "fitted bias + temperature": softmax(logits[va] / tv + b)}
            for name, p in variants.items():
                e = calibration_errors(p, y[va], alarming_idx)
                rows.setdefault(name, []).append({
                    "nll": float(-np.mean(np.log(p[np.arange(len(va)), y[va]] + 1e-12))), "ece_top1": e["top1"],
                    **({"ece_alarm": e["alarm"]} if "alarm" in e else {}),
                    "accuracy": float(np.mean(p.argmax(1) == y[va])),
                    "balanced_accuracy": float(balanced_accuracy_score(y[va], p.argmax(1)))})
    return {name: {k: {"mean": float(np.mean([r[k] for r in rs])), "sd": float(np.std([r[k] for r in rs]))}
                   for k in rs[0]} for name, rs in rows.items()}


def validation_outputs(binary_cfg: Path, ham7_cfg: Path, models_dir: Path) -> dict:
    """Both packs' validation logits through the app's preprocessing, with the split made again."""
    from inference.manifest import load_manifest
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.export import onnx_outputs, preprocess_items
    from training.pipeline.splits import split_pools

    out = {}
    ids = None
    for key, path in (("binary", binary_cfg), ("ham7", ham7_cfg)):
        cfg = load_config(path)
        pools = load_pools(cfg)
        split = split_pools(pools, val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]), seed=int(cfg["seed"]))
        val = split["val"]
        these = [s.id for s in val]
        if ids is not None and these != ids:
            raise ValueError("the two packs' validation sides differ: the study needs one split")
        ids = these
        names = pools[0].dataset.class_names
        pack = Path(models_dir) / cfg["id"]
        manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
        x = preprocess_items([s.path for s in val], load_manifest(pack / "manifest.json").input)
        o = onnx_outputs(pack / "model.onnx", x)
        out[key] = {"names": names, "y": np.array([names.index(s.label) for s in val]), "logits": o["logits"],
                    "alarming_idx": [names.index(a) for a in cfg["decision"]["alarming"]],
                    "log_weights": np.log(np.array([manifest["training"]["class_weights"][n] for n in names])),
                    "version": manifest["version"], "target": float(cfg["decision"]["target_sensitivity"]),
                    "max_threshold": float(cfg["decision"]["max_alarm_threshold"])}
        out["groups"] = np.array([s.group or s.id for s in val], dtype=object)
        out["seed"] = int(cfg["seed"])
    return out


def study(binary_cfg: Path, ham7_cfg: Path, models_dir: Path, log=print) -> dict:
    from training.pipeline.calibration import fit_temperature, softmax

    v = validation_outputs(binary_cfg, ham7_cfg, models_dir)
    b, h = v["binary"], v["ham7"]
    # The logits are the raw ones (a calibrated pack's temperature sits after them, before its softmax).
    lb, lh = np.asarray(b["logits"], np.float64), np.asarray(h["logits"], np.float64)
    y_alarm = np.isin(h["y"], h["alarming_idx"])
    if not np.array_equal(y_alarm, np.isin(b["y"], b["alarming_idx"])):
        raise ValueError("the packs disagree on which validation lesions are alarming")

    def scores(fit):
        tb, th = fit_temperature(lb[fit], b["y"][fit]), fit_temperature(lh[fit], h["y"][fit])
        s = {"binary head": softmax(lb)[:, b["alarming_idx"]].sum(1),
             "ham7 summed": softmax(lh)[:, h["alarming_idx"]].sum(1)}
        s["average"] = 0.5 * (s["binary head"] + s["ham7 summed"])
        s["average, each calibrated"] = 0.5 * (softmax(lb, tb)[:, b["alarming_idx"]].sum(1)
                                              + softmax(lh, th)[:, h["alarming_idx"]].sum(1))
        return s

    result = {"versions": {"binary": b["version"], "ham7": h["version"]}, "n": int(len(y_alarm)),
              "alarm_score": alarm_score_cv(scores, y_alarm, h["y"], v["groups"], target=b["target"],
                                            max_threshold=b["max_threshold"], seed0=v["seed"]),
              "calibration": {
                  "skin-binary": calibration_variants_cv(lb, b["y"], v["groups"], b["log_weights"], b["alarming_idx"],
                                                         y_strat=h["y"], seed0=v["seed"]),
                  "skin-ham7": calibration_variants_cv(lh, h["y"], v["groups"], h["log_weights"], h["alarming_idx"],
                                                       seed0=v["seed"])}}
    for name, r in result["alarm_score"].items():
        log(f"alarm {name:26s}: sensitivity {r['sensitivity_mean']:.3f} ± {r['sensitivity_sd']:.3f}, specificity "
            f"{r['specificity_mean']:.3f} ± {r['specificity_sd']:.3f}, ROC-AUC {r['roc_auc_mean']:.4f}; "
            f"better than the binary head in {r['folds_better']}/{r['folds']} folds")
    for pack, variants in result["calibration"].items():
        for name, r in variants.items():
            log(f"{pack} {name:31s}: " + ", ".join(f"{k} {x['mean']:.4f} ± {x['sd']:.4f}" for k, x in r.items()))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline.alarm_study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", type=Path, default=REPO_ROOT / "training" / "configs" / "skin-binary.yaml")
    p.add_argument("--ham7", type=Path, default=REPO_ROOT / "training" / "configs" / "skin-ham7.yaml")
    p.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    result = study(a.binary, a.ham7, a.models_dir)
    if a.out:
        a.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
