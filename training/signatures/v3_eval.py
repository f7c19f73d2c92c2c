"""The evaluation protocol of signature-verify 3, on cached embeddings.

For every writer of a fold and every number of references n (1, 3, 5, 10): ``draws`` random sets of
n genuine references; the queries are the writer's other genuine signatures and all the skilled
forgeries of that writer's signature. What is kept per query is what the app computes
(:mod:`inference.signature.scoring`): the cosine with each reference and the references' mutual
agreement. Calibration, aggregation and thresholds are then applied to these rows, so choosing them
never touches the images again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.signature.scoring import aggregate
from training.signatures.metrics import eer

N_REFS = (1, 3, 5, 10)


@dataclass(eq=False)
class Rows:
    """Queries of one evaluation (fixed n): labels, per-reference cosines, reference levels."""

    n: int
    y: np.ndarray          # (m,) 1 genuine, 0 skilled forgery
    cos: np.ndarray        # (m, n)
    level: np.ndarray      # (m,) mean cosine between the references (NaN for n = 1)
    writer: np.ndarray     # (m,)
    corpus: np.ndarray     # (m,) "cedar" / "bengali"
    query: np.ndarray      # (m,) item index of the query
    refs: np.ndarray       # (m, n) item indices of the references

    def subset(self, keep: np.ndarray) -> "Rows":
        return Rows(self.n, self.y[keep], self.cos[keep], self.level[keep], self.writer[keep],
                    self.corpus[keep], self.query[keep], self.refs[keep])

    @staticmethod
    def concat(parts: list["Rows"]) -> "Rows":
        return Rows(parts[0].n, *(np.concatenate([getattr(p, f) for p in parts])
                                  for f in ("y", "cos", "level", "writer", "corpus", "query", "refs")))


def make_rows(emb: np.ndarray, writers_of: np.ndarray, genuine: np.ndarray, corpus: np.ndarray,
              writers, n: int, draws: int, seed: int) -> Rows:
    """Rows for ``writers`` with ``n`` references (``draws`` reference sets per writer)."""
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed + 7919 * n)
    parts = {k: [] for k in ("y", "cos", "level", "writer", "corpus", "query", "refs")}
    for w in writers:
        g = np.flatnonzero((writers_of == w) & genuine)
        f = np.flatnonzero((writers_of == w) & ~genuine)
        if len(g) <= n:
            continue
        for _ in range(draws):
            refs = np.sort(rng.choice(g, size=n, replace=False))
            queries = np.concatenate([np.setdiff1d(g, refs), f])
            y = np.concatenate([np.ones(len(g) - n), np.zeros(len(f))])
            cos = e[queries] @ e[refs].T
            if n >= 2:
                rr = e[refs] @ e[refs].T
                lvl = (rr.sum() - np.trace(rr)) / (n * (n - 1))
            else:
                lvl = np.nan
            m = len(queries)
            parts["y"].append(y)
            parts["cos"].append(cos)
            parts["level"].append(np.full(m, lvl))
            parts["writer"].append(np.full(m, w))
            parts["corpus"].append(np.full(m, corpus[g[0]], dtype=object))
            parts["query"].append(queries)
            parts["refs"].append(np.repeat(refs[None], m, axis=0))
    return Rows(n, *(np.concatenate(parts[k]) for k in ("y", "cos", "level", "writer", "corpus", "query", "refs")))


@dataclass(frozen=True)
class Recipe:
    """How per-reference cosines become scores (the manifest's ``verify.scoring`` minus thresholds)."""

    a: float = 10.0
    b: float = 0.0
    lam: float = 0.0
    prior: float = 0.0
    how: str = "median"
    trim: float = 0.2

    def shifted(self, rows: Rows) -> np.ndarray:
        """(m, n) reference-normalised similarities s_i."""
        lvl = np.where(np.isfinite(rows.level), rows.level, self.prior)
        return rows.cos - self.lam * (lvl - self.prior)[:, None]

    def per_ref(self, rows: Rows) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * self.shifted(rows) + self.b)))

    def overall(self, rows: Rows) -> np.ndarray:
        """Vectorised :func:`inference.signature.scoring.aggregate` over rows (checked in the tests)."""
        p = np.sort(self.per_ref(rows), axis=1)
        n = p.shape[1]
        if self.how == "median":
            return np.median(p, axis=1)
        if self.how == "trimmed_mean":
            k = int(np.floor(self.trim * n))
            return p[:, k:n - k].mean(axis=1) if n - 2 * k > 0 else np.median(p, axis=1)
        if self.how == "mean":
            return p.mean(axis=1)
        raise ValueError(f"unknown aggregate {self.how!r}")


def fit_calibration(rows: Rows, recipe: Recipe) -> Recipe:
    """Logistic calibration of the per-reference similarity (same hand vs skilled forgery)."""
    from sklearn.linear_model import LogisticRegression

    s = recipe.shifted(rows)
    x = s.reshape(-1, 1)
    y = np.repeat(rows.y, rows.n)
    # balance genuine and forged pairs: the calibrated 50% then means "as likely either way"
    lr = LogisticRegression(C=100.0, class_weight="balanced").fit(x, y)
    return Recipe(float(lr.coef_[0, 0]), float(lr.intercept_[0]), recipe.lam, recipe.prior, recipe.how, recipe.trim)


def eer_by_corpus(rows: Rows, scores: np.ndarray) -> dict[str, float]:
    out = {}
    for c in ("cedar", "bengali"):
        k = rows.corpus == c
        if k.any() and 0 < rows.y[k].sum() < k.sum():
            out[c] = eer(rows.y[k], scores[k])[0]
    return out


def rates(y: np.ndarray, s: np.ndarray, t: float, low: float, high: float) -> dict[str, float]:
    """FAR (skilled), FRR at ``t``; review rates in [low, high); accuracy on the decided ones."""
    y = y.astype(bool)
    acc_gen = s >= t
    review = (s >= low) & (s < high)
    decided = ~review
    return {
        "far": float(np.mean(acc_gen[~y])) if (~y).any() else float("nan"),
        "frr": float(np.mean(~acc_gen[y])) if y.any() else float("nan"),
        "accuracy": float(np.mean(acc_gen == y)),
        "review_rate": float(np.mean(review)),
        "review_rate_genuine": float(np.mean(review[y])) if y.any() else float("nan"),
        "accuracy_decided": float(np.mean(acc_gen[decided] == y[decided])) if decided.any() else float("nan"),
        "far_decided": float(np.mean(acc_gen[decided & ~y])) if (decided & ~y).any() else 0.0,
        "frr_decided": float(np.mean(~acc_gen[decided & y])) if (decided & y).any() else 0.0,
        "n_genuine": int(y.sum()), "n_forged": int((~y).sum()),
    }


def choose_point(y: np.ndarray, s: np.ndarray, *, strict_far: float | None = None, target_acc: float = 0.97,
                 max_gen_review: float = 0.20) -> dict[str, float]:
    """Threshold and review band from development scores.

    Threshold: the EER point (standard) or the lowest threshold with FAR ≤ ``strict_far`` (strict).
    Band [low, high) around it: of all bands on a grid of score quantiles whose decided accuracy is
    ≥ ``target_acc``, the one that sends the fewest queries to review while sending at most
    ``max_gen_review`` of the genuine ones; if none qualifies, the band with the highest decided
    accuracy among those within the genuine-review limit.
    """
    from training.signatures.metrics import threshold_at_far

    y = y.astype(bool)
    t = eer(y, s)[1] if strict_far is None else threshold_at_far(y, s, strict_far)
    t = float(np.clip(t, 0.0, 1.0))
    qs = np.unique(np.quantile(s, np.linspace(0, 1, 101)))
    lows = np.concatenate([[t], qs[qs < t]])
    highs = np.concatenate([[t], qs[qs > t], [1.0 + 1e-9]])
    best, best_key = None, None
    for lo in lows:
        for hi in highs:
            review = (s >= lo) & (s < hi)
            gen_rev = float(np.mean(review[y]))
            if gen_rev > max_gen_review:
                continue
            dec = ~review
            if not dec.any():
                continue
            acc = float(np.mean((s[dec] >= t) == y[dec]))
            ok = acc >= target_acc
            key = (ok, -float(np.mean(review)) if ok else acc)
            if best_key is None or key > best_key:
                best_key, best = key, (float(lo), float(min(hi, 1.0)))
    lo, hi = best if best is not None else (t, t)
    return {"threshold": t, "review": [lo, hi], "meets_target": bool(best_key and best_key[0])}


__all__ = ["N_REFS", "Recipe", "Rows", "choose_point", "eer_by_corpus", "fit_calibration", "make_rows", "rates"]
