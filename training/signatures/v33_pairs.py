"""Issue #23, session 7: a pairwise, registered-stroke similarity between a query and one reference.

Every channel tried so far describes each image on its own and compares descriptors by cosine. This
one compares the two inks directly, after putting the query onto the reference the way the app's
overlay does (:mod:`inference.signature.register`: centroid onto centroid, scale by the ratio of the
radii of gyration, a small rotation, the translation by FFT cross-correlation of the quarter-
resolution dilated inks), and then measures how close the strokes are:

- ``corr``: the normalised correlation of the (quarter-resolution, dilated) inks at the optimum;
- ``cov_k`` (k = 0..4 px): the symmetric coverage (|A ∩ dil(R, k)| + |R ∩ dil(A, k)|) / (|A| + |R|)
  of the registered query ink A and the reference ink R at full resolution;
- the symmetric chamfer distance truncated at 5 px is Σ_k (1 − cov_k) (Chebyshev metric: ``dilate``
  is a square), so it is not stored separately.

Two registration searches (the app's full search costs ~11 ms per pair, five references would break
the per-query budget by itself): ``pose`` (gyration scale, no rotation, translation only: ~1 ms) and
``grid9`` (3 scales × 3 angles around it: ~2 ms), both ending with one nearest-neighbour warp of the
full-resolution query ink. numpy + Pillow only (the app's own code), so it can move to
``inference/`` unchanged if it ships.

:func:`pair_cache` computes every (query, reference) pair the CV protocol can draw — reference a
genuine signature of a development writer, query any other signature of the same writer — once,
cached on disk. Test writers are never loaded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.signature import register as reg
from inference.signature.overlay import Pose, pose
from inference.signature.preprocess import dilate

VARIANTS = {"pose": ((1.0,), (0.0,)), "grid9": ((0.87, 1.0, 1.15), (-4.0, 0.0, 4.0))}
TOLS = (0, 1, 2, 3, 4)
FEATURES = ("corr",) + tuple(f"cov{k}" for k in TOLS)


@dataclass(frozen=True, eq=False)
class PairTarget:
    """The reference's side, made once per reference: its pose, coarse FFT and dilated inks."""

    mask: np.ndarray
    pose: Pose
    coarse_fft: np.ndarray
    coarse_energy: float
    dilated: tuple[np.ndarray, ...]   # dil(R, k) for k in TOLS
    ink: int


def pair_target(reference: np.ndarray) -> PairTarget:
    r = np.asarray(reference, bool)
    rh = dilate(reg._down(r, reg.COARSE), 1).astype(np.float32)
    return PairTarget(r, pose(r), np.fft.rfft2(rh), float(np.sum(rh * rh)), tuple(dilate(r, k) for k in TOLS),
                      int(r.sum()))


def align(query: np.ndarray, t: PairTarget, scales, angles) -> tuple[np.ndarray, float]:
    """The query's ink on the reference's canvas (best of the scale × angle grid, FFT translation)
    and the coarse correlation at that optimum."""
    q = np.asarray(query, bool)
    pq, pr = pose(q), t.pose
    s0 = pr.scale / pq.scale
    f = reg.COARSE
    qh = dilate(reg._down(q, f), 1).astype(np.float32)
    src, dst = (pq.cy / f, pq.cx / f), (pr.cy / f, pr.cx / f)
    max_shift = max(2, int(reg.MAX_SHIFT * min(qh.shape)))
    grid = [(s0 * k, a) for k in scales for a in angles]
    warped = np.stack([reg._warp(qh, src, dst, s, a, Image.Resampling.BILINEAR) for s, a in grid])
    found = reg._shifts_of(warped, t.coarse_fft, t.coarse_energy, max_shift)
    i = int(np.argmax([c for _, _, c in found]))
    (s, a), (dy, dx, c) = grid[i], found[i]
    ink = reg._warp(q.astype(np.uint8) * 255, (pq.cy, pq.cx), (pr.cy + f * dy, pr.cx + f * dx), s, a,
                    Image.Resampling.NEAREST) >= 128
    return ink, float(min(max(c, 0.0), 1.0))


def features(query: np.ndarray, t: PairTarget, variant: str) -> np.ndarray:
    """[corr, cov0..cov4] of the query registered onto the reference by ``variant``."""
    ink, corr = align(query, t, *VARIANTS[variant])
    na = int(ink.sum())
    total = na + t.ink
    out = np.empty(len(FEATURES), np.float64)
    out[0] = corr
    for j, k in enumerate(TOLS):
        both = int((ink & t.dilated[j]).sum()) + int((t.mask & dilate(ink, k)).sum())
        out[1 + j] = both / total if total else 0.0
    return out


def pair_cache(out: Path, canvas_key: str, mask: np.ndarray, wr: np.ndarray, gen: np.ndarray, writers,
               log=print) -> dict[str, np.ndarray]:
    """{"query", "ref", variant: (m, len(FEATURES))} for every pair of ``writers`` (cached)."""
    path = Path(out) / f"pairs-{canvas_key}-{'+'.join(VARIANTS)}-v1.npz"
    if path.is_file():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    t0, c0 = time.perf_counter(), time.process_time()
    qs, rs, feats = [], [], {v: [] for v in VARIANTS}
    for wi, w in enumerate(writers):
        items = np.flatnonzero(wr == w)
        for r in items[gen[items]]:
            t = pair_target(mask[r])
            for q in items[items != r]:
                qs.append(q)
                rs.append(r)
                for v in VARIANTS:
                    feats[v].append(features(mask[q], t, v))
        if wi % 10 == 9:
            log(f"pairs: {wi + 1}/{len(writers)} writers, {len(qs)} pairs, {time.perf_counter() - t0:.0f} s "
                f"({time.process_time() - c0:.0f} s CPU)")
    res = {"query": np.array(qs, np.int32), "ref": np.array(rs, np.int32),
           **{v: np.array(f, np.float32) for v, f in feats.items()}}
    np.savez(path, **res)
    log(f"pair features of {len(qs)} pairs in {time.perf_counter() - t0:.0f} s ({time.process_time() - c0:.0f} s CPU)")
    return res


class PairLookup:
    """Pair features by (query, reference) item index."""

    def __init__(self, cache: dict[str, np.ndarray], n_items: int):
        self.n = n_items
        key = cache["query"].astype(np.int64) * n_items + cache["ref"]
        self.order = np.argsort(key)
        self.key = key[self.order]
        self.cache = cache

    def get(self, variant: str, feature: str, query: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """(m, n) feature of each row's query against each of its references."""
        k = query.astype(np.int64)[:, None] * self.n + refs
        pos = np.searchsorted(self.key, k)
        pos = np.minimum(pos, len(self.key) - 1)
        if not np.array_equal(self.key[pos], k):
            raise KeyError("a (query, reference) pair is not in the pair cache")
        return self.cache[variant][self.order[pos], FEATURES.index(feature)].astype(np.float64) \
            if feature in FEATURES else chamfer(self.cache[variant][self.order[pos]])


def chamfer(f: np.ndarray) -> np.ndarray:
    """Negative truncated symmetric chamfer distance from the coverages (higher = closer)."""
    return -np.sum(1.0 - f[..., 1:], axis=-1)


__all__ = ["FEATURES", "PairLookup", "PairTarget", "TOLS", "VARIANTS", "align", "chamfer", "features",
           "pair_cache", "pair_target"]
