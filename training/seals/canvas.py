"""Drawing, texture and shading primitives shared by the seal, fixture and background renderers.

Everything works on float32 RGB images in [0, 1] (values above 1 are allowed until the camera's tone
curve clips them, which is how specular glints saturate). Geometry is drawn with OpenCV's
fixed-point, anti-aliased drawing so that thin parts (strap edges, crack lines, cable strands) stay
smooth at the small working resolutions this generator must run at to be fast.

Parts are shaded from a height field: each part is drawn as a coverage mask, its height comes from a
distance transform of that mask (round or bevelled profile), and the normal of the height field is lit
by a single directional light with Lambert + Blinn-Phong terms. That gives plastic straps, steel
shanks and painted plates a believable 3-D look without a real renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT


def fx(pts):
    """Convert float pixel coordinates to OpenCV fixed point (for ``shift=SHIFT`` drawing): a tuple for
    a single point, an int32 array for a point list."""
    a = np.asarray(pts, dtype=np.float64)
    if a.ndim == 1:
        return (int(round(float(a[0]) * _ONE)), int(round(float(a[1]) * _ONE)))
    return np.rint(a * _ONE).astype(np.int32)


def fr(radius: float) -> int:
    """Convert a float radius or length to OpenCV fixed point."""
    return max(1, int(round(float(radius) * _ONE)))


@dataclass(frozen=True)
class Light:
    """A directional light in image coordinates (x right, y down, z towards the camera)."""

    direction: np.ndarray
    ambient: float
    specular: float
    shadow_softness: float  # Gaussian sigma of cast shadows, in canvas pixels
    shadow_strength: float
    half: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        d = np.asarray(self.direction, np.float64)
        d = d / np.linalg.norm(d)
        object.__setattr__(self, "direction", d)
        h = d + np.array([0.0, 0.0, 1.0])
        object.__setattr__(self, "half", h / np.linalg.norm(h))


# ----------------------------------------------------------------------------------------------
# noise and simple geometry


def noise(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 1,
          stretch: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Smooth value noise of roughly unit amplitude; ``cell`` is the feature size in pixels.

    ``stretch`` > 1 elongates features (streaks, wood grain, brushed metal) along the direction
    ``angle`` + 90 degrees (so ``angle`` = 0 streaks along y), at the same cost as isotropic noise.
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        cx, cy = max(cell, 1.0), max(cell * stretch, 1.0)
        if angle == 0.0:
            gh, gw = int(np.ceil(h / cy)) + 3, int(np.ceil(w / cx)) + 3
            grid = rng.standard_normal((gh, gw), dtype=np.float32)
            out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        else:
            diag = float(np.hypot(h, w))
            gh, gw = int(np.ceil(diag / cy)) + 4, int(np.ceil(diag / cx)) + 4
            grid = rng.standard_normal((gh, gw), dtype=np.float32)
            c, s = np.cos(angle), np.sin(angle)
            # canvas (x, y) -> grid coordinates: rotate into the noise frame, then scale by the cells
            m = np.array([[c / cx, s / cx, 0.0], [-s / cy, c / cy, 0.0]])
            m[:, 2] = np.array([gw / 2, gh / 2]) - m[:, :2] @ np.array([w / 2, h / 2])
            out += amp * cv2.warpAffine(grid, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_REFLECT)
        total += amp
        amp *= 0.5
        cell *= 0.5
    out *= 1.0 / total
    return out


def grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Float32 pixel coordinate grids (xx, yy) of an h x w image."""
    return _grid(h, w)


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx.setflags(write=False)
    yy.setflags(write=False)
    return xx, yy


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (vectorised, float32)."""
    t = np.asarray(x, np.float32) - np.float32(e0)
    t *= np.float32(1.0 / (e1 - e0))
    np.clip(t, 0.0, 1.0, out=t)
    return t * t * (3.0 - 2.0 * t)


def rot(angle: float) -> np.ndarray:
    """2x2 rotation matrix (radians, image coordinates)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def rounded_rect(cx: float, cy: float, w: float, h: float, r: float, angle: float = 0.0,
                 n: int = 5) -> np.ndarray:
    """Polygon (N, 2) of a rounded rectangle centred at (cx, cy), rotated by ``angle`` radians."""
    r = float(max(0.0, min(r, w / 2 - 1e-3, h / 2 - 1e-3)))
    arcs, signs = _corner_arcs(n)
    pts = signs * np.array([w / 2 - r, h / 2 - r]) + arcs * r
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([pts[:, 0] * c - pts[:, 1] * s + cx, pts[:, 0] * s + pts[:, 1] * c + cy], axis=1)


@lru_cache(maxsize=16)
def _corner_arcs(n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.concatenate([np.linspace(k * np.pi / 2, (k + 1) * np.pi / 2, n) for k in range(4)])
    signs = np.repeat(np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float64), n, axis=0)
    return np.stack([np.cos(a), np.sin(a)], axis=1), signs


def spline(ctrl, step: float = 1.0) -> np.ndarray:
    """Catmull-Rom curve through the control points, resampled to a uniform ``step`` (pixels)."""
    p = np.asarray(ctrl, np.float64)
    if len(p) < 2:
        return p
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    p0, p1, p2, p3 = ext[:-3, None], ext[1:-2, None], ext[2:-1, None], ext[3:, None]
    longest = float(np.hypot(*(ext[2:-1] - ext[1:-2]).T).max())
    k = max(2, int(longest / max(step, 0.25)) + 2)
    t = (np.arange(k, dtype=np.float64) / k)[None, :, None]
    dense = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                   + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
    return resample(np.vstack([dense.reshape(-1, 2), p[-1:]]), step)


def resample(pts: np.ndarray, step: float) -> np.ndarray:
    """Resample a polyline to points ``step`` pixels apart along its length."""
    pts = np.asarray(pts, np.float64)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return pts[:1]
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], axis=1)


def arclength(pts: np.ndarray) -> np.ndarray:
    """Cumulative length along a polyline, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])


def normals(pts: np.ndarray) -> np.ndarray:
    """Unit left-hand normals of a polyline (one per point)."""
    t = np.gradient(pts, axis=0)
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1])[:, None], 1e-9)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


# ----------------------------------------------------------------------------------------------
# masks


def blank(shape: tuple[int, int]) -> np.ndarray:
    """An empty uint8 coverage mask."""
    return np.zeros(shape, np.uint8)


def fill_poly(mask: np.ndarray, poly, value: int = 255) -> np.ndarray:
    """Fill an anti-aliased polygon into ``mask`` (in place) and return it."""
    cv2.fillPoly(mask, [fx(poly)], int(value), cv2.LINE_AA, SHIFT)
    return mask


def ribbon(mask: np.ndarray, pts: np.ndarray, width, value: int = 255) -> np.ndarray:
    """Draw a band of ``width`` (scalar or per-point) along a polyline with square ends.

    Drawn as overlapping quads plus round joins so that tight curves neither self-intersect (which
    would punch holes: ``fillPoly`` fills several polygons even-odd) nor show seams between segments.
    All geometry is computed at once; the loop only issues the OpenCV calls.
    """
    pts = np.asarray(pts, np.float64)
    if len(pts) < 2:
        return mask
    w = np.broadcast_to(np.asarray(width, np.float64), (len(pts),))
    d = np.diff(pts, axis=0)
    ln = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    t = d / ln[:, None]
    n = np.stack([-t[:, 1], t[:, 0]], axis=1)
    ext = np.full(len(d), 0.6)
    ea, eb = ext.copy(), ext.copy()
    ea[0] = 0.0
    eb[-1] = 0.0
    a2 = pts[:-1] - t * ea[:, None]
    b2 = pts[1:] + t * eb[:, None]
    ha, hb = (w[:-1] / 2)[:, None], (w[1:] / 2)[:, None]
    quads = np.stack([a2 + n * ha, b2 + n * hb, b2 - n * hb, a2 - n * ha], axis=1)
    quads = np.round(quads * _ONE).astype(np.int32)
    v = int(value)
    for q in quads:
        cv2.fillConvexPoly(mask, q, v, cv2.LINE_AA, SHIFT)
    # Round joins only where the band turns enough to open a notch on the outside of the bend.
    turn = np.abs(t[1:, 0] * t[:-1, 1] - t[1:, 1] * t[:-1, 0]) * (w[1:-1] / 2)
    inner = np.nonzero((w[1:-1] > 2.0) & (turn > 0.15))[0] + 1
    if len(inner):
        centres = np.round(pts[inner] * _ONE).astype(np.int32)
        radii = np.maximum(1, np.round(w[inner] / 2 * _ONE)).astype(np.int32)
        for (cx, cy), r in zip(centres.tolist(), radii.tolist()):
            cv2.circle(mask, (cx, cy), r, v, -1, cv2.LINE_AA, SHIFT)
    return mask


def polyline(mask: np.ndarray, pts, thickness: float, value: int = 255) -> np.ndarray:
    """Anti-aliased open polyline (round caps) of the given thickness in pixels."""
    cv2.polylines(mask, [fx(pts)], False, int(value), max(1, int(round(thickness))), cv2.LINE_AA, SHIFT)
    return mask


def bbox_of(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice] | None:
    """Slices of the non-zero bounding box of a mask, padded and clipped; None when empty."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return None
    H, W = mask.shape[:2]
    return (slice(max(0, y - pad), min(H, y + h + pad)), slice(max(0, x - pad), min(W, x + w + pad)))


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary dilation with a disc of ``radius`` pixels (returns a new 0/255 mask)."""
    r = max(1, int(round(radius)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate((mask >= 128).astype(np.uint8) * 255, k)


# ----------------------------------------------------------------------------------------------
# text and printed patches

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX,
         cv2.FONT_HERSHEY_PLAIN)


@lru_cache(maxsize=4096)
def _text_metrics(text: str, font: int) -> tuple[int, int, int]:
    (tw, th), base = cv2.getTextSize(text, font, 1.0, 1)
    return tw, th, base


def put_text_fit(img: np.ndarray, text: str, box: tuple[float, float, float, float], color,
                 font: int = cv2.FONT_HERSHEY_SIMPLEX, bold: float = 1.0, align: str = "center") -> None:
    """Draw ``text`` as large as fits in ``box`` = (x, y, w, h) of ``img`` (in place)."""
    x, y, w, h = box
    if w < 2 or h < 2 or not text:
        return
    tw, th, base = _text_metrics(text, font)
    scale = min(w / max(tw, 1), h / max(th + base * 0.5, 1))
    thick = max(1, int(round(scale * 1.6 * bold)))
    tw, th = tw * scale + thick, th * scale + thick / 2
    if align == "left":
        ox = x
    else:
        ox = x + (w - tw) / 2
    oy = y + (h + th) / 2
    org = (int(round(ox)), int(round(oy)))
    if img.dtype == np.uint8:
        cv2.putText(img, text, org, font, scale, color, thick, cv2.LINE_AA)
        return
    # OpenCV 5 only draws text on 8-bit images: draw coverage, then blend into the float image.
    x0, y0 = max(0, int(x) - 2), max(0, int(y) - 2)
    x1, y1 = min(img.shape[1], int(np.ceil(x + w)) + 3), min(img.shape[0], int(np.ceil(y + h)) + 3)
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.putText(m, text, (org[0] - x0, org[1] - y0), font, scale, 255, thick, cv2.LINE_AA)
    a = m.astype(np.float32) * (1.0 / 255.0)
    sub = img[y0:y1, x0:x1]
    col = np.asarray(color, np.float32).reshape((1, 1, -1)) if img.ndim == 3 else float(color)
    if img.ndim == 3:
        sub[:] = sub * (1.0 - a[..., None]) + col * a[..., None]
    else:
        sub[:] = sub * (1.0 - a) + col * a


def barcode(img: np.ndarray, box: tuple[float, float, float, float], color, rng: np.random.Generator) -> None:
    """Draw a plausible 1-D barcode into ``box`` of ``img`` (in place)."""
    x, y, w, h = (int(round(v)) for v in box)
    if w < 8 or h < 3:
        return
    modules = rng.integers(1, 4, size=max(8, w))
    pos, dark = 0.0, True
    unit = max(w / (modules.sum() * 0.55), 0.6)
    for m in modules:
        width = m * unit
        if pos + width > w:
            break
        if dark:
            cv2.rectangle(img, (x + int(pos), y), (x + int(pos + width) - 1, y + h - 1), color, -1)
        pos += width
        dark = not dark


def place_patch(patch: np.ndarray, center, angle: float, shape: tuple[int, int],
                scale: float = 1.0) -> np.ndarray:
    """Warp a printed patch (H, W[, C]) into a canvas of ``shape`` centred at ``center``, rotated.

    ``scale`` shrinks a supersampled patch to canvas resolution. Only the patch's bounding box is
    warped; around the patch its border pixels are replicated so that anti-aliased mask edges never
    blend towards black (outside that box the result is zero and is never read through a mask).
    """
    ph, pw = patch.shape[:2]
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    cx, cy = center
    m = np.array([[c, -s, cx - (c * (pw - 1) / 2 - s * (ph - 1) / 2)],
                  [s, c, cy - (s * (pw - 1) / 2 + c * (ph - 1) / 2)]], np.float64)
    if scale < 0.9:
        # A supersampled patch is pre-filtered so the warp does not alias the fine print.
        patch = cv2.GaussianBlur(patch, (0, 0), 0.45 / scale)
    corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], np.float64) @ m.T
    H, W = shape
    x0 = int(np.clip(np.floor(corners[:, 0].min()) - 3, 0, W))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 3, 0, W))
    y0 = int(np.clip(np.floor(corners[:, 1].min()) - 3, 0, H))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 3, 0, H))
    out = np.zeros((H, W) + patch.shape[2:], np.float32)
    if x1 > x0 and y1 > y0:
        m[:, 2] -= (x0, y0)
        out[y0:y1, x0:x1] = cv2.warpAffine(patch.astype(np.float32, copy=False), m, (x1 - x0, y1 - y0),
                                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


# ----------------------------------------------------------------------------------------------
# shading


def shade(albedo: np.ndarray, height: np.ndarray, light: Light, spec, shininess) -> np.ndarray:
    """Lambert + Blinn-Phong shading of an albedo image over a height field (both in pixels).

    The specular power uses the cheap approximation x**n ~ max(0, 1 - n(1 - x)/4)**4, which is
    indistinguishable at these shininess values and avoids a per-pixel ``pow``.
    """
    height = np.asarray(height, np.float32)
    albedo = np.asarray(albedo, np.float32)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    L0, L1, L2 = (float(v) for v in light.direction)
    H0, H1, H2 = (float(v) for v in light.half)
    amb = float(light.ambient)
    ndl = (L2 - gx * L0 - gy * L1) * inv
    diff = np.maximum(ndl, 0.0)
    diff *= (1.0 - amb) / L2
    diff += amb
    ndh = (H2 - gx * H0 - gy * H1) * inv
    t = 1.0 - (1.0 - ndh) * (np.asarray(shininess, np.float32) * 0.25)
    np.maximum(t, 0.0, out=t)
    t *= t
    t *= t
    t *= np.asarray(spec, np.float32) * float(light.specular)
    out = albedo * diff[..., None]
    out += t[..., None]
    return out


class Texture:
    """An albedo computed lazily, only over the crop a part covers: ``fn(slices) -> (h, w, 3)``.

    Arithmetic with a scalar (``tex * 0.9``) returns a scaled texture, so callers can darken a
    material without materialising it over the whole canvas.
    """

    def __init__(self, fn, scale: float = 1.0):
        self.fn = fn
        self.scale = scale

    def __call__(self, sl) -> np.ndarray:
        out = self.fn(sl)
        return out * np.float32(self.scale) if self.scale != 1.0 else out

    def __mul__(self, k: float) -> "Texture":
        return Texture(self.fn, self.scale * float(k))

    __rmul__ = __mul__

    def at(self, y: int, x: int) -> np.ndarray:
        """The texture's colour at one pixel."""
        return self((slice(y, y + 1), slice(x, x + 1)))[0, 0]


class Layer:
    """A stack of opaque parts at one depth: albedo, height, coverage, specular strength and shininess.

    Parts are painted in order (later parts cover earlier ones). ``render_onto`` casts the layer's
    shadow on the canvas below it and then composites the shaded layer, so a scene is built as
    background -> fixture layer -> seal layer -> occluding fixture layer.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape
        h, w = shape
        self.albedo = np.zeros((h, w, 3), np.float32)
        self.height = np.zeros((h, w), np.float32)
        self.alpha = np.zeros((h, w), np.float32)
        self.spec = np.zeros((h, w), np.float32)
        self.shin = np.full((h, w), 10.0, np.float32)
        self._box: list[int] | None = None  # y0, y1, x0, x1

    def _grow(self, sl: tuple[slice, slice]) -> None:
        b = [sl[0].start, sl[0].stop, sl[1].start, sl[1].stop]
        if self._box is None:
            self._box = b
        else:
            self._box = [min(self._box[0], b[0]), max(self._box[1], b[1]),
                         min(self._box[2], b[2]), max(self._box[3], b[3])]

    @property
    def empty(self) -> bool:
        """True until a part has been added."""
        return self._box is None

    def add(self, mask: np.ndarray, albedo, *, base: float = 0.0, bevel: float = 2.0,
            profile: str = "round", spec: float = 0.2, shininess: float = 20.0,
            relief: np.ndarray | None = None, tilt: tuple[float, float] | None = None) -> None:
        """Paint a part given its uint8 coverage ``mask`` (full canvas).

        ``albedo`` is an RGB triple, a full-canvas (H, W, 3) texture, or a :class:`Texture`;
        ``bevel`` (pixels) is how far
        in from the outline the surface rises, ``base`` the part's elevation; ``profile`` "round"
        gives cylinders, "flat" gives a slab with eased edges. ``relief`` (full canvas) is added to
        the height (ridges, grooves); ``tilt`` (dz/dx, dz/dy) slants the whole part (lifted flaps).
        """
        sl = bbox_of(mask, 2)
        if sl is None:
            return
        m = mask[sl]
        a = m.astype(np.float32) * (1.0 / 255.0)
        inside = (m >= 128).astype(np.uint8)
        d = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
        t = np.minimum(d * (1.0 / max(bevel, 1e-3)), 1.0)
        if profile == "round":
            prof = np.sqrt(np.clip(1.0 - (1.0 - t) ** 2, 0.0, 1.0))
        else:
            prof = t * (2.0 - t)
        hgt = (base + bevel * prof).astype(np.float32)
        if relief is not None:
            hgt += relief[sl]
        if tilt is not None:
            yy, xx = np.mgrid[sl[0], sl[1]].astype(np.float32)
            hgt += tilt[0] * (xx - xx.mean()) + tilt[1] * (yy - yy.mean())
        if callable(albedo):
            alb = albedo(sl)
        elif isinstance(albedo, np.ndarray) and albedo.ndim == 3:
            alb = albedo[sl]
        else:
            alb = np.asarray(albedo, np.float32).reshape(1, 1, 3)
        A = a[..., None]
        self.albedo[sl] = self.albedo[sl] * (1.0 - A) + alb * A
        np.copyto(self.height[sl], hgt, where=inside.astype(bool))
        self.spec[sl] = self.spec[sl] * (1.0 - a) + spec * a
        self.shin[sl] = self.shin[sl] * (1.0 - a) + shininess * a
        self.alpha[sl] = a + self.alpha[sl] * (1.0 - a)
        self._grow(sl)

    def paint(self, mask: np.ndarray, color, opacity: float = 1.0) -> None:
        """Recolour already-painted surface where ``mask`` is set (print, whitening, dirt)."""
        sl = bbox_of(mask, 1)
        if sl is None:
            return
        a = (mask[sl].astype(np.float32) * (opacity / 255.0))[..., None]
        if callable(color):
            col = np.minimum(color(sl), 1.0)
        elif isinstance(color, np.ndarray) and color.ndim == 3:
            col = color[sl]
        else:
            col = np.asarray(color, np.float32).reshape(1, 1, 3)
        self.albedo[sl] = self.albedo[sl] * (1.0 - a) + col * a

    def carve(self, mask: np.ndarray, depth: float) -> None:
        """Lower the surface by ``depth`` pixels under ``mask`` (cracks, grooves, slots)."""
        sl = bbox_of(mask, 1)
        if sl is None:
            return
        self.height[sl] -= mask[sl].astype(np.float32) * (depth / 255.0)

    def set_surface(self, mask: np.ndarray, spec: float, shininess: float) -> None:
        """Change the material of already-painted surface under ``mask`` (exposed metal, residue)."""
        sl = bbox_of(mask, 1)
        if sl is None:
            return
        a = mask[sl].astype(np.float32) * (1.0 / 255.0)
        self.spec[sl] = self.spec[sl] * (1.0 - a) + spec * a
        self.shin[sl] = self.shin[sl] * (1.0 - a) + shininess * a

    def erase(self, mask: np.ndarray) -> None:
        """Remove coverage under ``mask`` (torn-away label areas)."""
        sl = bbox_of(mask, 1)
        if sl is None:
            return
        self.alpha[sl] *= 1.0 - mask[sl].astype(np.float32) * (1.0 / 255.0)

    def coverage(self) -> np.ndarray:
        """The layer's coverage as a uint8 mask."""
        return np.clip(self.alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def render_onto(self, canvas: np.ndarray, light: Light, elevation: float) -> None:
        """Cast this layer's shadow onto ``canvas`` from ``elevation`` pixels up, then composite it."""
        if self._box is None:
            return
        H, W = self.shape
        L = light.direction
        dx, dy = -L[0] / L[2] * elevation, -L[1] / L[2] * elevation
        sig = light.shadow_softness * (0.5 + elevation / 40.0)
        pad = int(abs(dx) + abs(dy) + 3 * sig + 4)
        y0, y1, x0, x1 = self._box
        sl = (slice(max(0, y0 - pad), min(H, y1 + pad)), slice(max(0, x0 - pad), min(W, x1 + pad)))
        a = self.alpha[sl]
        hh, ww = a.shape
        if sig > 3.0 and min(hh, ww) > 16:
            # Soft shadows are low-pass anyway: shift and blur at quarter resolution.
            small = cv2.resize(a, (ww // 4, hh // 4), interpolation=cv2.INTER_AREA)
            m = np.float32([[1, 0, dx / 4], [0, 1, dy / 4]])
            small = cv2.GaussianBlur(cv2.warpAffine(small, m, (ww // 4, hh // 4), flags=cv2.INTER_LINEAR),
                                     (0, 0), sig / 4)
            sh = cv2.resize(small, (ww, hh), interpolation=cv2.INTER_LINEAR)
        else:
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            sh = cv2.warpAffine(a, m, (ww, hh), flags=cv2.INTER_LINEAR)
            if sig > 0.3:
                sh = cv2.GaussianBlur(sh, (0, 0), sig)
        sub = canvas[sl]
        sub *= (1.0 - light.shadow_strength * sh)[..., None]
        col = shade(self.albedo[sl], self.height[sl], light, self.spec[sl], self.shin[sl])
        A = a[..., None]
        sub *= 1.0 - A
        sub += col * A
