"""Heatmap quality against ground-truth region masks (e.g. the seal generator's defect masks).

Two numbers per image, both on the heatmap the app shows (``InspectionResult.heatmap_image()``: float32 in
[0, 1] at the image's own size) and the mask at the same size (non-zero = inside the region):

- **Pointing game** (Zhang et al., "Top-down neural attention by excitation backprop", 2016): a hit
  when the heatmap's peak (its highest pixel; the first in row-major order when several tie) lies
  inside the mask or within ``tolerance_px`` pixels of it (Euclidean distance to the nearest mask
  pixel). The score is the fraction of images that hit. A heatmap that is zero everywhere has no
  peak and counts as a miss.
- **Mass inside the mask**: ``sum(heatmap * inside) / sum(heatmap)``, the share of the heatmap's
  energy on the region (0 for an all-zero heatmap). Its chance level is the mask's area fraction
  (a uniform heatmap puts exactly that share inside), reported next to it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def _fit_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask at ``shape`` (nearest-neighbour when the sizes differ)."""
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m.max(axis=2)
    inside = m > 0
    if inside.shape != tuple(shape):
        h, w = shape
        ys = np.minimum((np.arange(h) + 0.5) * inside.shape[0] / h, inside.shape[0] - 1).astype(int)
        xs = np.minimum((np.arange(w) + 0.5) * inside.shape[1] / w, inside.shape[1] - 1).astype(int)
        inside = inside[np.ix_(ys, xs)]
    return inside


def peak(heatmap: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the highest pixel (first in row-major order on ties); None if all zero."""
    h = np.asarray(heatmap, dtype=np.float64)
    if h.size == 0 or not np.isfinite(h).all() or h.max() <= 0:
        return None
    r, c = np.unravel_index(int(np.argmax(h)), h.shape)
    return int(r), int(c)


def distance_to_mask(point: tuple[int, int], inside: np.ndarray) -> float:
    """Euclidean distance in pixels from ``point`` (row, col) to the nearest pixel of ``inside``
    (0 inside it; inf for an empty mask)."""
    rows, cols = np.nonzero(inside)
    if len(rows) == 0:
        return float("inf")
    return float(np.sqrt(np.min((rows - point[0]) ** 2 + (cols - point[1]) ** 2)))


def pointing_hit(heatmap: np.ndarray, mask: np.ndarray, tolerance_px: float = 0.0) -> bool:
    """Whether the heatmap's peak is inside ``mask`` or within ``tolerance_px`` of it."""
    h = np.asarray(heatmap)
    p = peak(h)
    if p is None:
        return False
    return distance_to_mask(p, _fit_mask(mask, h.shape[:2])) <= float(tolerance_px)


def mass_inside(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heatmap's total on the mask (0 for an all-zero heatmap)."""
    h = np.clip(np.asarray(heatmap, dtype=np.float64), 0.0, None)
    total = h.sum()
    if total <= 0 or not np.isfinite(total):
        return 0.0
    return float(h[_fit_mask(mask, h.shape[:2])].sum() / total)


def area_fraction(mask: np.ndarray) -> float:
    m = np.asarray(mask)
    return float(np.mean((m.max(axis=2) if m.ndim == 3 else m) > 0))


def image_scores(heatmap: np.ndarray, mask: np.ndarray, tolerance_px: float) -> dict:
    """Per-image numbers: hit (at the tolerance), hit_exact (tolerance 0), distance of the peak to
    the mask, mass inside, mask area fraction."""
    h = np.asarray(heatmap)
    inside = _fit_mask(mask, h.shape[:2])
    p = peak(h)
    dist = float("inf") if p is None else distance_to_mask(p, inside)
    return {"hit": dist <= tolerance_px, "hit_exact": dist <= 0.0, "peak_distance_px": dist,
            "mass_inside": mass_inside(h, inside), "area_fraction": float(inside.mean()),
            "peak": p}


def summarise(rows: Sequence[dict], tolerance_px: float) -> dict:
    """Aggregate :func:`image_scores` rows: pointing game, exact pointing game, mean and median mass
    inside, mean mask area (the chance level of the mass), and their ratio."""
    n = len(rows)
    if n == 0:
        return {"n": 0, "tolerance_px": tolerance_px, "pointing_game": None, "pointing_game_exact": None,
                "mass_inside_mean": None, "mass_inside_median": None, "mask_area_mean": None, "mass_lift": None,
                "hits": 0, "empty_heatmaps": 0}
    mass = np.array([r["mass_inside"] for r in rows], float)
    area = np.array([r["area_fraction"] for r in rows], float)
    hits = int(sum(bool(r["hit"]) for r in rows))
    dist = np.array([r["peak_distance_px"] for r in rows], float)
    return {
        "n": n, "tolerance_px": float(tolerance_px), "hits": hits,
        "pointing_game": hits / n,
        "pointing_game_exact": float(np.mean([bool(r["hit_exact"]) for r in rows])),
        "mass_inside_mean": float(mass.mean()), "mass_inside_median": float(np.median(mass)),
        "mask_area_mean": float(area.mean()),
        "mass_lift": float(mass.mean() / area.mean()) if area.mean() > 0 else None,
        "peak_distance_median_px": float(np.median(dist)) if np.isfinite(dist).any() else None,
        "empty_heatmaps": int(sum(r["peak"] is None for r in rows)),
    }


def grouped(rows: Sequence[dict], keys: Iterable[str | None], tolerance_px: float) -> dict[str, dict]:
    """:func:`summarise` per key value (e.g. per defect type); rows with key None are left out."""
    by: dict[str, list[dict]] = {}
    for r, k in zip(rows, keys):
        if k not in (None, ""):
            by.setdefault(str(k), []).append(r)
    return {k: summarise(v, tolerance_px) for k, v in sorted(by.items())}


def overlay(rgb: np.ndarray, heatmap: np.ndarray, mask: np.ndarray | None = None,
            point: tuple[int, int] | None = None, alpha: float = 0.45) -> np.ndarray:
    """The image with the heatmap blended in as the app draws it (:func:`inference.heatmap.overlay`),
    the mask outlined in white and the peak marked with a cross."""
    import cv2

    from inference.heatmap import overlay as app_overlay

    h = np.asarray(heatmap, np.float32)
    out = np.ascontiguousarray(app_overlay(np.asarray(rgb, np.uint8), h, opacity=alpha + 0.2))
    if mask is not None:
        inside = _fit_mask(mask, h.shape[:2]).astype(np.uint8)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.drawContours(out, contours, -1, (255, 255, 255), 1, cv2.LINE_AA)
    if point is not None:
        r, c = point
        size = max(4, min(h.shape[:2]) // 24)
        cv2.drawMarker(out, (int(c), int(r)), (0, 0, 0), cv2.MARKER_CROSS, size + 2, 3)
        cv2.drawMarker(out, (int(c), int(r)), (255, 255, 255), cv2.MARKER_CROSS, size, 1)
    return out


def examples_sheet(items: Sequence[tuple[np.ndarray, str]], path, cols: int = 4, thumb: int = 224):
    """A grid of overlays (RGB arrays) with one caption line each; written as PNG to ``path``."""
    import cv2

    if not items:
        return None
    cap = 22
    rows = (len(items) + cols - 1) // cols
    pad = 4
    sheet = np.full((rows * (thumb + cap + pad) + pad, cols * (thumb + pad) + pad, 3), 30, np.uint8)
    for k, (img, caption) in enumerate(items):
        r, c = divmod(k, cols)
        y, x = pad + r * (thumb + cap + pad), pad + c * (thumb + pad)
        sheet[y:y + thumb, x:x + thumb] = cv2.resize(img, (thumb, thumb), interpolation=cv2.INTER_AREA)
        cv2.putText(sheet, caption[:40], (x + 4, y + thumb + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (230, 230, 230), 1, cv2.LINE_AA)
    from pathlib import Path

    return save_sheet_png(path, sheet)


def save_sheet_png(path, rgb: np.ndarray):
    """A card's picture sheet (RGB uint8) written as a 256-colour PNG: these sheets ship inside every
    bundle, and a palette PNG of photo thumbnails and heatmaps is about a third of the size of a
    true-colour one (seal-integrity's two sheets: 2.2 MB -> 0.67 MB) with no visible loss at their size."""
    from pathlib import Path

    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    try:
        img.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, format="PNG", optimize=True)
    except OSError as exc:
        raise RuntimeError(f"could not write {path}: {exc}") from exc
    return path
