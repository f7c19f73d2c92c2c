"""The skin packs' ship rule (issue 24): shipped packs vs candidates on the validation lesions in every
rendition, through the app's own :class:`~inference.inspector.Inspector`. The test side is not read.

``python -m training.pipeline.skin_ship_check OLD_MODELS_DIR NEW_MODELS_DIR --out RESULT.json``

The validation side is rebuilt from ``training/configs/skin-ham7.yaml`` (both skin packs share one
split; its ``extra_data`` adds the 224-px copies of the same lesions, ``source`` "extra"). For each
pair of packs (skin-ham7, skin-binary) it reports, pooled and per rendition: skin-ham7's balanced
accuracy (most probable class), macro-F1, accuracy and top-3; skin-binary's ROC-AUC and specificity at 90%
sensitivity (threshold at the score that reaches 90% of the malignant images on these images, for
either pack alike) and its shipped alarm's sensitivity / specificity; and a paired lesion bootstrap
of new minus old. The rule holds when all three headline numbers are higher for the candidates
(``--rule binary``: skin-binary's two alone, for a new skin-binary beside an unchanged skin-ham7;
``--rule ham7``: skin-ham7's balanced accuracy and macro-F1;
``--clear KEY``: that number's gain must also be outside the noise, at most ``--max-p`` of the
bootstrap resamples with new <= old). A candidate exported with the stages up to the manifest only
(no test stage) is enough.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.pipeline.decision_study import macro_f1  # one definition (skin-ham7's decision study)

H7 = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
MALIGNANT = ("mel", "bcc", "akiec")
HEADLINE = ("ham7_balanced_accuracy", "binary_roc_auc", "binary_spec_at_sens90")
# Every number the paired bootstrap resamples: the headline ones and skin-ham7's macro-F1 (issue 24's
# other skin-ham7 target; the 300-px candidate's rule, h-skin300, asks for it).
BOOTSTRAPPED = (*HEADLINE, "ham7_macro_f1")
RULES = {"both": HEADLINE, "binary": ("binary_roc_auc", "binary_spec_at_sens90"),
         "ham7": ("ham7_balanced_accuracy", "ham7_macro_f1")}


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Mean recall over the classes present in ``y``."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(k) if np.any(y == c)]))


def roc_auc(pos: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(pos, score))


def specificity_at_sensitivity(pos: np.ndarray, score: np.ndarray, sensitivity: float = 0.90) -> float:
    """Specificity at the highest threshold that flags at least ``sensitivity`` of the positives
    (a score >= threshold is flagged)."""
    ranked = np.sort(score[pos == 1])[::-1]
    threshold = ranked[int(np.ceil(sensitivity * len(ranked))) - 1]
    return float(np.mean(score[pos == 0] < threshold))


def metrics(y7: np.ndarray, p7: np.ndarray, pb: np.ndarray, alarm: np.ndarray, ood7: np.ndarray,
            oodb: np.ndarray) -> dict:
    """The rule's numbers on one set of images (``pb``: skin-binary's malignant probability)."""
    yb = np.isin(y7, [H7.index(c) for c in MALIGNANT]).astype(int)
    top3 = np.argsort(-p7, axis=1)[:, :3]
    return {"n": int(len(y7)), "ham7_balanced_accuracy": balanced_accuracy(y7, p7.argmax(1), len(H7)),
            "ham7_macro_f1": macro_f1(y7, p7.argmax(1), len(H7)),
            "ham7_accuracy": float(np.mean(p7.argmax(1) == y7)),
            "ham7_top3": float(np.mean([y in t for y, t in zip(y7, top3)])),
            "binary_roc_auc": roc_auc(yb, pb), "binary_spec_at_sens90": specificity_at_sensitivity(yb, pb),
            "binary_alarm_sens": float(np.mean(alarm[yb == 1])), "binary_alarm_spec": float(np.mean(~alarm[yb == 0])),
            "ham7_ood_rate": float(np.mean(ood7)), "binary_ood_rate": float(np.mean(oodb))}


def paired_bootstrap(groups: np.ndarray, old: dict, new: dict, y7: np.ndarray, n: int = 500,
                     seed: int = 20261207) -> dict:
    """New minus old for the headline numbers over ``n`` resamples of whole lesions (both packs on
    the same resample): mean, sd and the share of resamples where the new one is not higher."""
    rng = np.random.default_rng(seed)
    lesions = np.unique(groups)
    members = {g: np.flatnonzero(groups == g) for g in lesions}
    diffs: dict[str, list] = {k: [] for k in BOOTSTRAPPED}
    for _ in range(n):
        sel = np.concatenate([members[g] for g in rng.choice(lesions, len(lesions))])
        a = {tag: metrics(y7[sel], o["p7"][sel], o["pb"][sel], o["alarm"][sel], o["ood7"][sel], o["oodb"][sel])
             for tag, o in (("old", old), ("new", new))}
        for k in BOOTSTRAPPED:
            diffs[k].append(a["new"][k] - a["old"][k])
    return {k: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "p_not_higher": float(np.mean(np.asarray(v) <= 0))}
            for k, v in diffs.items()}


def rule_holds(result: dict, keys=HEADLINE, clear=(), max_p: float = 0.05) -> bool:
    """Every number in ``keys`` higher for the candidate (pooled), and for each of ``clear`` at most
    ``max_p`` of the paired bootstrap resamples with new <= old (a gain outside the noise)."""
    boot = result["paired_bootstrap_new_minus_old"]
    return (all(result["candidate"]["all"][k] > result["shipped"]["all"][k] for k in keys)
            and all(boot[k]["p_not_higher"] <= max_p for k in clear))


def _run_packs(models_dir: Path, paths: list[str]) -> dict:
    from inference.inspector import Inspector
    from inference.registry import PackRegistry

    out = {}
    for pack, classes in (("skin-ham7", H7), ("skin-binary", ["benign", "malignant"])):
        inspector = Inspector(PackRegistry([(Path(models_dir), "user")]).get(pack))
        t0 = time.perf_counter()
        items = inspector.classify_batch(paths, batch_size=16)
        bad = [it.error for it in items if it.error is not None]
        if bad:
            raise RuntimeError(f"{pack} in {models_dir}: {len(bad)} images failed, e.g. {bad[0]}")
        results = [it.result for it in items]
        probs = np.array([[r.probabilities[c] for c in classes] for r in results])
        out[pack] = {"version": results[0].pack_version, "probs": probs,
                     "alarming": np.array([r.alarming for r in results]),
                     "ood": np.array([r.out_of_domain for r in results]), "seconds": time.perf_counter() - t0}
    return {"versions": [out["skin-ham7"]["version"], out["skin-binary"]["version"]], "p7": out["skin-ham7"]["probs"],
            "pb": out["skin-binary"]["probs"][:, 1], "alarm": out["skin-binary"]["alarming"],
            "ood7": out["skin-ham7"]["ood"], "oodb": out["skin-binary"]["ood"]}


def main(argv: list[str] | None = None) -> int:
    from training.pipeline.config import REPO_ROOT, load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="models folder with the shipped skin-ham7 and skin-binary")
    parser.add_argument("new", type=Path, help="models folder with the candidates")
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "training" / "configs" / "skin-ham7.yaml")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--rule", choices=sorted(RULES), default="both",
                        help="headline numbers that must all be higher: both packs' (default), skin-binary's "
                             "(binary) or skin-ham7's balanced accuracy and macro-F1 (ham7)")
    parser.add_argument("--clear", action="append", default=[], choices=BOOTSTRAPPED,
                        help="a headline number whose gain must be outside the noise (repeatable)")
    parser.add_argument("--max-p", type=float, default=0.05,
                        help="with --clear: largest share of bootstrap resamples with new <= old (default 0.05)")
    args = parser.parse_args(argv)

    cfg = load_config(args.config)
    val = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                      seed=int(cfg["seed"]))["val"]
    source = np.array([s.extra.get("source") or "data" for s in val])
    groups = np.array([s.group for s in val])
    y7 = np.array([H7.index(s.label) for s in val])
    paths = [str(s.path) for s in val]
    runs = {"shipped": _run_packs(args.old, paths), "candidate": _run_packs(args.new, paths)}
    subsets = {"all": np.ones(len(val), bool), **{name: source == name for name in sorted(set(source))}}
    result: dict = {"validation_images": {k: int(m.sum()) for k, m in subsets.items()}}
    for tag, o in runs.items():
        result[tag] = {"versions": o["versions"]}
        for name, m in subsets.items():
            result[tag][name] = metrics(y7[m], o["p7"][m], o["pb"][m], o["alarm"][m], o["ood7"][m], o["oodb"][m])
    result["paired_bootstrap_new_minus_old"] = paired_bootstrap(groups, runs["shipped"], runs["candidate"], y7,
                                                                args.resamples)
    result["rule"] = {"higher": list(RULES[args.rule]), "clear": list(args.clear), "max_p": args.max_p}
    result["rule_holds"] = rule_holds(result, RULES[args.rule], args.clear, args.max_p)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for tag in ("shipped", "candidate"):
        for name in subsets:
            print(tag, name, {k: round(v, 4) for k, v in result[tag][name].items()})
    print("ship rule holds:", result["rule_holds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
