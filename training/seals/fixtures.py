"""What a seal is fastened to: a hasp bar, a hasp staple (ring), a handle tab with a seal hole, the lugs
of a container handle catch (bolt seals), or a seam an adhesive seal bridges.

A fixture is always drawn, with or without the seal, so that a "missing" seal shows the bare hasp or
the empty hole where the seal should be. Geometry is planned in millimetres relative to the seal's
anchor point (the fixture point the seal hangs from) and drawn through a :class:`Scene`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from training.seals.canvas import Layer, Light, Texture, blank, fill_poly, fr, fx, noise, polyline, rot, \
    rounded_rect, SHIFT


@dataclass
class Scene:
    """The canvas being drawn and how millimetres map onto it.

    The canvas is already in the photo's orientation: millimetre coordinates (y pointing down the
    hanging seal) are rotated by ``theta`` when mapped to pixels, so the final camera warp only adds
    perspective and the canvas need not be much larger than the photo.
    """

    C: int
    u: float                # canvas pixels per millimetre
    origin: np.ndarray      # canvas pixel position of the anchor (0, 0) mm
    light: Light
    canvas: np.ndarray
    bg: dict
    background: str
    theta: float = 0.0      # in-plane rotation of the world in the photo (radians)
    tex_seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    def px(self, pts) -> np.ndarray:
        """Millimetre coordinates (relative to the anchor) -> canvas pixels."""
        c, s = np.cos(self.theta), np.sin(self.theta)
        p = np.asarray(pts, np.float64)
        x, y = p[..., 0], p[..., 1]
        return self.origin + np.stack([c * x - s * y, s * x + c * y], axis=-1) * self.u

    def ang(self, a: float) -> float:
        """A world angle -> canvas angle."""
        return float(a) + self.theta

    def blank(self) -> np.ndarray:
        """An empty full-canvas coverage mask."""
        return blank((self.C, self.C))

    def layer(self) -> Layer:
        """A new empty layer the size of the canvas."""
        return Layer((self.C, self.C))

    def grain(self, kind: str) -> np.ndarray:
        """Shared surface-texture noise ("fine" ~1 mm, "coarse" ~5 mm), made once per scene."""
        if kind not in self._cache:
            rng = np.random.default_rng([self.tex_seed, len(kind)])
            cell = 0.8 if kind == "fine" else 5.0
            self._cache[kind] = noise(rng, (self.C, self.C), cell * self.u)
        return self._cache[kind]


class Frame:
    """A rotated millimetre frame inside a scene (for example along a bolt's axis or a label's length)."""

    def __init__(self, sc: Scene, angle: float, offset=(0.0, 0.0)):
        self.sc = sc
        self.local = float(angle)
        self.angle = sc.ang(angle)  # orientation on the canvas, for rectangles and patches
        self.offset = np.asarray(offset, np.float64)
        self._r = rot(self.local)

    def mm(self, pts) -> np.ndarray:
        """Frame millimetres -> scene millimetres."""
        return np.asarray(pts, np.float64) @ self._r.T + self.offset

    def __call__(self, pts) -> np.ndarray:
        """Frame millimetres -> canvas pixels."""
        return self.sc.px(self.mm(pts))


# ----------------------------------------------------------------------------------------------
# materials


def plan_material(rng: np.random.Generator, background: str) -> str:
    """Pick what a hasp on this background is plausibly made of (painted, galvanised, black, plastic)."""
    if background.startswith("steel_door_"):
        return "painted" if rng.random() < 0.55 else "galvanised"
    if background == "hasp_grey":
        return "galvanised" if rng.random() < 0.7 else "painted"
    if background == "plastic_tote_blue":
        return "plastic" if rng.random() < 0.6 else "galvanised"
    return "galvanised" if rng.random() < 0.6 else "black"


def material(sc: Scene, kind: str, tex_seed: int) -> tuple[Texture, float, float]:
    """(albedo texture, specular, shininess) of a fixture material on this scene's canvas."""
    rng = np.random.default_rng(tex_seed)
    if kind == "painted":
        col = np.clip(np.asarray(sc.bg["paint"], np.float32) * np.float32(rng.uniform(0.8, 1.0)), 0, 1)
        chip = np.array([0.32, 0.27, 0.22], np.float32)

        def painted(sl):
            coarse = sc.grain("coarse")[sl]
            tex = col * (1 + 0.06 * coarse)[..., None]
            # paint chipped off in a few worn patches, not as salt-and-pepper
            worn = (sc.grain("fine")[sl] + 0.8 * coarse) > 1.9
            tex[worn] = chip
            return tex
        return Texture(painted), 0.22, 16.0
    if kind == "black":
        k = np.float32(rng.uniform(0.08, 0.14))
        def black(sl):
            return np.repeat((k * (1 + 0.15 * sc.grain("coarse")[sl]))[..., None], 3, axis=2)
        return Texture(black), 0.35, 20.0
    if kind == "plastic":
        col = np.clip(np.asarray(sc.bg["paint"], np.float32) * 0.9, 0, 1)
        return Texture(lambda sl: np.broadcast_to(col, (sl[0].stop - sl[0].start, sl[1].stop - sl[1].start, 3))
                       .astype(np.float32)), 0.25, 18.0
    base = np.array([0.6, 0.61, 0.6], np.float32) * np.float32(rng.uniform(0.85, 1.05))

    def galvanised(sl):
        spangle = np.floor(sc.grain("coarse")[sl] * 3.0) * (0.08 / 3.0) + 0.03 * sc.grain("fine")[sl] + 1.0
        return base * spangle[..., None]
    return Texture(galvanised), 0.5, 28.0


def _screw(layer: Layer, sc: Scene, c_px, r_px: float, albedo, rng) -> None:
    m = sc.blank()
    cv2.circle(m, tuple(fx(c_px)), fr(r_px), 255, -1, cv2.LINE_AA, SHIFT)
    layer.add(m, albedo, base=layer.height[int(np.clip(c_px[1], 0, sc.C - 1)), int(np.clip(c_px[0], 0, sc.C - 1))],
              bevel=r_px * 0.8, profile="round", spec=0.5, shininess=30)
    slot = sc.blank()
    a = rng.uniform(0, np.pi)
    d = np.array([np.cos(a), np.sin(a)]) * r_px * 0.7
    polyline(slot, [c_px - d, c_px + d], max(1.0, r_px * 0.3))
    layer.paint(slot, (0.08, 0.08, 0.08), 0.8)
    layer.carve(slot, r_px * 0.4)


# ----------------------------------------------------------------------------------------------
# fixtures for loop seals (plastic strip, cable)


def plan_loop_fixture(rng: np.random.Generator, background: str) -> dict:
    """Plan the hasp a strap or cable loops through: a bar, a staple ring or a tab with a hole."""
    kind = ("bar", "ring", "plate_hole")[int(rng.choice(3, p=[0.38, 0.3, 0.32]))]
    f = dict(kind=kind, material=plan_material(rng, background), tex=int(rng.integers(0, 2**31)))
    if kind == "bar":
        f.update(r=rng.uniform(7, 13), angle=rng.uniform(-0.2, 0.2),
                 bracket=(rng.uniform(35, 70) * rng.choice([-1, 1])) if rng.random() < 0.6 else None,
                 bracket_w=rng.uniform(14, 22))
    elif kind == "ring":
        f.update(rod=rng.uniform(2.8, 4.0), rw=rng.uniform(24, 32), rh=rng.uniform(28, 40),
                 plate_w=rng.uniform(44, 62), plate_h=rng.uniform(60, 85), screws=int(rng.integers(2, 5)))
    else:
        f.update(hole_r=rng.uniform(5.0, 7.5), tab_w=rng.uniform(36, 52), below=rng.uniform(6, 12),
                 tab_dx=rng.uniform(-6, 6), slot=rng.random() < 0.3)
    return f


def loop_fixture_extent(f: dict) -> list[tuple[float, float]]:
    """Points (mm) of the fixture that the photo should include around the seal."""
    if f["kind"] == "bar":
        return [(-22, -f["r"] - 4), (22, f["r"] + 2)]
    if f["kind"] == "ring":
        return [(-f["rw"] / 2 - 3, -f["rh"] - 6), (f["rw"] / 2 + 3, f["rod"])]
    return [(-f["tab_w"] / 2, -f["hole_r"] - 14), (f["tab_w"] / 2, f["hole_r"] + f["below"])]


def loop_ends(f: dict) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Where the front leg ends (over/into the fixture), where the back leg emerges from behind it, and
    the straight run-in length below the fixture, all for a leg at x = 0 (mm)."""
    if f["kind"] == "bar":
        return (0.0, -f["r"] * 0.92), (0.0, f["r"] * 0.98), f["r"] + 8.0
    if f["kind"] == "ring":
        return (0.0, -f["rod"] * 0.9), (0.0, f["rod"] * 0.95), f["rod"] + 8.0
    edge = f["hole_r"] + f["below"]
    return (0.0, 0.0), (0.0, edge), edge + 6.0


def bar_y(f: dict, x: float) -> float:
    """Centre line height (mm) of a tilted bar at x, so legs end flush with its edges."""
    return float(np.tan(f.get("angle", 0.0)) * x) if f["kind"] == "bar" else 0.0


def draw_loop_fixture(sc: Scene, f: dict) -> None:
    """Draw (shadow + shading) the hasp of a loop seal onto the scene canvas."""
    u = sc.u
    alb, spec, shin = material(sc, f["material"], f["tex"])
    layer = sc.layer()
    rng = np.random.default_rng(f["tex"] + 1)
    if f["kind"] == "bar":
        r = f["r"] * u
        a = sc.ang(f["angle"])
        d = np.array([np.cos(a), np.sin(a)])
        n = np.array([-d[1], d[0]])
        c = sc.px((0, 0))
        far = d * 3 * sc.C
        m = fill_poly(sc.blank(), [c - far + n * r, c + far + n * r, c + far - n * r, c - far - n * r])
        layer.add(m, alb, base=0, bevel=r, profile="round", spec=spec, shininess=shin)
        if f["bracket"] is not None:
            bc = c + d * f["bracket"] * u
            bm = fill_poly(sc.blank(), rounded_rect(bc[0], bc[1], f["bracket_w"] * u, 2 * r + 12 * u, 2 * u, a))
            layer.add(bm, alb * 0.9, base=r * 0.7, bevel=2 * u, profile="flat", spec=spec, shininess=shin)
            for s in (-1, 1):
                _screw(layer, sc, bc + n * s * (r + 3.5 * u), 2.2 * u, (0.55, 0.55, 0.55), rng)
        layer.render_onto(sc.canvas, sc.light, r + 6 * u)
    elif f["kind"] == "ring":
        rod, rw, rh = f["rod"], f["rw"], f["rh"]
        th = sc.theta
        pc = sc.px((0, -(rh - rod) - f["plate_h"] / 2 + 12))
        pm = fill_poly(sc.blank(), rounded_rect(pc[0], pc[1], f["plate_w"] * u, f["plate_h"] * u, 4 * u, th))
        layer.add(pm, alb, base=0, bevel=1.5 * u, profile="flat", spec=spec, shininess=shin)
        for k in range(f["screws"]):
            sx = (-1 if k % 2 == 0 else 1) * (f["plate_w"] / 2 - 7)
            sy = (-1 if k < 2 else 1) * (f["plate_h"] / 2 - 8)
            if f["screws"] == 2:
                sx, sy = 0.0, (-1 if k == 0 else 1) * (f["plate_h"] / 2 - 8)
            _screw(layer, sc, pc + rot(th) @ np.array([sx, sy]) * u, 3.0 * u, (0.58, 0.58, 0.56), rng)
        rc = sc.px((0, -(rh / 2 - rod)))
        rm = sc.blank()
        cv2.ellipse(rm, tuple(fx(rc)), (fr((rw / 2 - rod) * u), fr((rh / 2 - rod) * u)), float(np.degrees(th)), 0,
                    360, 255, max(1, int(round(2 * rod * u))), cv2.LINE_AA, SHIFT)
        # The staple's feet go into the plate: its top is hidden behind the plate's slot cover.
        layer.add(rm, alb * 1.05, base=3 * u, bevel=rod * u, profile="round", spec=spec + 0.1, shininess=shin)
        cc = sc.px((0, -(rh / 2 - rod) - (rh / 2 - rod) * 0.75))
        cover = fill_poly(sc.blank(), rounded_rect(cc[0], cc[1], (rw + 10) * u, 9 * u, 3 * u, th))
        layer.add(cover, alb * 0.95, base=2 * u, bevel=2 * u, profile="flat", spec=spec, shininess=shin)
        layer.render_onto(sc.canvas, sc.light, 7 * u)
    else:
        hr, tw = f["hole_r"] * u, f["tab_w"] * u
        edge = f["hole_r"] + f["below"]
        top = -3.0 * sc.C / u
        tc = sc.px((f["tab_dx"], (top + edge) / 2))
        tab = fill_poly(sc.blank(), rounded_rect(tc[0], tc[1], tw, (edge - top) * u, tw * 0.35, sc.theta))
        layer.add(tab, alb, base=0, bevel=2.0 * u, profile="flat", spec=spec, shininess=shin)
        hc = sc.px((0, 0))
        if f["slot"]:
            sp = sc.px((0, -14))
            sm = fill_poly(sc.blank(), rounded_rect(sp[0], sp[1], hr * 1.6, 18 * u, hr * 0.8, sc.theta))
            layer.paint(sm, (0.05, 0.05, 0.05), 0.85)
            layer.carve(sm, 2 * u)
        hole = sc.blank()
        cv2.circle(hole, tuple(fx(hc)), fr(hr), 255, -1, cv2.LINE_AA, SHIFT)
        # The hole wall shows as a crescent on the side away from the viewer's line of sight.
        inner = sc.blank()
        cv2.circle(inner, tuple(fx(hc + np.array([0.0, hr * 0.25]))), fr(hr * 0.95), 255, -1, cv2.LINE_AA, SHIFT)
        wall = cv2.subtract(hole, inner)
        layer.erase(cv2.min(hole, inner))
        layer.paint(wall, alb.at(int(np.clip(hc[1], 0, sc.C - 1)), int(np.clip(hc[0], 0, sc.C - 1))) * 0.45, 1.0)
        layer.carve(wall, 1.5 * u)
        layer.render_onto(sc.canvas, sc.light, 6 * u)


# ----------------------------------------------------------------------------------------------
# bolt seal fixture: the lugs of a container door handle catch


def plan_lugs(rng: np.random.Generator, background: str) -> dict:
    """Plan the catch a bolt seal passes through: one or two lugs and what is behind them."""
    n = 2 if rng.random() < 0.5 else 1
    return dict(n=n, t=rng.uniform(8, 14), w=rng.uniform(34, 54), sep=rng.uniform(12, 24), dx=rng.uniform(-6, 6),
                material=plan_material(rng, background), tex=int(rng.integers(0, 2**31)),
                back=("plate", "handle", "none")[int(rng.choice(3, p=[0.45, 0.35, 0.2]))],
                back_w=rng.uniform(60, 90), back_h=rng.uniform(70, 110), handle_angle=rng.uniform(-0.5, 0.5))


def lug_spans(f: dict) -> list[tuple[float, float]]:
    """(top, bottom) y of each lug in the bolt frame (mm); the first lug's top is the anchor."""
    spans = [(0.0, f["t"])]
    if f["n"] == 2:
        y = f["t"] + f["sep"]
        spans.append((y, y + f["t"]))
    return spans


def draw_lug_back(sc: Scene, f: dict, frame) -> None:
    """Draw what is behind the bolt: a mounting plate or the door handle bar."""
    if f["back"] == "none":
        return
    u = sc.u
    alb, spec, shin = material(sc, f["material"], f["tex"])
    layer = sc.layer()
    rng = np.random.default_rng(f["tex"] + 2)
    mid = lug_spans(f)[-1][1] / 2
    c = frame((f["dx"], mid))
    ang = frame.angle
    if f["back"] == "plate":
        m = fill_poly(sc.blank(), rounded_rect(c[0], c[1], f["back_w"] * u, f["back_h"] * u, 5 * u, ang))
        layer.add(m, alb * 0.92, base=0, bevel=1.5 * u, profile="flat", spec=spec, shininess=shin)
        for sx in (-1, 1):
            for sy in (-1, 1):
                p = np.array([sx * (f["back_w"] / 2 - 7), sy * (f["back_h"] / 2 - 8)]) * u
                _screw(layer, sc, c + rot(ang) @ p, 3.2 * u, (0.55, 0.55, 0.53), rng)
    else:
        a = ang + f["handle_angle"]  # the door handle crosses behind the catch
        d = np.array([np.cos(a), np.sin(a)])
        n = np.array([-d[1], d[0]])
        hw = 20 * u
        far = d * 3 * sc.C
        m = fill_poly(sc.blank(), [c - far + n * hw, c + far + n * hw, c + far - n * hw, c - far - n * hw])
        layer.add(m, alb, base=0, bevel=3 * u, profile="flat", spec=spec, shininess=shin)
    layer.render_onto(sc.canvas, sc.light, 8 * u)


def draw_lugs(sc: Scene, f: dict, frame, shank_r: float, filled: bool) -> None:
    """Draw the lugs in front of the bolt shank; ``filled`` shows the shank in the lug holes."""
    u = sc.u
    alb, spec, shin = material(sc, f["material"], f["tex"])
    layer = sc.layer()
    for y0, y1 in lug_spans(f):
        t = y1 - y0
        c = frame((f["dx"], (y0 + y1) / 2))
        m = fill_poly(sc.blank(), rounded_rect(c[0], c[1], f["w"] * u, t * u, 2.5 * u, frame.angle))
        layer.add(m, alb, base=2 * u, bevel=1.8 * u, profile="flat", spec=spec, shininess=shin)
        topc = frame((f["dx"], y0 + t * 0.16))
        tm = fill_poly(sc.blank(), rounded_rect(topc[0], topc[1], (f["w"] - 2) * u, t * 0.3 * u, 1.5 * u, frame.angle))
        layer.paint(tm, alb * 1.25, 0.8)
        hole = sc.blank()
        hc = frame((0.0, y0 + t * 0.16))
        cv2.ellipse(hole, tuple(fx(hc)), (fr((shank_r + 0.9) * u), fr(max(0.8, t * 0.12) * u)),
                    float(np.degrees(frame.angle)), 0, 360, 255, -1, cv2.LINE_AA, SHIFT)
        layer.paint(hole, (0.62, 0.63, 0.65) if filled else (0.04, 0.04, 0.04), 1.0)
        if not filled:
            layer.carve(hole, 3 * u)
    layer.render_onto(sc.canvas, sc.light, 5 * u)


# ----------------------------------------------------------------------------------------------
# seams that adhesive seals bridge


def draw_seam(sc: Scene, angle: float, seam: dict) -> np.ndarray:
    """Draw the joint an adhesive seal is stuck across (door gap, box flap seam, plank gap, lid edge).

    Returns the seam's uint8 mask so the label can sag into it.
    """
    u, C = sc.u, sc.C
    a = sc.ang(angle)
    d = np.array([np.cos(a), np.sin(a)])
    n = np.array([-d[1], d[0]])
    c = sc.px((0, 0)) + n * seam["offset"] * u
    far = d * 3 * C
    surface = sc.bg["surface"]
    gap = seam["gap"] * u * (1.0 if surface == "steel" else 0.35)
    half = n * gap / 2
    m = fill_poly(sc.blank(), [c - far + half, c + far + half, c + far - half, c - far - half])
    # The two sides of a joint never sit exactly level, so one is lit a little differently.
    side = fill_poly(sc.blank(), [c + far, c + far + n * 3 * C, c - far + n * 3 * C, c - far])
    f = 1.0 + (side.astype(np.float32) * ((seam["step"] - 1.0) / 255.0))
    f *= 1.0 - m.astype(np.float32) * (0.88 / 255.0)
    sc.canvas *= f[..., None]
    if surface == "steel":
        layer = sc.layer()
        for s in (-1, 1):
            g0 = c + n * s * (gap / 2 + seam["gasket"] * u / 2)
            gm = fill_poly(sc.blank(), [g0 - far + n * seam["gasket"] * u / 2, g0 + far + n * seam["gasket"] * u / 2,
                                        g0 + far - n * seam["gasket"] * u / 2, g0 - far - n * seam["gasket"] * u / 2])
            layer.add(gm, (0.07, 0.07, 0.07), base=0, bevel=seam["gasket"] * u / 2, profile="round",
                      spec=0.15, shininess=10)
        layer.render_onto(sc.canvas, sc.light, 2 * u)
    return m


def plan_seam(rng: np.random.Generator) -> dict:
    """Random seam parameters (gap width, gasket width, brightness step between the two sides)."""
    return dict(gap=rng.uniform(3, 7), gasket=rng.uniform(4, 7), step=rng.uniform(0.88, 1.08),
                offset=rng.uniform(-6, 6))
