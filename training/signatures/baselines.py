"""The study's single-image protocol and the background-only baseline (the CEDAR trap).

- **Single image**: classify one signature as genuine or forged with no reference (the study's
  CNN features + SVM), from CNN embeddings of RAW scans and of normalised canvases.
- **Background only**: the same classifier on features of the *non-ink* pixels only (grey-level
  histogram, percentiles, local noise). On raw scans it finds the paper/scanner difference; on
  normalised canvases it must be at chance, which is the proof that normalisation removed it.

Each is measured two ways: a random image split (the study's: writers on both sides) and a
writer-disjoint split (train writers → test writers).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from inference.signature.preprocess import binarize, dilate, shrink_to, to_gray, PreprocessOptions
from training.signatures.data import Item

BG_BINS = 16


def background_features_from_gray(gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Descriptor of the pixels outside the ink (ink dilated by 3 px so stroke edges are excluded)."""
    bg = ~dilate(ink, 3)
    vals = gray[bg].astype(np.float64)
    if vals.size == 0:
        vals = np.array([255.0])
    hist = np.bincount(np.minimum(vals.astype(int) // (256 // BG_BINS), BG_BINS - 1), minlength=BG_BINS) / vals.size
    g = gray.astype(np.float64)
    lap = np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    inner = bg[1:-1, 1:-1] & bg[:-2, 1:-1] & bg[2:, 1:-1] & bg[1:-1, :-2] & bg[1:-1, 2:]
    noise = float(lap[inner].mean()) if inner.any() else 0.0
    pct = np.percentile(vals, [1, 5, 25, 50, 75, 95, 99])
    return np.concatenate([hist, pct, [vals.mean(), vals.std(), noise]])


def background_features_raw(rgb: np.ndarray) -> np.ndarray:
    gray = shrink_to(to_gray(rgb))
    ink, _ = binarize(gray, PreprocessOptions())
    return background_features_from_gray(gray, ink)


def background_features_canvas(canvas: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return background_features_from_gray(canvas, mask)


def _classifier(seed: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(kernel="rbf", C=4.0, gamma="scale", random_state=seed))


def _fit_score(X, y, train, test, seed) -> float:
    Xtr, Xte = X[train], X[test]
    if np.allclose(Xtr.std(axis=0), 0):  # constant features: the classifier can only guess one class
        guess = int(np.round(y[train].mean()))
        return float(np.mean(y[test] == guess))
    model = _classifier(seed).fit(Xtr, y[train])
    return float(np.mean(model.predict(Xte) == y[test]))


def single_image_accuracy(X: np.ndarray, items: Sequence[Item], split: dict, *, seed: int = 0,
                          random_test_fraction: float = 0.3) -> dict[str, float]:
    """Accuracy of genuine-vs-forged on one image: random image split and writer-disjoint split."""
    from sklearn.model_selection import train_test_split

    y = np.array([1 if it.genuine else 0 for it in items])
    writers = np.array([it.writer for it in items])
    idx = np.arange(len(items))
    tr, te = train_test_split(idx, test_size=random_test_fraction, random_state=seed, stratify=y)
    random_acc = _fit_score(X, y, tr, te, seed)
    wtr = np.isin(writers, split["train"])
    wte = np.isin(writers, split["test"])
    writer_acc = _fit_score(X, y, idx[wtr], idx[wte], seed)
    return {"random_image_split": random_acc, "writer_disjoint": writer_acc,
            "n_test_random": int(len(te)), "n_test_writer": int(wte.sum())}


def fit_verdict_head(emb: np.ndarray, genuine: np.ndarray, train: np.ndarray, C: float = 0.1):
    """Standardised logistic regression genuine-vs-forged on the embeddings of the training images,
    folded into the Dense softmax head [genuine, forged] the exported model carries.

    Returns (kernel (D, 2), bias (2,), model). ``softmax([-z/2, z/2]) = [1 - sigmoid(z), sigmoid(z)]``
    with ``z = w · (e - mu) / sigma + b`` = the logistic regression's P(forged).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(emb[train], (~genuine[train]).astype(int))  # 1 = forged
    scaler, lr = model[0], model[-1]
    w = lr.coef_[0] / scaler.scale_
    b = float(lr.intercept_[0] - np.sum(lr.coef_[0] * scaler.mean_ / scaler.scale_))
    kernel = np.stack([-w / 2.0, w / 2.0], axis=1).astype(np.float32)
    bias = np.array([-b / 2.0, b / 2.0], np.float32)
    return kernel, bias, model
