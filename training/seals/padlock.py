"""A fifth seal family (generator 1.2): the plastic padlock seal.

A moulded plastic body, wider and thicker than a strap seal's locking body, with a round plastic
shackle (or a steel-wire shackle) looped through the hasp and clicked into both sides of its top.
No flag and no tail: the serial is printed on the body's face. Defects: ``cut`` (shackle cut through,
ends sprung apart, fresh lighter plastic or bright steel at the cut), ``crack`` (cracked body) and
``missing``. It reuses the strap seal's fixtures and leg geometry, so only its shape is new.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.seals.canvas import FONTS, dilate, fill_poly, place_patch, ribbon, rot, rounded_rect, spline
from training.seals.defects import draw_crack, end_segment, ribbon_region, split_polyline, spring_apart, stretch
from training.seals.fixtures import Scene, draw_loop_fixture, loop_fixture_extent, plan_loop_fixture


class PlasticPadlock:
    """Plastic padlock seal (see module docstring)."""

    name = "plastic_padlock"
    defects = ("cut", "crack", "missing")

    def plan(self, rng: np.random.Generator, background: str) -> dict:
        """Every scene-level random choice for one padlock seal, in millimetres."""
        # late import: families imports this module to register the family
        from training.seals.families import BRANDS, PLASTICS, _bbox, _plan_leg_x, make_serial
        fxt = plan_loop_fixture(rng, background)
        cname, col, ink = PLASTICS[int(rng.integers(len(PLASTICS)))]
        wire = rng.random() < 0.35
        w = rng.uniform(2.0, 3.0) if wire else rng.uniform(3.5, 6.0)
        p = dict(fixture=fxt, w=w, wire=wire, colour=np.clip(np.array(col) + rng.uniform(-0.04, 0.04, 3), 0, 1),
                 ink=ink, colour_name=cname, bw=rng.uniform(20, 30), bh=rng.uniform(22, 34),
                 tilt=rng.uniform(-0.4, 0.4), bc=np.array([rng.uniform(-10, 10), rng.uniform(30, 55)]),
                 front="A" if rng.random() < 0.5 else "B", sag=(rng.uniform(-5, 5), rng.uniform(-5, 5)),
                 serial=make_serial(rng), brand=BRANDS[int(rng.integers(len(BRANDS)))],
                 font=FONTS[int(rng.integers(3))], elev=rng.uniform(3, 8), radius=rng.uniform(2.0, 6.0))
        p["x_front"], p["x_back"] = _plan_leg_x(rng, fxt, max(w, 6.0))
        g = self.geometry(p)
        p["extent"] = _bbox([spline(g["A"], 2.0), spline(g["B"], 2.0), g["body"], loop_fixture_extent(fxt)], w / 2 + 2)
        return p

    def geometry(self, p: dict) -> dict:
        """Millimetre geometry of the two shackle legs and the body."""
        from training.seals.families import _loop_legs
        R = rot(p["tilt"])
        bc, bw, bh = p["bc"], p["bw"], p["bh"]
        up = R @ np.array([0.0, -1.0])
        ta = bc + R @ np.array([-bw * 0.3, -bh / 2 + 1.5])
        tb = bc + R @ np.array([bw * 0.3, -bh / 2 + 1.5])
        leg_a, leg_b = _loop_legs(p, p["fixture"], ta, up, tb, up)
        body = rounded_rect(bc[0], bc[1], bw, bh, p["radius"], p["tilt"])
        return dict(A=leg_a, B=leg_b, body=body)

    def _shackle(self, seal, sc: Scene, pts: np.ndarray, p: dict) -> np.ndarray:
        w = p["w"] * sc.u
        m = ribbon(sc.blank(), pts, w)
        if p["wire"]:
            seal.add(m, (0.66, 0.67, 0.68), base=1.2 * sc.u, bevel=w / 2, profile="round", spec=0.9, shininess=45)
        else:
            seal.add(m, p["colour"], base=1.2 * sc.u, bevel=w / 2, profile="round", spec=0.4, shininess=30)
        return m

    def draw(self, p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
        """Draw hasp and seal (with ``defect`` applied); returns the defect mask or None."""
        from training.seals.families import fresh_colour, printed_patch
        u = sc.u
        draw_loop_fixture(sc, p["fixture"])
        g = self.geometry(p)
        seal = sc.layer()
        w = p["w"] * u
        col = np.asarray(p["colour"], np.float32)
        region = sc.blank()
        cut_leg = ("A" if drng.random() < 0.5 else "B") if defect == "cut" else None
        for name in (["B", "A"] if p["front"] == "A" else ["A", "B"]):
            pts = spline(sc.px(g[name]), 1.0)
            if name != cut_leg:
                self._shackle(seal, sc, pts, p)
                continue
            before, after, (s0, s1) = split_polyline(pts, drng, (0.3, 0.7), max(drng.uniform(1.5, 3.0) * w, 4 * u))
            off = drng.uniform(0.6, 1.5) * w * drng.choice([-1, 1])
            before = spring_apart(before, True, off, 6 * u)
            after = spring_apart(after, False, -off * drng.uniform(0.3, 1.0), 6 * u)
            end_col = (0.95, 0.95, 0.96) if p["wire"] else fresh_colour(col)
            for piece, at_end in ((before, True), (after, False)):
                if len(piece) < 2:
                    continue
                m = self._shackle(seal, sc, piece, p)
                fresh = ribbon(sc.blank(), end_segment(piece, at_end, drng.uniform(0.8, 1.6) * u), w + 2)
                seal.paint(cv2.min(fresh, m), end_col, 0.8)
            region = cv2.max(region, ribbon_region(sc, stretch(pts, s0 - 1.5 * w, s1 + 1.5 * w), max(3.0 * w, 8 * u)))
        body_poly = sc.px(g["body"])
        body_m = fill_poly(sc.blank(), body_poly)
        rows = [("text", p["brand"], 0.8, p["font"]), ("text", p["serial"], 1.1, p["font"])]
        patch, scale = printed_patch(u, p["bw"] * 0.8, p["bh"] * 0.55, col, p["ink"], rows)
        alb = place_patch(patch, sc.px(p["bc"] + rot(p["tilt"]) @ np.array([0.0, p["bh"] * 0.1])),
                          sc.ang(p["tilt"]), (sc.C, sc.C), scale)
        # outside the printed patch place_patch leaves zeros: fill with the body colour
        cover = place_patch(np.ones(patch.shape[:2], np.float32), sc.px(p["bc"] + rot(p["tilt"]) @ np.array(
            [0.0, p["bh"] * 0.1])), sc.ang(p["tilt"]), (sc.C, sc.C), scale)
        alb = alb + (1.0 - np.clip(cover, 0, 1))[..., None] * col * 0.95
        seal.add(body_m, alb, base=3.0 * u, bevel=2.6 * u, profile="flat", spec=0.4, shininess=35)
        if defect == "crack":
            region = draw_crack(seal, sc, body_m, body_poly, drng, (0.5, 1.0), halo=fresh_colour(col))
        if defect == "missing":
            return dilate(seal.coverage(), max(2.0, 1.2 * u))
        seal.render_onto(sc.canvas, sc.light, p["elev"] * u)
        return region if defect else None
