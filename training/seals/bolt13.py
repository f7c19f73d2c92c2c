"""Generator 1.3's bolt seal: how real bolt seals are tampered with, and a wider range of intact ones.

Generator 1.2's bolt seal (``families.Bolt``) drew one kind of each defect: a cut shank was a short
gap with the two pieces still in place, a cracked barrel a small squiggle low on the barrel, a
prised barrel a tear at the collar. Seal-integrity 1.3.1 caught about half of the cut shanks and
cracked barrels of a renderer it had never seen (its development seeds), where the shank shows more
of itself and a crack runs across the barrel. Real bolt seals are defeated in more ways, so 1.3
draws (each variant picked with the defect's own generator, so a scene's intact twin is unchanged):

* ``cut``: ``gap`` (the 1.2 cut: both pieces in place, a gap, bright pinched faces), ``dropped``
  (cut below the catch and the barrel with its stub gone: only the head and a stub with a bright
  pinched end remain) or ``reglued`` (cut and glued or spot-welded back: a thin seam across the
  shank, a glue or weld bead around it, the lower piece slightly offset or kinked);
* ``crack``: ``squiggle`` (1.2's), ``fracture`` (a crack running across the whole barrel, the
  outline stepped where it breaks) or ``crushed`` (a bite out of the barrel's outline where it was
  hammered or squeezed, the metal insert showing, cracks running from it);
* ``prised``: ``torn`` (1.2's tear at the collar) or ``pulled`` (the barrel levered down the shank:
  the shank's grooved locking tip bare between the collar and the barrel, the barrel askew);
* ``missing``: as in 1.2.

Intact bolt seals also vary more: the head may stand off the catch (shank visible above the first
lug) and the shank below the catch is 8-40 mm long (1.2: 10-22 mm). The 1.2 drawing is kept
unchanged in ``families.Bolt.draw`` so that renders made without ``bolt13`` stay byte-identical.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.seals.canvas import dilate, fill_poly, place_patch, polyline, rot, rounded_rect
from training.seals.defects import draw_crack
from training.seals.fixtures import Frame, Scene, draw_lug_back, draw_lugs, lug_spans
from training.seals.families import bolt_print_band, fresh_colour, prised_barrel

VARIANTS = {"cut": ("gap", "dropped", "reglued"), "crack": ("squiggle", "fracture", "crushed"),
            "prised": ("torn", "pulled"), "missing": ("missing",)}
_P = {"cut": (0.35, 0.3, 0.35), "crack": (0.3, 0.4, 0.3), "prised": (0.4, 0.6), "missing": (1.0,)}


def plan13(rng: np.random.Generator, p: dict) -> dict:
    """Widen a 1.2 bolt plan in place (its own generator: the 1.2 draws stay as they were)."""
    p["bolt13"] = True
    p["visible"] = float(rng.uniform(8, 40))
    p["head_gap"] = float(rng.uniform(2, 14)) if rng.random() < 0.45 else 0.0
    p["grooves"] = int(rng.integers(3, 6))
    lugs = p["lugs"]
    yb = lug_spans(lugs)[-1][1] + p["visible"]
    p["yb"] = yb
    half = max(p["bd"], lugs["w"] + 2 * abs(lugs["dx"]), p["hd"]) / 2
    top = -p["hh"] - p["head_gap"] - 2
    # room for a barrel pulled down the shank (drawn only when prised): the framing must not depend
    # on the defect, so every bolt13 scene keeps that room
    bottom = yb + p["bl"] + 14
    corners = np.array([[-half, top], [half, top], [half, bottom], [-half, bottom]])
    x = corners @ rot(p["tilt"]).T
    p["extent"] = (float(x[:, 0].min() - 2), float(x[:, 1].min() - 2), float(x[:, 0].max() + 2),
                   float(x[:, 1].max() + 2))
    return p


def _bright_face(layer, sc: Scene, frame: Frame, m, dx: float, y: float, r: float) -> None:
    face = fill_poly(sc.blank(), frame([(dx - r, y - 0.9), (dx + r, y - 0.9), (dx + r, y + 0.9), (dx - r, y + 0.9)]))
    face = cv2.min(face, m)
    layer.paint(face, (0.97, 0.96, 0.92), 0.95)
    layer.set_surface(face, 1.3, 80)


def _shank_piece(layer, sc: Scene, frame: Frame, p: dict, y0: float, y1: float, dx: float, cut_top: bool,
                 cut_bottom: bool, kink: float = 0.0) -> np.ndarray:
    """One straight piece of shank (a pinched end where it was cut); returns its coverage."""
    r, pinch = p["r"], 1.6
    poly = [(dx - r, y0), (dx + r, y0)] if not cut_top else \
        [(dx - r * 0.55, y0), (dx + r * 0.55, y0), (dx + r, y0 + pinch)]
    poly += [(dx + r, y1)] if not cut_bottom else [(dx + r, y1 - pinch), (dx + r * 0.55, y1), (dx - r * 0.55, y1)]
    poly += [(dx - r, y1)] if not cut_bottom else [(dx - r, y1 - pinch)]
    if cut_top:
        poly += [(dx - r, y0 + pinch)]
    if kink:
        piv = np.array([dx, y0])
        poly = [tuple(piv + (np.array(q) - piv) @ rot(kink).T) for q in poly]
    m = fill_poly(sc.blank(), frame(poly))
    layer.add(m, p["steel"], base=2 * sc.u, bevel=r * sc.u, profile="round", spec=0.9, shininess=50)
    if cut_top:
        _bright_face(layer, sc, frame, m, dx, y0, r)
    if cut_bottom:
        _bright_face(layer, sc, frame, m, dx, y1, r)
    return m


def _grooves(layer, sc: Scene, frame: Frame, p: dict, y0: float, y1: float, dx: float) -> np.ndarray:
    """The shank's locking tip: rings cut into it (normally hidden inside the barrel)."""
    g = sc.blank()
    r = p["r"]
    for k in range(p["grooves"]):
        y = y0 + (k + 0.5) * (y1 - y0) / p["grooves"]
        polyline(g, frame([(dx - r * 0.95, y), (dx + r * 0.95, y)]), max(1.0, 0.7 * sc.u))
    layer.paint(g, p["steel"] * 0.45, 0.9)
    layer.carve(g, 0.6 * sc.u)
    return g


def _barrel(hb, sc: Scene, frame: Frame, p: dict, drop: float = 0.0, tilt: float = 0.0, dx: float = 0.0,
            bite: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Printed barrel and steel collar, ``drop`` mm further down the shank and turned by ``tilt``;
    ``bite`` (canvas mask) is removed from the barrel's outline. Returns barrel and collar masks and
    the barrel's top (mm)."""
    u, yb = sc.u, p["yb"] + drop
    piv = np.array([dx, yb])

    def turn(pts):
        return [tuple(piv + (np.asarray(q) - piv) @ rot(tilt).T) for q in pts]

    bc = frame(turn([(dx, yb + p["bl"] / 2)]))[0]
    band, scale = bolt_print_band(p, u)
    alb = place_patch(band, bc, frame.angle + np.pi / 2 + tilt, (sc.C, sc.C), scale)
    bm = fill_poly(sc.blank(), frame(turn(rounded_rect(dx, yb + p["bl"] / 2, p["bd"], p["bl"], 2.5))))
    if bite is not None:
        bm = cv2.subtract(bm, bite)
    hb.add(bm, alb, base=4 * u, bevel=p["bd"] * 0.5 * u, profile="round", spec=0.45, shininess=30)
    cm = fill_poly(sc.blank(), frame(turn(rounded_rect(dx, yb + (p["collar"] - 1) / 2, p["bd"] * 0.9,
                                                       p["collar"] + 1, 0.8))))
    hb.add(cm, p["steel"], base=4.5 * u, bevel=p["bd"] * 0.45 * u, profile="round", spec=1.0, shininess=60)
    return bm, cm, yb


def draw13(p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
    """Draw catch and bolt seal the 1.3 way (with ``defect`` applied); returns the defect mask or None."""
    u = sc.u
    frame = Frame(sc, p["tilt"])
    lugs = p["lugs"]
    draw_lug_back(sc, lugs, frame)
    r, yb, hg = p["r"], p["yb"], p["head_gap"]
    variant = None
    if defect:
        names = VARIANTS[defect]
        variant = names[int(drng.choice(len(names), p=_P[defect]))]
    p["variant"] = variant
    region = sc.blank()
    shank = sc.layer()
    hb = sc.layer()
    top = -hg - p["hh"] * 0.4
    spans = lug_spans(lugs)
    below = (spans[-1][1], yb)
    shank_cov = sc.blank()
    if variant in ("gap", "reglued", "dropped"):
        sections = [below] if variant == "dropped" else [below] + ([(-hg, 0.0)] if hg > 6 else []) + \
            ([(spans[0][1], spans[1][0])] if len(spans) == 2 else [])
        y0, y1 = sections[int(drng.integers(len(sections)))]
        g = drng.uniform(3.0, 8.0) if variant == "gap" else 0.0
        lo, hi = y0 + 1.5 + g / 2, y1 - 1.5 - g / 2
        c = drng.uniform(lo, max(lo, hi))
        if variant == "dropped":
            shank_cov = _shank_piece(shank, sc, frame, p, top, c, 0.0, False, True)
            gone = fill_poly(sc.blank(), frame(rounded_rect(0, (c + yb + p["bl"]) / 2, p["bd"] + 3,
                                                            yb + p["bl"] - c + 3, 2.5)))
            end = fill_poly(sc.blank(), frame([(-r - 2.5, c - 3.5), (r + 2.5, c - 3.5), (r + 2.5, c + 1.5),
                                              (-r - 2.5, c + 1.5)]))
            region = cv2.max(gone, end)
        elif variant == "gap":
            shift = drng.uniform(0.3, 0.8) * r * drng.choice([-1, 1])
            m1 = _shank_piece(shank, sc, frame, p, top, c - g / 2, 0.0, False, True)
            m2 = _shank_piece(shank, sc, frame, p, c + g / 2, yb + 3.0, shift, True, False)
            shank_cov = cv2.max(m1, m2)
            region = fill_poly(sc.blank(), frame([(-r - 2.5, c - g / 2 - 2.5), (r + 2.5, c - g / 2 - 2.5),
                                                  (r + 2.5, c + g / 2 + 2.5), (-r - 2.5, c + g / 2 + 2.5)]))
        else:  # reglued: one shank again, a seam and a bead, the lower piece a little off line
            shift = drng.uniform(0.1, 0.35) * r * drng.choice([-1, 1])
            kink = drng.uniform(0.02, 0.08) * drng.choice([-1, 1]) if drng.random() < 0.5 else 0.0
            m1 = _shank_piece(shank, sc, frame, p, top, c, 0.0, False, False)
            m2 = _shank_piece(shank, sc, frame, p, c, yb + 3.0, shift, False, False, kink=kink)
            shank_cov = cv2.max(m1, m2)
            bw = drng.uniform(1.2, 2.6)
            bead = fill_poly(sc.blank(), frame([(-r * 1.25, c - bw / 2), (r * 1.25 + shift, c - bw / 2),
                                                (r * 1.25 + shift, c + bw / 2), (-r * 1.25, c + bw / 2)]))
            glue = [(0.62, 0.48, 0.22), (0.80, 0.78, 0.70), (0.30, 0.28, 0.26), (0.55, 0.55, 0.58)]
            shank.add(bead, np.asarray(glue[int(drng.integers(len(glue)))], np.float32) * drng.uniform(0.85, 1.1),
                      base=2.2 * u, bevel=r * 1.1 * u, profile="round", spec=0.7, shininess=35)
            seam = sc.blank()
            polyline(seam, frame([(-r * 1.1, c), (r * 1.1 + shift, c)]), max(1.0, drng.uniform(0.3, 0.6) * u))
            shank.paint(seam, (0.05, 0.05, 0.05), 0.85)
            shank.carve(seam, 0.5 * u)
            shank_cov = cv2.max(shank_cov, bead)
            region = fill_poly(sc.blank(), frame([(-r - 2.5, c - 3.0), (r + 2.5 + abs(shift), c - 3.0),
                                                  (r + 2.5 + abs(shift), c + 3.0), (-r - 2.5, c + 3.0)]))
    elif variant == "pulled":
        drop = drng.uniform(7.0, 16.0)
        shank_cov = _shank_piece(shank, sc, frame, p, top, yb + drop + 3.0, 0.0, False, False)
        g = _grooves(shank, sc, frame, p, yb + 1.0, yb + drop - 0.5, 0.0)
        p["_drop"] = drop
        region = cv2.max(dilate(g, 2.0), fill_poly(sc.blank(), frame([(-p["bd"] / 2, yb), (p["bd"] / 2, yb),
                                                                      (p["bd"] / 2, yb + drop + 3),
                                                                      (-p["bd"] / 2, yb + drop + 3)])))
    else:
        shank_cov = _shank_piece(shank, sc, frame, p, top, yb + 3.0, 0.0, False, False)
    missing = defect == "missing"
    if not missing:
        shank.render_onto(sc.canvas, sc.light, 6 * u)
    draw_lugs(sc, lugs, frame, r, filled=not missing)
    head_poly = frame(rounded_rect(0, -hg - p["hh"] / 2, p["hd"], p["hh"], p["hh"] * 0.45))
    hm = fill_poly(sc.blank(), head_poly)
    hcol = p["colour"] if p["head_coated"] else p["steel"]
    hb.add(hm, hcol, base=4 * u, bevel=min(p["hd"], p["hh"]) * 0.5 * u, profile="round",
           spec=0.45 if p["head_coated"] else 0.9, shininess=30 if p["head_coated"] else 50)
    if variant == "dropped":
        hb.render_onto(sc.canvas, sc.light, 7 * u)
        return dilate(region, max(2.0, 1.2 * u))
    bite = None
    if variant == "crushed":
        side = drng.choice([-1, 1])
        yc = yb + p["collar"] + drng.uniform(0.3, 0.75) * (p["bl"] - p["collar"])
        depth, span = drng.uniform(0.2, 0.42) * p["bd"], drng.uniform(6, 14)
        xe = side * p["bd"] / 2
        pts = [(xe + side * 2, yc - span / 2)]
        for k in range(1, 6):
            f = k / 6
            pts.append((xe - side * depth * np.sin(np.pi * f) * drng.uniform(0.7, 1.1),
                        yc - span / 2 + span * f + drng.uniform(-0.6, 0.6)))
        pts.append((xe + side * 2, yc + span / 2))
        bite = fill_poly(sc.blank(), frame(pts))
    drop, tilt, dx = 0.0, 0.0, 0.0
    if variant == "pulled":
        drop, tilt, dx = p["_drop"], drng.uniform(-0.18, 0.18), drng.uniform(-0.25, 0.25) * r
    bm, cm, _ = _barrel(hb, sc, frame, p, drop, tilt, dx, bite)
    if variant == "squiggle":
        lower = frame(rounded_rect(0, yb + p["collar"] + (p["bl"] - p["collar"]) / 2, p["bd"] * 0.9,
                                   p["bl"] - p["collar"] - 2, 2.0))
        region = draw_crack(hb, sc, cv2.subtract(bm, cm), lower, drng, (0.45, 0.95), core=(0.1, 0.1, 0.1),
                            halo=fresh_colour(p["colour"]), halo_strength=0.5)
    elif variant == "fracture":
        y = yb + p["collar"] + drng.uniform(0.2, 0.8) * (p["bl"] - p["collar"])
        n = int(drng.integers(5, 10))
        xs = np.linspace(-p["bd"] / 2 - 1, p["bd"] / 2 + 1, n)
        ys = y + np.cumsum(drng.normal(0, 1.1, n)) * 0.7 + xs * drng.uniform(-0.35, 0.35)
        line = frame(np.stack([xs, ys], 1))
        m = sc.blank()
        polyline(m, line, max(1.4, drng.uniform(0.7, 1.6) * u))
        m = cv2.min(m, bm)
        rim = cv2.min(cv2.subtract(dilate(m, max(1.5, 1.0 * u)), m), bm)
        hb.paint(rim, fresh_colour(p["colour"]), 0.55)
        hb.paint(m, (0.06, 0.06, 0.06), 0.95)
        hb.carve(m, 1.5 * u)
        # the outline steps where the barrel broke: a notch at each end of the crack
        for xe, ye in ((xs[0], ys[0]), (xs[-1], ys[-1])):
            s = np.sign(xe)
            notch = fill_poly(sc.blank(), frame([(xe + s, ye - 1.6), (xe - s * drng.uniform(1.2, 2.5), ye),
                                                 (xe + s, ye + 1.6)]))
            hb.erase(cv2.min(notch, bm))
            m = cv2.max(m, cv2.min(notch, bm))
        region = dilate(m, max(2.0, 1.2 * u))
    elif variant == "crushed":
        inner = cv2.subtract(dilate(bite, max(2.0, 1.6 * u)), bite)
        inner = cv2.min(inner, bm)
        hb.paint(inner, p["steel"] * 0.8, 0.9)
        hb.set_surface(inner, 0.9, 50)
        hb.carve(inner, 1.0 * u)
        cr = draw_crack(hb, sc, cv2.subtract(bm, cm), np.asarray(frame(rounded_rect(
            0, yb + p["collar"] + (p["bl"] - p["collar"]) / 2, p["bd"] * 0.9, p["bl"] - p["collar"] - 2, 2.0))),
            drng, (0.3, 0.6), core=(0.1, 0.1, 0.1), halo=fresh_colour(p["colour"]), halo_strength=0.5)
        region = cv2.max(dilate(cv2.max(bite, inner), max(2.0, 1.2 * u)), cr)
    elif variant == "torn":
        region = prised_barrel(hb, sc, frame, p, bm, cm, drng)
    elif variant == "pulled":
        # the bared grooves and wherever the barrel's outline moved (where it was, where it is)
        was = cv2.max(fill_poly(sc.blank(), frame(rounded_rect(0, yb + p["bl"] / 2, p["bd"], p["bl"], 2.5))),
                      fill_poly(sc.blank(), frame(rounded_rect(0, yb + (p["collar"] - 1) / 2, p["bd"] * 0.9,
                                                               p["collar"] + 1, 0.8))))
        moved = cv2.absdiff(was, cv2.max(bm, cm))
        region = dilate(cv2.max(region, moved), max(2.0, 1.2 * u))
    if missing:
        return dilate(cv2.max(shank_cov, hb.coverage()), max(2.0, 1.2 * u))
    hb.render_onto(sc.canvas, sc.light, 7 * u)
    return region if defect else None
