"""Stage 2 of signature-verify 3: choose everything by writer-grouped CV, then score the test writers once.

    python -m training.signatures.v3_train --out runs/sig3

Reads the caches of :mod:`training.signatures.v3_features`. The protocol (docs/training.md,
"Signatures"): 5 folds of the development writers (CEDAR 1–35 and Bengali 1–70, each corpus split
evenly over the folds); for each candidate (taps × learned layer) the layer is fitted on four
folds and the fifth is scored (EER at 5 references per corpus, mean ± sd over folds). The winner's
out-of-fold scores fix the reference normalisation, the aggregate, the calibration and the
operating points (per number of references); the writer-dependent SVM is measured on the same
folds. Only then is the layer refitted on all development writers and the test writers (CEDAR
36–45, Bengali 71–80) scored — once; ``results.json`` records every number.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.signatures import metric
from training.signatures.corpora import BENGALI_OFFSET, corpus_of_writer, dev_writers, load_corpora, test_writers
from training.signatures.v3_eval import (N_REFS, Recipe, Rows, choose_point, eer_by_corpus, fit_calibration,
                                          make_rows, rates)
from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS, TAPS

CANDIDATE_TAPS = {
    "b5": ("block5c_add",),
    "b4+b5": ("block4c_add", "block5c_add"),
    "b5+b6": ("block5c_add", "block6d_add"),
    "b4+b5+b6": ("block4c_add", "block5c_add", "block6d_add"),
    "b6+b7": ("block6d_add", "block7a_project_bn"),
}
LDA_DIMS = (0, 32, 96)
PCA_DIMS = 256
LAMBDAS = (0.0, 0.5, 1.0)
AGGREGATES = ("median", "trimmed_mean")
FOLDS = 5
SEED = 23


def prep(feats: dict[str, np.ndarray], taps) -> np.ndarray:
    """Per tap: signed square root and L2; concatenated and scaled to unit norm (the graph's twin)."""
    parts = []
    for t in taps:
        x = np.asarray(feats[t], np.float64)
        x = np.sign(x) * np.sqrt(np.abs(x))
        parts.append(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))
    return np.concatenate(parts, axis=1) / np.sqrt(len(taps))


def folds_of(writers: list[int], k: int = FOLDS, seed: int = SEED) -> list[list[int]]:
    """Writer-grouped folds, each corpus spread evenly over them."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for c in ("cedar", "bengali"):
        ws = np.array([w for w in writers if corpus_of_writer(w) == c])
        rng.shuffle(ws)
        for i, w in enumerate(ws):
            out[i % k].append(int(w))
    return [sorted(f) for f in out]


def fit_layers(x, wr, gen, mask, lda_values, pca_dims: int = PCA_DIMS, ridge: float = 0.1) -> dict:
    """{lda_dims: MetricLayer} fitted on the rows of ``mask``: one whitening PCA (randomised SVD, the
    same components as :func:`training.signatures.metric.fit` up to sign) shared by every
    genuine-vs-skilled-forgery discriminant size (the discriminant exactly as in ``metric.fit``)."""
    from scipy.linalg import eigh
    from sklearn.decomposition import PCA

    xf = x[mask]
    k = min(pca_dims, len(xf) - 1, x.shape[1])
    pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(xf)
    mu = pca.mean_
    P = pca.components_.T / np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
    out = {}
    z = (x - mu) @ P
    d = z.shape[1]
    Sg, Sf = np.zeros((d, d)), np.zeros((d, d))
    ws = np.unique(wr[mask])
    for w in ws:
        g = z[mask & (wr == w) & gen]
        f = z[mask & (wr == w) & ~gen]
        if len(g) < 2:
            continue
        m = g.mean(axis=0)
        Sg += (g - m).T @ (g - m)
        if len(f):
            Sf += (f - m).T @ (f - m)
    Sg /= len(ws)
    Sf /= len(ws)
    vals, vecs = eigh(Sf, Sg + ridge * np.trace(Sg) / d * np.eye(d))
    for lda in lda_values:
        M = P
        if lda:
            V = vecs[:, ::-1][:, :min(lda, d)]
            M = P @ (V / np.maximum(np.linalg.norm(V, axis=0, keepdims=True), 1e-12))
        out[lda] = metric.MetricLayer(mu, M, 1.0, int(k), int(lda), float(ridge))
    return out


def fold_layers(x, wr, gen, folds, lda_values):
    """{lda: {fold index: MetricLayer fitted on the other folds}}."""
    out = {lda: {} for lda in lda_values}
    all_w = [w for f in folds for w in f]
    for i, f in enumerate(folds):
        mask = np.isin(wr, [w for w in all_w if w not in set(f)])
        for lda, layer in fit_layers(x, wr, gen, mask, lda_values).items():
            out[lda][i] = layer
    return out


def oof_rows(x, wr, gen, corpus, folds, layers, ns, draws, seed=SEED) -> dict[int, Rows]:
    rows = {n: [] for n in ns}
    for i, f in enumerate(folds):
        emb = layers[i](x)
        for n in ns:
            rows[n].append(make_rows(emb, wr, gen, corpus, f, n, draws, seed + i))
    return {n: Rows.concat(v) for n, v in rows.items()}


def fold_index(rows: Rows, folds) -> np.ndarray:
    where = {w: i for i, f in enumerate(folds) for w in f}
    return np.array([where[int(w)] for w in rows.writer])


def spread(values) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    return {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
            "folds": [round(float(a), 4) for a in v]}


def cv_eer(rows: Rows, recipe: Recipe, folds) -> dict[str, dict]:
    """EER per corpus per fold (the fold's writers only), mean ± sd."""
    s = recipe.overall(rows)
    fi = fold_index(rows, folds)
    per = {"cedar": [], "bengali": []}
    for i in range(len(folds)):
        e = eer_by_corpus(rows.subset(fi == i), s[fi == i])
        for c in per:
            per[c].append(e[c])
    out = {c: spread(v) for c, v in per.items()}
    out["both"] = spread([(a + b) / 2 for a, b in zip(per["cedar"], per["bengali"])])
    return out


def operating_points(rows: dict[int, Rows], recipe, folds, log=print) -> tuple[dict, dict]:
    """Per number of references: the standard and strict points chosen on the out-of-fold scores, and
    their honest CV (the standard point chosen on the other folds, measured on each fold). ``recipe``:
    one :class:`Recipe`, or {n: Recipe} when the score differs with the number of references."""
    points, cv_points = {}, {}
    for n, r in rows.items():
        s = (recipe[n] if isinstance(recipe, dict) else recipe).overall(r)
        points[n] = {"standard": choose_point(r.y, s), "strict": choose_point(r.y, s, strict_far=0.01)}
        st = points[n]["strict"]
        sd = points[n]["standard"]
        # the strict band must hold its threshold and at least the standard band
        st["review"] = [min(sd["review"][0], st["threshold"]), max(sd["review"][1], st["threshold"])]
        # honest CV of the operating point: chosen on the other folds, measured on this one
        fi = fold_index(r, folds)
        per = {c: {k: [] for k in ("eer", "far", "frr", "accuracy", "review_rate", "review_rate_genuine",
                                   "accuracy_decided")} for c in ("cedar", "bengali")}
        for i in range(len(folds)):
            tr, te = fi != i, fi == i
            pt = choose_point(r.y[tr], s[tr])
            for c in per:
                k = te & (r.corpus == c)
                m = rates(r.y[k], s[k], pt["threshold"], *pt["review"])
                m["eer"] = eer_by_corpus(r.subset(k), s[k])[c]
                for key in per[c]:
                    per[c][key].append(m[key])
        cv_points[n] = {c: {k: spread(v) for k, v in d.items()} for c, d in per.items()}
        cv_points[n]["pooled_at_shipped_points"] = {
            p: {c: rates(r.y[r.corpus == c], s[r.corpus == c], points[n][p]["threshold"], *points[n][p]["review"])
                for c in ("cedar", "bengali")} for p in ("standard", "strict")}
        log(f"n={n}: standard {points[n]['standard']} | CV cedar EER {cv_points[n]['cedar']['eer']['mean']:.4f} "
            f"acc {cv_points[n]['cedar']['accuracy']['mean']:.4f} | bengali EER "
            f"{cv_points[n]['bengali']['eer']['mean']:.4f} acc {cv_points[n]['bengali']['accuracy']['mean']:.4f} "
            f"review {cv_points[n]['bengali']['review_rate']['mean']:.3f}")
    return points, cv_points


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--candidates", default=",".join(CANDIDATE_TAPS), help="tap sets to try (smoke runs: one)")
    ap.add_argument("--lda", default=",".join(str(v) for v in LDA_DIMS), help="lda_dims values to try")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t_start = time.perf_counter()
    log = lambda *a: print(f"[{time.perf_counter() - t_start:6.0f} s]", *a, flush=True)  # noqa: E731
    items = load_corpora(CEDAR, BENGALI)
    feat_file = sorted(out.glob("features-lite0-*.npz"))[-1]
    with np.load(feat_file) as d:
        feats = {k: d[k] for k in d.files}
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    corpus = np.array([it.corpus for it in items], dtype=object)
    dev, test = dev_writers(), test_writers()
    assert not set(dev) & set(test)
    folds = folds_of(dev)
    results: dict = {"folds": folds, "protocol": "5-fold writer-grouped CV over development writers "
                     "CEDAR 1-35 + Bengali 1-70; test writers CEDAR 36-45 + Bengali 71-80 scored once"}

    # 1. candidates: taps x learned layer, EER at 5 references by CV
    cands = {}
    lda_values = tuple(int(v) for v in args.lda.split(","))
    for name in args.candidates.split(","):
        taps = CANDIDATE_TAPS[name]
        x = prep(feats, taps)
        t0 = time.perf_counter()
        layers = fold_layers(x, wr, gen, folds, lda_values)
        for lda in lda_values:
            rows5 = oof_rows(x, wr, gen, corpus, folds, layers[lda], (5,), args.draws)[5]
            for lam in LAMBDAS:
                prior = float(np.nanmean(rows5.level))
                for how in AGGREGATES:
                    key = f"{name}|lda{lda}|lam{lam}|{how}"
                    cands[key] = cv_eer(rows5, Recipe(10.0, 0.0, lam, prior, how), folds)
                    cands[key]["seconds_layer_fits"] = round(time.perf_counter() - t0, 1)
            best_here = min((k for k in cands if k.startswith(f"{name}|lda{lda}|")),
                            key=lambda k: cands[k]["both"]["mean"])
            log(f"{name} lda={lda}: best {best_here} EER@5 cedar {cands[best_here]['cedar']['mean']:.4f} "
                f"bengali {cands[best_here]['bengali']['mean']:.4f}")
    results["candidates"] = cands
    best = min(cands, key=lambda k: cands[k]["both"]["mean"])
    name, lda_s, lam_s, how = best.split("|")
    taps, lda, lam = CANDIDATE_TAPS[name], int(lda_s[3:]), float(lam_s[3:])
    log(f"chosen by CV: {best}: {json.dumps({c: cands[best][c]['mean'] for c in ('cedar', 'bengali')})}")
    results["chosen"] = {"key": best, "taps": list(taps), "pca_dims": PCA_DIMS, "lda_dims": lda, "lambda": lam,
                         "aggregate": how}

    # 2. out-of-fold scores of the winner for every n: calibration and operating points
    x = prep(feats, taps)
    layers = fold_layers(x, wr, gen, folds, (lda,))[lda]
    rows = oof_rows(x, wr, gen, corpus, folds, layers, N_REFS, 3)
    prior = float(np.nanmean(np.concatenate([r.level for n, r in rows.items() if n >= 2])))
    recipe = fit_calibration(rows[5], Recipe(10.0, 0.0, lam, prior, how))
    results["recipe"] = recipe.__dict__
    points, cv_points = operating_points(rows, recipe, folds, log)
    results["operating_points"] = {str(n): p for n, p in points.items()}
    results["cv_operating_points"] = {str(n): p for n, p in cv_points.items()}
    agreements = np.concatenate([r.level for n, r in rows.items() if n >= 3])
    results["reference_outlier_floor"] = float(np.nanquantile(agreements, 0.005))

    # 3. writer-dependent refinement, same folds
    from training.signatures.v3_wd import writer_dependent_cv

    results["writer_dependent"] = writer_dependent_cv(x, wr, gen, corpus, folds, layers, recipe, (5, 10), log=log)

    # 4. baselines
    from training.signatures.v3_baselines import baselines

    results["baselines"] = baselines(items, out, OPTIONS, dev, log=log)

    # 5. the final layer on all development writers; the test writers, once
    final = fit_layers(x, wr, gen, np.isin(wr, dev), (lda,))[lda]
    emb = final(x)
    np.savez(out / "final_layer.npz", mean=final.mean, matrix=final.matrix, taps=np.array(taps))
    test_res = {}
    for n in N_REFS:
        r = make_rows(emb, wr, gen, corpus, test, n, 3, SEED + 1000)
        s = recipe.overall(r)
        test_res[str(n)] = {"eer": eer_by_corpus(r, s)}
        for p in ("standard", "strict"):
            pt = points[n][p]
            test_res[str(n)][p] = {c: rates(r.y[r.corpus == c], s[r.corpus == c], pt["threshold"], *pt["review"])
                                   for c in ("cedar", "bengali")}
        if n == 5:
            np.savez(out / "test_rows5.npz", y=r.y, cos=r.cos, level=r.level, writer=r.writer,
                     query=r.query, refs=r.refs, score=s, corpus=r.corpus.astype(str))
        log(f"TEST n={n}: {json.dumps(test_res[str(n)]['eer'])} standard "
            f"{json.dumps({c: {k: round(v, 4) for k, v in d.items()} for c, d in test_res[str(n)]['standard'].items()})}")
    results["test"] = test_res
    dev_mask = np.isin(wr, dev)
    n2 = np.sum(emb[dev_mask] ** 2, axis=1)
    results["domain"] = {"embedding_norm2_q995": float(np.quantile(n2, 0.995)),
                         "embedding_norm2_max": float(n2.max())}
    results["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    log(f"done -> {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["BENGALI_OFFSET", "CANDIDATE_TAPS", "folds_of", "operating_points", "prep"]
