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
import json
import os
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import dev_writers, load_corpora, normalize_all
from training.signatures.v3_eval import N_REFS, Recipe, Rows, eer_by_corpus, fit_calibration, make_rows
from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS
from training.signatures.v3_train import SEED, operating_points, prep, spread
from training.signatures.v31_norm import cohort_of, load_study
from training.signatures.v31_train import (BETAS, CHOOSE_AT, COHORT_SEED, LAM, NEGATIVES, RIDGES, both,
                                           classifier_outputs, first_helping, fold_eers, fused)
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

    # 2. (ridge, beta) by CV at 5 references, and nested
    grid = [(r, b) for r in RIDGES for b in BETAS]
    cvg = {n: {f"ridge{r}|beta{b}": fold_eers(per_n[n], r, b, prior) for r, b in grid} for n in N_REFS}
    res["grid"] = {str(n): {k: {c: spread([e[c] for e in v]) for c in ("cedar", "bengali")} for k, v in g.items()}
                   for n, g in cvg.items()}
    ridge, beta = min(grid, key=lambda rb: both(cvg[CHOOSE_AT][f"ridge{rb[0]}|beta{rb[1]}"]))
    log(f"chosen by CV at {CHOOSE_AT} references: ridge {ridge}, beta {beta}")
    nested = {n: {"cedar": [], "bengali": [], "chosen": []} for n in (5, 10)}
    for i in range(len(folds)):
        inner = [j for j in range(len(folds)) if j != i]
        pick = min(grid, key=lambda rb: both(fold_eers(per_n[CHOOSE_AT], rb[0], rb[1], prior, inner)))
        for n in nested:
            fr = [fused(r, d.get(pick[0]), pick[1]) for r, d in per_n[n]]
            rec = fit_calibration(Rows.concat([fr[j] for j in inner]), Recipe(1.0, 0.0, LAM, prior, "trimmed_mean"))
            ee = eer_by_corpus(fr[i], rec.overall(fr[i]))
            nested[n]["cedar"].append(ee["cedar"])
            nested[n]["bengali"].append(ee["bengali"])
            nested[n]["chosen"].append(list(pick))
    res["nested"] = {str(n): {"cedar": spread(v["cedar"]), "bengali": spread(v["bengali"]), "chosen": v["chosen"]}
                     for n, v in nested.items()}
    for n, v in res["nested"].items():
        log(f"nested n={n}: CEDAR {v['cedar']['mean']:.4f} ± {v['cedar']['sd']:.4f} "
            f"Bengali {v['bengali']['mean']:.4f} ± {v['bengali']['sd']:.4f} picks {v['chosen']}")

    # 3. from how many references the classifier is used
    key0, key = f"ridge{ridge}|beta0.0", f"ridge{ridge}|beta{beta}"
    helps = {n: both(cvg[n][key]) < both(cvg[n][key0]) for n in N_REFS}
    min_refs = first_helping(helps)
    res["classifier_helps"] = {str(n): v for n, v in helps.items()}
    res["min_references"] = min_refs
    log(f"classifier helps at {helps}: used from {min_refs} references")

    # 4. calibrations and operating points (3.0's rules), with their honest CV
    def use(n):
        return beta if n >= min_refs else 0.0
    rows = {n: Rows.concat([fused(r, d[ridge], use(n)) for r, d in per_n[n]]) for n in N_REFS}
    recipe = fit_calibration(rows[5], Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    plain = fit_calibration(Rows.concat([r for r, _ in per_n[5]]), Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    recipes = {n: recipe if n >= min_refs else plain for n in N_REFS}
    res["recipe"], res["recipe_without_classifier"] = recipe.__dict__, plain.__dict__
    points, cv_points = operating_points(rows, recipes, folds, log)
    res["operating_points"] = {str(n): p for n, p in points.items()}
    res["cv_operating_points"] = {str(n): p for n, p in cv_points.items()}
    # 3.0's rule for the reference-outlier floor (v3_train): the 0.5% quantile of the references'
    # mean agreement over the out-of-fold rows with 3+ references — on the fused cosine's scale
    res["reference_outlier_floor"] = float(np.nanquantile(
        np.concatenate([r.level for n in N_REFS if n >= 3 for r, _ in per_n[n]]), 0.005))
    res["chosen"] = {"ridge": ridge, "beta": beta, "min_references": min_refs, "lambda": LAM, "prior": prior}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["cpu_seconds"] = round(time.process_time() - c0, 1)
    res["load_average"] = list(os.getloadavg())
    (out / args.results).write_text(json.dumps(res, indent=1, default=float))
    log(f"done in {res['seconds']} s ({res['cpu_seconds']} s CPU), load {res['load_average']} -> {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
