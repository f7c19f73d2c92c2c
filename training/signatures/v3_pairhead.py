"""A learned per-pair similarity for signature-verify 3: a weighted cosine, learned writer-independently.

For L2-normalised embeddings q̂, r̂ the pair vector is ``[|q̂ − r̂|, q̂ ∘ r̂]`` (element-wise); a logistic
regression on pairs of the training writers (same writer: genuine–genuine → 1; a skilled forgery of
the writer against one of the writer's genuine signatures → 0) gives the weights ``w_abs``, ``w_prod``
and the similarity ``s = w_abs · |q̂ − r̂| + w_prod · (q̂ ∘ r̂) + bias``. (Plain cosine is the special
case w_abs = 0, w_prod = 1.) The app computes the same in :func:`inference.signature.scoring.pair_similarity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.signatures.v3_eval import Rows


def _unit(e: np.ndarray) -> np.ndarray:
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def pair_x(eq: np.ndarray, er: np.ndarray) -> np.ndarray:
    return np.concatenate([np.abs(eq - er), eq * er], axis=1)


@dataclass(frozen=True)
class PairHead:
    w_abs: np.ndarray
    w_prod: np.ndarray
    bias: float

    def similarity(self, eq: np.ndarray, er: np.ndarray) -> np.ndarray:
        """Row-wise similarity of unit embeddings."""
        return np.abs(eq - er) @ self.w_abs + (eq * er) @ self.w_prod + self.bias


def training_pairs(wr, gen, writers, max_pos: int = 120, max_neg: int = 120, seed: int = 0):
    """(query, reference, y) rows within each writer, references genuine, never an image with itself."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in writers:
        g = np.flatnonzero((wr == w) & gen)
        f = np.flatnonzero((wr == w) & ~gen)
        pos = [(a, b, 1) for a in g for b in g if a != b]
        neg = [(a, b, 0) for a in f for b in g]
        for cand, k in ((pos, max_pos), (neg, max_neg)):
            if len(cand) > k:
                cand = [cand[i] for i in rng.choice(len(cand), size=k, replace=False)]
            rows.extend(cand)
    return np.asarray(rows, dtype=np.int64)


def fit_head(emb: np.ndarray, wr, gen, writers, C: float = 1.0, seed: int = 0) -> PairHead:
    from sklearn.linear_model import LogisticRegression

    e = _unit(emb)
    p = training_pairs(wr, gen, writers, seed=seed)
    X = pair_x(e[p[:, 0]], e[p[:, 1]])
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(X, p[:, 2])
    d = e.shape[1]
    return PairHead(lr.coef_[0, :d].copy(), lr.coef_[0, d:].copy(), float(lr.intercept_[0]))


def rescore(rows: Rows, emb: np.ndarray, head: PairHead) -> Rows:
    """The same rows with each cosine replaced by the learned similarity (and the references' level)."""
    e = _unit(emb)
    m, n = rows.refs.shape
    q = np.repeat(rows.query, n)
    r = rows.refs.reshape(-1)
    sim = head.similarity(e[q], e[r]).reshape(m, n)
    level = np.full(m, np.nan)
    if n >= 2:
        # reference sets repeat over a set's queries: compute each set's level once
        keys, first, inv = np.unique(rows.refs, axis=0, return_index=True, return_inverse=True)
        lv = np.empty(len(keys))
        for j, refs in enumerate(keys):
            a = np.repeat(refs, n)
            b = np.tile(refs, n)
            keep = a != b
            lv[j] = head.similarity(e[a[keep]], e[b[keep]]).mean()
        level = lv[inv.reshape(-1)]
    return Rows(rows.n, rows.y, sim, level, rows.writer, rows.corpus, rows.query, rows.refs)
