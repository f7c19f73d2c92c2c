"""Refused images must not hide alarms (issue 24): the study behind ``ood.alarm_threshold`` and
``decision.alarm_basis: app``, on a shipped pack's validation side through the app's Inspector.

``python -m training.pipeline.refusal_study collect PACK --config CFG --out OUT.npz``
    the validation side of ``CFG``'s split and the OOD sets of ``--ood-config`` through the pack's
    Inspector: probabilities, out-of-domain score and refusal code, guard flags, embedding.
``python -m training.pipeline.refusal_study decompose OUT.npz --pack PACK``
    the refusals by reason code, class, label and rendition (a markdown table).
``python -m training.pipeline.refusal_study cv OUT.npz --pack PACK [--alarm-acceptance A]``
    lesion- (group-) grouped cross-validation of the OOD candidates (one threshold at several
    acceptances; a separate threshold for alarming decisions), and of the alarm threshold and
    review band chosen on the app's decisions; ``--final`` fits them on every validation image.

The test side is never read here. ``--alarming-labels`` names the item labels that are alarming
truth (skin: mel, bcc, akiec, so one collection on skin-ham7's split serves both skin packs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.pipeline.thresholds import (acceptance_threshold, alarm_ood_threshold, alarm_threshold,
                                          app_alarm_threshold, app_review_band, ood_refusals)

OOD_SETS = ("imagenet", "signatures", "documents")


def collect(pack_dir: Path, pack: str, config: Path, ood_config: Path, out: Path) -> dict:
    """Run the pack's Inspector on the validation side and the OOD sets; save the per-image rows."""
    from inference.inspector import Inspector
    from inference.registry import PackRegistry
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.ood import load_ood_sets
    from training.pipeline.splits import split_pools

    cfg, ocfg = load_config(config), load_config(ood_config)
    val = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                      seed=int(cfg["seed"]))["val"]
    insp = Inspector(PackRegistry([(pack_dir, "user")]).get(pack))

    def run(items, names) -> dict:
        rows: dict[str, list] = {k: [] for k in ("probs", "ood_score", "refused", "code", "guard", "emb")}
        for it in insp.iter_batch(items, batch_size=16, names=names):
            if not it.ok:
                raise RuntimeError(f"{it.source}: {it.error}")
            r = it.result
            rows["probs"].append([r.probabilities[c] for c in insp.manifest.class_names])
            rows["ood_score"].append(np.nan if r.ood_score is None else r.ood_score)
            rows["refused"].append(r.out_of_domain)
            rows["code"].append("" if r.decision is None or r.decision.refusal is None else r.decision.refusal.code)
            rows["guard"].append("" if r.guard is None or not r.guard.flagged
                                 else "|".join(x.split(":", 1)[0] for x in r.guard.reasons))
            rows["emb"].append(np.zeros(1, np.float32) if r.embedding is None else r.embedding)
        return {k: np.array(v) for k, v in rows.items()}

    res = {f"val_{k}": v for k, v in run([str(s.path) for s in val], [Path(s.path).name for s in val]).items()}
    for s in load_ood_sets(ocfg["ood"]["sets"], int(ocfg["ood"]["limit"]), int(ocfg["seed"]), log=print):
        res.update({f"{s.name}_{k}": v for k, v in run(s.items, s.ids).items()})
        res[f"{s.name}_half"] = np.arange(len(s.items)) % 2  # 0: selection half, 1: report half (OodSet.halves)
    meta = {"ids": np.array([s.id for s in val]), "label": np.array([s.label for s in val]),
            "group": np.array([str(s.group) for s in val]),
            "source": np.array([s.extra.get("source") or "data" for s in val]),
            "version": np.array(insp.manifest.version)}
    np.savez_compressed(out, **meta, **res)
    return res


class Study:
    """A collected npz with the pack's decision block: everything the candidates need."""

    def __init__(self, data: Path, manifest: dict, alarming_labels: list[str]):
        z = np.load(data)
        self.label, self.group, self.source = z["label"], z["group"], z["source"]
        names = [c["name"] for c in manifest["classes"]]
        idx = [names.index(c) for c in manifest["decision"]["alarming"]]
        self.alarm_line = float(manifest["decision"]["alarm_threshold"])
        self.truth = np.isin(self.label, alarming_labels)
        self.val = {"p": z["val_probs"][:, idx].sum(1), "s": z["val_ood_score"].astype(np.float64)}
        self.ood = {n: {"p": z[f"{n}_probs"][:, idx].sum(1), "s": z[f"{n}_ood_score"].astype(np.float64),
                        "half": z[f"{n}_half"]} for n in OOD_SETS if f"{n}_probs" in z}

    def folds(self, n: int = 5, seeds: int = 5, seed: int = 20261207) -> list[tuple[np.ndarray, np.ndarray]]:
        """Group-disjoint folds stratified by label (a group's images in one fold), ``seeds`` times."""
        from sklearn.model_selection import StratifiedGroupKFold

        out = []
        for k in range(seeds):
            skf = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed + k)
            out.extend(skf.split(np.zeros(len(self.label)), self.label, self.group))
        return out

    def fit(self, idx: np.ndarray, acceptance: float = 0.95, alarm_acceptance: float | None = None,
            basis: str = "probability", sensitivity: float = 0.90, review: dict | None = None) -> dict:
        """The pipeline's procedure (training.pipeline.thresholds.alarm_aware) on the images ``idx``:
        the OOD threshold, the probability-based alarm line, the alarming decisions' OOD threshold,
        and with ``basis == "app"`` the alarm threshold and band chosen on the app's decisions."""
        review = review or {"sensitivity": 0.98, "precision": 0.90, "max_rate": 0.25}
        p, s, y = self.val["p"][idx], self.val["s"][idx], self.truth[idx]
        rule = {"T": acceptance_threshold(s, acceptance), "Ta": None}
        line = alarm_threshold(p, y, sensitivity, 0.5)
        if alarm_acceptance is not None:
            rule["Ta"] = alarm_ood_threshold(s, p, line, alarm_acceptance, rule["T"])
        if basis == "app":
            line = app_alarm_threshold(p, y, s, rule["T"], rule["Ta"], sensitivity, 0.5)
        refused = ood_refusals(s, p >= line, rule["T"], rule["Ta"])
        band = app_review_band(p, y, line, refused, **review)
        rule.update({"alarm": line, "band": band})
        return rule

    def score(self, rule: dict, idx: np.ndarray) -> dict:
        p, s, y = self.val["p"][idx], self.val["s"][idx], self.truth[idx]
        decided = p >= rule["alarm"]
        refused = ood_refusals(s, decided, rule["T"], rule["Ta"])
        alarmed = decided & ~refused
        low, high = rule["band"]
        out = {"refused": refused.mean(), "refused_alarming": refused[y].mean(), "refused_other": refused[~y].mean(),
               "app_sensitivity": alarmed[y].mean(), "app_specificity": (~alarmed[~y]).mean(),
               "prob_sensitivity": decided[y].mean(), "alarm_rate": alarmed.mean(),
               "review_rate": (~refused & (p >= low) & (p < high)).mean()}
        for lab in np.unique(self.label):
            sel = self.label[idx] == lab
            out[f"refused_{lab}"] = refused[sel].mean()
        for name, o in self.ood.items():
            r = ood_refusals(o["s"], o["p"] >= rule["alarm"], rule["T"], rule["Ta"])
            out[f"ood_{name}_selection"] = r[o["half"] == 0].mean()
            out[f"ood_{name}_report"] = r[o["half"] == 1].mean()
        return {k: float(v) for k, v in out.items()}

    def cv(self, **fit_args) -> dict[str, list[float]]:
        rows = [self.score(self.fit(fi, **fit_args), ti) for fi, ti in self.folds()]
        return {k: [r[k] for r in rows] for k in rows[0]}


def decompose(data: Path, manifest: dict, alarming_labels: list[str]) -> str:
    """Markdown: refusals by reason code per truth class, label and rendition."""
    z = np.load(data)
    st = Study(data, manifest, alarming_labels)
    refused, code, guard = z["val_refused"], z["val_code"], z["val_guard"]
    above = st.val["p"] >= st.alarm_line
    lines = ["| group | n | refused | out of domain | other codes | refused and P >= alarm | guard-flagged, not refused "
             "| alarm by probability | alarm in the app |", "|---|---|---|---|---|---|---|---|---|"]

    def row(name: str, sel: np.ndarray) -> None:
        n = int(sel.sum())
        if not n:
            return
        lines.append(f"| {name} | {n} | {int(refused[sel].sum())} ({100 * refused[sel].mean():.1f}%) | "
                     f"{int((code[sel] == 'out_of_domain').sum())} | {int(((code[sel] != '') & (code[sel] != 'out_of_domain')).sum())} | "
                     f"{int((refused & above)[sel].sum())} | {int(((guard[sel] != '') & ~refused[sel]).sum())} | "
                     f"{100 * above[sel].mean():.1f}% | {100 * (above & ~refused)[sel].mean():.1f}% |")

    row("all", np.ones(len(refused), bool))
    for name, sel in (("alarming truth", st.truth), ("other", ~st.truth)):
        row(name, sel)
        for src in np.unique(st.source):
            row(f"{name}, source {src}", sel & (st.source == src))
    for lab in np.unique(st.label):
        row(str(lab), st.label == lab)
    return "\n".join(lines)


def summarise(cv: dict[str, list[float]]) -> dict:
    return {k: {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v)), "min": float(np.nanmin(v))} for k, v in cv.items()}


def main(argv: list[str] | None = None) -> int:
    from training.pipeline.config import REPO_ROOT

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("pack")
    c.add_argument("--models", type=Path, default=REPO_ROOT / "models")
    c.add_argument("--config", type=Path, required=True, help="the training config whose split gives the validation side")
    c.add_argument("--ood-config", type=Path, help="the config whose ood.sets are used (default: --config)")
    c.add_argument("--out", type=Path, required=True)
    for name in ("decompose", "cv"):
        p = sub.add_parser(name)
        p.add_argument("data", type=Path)
        p.add_argument("--pack", required=True)
        p.add_argument("--models", type=Path, default=REPO_ROOT / "models")
        p.add_argument("--alarming-labels", default=None, help="comma-separated item labels that are alarming truth "
                       "(default: the pack's alarming classes)")
    cvp = sub.choices["cv"]
    cvp.add_argument("--alarm-acceptance", type=float, default=None)
    cvp.add_argument("--basis", choices=("probability", "app"), default="app")
    cvp.add_argument("--out", type=Path, required=True)
    cvp.add_argument("--config", type=Path, default=None,
                     help="the pack's training config: its decision.target_sensitivity and review (default 0.90 and "
                          "0.98 / 0.90 / 25%%)")
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        collect(args.models, args.pack, args.config, args.ood_config or args.config, args.out)
        return 0
    manifest = json.loads((args.models / args.pack / "manifest.json").read_text(encoding="utf-8"))
    labels = args.alarming_labels.split(",") if args.alarming_labels else list(manifest["decision"]["alarming"])
    if args.cmd == "decompose":
        print(decompose(args.data, manifest, labels))
        return 0
    st = Study(args.data, manifest, labels)
    point: dict = {}
    if args.config is not None:
        from training.pipeline.config import load_config

        dec = load_config(args.config)["decision"]
        point = {"sensitivity": float(dec["target_sensitivity"]), "review": dict(dec["review"])}
    result = {"pack": args.pack, "alarm_acceptance": args.alarm_acceptance, "basis": args.basis, "point": point,
              "cv": summarise(st.cv(alarm_acceptance=args.alarm_acceptance, basis=args.basis, **point)),
              "cv_probability_basis": summarise(st.cv(alarm_acceptance=args.alarm_acceptance, basis="probability",
                                                      **point)),
              "cv_shipped_rule": summarise(st.cv(**point))}
    final = st.fit(np.arange(len(st.label)), alarm_acceptance=args.alarm_acceptance, basis=args.basis, **point)
    result["final"] = {"ood_threshold": final["T"], "ood_alarm_threshold": final["Ta"], "alarm_threshold": final["alarm"],
                       "review_band": list(final["band"]), "in_sample": st.score(final, np.arange(len(st.label)))}
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    for key in ("cv_shipped_rule", "cv_probability_basis", "cv"):
        r = result[key]
        print(key, {k: f"{100 * v['mean']:.1f}+-{100 * v['sd']:.1f}" for k, v in r.items()
                    if not k.startswith("refused_") or k in ("refused_alarming", "refused_other")})
    print("final", json.dumps(result["final"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
