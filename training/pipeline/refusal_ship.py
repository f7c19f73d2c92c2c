"""A pack version from :mod:`training.pipeline.refusal_study`'s final values, manifest only (issue 24):
``ood.alarm_threshold`` and the alarm threshold / review band chosen on the app's decisions, then
the test side read once through the app's Inspector with the new manifest.

``python -m training.pipeline.refusal_ship PACK --study b_PACK.json --version X.Y.Z --config CFG --out T.json``

The model bytes are not touched. The manifest's decision-dependent test metrics (``alarm_test``,
``test_app_decision``, ``review_rate_test``, ``in_domain_false_rejection_test``, the mixes'
operating points) are replaced by the new reading; the rest (ROC-AUC, robustness, larger inputs,
the guard) does not depend on the thresholds and stays. The study's cross-validation and the test
reading go to ``metrics.refusals`` with a note that the test side was read before (a re-read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

MALIGNANT_DX = ("mel", "bcc", "akiec")


def apply(manifest: dict, study: dict, version: str) -> dict:
    """The manifest with the study's final values and the new version (a copy)."""
    m = json.loads(json.dumps(manifest))
    final = study["final"]
    m["version"] = version
    m["decision"]["alarm_threshold"] = round(float(final["alarm_threshold"]), 4)
    m["decision"]["review_band"] = [round(float(v), 4) for v in final["review_band"]]
    m["decision"]["alarm_basis"] = "app"
    if abs(float(final["ood_threshold"]) - float(m["ood"]["threshold"])) > 1e-6 * max(1.0, abs(m["ood"]["threshold"])):
        raise ValueError(f"the study's OOD threshold {final['ood_threshold']} is not the pack's {m['ood']['threshold']}: "
                         "was it collected on another validation side?")
    if final.get("ood_alarm_threshold") is not None:
        m["ood"]["alarm_threshold"] = float(final["ood_alarm_threshold"])
        m["ood"]["alarm_acceptance"] = float(study["alarm_acceptance"])
    else:
        m["ood"].pop("alarm_threshold", None)
    return m


def reread(pack_dir: Path, pack: str, config: Path, alarm_dx: tuple[str, ...] = MALIGNANT_DX) -> dict:
    """The test side (natural and class-capped) through the pack's Inspector: the app's answers."""
    from inference.inspector import Inspector
    from inference.registry import PackRegistry
    from training.pipeline import mixes as mx
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.evaluate import classification_metrics
    from training.pipeline.splits import split_pools

    cfg = load_config(config)
    test = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                       seed=int(cfg["seed"]))["test"]
    insp = Inspector(PackRegistry([(pack_dir, "user")]).get(pack))
    names = list(insp.manifest.class_names)
    alarming_idx = [names.index(c) for c in insp.manifest.decision.alarming]
    rows: dict[str, list] = {"probs": [], "labels": [], "ood": [], "review": []}
    for it in insp.iter_batch([str(s.path) for s in test], batch_size=16):
        if not it.ok:
            raise RuntimeError(f"{it.source}: {it.error}")
        r = it.result
        rows["probs"].append([r.probabilities[c] for c in names])
        rows["labels"].append(names.index(r.model_label or r.label))
        rows["ood"].append(r.out_of_domain)
        rows["review"].append(r.needs_review)
    res = {k: np.asarray(v) for k, v in rows.items()}
    dx = np.array([s.label for s in test])
    # The pack's own class per image: its classes are the diagnoses, or benign / malignant from them.
    y = (np.array([names.index(d) for d in dx]) if set(dx) <= set(names)
         else np.isin(dx, alarm_dx).astype(int))
    capped = mx.capped_indices(list(dx), [s.group for s in test], [s.id for s in test], cap={"nv": 0.45},
                               one_per_group=True, seed=int(cfg["seed"]))
    thr = insp.manifest.decision.alarm_threshold
    out = {"version": insp.manifest.version, "n": int(len(test)), "capped_n": int(len(capped))}
    for name, idx in (("natural", np.arange(len(test))), ("class-capped", capped)):
        mm = mx.mix_metrics(y, res, idx, names, alarming_idx, thr)
        mm["refused_by_dx"] = {d: float(res["ood"][idx][dx[idx] == d].mean()) for d in sorted(set(dx[idx]))}
        if thr is not None and alarming_idx:
            # what the app shows the other images: alarmed only when decided alarming and not refused
            other = ~np.isin(y[idx], alarming_idx)
            alarmed = (res["probs"][idx][:, alarming_idx].sum(1) >= thr) & ~res["ood"][idx]
            mm["alarm"]["app"]["specificity"] = float(np.mean(~alarmed[other]))
        out[name] = mm
    out["app_decision"] = classification_metrics(y, res["labels"], res["probs"], names)
    return out


def metrics_update(manifest: dict, study: dict, test: dict, note: str) -> dict:
    """The decision-dependent test metrics replaced, and ``metrics.refusals`` added (a copy)."""
    m = json.loads(json.dumps(manifest))
    met = m["metrics"]
    nat = test["natural"]
    alarm = nat["alarm"]
    met["alarm_test"] = {k: alarm[k] for k in ("sensitivity", "specificity", "ppv", "npv", "tp", "fn", "tn", "fp")}
    met["alarm_test_app"] = alarm["app"]
    met["review_rate_test"] = round(nat["review_rate"], 4)
    met["in_domain_false_rejection_test"] = round(nat["refused_rate"], 4)
    met["test_app_decision"] = test["app_decision"]
    for mix in ("natural", "class-capped"):
        if mix in met.get("test_mixes", {}):
            a = test[mix]["alarm"]
            met["test_mixes"][mix]["alarm"] = {k: round(a[k], 4) for k in ("sensitivity", "specificity", "ppv", "npv",
                                                                             "alarm_rate")}
            met["test_mixes"][mix]["alarm_app"] = {k: round(a["app"][k], 4) for k in (
                "sensitivity", "specificity", "refused_rate", "passed_calm_rate", "refused_rate_other")}
            met["test_mixes"][mix]["review_rate"] = round(test[mix]["review_rate"], 4)
            met["test_mixes"][mix]["accuracy_app"] = round(test[mix]["app"]["accuracy"], 4)
    met["refusals"] = {"note": note, "validation_cv": {k: {kk: round(vv, 4) for kk, vv in v.items()}
                                                       for k, v in study["cv"].items()},
                       "validation_cv_shipped_rule": {k: round(v["mean"], 4) for k, v in study["cv_shipped_rule"].items()},
                       "test_reread": {mix: {"app": test[mix]["alarm"]["app"], "refused_by_dx": test[mix]["refused_by_dx"]}
                                       for mix in ("natural", "class-capped")}}
    return m


def main(argv: list[str] | None = None) -> int:
    from training.pipeline.config import REPO_ROOT

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pack")
    ap.add_argument("--models", type=Path, default=REPO_ROOT / "models")
    ap.add_argument("--study", type=Path, required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--config", type=Path, required=True, help="the training config whose split gives the test side")
    ap.add_argument("--note", default="The test side was read for every earlier version of this pack: a re-read, "
                                      "not a pristine test. Nothing was chosen on it.")
    ap.add_argument("--out", type=Path, required=True, help="the test reading (JSON)")
    args = ap.parse_args(argv)
    from inference.manifest import validate_manifest

    path = args.models / args.pack / "manifest.json"
    study = json.loads(args.study.read_text(encoding="utf-8"))
    new = apply(json.loads(path.read_text(encoding="utf-8")), study, args.version)
    validate_manifest(new)
    path.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
    test = reread(args.models, args.pack, args.config)
    args.out.write_text(json.dumps(test, indent=1, default=float), encoding="utf-8")
    final = metrics_update(new, study, test, args.note)
    validate_manifest(final)
    path.write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
    for mix in ("natural", "class-capped"):
        a = test[mix]["alarm"]
        print(mix, {k: round(a[k], 4) for k in ("sensitivity", "specificity", "ppv", "npv")}, "app", a["app"],
              "review", round(test[mix]["review_rate"], 4), "refused", round(test[mix]["refused_rate"], 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
