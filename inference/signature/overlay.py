"""Red/green/yellow overlay of a query signature on a reference, and its pixel counts.

Both signatures are normalised masks on the same canvas. The query is aligned onto the reference by
the centroid and the isotropic scale (radius of gyration) of the ink, then every canvas pixel is:

- **yellow**: ink in both (the strokes agree),
- **red**: ink only in the reference (a stroke the query lacks),
- **green**: ink only in the query (a stroke the reference lacks).

Besides the exact counts, tolerant agreement scores (is a skeleton pixel within ``tolerance`` px of
the other signature's ink?) are computed, because two genuine signatures never overlap pixel for
pixel; these are the overlay features of the verifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.signature.preprocess import dilate

RED = (214, 39, 40)
GREEN = (44, 160, 44)
YELLOW = (230, 180, 0)
WHITE = (255, 255, 255)
FEATURE_NAMES = ("overlay_iou", "overlay_ref_recall", "overlay_query_precision", "overlay_f1",
                 "overlay_tol_iou", "overlay_log_scale_ratio")


@dataclass(frozen=True)
class Pose:
    """Centroid (row, column) and radius of gyration of a mask's ink."""

    cy: float
    cx: float
    scale: float


@dataclass(frozen=True)
class OverlayCounts:
    """Pixel counts of the aligned overlay and the agreement scores derived from them."""

    red: int
    green: int
    yellow: int
    ref_recall: float      # reference skeleton within tolerance of the query's ink
    query_precision: float  # query skeleton within tolerance of the reference's ink
    tolerant_iou: float     # IoU of the two inks, each dilated by the tolerance
    log_scale_ratio: float  # log(query scale / reference scale) before alignment

    @property
    def iou(self) -> float:
        union = self.red + self.green + self.yellow
        return self.yellow / union if union else 0.0

    @property
    def f1(self) -> float:
        p, r = self.query_precision, self.ref_recall
        return 2 * p * r / (p + r) if (p + r) > 0 else 0.0

    def features(self) -> np.ndarray:
        return np.array([self.iou, self.ref_recall, self.query_precision, self.f1, self.tolerant_iou,
                         self.log_scale_ratio], dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return {"red": self.red, "green": self.green, "yellow": self.yellow, "iou": round(self.iou, 6),
                "ref_recall": round(self.ref_recall, 6), "query_precision": round(self.query_precision, 6),
                "f1": round(self.f1, 6), "tolerant_iou": round(self.tolerant_iou, 6)}


def pose(mask: np.ndarray) -> Pose:
    """Centroid and radius of gyration of the True pixels (canvas centre and 1 for an empty mask)."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        h, w = mask.shape
        return Pose(h / 2.0, w / 2.0, 1.0)
    cy, cx = float(ys.mean()), float(xs.mean())
    scale = float(np.sqrt(((ys - cy) ** 2 + (xs - cx) ** 2).mean()))
    return Pose(cy, cx, max(scale, 1.0))


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    grid = _GRIDS.get((h, w))
    if grid is None:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        grid = _GRIDS.setdefault((h, w), (yy, xx))
    return grid


def _sampler(source_shape: tuple[int, int], source: Pose, target: Pose, shape: tuple[int, int]):
    """Nearest-neighbour inverse map: for every target pixel, the source pixel it comes from."""
    h, w = shape
    yy, xx = _grid(h, w)
    factor = source.scale / target.scale
    sy = np.round((yy - target.cy) * factor + source.cy).astype(np.int64)
    sx = np.round((xx - target.cx) * factor + source.cx).astype(np.int64)
    inside = (sy >= 0) & (sy < source_shape[0]) & (sx >= 0) & (sx < source_shape[1])
    sy_in, sx_in = sy[inside], sx[inside]

    def sample(mask: np.ndarray) -> np.ndarray:
        out = np.zeros((h, w), dtype=bool)
        out[inside] = mask[sy_in, sx_in]
        return out

    return sample


def align(mask: np.ndarray, source: Pose, target: Pose, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Resample ``mask`` (nearest neighbour) so its pose ``source`` lands on ``target``."""
    return _sampler(mask.shape, source, target, shape or mask.shape)(mask)


def _frac(num: int, den: int) -> float:
    return float(num) / float(den) if den else 0.0


def compare(query_mask: np.ndarray, ref_mask: np.ndarray, query_skeleton: np.ndarray | None = None,
            ref_skeleton: np.ndarray | None = None, tolerance: int = 2, *,
            query_pose: Pose | None = None, ref_pose: Pose | None = None,
            query_dilated: np.ndarray | None = None, ref_dilated: np.ndarray | None = None,
            ) -> tuple[OverlayCounts, np.ndarray]:
    """Align the query onto the reference; return the counts and the aligned query mask.

    Poses and masks dilated by ``tolerance`` may be passed precomputed (per image, not per pair);
    the query's dilation is then aligned instead of dilating the aligned query (the same up to
    the rounding of the resampling).
    """
    pq = query_pose or pose(query_mask)
    pr = ref_pose or pose(ref_mask)
    r = np.asarray(ref_mask, dtype=bool)
    sample = _sampler(query_mask.shape, pq, pr, r.shape)
    q = sample(query_mask)
    qs = sample(query_skeleton) if query_skeleton is not None else q
    rs = ref_skeleton if ref_skeleton is not None else r
    yellow = int(np.count_nonzero(q & r))
    red = int(np.count_nonzero(r)) - yellow
    green = int(np.count_nonzero(q)) - yellow
    qd = sample(query_dilated) if query_dilated is not None else dilate(q, tolerance)
    rd = ref_dilated if ref_dilated is not None else dilate(r, tolerance)
    ref_recall = _frac(np.count_nonzero(rs & qd), np.count_nonzero(rs))
    query_precision = _frac(np.count_nonzero(qs & rd), np.count_nonzero(qs))
    tol_iou = _frac(np.count_nonzero(qd & rd), np.count_nonzero(qd | rd))
    counts = OverlayCounts(red, green, yellow, ref_recall, query_precision, tol_iou,
                           float(np.log(pq.scale / pr.scale)))
    return counts, q


def overlay_image(aligned_query: np.ndarray, ref_mask: np.ndarray) -> np.ndarray:
    """RGB uint8 picture: yellow both, red reference only, green query only, white elsewhere."""
    q = np.asarray(aligned_query, dtype=bool)
    r = np.asarray(ref_mask, dtype=bool)
    out = np.empty((*r.shape, 3), dtype=np.uint8)
    out[:] = WHITE
    out[r & ~q] = RED
    out[q & ~r] = GREEN
    out[q & r] = YELLOW
    return out
