"""Writer-dependent score normalisation for signature-verify 3.1, measured by writer-grouped CV.

    python -m training.signatures.v31_norm --out runs/sig3 [--taps b6+b7]

3.0 maps each per-reference cosine to one calibrated scale after one shift for the whole reference
set (``cos − λ·(level − prior)``, level = the references' mean mutual cosine). Its card: the pooled
EER is higher than most writers' own EER because one threshold serves writers whose score levels
differ. The candidates here normalise each per-reference cosine by what the customer's references
alone (and, for the cohort norms, a fixed cohort of development writers' genuine signatures that
would ship with the pack) say about that writer's score levels. No forgeries of the customer are
ever used. Every candidate is a strictly increasing function of each cosine, so the overall score
(a robust mean of the calibrated per-reference scores) stays within their range; those not in
:data:`PER_REFERENCE` also apply one transform to every reference of a query, so the per-reference
scores keep the cosines' order (each means the same thing whichever reference it is).

Protocol: the same 5 writer-grouped folds, learned layers and reference draws as
:mod:`training.signatures.v3_train`; for each fold the cohort is drawn from the *other* folds'
genuine signatures, and the logistic calibration is fitted on the other folds' rows, so the
fold's EER never saw its own writers. ``norm-results.json`` records everything.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import dev_writers, load_corpora
from training.signatures.v3_eval import Recipe, Rows, eer_by_corpus, fit_calibration, make_rows
from training.signatures.v3_features import BENGALI, CEDAR
from training.signatures.v3_train import CANDIDATE_TAPS, SEED, fold_layers, folds_of, prep, spread

COHORT = 400        # cohort signatures shipped with the pack (genuine, development writers)
SIGMA_FLOOR = 0.02  # a cohort/reference spread below this is noise, not a scale


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cohort_of(e: np.ndarray, wr: np.ndarray, gen: np.ndarray, exclude, size: int = COHORT, seed: int = SEED) -> np.ndarray:
    """Indices of ``size`` genuine signatures of *development* writers not in ``exclude``.

    The pool is restricted to :func:`~training.signatures.corpora.dev_writers` whatever ``exclude``
    says: a CV cohort (``exclude`` = the scored fold) must not hold the test writers' signatures
    either (issue #23 — until 3.1.1 the CV cohorts drew from them, as negatives). For the pack's
    cohort (``exclude`` = the test writers) the pool, and so the draw, is the same as before."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(gen & np.isin(wr, dev_writers()) & ~np.isin(wr, list(exclude)))
    return np.sort(rng.choice(pool, size=min(size, len(pool)), replace=False))


def cohort_stats(e: np.ndarray, cohort: np.ndarray, top: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Per item: mean and sd of its cosines with the cohort (the ``top`` highest, or all)."""
    c = e @ e[cohort].T
    if top is not None and top < c.shape[1]:
        c = -np.sort(-c, axis=1)[:, :top]
    return c.mean(axis=1), np.maximum(c.std(axis=1), SIGMA_FLOOR)


def ref_stats(e: np.ndarray, rows: Rows):
    """Per row: each reference's mean cosine with the other references (m, n), their mean (level)
    and the sd of the off-diagonal reference-reference cosines."""
    r = e[rows.refs]                                    # (m, n, D)
    rr = np.einsum("mid,mjd->mij", r, r)
    n = rows.n
    if n < 2:
        nan = np.full(len(rows.y), np.nan)
        return np.full((len(rows.y), 1), np.nan), nan, nan
    off = ~np.eye(n, dtype=bool)
    agree = (rr.sum(axis=2) - np.diagonal(rr, axis1=1, axis2=2)) / (n - 1)
    vals = rr[:, off]
    return agree, vals.mean(axis=1), vals.std(axis=1)


# name -> formula of the normalised similarity; ctx holds the statistics (see ``fold_context``)
def _lvl(lam):
    return lambda c: c["cos"] - lam * (c["level"] - c["prior_level"])[:, None]


def _peref(lam):
    return lambda c: c["cos"] - lam * (c["agree"] - c["prior_level"])


def _z(c):
    sd = np.sqrt((4 * c["prior_sd"] ** 2 + c["rsd"] ** 2) / 5)  # shrunk towards the development spread
    return (c["cos"] - c["level"][:, None]) / np.maximum(sd, SIGMA_FLOOR)[:, None]


def _tnorm(k):
    return lambda c: (c["cos"] - c[f"qmu{k}"][:, None]) / c[f"qsd{k}"][:, None]


def _znormc(k):
    return lambda c: (c["cos"] - c[f"rmu{k}"]) / c[f"rsdc{k}"]


def _snorm(k):
    return lambda c: 0.5 * (_tnorm(k)(c) + _znormc(k)(c))


def _two(k):
    """Two-point: the cohort (other hands) maps to 0, the references' own level to 1."""
    def f(c):
        imp = 0.5 * (c[f"qmu{k}"][:, None] + c[f"rmu{k}"])
        return (c["cos"] - imp) / np.maximum(c["level"][:, None] - imp, 0.05)
    return f


def _snorm_lvl(k, lam):
    return lambda c: _snorm(k)(c) - lam * ((c["level"] - c["prior_level"]) / c["prior_sd"])[:, None]


SPECS = {
    "lvl0": _lvl(0.0), "lvl0.5 (3.0)": _lvl(0.5), "lvl0.75": _lvl(0.75), "lvl1": _lvl(1.0),
    "peref0.5": _peref(0.5), "peref1": _peref(1.0),
    "z": _z,
    "tnorm": _tnorm("all"), "znormc": _znormc("all"), "snorm": _snorm("all"),
    "tnorm-top50": _tnorm(50), "snorm-top50": _snorm(50),
    "two": _two("all"), "two-top50": _two(50),
    "snorm+lvl0.5": _snorm_lvl("all", 0.5), "snorm+lvl1": _snorm_lvl("all", 1.0),
    "snorm-top50+lvl0.5": _snorm_lvl(50, 0.5), "snorm-top50+lvl1": _snorm_lvl(50, 1.0),
}
# Candidates that use each reference's own statistics (its agreement, its cohort level): the transform
# then differs between references, so a higher cosine need not give a higher per-reference score.
# The overall score still lies within the per-reference range, but "every per-reference score is
# normalised the same way" does not hold: measured for comparison only, not shippable as they are.
PER_REFERENCE = frozenset(k for k in SPECS if k.startswith(("peref", "znormc", "snorm", "two")))


def fold_context(e, rows: Rows, stats: dict, prior_level: float, prior_sd: float) -> dict:
    agree, level, rsd = ref_stats(e, rows)
    if rows.n < 2:
        level = np.full(len(rows.y), prior_level)
        rsd = np.full(len(rows.y), prior_sd)
        agree = np.full(rows.cos.shape, prior_level)
    ctx = {"cos": rows.cos, "agree": agree, "level": level, "rsd": rsd, "prior_level": prior_level,
           "prior_sd": prior_sd}
    for k, (mu, sd) in stats.items():
        ctx[f"qmu{k}"], ctx[f"qsd{k}"] = mu[rows.query], sd[rows.query]
        ctx[f"rmu{k}"], ctx[f"rsdc{k}"] = mu[rows.refs], sd[rows.refs]
    return ctx


def as_rows(rows: Rows, s: np.ndarray) -> Rows:
    """The rows with their similarities replaced by normalised ones (scored with λ = 0)."""
    return Rows(rows.n, rows.y, s, np.full(len(rows.y), np.nan), rows.writer, rows.corpus, rows.query, rows.refs)


def evaluate(x, wr, gen, corpus, folds, ns=(5,), draws: int = 3, specs=SPECS, aggregates=("trimmed_mean", "median"),
             log=print) -> dict:
    """{n: {spec|aggregate: per-corpus EER spread}} with calibration fitted on the other folds."""
    layers = fold_layers(x, wr, gen, folds, (0,))[0]
    per_fold: dict[int, list] = {n: [] for n in ns}
    for i, f in enumerate(folds):
        e = _unit(layers[i](x))
        cohort = cohort_of(e, wr, gen, f)
        stats = {k: cohort_stats(e, cohort, None if k == "all" else k) for k in ("all", 50)}
        # development priors from the other folds only (as the pack would fix them)
        train_w = [w for j, g in enumerate(folds) if j != i for w in g]
        pr = make_rows(layers[i](x), wr, gen, corpus, train_w[::3], 5, 1, SEED + 99)
        _, lv, sd = ref_stats(e, pr)
        prior_level, prior_sd = float(np.mean(lv)), float(np.mean(sd))
        for n in ns:
            rows = make_rows(layers[i](x), wr, gen, corpus, f, n, draws, SEED + i)
            ctx = fold_context(e, rows, stats, prior_level, prior_sd)
            per_fold[n].append((rows, {name: fn(ctx) for name, fn in specs.items()}))
    out = {}
    for n in ns:
        out[n] = {}
        for name in specs:
            for how in aggregates:
                per = {"cedar": [], "bengali": []}
                for i in range(len(folds)):
                    train = Rows.concat([as_rows(r, s[name]) for j, (r, s) in enumerate(per_fold[n]) if j != i])
                    rec = fit_calibration(train, Recipe(1.0, 0.0, 0.0, 0.0, how))
                    r, s = per_fold[n][i]
                    test = as_rows(r, s[name])
                    for c, v in eer_by_corpus(test, rec.overall(test)).items():
                        per[c].append(v)
                res = {c: spread(v) for c, v in per.items()}
                res["both"] = spread([(a + b) / 2 for a, b in zip(per["cedar"], per["bengali"])])
                out[n][f"{name}|{how}"] = res
                log(f"n={n} {name:22s} {how:12s} CEDAR {res['cedar']['mean']:.4f} ± {res['cedar']['sd']:.4f}  "
                    f"Bengali {res['bengali']['mean']:.4f} ± {res['bengali']['sd']:.4f}")
    return out


def load_features(out: Path) -> dict[str, np.ndarray]:
    files = sorted(out.glob("features31-lite0-*.npz")) or sorted(out.glob("features-lite0-*.npz"))
    with np.load(files[-1]) as d:
        return {k: d[k] for k in d.files}


def load_study(out: Path, taps_name: str):
    """What every 3.1 study starts from: (taps, features of those taps, writer, genuine and corpus
    per row, the 3.0 writer-grouped folds over the development writers)."""
    items = load_corpora(CEDAR, BENGALI)
    taps = CANDIDATE_TAPS.get(taps_name) or tuple(taps_name.split("+"))
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    corpus = np.array([it.corpus for it in items], dtype=object)
    return taps, prep(load_features(out), taps), wr, gen, corpus, folds_of(dev_writers())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--taps", default="b6+b7", help="a v3 tap set name, or '+'-joined feature keys")
    ap.add_argument("--ns", default="5")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--specs", default="", help="comma-separated spec names (default: all)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--aggregates", default="trimmed_mean,median")
    args = ap.parse_args(argv)
    out = Path(args.out)
    t0, c0 = time.perf_counter(), time.process_time()
    taps, x, wr, gen, corpus, folds = load_study(out, args.taps)
    specs = {k: SPECS[k] for k in args.specs.split(",")} if args.specs else SPECS
    print(f"taps {taps}: {x.shape[1]} dims", flush=True)
    res = evaluate(x, wr, gen, corpus, folds, tuple(int(v) for v in args.ns.split(",")), args.draws, specs,
                   tuple(args.aggregates.split(",")))
    res = {str(n): v for n, v in res.items()}
    res["taps"] = list(taps)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    res["cpu_seconds"] = round(time.process_time() - c0, 1)
    res["load_average"] = list(__import__("os").getloadavg())
    path = out / f"norm-results{args.tag}.json"
    path.write_text(json.dumps(res, indent=1))
    print(f"done in {res['seconds']} s ({res['cpu_seconds']} s CPU), load {res['load_average']} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
