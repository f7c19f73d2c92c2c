"""Writer-dependent refinement of signature-verify 3, measured on the same CV folds.

With n references of one customer, a per-writer SVM (RBF, C=1, gamma="scale") is trained on the
learned embedding: the n references against genuine signatures of other (training-fold) writers,
and scores that writer's queries. It is compared with the writer-independent score on exactly the
same queries and reference sets (pooled EER per corpus, mean ± sd over the folds); the pack keeps it
only if it helps.
"""

from __future__ import annotations

import numpy as np

from training.signatures.v3_eval import Recipe, eer_by_corpus, make_rows

NEGATIVES = 300


def writer_dependent_cv(x, wr, gen, corpus, folds, layers, recipe: Recipe, ns=(5, 10), seed: int = 5, log=print):
    from sklearn.svm import SVC

    rng = np.random.default_rng(seed)
    out = {}
    for n in ns:
        per = {"wi": {"cedar": [], "bengali": []}, "wd": {"cedar": [], "bengali": []}}
        for i, f in enumerate(folds):
            emb = layers[i](x)
            e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            others = np.flatnonzero(gen & ~np.isin(wr, f))
            rows = make_rows(emb, wr, gen, corpus, f, n, 1, seed + i)
            wd = np.zeros(len(rows.y))
            for w in np.unique(rows.writer):
                k = rows.writer == w
                refs = rows.refs[k][0]
                neg = rng.choice(others, size=min(NEGATIVES, len(others)), replace=False)
                X = np.concatenate([e[refs], e[neg]])
                y = np.concatenate([np.ones(len(refs)), np.zeros(len(neg))])
                svm = SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced").fit(X, y)
                wd[k] = svm.decision_function(e[rows.query[k]])
            wi = recipe.overall(rows)
            for name, s in (("wi", wi), ("wd", wd)):
                for c, v in eer_by_corpus(rows, s).items():
                    per[name][c].append(v)
        out[str(n)] = {name: {c: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))}
                              for c, v in d.items()} for name, d in per.items()}
        log(f"writer-dependent n={n}: {out[str(n)]}")
    helps = all(out[k]["wd"][c]["mean"] < out[k]["wi"][c]["mean"] for k in out for c in ("cedar", "bengali"))
    out["kept"] = bool(helps)
    return out
