"""The memory bank of a seal profile: PatchCore-style anomaly scoring in numpy (issue 25).

A profile learns what *intact* looks like from a few photos of one site's seals, with no training
run: every photo's patch features (an N×H×W×C map the pack's ONNX model gives as
``outputs.patch_features``) go into one pool, a greedy k-center coreset keeps a tenth of them
(chosen on a random projection, so the selection costs seconds, not minutes), and a photo's score
is the largest distance from any of its patches to its nearest patch in the bank. The per-patch
distances are the anomaly map: where the photo departs from the enrolled seals.

The threshold comes from the enrolled photos themselves: k-fold (each fold scored against a bank
built without it), then the ``1 - false_alarm_rate`` quantile of those scores. Numbers are float32
throughout; nothing here knows about seals.

A profile of format 2 decides on a *fused* score (:func:`fuse`): the patch distance and the pack's
own classifier (the logit of its alarming probability), each standardised on the enrolled photos
(so on the site's own intact seals both read 0 ± 1), added with weight :data:`FUSION_WEIGHT`. The
classifier, shifted by a renderer or a site it never saw, is put back on the site's scale; the
profile adds what the classifier was never trained to see. Chosen on development data only
(benchmarks/profiles.py, the card's "Profiles" section).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CORESET_RATIO = 0.1      # PatchCore keeps 1-10%; 10% of 50 photos × 196 patches = 980 patches
PROJECTION_DIM = 64      # Johnson-Lindenstrauss projection used only to choose the coreset
MIN_BANK = 64            # below this many patches the coreset is the whole pool
_CHUNK = 4096            # query patches per distance block (bounds memory at ~16 MB per 1,000 bank rows)


def coreset_indices(features: np.ndarray, ratio: float = CORESET_RATIO, *, seed: int = 0,
                    projection_dim: int = PROJECTION_DIM) -> np.ndarray:
    """Greedy k-center subsampling: indices of rows of ``features`` (P×D) that cover the rest.

    Each step takes the row farthest from everything chosen so far, so rare patches (the odd
    reflection, the printed serial) are kept and the many near-duplicates are not. Distances are
    measured on a random Gaussian projection to ``projection_dim`` dimensions (PatchCore's trick).
    """
    features = np.asarray(features, dtype=np.float32)
    n = len(features)
    k = max(min(n, MIN_BANK), int(round(n * ratio)))
    if k >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if features.shape[1] > projection_dim:
        proj = rng.standard_normal((features.shape[1], projection_dim)).astype(np.float32)
        proj /= np.sqrt(projection_dim)
        z = features @ proj
    else:
        z = features
    z_sq = np.einsum("ij,ij->i", z, z)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = int(rng.integers(n))
    # min squared distance of every row to the chosen set, updated one centre at a time
    d = z_sq - 2.0 * (z @ z[chosen[0]]) + z_sq[chosen[0]]
    for i in range(1, k):
        j = int(np.argmax(d))
        chosen[i] = j
        dj = z_sq - 2.0 * (z @ z[j]) + z_sq[j]
        np.minimum(d, dj, out=d)
    return chosen


def nearest_distances(queries: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``queries`` (P×D) to its nearest row of ``bank`` (M×D)."""
    queries = np.asarray(queries, dtype=np.float32)
    bank = np.asarray(bank, dtype=np.float32)
    b_sq = np.einsum("ij,ij->i", bank, bank)
    out = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), _CHUNK):
        q = queries[start:start + _CHUNK]
        d = q @ bank.T
        d *= -2.0
        d += b_sq[None, :]
        best = d.min(axis=1) + np.einsum("ij,ij->i", q, q)
        out[start:start + _CHUNK] = np.sqrt(np.maximum(best, 0.0))
    return out


@dataclass(frozen=True)
class Scored:
    """Scores of N photos: the image score (max patch distance) and the N×H×W patch-distance maps."""

    scores: np.ndarray
    maps: np.ndarray


def l2_normalise(feature_maps: np.ndarray) -> np.ndarray:
    """Each patch's feature vector scaled to unit length: distances then compare the pattern of a
    patch, not its contrast or exposure (measured: pooled ROC-AUC 0.873 → 0.935 on the second
    renderer's photos, 0.896 → 0.935 on the generator's; benchmarks/profiles.py)."""
    maps = np.asarray(feature_maps, dtype=np.float32)
    return maps / (np.linalg.norm(maps, axis=-1, keepdims=True) + np.float32(1e-6))


def score_maps(feature_maps: np.ndarray, bank: np.ndarray) -> Scored:
    """Score N×H×W×C feature maps against a bank: per-patch NN distance, and its max per image."""
    maps = np.asarray(feature_maps, dtype=np.float32)
    if maps.ndim != 4 or maps.shape[-1] != bank.shape[1]:
        raise ValueError(f"feature maps of shape {maps.shape} do not fit a bank of {bank.shape[1]} channels")
    n, h, w, c = maps.shape
    dist = nearest_distances(maps.reshape(-1, c), bank).reshape(n, h, w)
    return Scored(dist.reshape(n, -1).max(axis=1), dist)


def build_bank(feature_maps: np.ndarray, ratio: float = CORESET_RATIO, *, seed: int = 0,
               copies: np.ndarray | None = None) -> np.ndarray:
    """The memory bank (M×C float32) of N×H×W×C feature maps.

    ``copies`` (K×N×H×W×C: the enrolled photos' mirrored or turned copies, inference.profiles.augment)
    join the pool, and the coreset keeps ``ratio`` × the photos' own patch count, so a bank with
    copies is as large (and judging as fast) as one without: the copies change which patches are
    kept, not how many."""
    maps = np.asarray(feature_maps, dtype=np.float32)
    pool = maps.reshape(-1, maps.shape[-1])
    if copies is not None and len(copies):
        extra = np.asarray(copies, dtype=np.float32)
        ratio = ratio / (1 + len(extra))
        pool = np.concatenate([pool, extra.reshape(-1, maps.shape[-1])])
    return np.ascontiguousarray(pool[coreset_indices(pool, ratio, seed=seed)])


def fold_scores(feature_maps: np.ndarray, folds: int = 5, ratio: float = CORESET_RATIO, *,
                seed: int = 0, copies: np.ndarray | None = None) -> np.ndarray:
    """Each photo's score against a bank built from the other folds (k-fold; leave-one-out when
    ``folds`` ≥ the number of photos): what a new intact photo of the same seals would score. With
    ``copies`` (K×N×H×W×C), a held-out photo's own copies leave the bank with it."""
    maps = np.asarray(feature_maps, dtype=np.float32)
    n = len(maps)
    folds = max(2, min(folds, n))
    order = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.float32)
    for f in range(folds):
        held = order[f::folds]
        rest = np.setdiff1d(order, held)
        bank = build_bank(maps[rest], ratio, seed=seed + f + 1,
                          copies=None if copies is None else np.asarray(copies)[:, rest])
        out[held] = score_maps(maps[held], bank).scores
    return out


def threshold_at(scores: np.ndarray, false_alarm_rate: float) -> float:
    """The score above which ``false_alarm_rate`` of ``scores`` lie (linear interpolation)."""
    return float(np.quantile(np.asarray(scores, dtype=np.float64), 1.0 - float(false_alarm_rate)))


FUSION_WEIGHT = 1.0     # classifier z-score weight beside the patch-distance z-score (equal weights)
_STD_FLOOR = {"distance": 1e-3, "classifier": 0.25}  # a spread below these is treated as this
_P_CLIP = 1e-6


def alarm_logits(p_alarm: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) of the alarming probability, clipped to ±13.8 (p in [1e-6, 1 - 1e-6])."""
    p = np.clip(np.asarray(p_alarm, dtype=np.float64), _P_CLIP, 1.0 - _P_CLIP)
    return np.log(p / (1.0 - p))


def spread(values: np.ndarray, kind: str) -> dict[str, float]:
    """Mean and standard deviation (with a floor: 20 near-identical photos must not give a spread of
    zero, which would blow every later score up) of enrolled values, as stored in a profile."""
    v = np.asarray(values, dtype=np.float64)
    floor = _STD_FLOOR[kind] * (abs(float(v.mean())) if kind == "distance" else 1.0)
    return {"mean": float(v.mean()), "std": float(max(v.std(ddof=1) if len(v) > 1 else 0.0, floor, 1e-9))}


def fuse(distances: np.ndarray, p_alarm: np.ndarray, stats: dict, weight: float) -> np.ndarray:
    """The fused score: z(patch distance) + weight · z(classifier logit), both z on the enrolled photos."""
    d, c = stats["distance"], stats["classifier"]
    zd = (np.asarray(distances, dtype=np.float64) - d["mean"]) / d["std"]
    zc = (alarm_logits(p_alarm) - c["mean"]) / c["std"]
    return zd + float(weight) * zc


__all__ = ["CORESET_RATIO", "FUSION_WEIGHT", "Scored", "alarm_logits", "build_bank", "coreset_indices", "fold_scores",
           "fuse", "l2_normalise", "nearest_distances", "score_maps", "spread", "threshold_at"]
