"""signature-verify 3.1: the per-customer kernel classifier fused into every per-reference score,
chosen and calibrated by writer-grouped CV; then a second look at the test writers.

    python -m training.signatures.v31_train --out runs/sig3

Reads the cached features of :mod:`training.signatures.v31_features` (the 3.0 taps are among them;
the 3.0 layer refitted on all development writers reproduces the shipped ``model.onnx`` embedding,
checked in :mod:`training.signatures.v31_pack`). The protocol is 3.0's (docs/training.md,
"Signatures"): the same 5 writer-grouped folds of the 105 development writers, the same learned
layer per fold, 3 random reference sets per writer and per number of references.

1. For every fold, reference set and query: the 3.0 similarity ``cos_i − λ(level − prior)`` and the
   output ``d(q)`` of the customer's classifier (:mod:`inference.signature.scoring_wd`, the app's
   code), trained on the references against 300 genuine signatures of the *other* folds' writers.
2. (ridge, β) by CV: EER at 5 references, calibration fitted on the other folds' rows, the mean of
   both corpora (3.0's rule). Also nested: chosen on four folds, scored on the fifth.
3. Whether the classifier applies with 1 and 3 references: by the same CV (its ``min_references``).
4. Calibration on the out-of-fold rows at 5 references — of the fused score, used from
   ``min_references`` on, and of the plain score (3.0's, used below it) — then operating points per
   number of references and their honest CV, exactly as 3.0
   (:func:`training.signatures.v3_train.operating_points`).
5. Second look at the test writers (CEDAR 36–45, Bengali 71–80; already scored once with 3.0.0), with
   the pack's cohort; 3.0.0's scores recomputed beside. ``results31.json`` records everything.
   ``--keep-second-look`` skips it and copies an earlier run's (issue #23's re-run: the test writers
   are not scored again).

Every CV cohort comes from the development writers outside the scored fold
(:func:`training.signatures.v31_norm.cohort_of`; until 3.1.1 it also held the test writers' genuine
signatures).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from inference.signature.scoring_wd import krr_fit, krr_score
from training.signatures import metric
from training.signatures.corpora import dev_writers, test_writers
from training.signatures.v3_eval import N_REFS, Recipe, Rows, eer_by_corpus, fit_calibration, make_rows, rates
from training.signatures.v3_train import SEED, fit_layers, fold_layers, operating_points, spread
from training.signatures.v31_norm import _unit, cohort_of, load_study

NEGATIVES = 300
COHORT_SEED = SEED + 1   # the cohort draw (training folds' writers; for the pack: all development writers)
LAM = 0.5          # 3.0's reference normalisation (kept: the embedding does not change)
RIDGES = (0.3, 1.0)
BETAS = (0.0, 0.2, 0.4, 0.8, 1.6, 3.2)
CHOOSE_AT = 5


def classifier_outputs(e: np.ndarray, rows: Rows, cohort: np.ndarray, ridges) -> dict[float, np.ndarray]:
    """{ridge: d(q) per row}: one classifier per reference set (rows of one set share it)."""
    out = {r: np.zeros(len(rows.y)) for r in ridges}
    keys = [tuple(r) for r in rows.refs]
    for key in dict.fromkeys(keys):
        k = np.array([kk == key for kk in keys])
        X = np.concatenate([e[list(key)], e[cohort]])
        y = np.concatenate([np.ones(len(key)), -np.ones(len(cohort))])
        for r in ridges:
            out[r][k] = krr_score(krr_fit(X, y, r), e[rows.query[k]])
    return out


def fused(rows: Rows, d: np.ndarray | None, beta: float) -> Rows:
    """The rows with ``β·d(q)`` added to every per-reference cosine (Recipe then applies the 3.0 shift)."""
    if d is None or beta == 0:
        return rows
    return Rows(rows.n, rows.y, rows.cos + beta * d[:, None], rows.level, rows.writer, rows.corpus, rows.query,
                rows.refs)


def fold_eers(per_fold: list[tuple[Rows, dict]], ridge: float, beta: float, prior: float,
              train_folds=None) -> list[dict[str, float]]:
    """Per fold: EER per corpus, calibration fitted on the other folds' rows (within ``train_folds``)."""
    idx = list(range(len(per_fold))) if train_folds is None else list(train_folds)
    fr = {i: fused(per_fold[i][0], per_fold[i][1].get(ridge), beta) for i in idx}
    out = []
    for i in idx:
        rec = fit_calibration(Rows.concat([fr[j] for j in idx if j != i]), Recipe(1.0, 0.0, LAM, prior, "trimmed_mean"))
        out.append(eer_by_corpus(fr[i], rec.overall(fr[i])))
    return out


def first_helping(helps: dict[int, bool]) -> int:
    """The smallest reference count from which the classifier lowers the CV EER at every larger count
    too (one past the largest when it never does)."""
    ns = sorted(helps)
    return next((n for n in ns if all(helps[m] for m in ns if m >= n)), ns[-1] + 1)


def both(e: list[dict[str, float]]) -> float:
    return float(np.mean([(v["cedar"] + v["bengali"]) / 2 for v in e]))


def choose_scorer(per_n: dict[int, list[tuple[Rows, dict]]], prior: float, folds, res: dict, log,
                  fixed_choice: str = "") -> tuple[dict, float, float]:
    """Step 2 of the recipe: (ridge, β) by the CV EER at CHOOSE_AT references over the grid, and its
    nested CV (chosen on four folds, the fifth scored). Fills ``res['grid']`` and ``res['nested']``;
    returns the grid's per-fold EERs and the pick. ``fixed_choice`` ("ridge,beta") scores a given
    scorer instead of the pick (a measurement, never a way to choose)."""
    grid = [(r, b) for r in RIDGES for b in BETAS]
    cv = {n: {f"ridge{r}|beta{b}": fold_eers(per_n[n], r, b, prior) for r, b in grid} for n in N_REFS}
    res["grid"] = {str(n): {k: {c: spread([e[c] for e in v]) for c in ("cedar", "bengali")} for k, v in g.items()}
                   for n, g in cv.items()}
    for n in N_REFS:
        for k in ("ridge1.0|beta0.0", "ridge1.0|beta0.8"):
            g = res["grid"][str(n)][k]
            log(f"n={n} {k}: CEDAR {g['cedar']['mean']:.4f} ± {g['cedar']['sd']:.4f} "
                f"Bengali {g['bengali']['mean']:.4f} ± {g['bengali']['sd']:.4f}")
    best = min(grid, key=lambda rb: both(cv[CHOOSE_AT][f"ridge{rb[0]}|beta{rb[1]}"]))
    ridge, beta = best
    if fixed_choice:
        ridge, beta = (float(v) for v in fixed_choice.split(","))
        res["fixed_choice"] = {"ridge": ridge, "beta": beta, "cv_pick": list(best)}
        log(f"chosen by CV at {CHOOSE_AT} references: ridge {best[0]}, beta {best[1]}; scoring the given ridge "
            f"{ridge}, beta {beta} instead (--fixed-choice)")
    else:
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
        log(f"nested fold {i}: chose ridge {pick[0]} beta {pick[1]}")
    res["nested"] = {str(n): {"cedar": spread(v["cedar"]), "bengali": spread(v["bengali"]), "chosen": v["chosen"]}
                     for n, v in nested.items()}
    for n, v in res["nested"].items():
        log(f"nested n={n}: CEDAR {v['cedar']['mean']:.4f} ± {v['cedar']['sd']:.4f} "
            f"Bengali {v['bengali']['mean']:.4f} ± {v['bengali']['sd']:.4f} picks {v['chosen']}")
    return cv, ridge, beta


def points_for(cv: dict, per_n: dict[int, list[tuple[Rows, dict]]], ridge: float, beta: float, prior: float,
               folds, res: dict, log):
    """Steps 3 and 4: from how many references the classifier is used (it lowers the CV EER there and
    at every larger count), the two calibrations (the fused score's from min_references on, the plain
    one's below it) and 3.0's operating points with their honest CV. Fills ``res``; returns
    (recipes per n, points per n, beta used per n)."""
    key0, key = f"ridge{ridge}|beta0.0", f"ridge{ridge}|beta{beta}"
    helps = {n: both(cv[n][key]) < both(cv[n][key0]) for n in N_REFS}
    min_refs = first_helping(helps)
    res["classifier_helps"] = {str(n): v for n, v in helps.items()}
    res["min_references"] = min_refs
    log(f"classifier helps at {helps}: used from {min_refs} references")
    use = {n: beta if n >= min_refs else 0.0 for n in N_REFS}
    rows = {n: Rows.concat([fused(r, d[ridge], use[n]) for r, d in per_n[n]]) for n in N_REFS}
    recipe = fit_calibration(rows[5], Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    plain = fit_calibration(Rows.concat([r for r, _ in per_n[5]]), Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    recipes = {n: recipe if n >= min_refs else plain for n in N_REFS}
    res["recipe"], res["recipe_without_classifier"] = recipe.__dict__, plain.__dict__
    log(f"calibration: fused {recipe.a:.6f}, {recipe.b:.6f}; without the classifier {plain.a:.6f}, {plain.b:.6f}")
    points, cv_points = operating_points(rows, recipes, folds, log)
    res["operating_points"] = {str(n): p for n, p in points.items()}
    res["cv_operating_points"] = {str(n): p for n, p in cv_points.items()}
    res["chosen"] = {"ridge": ridge, "beta": beta, "min_references": min_refs, "lambda": LAM, "prior": prior}
    return recipes, points, use


def write_results(res: dict, out: Path, name: str, t0: float, c0: float, log) -> int:
    """The run's wall and CPU seconds and load average into ``res``, written as ``out/name``."""
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["cpu_seconds"] = round(time.process_time() - c0, 1)
    res["load_average"] = list(os.getloadavg())
    (out / name).write_text(json.dumps(res, indent=1, default=float))
    log(f"done in {res['seconds']} s ({res['cpu_seconds']} s CPU), load {res['load_average']} -> {name}")
    return 0


def scoring_3_0_0(manifest: Path) -> dict:
    """3.0.0's ``verify.scoring`` (a 3.1 manifest keeps it under ``metrics.previous_version``)."""
    m = json.loads(manifest.read_text())
    if m["version"].startswith("3.0."):
        return m["verify"]["scoring"]
    return m["metrics"]["previous_version"]["scoring"]


def second_look_rows(emb, wr, gen, corpus, n: int) -> Rows:
    return make_rows(emb, wr, gen, corpus, test_writers(), n, 3, SEED + 1000)


def second_look_entry(r: Rows, s31: np.ndarray, s30: np.ndarray, points31: dict, points30: dict) -> dict:
    entry = {"eer": eer_by_corpus(r, s31), "eer_3_0_0": eer_by_corpus(r, s30)}
    for p in ("standard", "strict"):
        for key, s, pt in ((p, s31, points31[p]), (f"{p}_3_0_0", s30, points30[p])):
            entry[key] = {c: rates(r.y[r.corpus == c], s[r.corpus == c], pt["threshold"], *pt["review"])
                          for c in ("cedar", "bengali")}
    return entry


def finish_plain(args, prev: dict) -> int:
    """``--reuse``: the parts below ``min_references`` only, on the same folds, draws and final layer
    (``final_layer.npz`` of the earlier run); the rest is the earlier run's, unchanged (the fused-score
    parts do not depend on the plain calibration)."""
    out = Path(args.out)
    t0, c0 = time.perf_counter(), time.process_time()
    log = lambda *a: print(f"[{time.perf_counter() - t0:6.0f} s]", *a, flush=True)  # noqa: E731
    taps, x, wr, gen, corpus, folds = load_study(out, args.taps)
    assert folds == prev["folds"], "not the same folds as the earlier run"
    min_refs = prev["chosen"]["min_references"]
    prior = prev["prior"]
    layers = fold_layers(x, wr, gen, folds, (0,))[0]
    ns = sorted({n for n in N_REFS if n < min_refs} | {5})
    per_n = {n: [] for n in ns}
    for i, f in enumerate(folds):
        emb = layers[i](x)
        for n in ns:
            per_n[n].append(make_rows(emb, wr, gen, corpus, f, n, args.draws, SEED + i))
    log("out-of-fold rows done")
    plain = fit_calibration(Rows.concat(per_n[5]), Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    log(f"calibration without the classifier {plain.a:.6f}, {plain.b:.6f}")
    low = [n for n in ns if n < min_refs]
    points, cv_points = operating_points({n: Rows.concat(per_n[n]) for n in low}, plain, folds, log)
    res = dict(prev)
    res["recipe_without_classifier"] = plain.__dict__
    for n in low:
        res["operating_points"][str(n)] = points[n]
        res["cv_operating_points"][str(n)] = cv_points[n]
    layer = np.load(out / "final_layer.npz")
    emb = metric.MetricLayer(layer["mean"], layer["matrix"], 1.0, 0, 0, 0.0)(x)  # as fit_layers made it
    old = scoring_3_0_0(Path(args.pack) / "manifest.json")
    rec30 = Recipe(old["calibration"]["a"], old["calibration"]["b"], old["reference_normalization"]["lambda"],
                   old["reference_normalization"]["prior"], old["aggregate"], old["trim"])
    for n in low:
        r = second_look_rows(emb, wr, gen, corpus, n)
        res["second_look"][str(n)] = second_look_entry(r, plain.overall(r), rec30.overall(r), points[n],
                                                       old["operating_points"][str(n)])
        log(f"SECOND LOOK n={n}: {json.dumps(res['second_look'][str(n)]['eer'])}")
    res["reuse"] = {"from": str(args.reuse), "seconds": round(time.perf_counter() - t0, 1),
                    "cpu_seconds": round(time.process_time() - c0, 1), "load_average": list(os.getloadavg())}
    (out / "results31.json").write_text(json.dumps(res, indent=1, default=float))
    log(f"done in {res['reuse']['seconds']} s ({res['reuse']['cpu_seconds']} s CPU) -> results31.json")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--taps", default="b6+b7")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--pack", default="models/signature-verify", help="where 3.0.0's scoring block is read")
    ap.add_argument("--reuse", default="", help="an earlier results31.json of the same inputs: keep its fused-score "
                    "parts (grid, nested CV, choice, calibration, points and second look from min_references on) and "
                    "recompute only the parts below min_references (the plain score and its own calibration)")
    ap.add_argument("--keep-second-look", default="", help="an earlier results31.json: copy its second look at the "
                    "test writers instead of scoring them again (they are scored once; issue #23's re-run of the CV)")
    ap.add_argument("--fixed-choice", default="", help="ridge,beta: score this configuration instead of the CV's pick "
                    "(a measurement of a given scorer, e.g. the shipped one; never a way to choose)")
    ap.add_argument("--results", default="results31.json", help="file name of the results, in --out")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.reuse:
        return finish_plain(args, json.loads(Path(args.reuse).read_text()))
    t0, c0 = time.perf_counter(), time.process_time()
    log = lambda *a: print(f"[{time.perf_counter() - t0:6.0f} s]", *a, flush=True)  # noqa: E731
    taps, x, wr, gen, corpus, folds = load_study(out, args.taps)
    layers = fold_layers(x, wr, gen, folds, (0,))[0]
    res: dict = {"taps": list(taps), "lambda": LAM, "negatives": NEGATIVES, "folds": folds}

    # 1. out-of-fold rows and classifier outputs for every n
    per_n: dict[int, list[tuple[Rows, dict]]] = {n: [] for n in N_REFS}
    for i, f in enumerate(folds):
        emb = layers[i](x)
        e = _unit(emb)
        cohort = cohort_of(e, wr, gen, f, NEGATIVES, COHORT_SEED)
        for n in N_REFS:
            rows = make_rows(emb, wr, gen, corpus, f, n, args.draws, SEED + i)
            per_n[n].append((rows, classifier_outputs(e, rows, cohort, RIDGES)))
        log(f"fold {i}: rows and classifier outputs done")
    prior = float(np.nanmean(np.concatenate([r.level for n in N_REFS if n >= 2 for r, _ in per_n[n]])))
    res["prior"] = prior
    log(f"prior (mean reference level, out of fold) {prior:.6f}")

    # 2. (ridge, beta) by CV at 5 references, and nested
    cv, ridge, beta = choose_scorer(per_n, prior, folds, res, log, args.fixed_choice)

    # 3-4. min_references, calibrations and operating points (3.0's rules)
    recipes, points, use_beta = points_for(cv, per_n, ridge, beta, prior, folds, res, log)

    # 5. the final layer on all development writers, the pack's cohort; second look at the test writers
    final = fit_layers(x, wr, gen, np.isin(wr, dev_writers()), (0,))[0]
    emb = final(x)
    e = _unit(emb)
    cohort_idx = cohort_of(e, wr, gen, test_writers(), NEGATIVES, COHORT_SEED)
    cohort = emb[cohort_idx].astype(np.float32)
    np.save(out / "cohort31.npy", cohort)
    np.savez(out / "final_layer.npz", mean=final.mean, matrix=final.matrix, taps=np.array(taps))
    ec = _unit(cohort.astype(np.float64))
    old = scoring_3_0_0(Path(args.pack) / "manifest.json")
    rec30 = Recipe(old["calibration"]["a"], old["calibration"]["b"], old["reference_normalization"]["lambda"],
                   old["reference_normalization"]["prior"], old["aggregate"], old["trim"])
    second = {}
    if args.keep_second_look:
        kept = json.loads(Path(args.keep_second_look).read_text())
        res["second_look"] = kept["second_look"]
        res["second_look_from"] = {"file": str(args.keep_second_look), "chosen": kept["chosen"],
                                   "recipe": kept["recipe"], "operating_points": kept["operating_points"]}
        log(f"second look not repeated: kept from {args.keep_second_look} (its own thresholds)")
    for n in (() if args.keep_second_look else N_REFS):
        r = second_look_rows(emb, wr, gen, corpus, n)
        keys = [tuple(k) for k in r.refs]
        d = np.zeros(len(r.y))
        for k in dict.fromkeys(keys):
            m = np.array([kk == k for kk in keys])
            X = np.concatenate([e[list(k)], ec])
            yy = np.concatenate([np.ones(len(k)), -np.ones(len(ec))])
            d[m] = krr_score(krr_fit(X, yy, ridge), e[r.query[m]])
        s31 = recipes[n].overall(fused(r, d, use_beta[n]))
        s30 = rec30.overall(r)
        entry = second_look_entry(r, s31, s30, points[n], old["operating_points"][str(n)])
        second[str(n)] = entry
        if n == 5:
            np.savez(out / "test_rows5_31.npz", y=r.y, cos=r.cos, level=r.level, writer=r.writer, query=r.query,
                     refs=r.refs, score=s31, score30=s30, corpus=r.corpus.astype(str))
        log(f"SECOND LOOK n={n}: 3.1 {json.dumps({c: round(v, 4) for c, v in entry['eer'].items()})} "
            f"3.0.0 {json.dumps({c: round(v, 4) for c, v in entry['eer_3_0_0'].items()})}")
    if not args.keep_second_look:
        res["second_look"] = second
    return write_results(res, out, args.results, t0, c0, log)


if __name__ == "__main__":
    raise SystemExit(main())
