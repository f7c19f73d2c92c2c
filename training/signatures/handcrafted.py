"""Hand-crafted descriptors of a normalised signature canvas (issue #23's second-channel study).

Every function takes canvases as the app normalises them (:mod:`inference.signature.preprocess`:
``(N, H, W)`` uint8, dark ink on white, 192×384) and returns non-negative features pooled on a grid,
so each is also expressible as fixed ONNX ops (Conv with fixed weights, Relu, AveragePool):

- :func:`oriented_energy` — HOG-like: Sobel ``gx``, ``gy`` of the ink map; for K orientations
  θ_k = 2πk/K (signed: the two edges of a stroke point opposite ways) ``ReLU(cos θ_k·gx + sin θ_k·gy)``,
  mean-pooled over an R×C grid;
- :func:`lbp_histograms` — 8-neighbour binary patterns of the binarised canvas, mapped to the 58
  uniform patterns + 1 "non-uniform" bin, histogram per grid cell (the flat code, all neighbours
  equal to the centre — paper or the inside of a stroke — is left out: it only counts area);
- :func:`ink_density` — the ink fraction per grid cell; :func:`profiles` — the row and column ink
  projection profiles, pooled into bins.

:func:`features` computes a named set of them in batches (the study caches the result); the
signed square root and L2 per block come later (:func:`training.signatures.v3_train.prep`), as for
the CNN taps.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], np.float32)
SOBEL_Y = SOBEL_X.T.copy()


def ink_map(canvas: np.ndarray) -> np.ndarray:
    """(N, H, W) float32 in [0, 1]: 1 = ink, 0 = paper (the canvas is dark ink on white)."""
    c = np.asarray(canvas)
    if c.ndim == 2:
        c = c[None]
    return 1.0 - c.astype(np.float32) / 255.0


def _conv3(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'same' 3×3 cross-correlation of (N, H, W) with zero padding (paper outside the canvas), as
    ONNX Conv computes it (no kernel flip)."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    h, w = x.shape[1:]
    out = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            if k[i, j]:
                out += k[i, j] * p[:, i:i + h, j:j + w]
    return out


def grid_mean(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Mean of (N, ..., H, W) over an rows×cols grid of equal cells → (N, ..., rows, cols).
    H and W must be multiples of the grid (AveragePool with kernel = stride = the cell)."""
    h, w = x.shape[-2:]
    if h % rows or w % cols:
        raise ValueError(f"a {h}×{w} map does not split into a {rows}×{cols} grid of equal cells")
    s = x.shape[:-2] + (rows, h // rows, cols, w // cols)
    return x.reshape(s).mean(axis=(-3, -1))


def orientations(k: int) -> np.ndarray:
    """(k, 2) unit directions (cos θ, sin θ), θ = 2πi/k."""
    t = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(t), np.sin(t)], axis=1).astype(np.float32)


def oriented_maps(canvas: np.ndarray, k: int = 8) -> np.ndarray:
    """(N, k, H, W): ReLU of the Sobel gradient of the ink map projected on each of k directions."""
    ink = ink_map(canvas)
    gx, gy = _conv3(ink, SOBEL_X), _conv3(ink, SOBEL_Y)
    d = orientations(k)
    return np.maximum(d[None, :, 0, None, None] * gx[:, None] + d[None, :, 1, None, None] * gy[:, None], 0.0)


def oriented_energy(canvas: np.ndarray, k: int = 8, grids: Iterable[tuple[int, int]] = ((2, 4), (4, 8))) -> dict:
    """{"hog{k}@RxC": (N, k·R·C)} — the oriented gradient energy pooled on each grid (channel-major,
    as the ONNX graph flattens NCHW)."""
    m = oriented_maps(canvas, k)
    return {f"hog{k}@{r}x{c}": grid_mean(m, r, c).reshape(len(m), -1) for r, c in grids}


def _uniform_table() -> np.ndarray:
    """Code (0..255) → bin: the 58 uniform patterns (≤ 2 circular 0/1 transitions) in code order,
    then one bin for every non-uniform pattern; the flat code 255 → −1 (not counted)."""
    table = np.full(256, -1, np.int64)
    nxt = 0
    for code in range(255):  # 255, all neighbours equal to the centre (flat paper or ink), stays −1
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            table[code] = nxt
            nxt += 1
    uniform = table >= 0
    uniform[255] = True
    table[~uniform] = nxt    # every non-uniform pattern: one bin
    return table


LBP_TABLE = _uniform_table()
LBP_BINS = int(LBP_TABLE.max()) + 1   # 58: 57 uniform non-flat + 1 non-uniform
# the 8 neighbours in circular order (dy, dx)
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def lbp_codes(canvas: np.ndarray) -> np.ndarray:
    """(N, H, W) int codes: bit i set when neighbour i has the same-or-more ink as the centre
    (binary ink: canvas < 128), paper outside the canvas."""
    b = (np.asarray(canvas if canvas.ndim == 3 else canvas[None]) < 128).astype(np.uint8)
    p = np.pad(b, ((0, 0), (1, 1), (1, 1)))
    h, w = b.shape[1:]
    code = np.zeros(b.shape, np.int64)
    for i, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] >= b).astype(np.int64) << i
    return code


def lbp_histograms(canvas: np.ndarray, grids: Iterable[tuple[int, int]] = ((1, 1), (2, 4))) -> dict:
    """{"lbp@RxC": (N, R·C·LBP_BINS)}: per grid cell, the fraction of its pixels in each pattern bin."""
    bins = LBP_TABLE[lbp_codes(canvas)]                 # (N, H, W), −1 = not counted
    n, h, w = bins.shape
    out = {}
    for r, c in grids:
        if h % r or w % c:
            raise ValueError(f"a {h}×{w} map does not split into a {r}×{c} grid of equal cells")
        cell = (np.arange(h)[:, None] // (h // r)) * c + np.arange(w)[None] // (w // c)   # (H, W) cell index
        idx = (np.arange(n)[:, None, None] * (r * c) + cell[None]) * LBP_BINS + bins
        counts = np.bincount(idx[bins >= 0], minlength=n * r * c * LBP_BINS).astype(np.float32)
        # (N, cell, bin) → (N, bin, cell): channel-major, as a one-hot map pooled per cell would flatten
        hist = counts.reshape(n, r * c, LBP_BINS).transpose(0, 2, 1) / ((h // r) * (w // c))
        out[f"lbp@{r}x{c}"] = hist.reshape(n, -1)
    return out


def ink_density(canvas: np.ndarray, grids: Iterable[tuple[int, int]] = ((8, 16),)) -> dict:
    ink = ink_map(canvas)
    return {f"ink@{r}x{c}": grid_mean(ink, r, c).reshape(len(ink), -1) for r, c in grids}


def profiles(canvas: np.ndarray, row_bins: int = 48, col_bins: int = 96) -> dict:
    """Row and column ink projection profiles (mean ink per row/column), pooled into bins."""
    ink = ink_map(canvas)
    n, h, w = ink.shape
    rows = ink.mean(axis=2).reshape(n, row_bins, h // row_bins).mean(axis=2)
    cols = ink.mean(axis=1).reshape(n, col_bins, w // col_bins).mean(axis=2)
    return {"proj_rows": rows, "proj_cols": cols}


FAMILIES = {
    "hog8": lambda c: oriented_energy(c, 8, ((2, 4), (4, 8), (6, 12))),
    "hog12": lambda c: oriented_energy(c, 12, ((2, 4), (4, 8))),
    "lbp": lambda c: lbp_histograms(c, ((1, 1), (2, 4))),
    "ink": lambda c: {**ink_density(c, ((8, 16),)), **profiles(c)},
}


def features(canvas: np.ndarray, families: Iterable[str] = tuple(FAMILIES), batch: int = 64, log=None) -> dict:
    """{feature key: (N, D) float32} for every block of the named families, in batches."""
    canvas = np.asarray(canvas)
    parts: dict[str, list] = {}
    for s in range(0, len(canvas), batch):
        for fam in families:
            for k, v in FAMILIES[fam](canvas[s:s + batch]).items():
                parts.setdefault(k, []).append(v.astype(np.float32))
        if log and (s // batch) % 20 == 0:
            log(f"{s + batch}/{len(canvas)}")
    return {k: np.concatenate(v) for k, v in parts.items()}


__all__ = ["FAMILIES", "LBP_BINS", "features", "grid_mean", "ink_density", "lbp_codes", "lbp_histograms",
           "oriented_energy", "oriented_maps", "orientations", "profiles"]
