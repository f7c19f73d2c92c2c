"""Writer-dependent refinement for signature-verify 3.1: a per-customer kernel classifier fused into
every per-reference score, measured by writer-grouped CV.

    python -m training.signatures.v31_wd --out runs/sig3

3.0 measured a per-writer RBF SVM (the customer's n references against 300 genuine signatures of
other writers) and did not keep it: it helped CEDAR, not Bengali at 10 references, and its score is
on a per-writer scale. Here the per-customer classifier is a regularised least-squares RBF kernel
machine (closed form, so the app can fit it in numpy at verify time) and its output ``d(q)`` is
*added to every per-reference similarity* before calibration: ``s_i = cos_i − λ(level − prior) + β·d(q)``.
The same shift for every reference keeps the per-reference scores' order and the overall score
within their range (the issue's coherence rule). β is chosen by the CV below, calibration is fitted
on the other folds' rows, as in :mod:`training.signatures.v31_norm`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from inference.signature.scoring_wd import krr_fit, krr_score  # noqa: F401  (the app's own code; re-exported)
from training.signatures.v3_eval import Recipe, Rows, eer_by_corpus, fit_calibration, make_rows
from training.signatures.v3_train import SEED, fold_layers, spread
from training.signatures.v31_norm import _unit, as_rows, cohort_of, load_study, ref_stats

NEGATIVES = 300
BETAS = (0.0, 0.2, 0.4, 0.8, 1.6, 3.2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--taps", default="b6+b7")
    ap.add_argument("--ns", default="5,10")
    ap.add_argument("--lam", type=float, default=0.5)
    ap.add_argument("--ridges", default="0.3,1,3")
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t0, c0 = time.perf_counter(), time.process_time()
    taps, x, wr, gen, corpus, folds = load_study(out, args.taps)
    layers = fold_layers(x, wr, gen, folds, (0,))[0]
    ridges = tuple(float(v) for v in args.ridges.split(","))
    res: dict = {"taps": list(taps), "lambda": args.lam}
    for n in (int(v) for v in args.ns.split(",")):
        folds_rows = []
        for i, f in enumerate(folds):
            emb = layers[i](x)
            e = _unit(emb)
            neg = cohort_of(e, wr, gen, f, NEGATIVES, SEED + 1)
            train_w = [w for j, g in enumerate(folds) if j != i for w in g]
            pr = make_rows(emb, wr, gen, corpus, train_w[::3], 5, 1, SEED + 99)
            prior = float(np.mean(ref_stats(e, pr)[1]))
            rows = make_rows(emb, wr, gen, corpus, f, n, 3, SEED + i)
            _, level, _ = ref_stats(e, rows)
            base = rows.cos - args.lam * (level - prior)[:, None] if n >= 2 else rows.cos
            d = {r: np.zeros(len(rows.y)) for r in ridges}
            # one classifier per reference set (rows of one set share their references)
            keys = [tuple(r) for r in rows.refs]
            for key in dict.fromkeys(keys):
                k = np.array([kk == key for kk in keys])
                X = np.concatenate([e[list(key)], e[neg]])
                y = np.concatenate([np.ones(len(key)), -np.ones(len(neg))])
                for r in ridges:
                    d[r][k] = krr_score(krr_fit(X, y, r), e[rows.query[k]])
            folds_rows.append((rows, base, d))
        res[str(n)] = {}
        for r in ridges:
            for beta in BETAS:
                per = {"cedar": [], "bengali": [], "wd_only_cedar": [], "wd_only_bengali": []}
                fused = [as_rows(rw, b + beta * d[r][:, None]) for rw, b, d in folds_rows]
                for i in range(len(folds)):
                    train = Rows.concat([fr for j, fr in enumerate(fused) if j != i])
                    rec = fit_calibration(train, Recipe(1.0, 0.0, 0.0, 0.0, "trimmed_mean"))
                    for c, v in eer_by_corpus(fused[i], rec.overall(fused[i])).items():
                        per[c].append(v)
                    rw, _, d = folds_rows[i]
                    for c, v in eer_by_corpus(rw, d[r]).items():
                        per[f"wd_only_{c}"].append(v)
                out_ = {c: spread(v) for c, v in per.items()}
                res[str(n)][f"ridge{r}|beta{beta}"] = out_
                print(f"n={n} ridge={r} beta={beta}: CEDAR {out_['cedar']['mean']:.4f} ± {out_['cedar']['sd']:.4f} "
                      f"Bengali {out_['bengali']['mean']:.4f} ± {out_['bengali']['sd']:.4f} | WD alone "
                      f"{out_['wd_only_cedar']['mean']:.4f} / {out_['wd_only_bengali']['mean']:.4f}", flush=True)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["cpu_seconds"] = round(time.process_time() - c0, 1)
    res["load_average"] = list(os.getloadavg())
    (out / f"wd-results{args.tag}.json").write_text(json.dumps(res, indent=1))
    print(f"done in {res['seconds']} s ({res['cpu_seconds']} s CPU), load {res['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
