"""Register a query signature onto a reference before overlaying them (numpy + Pillow only).

Two normalised signatures of the same hand differ by a shift, a scale and a small rotation on the
canvas (the crop to the ink's box and the aspect-preserving resize do not cancel these). Drawing
them on top of each other unregistered shows red and green strokes side by side even for a genuine
match. :func:`register` finds the similarity transform that maximises the overlap of the two inks:

1. a coarse search on quarter-resolution, slightly dilated inks: for each scale (around the ratio of
   the two inks' radii of gyration) and each small rotation, the query is warped about its centroid
   onto the reference's centroid and the best translation is read off an FFT cross-correlation
   (phase-free: plain correlation of the ink maps, normalised by their energies);
2. the best (scale, rotation) is redone at full resolution, translation again by FFT.

:func:`overlay` then paints the registered pair: **yellow** where a stroke of one has ink of the
other within ``tolerance`` pixels, **red** reference-only strokes, **green** query-only strokes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from inference.signature.overlay import GREEN, RED, WHITE, YELLOW, pose
from inference.signature.preprocess import dilate

SCALE_STEPS = (0.8, 0.87, 0.93, 1.0, 1.07, 1.15, 1.25)   # × the radius-of-gyration ratio
ANGLES_DEG = (-8.0, -4.0, 0.0, 4.0, 8.0)
MAX_SHIFT = 0.25   # of the canvas side: larger shifts are not searched
COARSE = 4         # the coarse search runs on inks pooled by COARSE x COARSE blocks


@dataclass(frozen=True)
class Registration:
    """The transform that maps the query onto the reference, and the registered query ink."""

    scale: float          # query → reference
    angle_deg: float
    shift: tuple[float, float]  # (dy, dx) in canvas pixels, after centring on the reference
    score: float          # normalised correlation of the (dilated) inks at the optimum, in [0, 1]
    aligned: np.ndarray   # bool (H, W): the query's ink on the reference's canvas

    def as_dict(self) -> dict[str, float]:
        return {"scale": round(self.scale, 4), "angle_deg": round(self.angle_deg, 2),
                "shift_y": round(self.shift[0], 2), "shift_x": round(self.shift[1], 2),
                "match": round(self.score, 4)}


def _warp(img: np.ndarray, src_c: tuple[float, float], dst_c: tuple[float, float], scale: float,
          angle_deg: float, resample) -> np.ndarray:
    """Warp ``img`` (float32 or uint8) so that a point p goes to dst_c + s·R(θ)·(p − src_c)."""
    h, w = img.shape
    th = np.deg2rad(angle_deg)
    c, s = np.cos(th) / scale, np.sin(th) / scale
    # inverse map: p = src_c + R(−θ)/s · (q − dst_c), in (x, y) coordinates as Pillow wants
    (sy, sx), (dy, dx) = src_c, dst_c
    a, b = c, s
    d, e = -s, c
    coeffs = (a, b, sx - a * dx - b * dy, d, e, sy - d * dx - e * dy)
    mode_img = Image.fromarray(img)
    return np.asarray(mode_img.transform((w, h), Image.Transform.AFFINE, coeffs, resample=resample, fillcolor=0))


def _shift_of(q: np.ndarray, r: np.ndarray, max_shift: int) -> tuple[int, int, float]:
    """Integer (dy, dx) that best aligns ``q`` onto ``r`` (circular cross-correlation), and its
    correlation normalised by the two maps' energies."""
    (best,) = _shifts_of(q[None], np.fft.rfft2(r), np.sum(r * r), max_shift)
    return best


def _shifts_of(qs: np.ndarray, fr: np.ndarray, r_energy: np.floating, max_shift: int) -> list[tuple[int, int, float]]:
    """:func:`_shift_of` for a stack of maps ``qs`` (K, H, W) against one reference given by its
    ``rfft2`` and energy: one FFT call each way for the whole stack (each slice is transformed
    exactly as on its own), the reference's transform made once by the caller."""
    k, h, w = qs.shape
    corr = np.fft.irfft2(fr[None] * np.conj(np.fft.rfft2(qs)), s=(h, w))
    ys = np.r_[0:max_shift + 1, h - max_shift:h]
    xs = np.r_[0:max_shift + 1, w - max_shift:w]
    sub = corr[:, ys[:, None], xs[None, :]].reshape(k, -1)
    at = np.argmax(sub, axis=1)
    peak = sub[np.arange(k), at]
    i, j = np.unravel_index(at, (len(ys), len(xs)))
    dys, dxs = ys[i], xs[j]
    dys = np.where(dys > h // 2, dys - h, dys)
    dxs = np.where(dxs > w // 2, dxs - w, dxs)
    out = []
    for q, dy, dx, c in zip(qs, dys.tolist(), dxs.tolist(), peak):
        # numpy scalars as in the one-map form, so every score is the same float to the last bit
        den = float(np.sqrt(np.sum(q * q) * r_energy))
        out.append((int(dy), int(dx), float(c / den) if den > 0 else 0.0))
    return out


def _down(mask: np.ndarray, f: int) -> np.ndarray:
    """Any-ink pooling by ``f`` × ``f`` blocks."""
    h, w = mask.shape
    m = mask[: h - h % f, : w - w % f]
    return m.reshape(h // f, f, w // f, f).any(axis=(1, 3))


@dataclass(frozen=True, eq=False)
class Target:
    """The reference's side of a registration, made once per reference (:func:`target`) and reused
    for every query registered onto it: its pose, and its coarse and full-resolution dilated inks
    with their Fourier transforms and energies."""

    mask: np.ndarray
    tolerance: int
    pose: Any
    coarse_fft: np.ndarray
    coarse_energy: np.floating
    fine_fft: np.ndarray
    fine_energy: np.floating


def target(reference: np.ndarray, tolerance: int = 2) -> Target:
    """The :class:`Target` of a reference ink mask."""
    r = np.asarray(reference, bool)
    rh = dilate(_down(r, COARSE), 1).astype(np.float32)
    rd = dilate(r, tolerance).astype(np.float32)
    return Target(r, tolerance, pose(r), np.fft.rfft2(rh), np.sum(rh * rh), np.fft.rfft2(rd), np.sum(rd * rd))


def register(query: np.ndarray, reference: np.ndarray | Target, *, tolerance: int = 2) -> Registration:
    """Find scale, rotation and shift that put the query's ink onto the reference's (same canvas size).

    ``reference``: its ink mask, or its :class:`Target` (made by :func:`target` once per reference;
    ``tolerance`` is then the target's). The coarse grid (every scale × angle) is warped candidate
    by candidate, then correlated with the reference in one batched FFT; the reference's transforms
    are made once, not per candidate (the same numbers as one FFT per candidate, a test pins it).
    """
    t = reference if isinstance(reference, Target) else target(reference, tolerance)
    q = np.asarray(query, bool)
    if q.shape != t.mask.shape:
        raise ValueError(f"query and reference canvases differ in size ({q.shape} vs {t.mask.shape})")
    pq, pr = pose(q), t.pose
    s0 = pr.scale / pq.scale
    # coarse: quarter resolution, inks dilated so near-misses still correlate
    f = COARSE
    qh = dilate(_down(q, f), 1).astype(np.float32)
    src = (pq.cy / f, pq.cx / f)
    dst = (pr.cy / f, pr.cx / f)
    max_shift = max(2, int(MAX_SHIFT * min(qh.shape)))
    grid = [(s0 * k, ang) for k in SCALE_STEPS for ang in ANGLES_DEG]
    warped = np.stack([_warp(qh, src, dst, s, ang, Image.Resampling.BILINEAR) for s, ang in grid])
    found = _shifts_of(warped, t.coarse_fft, t.coarse_energy, max_shift)
    best = (-1.0, 1.0, 0.0)
    for (s, ang), (_, _, c) in zip(grid, found):
        if c > best[0]:
            best = (c, s, ang)
    _, scale, ang = best
    # fine: full resolution at the chosen scale and rotation
    qd = dilate(q, t.tolerance).astype(np.float32)
    warped = _warp(qd, (pq.cy, pq.cx), (pr.cy, pr.cx), scale, ang, Image.Resampling.BILINEAR)
    ((dy, dx, c),) = _shifts_of(warped[None], t.fine_fft, t.fine_energy, f * max_shift)
    ink = _warp(q.astype(np.uint8) * 255, (pq.cy, pq.cx), (pr.cy + dy, pr.cx + dx), scale, ang,
                Image.Resampling.BILINEAR) >= 128
    return Registration(float(scale), float(ang), (float(dy), float(dx)), float(min(max(c, 0.0), 1.0)), ink)


@dataclass(frozen=True)
class OverlayStats:
    """Pixel counts of a registered overlay and its agreement scores."""

    red: int       # reference ink with no query ink within the tolerance
    green: int     # query ink with no reference ink within the tolerance
    yellow: int    # ink of either with ink of the other within the tolerance
    iou: float     # exact IoU of the two inks (no tolerance)
    matched: float  # yellow share of all drawn ink: the "mostly yellow" number

    def as_dict(self) -> dict[str, float]:
        return {"red": self.red, "green": self.green, "yellow": self.yellow, "iou": round(self.iou, 6),
                "matched": round(self.matched, 6)}


def overlay(aligned_query: np.ndarray, reference: np.ndarray, tolerance: int = 2) -> tuple[np.ndarray, OverlayStats]:
    """RGB uint8 picture of a registered pair (yellow agree, red reference only, green query only)."""
    q = np.asarray(aligned_query, bool)
    r = np.asarray(reference, bool)
    qd, rd = dilate(q, tolerance), dilate(r, tolerance)
    yellow = (q & rd) | (r & qd)
    red = r & ~qd
    green = q & ~rd
    out = np.empty((*r.shape, 3), np.uint8)
    out[:] = WHITE
    out[green] = GREEN
    out[red] = RED
    out[yellow] = YELLOW
    ny, nr, ng = int(yellow.sum()), int(red.sum()), int(green.sum())
    union = int((q | r).sum())
    stats = OverlayStats(nr, ng, ny, float((q & r).sum()) / union if union else 0.0,
                         ny / (ny + nr + ng) if (ny + nr + ng) else 0.0)
    return out, stats


__all__ = ["OverlayStats", "Registration", "Target", "overlay", "register", "target"]
