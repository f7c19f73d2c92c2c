"""The 3.2.0 candidate of issue #23 (3.1.1's embedding fused with the LBP channel): the scorer's
choices and operating points by 3.1.1's CV, on the development writers only.

    python -m training.signatures.v32_channel_train --out runs/sig3 [--pca 64 --weight 0.5]

The steps of :mod:`training.signatures.v31_train` (1–4) on the fused embedding of
:mod:`training.signatures.v32_channel` (the study's pick): (ridge, β) by the CV EER at 5 references
(and nested), the classifier's min_references, the calibrations and the operating points per number of
references with their honest CV (chosen without the fold they are measured on). Step 5 (the test
writers) is not run: they have been looked at twice; the fused embedding's only test is the independent
evaluation. ``channel-train.json`` records everything; building the pack from it is a separate step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import dev_writers, load_corpora, normalize_all
from training.signatures.v3_eval import N_REFS, Rows, make_rows
from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS
from training.signatures.v3_train import SEED, prep
from training.signatures.v31_norm import cohort_of, load_study
from training.signatures.v31_train import (COHORT_SEED, LAM, NEGATIVES, RIDGES, choose_scorer, classifier_outputs,
                                           points_for, write_results)
from training.signatures.v32_channel import CHANNELS, handcrafted_cache, per_fold_units


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--channel", default="lbp")
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--weight", type=float, default=0.5)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--results", default="channel-train.json")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t0, c0 = time.perf_counter(), time.process_time()
    log = lambda *a: print(f"[{time.perf_counter() - t0:6.0f} s]", *a, flush=True)  # noqa: E731
    taps, x, wr, gen, corpus, folds = load_study(out, "b6+b7")
    dev = np.isin(wr, dev_writers())
    cv = normalize_all(load_corpora(CEDAR, BENGALI), OPTIONS, out)
    feats = handcrafted_cache(out, cv.key, dev, cv.canvas, log)
    units_cnn = per_fold_units(x, wr, gen, folds)
    units_ch = per_fold_units(np.nan_to_num(prep(feats, CHANNELS[args.channel])), wr, gen, folds, args.pca)
    w = args.weight
    res: dict = {"channel": args.channel, "pca": args.pca, "weight": w, "lambda": LAM, "negatives": NEGATIVES,
                 "folds": folds}

    # 1. out-of-fold rows and classifier outputs for every n, on the fused embedding
    per_n: dict[int, list[tuple[Rows, dict]]] = {n: [] for n in N_REFS}
    for i, f in enumerate(folds):
        e = np.concatenate([np.sqrt(w) * units_cnn[i], np.sqrt(1 - w) * units_ch[i]], axis=1)
        e[~dev] = 0.0                      # the test writers' rows: never drawn, never in a cohort
        cohort = cohort_of(e, wr, gen, f, NEGATIVES, COHORT_SEED)
        for n in N_REFS:
            rows = make_rows(e, wr, gen, corpus, f, n, args.draws, SEED + i)
            per_n[n].append((rows, classifier_outputs(e, rows, cohort, RIDGES)))
        log(f"fold {i}: rows and classifier outputs done")
    prior = float(np.nanmean(np.concatenate([r.level for n in N_REFS if n >= 2 for r, _ in per_n[n]])))
    res["prior"] = prior

    # 2. (ridge, beta) by CV at 5 references, and nested; 3-4. min_references, calibrations and
    # operating points with their honest CV (3.1.1's steps, shared with v31_train)
    cv, ridge, beta = choose_scorer(per_n, prior, folds, res, log)
    points_for(cv, per_n, ridge, beta, prior, folds, res, log)
    # 3.0's rule for the reference-outlier floor (v3_train): the 0.5% quantile of the references'
    # mean agreement over the out-of-fold rows with 3+ references — on the fused cosine's scale
    res["reference_outlier_floor"] = float(np.nanquantile(
        np.concatenate([r.level for n in N_REFS if n >= 3 for r, _ in per_n[n]]), 0.005))
    return write_results(res, out, args.results, t0, c0, log)


if __name__ == "__main__":
    raise SystemExit(main())
