"""Signature normalisation in numpy: the same code runs in the app and in training.

Scans of genuine and forged CEDAR signatures differ in paper brightness and ink contrast, so every
image is first reduced to *ink on a clean background* (see ``models/signature-verify/CARD.md``):

1. grayscale, shrunk so the longer side is at most :data:`MAX_WORKING_SIDE` (phone photos);
2. noise removal (optional): a 3×3 median filter before thresholding;
3. binarisation: Otsu's threshold on the histogram (ink = pixels at or below it);
4. noise removal (optional): connected ink components smaller than ``min_component_px`` removed;
5. ROI (optional): crop to the bounding box of the remaining ink;
6. an aspect-preserving resize onto a fixed canvas, centred, with a margin;
7. skeletonisation (optional): Zhang–Suen thinning to 1 px, redrawn at a fixed stroke width, so the
   pen (and the scanner's contrast, which changes how thick Otsu's strokes come out) no longer
   matters, only the shape.

With ``binarize`` off the canvas keeps the scanned grey values, background included: that is the
"trap" setting the ablation table measures, not something to ship.

Everything here is numpy (+ Pillow for resizing); OpenCV/scikit-image are training-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

import numpy as np
from PIL import Image, ImageFilter

from inference.errors import ImageReadError

MAX_WORKING_SIDE = 1200  # CEDAR scans are at most 888 px wide; larger inputs are shrunk first


class NoInkError(ImageReadError):
    """The image holds no signature-like ink after normalisation (blank, or all background)."""


@dataclass(frozen=True)
class PreprocessOptions:
    """Every preprocessing switch; the pack's manifest (``verify.preprocess``) stores these."""

    denoise: bool = True          # median filter + small-component removal
    median_size: int = 3          # odd window of the median filter
    min_component_px: int = 12    # ink components smaller than this (at working resolution) are noise
    binarize: bool = True         # Otsu + background normalisation (False = keep scanned greys: the trap)
    roi: bool = True              # crop to the ink's bounding box
    skeletonize: bool = False     # Zhang–Suen thinning on the canvas, redrawn at ``stroke_width``
    stroke_width: int = 3         # stroke width (px on the canvas) of the redrawn skeleton
    canvas_height: int = 224
    canvas_width: int = 224
    margin: int = 8               # blank border kept around the signature on the canvas
    ink_level: float = 0.4        # canvas coverage above which a canvas pixel counts as ink

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> "PreprocessOptions":
        """Build from a dict (config or manifest), ignoring unknown keys; ``canvas: [h, w]`` allowed."""
        if not data:
            return cls()
        data = dict(data)
        if "canvas" in data:
            h, w = data.pop("canvas")
            data["canvas_height"], data["canvas_width"] = int(h), int(w)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> "PreprocessOptions":
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class NormalizedSignature:
    """A normalised signature.

    - ``canvas``: uint8 (H, W), dark ink on white (255) — what the CNN and GLCM see;
    - ``mask``: bool (H, W), the ink on the canvas (the redrawn skeleton when skeletonising);
    - ``skeleton``: bool (H, W) 1-px skeleton of the canvas ink (the pair features' shape and overlay
      blocks use it); None when :func:`normalize` was asked for none and did not skeletonise;
    - ``threshold``: Otsu threshold on the working-resolution grey image;
    - ``bbox``: (x, y, w, h) of the ink in the input image's pixels;
    - ``ink_fraction``: share of the input image that is ink (after noise removal);
    - ``canvas_box``: (x, y, w, h) on the canvas where ``bbox`` was drawn (maps heatmaps back).
    """

    canvas: np.ndarray
    mask: np.ndarray
    skeleton: np.ndarray | None
    threshold: int
    bbox: tuple[int, int, int, int]
    ink_fraction: float
    options: PreprocessOptions
    notes: tuple[str, ...] = field(default=())
    canvas_box: tuple[int, int, int, int] | None = None  # where the bbox landed on the canvas (x, y, w, h)

    def rgb(self) -> np.ndarray:
        """The canvas as RGB uint8 (H, W, 3) for a CNN."""
        return np.repeat(self.canvas[:, :, None], 3, axis=2)


# -- grey conversion -------------------------------------------------------------------------------
def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) or grey (H, W) array → uint8 grey (ITU-R 601 luma, as Pillow's "L")."""
    image = np.asarray(image)
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        rgb = image[:, :, :3].astype(np.float32)
        gray = rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
    elif image.ndim == 3 and image.shape[2] == 1:
        gray = image[:, :, 0]
    else:
        raise ImageReadError(f"expected a grey or RGB image, got an array of shape {image.shape}")
    if gray.dtype != np.uint8:
        gray = np.clip(np.round(gray), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(gray)


def shrink_to(gray: np.ndarray, max_side: int = MAX_WORKING_SIDE) -> np.ndarray:
    """Downscale (box filter) so the longer side is at most ``max_side``; smaller images are kept."""
    h, w = gray.shape
    side = max(h, w)
    if side <= max_side:
        return gray
    scale = max_side / side
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX))


# -- filters ---------------------------------------------------------------------------------------
def median_filter(gray: np.ndarray, size: int = 3) -> np.ndarray:
    """``size``×``size`` median filter (``size`` odd), Pillow's C implementation.

    Identical to ``scipy.ndimage.median_filter(gray, size)`` away from the border; Pillow treats
    the border slightly differently (checked in the tests on the interior).
    """
    if size <= 1:
        return gray
    if size % 2 == 0:
        raise ValueError("median_size must be odd")
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    if size == 3:
        return _median3(gray)
    return np.asarray(Image.fromarray(gray).filter(ImageFilter.MedianFilter(size)))


def _median3(gray: np.ndarray) -> np.ndarray:
    """3×3 median as a sorting network over the nine shifted views (Devillard's ``opt_med9``, 19
    min/max exchanges pruned to those the median needs), edges replicated as Pillow does: the
    same pixels as Pillow's rank filter, about 10× faster (Pillow sorts every window; here each
    exchange is one vectorised numpy call). It is the largest single cost of a ``verify`` query."""
    h, w = gray.shape
    p = np.pad(gray, 1, mode="edge")
    v = [p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]
    mn, mx = np.minimum, np.maximum
    for a, b in ((1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8)):
        v[a], v[b] = mn(v[a], v[b]), mx(v[a], v[b])
    v[3], v[5] = mx(v[0], v[3]), mn(v[5], v[8])
    v[4], v[7] = mn(v[4], v[7]), mx(v[4], v[7])
    v[6], v[4], v[2] = mx(v[3], v[6]), mx(v[1], v[4]), mn(v[2], v[5])
    v[4] = mn(v[4], v[7])
    v[4], v[2] = mn(v[4], v[2]), mx(v[4], v[2])
    return mn(mx(v[6], v[4]), v[2])


def otsu_threshold(gray: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image: ink (dark class) is ``gray <= threshold``.

    Same rule as ``skimage.filters.threshold_otsu`` on uint8 input (bins of width 1 between the
    image's minimum and maximum, threshold = the last value of the dark class).
    """
    gray = np.asarray(gray, dtype=np.uint8)
    lo, hi = int(gray.min()), int(gray.max())
    if lo == hi:
        return lo
    hist = np.bincount(gray.ravel(), minlength=256)[lo:hi + 1].astype(np.float64)
    values = np.arange(lo, hi + 1, dtype=np.float64)
    w1 = np.cumsum(hist)
    w2 = np.cumsum(hist[::-1])[::-1]
    m1 = np.cumsum(hist * values) / np.maximum(w1, 1e-12)
    m2 = (np.cumsum((hist * values)[::-1]) / np.maximum(np.cumsum(hist[::-1]), 1e-12))[::-1]
    between = w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2
    return int(values[int(np.argmax(between))])


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of True: (row, start, end-exclusive), sorted by row then start."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)  # (h, w + 1)
    rows_s, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    return rows_s, starts, ends


def component_sizes(mask: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """8-connected components of ``mask`` by run-length union-find (vectorised).

    Returns the runs, the component id of every run, and each component's pixel count (indexed by
    component id).
    """
    rows, starts, ends = _runs(mask)
    n = len(rows)
    if n == 0:
        return (rows, starts, ends), np.zeros(0, np.int64), np.zeros(0, np.int64)
    stride = mask.shape[1] + 4
    key_start = rows.astype(np.int64) * stride + starts
    key_end = rows.astype(np.int64) * stride + ends
    # For every run b in row r+1, runs a in row r touch it (8-connectivity) iff
    # a.end >= b.start and a.start <= b.end (ends exclusive).
    prev = (rows.astype(np.int64) - 1) * stride
    lo = np.searchsorted(key_end, prev + starts, side="left")
    hi = np.searchsorted(key_start, prev + ends, side="right")
    counts = np.maximum(hi - lo, 0)
    b_idx = np.repeat(np.arange(n), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a_idx = np.repeat(lo, counts) + offsets
    keep = rows[a_idx] == rows[b_idx] - 1
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    labels = np.arange(n)
    if len(a_idx):
        while True:
            m = np.minimum(labels[a_idx], labels[b_idx])
            new = labels.copy()
            np.minimum.at(new, a_idx, m)
            np.minimum.at(new, b_idx, m)
            # pointer jumping until every run points at a root
            while True:
                jumped = new[new]
                if np.array_equal(jumped, new):
                    break
                new = jumped
            if np.array_equal(new, labels):
                break
            labels = new
    _, comp = np.unique(labels, return_inverse=True)
    sizes = np.bincount(comp, weights=(ends - starts)).astype(np.int64)
    return (rows, starts, ends), comp, sizes


def _paint_runs(shape: tuple[int, int], rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    h, w = shape
    acc = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(acc, (rows, starts), 1)
    np.add.at(acc, (rows, ends), -1)
    return np.cumsum(acc, axis=1)[:, :w] > 0


def remove_small_components(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_size`` pixels."""
    mask = np.asarray(mask, dtype=bool)
    if min_size <= 1 or not mask.any():
        return mask
    (rows, starts, ends), comp, sizes = component_sizes(mask)
    keep = sizes[comp] >= min_size
    return _paint_runs(mask.shape, rows[keep], starts[keep], ends[keep])


def ink_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the True pixels, or None when there are none."""
    ys = np.flatnonzero(mask.any(axis=1))
    if len(ys) == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)


# -- morphology ------------------------------------------------------------------------------------
def _neighbours(img: np.ndarray) -> list[np.ndarray]:
    """P2..P9 (clockwise from north) of the interior of a 1-padded uint8 image."""
    return [img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:],
            img[2:, 1:-1], img[2:, :-2], img[1:-1, :-2], img[:-2, :-2]]


def zhang_suen(mask: np.ndarray, max_iterations: int = 200) -> np.ndarray:
    """Zhang–Suen thinning (1984) of a binary image: a 1-px wide, 8-connected skeleton."""
    img = np.pad(np.asarray(mask, dtype=bool).astype(np.uint8), 1)
    for _ in range(max_iterations):
        changed = False
        for step in (0, 1):
            p2, p3, p4, p5, p6, p7, p8, p9 = _neighbours(img)
            centre = img[1:-1, 1:-1]
            b = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
            seq = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            a = sum(((seq[i] == 0) & (seq[i + 1] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                cond = ((p2 * p4 * p6) == 0) & ((p4 * p6 * p8) == 0)
            else:
                cond = ((p2 * p4 * p8) == 0) & ((p2 * p6 * p8) == 0)
            remove = (centre == 1) & (b >= 2) & (b <= 6) & (a == 1) & cond
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)² square (separable max filter)."""
    mask = np.asarray(mask, dtype=bool)
    if radius <= 0:
        return mask
    h, w = mask.shape
    row = np.pad(mask, ((0, 0), (radius, radius)))
    out = np.zeros_like(mask)
    for dx in range(2 * radius + 1):
        out |= row[:, dx:dx + w]
    col = np.pad(out, ((radius, radius), (0, 0)))
    res = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        res |= col[dy:dy + h, :]
    return res


def dilate_disk(mask: np.ndarray, width: int) -> np.ndarray:
    """Redraw a 1-px skeleton at ``width`` px: dilation by a disk of diameter ``width``."""
    mask = np.asarray(mask, dtype=bool)
    if width <= 1:
        return mask
    r = (width - 1) / 2.0
    ri = int(np.ceil(r))
    h, w = mask.shape
    padded = np.pad(mask, ri)
    out = np.zeros_like(mask)
    for dy in range(-ri, ri + 1):
        for dx in range(-ri, ri + 1):
            if dy * dy + dx * dx <= r * r + 0.5:
                out |= padded[ri + dy:ri + dy + h, ri + dx:ri + dx + w]
    return out


# -- the pipeline ----------------------------------------------------------------------------------
def _fit_box(w: int, h: int, opts: PreprocessOptions) -> tuple[float, int, int, int, int]:
    """Scale and placement (x, y, new_w, new_h) of a w×h crop on the canvas, aspect kept."""
    avail_w = max(1, opts.canvas_width - 2 * opts.margin)
    avail_h = max(1, opts.canvas_height - 2 * opts.margin)
    scale = min(avail_w / w, avail_h / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    return scale, (opts.canvas_width - nw) // 2, (opts.canvas_height - nh) // 2, nw, nh


def _resize_float(values: np.ndarray, w: int, h: int) -> np.ndarray:
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape == (h, w):
        return values
    # BOX = area averaging when shrinking (a stroke keeps its ink mass); bilinear when enlarging.
    method = Image.Resampling.BOX if (w <= values.shape[1] and h <= values.shape[0]) else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(values).resize((w, h), method))


def binarize(gray: np.ndarray, opts: PreprocessOptions) -> tuple[np.ndarray, int]:
    """Ink mask (after optional median filter and small-component removal) and Otsu's threshold."""
    smooth = median_filter(gray, opts.median_size) if opts.denoise else gray
    threshold = otsu_threshold(smooth)
    mask = smooth <= threshold
    if opts.denoise:
        mask = remove_small_components(mask, opts.min_component_px)
    return mask, threshold


def normalize(image: np.ndarray, opts: PreprocessOptions | None = None, *,
              skeleton: bool = True) -> NormalizedSignature:
    """Normalise a signature image (RGB or grey array) onto the canvas; see the module docstring.

    ``skeleton=False``: no Zhang–Suen thinning unless the options skeletonise (the result's
    ``skeleton`` is then None); the embedding scorer never reads it, and thinning was about a
    sixth of a ``verify`` query's normalisation. Raises :class:`NoInkError` when nothing ink-like is left.
    """
    opts = opts or PreprocessOptions()
    gray0 = to_gray(image)
    h0, w0 = gray0.shape
    gray = shrink_to(gray0)
    back_scale = w0 / gray.shape[1]
    notes: list[str] = []
    if gray.shape != gray0.shape:
        notes.append(f"shrunk from {w0}×{h0} to {gray.shape[1]}×{gray.shape[0]} before normalising")
    if int(gray.max()) - int(gray.min()) < 16:
        raise NoInkError("no signature found: the image is (almost) a single flat grey level.")
    mask, threshold = binarize(gray, opts)
    if not mask.any():
        raise NoInkError("no signature found: no ink is left after noise removal.")
    ink_fraction = float(mask.mean())
    box = ink_bbox(mask) if opts.roi else (0, 0, gray.shape[1], gray.shape[0])
    assert box is not None
    x, y, w, h = box
    crop_mask = mask[y:y + h, x:x + w]
    scale, cx, cy, nw, nh = _fit_box(w, h, opts)
    H, W = opts.canvas_height, opts.canvas_width
    coverage = np.zeros((H, W), np.float32)
    coverage[cy:cy + nh, cx:cx + nw] = np.clip(_resize_float(crop_mask.astype(np.float32), nw, nh), 0, 1)
    ink = coverage >= opts.ink_level
    if not ink.any():  # a very thin signature shrunk a lot: keep its strongest pixels
        ink = coverage >= max(1e-3, float(coverage.max()) * 0.5)
    thin = zhang_suen(ink) if (skeleton or opts.skeletonize) else None
    if opts.binarize:
        if opts.skeletonize:
            ink = dilate_disk(thin, opts.stroke_width)
            canvas = np.where(ink, 0, 255).astype(np.uint8)
        else:
            canvas = np.clip(np.round(255.0 * (1.0 - coverage)), 0, 255).astype(np.uint8)
    else:
        # The trap setting: the scanned greys, background included, padded with the paper's grey.
        paper = int(np.median(gray[~mask])) if (~mask).any() else 255
        canvas = np.full((H, W), paper, np.uint8)
        crop = gray[y:y + h, x:x + w].astype(np.float32)
        canvas[cy:cy + nh, cx:cx + nw] = np.clip(np.round(_resize_float(crop, nw, nh)), 0, 255).astype(np.uint8)
        if opts.skeletonize:
            ink = dilate_disk(thin, opts.stroke_width)
    bbox = (round(x * back_scale), round(y * back_scale), max(1, round(w * back_scale)), max(1, round(h * back_scale)))
    return NormalizedSignature(canvas, ink, thin, threshold, bbox, ink_fraction, opts, tuple(notes), (cx, cy, nw, nh))


__all__ = [
    "MAX_WORKING_SIDE", "NoInkError", "NormalizedSignature", "PreprocessOptions", "binarize", "component_sizes",
    "dilate", "dilate_disk", "ink_bbox", "median_filter", "normalize", "otsu_threshold", "remove_small_components",
    "shrink_to", "to_gray", "zhang_suen",
]
