"""The out-of-domain candidates of issue 24 (docs/plans/issue24-refusals-session7.md) by group-grouped cross-validation on a pack's
validation side, from :mod:`training.pipeline.refusal_study`'s collected rows: K0 (one threshold, 95%
acceptance), K1 (one threshold, higher acceptance), K2 (the alarming decisions' own threshold: the
manifest's ``ood.alarm_threshold``), K3 (per-class scaled distances, from the ``embedding`` output and
the graph's whitener; skin-binary also with 7 diagnosis means; a graph edit, so only measured). The
rule's checks per candidate: malignant (alarming) refusal lower, overall <= 5%, every OOD set >= 90%.

``python -m training.pipeline.refusal_candidates PACK DATA.npz [--alarming mel,bcc,akiec] [--manifest M]
[--out-dir D]`` - ``--manifest``: the manifest the rows were collected with (its alarm line and OOD
threshold; e.g. ``git show 49aba09:models/skin-binary/manifest.json`` for skin-binary 1.3.0). A markdown
table on stdout, per-fold numbers in ``D/cv_PACK.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np, onnx
from onnx import numpy_helper
from sklearn.model_selection import StratifiedGroupKFold
from training.pipeline.thresholds import acceptance_threshold, alarm_decisions, review_band



def run(pack: str, data_path: Path, alarming: list[str] | None, manifest_path: Path | None, models_dir: Path,
        out_dir: Path) -> None:
    MAL = ("mel", "bcc", "akiec"); DX = ("nv", "bkl", "df", "vasc", "mel", "bcc", "akiec")
    SETS = ("imagenet", "signatures", "documents")
    z = np.load(data_path)
    if alarming:
        MAL = tuple(alarming)
    man = json.load(open(manifest_path or models_dir / pack / "manifest.json"))
    names = [c["name"] for c in man["classes"]]
    aidx = [names.index(c) for c in man["decision"]["alarming"]]
    athr = man["decision"]["alarm_threshold"]
    g = onnx.load(str(models_dir / pack / "model.onnx"))
    init = {t.name: numpy_helper.to_array(t) for t in g.graph.initializer if "ood_score" in t.name}
    W = next(v for k, v in init.items() if v.ndim == 2).astype(np.float64)
    M = next(v for k, v in init.items() if v.ndim == 3)[0].astype(np.float64)
    D = W.shape[0]

    def dists(e, means=M):
        zz = e.astype(np.float64) @ W
        return ((zz[:, None, :] - means[None]) ** 2).sum(-1) / D

    data = {"val": dict(probs=z["val_probs"], score=z["val_ood_score"], emb=z["val_emb"])}
    for s in SETS:
        data[s] = dict(probs=z[f"{s}_probs"], score=z[f"{s}_ood_score"], emb=z[f"{s}_emb"], half=z[f"{s}_half"])
    HAS_K3 = z["val_emb"].shape[1] == W.shape[0]
    for k, d in data.items():
        d["palarm"] = d["probs"][:, aidx].sum(1)
        if HAS_K3:
            d["d"] = dists(d["emb"])
            err = np.abs(d["d"].min(1) - d["score"]).max()
            HAS_K3 = HAS_K3 and err < 1e-3 * max(1, np.abs(d["score"]).max())
    dx = z["dx"] if "dx" in z else z["label"]; grp = z["group"]; mal = np.isin(dx, MAL); src = z["source"]
    if not set(dx) <= set(DX):
        DX = tuple(sorted(set(dx)))
    dx7 = np.array([DX.index(v) for v in dx])

    def refuse(rule, d, t_alarm_line=athr):
        kind = rule["kind"]
        if kind == "global":
            return d["score"] > rule["T"]
        if kind == "alarm":
            dec_alarm = d["palarm"] >= t_alarm_line
            return np.where(dec_alarm, d["score"] > rule["Ta"], d["score"] > rule["T"])
        if kind == "scaled":
            dd = d["d"] if rule.get("means") is None else dists(d["emb"], rule["means"])
            return (dd / rule["s"][None]).min(1) > 1.0

    def fit(kind, fit_idx, a=None):
        v = data["val"]
        T0 = acceptance_threshold(v["score"][fit_idx], 0.95)
        if kind == "K0":
            return {"kind": "global", "T": T0}
        if kind == "K1":
            return {"kind": "global", "T": acceptance_threshold(v["score"][fit_idx], a)}
        if kind == "K2":
            al = fit_idx[v["palarm"][fit_idx] >= athr]
            return {"kind": "alarm", "T": T0, "Ta": acceptance_threshold(v["score"][al], a)}
        if kind in ("K3a", "K3b"):
            if kind == "K3a" or len(names) == 7:
                lab = (np.isin(dx, MAL).astype(int) if len(names) == 2 else np.array([names.index(x) for x in dx]))
                means = None; dd = v["d"]
            else:  # skin-binary with 7 per-diagnosis means from the fit folds' embeddings
                lab = dx7
                means = np.stack([v["emb"][fit_idx][dx7[fit_idx] == c].astype(np.float64).mean(0) @ W for c in range(7)])
                dd = dists(v["emb"], means)
            s = np.array([acceptance_threshold(dd[fit_idx][lab[fit_idx] == c, c], 0.95) for c in range(dd.shape[1])])
            return {"kind": "scaled", "s": s, "means": means}

    def app_alarm_threshold(rule, idx, sens=0.90, cap=0.5):
        """Highest t: share of malignant in idx with p>=t and not refused(t) >= sens."""
        v = data["val"]
        pm = v["palarm"][idx][mal[idx]]
        best = None
        for t in np.unique(np.floor(pm * 1e4) / 1e4)[::-1]:
            r = refuse(rule, {k: x[idx] for k, x in v.items() if k != "emb" or rule["kind"] == "scaled"}, t)
            caught = (v["palarm"][idx] >= t) & ~r
            if caught[mal[idx]].mean() >= sens:
                best = float(t); break
        return min(best if best is not None else 0.0, cap)

    def score_fold(rule, idx, t=athr):
        v = data["val"]
        sub = {k: x[idx] for k, x in v.items()}
        r = refuse(rule, sub, t)
        al = (sub["palarm"] >= t) & ~r
        m, b = mal[idx], ~mal[idx]
        out = {"refused": r.mean(), "refused_mal": r[m].mean(), "refused_ben": r[b].mean(),
               "app_sens": al[m].mean(), "app_spec": (~al[b]).mean(), "prob_sens": (sub["palarm"] >= t)[m].mean(),
               "alarmed_rate": al.mean()}
        for c in DX:
            sel = dx[idx] == c
            out[f"refused_{c}"] = r[sel].mean() if sel.any() else np.nan
        for s in SETS:
            d = data[s]
            rr = refuse(rule, d)
            out[f"ood_{s}_sel"] = rr[d["half"] == 0].mean(); out[f"ood_{s}_rep"] = rr[d["half"] == 1].mean()
        return out

    lesion_dx = {}
    for gg, d in zip(grp, dx):
        lesion_dx.setdefault(gg, d)
    folds = []
    for seed in range(20261207, 20261212):
        skf = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
        for fi, ti in skf.split(np.zeros(len(dx)), dx, grp):
            folds.append((fi, ti))
    cands = [("K0", None)] + [("K1", a) for a in (0.96, 0.97, 0.98, 0.99)] + [("K2", a) for a in (0.95, 0.97, 0.98, 0.99)] + ([("K3a", None)] if HAS_K3 else [])
    if len(names) == 2 and pack.startswith("skin") and HAS_K3:
        cands.append(("K3b", None))
    res = {}
    for kind, a in cands:
        key = kind if a is None else f"{kind}@{a}"
        rows = [score_fold(fit(kind, fi, a), ti) for fi, ti in folds]
        res[key] = {k: [float(r[k]) for r in rows] for k in rows[0]}
    json.dump(res, open(out_dir / f"cv_{pack}.json", "w"))
    base = np.array(res["K0"]["refused_mal"])
    print(f"## {pack}: CV over validation, 5 folds x 5 seeds (mean +- sd over the 25 fold-scores); OOD: min over folds, selection half")
    print("| candidate | refused all | refused malignant | drop vs K0 (folds lower-or-equal) | refused benign | bkl | df | vasc | bcc | akiec | app sens @ shipped alarm | app spec | OOD min sel (imagenet/sig/doc) | OOD mean rep |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for key, r in res.items():
        f = lambda k: f"{100*np.nanmean(r[k]):.1f} +- {100*np.nanstd(r[k]):.1f}"
        drop = base - np.array(r["refused_mal"])
        oodmin = [min(r[f"ood_{s}_sel"]) for s in SETS]
        ok = (drop.mean() > 0 and (drop >= 0).sum() >= 20, np.mean(r["refused"]) <= 0.05, min(oodmin) >= 0.90)
        summary[key] = {"passes": bool(all(ok)), "checks": [bool(x) for x in ok], "mal": float(np.mean(r["refused_mal"]))}
        print(f"| {key} | {f('refused')} | {f('refused_mal')} | {100*drop.mean():.1f} ({(drop>=0).sum()}/25) | {f('refused_ben')} | "
              + " | ".join(f"{100*np.nanmean(r['refused_'+c]):.1f}" for c in DX if 'refused_'+c in r)
              + f" | {f('app_sens')} | {f('app_spec')} | " + "/".join(f"{100*v:.1f}" for v in oodmin)
              + " | " + "/".join(f"{100*np.mean(r[f'ood_{s}_rep']):.1f}" for s in SETS) + f" | {'PASS' if all(ok) else 'fail ' + str(ok)}")
    json.dump(summary, open(out_dir / f"cv_{pack}_summary.json", "w"), indent=1)


def main(argv: list[str] | None = None) -> int:
    from training.pipeline.config import REPO_ROOT

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pack")
    ap.add_argument("data", type=Path)
    ap.add_argument("--alarming", default=None, help="comma-separated labels that are alarming truth (default mel,bcc,akiec)")
    ap.add_argument("--manifest", type=Path, default=None)
    ap.add_argument("--models", type=Path, default=REPO_ROOT / "models")
    ap.add_argument("--out-dir", type=Path, default=Path("."))
    a = ap.parse_args(argv)
    run(a.pack, a.data, a.alarming.split(",") if a.alarming else None, a.manifest, a.models, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
