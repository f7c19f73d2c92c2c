"""Physical damage shared by several seal families: cuts in a strap or cable, cracks in a moulded body,
splayed steel wires, tamper-evident "VOID" residue, and the polygon helpers they need.

Every helper draws *into the seal's layers* (so the damage is lit and shadowed like the seal itself)
and returns the region it touched, which becomes the defect mask. Nothing here adds global noise.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.seals.canvas import (Layer, arclength, dilate, fill_poly, normals, polyline, ribbon, rot, spline,
                                   put_text_fit)


def split_polyline(pts: np.ndarray, drng: np.random.Generator, centre_range: tuple[float, float],
                   gap_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a polyline: returns (piece before, piece after, the removed stretch with some margin)."""
    s = arclength(pts)
    total = s[-1]
    c = drng.uniform(centre_range[0], centre_range[1]) * total
    g = min(gap_px, total * 0.5)
    c = float(np.clip(c, g / 2 + 2, total - g / 2 - 2))
    before = pts[s <= c - g / 2]
    after = pts[s >= c + g / 2]
    return before, after, np.array([c - g / 2, c + g / 2])


def stretch(pts: np.ndarray, s0: float, s1: float) -> np.ndarray:
    """The part of a polyline between arc lengths s0 and s1."""
    s = arclength(pts)
    sel = (s >= s0) & (s <= s1)
    if sel.sum() < 2:
        i = int(np.clip(np.searchsorted(s, (s0 + s1) / 2), 1, len(pts) - 1))
        return pts[i - 1:i + 1]
    return pts[sel]


def spring_apart(piece: np.ndarray, at_end: bool, offset_px: float, decay_px: float) -> np.ndarray:
    """Bend the free end of a cut piece sideways, as a tensioned strap or cable does when severed."""
    if len(piece) < 3:
        return piece
    s = arclength(piece)
    dist = (s[-1] - s) if at_end else s
    w = np.exp(-dist / max(decay_px, 1.0))[:, None]
    return piece + normals(piece) * offset_px * w


def end_segment(piece: np.ndarray, at_end: bool, length_px: float) -> np.ndarray:
    """The last (or first) ``length_px`` of a polyline."""
    s = arclength(piece)
    if at_end:
        seg = piece[s >= s[-1] - length_px]
    else:
        seg = piece[s <= length_px]
    if len(seg) < 2:
        seg = piece[-2:] if at_end else piece[:2]
    return seg


def jagged_end(mask: np.ndarray, piece: np.ndarray, at_end: bool, width: float, reach: float,
               drng: np.random.Generator) -> np.ndarray:
    """Add a torn, zig-zag fringe to the end of a strap piece (a snapped rather than cut strap)."""
    if len(piece) < 2:
        return mask
    p = piece[-1] if at_end else piece[0]
    q = piece[-2] if at_end else piece[1]
    t = p - q
    t /= max(np.hypot(*t), 1e-9)
    n = np.array([-t[1], t[0]])
    k = int(drng.integers(4, 8))
    pts = [p + n * width / 2]
    for i in range(1, k):
        f = 0.5 - i / k
        pts.append(p + n * width * f + t * drng.uniform(0.15, 1.0) * reach)
    pts.append(p - n * width / 2)
    pts.append(p - n * width / 2 - t * 1.0)
    pts.append(p + n * width / 2 - t * 1.0)
    return fill_poly(mask, pts)


def crack_path(drng: np.random.Generator, poly: np.ndarray, length: float, step: float,
               start: np.ndarray | None = None) -> np.ndarray:
    """A jagged crack running from the outline of ``poly`` (pixels) into it, ``length`` pixels long."""
    poly = np.asarray(poly, np.float64)
    centre = poly.mean(axis=0)
    if start is None:
        i = int(drng.integers(0, len(poly)))
        a, b = poly[i], poly[(i + 1) % len(poly)]
        start = a + (b - a) * drng.uniform(0.2, 0.8)
    d = centre - start
    ang = np.arctan2(d[1], d[0]) + drng.normal(0, 0.45)
    pts = [np.asarray(start, np.float64)]
    cont = poly.astype(np.float32).reshape(-1, 1, 2)
    travelled = 0.0
    while travelled < length:
        ang += drng.normal(0, 0.45)
        nxt = pts[-1] + step * np.array([np.cos(ang), np.sin(ang)])
        if cv2.pointPolygonTest(cont, (float(nxt[0]), float(nxt[1])), False) < 0 and travelled > step * 2:
            break
        pts.append(nxt)
        travelled += step
    return np.asarray(pts)


def draw_crack(layer: Layer, sc, part_mask: np.ndarray, poly: np.ndarray, drng: np.random.Generator,
               size_frac: tuple[float, float], core=(0.05, 0.05, 0.05), halo=(0.95, 0.95, 0.92),
               halo_strength: float = 0.6) -> np.ndarray:
    """Crack a moulded part: a carved line that opens up where it starts at the edge and tapers to a
    hairline, with a stress-whitened rim and 0-2 branches.

    Returns the crack mask dilated into a defect region, clipped to the part.
    """
    u = sc.u
    poly = np.asarray(poly, np.float64)
    span = max(np.ptp(poly[:, 0]), np.ptp(poly[:, 1]))
    length = span * drng.uniform(*size_frac)
    main = crack_path(drng, poly, length, max(1.0, 0.8 * u))
    lines = [(main, drng.uniform(1.3, 2.2))]  # mm at the mouth: a crack you can see in a phone photo
    for _ in range(int(drng.integers(0, 3))):
        if len(main) < 4:
            break
        j = int(drng.integers(1, len(main) - 1))
        lines.append((crack_path(drng, poly, length * drng.uniform(0.25, 0.5), max(1.0, 0.7 * u), start=main[j]),
                      drng.uniform(0.7, 1.1)))
    m = sc.blank()
    for ln, mm in lines:
        if len(ln) >= 2:
            w0 = max(1.6, mm * u)
            ribbon(m, ln, np.linspace(w0, max(0.9, 0.3 * w0), len(ln)))
    m = cv2.min(m, dilate(part_mask, 1))
    rim = cv2.subtract(dilate(m, max(1.5, 1.0 * u)), m)
    rim = cv2.min(rim, part_mask)
    layer.paint(rim, halo, halo_strength)
    layer.paint(m, core, 0.95)
    layer.carve(m, 1.5 * u)
    layer.set_surface(m, 0.0, 5.0)
    return cv2.min(dilate(m, max(2.0, 1.6 * u)), dilate(part_mask, max(2.0, u)))


def splay_wires(mask: np.ndarray, origin: np.ndarray, direction: np.ndarray, n: int, length: tuple[float, float],
                spread: float, thickness: float, drng: np.random.Generator, jitter: float = 0.0) -> np.ndarray:
    """Draw ``n`` thin curling steel wires fanning out from ``origin`` around ``direction``."""
    d0 = np.arctan2(direction[1], direction[0])
    for _ in range(n):
        a = d0 + drng.uniform(-spread, spread)
        ln = drng.uniform(*length)
        bend = drng.uniform(-0.9, 0.9)
        o = origin + drng.normal(0, jitter, 2)
        d = np.array([np.cos(a), np.sin(a)])
        d2 = rot(bend) @ d
        ctrl = [o, o + d * ln * 0.5, o + d * ln * 0.5 + d2 * ln * 0.5]
        polyline(mask, spline(ctrl, 1.0), thickness)
    return mask


# ----------------------------------------------------------------------------------------------
# polygons


def clip_halfplane(poly: np.ndarray, p0: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon to the half-plane (x - p0) . n >= 0."""
    poly = np.asarray(poly, np.float64)
    out = []
    for i in range(len(poly)):
        a, b = poly[i], poly[(i + 1) % len(poly)]
        da, db = np.dot(a - p0, n), np.dot(b - p0, n)
        if da >= 0:
            out.append(a)
        if (da >= 0) != (db >= 0):
            out.append(a + (b - a) * (da / (da - db)))
    return np.asarray(out)


def fold(poly: np.ndarray, p0: np.ndarray, n: np.ndarray, foreshorten: float) -> np.ndarray:
    """Reflect a polygon across the line through p0 with normal n, squashed towards the line.

    That is a flap lifted and bent back over the fold line, seen from the front.
    """
    poly = np.asarray(poly, np.float64)
    dist = (poly - p0) @ n
    return poly - np.outer(dist * (1.0 + foreshorten), n)


# ----------------------------------------------------------------------------------------------
# tamper-evident residue


def void_patch(w_px: int, h_px: int, word: str, text_h: float, drng: np.random.Generator,
               diagonal: bool) -> np.ndarray:
    """A float32 (h, w) pattern that is 1 where tamper-evident residue stays on the surface.

    Real VOID labels leave the word in a repeating tiled pattern (straight or diagonal, brick-offset
    rows). One tile is drawn and repeated, which keeps this cheap for long security tape.
    """
    pitch_y = max(4, int(round(text_h * drng.uniform(1.6, 2.2))))
    pitch_x = max(8, int(round(text_h * len(word) * drng.uniform(0.95, 1.3))))
    tile = np.zeros((2 * pitch_y, pitch_x), np.uint8)
    put_text_fit(tile, word, (pitch_x * 0.1, (pitch_y - text_h) / 2, pitch_x * 0.8, text_h), 255,
                 cv2.FONT_HERSHEY_SIMPLEX, bold=1.3)
    # second row offset by half a word: brick pattern
    tile[pitch_y:] = np.roll(tile[:pitch_y], pitch_x // 2, axis=1)
    if drng.random() < 0.5:
        tile = 255 - tile  # some brands leave the background and lift the letters
    big = int(np.ceil(np.hypot(w_px, h_px))) + 4 if diagonal else max(w_px, h_px) + 4
    reps = (big // tile.shape[0] + 2, big // tile.shape[1] + 2)
    pat = np.tile(tile, reps)
    oy, ox = int(drng.integers(0, tile.shape[0])), int(drng.integers(0, tile.shape[1]))
    pat = pat[oy:oy + big, ox:ox + big]
    if diagonal:
        m = cv2.getRotationMatrix2D((big / 2, big / 2), 35.0, 1.0)
        pat = cv2.warpAffine(pat, m, (big, big), borderMode=cv2.BORDER_REFLECT)
    y0, x0 = (big - h_px) // 2, (big - w_px) // 2
    return pat[y0:y0 + h_px, x0:x0 + w_px].astype(np.float32) / 255.0


def apply_residue(canvas: np.ndarray, region: np.ndarray, pattern: np.ndarray, colour, strength: float) -> None:
    """Leave tamper-evident residue on the (already lit) canvas under ``region``."""
    x, y, w, h = cv2.boundingRect(region)
    if w == 0 or h == 0:
        return
    sl = (slice(y, y + h), slice(x, x + w))
    sub = canvas[sl]
    a = region[sl].astype(np.float32) * (1.0 / 255.0)
    sub *= (1.0 - 0.12 * a)[..., None]  # adhesive film darkens whatever it sits on
    k = (a * pattern[sl] * strength)[..., None]
    lit = sub.mean(axis=2, keepdims=True) * 0.35 + 0.65
    sub[:] = sub * (1 - k) + np.asarray(colour, np.float32) * lit * k


def ribbon_region(sc, pts: np.ndarray, width: float) -> np.ndarray:
    """A defect region following a polyline (a band of ``width`` pixels)."""
    return ribbon(sc.blank(), pts, width)
