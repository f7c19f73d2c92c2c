"""Issue #23, session 7: does a pairwise, registered-stroke channel lower 3.2.0's CV EER? A writer-grouped
CV study on the development writers.

    python -m training.signatures.v33_pairwise --out runs/sig33 --study runs/sig3

Protocol (3.2.0's, nothing changed): the 5 writer-grouped folds of the 105 development writers (CEDAR
1–35, Bengali 1–70); per fold the fused embedding of 3.2.0 (CNN taps + LBP channel, w = 0.5, whitening
fitted on the other four folds); 3 random reference sets per writer and per number of references (1, 3,
5, 10), the same draws as 3.2.0's CV; 3.2.0's scorer unchanged: per-reference cosine, λ = 0.5 shift by
the references' mutual agreement, the per-customer RLS-RBF classifier (ridge 1.0, β = 0.8) from 5
references on with a cohort of 300 genuine signatures of the other folds' development writers, logistic
calibration fitted on the other folds' rows, trimmed mean. The test writers (CEDAR 36–45, Bengali
71–80) are not loaded: their pair features are never computed, nothing here scores them.

The channel (:mod:`training.signatures.v33_pairs`): per (query, reference) pair, the query registered
onto the reference (``pose``: gyration scale + FFT translation; ``grid9``: 3 scales × 3 rotations + FFT
translation) and one of three stroke similarities: ``corr`` (correlation of the dilated coarse inks at
the optimum), ``cov2`` (symmetric ink coverage within 2 px), ``chamfer`` (minus the symmetric chamfer
distance truncated at 5 px). Fused at score level, per reference, before the shift and the calibration:
s_i = cos_i + γ · p_i / u, where u is the feature's standard deviation over all development pairs (a
label-free unit, so one γ grid serves every feature), γ ∈ {0.0125, 0.025, 0.05, 0.1, 0.2, 0.4}. The
per-reference scores stay coherent by construction: each is σ(a·s_i + b) and the overall score is their
trimmed mean, as in 3.2.0. The references' level (λ) stays the embedding's (a pairwise level would cost
n(n−1) registrations). (variant, feature, γ) — and γ = 0, i.e. 3.2.0 itself — chosen by nested CV: on
four folds by the mean of both corpora's EER at 5 references, the fifth scored.

SHIP RULE (fixed before any number of this study was computed; committed before the study's first run):
  The candidate is the (variant, feature, γ) the nested CV picks (if the picks differ between outer folds,
  the plain 5-fold CV pick is what would ship, the nested numbers are its estimate). It ships as 3.3.0
  only if ALL of:
  (a) CEDAR at 5 references: the 5 paired per-fold differences (nested − 3.2.0) have mean + sd < 0;
  (b) Bengali at 5 references: not worse beyond its spread (mean of the paired differences ≤ + their sd);
  (c) at 10 references: in neither corpus worse beyond the spread (mean ≤ + sd);
  (d) cost: the channel's CPU per pair (one thread, median of 3 timings of 200 development pairs in this
      run) × 5 added to 3.2.0's warm query (30.1 ms CPU, the card) is ≤ 40 ms — #28's per-extra-query
      target with 5 references — and the cold query stays ≤ 300 ms; then re-measured on the built pack.
  Otherwise 3.2.0 stays and the study goes into the card's "what was tried" and docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import dev_writers, load_corpora, normalize_all
from training.signatures.v3_eval import N_REFS, Recipe, Rows, eer_by_corpus, fit_calibration, make_rows
from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS
from training.signatures.v3_train import SEED, prep, spread
from training.signatures.v31_norm import cohort_of, load_study
from training.signatures.v31_train import (LAM, COHORT_SEED, NEGATIVES, both, classifier_outputs, fold_eers, fused,
                                           write_results)
from training.signatures.v32_channel import CHANNELS, handcrafted_cache, log_nested, paired, per_fold_units
from training.signatures.v33_pairs import VARIANTS, PairLookup, chamfer, features, pair_cache, pair_target

RIDGE, BETA, MIN_REFS = 1.0, 0.8, 5          # 3.2.0's scorer, unchanged
LBP_PCA, LBP_W = 64, 0.5                     # 3.2.0's embedding
PAIR_FEATURES = ("corr", "cov2", "chamfer")
GAMMAS = (0.0125, 0.025, 0.05, 0.1, 0.2, 0.4)
BASE = "3.2.0"
COST_BASE_MS, COST_LIMIT_MS = 30.1, 40.0


def base_rows(x, wr, gen, corpus, folds, feats, dev, draws: int) -> dict[int, list[tuple[Rows, dict]]]:
    """3.2.0's CV rows and classifier outputs (v32_channel_train's step 1, ridge 1.0 only)."""
    units_cnn = per_fold_units(x, wr, gen, folds)
    units_ch = per_fold_units(np.nan_to_num(prep(feats, CHANNELS["lbp"])), wr, gen, folds, LBP_PCA)
    per_n: dict[int, list[tuple[Rows, dict]]] = {n: [] for n in N_REFS}
    for i, f in enumerate(folds):
        e = np.concatenate([np.sqrt(LBP_W) * units_cnn[i], np.sqrt(1 - LBP_W) * units_ch[i]], axis=1)
        e[~dev] = 0.0
        cohort = cohort_of(e, wr, gen, f, NEGATIVES, COHORT_SEED)
        for n in N_REFS:
            rows = make_rows(e, wr, gen, corpus, f, n, draws, SEED + i)
            per_n[n].append((rows, classifier_outputs(e, rows, cohort, (RIDGE,)) if n >= MIN_REFS else {}))
    return per_n


def with_channel(per_n, look: PairLookup, variant: str, feature: str, gamma: float, unit: float):
    out = {}
    for n, parts in per_n.items():
        out[n] = []
        for rows, d in parts:
            p = look.get(variant, feature, rows.query, rows.refs)
            out[n].append((Rows(rows.n, rows.y, rows.cos + gamma * p / unit, rows.level, rows.writer, rows.corpus,
                                rows.query, rows.refs), d))
    return out


class FoldScorer:
    """:func:`training.signatures.v31_train.fold_eers`, memoised: a fold's EER with the calibration fitted
    on a given tuple of other folds (the same rows in the same order as ``fold_eers`` concatenates them,
    so the same numbers). The nested choice refits on folds ∖ {outer, inner}, a set that two (outer,
    inner) orders share: each calibration is fitted once, not twice, and n = 1, 3, 10 only for the
    configurations that are reported at them."""

    def __init__(self, prior: float):
        self.prior = prior
        self._cal: dict = {}
        self._eer: dict = {}

    def eer(self, name: str, parts: list, n: int, fold: int, train: tuple[int, ...]) -> dict[str, float]:
        key = (name, n, fold, train)
        if key not in self._eer:
            beta = BETA if n >= MIN_REFS else 0.0
            fr = lambda j: fused(parts[j][0], parts[j][1].get(RIDGE), beta)  # noqa: E731
            ck = (name, n, train)
            if ck not in self._cal:
                self._cal[ck] = fit_calibration(Rows.concat([fr(j) for j in train]),
                                                Recipe(1.0, 0.0, LAM, self.prior, "trimmed_mean"))
            rows = fr(fold)
            self._eer[key] = eer_by_corpus(rows, self._cal[ck].overall(rows))
        return self._eer[key]

    def per_fold(self, name: str, parts: list, n: int) -> dict[str, list[float]]:
        k = len(parts)
        e = [self.eer(name, parts, n, i, tuple(j for j in range(k) if j != i)) for i in range(k)]
        return {c: [v[c] for v in e] for c in ("cedar", "bengali")}

    def inner_both(self, name: str, parts: list, outer: int) -> float:
        """The nested choice's criterion: the mean of both corpora's EER over the inner folds, each
        calibrated on the other inner folds (``both(fold_eers(..., inner))``)."""
        inner = [j for j in range(len(parts)) if j != outer]
        return both([self.eer(name, parts, 5, i, tuple(j for j in inner if j != i)) for i in inner])


def scored(per_n, prior: float) -> dict:
    """{n: {corpus: [EER per fold]}} by ``fold_eers`` itself (the reference the memoised scorer is
    tested against)."""
    out = {}
    for n in N_REFS:
        e = fold_eers(per_n[n], RIDGE, BETA if n >= MIN_REFS else 0.0, prior)
        out[n] = {c: [v[c] for v in e] for c in ("cedar", "bengali")}
    return out


def pair_cost(mask, wr, gen, variant: str, m: int = 200) -> float:
    """Median of 3 timings: CPU ms per pair (the reference's side cached, as the app would)."""
    rng = np.random.default_rng(SEED)
    dev = dev_writers()
    pairs = []
    for _ in range(m):
        w = rng.choice(dev)
        items = np.flatnonzero(wr == w)
        r = rng.choice(items[gen[items]])
        pairs.append((rng.choice(items[items != r]), r))
    targets = [pair_target(mask[r]) for _, r in pairs]
    times = []
    for _ in range(3):
        c0 = time.process_time()
        for (q, _), t in zip(pairs, targets):
            features(mask[q], t, variant)
        times.append(1000 * (time.process_time() - c0) / m)
    return float(np.median(times))


def ship_rule(nested: dict, base: dict, cost_ms: float | None) -> dict:
    d5 = {c: paired(nested[5][c], base[5][c]) for c in ("cedar", "bengali")}
    d10 = {c: paired(nested[10][c], base[10][c]) for c in ("cedar", "bengali")}
    a = d5["cedar"]["mean"] + d5["cedar"]["sd"] < 0
    b = d5["bengali"]["mean"] <= d5["bengali"]["sd"]
    c = all(v["mean"] <= v["sd"] for v in d10.values())
    warm = None if cost_ms is None else COST_BASE_MS + 5 * cost_ms
    d = warm is not None and warm <= COST_LIMIT_MS
    return {"a_cedar_lower_at_5": a, "b_bengali_not_worse_at_5": b, "c_not_worse_at_10": c, "d_cost": d,
            "pair_ms": cost_ms, "predicted_warm_ms": warm, "ship": a and b and c and d, "paired_5": d5,
            "paired_10": d10}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig33")
    ap.add_argument("--study", default="runs/sig3", help="the 3.x study cache (features, canvases, LBP)")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--results", default="pairwise-results.json")
    args = ap.parse_args(argv)
    out, study = Path(args.out), Path(args.study)
    out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    log = lambda *a: print(f"[{time.perf_counter() - t0:6.0f} s]", *a, flush=True)  # noqa: E731
    taps, x, wr, gen, corpus, folds = load_study(study, "b6+b7")
    dev = np.isin(wr, dev_writers())
    cv = normalize_all(load_corpora(CEDAR, BENGALI), OPTIONS, study)
    feats = handcrafted_cache(study, cv.key, dev, cv.canvas, log)
    look = PairLookup(pair_cache(out, cv.key, cv.mask, wr, gen, dev_writers(), log), len(wr))
    cost = {v: pair_cost(cv.mask, wr, gen, v) for v in VARIANTS}
    log(f"CPU ms per pair (one thread, median of 3 x 200 pairs): {json.dumps({k: round(v, 2) for k, v in cost.items()})}")
    per_n = base_rows(x, wr, gen, corpus, folds, feats, dev, args.draws)
    prior = float(np.nanmean(np.concatenate([r.level for n in N_REFS if n >= 2 for r, _ in per_n[n]])))
    res: dict = {"scorer": {"ridge": RIDGE, "beta": BETA, "min_references": MIN_REFS, "lambda": 0.5,
                            "prior": prior}, "folds": folds, "pair_ms": cost, "configs": {}, "alone": {},
                 "units": {}}
    fs = FoldScorer(prior)
    per_fold = {BASE: {n: fs.per_fold(BASE, per_n[n], n) for n in N_REFS}}
    rows_of = {BASE: per_n}
    log(f"{BASE}: " + " ".join(f"n={n} {np.mean(v['cedar']):.4f}/{np.mean(v['bengali']):.4f}"
                               for n, v in per_fold[BASE].items()))
    for v in VARIANTS:
        for feat in PAIR_FEATURES:
            raw = look.cache[v][:, 0 if feat == "corr" else 3] if feat != "chamfer" else chamfer(look.cache[v])
            unit = float(np.std(raw))
            res["units"][f"{v}|{feat}"] = unit
            # the channel alone at 5 references: mean over the references, no embedding
            alone = {"cedar": [], "bengali": []}
            for rows, _ in per_n[5]:
                e = eer_by_corpus(rows, look.get(v, feat, rows.query, rows.refs).mean(axis=1))
                for c in alone:
                    alone[c].append(e[c])
            res["alone"][f"{v}|{feat}"] = {c: spread(a) for c, a in alone.items()}
            for g in GAMMAS:
                name = f"{v}|{feat}|g{g}"
                rows_of[name] = with_channel(per_n, look, v, feat, g, unit)
                per_fold[name] = {5: fs.per_fold(name, rows_of[name][5], 5)}
                log(f"{name}: n=5 {np.mean(per_fold[name][5]['cedar']):.4f}/{np.mean(per_fold[name][5]['bengali']):.4f}")
    names = list(per_fold)
    plain_pick = min(names, key=lambda k: np.mean([(a + b) / 2 for a, b in zip(per_fold[k][5]["cedar"],
                                                                               per_fold[k][5]["bengali"])]))
    picks = []
    for i in range(len(folds)):
        pick = min(names, key=lambda k: fs.inner_both(k, rows_of[k][5], i))
        picks.append(pick)
        log(f"nested outer fold {i}: picked {pick}")
    for name in dict.fromkeys([plain_pick] + picks):   # the reported ones at every n
        per_fold[name].update({n: fs.per_fold(name, rows_of[name][n], n) for n in N_REFS if n not in per_fold[name]})
    nested = {n: {c: [per_fold[p][n][c][i] for i, p in enumerate(picks)] for c in ("cedar", "bengali")}
              for n in N_REFS}
    for name, pf in per_fold.items():
        res["configs"][name] = {str(n): {c: spread(v) for c, v in pf[n].items()} for n in pf}
        if name != BASE:
            res["configs"][name]["paired_vs_base"] = {
                str(n): {c: paired(pf[n][c], per_fold[BASE][n][c]) for c in ("cedar", "bengali")} for n in pf}
    res["plain_pick"] = plain_pick
    res["nested"] = {"picks": picks, **{str(n): {c: spread(v) for c, v in nested[n].items()} for n in N_REFS},
                     "paired_vs_base": {str(n): {c: paired(nested[n][c], per_fold[BASE][n][c])
                                                 for c in ("cedar", "bengali")} for n in N_REFS}}
    ship_variant = plain_pick.split("|")[0] if plain_pick != BASE else None
    res["rule"] = ship_rule(nested, per_fold[BASE], None if ship_variant is None else cost[ship_variant])
    log(f"plain pick {plain_pick}; nested picks {picks}; rule "
        f"{json.dumps({k: v for k, v in res['rule'].items() if not k.startswith('paired')})}")
    log_nested(res, log)
    return write_results(res, out, args.results, t0, c0, log)


if __name__ == "__main__":
    raise SystemExit(main())
