"""The learned layer of the embedding: fitted on the development writers' images, closed form.

1. signed square root and L2 normalisation of the pooled CNN features (:func:`cnn.transform`);
2. whitening PCA (``pca_dims`` components, each scaled to unit variance over the fitting images);
3. optionally a *genuine-vs-skilled-forgery discriminant* (``lda_dims`` > 0): with, per writer w,
   the mean ``m_w`` of w's genuine signatures,

       S_g = Σ_w Σ_genuine (x − m_w)(x − m_w)ᵀ        (how a hand varies)
       S_f = Σ_w Σ_forgery (x − m_w)(x − m_w)ᵀ        (how a skilled forgery of it differs)

   the directions ``v`` maximising ``vᵀ S_f v / vᵀ (S_g + ε I) v`` (a generalised eigenproblem):
   the embedding keeps what separates forgeries from the genuine hand and drops what varies
   between genuine signatures. This is the verifier's own question, learned writer-independently
   (the same directions serve writers never seen).

The result is one ``mean`` and one ``matrix`` that the exported graph applies
(:func:`training.signatures.cnn.build_pack_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class MetricLayer:
    mean: np.ndarray     # (D,)
    matrix: np.ndarray   # (D, k)
    power: float
    pca_dims: int
    lda_dims: int
    ridge: float

    def __call__(self, pooled: np.ndarray) -> np.ndarray:
        from training.signatures.cnn import transform

        return transform(pooled, self.mean, self.matrix, self.power)


def _prep(pooled: np.ndarray, power: float) -> np.ndarray:
    x = np.asarray(pooled, np.float64)
    if power != 1.0:
        x = np.sign(x) * np.abs(x) ** power
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit(pooled: np.ndarray, writers: np.ndarray, genuine: np.ndarray, fit_mask: np.ndarray, *,
        power: float = 0.5, pca_dims: int = 256, lda_dims: int = 0, ridge: float = 0.1) -> MetricLayer:
    """Fit the layer on the images of ``fit_mask`` (development writers only)."""
    from scipy.linalg import eigh

    x = _prep(pooled, power)
    xf = x[fit_mask]
    mu = xf.mean(axis=0)
    xc = xf - mu
    # eigen-decomposition of the covariance (same components as an SVD of xc, several times cheaper)
    var, vecs = np.linalg.eigh(xc.T @ xc / len(xf))
    order = np.argsort(var)[::-1]
    k = min(pca_dims, len(xf) - 1, xc.shape[1])
    var, vecs = var[order[:k]], vecs[:, order[:k]]
    P = vecs / np.sqrt(np.maximum(var, 1e-12))       # (D, k): whitening PCA
    if lda_dims:
        z = (x - mu) @ P
        d = z.shape[1]
        Sg = np.zeros((d, d))
        Sf = np.zeros((d, d))
        ws = np.unique(writers[fit_mask])
        for w in ws:
            g = z[fit_mask & (writers == w) & genuine]
            f = z[fit_mask & (writers == w) & ~genuine]
            if len(g) < 2:
                continue
            m = g.mean(axis=0)
            Sg += (g - m).T @ (g - m)
            if len(f):
                Sf += (f - m).T @ (f - m)
        Sg /= len(ws)
        Sf /= len(ws)
        reg = ridge * np.trace(Sg) / d
        vals, vecs = eigh(Sf, Sg + reg * np.eye(d))
        V = vecs[:, ::-1][:, :min(lda_dims, d)]
        V = V / np.maximum(np.linalg.norm(V, axis=0, keepdims=True), 1e-12)
        P = P @ V
    return MetricLayer(mu, P, float(power), int(k), int(lda_dims), float(ridge))


def cross_fitted(pooled: np.ndarray, writers: np.ndarray, genuine: np.ndarray, folds, **kw):
    """Embeddings that are always *out of sample* for the layer, as the test writers' are.

    ``folds``: lists of writers partitioning the fitting writers. Each fold's images are embedded
    by a layer fitted on the other folds; every other image (the test writers) by the layer fitted
    on all folds. Returns ``(embeddings, final layer, {writer: its fold's layer})``; the final
    layer is the one the pack ships. (An SVM trained on in-sample embeddings learns distances
    that are too good: a whitening fitted on a writer's own signatures shrinks exactly the
    directions in which that writer varies.)
    """
    all_w = [w for f in folds for w in f]
    final = fit(pooled, writers, genuine, np.isin(writers, all_w), **kw)
    out = final(pooled)
    layer_of = {}
    for f in folds:
        rows = np.isin(writers, f)
        layer = fit(pooled, writers, genuine, np.isin(writers, [w for w in all_w if w not in set(f)]), **kw)
        out[rows] = layer(pooled[rows])
        layer_of.update({int(w): layer for w in f})
    return out, final, layer_of


def apply_by_writer(pooled: np.ndarray, writers, final: MetricLayer, layer_of: dict) -> np.ndarray:
    """Embed rows with their writer's cross-fitting layer (the final layer for other writers)."""
    writers = np.asarray(writers)
    out = final(pooled)
    for layer in {id(v): v for v in layer_of.values()}.values():
        rows = np.isin(writers, [w for w, l in layer_of.items() if l is layer])
        if rows.any():
            out[rows] = layer(pooled[rows])
    return out
