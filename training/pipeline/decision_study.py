"""Per-class decision offsets for a classify pack (issue 24): measured by lesion-grouped
cross-validation on the validation side only, never on the test side.

``python -m training.pipeline.decision_study MODELS_DIR PACK_ID --out RESULT.json``

A decision offset ``b_c`` moves the verdict, not the model: the class is chosen on
``log p_c + b_c`` (``p`` the pack's calibrated probabilities), alone (the most probable class) and,
where the pack has an alarm, inside the alarming or the calm classes after the unchanged alarm gate
(``inference.manifest.DecisionPolicy.class_offsets``). The probabilities, the alarm probability, the
top-k ranking, the heatmap, the OOD score and the guard stay as they are.

The validation side is rebuilt from the pack's training config and run through the app's own
:class:`~inference.inspector.Inspector` (every rendition: the data's images and any ``extra_data``
copies of the same lesions). Folds are over groups (lesions), so a lesion's images in every rendition
sit in one fold. Candidates:

- ``argmax``: no offsets (the shipped rule);
- ``prior_natural``: ``b = log`` of the training side's class shares (a prior correction from the
  class-balanced loss's equal classes to the natural mix; nothing fitted);
- ``prior_capped``: ``b = log`` of the class shares of the fit folds' class-capped mix;
- ``macro_f1``: offsets that maximise macro-F1 on the fit folds' class-capped mix (coordinate ascent);
- ``macro_f1_keep_ba``: the same, accepting a step only if the fit folds' balanced accuracy stays at
  least the argmax rule's there.

Round 2 (``--round 2``, after round 1 failed): ``prior_capped_scaled`` (``alpha`` times
``prior_capped``, one number fitted for macro-F1) and ``macro_f1_small`` (``macro_f1_keep_ba`` with
``|b| <= 0.5`` in steps of 0.25, one sweep).

Each candidate is fitted on four folds and scored on the fifth, on the class-capped mix (one image per
lesion and rendition, a capped class cut to its share: :func:`training.pipeline.mixes.capped_indices`)
and the natural mix, per rendition and pooled; the result JSON holds every fold's numbers and the
offsets refitted on all validation lesions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

CANDIDATES = ("argmax", "prior_natural", "prior_capped", "macro_f1", "macro_f1_keep_ba")
# Round 2 (stated after round 1 failed, before it ran): fewer free numbers, against round 1's variance.
ROUND2 = ("argmax", "prior_capped_scaled", "macro_f1_small")
ROUNDS = {1: CANDIDATES, 2: ROUND2}


def macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Mean F1 over all ``k`` classes (a class never predicted and absent scores 0, as sklearn's)."""
    f1 = []
    for c in range(k):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(f1))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Mean recall over the classes present in ``y``."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(k) if np.any(y == c)]))


def decide(logp: np.ndarray, offsets: np.ndarray, alarming: list[int] | None = None,
           threshold: float | None = None) -> np.ndarray:
    """The class chosen on ``log p + offsets``; with ``alarming`` and ``threshold``, after the alarm
    gate on the RAW summed probability of the alarming classes (as the Inspector does)."""
    s = logp + offsets
    if not alarming or threshold is None:
        return s.argmax(1)
    k = logp.shape[1]
    calm = [i for i in range(k) if i not in alarming]
    gate = np.exp(logp[:, alarming]).sum(1) >= threshold
    a = np.array(alarming)[s[:, alarming].argmax(1)]
    c = np.array(calm)[s[:, calm].argmax(1)]
    return np.where(gate, a, c)


def fit_offsets(logp: np.ndarray, y: np.ndarray, *, keep_ba: bool = False, fixed: int | None = None,
                grid: np.ndarray | None = None, sweeps: int = 4) -> np.ndarray:
    """Coordinate ascent on macro-F1 of ``argmax(log p + b)``; ``fixed`` (one class) stays at 0 (only
    differences matter). With ``keep_ba`` a step must keep balanced accuracy >= the argmax rule's.
    Ties keep the smaller |b| (no move without a gain)."""
    k = logp.shape[1]
    grid = np.round(np.arange(-3.0, 3.0001, 0.05), 4) if grid is None else grid
    b = np.zeros(k)
    floor = balanced_accuracy(y, logp.argmax(1), k) if keep_ba else -1.0
    best = macro_f1(y, logp.argmax(1), k)
    for _ in range(sweeps):
        moved = False
        for c in range(k):
            if c == fixed:
                continue
            for v in sorted(grid, key=abs):
                trial = b.copy()
                trial[c] = v
                pred = (logp + trial).argmax(1)
                f = macro_f1(y, pred, k)
                if f > best + 1e-12 and (not keep_ba or balanced_accuracy(y, pred, k) >= floor - 1e-12):
                    best, b, moved = f, trial, True
        if not moved:
            break
    return b


def lesion_folds(groups: np.ndarray, labels: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per image: lesions dealt round-robin per class (a lesion's first label), shuffled."""
    rng = np.random.default_rng(seed)
    first: dict[str, int] = {}
    for g, lab in zip(groups, labels):
        first.setdefault(str(g), int(lab))
    fold_of: dict[str, int] = {}
    for c in sorted(set(first.values())):
        members = sorted(g for g, lab in first.items() if lab == c)
        rng.shuffle(members)
        start = int(rng.integers(n_folds))
        for j, g in enumerate(members):
            fold_of[g] = (start + j) % n_folds
    return np.array([fold_of[str(g)] for g in groups])


def capped_mask(y: np.ndarray, groups: np.ndarray, ids: np.ndarray, renditions: np.ndarray, names: list[str],
                cap: dict[str, float], one_per_group: bool = True) -> np.ndarray:
    """Class-capped subset per rendition (each rendition capped on its own), as a mask."""
    from training.pipeline.mixes import capped_indices

    keep = np.zeros(len(y), bool)
    for r in np.unique(renditions):
        idx = np.flatnonzero(renditions == r)
        sub = capped_indices([names[i] for i in y[idx]], list(groups[idx]), list(ids[idx]), cap=cap,
                             one_per_group=one_per_group)
        keep[idx[sub]] = True
    return keep


def fit_candidate(name: str, logp: np.ndarray, y: np.ndarray, capped: np.ndarray, train_shares: np.ndarray,
                  fixed: int) -> np.ndarray:
    """One candidate's offsets from the fit images (``capped`` marks their class-capped mix)."""
    k = logp.shape[1]
    if name == "argmax":
        return np.zeros(k)
    if name == "prior_natural":
        return np.log(train_shares) - np.log(train_shares[fixed])
    if name == "prior_capped":
        shares = np.array([max(np.mean(y[capped] == c), 1e-3) for c in range(k)])
        return np.log(shares) - np.log(shares[fixed])
    if name in ("macro_f1", "macro_f1_keep_ba"):
        return fit_offsets(logp[capped], y[capped], keep_ba=name == "macro_f1_keep_ba", fixed=fixed)
    if name == "macro_f1_small":
        return fit_offsets(logp[capped], y[capped], keep_ba=True, fixed=fixed,
                           grid=np.array([-0.5, -0.25, 0.0, 0.25, 0.5]), sweeps=1)
    if name == "prior_capped_scaled":
        base = fit_candidate("prior_capped", logp, y, capped, train_shares, fixed)
        best_alpha, best = 0.0, macro_f1(y[capped], logp[capped].argmax(1), k)
        for alpha in sorted(np.round(np.arange(-1.0, 1.0001, 0.05), 4), key=abs):
            f = macro_f1(y[capped], (logp[capped] + alpha * base).argmax(1), k)
            if f > best + 1e-12:
                best_alpha, best = float(alpha), f
        return best_alpha * base
    raise ValueError(f"unknown candidate {name}")


def score(logp: np.ndarray, y: np.ndarray, b: np.ndarray, alarming: list[int], threshold: float | None) -> dict:
    """Macro-F1 / balanced accuracy of the most probable class and of the app decision; top-3 (raw
    ranking) and the share of app verdicts outside the shown top-3."""
    k = logp.shape[1]
    top = decide(logp, b)
    app = decide(logp, b, alarming, threshold)
    top3 = np.argsort(-logp, axis=1, kind="stable")[:, :3]
    return {"n": int(len(y)), "macro_f1": macro_f1(y, top, k), "balanced_accuracy": balanced_accuracy(y, top, k),
            "accuracy": float(np.mean(top == y)),
            "app_macro_f1": macro_f1(y, app, k), "app_balanced_accuracy": balanced_accuracy(y, app, k),
            "top3": float(np.mean([yy in t for yy, t in zip(y, top3)])),
            "verdict_outside_top3": float(np.mean([a not in t for a, t in zip(app, top3)]))}


def cross_validate(logp: np.ndarray, y: np.ndarray, groups: np.ndarray, ids: np.ndarray, renditions: np.ndarray,
                   names: list[str], cap: dict[str, float], train_shares: np.ndarray, alarming: list[int],
                   threshold: float | None, fixed: int, n_folds: int = 5, seed: int = 20261207,
                   candidates: tuple[str, ...] = CANDIDATES) -> dict:
    """Every candidate fitted on ``n_folds - 1`` folds and scored on the left-out one."""
    folds = lesion_folds(groups, y, n_folds, seed)
    capped = capped_mask(y, groups, ids, renditions, names, cap)
    subsets = {"pooled": np.ones(len(y), bool), **{str(r): renditions == r for r in np.unique(renditions)}}
    out: dict = {"folds": [], "n_folds": n_folds, "seed": seed, "candidates": list(candidates)}
    for f in range(n_folds):
        fit, held = folds != f, folds == f
        row: dict = {"fold": f, "fit_images": int(fit.sum()), "held_images": int(held.sum()), "candidates": {}}
        for name in candidates:
            b = fit_candidate(name, logp[fit], y[fit], capped[fit], train_shares, fixed)
            cand = {"offsets": dict(zip(names, np.round(b, 4).tolist()))}
            for mix, m in (("capped", capped), ("natural", np.ones(len(y), bool))):
                for sub, s in subsets.items():
                    sel = held & m & s
                    cand[f"{mix}/{sub}"] = score(logp[sel], y[sel], b, alarming, threshold)
            row["candidates"][name] = cand
        out["folds"].append(row)
    return out


def summarise(cv: dict) -> dict:
    """Mean and sd over folds of each number, and of the paired change against ``argmax``."""
    summary: dict = {}
    for name in cv["candidates"]:
        summary[name] = {}
        keys = [k for k in cv["folds"][0]["candidates"][name] if k != "offsets"]
        for key in keys:
            block = {}
            for metric in cv["folds"][0]["candidates"][name][key]:
                if metric == "n":
                    continue
                vals = np.array([row["candidates"][name][key][metric] for row in cv["folds"]])
                base = np.array([row["candidates"]["argmax"][key][metric] for row in cv["folds"]])
                block[metric] = {"mean": float(vals.mean()), "sd": float(vals.std(ddof=1)),
                                 "change_mean": float((vals - base).mean()),
                                 "change_sd": float((vals - base).std(ddof=1))}
            summary[name][key] = block
    return summary


def ship_rule(summary: dict, renditions: list[str]) -> dict:
    """The rule fixed in training/configs/skin-ham7.yaml before any candidate was measured."""
    verdicts = {}
    for name in summary:
        if name == "argmax":
            continue
        s = summary[name]
        gain = s["capped/pooled"]["macro_f1"]
        checks = {
            "a_capped_macro_f1_gain_over_sd": gain["change_mean"] > 0 and gain["change_mean"] > gain["change_sd"],
            "b_capped_ba": s["capped/pooled"]["balanced_accuracy"]["change_mean"] >= -0.005,
            "c_natural_ba": s["natural/pooled"]["balanced_accuracy"]["change_mean"] >= -0.005,
            "d_each_rendition": all(s[f"capped/{r}"]["macro_f1"]["change_mean"] > 0 for r in renditions),
            "e_app_capped_ba": s["capped/pooled"]["app_balanced_accuracy"]["change_mean"] >= -0.005,
            "f_outside_top3": s["natural/pooled"]["verdict_outside_top3"]["mean"] <= 0.01,
        }
        verdicts[name] = {"checks": checks, "passes": all(checks.values()), "capped_macro_f1": gain["mean"]}
    passing = [n for n, v in verdicts.items() if v["passes"]]
    chosen = max(passing, key=lambda n: verdicts[n]["capped_macro_f1"]) if passing else None
    return {"candidates": verdicts, "chosen": chosen}


def validation_probs(models_dir: Path, pack_id: str, config: Path, cache: Path | None) -> dict:
    """The validation side's probabilities from the pack through the app's Inspector (cached)."""
    if cache is not None and cache.exists():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    from inference.inspector import Inspector
    from inference.registry import PackRegistry
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    cfg = load_config(config)
    val = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                      seed=int(cfg["seed"]))["val"]
    inspector = Inspector(PackRegistry([(Path(models_dir), "user")]).get(pack_id), use_guard=False)
    names = list(inspector.manifest.class_names)
    items = inspector.classify_batch([str(s.path) for s in val], batch_size=16)
    bad = [it.error for it in items if it.error is not None]
    if bad:
        raise RuntimeError(f"{len(bad)} validation images failed, e.g. {bad[0]}")
    out = {"probs": np.array([[it.result.probabilities[c] for c in names] for it in items]),
           "y": np.array([names.index(s.label) for s in val]), "groups": np.array([str(s.group) for s in val]),
           "ids": np.array([str(s.id) for s in val]),
           "renditions": np.array([s.extra.get("source") or "data" for s in val]),
           "version": np.array(inspector.manifest.version)}
    if cache is not None:
        np.savez(cache, **out)
    return out


def main(argv: list[str] | None = None) -> int:
    from inference.registry import PackRegistry
    from training.pipeline.config import REPO_ROOT, load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, help="models folder with the shipped pack")
    parser.add_argument("pack", help="pack id, e.g. skin-ham7")
    parser.add_argument("--config", type=Path, default=None, help="training config (default training/configs/PACK.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    parser.add_argument("--cache", type=Path, default=None, help="npz cache of the validation probabilities")
    parser.add_argument("--fixed", default="nv", help="the class whose offset stays 0")
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, help="which candidates (see above)")
    args = parser.parse_args(argv)
    config = args.config or REPO_ROOT / "training" / "configs" / f"{args.pack}.yaml"

    manifest = PackRegistry([(Path(args.models), "user")]).get(args.pack).manifest
    names = list(manifest.class_names)
    policy = manifest.decision
    alarming = [names.index(n) for n in policy.alarming]
    v = validation_probs(args.models, args.pack, config, args.cache)
    cfg = load_config(config)
    train = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                        seed=int(cfg["seed"]))["train"]
    train_y = np.array([names.index(s.label) for s in train])
    train_shares = np.array([np.mean(train_y == c) for c in range(len(names))])
    mixes = (cfg.get("evaluation") or {}).get("test_mixes") or {}
    cap = dict(mixes.get("cap") or {})
    logp = np.log(np.clip(v["probs"], 1e-12, 1.0))
    fixed = names.index(args.fixed)
    cv = cross_validate(logp, v["y"], v["groups"], v["ids"], v["renditions"], names, cap, train_shares, alarming,
                        policy.alarm_threshold, fixed, candidates=ROUNDS[args.round])
    summary = summarise(cv)
    renditions = sorted(str(r) for r in np.unique(v["renditions"]))
    rule = ship_rule(summary, renditions)
    capped_all = capped_mask(v["y"], v["groups"], v["ids"], v["renditions"], names, cap)
    final = {name: dict(zip(names, np.round(fit_candidate(name, logp, v["y"], capped_all, train_shares, fixed), 4)
                            .tolist())) for name in ROUNDS[args.round]}
    result = {"pack": args.pack, "round": args.round, "version": str(v["version"]), "validation_images": int(len(v["y"])),
              "lesions": int(len(np.unique(v["groups"]))), "renditions": {r: int(np.sum(v["renditions"] == r))
                                                                          for r in renditions},
              "train_shares": dict(zip(names, train_shares.round(5).tolist())), "cap": cap,
              "summary": summary, "ship_rule": rule, "offsets_all_validation": final, "cv": cv}
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for name in summary:
        s = summary[name]
        line = [f"{name:17s}"]
        for key in ("capped/pooled", *(f"capped/{r}" for r in renditions), "natural/pooled"):
            m = s[key]
            line.append(f"{key}: F1 {m['macro_f1']['mean']:.3f}+-{m['macro_f1']['sd']:.3f} "
                        f"(d {m['macro_f1']['change_mean']:+.3f}+-{m['macro_f1']['change_sd']:.3f}) "
                        f"BA {m['balanced_accuracy']['mean']:.3f} (d {m['balanced_accuracy']['change_mean']:+.3f}) "
                        f"appBA d {m['app_balanced_accuracy']['change_mean']:+.3f} "
                        f"out3 {m['verdict_outside_top3']['mean']:.3f}")
        print(" | ".join(line))
    print(json.dumps(rule, indent=1))
    print("offsets on all validation lesions:", json.dumps(final.get(rule["chosen"]) if rule["chosen"] else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
