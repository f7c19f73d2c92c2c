"""Shortcut baselines of signature-verify 3: can genuine vs forged be told without the signature?

Each baseline is a logistic regression that sees one nuisance only, scored by writer-grouped 5-fold
CV over the development writers, as balanced accuracy (chance = 0.5) per corpus:

- ``background_raw``: the median grey of the scan's outer border (the paper) — CEDAR's known bias;
- ``background_normalized``: the normalised canvas away from the ink (mean, sd, min of the pixels
  more than 3 px from any ink) — what the network sees of the paper;
- ``size_raw``: the scan's width, height and aspect (scan session / form);
- ``corpus_only``: which corpus the image comes from (both corpora pooled).
"""

from __future__ import annotations

import numpy as np

from inference.signature.preprocess import dilate
from training.signatures.corpora import normalize_all


def _cv_bacc(X, y, groups) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, np.float64)
    if np.all(np.ptp(X, axis=0) == 0):  # nothing to learn from: the constant answer
        pred = np.full(len(y), np.bincount(y.astype(int)).argmax())
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
        pred = cross_val_predict(model, X, y, groups=groups, cv=GroupKFold(5))
    return float(balanced_accuracy_score(y, pred))


def baselines(items, out, opts, dev, log=print) -> dict:
    cv = normalize_all(items, opts, out)
    wr = np.array([it.writer for it in items])
    y = np.array([it.genuine for it in items]).astype(int)
    corpus = np.array([it.corpus for it in items])
    keep = np.isin(wr, dev)
    far = ~np.stack([dilate(m, 3) for m in cv.mask])
    bg = np.array([[c[f].mean(), c[f].std(), c[f].min()] if f.any() else [255.0, 0.0, 255.0]
                   for c, f in zip(cv.canvas, far)])
    size = np.column_stack([cv.raw_size[:, 0], cv.raw_size[:, 1], cv.raw_size[:, 0] / cv.raw_size[:, 1]])
    res: dict = {}
    for c in ("cedar", "bengali"):
        k = keep & (corpus == c)
        res[c] = {"background_raw": _cv_bacc(cv.border_grey[k, None], y[k], wr[k]),
                  "background_normalized": _cv_bacc(bg[k], y[k], wr[k]),
                  "size_raw": _cv_bacc(size[k], y[k], wr[k])}
    onehot = (corpus[keep] == "cedar").astype(float)[:, None]
    res["corpus_only"] = _cv_bacc(onehot, y[keep], wr[keep])
    res["chance"] = 0.5
    res["metric"] = "balanced accuracy, writer-grouped 5-fold CV over development writers"
    log(f"baselines: {res}")
    return res
