"""Text detection: the PP-OCR DB detector's input and its probability map turned into boxes.

DB ("differentiable binarisation") predicts, per pixel, the probability that it lies inside a
text line. The boxes are what is left after thresholding that map: connected regions, each
wrapped in its smallest rotated rectangle, kept when the region is confident enough, then grown
("unclipped") because the model is trained on shrunk text kernels. All of it is numpy: the app
ships no OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# PP-OCR's own post-processing settings (rapidocr-onnxruntime config.yaml), unchanged.
BIN_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
MIN_SIDE = 3
MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class DetectorInput:
    """The detector's tensor and how to map its pixels back to the photo's."""

    tensor: np.ndarray  # (1, 3, H, W) float32, BGR, normalised to [-1, 1]
    scale_x: float  # photo pixels per map pixel
    scale_y: float


def prepare(rgb: np.ndarray, long_side: int) -> DetectorInput:
    """Resize ``rgb`` so its long side is about ``long_side`` (both sides multiples of 32, as the
    network needs) and normalise it the way PP-OCR was trained (BGR, (x/255 - 0.5) / 0.5)."""
    h, w = rgb.shape[:2]
    # Big photos are shrunk to ``long_side``; small ones are read at their own size.
    ratio = min(long_side, max(h, w)) / max(h, w)
    new_w = max(32, int(round(w * ratio / 32)) * 32)
    new_h = max(32, int(round(h * ratio / 32)) * 32)
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if image.width > 2 * new_w and image.height > 2 * new_h:
        # A 12-MP photo: shrink by an integer factor first (box filter, cheap), then resample.
        factor = min(image.width // new_w, image.height // new_h)
        image = image.reduce(factor)
    small = np.asarray(image.resize((new_w, new_h), Image.Resampling.BILINEAR), dtype=np.float32)
    tensor = (small[:, :, ::-1] * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)[None]
    return DetectorInput(np.ascontiguousarray(tensor, dtype=np.float32), w / new_w, h / new_h)


# -- connected regions, from the runs of "text" pixels on each row ------------------------------------
def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every horizontal run of True pixels: (row, start, end-exclusive), row-major order."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    rows, starts = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)
    return rows, starts, ends


def label_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label the 8-connected regions of ``mask``. Returns the runs (row, start, end) and each run's
    region number (0..n-1).

    Runs on consecutive rows touch when their column ranges overlap or meet diagonally; a
    union-find over runs (a few thousand on a text map) is far cheaper than over pixels.
    """
    rows, starts, ends = _runs(mask)
    n = len(rows)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
        for r in range(mask.shape[0] - 1):
            a0, a1 = row_first[r], row_first[r + 1]
            b0, b1 = row_first[r + 1], row_first[r + 2]
            if a0 == a1 or b0 == b1:
                continue
            i, j = a0, b0
            while i < a1 and j < b1:
                # 8-connectivity: [s, e) and [s2, e2) touch when s <= e2 and s2 <= e.
                if starts[i] <= ends[j] and starts[j] <= ends[i]:
                    ri, rj = find(i), find(int(j))
                    if ri != rj:
                        parent[max(ri, rj)] = min(ri, rj)
                if ends[i] < ends[j]:
                    i += 1
                else:
                    j += 1
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    return rows, starts, ends, labels.reshape(-1)


# -- geometry ---------------------------------------------------------------------------------------
def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain; ``points`` (N, 2) float. Returns the hull counter-clockwise."""
    pts = np.unique(points, axis=0)
    if len(pts) <= 2:
        return pts
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]

    def half(seq: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for p in seq:
            while len(out) >= 2:
                o, a = out[-2], out[-1]
                if (a[0] - o[0]) * (p[1] - o[1]) - (a[1] - o[1]) * (p[0] - o[0]) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The smallest rotated rectangle around ``points``: (4 corners, width along its first edge,
    height). One of its sides lies on a hull edge, so only those angles are tried."""
    hull = convex_hull(points.astype(np.float64))
    if len(hull) < 3:
        lo, hi = points.min(axis=0), points.max(axis=0)
        corners = np.array([lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]], dtype=np.float64)
        return corners, float(hi[0] - lo[0]), float(hi[1] - lo[1])
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    cos, sin = np.cos(angles), np.sin(angles)
    # Project the hull on each candidate orientation: (n_angles, n_points).
    u = hull[:, 0][None] * cos[:, None] + hull[:, 1][None] * sin[:, None]
    v = -hull[:, 0][None] * sin[:, None] + hull[:, 1][None] * cos[:, None]
    areas = (u.max(1) - u.min(1)) * (v.max(1) - v.min(1))
    k = int(np.argmin(areas))
    u0, u1, v0, v1 = u[k].min(), u[k].max(), v[k].min(), v[k].max()
    c, s = cos[k], sin[k]
    corners = np.array([[uu * c - vv * s, uu * s + vv * c] for uu, vv in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])
    return corners, float(u1 - u0), float(v1 - v0)


def order_corners(box: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (the reading order of a line)."""
    by_x = box[np.argsort(box[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def expand_rect(corners: np.ndarray, width: float, height: float, ratio: float) -> np.ndarray:
    """Grow a rectangle on every side by ``area * ratio / perimeter`` (PP-OCR's "unclip", which for
    a rectangle is exactly this offset)."""
    distance = width * height * ratio / max(1e-6, 2 * (width + height))
    centre = corners.mean(axis=0)
    e1 = corners[1] - corners[0]
    e2 = corners[3] - corners[0]
    e1 = e1 / max(1e-6, np.linalg.norm(e1))
    e2 = e2 / max(1e-6, np.linalg.norm(e2))
    half_w, half_h = width / 2 + distance, height / 2 + distance
    return np.array([centre - e1 * half_w - e2 * half_h, centre + e1 * half_w - e2 * half_h,
                     centre + e1 * half_w + e2 * half_h, centre - e1 * half_w + e2 * half_h])


def boxes_from_map(prob: np.ndarray, *, scale_x: float = 1.0, scale_y: float = 1.0,
                   image_size: tuple[int, int] | None = None) -> list[tuple[np.ndarray, float]]:
    """Text boxes (4 corners in photo pixels, TL TR BR BL) and their scores from a DB map (H, W)."""
    mask = prob > BIN_THRESHOLD
    # PP-OCR dilates the binary map with a 2x2 kernel before looking for regions.
    mask[1:, :] |= mask[:-1, :].copy()
    mask[:, 1:] |= mask[:, :-1].copy()
    rows, starts, ends, labels = label_runs(mask)
    if len(rows) == 0:
        return []
    # Sum of probabilities on each run, from a cumulative sum along the rows.
    cum = np.zeros((prob.shape[0], prob.shape[1] + 1), dtype=np.float64)
    np.cumsum(prob, axis=1, out=cum[:, 1:])
    run_sum = cum[rows, ends] - cum[rows, starts]
    run_len = (ends - starts).astype(np.float64)
    n = int(labels.max()) + 1
    sums = np.bincount(labels, weights=run_sum, minlength=n)
    counts = np.bincount(labels, weights=run_len, minlength=n)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    out: list[tuple[np.ndarray, float]] = []
    width_px, height_px = image_size if image_size is not None else (prob.shape[1] * scale_x, prob.shape[0] * scale_y)
    for k in np.argsort(-counts)[:MAX_CANDIDATES]:
        if counts[k] < 4:
            continue
        score = float(sums[k] / counts[k])
        if score < BOX_THRESHOLD:
            continue
        idx = order[bounds[k]:bounds[k + 1]]
        r = rows[idx].astype(np.float64)
        # A run covers pixels [start, end): its outer corners bound the region exactly.
        pts = np.concatenate([np.stack([starts[idx], r], 1), np.stack([ends[idx], r], 1),
                              np.stack([starts[idx], r + 1], 1), np.stack([ends[idx], r + 1], 1)]).astype(np.float64)
        corners, w, h = min_area_rect(pts)
        if min(w, h) < MIN_SIDE:
            continue
        grown = expand_rect(corners, w, h, UNCLIP_RATIO)
        side_a = np.linalg.norm(grown[1] - grown[0])
        side_b = np.linalg.norm(grown[3] - grown[0])
        if min(side_a, side_b) < MIN_SIDE + 2:
            continue
        grown[:, 0] = np.clip(grown[:, 0] * scale_x, 0, width_px - 1)
        grown[:, 1] = np.clip(grown[:, 1] * scale_y, 0, height_px - 1)
        box = order_corners(grown)
        if np.linalg.norm(box[1] - box[0]) <= 3 or np.linalg.norm(box[3] - box[0]) <= 3:
            continue
        out.append((box, score))
    return out
