"""Issue #23: does a hand-crafted channel, computed on the same normalised canvas, add what the
frozen ImageNet taps of signature-verify 3.1.1 miss? A writer-grouped CV study.

    python -m training.signatures.v32_channel --out runs/sig3

Protocol (3.1.1's, nothing changed): the 5 writer-grouped folds of the 105 development writers
(CEDAR 1–35, Bengali 1–70); per fold, each channel's whitening PCA (256 dims, as the shipped
embedding's) fitted on the other four folds; 3 random reference sets per writer and per number of
references (1, 3, 5, 10), the same draws for every candidate (so the per-fold differences are
paired); the 3.1.1 scorer unchanged: cosine per reference, λ = 0.5 shift by the references' level,
the per-customer RLS-RBF classifier (ridge 0.3, β = 3.2) from 5 references on with a cohort of 300
genuine signatures of the *other folds'* development writers, logistic calibration fitted on the
other folds' rows, trimmed mean. The test writers (CEDAR 36–45, Bengali 71–80) are not loaded: their
hand-crafted features are never computed (NaN rows), and nothing here scores them.

Candidates (:mod:`training.signatures.handcrafted`, each block signed-square-rooted and L2'd as the
CNN taps are): oriented gradient energy (HOG-like, 8 or 12 signed orientations, 2×4 + 4×8 or 2×4 +
6×12 grids), uniform-LBP histograms (1×1 + 2×4), ink density (8×16) + projection profiles, and all
of them together. Each is scored (i) alone, as the embedding, and (ii) fused with the shipped
embedding: e = [√w·u_cnn, √(1−w)·u_channel] (both whitened and unit), so the cosine is
w·cos_cnn + (1−w)·cos_channel and the per-customer classifier sees both; w ∈ {0.9, 0.75, 0.5, 0.25}
compared fold by fold, and (channel, w) chosen by nested CV (on four folds by the mean of both
corpora's EER at 5 references; the fifth scored), w = 1 (3.1.1 itself) among the choices.

SHIP RULE (fixed before any number of this study was computed):
  The study's candidate is the (channel, w) the nested CV picks. It is shipped as 3.2.0 only if
  (a) its nested-CV EER at 5 references is lower than 3.1.1's in BOTH corpora (mean of the 5 paired
      per-fold differences < 0 in each), and in at least one corpus by more than the paired fold
      spread (mean difference < −sd of the 5 paired differences), and
  (b) at 10 references it is not higher than 3.1.1's in either corpus by more than the paired fold
      spread, and
  (c) the channel costs at most +10 ms per query (one thread), computed in the pack's ONNX graph.
  If the nested picks differ between outer folds, the shipped (channel, w) is the pick of the plain
  5-fold CV, and the nested numbers are the estimate. Otherwise 3.1.1 stays, and this study goes into
  the card's "measured, not shipped" section.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import _key, dev_writers, load_corpora, normalize_all
from training.signatures.handcrafted import FAMILIES, features
from training.signatures.v3_eval import N_REFS, eer_by_corpus, make_rows
from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS
from training.signatures.v3_train import PCA_DIMS, SEED, fit_layers, fold_layers, prep, spread
from training.signatures.v31_norm import _unit, cohort_of, load_study
from training.signatures.v31_train import COHORT_SEED, NEGATIVES, both, classifier_outputs, fold_eers, write_results

RIDGE, BETA, MIN_REFS = 0.3, 3.2, 5          # 3.1.1's scorer, unchanged
CHANNELS = {
    "hog8": ("hog8@2x4", "hog8@4x8"),
    "hog8-fine": ("hog8@2x4", "hog8@6x12"),
    "hog12": ("hog12@2x4", "hog12@4x8"),
    "lbp": ("lbp@1x1", "lbp@2x4"),
    "ink": ("ink@8x16", "proj_rows", "proj_cols"),
    "all": ("hog8@2x4", "hog8@4x8", "lbp@1x1", "lbp@2x4", "ink@8x16", "proj_rows", "proj_cols"),
}
WEIGHTS = (0.9, 0.75, 0.5, 0.25, 0.0)          # weight of the shipped embedding; 0 = the channel alone
BASE = "3.1.1"


def handcrafted_cache(out: Path, canvas_key: str, dev: np.ndarray, canvas: np.ndarray, log=print) -> dict:
    """Every family's blocks for the development writers' canvases (NaN rows elsewhere), cached."""
    path = out / f"handcrafted-{_key(canvas_key, sorted(FAMILIES), 'dev-only-v1')}.npz"
    if path.is_file():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    t0, c0 = time.perf_counter(), time.process_time()
    f = features(canvas[dev], log=log)
    full = {}
    for k, v in f.items():
        a = np.full((len(canvas), v.shape[1]), np.nan, np.float32)
        a[dev] = v
        full[k] = a
    np.savez(path, **full)
    log(f"hand-crafted features of {int(dev.sum())} canvases in {time.perf_counter() - t0:.0f} s "
        f"({time.process_time() - c0:.0f} s CPU)")
    return full


def per_fold_units(x: np.ndarray, wr, gen, folds, pca_dims: int = PCA_DIMS) -> list[np.ndarray]:
    """Per fold: the unit whitened embedding (PCA fitted on the other folds)."""
    if pca_dims == PCA_DIMS:
        layers = fold_layers(x, wr, gen, folds, (0,))[0]
    else:
        all_w = [w for f in folds for w in f]
        layers = {i: fit_layers(x, wr, gen, np.isin(wr, [w for w in all_w if w not in set(f)]), (0,), pca_dims)[0]
                  for i, f in enumerate(folds)}
    return [_unit(layers[i](x)) for i in range(len(folds))]


def stroke_width_probe(canvas: np.ndarray, wr, gen, corpus, folds, n: int = 5, draws: int = 3) -> dict:
    """A confound check: EER per corpus (mean ± sd over the folds) of a score that sees only the mean
    stroke width (2·ink area / ink edge pixels) or the ink fraction: −|value(query) − median over the
    references|. A pen or scan cue rather than the hand; far from chance would mean the forgeries
    differ from the genuine signatures in the pen."""
    b = np.asarray(canvas) < 128
    p = np.pad(b, ((0, 0), (1, 1), (1, 1)))
    inner = p[:, :-2, 1:-1] & p[:, 2:, 1:-1] & p[:, 1:-1, :-2] & p[:, 1:-1, 2:]
    area = b.sum(axis=(1, 2)).astype(np.float64)
    width = 2 * area / np.maximum((b & ~inner).sum(axis=(1, 2)), 1)
    out = {}
    for name, v in (("stroke_width", width), ("ink_fraction", area / b[0].size)):
        per = {"cedar": [], "bengali": []}
        for i, f in enumerate(folds):
            rows = make_rows(np.ones((len(v), 1)), wr, gen, corpus, f, n, draws, SEED + i)
            for c, e in eer_by_corpus(rows, -np.abs(v[rows.query] - np.median(v[rows.refs], axis=1))).items():
                per[c].append(e)
        out[name] = {c: spread(e) for c, e in per.items()}
    return out


def config_rows(units_cnn, units_ch, w: float, wr, gen, corpus, folds, draws: int) -> dict:
    """{n: [(Rows, {ridge: d(q)}) per fold]} for the fused embedding with weight ``w``."""
    per_n = {n: [] for n in N_REFS}
    for i, f in enumerate(folds):
        parts = []
        if w > 0:
            parts.append(np.sqrt(w) * units_cnn[i])
        if w < 1:
            parts.append(np.sqrt(1 - w) * units_ch[i])
        e = np.concatenate(parts, axis=1)
        dev = np.isfinite(e).all(axis=1)
        e = np.where(dev[:, None], e, 0.0)       # test writers' rows: never drawn (folds hold dev writers)
        cohort = cohort_of(e, wr, gen, f, NEGATIVES, COHORT_SEED)
        for n in N_REFS:
            rows = make_rows(e, wr, gen, corpus, f, n, draws, SEED + i)
            d = classifier_outputs(e, rows, cohort, (RIDGE,)) if n >= MIN_REFS else {}
            per_n[n].append((rows, d))
    return per_n


def prior_of(per_n: dict) -> float:
    return float(np.nanmean(np.concatenate([r.level for n in N_REFS if n >= 2 for r, _ in per_n[n]])))


def beta_at(n: int) -> float:
    return BETA if n >= MIN_REFS else 0.0


def score(per_n: dict, prior: float) -> dict:
    """{n: {corpus: [EER per fold]}} with 3.1.1's scorer (calibration on the other folds)."""
    out = {}
    for n in N_REFS:
        e = fold_eers(per_n[n], RIDGE, beta_at(n), prior)
        out[n] = {c: [v[c] for v in e] for c in ("cedar", "bengali")}
    return out


def paired(a: list[float], b: list[float]) -> dict:
    d = np.asarray(a) - np.asarray(b)
    return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)), "lower_folds": int((d < 0).sum()),
            "folds": [round(float(v), 4) for v in d]}


def ship_rule(nested: dict, base: dict, cost_ms: float | None) -> dict:
    """The rule of the module docstring, applied to per-fold EERs ({n: {corpus: [..]}})."""
    d5 = {c: paired(nested[5][c], base[5][c]) for c in ("cedar", "bengali")}
    d10 = {c: paired(nested[10][c], base[10][c]) for c in ("cedar", "bengali")}
    a = all(v["mean"] < 0 for v in d5.values()) and any(v["mean"] < -v["sd"] for v in d5.values())
    b = all(v["mean"] <= v["sd"] for v in d10.values())
    c = cost_ms is not None and cost_ms <= 10.0
    return {"a_lower_at_5": a, "b_not_worse_at_10": b, "c_cost": c, "cost_ms": cost_ms, "ship": a and b and c,
            "paired_5": d5, "paired_10": d10}


def log_nested(res: dict, log) -> None:
    """One log line per reference count: the nested CV EER per corpus and its paired change."""
    for n in N_REFS:
        p = res["nested"]["paired_vs_base"][str(n)]
        log(f"nested n={n}: CEDAR {res['nested'][str(n)]['cedar']['mean']:.4f} ± {res['nested'][str(n)]['cedar']['sd']:.4f} "
            f"(paired {p['cedar']['mean']:+.4f} ± {p['cedar']['sd']:.4f}) Bengali "
            f"{res['nested'][str(n)]['bengali']['mean']:.4f} ± {res['nested'][str(n)]['bengali']['sd']:.4f} "
            f"(paired {p['bengali']['mean']:+.4f} ± {p['bengali']['sd']:.4f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--channels", default=",".join(CHANNELS))
    ap.add_argument("--results", default="channel-results.json")
    ap.add_argument("--pca", type=int, default=PCA_DIMS, help="the channel's whitening PCA size (the bundle-size "
                    "variants; the study's candidates use 256, as the shipped embedding)")
    ap.add_argument("--weights", default=",".join(str(w) for w in WEIGHTS))
    ap.add_argument("--extra", default="", help="more channel:pca variants, e.g. lbp:128,lbp:64 (smaller whitening "
                    "PCAs: the bundle has 0.3 MB of headroom)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t0, c0 = time.perf_counter(), time.process_time()
    log = lambda *a: print(f"[{time.perf_counter() - t0:6.0f} s]", *a, flush=True)  # noqa: E731
    taps, x, wr, gen, corpus, folds = load_study(out, "b6+b7")
    dev = np.isin(wr, dev_writers())
    cv = normalize_all(load_corpora(CEDAR, BENGALI), OPTIONS, out)
    feats = handcrafted_cache(out, cv.key, dev, cv.canvas, log)
    # the channel's cost per canvas (numpy, one thread; the pack would compute it in its ONNX graph)
    sample = cv.canvas[np.flatnonzero(dev)[:256]]
    cost = {}
    for fam in FAMILIES:
        c1 = time.process_time()
        for s in range(0, len(sample), 32):
            FAMILIES[fam](sample[s:s + 32])
        cost[fam] = 1000 * (time.process_time() - c1) / len(sample)
    log(f"numpy CPU ms per canvas: {json.dumps({k: round(v, 2) for k, v in cost.items()})}")
    res_probe = stroke_width_probe(cv.canvas, wr, gen, corpus, folds)
    log("confound probe (EER at 5 references): " + json.dumps(
        {k: {c: round(v[c]["mean"], 4) for c in v} for k, v in res_probe.items()}))
    units_cnn = per_fold_units(x, wr, gen, folds)
    res: dict = {"scorer": {"ridge": RIDGE, "beta": BETA, "min_references": MIN_REFS, "lambda": 0.5},
                 "folds": folds, "numpy_ms_per_canvas": cost, "confound_probe": res_probe, "configs": {}}
    per_fold: dict[str, dict] = {}
    rows_of: dict[str, tuple] = {}
    base_rows = config_rows(units_cnn, None, 1.0, wr, gen, corpus, folds, args.draws)
    rows_of[BASE] = (base_rows, prior_of(base_rows))
    per_fold[BASE] = score(*rows_of[BASE])
    log(f"{BASE}: " + " ".join(f"n={n} {np.mean(v['cedar']):.4f}/{np.mean(v['bengali']):.4f}"
                               for n, v in per_fold[BASE].items()))
    variants = [(c, args.pca) for c in args.channels.split(",") if c]
    variants += [(v.split(":")[0], int(v.split(":")[1])) for v in args.extra.split(",") if v]
    for ch, pca in variants:
        h = prep(feats, CHANNELS[ch])
        units_ch = per_fold_units(np.nan_to_num(h), wr, gen, folds, pca)
        for i in range(len(folds)):
            units_ch[i][~dev] = np.nan
        for w in (float(v) for v in args.weights.split(",")):
            name = f"{ch}|w{w}" + ("" if pca == PCA_DIMS else f"|pca{pca}")
            r = config_rows(units_cnn, units_ch, w, wr, gen, corpus, folds, args.draws)
            rows_of[name] = (r, prior_of(r))
            per_fold[name] = score(*rows_of[name])
            log(f"{name}: " + " ".join(f"n={n} {np.mean(v['cedar']):.4f}/{np.mean(v['bengali']):.4f}"
                                      for n, v in per_fold[name].items()))
    for name, pf in per_fold.items():
        res["configs"][name] = {str(n): {c: spread(v) for c, v in pf[n].items()} for n in N_REFS}
        if name != BASE:
            res["configs"][name]["paired_vs_base"] = {
                str(n): {c: paired(pf[n][c], per_fold[BASE][n][c]) for c in ("cedar", "bengali")} for n in N_REFS}
    # plain CV pick and nested CV over every (channel, w), 3.1.1 among them
    names = list(per_fold)
    plain_pick = min(names, key=lambda k: np.mean([(a + b) / 2 for a, b in zip(per_fold[k][5]["cedar"],
                                                                               per_fold[k][5]["bengali"])]))
    nested = {n: {"cedar": [], "bengali": []} for n in N_REFS}
    picks = []
    for i in range(len(folds)):
        inner = [j for j in range(len(folds)) if j != i]
        pick = min(names, key=lambda k: both(fold_eers(rows_of[k][0][5], RIDGE, BETA, rows_of[k][1], inner)))
        picks.append(pick)
        for n in N_REFS:
            for c in ("cedar", "bengali"):   # the outer fold, calibration fitted on the four inner folds
                nested[n][c].append(per_fold[pick][n][c][i])
        log(f"nested outer fold {i}: picked {pick}")
    res["plain_pick"] = plain_pick
    res["nested"] = {"picks": picks, **{str(n): {c: spread(v) for c, v in nested[n].items()} for n in N_REFS},
                     "paired_vs_base": {str(n): {c: paired(nested[n][c], per_fold[BASE][n][c])
                                                 for c in ("cedar", "bengali")} for n in N_REFS}}
    pick_ch = plain_pick.split("|")[0] if plain_pick != BASE else None
    cost_ms = None if pick_ch is None else sum(cost[f] for f in FAMILIES if any(
        k.split("@")[0].startswith(f) or (f == "ink" and k.startswith("proj")) for k in CHANNELS[pick_ch]))
    res["rule"] = ship_rule(nested, per_fold[BASE], cost_ms)
    res["rule"]["note"] = ("cost: the numpy features' CPU ms per canvas (an upper bound of the ONNX graph's), "
                           "measured here; the ONNX cost is measured only when the rule's (a) and (b) hold")
    log(f"plain pick {plain_pick}; nested picks {picks}; rule {json.dumps({k: v for k, v in res['rule'].items() if not k.startswith('paired')})}")
    log_nested(res, log)
    return write_results(res, out, args.results, t0, c0, log)


if __name__ == "__main__":
    raise SystemExit(main())
