"""The seal families (ISO 17712 types) and their physical defects.

* ``plastic_strip`` - a pull-tight strap seal: coloured strap looped through the hasp and locked in a
  moulded locking body, with a flat marking flag carrying the printed serial, and the strap's serrated
  tail hanging out of the body. Defects: ``cut`` (cut or snapped strap: a gap with fresh, lighter
  ends), ``crack`` (cracked body or flag), ``prised`` (body forced open, strap pulled back out),
  ``missing``.
* ``cable`` - a steel cable loop locked in an aluminium or plastic-coated body with a stamped serial.
  Defects: ``cut`` (severed loop with splayed bright ends), ``frayed`` (partly cut, strands sticking
  out), ``crack`` (cracked locking body), ``missing``.
* ``bolt`` - a bolt seal: steel shank through the lugs of a container handle catch, domed head on top,
  plastic-coated locking barrel below carrying the serial. Defects: ``cut`` (shank cut between lug and
  barrel), ``crack`` (barrel coating cracked/chipped), ``prised`` (barrel coating torn open at the
  collar), ``missing`` (empty lug holes).
* ``adhesive_label`` - a tamper-evident label or security tape across a door gap / box seam, printed
  with text, serial and barcode. Defects: ``lifted_void`` (corner or edge peeled back showing the
  VOID/OPENED residue), ``cut`` (slit along the seam with the residue showing at the edges),
  ``missing`` (label removed, residue left behind).

Each family has ``plan(rng, background)`` - every scene-level random choice, in millimetres, drawn
from the scene generator so it never depends on the defect - and ``draw(plan, scene, defect, drng)``
which draws fixture and seal, applies the defect with its own generator ``drng`` and returns the
defect region as a canvas mask. Keeping the two generators apart is what makes an intact and a
damaged render of the same seed identical outside the defect.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.seals.canvas import (FONTS, arclength, barcode, dilate, fill_poly, fr, fx, noise, normals, place_patch,
                                   polyline, put_text_fit, ribbon, rot, rounded_rect, spline, SHIFT)
from training.seals.defects import (apply_residue, clip_halfplane, draw_crack, end_segment, fold, jagged_end,
                                    ribbon_region, splay_wires, split_polyline, spring_apart, stretch, void_patch)
from training.seals.fixtures import (Frame, Scene, draw_loop_fixture, draw_lug_back, draw_lugs, draw_seam,
                                     loop_ends, loop_fixture_extent, lug_spans, plan_loop_fixture, plan_lugs,
                                     plan_seam, bar_y)

# name, colour, print colour
PLASTICS = [
    ("yellow", (0.93, 0.76, 0.10), (0.05, 0.05, 0.05)),
    ("red", (0.80, 0.10, 0.08), (0.97, 0.97, 0.95)),
    ("blue", (0.10, 0.28, 0.74), (0.97, 0.97, 0.95)),
    ("green", (0.10, 0.52, 0.22), (0.97, 0.97, 0.95)),
    ("orange", (0.96, 0.45, 0.06), (0.05, 0.05, 0.05)),
    ("white", (0.90, 0.90, 0.87), (0.08, 0.10, 0.35)),
    ("black", (0.08, 0.08, 0.09), (0.95, 0.92, 0.85)),
    ("purple", (0.42, 0.14, 0.52), (0.97, 0.97, 0.95)),
]
BRANDS = ["TILIK", "SECURE", "CARGO SEAL", "SEALED", "ISO 17712", "H-SEAL", "LOCKTAG", "PORT SEAL"]
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def make_serial(rng: np.random.Generator) -> str:
    """A printed seal number in one of several common styles."""
    def digits(n: int) -> str:
        return "".join(str(int(d)) for d in rng.integers(0, 10, n))

    style = int(rng.integers(0, 4))
    if style == 0:
        return f"{_LETTERS[rng.integers(len(_LETTERS))]}{_LETTERS[rng.integers(len(_LETTERS))]} {digits(7)}"
    if style == 1:
        return f"No {digits(int(rng.integers(6, 9)))}"
    if style == 2:
        return f"{digits(4)} {digits(4)}"
    return f"{_LETTERS[rng.integers(len(_LETTERS))]}{digits(6)}"


def fresh_colour(col) -> np.ndarray:
    """Colour of a freshly cut or stress-whitened plastic surface: lighter, or greyer for pale plastic."""
    col = np.asarray(col, np.float32)
    if col.mean() < 0.7:
        return col + (1.0 - col) * 0.6
    return col * 0.72


def printed_patch(u: float, w_mm: float, h_mm: float, bg, fg, rows, bar_seed: int = 0, border=None,
                  min_res: float = 5.0) -> tuple[np.ndarray, float]:
    """Render a printed area (flag, label, barrel print) supersampled; returns (patch, scale to canvas).

    ``rows`` are (kind, content, weight, font) with kind "text" or "barcode"; weights share the height.
    """
    r = max(u, min_res)
    W, H = max(4, int(round(w_mm * r))), max(4, int(round(h_mm * r)))
    img = np.empty((H, W, 3), np.float32)
    img[:] = np.asarray(bg, np.float32)
    if border is not None:
        t = max(1, int(round(1.4 * r)))
        cv2.rectangle(img, (t, t), (W - 1 - t, H - 1 - t), tuple(float(c) for c in border), t)
    total = sum(w for _, _, w, _ in rows) or 1.0
    y, avail = H * 0.1, H * 0.8
    col = tuple(float(c) for c in fg)
    for kind, content, weight, font in rows:
        rh = avail * weight / total
        if kind == "text":
            put_text_fit(img, content, (W * 0.08, y + rh * 0.08, W * 0.84, rh * 0.84), col, font)
        else:
            barcode(img, (W * 0.14, y + rh * 0.1, W * 0.72, rh * 0.8), col, np.random.default_rng(bar_seed))
        y += rh
    return img, u / r


def _bbox(points, margin: float) -> tuple[float, float, float, float]:
    p = np.vstack([np.asarray(q, np.float64).reshape(-1, 2) for q in points])
    return (float(p[:, 0].min() - margin), float(p[:, 1].min() - margin),
            float(p[:, 0].max() + margin), float(p[:, 1].max() + margin))


def _leg(start, start_dir, end, run_in: float, sag: float) -> list[np.ndarray]:
    """Control points of a strap/cable leg from its attach point up to where it meets the fixture."""
    s = np.asarray(start, np.float64)
    e = np.asarray(end, np.float64)
    p1 = s + np.asarray(start_dir) * 8.0
    q = np.array([e[0], e[1] + run_in])
    v = q - p1
    perp = np.array([-v[1], v[0]]) / max(np.hypot(*v), 1e-9)
    mid = (p1 + q) / 2 + perp * sag
    return [s, p1, mid, q, (q + e) / 2, e]


def _loop_legs(p: dict, fxt: dict, a_start, a_dir, b_start, b_dir) -> tuple[list, list]:
    """Both legs of a loop: leg A from the seal's first attach point, leg B back into the lock."""
    front_end, back_end, run_in = loop_ends(fxt)
    xf, xb = p["x_front"], p["x_back"]
    fe = np.array([xf, front_end[1] + bar_y(fxt, xf)])
    be = np.array([xb, back_end[1] + bar_y(fxt, xb)])
    ends = (fe, be) if p["front"] == "A" else (be, fe)
    leg_a = _leg(a_start, a_dir, ends[0], run_in, p["sag"][0])
    leg_b = _leg(b_start, b_dir, ends[1], run_in, p["sag"][1])[::-1]
    return leg_a, leg_b


def _plan_leg_x(rng: np.random.Generator, fxt: dict, w: float) -> tuple[float, float]:
    """x of the front and back legs where they meet the fixture (side by side, slightly overlapping)."""
    sep = rng.uniform(0.55, 1.15) * w * rng.choice([-1, 1])
    if fxt["kind"] == "plate_hole":
        lim = fxt["tab_w"] / 2 - w / 2 - 1 + fxt["tab_dx"] * np.sign(sep)
        return 0.0, float(np.clip(sep, -abs(lim), abs(lim)))
    if fxt["kind"] == "ring":
        lim = max(0.0, fxt["rw"] / 2 - fxt["rod"] - w / 2)
        xf = rng.uniform(-0.4, 0.4) * lim
        return float(xf), float(np.clip(xf + sep, -lim - w * 0.3, lim + w * 0.3))
    xf = rng.uniform(-4, 4)
    return float(xf), float(xf + sep)


# ==============================================================================================
# plastic pull-tight strap seal


class PlasticStrip:
    """Pull-tight plastic strap seal (see module docstring)."""

    name = "plastic_strip"
    defects = ("cut", "crack", "prised", "missing")

    def plan(self, rng: np.random.Generator, background: str) -> dict:
        """Every scene-level random choice for one strap seal, in millimetres."""
        fxt = plan_loop_fixture(rng, background)
        w = rng.uniform(7.0, 10.0)
        cname, col, ink = PLASTICS[int(rng.integers(len(PLASTICS)))]
        p = dict(fixture=fxt, w=w, colour=np.clip(np.array(col) + rng.uniform(-0.04, 0.04, 3), 0, 1), ink=ink,
                 colour_name=cname, bw=rng.uniform(13, 18), bh=rng.uniform(12, 17), fw=rng.uniform(30, 44),
                 fh=rng.uniform(18, 26), side=float(rng.choice([-1, 1])), tilt=rng.uniform(-0.5, 0.5),
                 bc=np.array([rng.uniform(-18, 18), rng.uniform(38, 68)]), front="A" if rng.random() < 0.5 else "B",
                 sag=(rng.uniform(-7, 7), rng.uniform(-7, 7)), tail_len=rng.uniform(20, 80),
                 tail_bend=rng.uniform(-0.7, 0.7), tail_wiggle=rng.uniform(-10, 10), pitch=rng.uniform(2.0, 3.0),
                 serial=make_serial(rng), brand=BRANDS[int(rng.integers(len(BRANDS)))],
                 font=FONTS[int(rng.integers(3))], has_barcode=rng.random() < 0.45, bar_seed=int(rng.integers(2**31)),
                 elev=rng.uniform(3, 8))
        p["x_front"], p["x_back"] = _plan_leg_x(rng, fxt, w)
        g = self.geometry(p)
        pts = [spline(g["A"], 2.0), spline(g["B"], 2.0), spline(g["tail"], 2.0), g["body"], g["flag"],
               loop_fixture_extent(fxt)]
        p["extent"] = _bbox(pts, w / 2 + 2)
        return p

    def geometry(self, p: dict) -> dict:
        """Millimetre geometry of legs, tail, body and flag."""
        R = rot(p["tilt"])
        bc, bw, bh, fw, fh, side = p["bc"], p["bw"], p["bh"], p["fw"], p["fh"], p["side"]
        fc = bc + R @ np.array([side * (bw / 2 + fw / 2 - 1.0), 0.0])
        far_end = bc + R @ np.array([side * (bw / 2 + fw - 2.0), 0.0])
        out = R @ np.array([side, 0.0]) + np.array([0.0, -0.9])
        out /= np.hypot(*out)
        top = bc + R @ np.array([0.0, -bh / 2 + 2.0])
        up = R @ np.array([0.0, -1.0])
        leg_a, leg_b = _loop_legs(p, p["fixture"], far_end, out, top, up)
        down = R @ np.array([0.0, 1.0])
        bend = rot(p["tail_bend"]) @ down
        t0 = bc + R @ np.array([0.0, bh / 2 - 2.0])
        L = p["tail_len"]
        tail = [t0, t0 + down * 8, t0 + down * 8 + bend * L * 0.5 + np.array([-bend[1], bend[0]]) * p["tail_wiggle"],
                t0 + down * 8 + rot(p["tail_bend"] * 0.6) @ bend * L]
        body = rounded_rect(bc[0], bc[1], bw, bh, 2.2, p["tilt"])
        flag = rounded_rect(fc[0], fc[1], fw, fh, 1.5, p["tilt"])
        return dict(A=leg_a, B=leg_b, tail=tail, body=body, flag=flag, flag_c=fc, top=top)

    def _strap(self, seal, sc: Scene, pts: np.ndarray, p: dict, extra=None):
        w = p["w"] * sc.u
        m = ribbon(sc.blank(), pts, w)
        if extra is not None:
            m = cv2.max(m, extra)
        seal.add(m, p["colour"], base=1.0 * sc.u, bevel=max(1.0, 0.16 * w), profile="round", spec=0.35,
                 shininess=28)
        return m

    def draw(self, p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
        """Draw hasp and seal (with ``defect`` applied); returns the defect mask or None."""
        u = sc.u
        draw_loop_fixture(sc, p["fixture"])
        g = self.geometry(p)
        seal = sc.layer()
        w = p["w"] * u
        col = np.asarray(p["colour"], np.float32)
        legs = {"A": spline(sc.px(g["A"]), 1.0), "B": spline(sc.px(g["B"]), 1.0)}
        region = sc.blank()
        cut_leg = ("A" if drng.random() < 0.5 else "B") if defect == "cut" else None
        if defect == "prised":
            # The forced body lets go of the strap: its end springs back out of the lock.
            full = legs["B"]
            s = arclength(full)
            lift = drng.uniform(5.0, 10.0) * u
            legs["B"] = full[s <= s[-1] - 2.0 * u - lift]
            region = cv2.max(region, ribbon_region(sc, stretch(full, s[-1] - lift - 3 * u, s[-1]), 1.8 * w))
        order = ["B", "A"] if p["front"] == "A" else ["A", "B"]
        for name in order:
            pts = legs[name]
            if name != cut_leg:
                self._strap(seal, sc, pts, p)
                continue
            crange = (0.2, 0.6) if name == "A" else (0.4, 0.8)
            before, after, (s0, s1) = split_polyline(pts, drng, crange, drng.uniform(1.2, 3.0) * w)
            off = drng.uniform(0.25, 0.6) * w * drng.choice([-1, 1])
            before = spring_apart(before, True, off, 6 * u)
            after = spring_apart(after, False, -off * drng.uniform(0.3, 1.0), 6 * u)
            snapped = drng.random() < 0.5
            for piece, at_end in ((before, True), (after, False)):
                if len(piece) < 2:
                    continue
                extra = None
                if snapped:
                    extra = jagged_end(sc.blank(), piece, at_end, w, drng.uniform(0.8, 2.2) * u, drng)
                m = self._strap(seal, sc, piece, p, extra)
                band = (drng.uniform(2.0, 4.0) if snapped else drng.uniform(0.6, 1.1)) * u
                fresh = ribbon(sc.blank(), end_segment(piece, at_end, band), w + 2)
                if snapped:
                    fresh = cv2.max(fresh, extra)
                seal.paint(cv2.min(fresh, m), fresh_colour(col), 0.45 if snapped else 0.8)
            region = cv2.max(region, ribbon_region(sc, stretch(pts, s0 - 0.7 * w, s1 + 0.7 * w), 2.4 * w))
        # serrated tail
        tail = spline(sc.px(g["tail"]), 1.0)
        s = arclength(tail)
        width = np.where(s < s[-1] - 8 * u, w, w * (0.4 + 0.6 * np.clip((s[-1] - s) / (8 * u), 0, 1)))
        tm = ribbon(sc.blank(), tail, width)
        teeth = sc.blank()
        nrm = normals(tail)
        segs = []
        for k in np.arange(p["pitch"] * u, s[-1] - 6 * u, p["pitch"] * u):
            i = int(np.searchsorted(s, k))
            segs.append(fx([tail[i] + nrm[i] * w * 0.36, tail[i] - nrm[i] * w * 0.36]))
        if segs:
            cv2.polylines(teeth, segs, False, 255, max(1, int(round(0.5 * u))), cv2.LINE_AA, SHIFT)
        relief = np.zeros((sc.C, sc.C), np.float32)
        sl = np.nonzero(teeth)
        relief[sl] = teeth[sl].astype(np.float32) * (0.35 * u / 255.0)
        seal.add(tm, col * 0.97, base=0.8 * u, bevel=max(1.0, 0.16 * w), profile="round", spec=0.35, shininess=28,
                 relief=relief)
        # flag with printed serial, then the locking body
        rows = [("text", p["brand"], 0.8, p["font"]), ("text", p["serial"], 1.2, p["font"])]
        if p["has_barcode"]:
            rows.append(("barcode", "", 0.9, 0))
        patch, scale = printed_patch(u, p["fw"], p["fh"], col, p["ink"], rows, p["bar_seed"])
        fc = sc.px(g["flag_c"])
        alb = place_patch(patch, fc, sc.ang(p["tilt"]), (sc.C, sc.C), scale)
        flag_poly = sc.px(g["flag"])
        flag_m = fill_poly(sc.blank(), flag_poly)
        seal.add(flag_m, alb, base=1.8 * u, bevel=0.9 * u, profile="flat", spec=0.3, shininess=30)
        inner = fill_poly(sc.blank(), rounded_rect(fc[0], fc[1], (p["fw"] - 2.4) * u, (p["fh"] - 2.4) * u, u,
                                                   sc.ang(p["tilt"])))
        seal.carve(inner, 0.35 * u)
        body_poly = sc.px(g["body"])
        body_m = fill_poly(sc.blank(), body_poly)
        seal.add(body_m, col * 0.93, base=2.6 * u, bevel=2.4 * u, profile="flat", spec=0.4, shininess=35)
        R = rot(p["tilt"])
        for fy in (-0.22, 0.22):
            a = sc.px(p["bc"] + R @ np.array([-p["bw"] * 0.3, p["bh"] * fy]))
            b = sc.px(p["bc"] + R @ np.array([p["bw"] * 0.3, p["bh"] * fy]))
            groove = polyline(sc.blank(), [a, b], max(1.0, 0.5 * u))
            seal.carve(groove, 0.4 * u)
        if defect == "crack":
            on_body = drng.random() < 0.6
            part, poly = (body_m, body_poly) if on_body else (flag_m, flag_poly)
            region = draw_crack(seal, sc, part, poly, drng, (0.5, 1.0), halo=fresh_colour(col))
        elif defect == "prised":
            bw, bh, bc = p["bw"], p["bh"], p["bc"]
            xs = drng.uniform(-0.25, 0.25) * bw
            gw = drng.uniform(2.2, 4.5)
            depth = drng.uniform(0.55, 0.95) * bh
            wedge = sc.px([bc + R @ np.array([xs - gw / 2, -bh / 2 - 0.5]),
                           bc + R @ np.array([xs + gw / 2, -bh / 2 - 0.5]),
                           bc + R @ np.array([xs + drng.uniform(-1, 1), -bh / 2 + depth])])
            wm = cv2.min(fill_poly(sc.blank(), wedge), body_m)
            halo = cv2.min(cv2.subtract(dilate(wm, max(1.5, 1.0 * u)), wm), body_m)
            seal.paint(halo, fresh_colour(col), 0.65)
            seal.paint(wm, (0.04, 0.04, 0.04), 1.0)
            seal.carve(wm, 2.5 * u)
            marks = sc.blank()
            for _ in range(int(drng.integers(2, 4))):
                c0 = sc.px(bc + R @ np.array([xs + drng.uniform(-4, 4), -bh / 2 + drng.uniform(0.5, 3)]))
                a = drng.uniform(0, np.pi)
                polyline(marks, [c0, c0 + drng.uniform(2, 4) * u * np.array([np.cos(a), np.sin(a)])], max(1.0, 0.4 * u))
            seal.paint(cv2.min(marks, body_m), fresh_colour(col), 0.8)
            region = cv2.max(region, dilate(body_m, max(2.0, 1.5 * u)))
        if defect == "missing":
            return dilate(seal.coverage(), max(2.0, 1.2 * u))
        seal.render_onto(sc.canvas, sc.light, p["elev"] * u)
        return region if defect else None


# ==============================================================================================
# steel cable seal


class Cable:
    """Steel cable loop locked in a body (see module docstring)."""

    name = "cable"
    defects = ("cut", "frayed", "crack", "missing")

    def plan(self, rng: np.random.Generator, background: str) -> dict:
        """Every scene-level random choice for one cable seal, in millimetres."""
        fxt = plan_loop_fixture(rng, background)
        d = rng.uniform(2.5, 5.0)
        alu = rng.random() < 0.55
        cname, col, ink = PLASTICS[int(rng.integers(len(PLASTICS)))]
        if alu:
            col, ink = (0.74, 0.75, 0.77), (0.25, 0.25, 0.27)
        p = dict(fixture=fxt, d=d, w=d * 2.2, alu=alu, colour=np.array(col, np.float32), ink=ink,
                 steel=np.array([0.62, 0.63, 0.64], np.float32) * rng.uniform(0.85, 1.08),
                 bw=rng.uniform(14, 20), bh=rng.uniform(24, 34), tilt=rng.uniform(-0.45, 0.45),
                 bc=np.array([rng.uniform(-15, 15), rng.uniform(45, 80)]), front="A" if rng.random() < 0.5 else "B",
                 sag=(-rng.uniform(3, 14), rng.uniform(3, 14)), tail_len=rng.uniform(8, 45),
                 tail_bend=rng.uniform(-0.8, 0.8), lay=float(rng.choice([-1, 1])), serial=make_serial(rng),
                 brand=BRANDS[int(rng.integers(len(BRANDS)))], font=FONTS[int(rng.integers(3))],
                 has_barcode=rng.random() < 0.3, bar_seed=int(rng.integers(2**31)), elev=rng.uniform(3, 7))
        p["x_front"], p["x_back"] = _plan_leg_x(rng, fxt, d * 1.6)
        g = self.geometry(p)
        p["extent"] = _bbox([spline(g["A"], 2.0), spline(g["B"], 2.0), spline(g["tail"], 2.0), g["body"],
                             loop_fixture_extent(fxt)], d + 3)
        return p

    def geometry(self, p: dict) -> dict:
        """Millimetre geometry of legs, tail and body."""
        R = rot(p["tilt"])
        bc, bw, bh = p["bc"], p["bw"], p["bh"]
        up = R @ np.array([0.0, -1.0])
        ta = bc + R @ np.array([-bw * 0.24, -bh / 2 + 2.0])
        tb = bc + R @ np.array([bw * 0.24, -bh / 2 + 2.0])
        leg_a, leg_b = _loop_legs(p, p["fixture"], ta, up, tb, up)
        down = -up
        t0 = bc + R @ np.array([bw * 0.22 * p["lay"], bh / 2 - 2.0])
        bend = rot(p["tail_bend"]) @ down
        tail = [t0, t0 + down * 6, t0 + down * 6 + bend * p["tail_len"]]
        body = rounded_rect(bc[0], bc[1], bw, bh, 3.0, p["tilt"])
        return dict(A=leg_a, B=leg_b, tail=tail, body=body)

    def _cable(self, seal, sc: Scene, pts: np.ndarray, p: dict) -> np.ndarray:
        u = sc.u
        d = p["d"] * u
        m = ribbon(sc.blank(), pts, d)
        if len(pts) < 2:
            return m
        s = arclength(pts)
        tang = np.gradient(pts, axis=0)
        tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1])[:, None], 1e-9)
        r = rot(0.95 * p["lay"])
        segs = []
        for k in np.arange(0.0, s[-1], max(2.0, 0.75 * d)):
            i = int(np.searchsorted(s, k))
            i = min(i, len(pts) - 1)
            dr = r @ tang[i]
            segs.append(fx([pts[i] - dr * d * 0.75, pts[i] + dr * d * 0.75]))
        grooves = sc.blank()
        cv2.polylines(grooves, segs, False, 255, max(1, int(round(0.16 * d))), cv2.LINE_AA, SHIFT)
        grooves = cv2.min(grooves, m)
        relief = np.zeros((sc.C, sc.C), np.float32)
        nz = np.nonzero(grooves)
        relief[nz] = grooves[nz].astype(np.float32) * (-0.3 * d / 255.0)
        seal.add(m, p["steel"], base=1.5 * u, bevel=d / 2, profile="round", spec=0.8, shininess=40, relief=relief)
        seal.paint(grooves, p["steel"] * 0.45, 0.5)
        return m

    def _wires(self, seal, sc: Scene, mask: np.ndarray) -> None:
        # freshly broken strands are bright, unweathered steel
        seal.add(mask, (0.93, 0.93, 0.94), base=2.0 * sc.u, bevel=1.0, profile="round", spec=1.2, shininess=60)

    def draw(self, p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
        """Draw hasp and seal (with ``defect`` applied); returns the defect mask or None."""
        u = sc.u
        d = p["d"] * u
        draw_loop_fixture(sc, p["fixture"])
        g = self.geometry(p)
        seal = sc.layer()
        legs = {"A": spline(sc.px(g["A"]), 1.0), "B": spline(sc.px(g["B"]), 1.0)}
        region = sc.blank()
        hit = ("A" if drng.random() < 0.5 else "B") if defect in ("cut", "frayed") else None
        order = ["B", "A"] if p["front"] == "A" else ["A", "B"]
        wire_t = max(1.0, 0.35 * u)
        for name in order:
            pts = legs[name]
            if name != hit:
                self._cable(seal, sc, pts, p)
                continue
            crange = (0.2, 0.6) if name == "A" else (0.4, 0.8)
            if defect == "cut":
                gap = max(drng.uniform(2.5, 6.0) * d, 8 * u)
                before, after, (s0, s1) = split_polyline(pts, drng, crange, gap)
                off = drng.uniform(1.0, 3.0) * d * drng.choice([-1, 1])
                before = spring_apart(before, True, off, 8 * u)
                after = spring_apart(after, False, -off * drng.uniform(0.2, 1.0), 8 * u)
                wires = sc.blank()
                for piece, at_end in ((before, True), (after, False)):
                    if len(piece) < 2:
                        continue
                    self._cable(seal, sc, piece, p)
                    e = piece[-1] if at_end else piece[0]
                    t = (piece[-1] - piece[-2]) if at_end else (piece[0] - piece[1])
                    t = t / max(np.hypot(*t), 1e-9)
                    splay_wires(wires, e, t, int(drng.integers(4, 9)), (0.8 * d, 2.5 * d), 0.8, wire_t, drng, d * 0.25)
                    cap = sc.blank()
                    cv2.circle(cap, tuple(fx(e)), fr(d * 0.45), 255, -1, cv2.LINE_AA, SHIFT)
                    seal.paint(cap, (0.9, 0.9, 0.9), 0.9)
                self._wires(seal, sc, wires)
                region = cv2.max(ribbon_region(sc, stretch(pts, s0 - 1.5 * d, s1 + 1.5 * d), 3.5 * d + 4 * abs(off)),
                                 dilate(wires, max(2.0, 1.2 * u)))
            else:
                m = self._cable(seal, sc, pts, p)
                s = arclength(pts)
                c = drng.uniform(*crange) * s[-1]
                i = int(np.clip(np.searchsorted(s, c), 1, len(pts) - 2))
                t = pts[i + 1] - pts[i - 1]
                t /= max(np.hypot(*t), 1e-9)
                n = np.array([-t[1], t[0]]) * drng.choice([-1, 1])
                depth = drng.uniform(0.45, 0.8) * d
                ln = drng.uniform(0.8, 1.6) * d
                ctr = pts[i]
                inner = ctr + n * (d / 2 - depth)
                notch = fill_poly(sc.blank(), [ctr + n * d * 0.7 - t * ln / 2, ctr + n * d * 0.7 + t * ln / 2,
                                               inner + t * ln / 4, inner - t * ln / 4])
                notch = cv2.min(notch, m)
                seal.paint(notch, (0.12, 0.12, 0.12), 0.85)
                seal.carve(notch, 0.5 * d)
                wires = sc.blank()
                for _ in range(int(drng.integers(8, 16))):
                    o = ctr + t * drng.uniform(-1.0, 1.0) * d + n * drng.uniform(0.0, 0.5) * d
                    dirn = rot(drng.uniform(-1.3, 1.3)) @ n
                    splay_wires(wires, o, dirn, 1, (1.5 * d, max(5.0 * d, 6 * u)), 0.2, max(wire_t, 1.3), drng)
                self._wires(seal, sc, wires)
                region = dilate(cv2.max(wires, notch), max(2.0, 1.5 * u))
        tail = spline(sc.px(g["tail"]), 1.0)
        self._cable(seal, sc, tail, p)
        ball = sc.blank()
        cv2.circle(ball, tuple(fx(tail[-1])), fr(d * 0.62), 255, -1, cv2.LINE_AA, SHIFT)
        seal.add(ball, p["steel"] * 1.1, base=1.5 * u, bevel=d * 0.6, profile="round", spec=0.9, shininess=50)
        # locking body with stamped/printed serial running along it
        rows = [("text", p["brand"], 0.8, p["font"]), ("text", p["serial"], 1.1, p["font"])]
        if p["has_barcode"]:
            rows.append(("barcode", "", 0.8, 0))
        patch, scale = printed_patch(u, p["bh"], p["bw"], p["colour"], p["ink"], rows, p["bar_seed"])
        bc = sc.px(p["bc"])
        alb = place_patch(patch, bc, sc.ang(p["tilt"]) + np.pi / 2, (sc.C, sc.C), scale)
        body_poly = sc.px(g["body"])
        body_m = fill_poly(sc.blank(), body_poly)
        seal.add(body_m, alb, base=3.0 * u, bevel=2.2 * u, profile="flat", spec=0.7 if p["alu"] else 0.35,
                 shininess=40 if p["alu"] else 30)
        if defect == "crack":
            halo = (0.9, 0.9, 0.92) if p["alu"] else fresh_colour(p["colour"])
            region = draw_crack(seal, sc, body_m, body_poly, drng, (0.5, 1.0), halo=halo)
        if defect == "missing":
            return dilate(seal.coverage(), max(2.0, 1.2 * u))
        seal.render_onto(sc.canvas, sc.light, p["elev"] * u)
        return region if defect else None


# ==============================================================================================
# bolt seal


class Bolt:
    """Bolt seal through a container handle catch (see module docstring)."""

    name = "bolt"
    defects = ("cut", "crack", "prised", "missing")

    def plan(self, rng: np.random.Generator, background: str) -> dict:
        """Every scene-level random choice for one bolt seal, in millimetres (bolt frame, y along the bolt)."""
        lugs = plan_lugs(rng, background)
        cname, col, ink = PLASTICS[int(rng.integers(len(PLASTICS) - 2))]
        p = dict(lugs=lugs, r=rng.uniform(3.5, 4.6), hd=rng.uniform(15, 21), hh=rng.uniform(8, 13),
                 head_coated=rng.random() < 0.65, visible=rng.uniform(10, 22), bd=rng.uniform(17, 24),
                 bl=rng.uniform(36, 52), collar=rng.uniform(3, 5), tilt=rng.uniform(-0.3, 0.3),
                 colour=np.clip(np.array(col) + rng.uniform(-0.04, 0.04, 3), 0, 1), ink=ink,
                 steel=np.array([0.64, 0.65, 0.67], np.float32) * rng.uniform(0.85, 1.08),
                 serial=make_serial(rng), brand=BRANDS[int(rng.integers(len(BRANDS)))],
                 font=FONTS[int(rng.integers(3))], has_barcode=rng.random() < 0.55, bar_seed=int(rng.integers(2**31)))
        yb = lug_spans(lugs)[-1][1] + p["visible"]
        p["yb"] = yb
        half = max(p["bd"], lugs["w"] + 2 * abs(lugs["dx"]), p["hd"]) / 2
        corners = np.array([[-half, -p["hh"] - 2], [half, -p["hh"] - 2], [half, yb + p["bl"] + 2],
                            [-half, yb + p["bl"] + 2]])
        p["extent"] = _bbox([corners @ rot(p["tilt"]).T], 2.0)
        return p

    def draw(self, p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
        """Draw catch and bolt seal (with ``defect`` applied); returns the defect mask or None."""
        if p.get("bolt13"):  # generator 1.3's bolt (training/seals/bolt13.py); this drawing is 1.2's
            from training.seals.bolt13 import draw13

            return draw13(p, sc, defect, drng)
        u = sc.u
        frame = Frame(sc, p["tilt"])
        lugs = p["lugs"]
        draw_lug_back(sc, lugs, frame)
        r, yb = p["r"], p["yb"]
        region = sc.blank()
        shank = sc.layer()
        pieces = [(-p["hh"] * 0.4, yb + 3.0, 0.0, False, False)]
        if defect == "cut":
            spans = lug_spans(lugs)
            sections = [(spans[-1][1], yb)]
            if len(spans) == 2:
                sections.append((spans[0][1], spans[1][0]))
            y0, y1 = sections[int(drng.integers(len(sections)))]
            g = drng.uniform(4.0, 8.0)
            c = drng.uniform(y0 + 2.0 + g / 2, max(y0 + 2.0 + g / 2, y1 - 2.0 - g / 2))
            shift = drng.uniform(0.3, 0.8) * r * drng.choice([-1, 1])  # the pieces no longer line up
            pieces = [(-p["hh"] * 0.4, c - g / 2, 0.0, False, True), (c + g / 2, yb + 3.0, shift, True, False)]
            box = frame([(-r - 2.5, c - g / 2 - 2.5), (r + 2.5, c - g / 2 - 2.5), (r + 2.5, c + g / 2 + 2.5),
                         (-r - 2.5, c + g / 2 + 2.5)])
            region = fill_poly(sc.blank(), box)
        shank_cov = sc.blank()
        for y0, y1, dx, cut_top, cut_bottom in pieces:
            pinch = 1.6
            poly = [(dx - r, y0), (dx + r, y0)] if not cut_top else \
                [(dx - r * 0.55, y0), (dx + r * 0.55, y0), (dx + r, y0 + pinch)]
            poly += [(dx + r, y1)] if not cut_bottom else \
                [(dx + r, y1 - pinch), (dx + r * 0.55, y1), (dx - r * 0.55, y1)]
            poly += [(dx - r, y1)] if not cut_bottom else [(dx - r, y1 - pinch)]
            if cut_top:
                poly += [(dx - r, y0 + pinch)]
            m = fill_poly(sc.blank(), frame(poly))
            shank.add(m, p["steel"], base=2 * u, bevel=r * u, profile="round", spec=0.9, shininess=50)
            shank_cov = cv2.max(shank_cov, m)
            for is_cut, yy in ((cut_top, y0), (cut_bottom, y1)):
                if is_cut:
                    face = fill_poly(sc.blank(), frame([(dx - r, yy - 0.9), (dx + r, yy - 0.9), (dx + r, yy + 0.9),
                                                       (dx - r, yy + 0.9)]))
                    face = cv2.min(face, m)
                    shank.paint(face, (0.97, 0.96, 0.92), 0.95)
                    shank.set_surface(face, 1.3, 80)
        missing = defect == "missing"
        if not missing:
            shank.render_onto(sc.canvas, sc.light, 6 * u)
        draw_lugs(sc, lugs, frame, r, filled=not missing)
        hb = sc.layer()
        head_poly = frame(rounded_rect(0, -p["hh"] / 2, p["hd"], p["hh"], p["hh"] * 0.45))
        hm = fill_poly(sc.blank(), head_poly)
        hcol = p["colour"] if p["head_coated"] else p["steel"]
        hb.add(hm, hcol, base=4 * u, bevel=min(p["hd"], p["hh"]) * 0.5 * u, profile="round",
               spec=0.45 if p["head_coated"] else 0.9, shininess=30 if p["head_coated"] else 50)
        bc = frame((0.0, yb + p["bl"] / 2))
        band, scale = bolt_print_band(p, u)
        alb = place_patch(band, bc, frame.angle + np.pi / 2, (sc.C, sc.C), scale)
        barrel_poly = frame(rounded_rect(0, yb + p["bl"] / 2, p["bd"], p["bl"], 2.5))
        bm = fill_poly(sc.blank(), barrel_poly)
        hb.add(bm, alb, base=4 * u, bevel=p["bd"] * 0.5 * u, profile="round", spec=0.45, shininess=30)
        collar_poly = frame(rounded_rect(0, yb + (p["collar"] - 1) / 2, p["bd"] * 0.9, p["collar"] + 1, 0.8))
        cm = fill_poly(sc.blank(), collar_poly)
        hb.add(cm, p["steel"], base=4.5 * u, bevel=p["bd"] * 0.45 * u, profile="round", spec=1.0, shininess=60)
        if defect == "crack":
            lower = frame(rounded_rect(0, yb + p["collar"] + (p["bl"] - p["collar"]) / 2, p["bd"] * 0.9,
                                       p["bl"] - p["collar"] - 2, 2.0))
            region = draw_crack(hb, sc, cv2.subtract(bm, cm), lower, drng, (0.45, 0.95), core=(0.1, 0.1, 0.1),
                                halo=fresh_colour(p["colour"]), halo_strength=0.5)
            if drng.random() < 0.5:
                cc = np.asarray(lower).mean(axis=0) + drng.normal(0, 3 * u, 2)
                rad = drng.uniform(1.5, 3.5) * u
                ang = np.linspace(0, 2 * np.pi, 7, endpoint=False)
                chip = [cc + rad * drng.uniform(0.6, 1.2) * np.array([np.cos(a), np.sin(a)]) for a in ang]
                cm2 = cv2.min(fill_poly(sc.blank(), chip), bm)
                hb.paint(cm2, p["steel"] * 0.85, 1.0)
                hb.set_surface(cm2, 0.9, 50)
                hb.carve(cm2, 0.6 * u)
                region = cv2.max(region, dilate(cm2, max(2.0, 1.2 * u)))
        elif defect == "prised":
            region = prised_barrel(hb, sc, frame, p, bm, cm, drng)
        if missing:
            return dilate(cv2.max(shank_cov, hb.coverage()), max(2.0, 1.2 * u))
        hb.render_onto(sc.canvas, sc.light, 7 * u)
        return region if defect else None


# ==============================================================================================
# adhesive tamper-evident label / security tape


_LABEL_COLOURS = [((0.95, 0.95, 0.93), (0.75, 0.08, 0.08)), ((0.78, 0.1, 0.1), (0.97, 0.97, 0.95)),
                  ((0.1, 0.25, 0.65), (0.97, 0.97, 0.95)), ((0.95, 0.8, 0.1), (0.05, 0.05, 0.05)),
                  ((0.95, 0.95, 0.93), (0.1, 0.2, 0.55)), ((0.72, 0.73, 0.75), (0.05, 0.05, 0.05)),
                  ((0.95, 0.5, 0.1), (0.05, 0.05, 0.05))]
_HEADERS = ["SECURITY SEAL", "TAMPER EVIDENT", "SECURITY LABEL", "DO NOT REMOVE", "SEALED"]
_FOOTERS = ["VOID IF REMOVED", "DO NOT ACCEPT IF OPENED", "DO NOT REMOVE", "TAMPER EVIDENT"]


class Adhesive:
    """Tamper-evident adhesive label or security tape across a seam (see module docstring)."""

    name = "adhesive_label"
    defects = ("lifted_void", "cut", "missing")

    def plan(self, rng: np.random.Generator, background: str) -> dict:
        """Every scene-level random choice for one adhesive seal, in millimetres."""
        tape = rng.random() < 0.35
        seam_angle = rng.uniform(-0.3, 0.3) + (np.pi / 2 if rng.random() < 0.5 else 0.0)
        bg, fg = _LABEL_COLOURS[int(rng.integers(len(_LABEL_COLOURS)))]
        if tape:
            W = rng.uniform(40, 60)
            L = W * 2.4
            angle = seam_angle + np.pi / 2 + rng.uniform(-0.1, 0.1)
            along = 0.0
        else:
            L, W = rng.uniform(70, 130), rng.uniform(28, 55)
            angle = seam_angle + np.pi / 2 + rng.uniform(-0.25, 0.25)
            along = rng.uniform(-0.2, 0.2) * L
        centre = rot(angle) @ np.array([along, 0.0])
        p = dict(tape=tape, seam=plan_seam(rng), seam_angle=seam_angle, L=L, W=W, angle=angle, centre=centre,
                 bg=np.clip(np.array(bg) + rng.uniform(-0.03, 0.03, 3), 0, 1), fg=fg,
                 radius=rng.uniform(1, 5), header=_HEADERS[int(rng.integers(len(_HEADERS)))],
                 footer=_FOOTERS[int(rng.integers(len(_FOOTERS)))], serial=make_serial(rng),
                 font=FONTS[int(rng.integers(3))], has_barcode=rng.random() < 0.6, border=rng.random() < 0.5,
                 bar_seed=int(rng.integers(2**31)), word="VOID" if rng.random() < 0.7 else "OPENED",
                 void_h=rng.uniform(3.0, 5.5), diagonal=rng.random() < 0.5, void_seed=int(rng.integers(2**31)),
                 wrinkles=int(rng.integers(0, 3)), wrinkle_seed=int(rng.integers(2**31)))
        corners = rounded_rect(centre[0], centre[1], L, W, 0.1, angle, n=2)
        p["extent"] = _bbox([corners], 4.0)
        return p

    def _patch(self, p: dict, u: float, length_mm: float) -> tuple[np.ndarray, float]:
        if p["tape"]:
            r = max(u * 1.2, 2.5)
            W_px, H_px = int(round(length_mm * r)), int(round(p["W"] * r))
            img = np.empty((H_px, W_px, 3), np.float32)
            img[:] = p["bg"]
            col = tuple(float(c) for c in p["fg"])
            text = f"{p['header']}  {p['serial']}"
            seg = p["W"] * r * 0.3 * len(text) * 0.7
            t = max(1, int(round(1.2 * r)))
            cv2.line(img, (0, t * 2), (W_px, t * 2), col, t)
            cv2.line(img, (0, H_px - 1 - t * 2), (W_px, H_px - 1 - t * 2), col, t)
            x = (W_px / 2) % seg - seg
            while x < W_px:
                put_text_fit(img, text, (x, H_px * 0.3, seg * 0.85, H_px * 0.4), col, p["font"])
                x += seg
            return img, u / r
        rows = [("text", p["header"], 1.0, p["font"]), ("text", p["serial"], 1.1, p["font"])]
        if p["has_barcode"]:
            rows.append(("barcode", "", 1.0, 0))
        rows.append(("text", p["footer"], 0.6, cv2.FONT_HERSHEY_SIMPLEX))
        return printed_patch(u, p["L"], p["W"], p["bg"], p["fg"], rows, p["bar_seed"],
                             border=p["fg"] if p["border"] else None)

    def draw(self, p: dict, sc: Scene, defect: str | None, drng: np.random.Generator) -> np.ndarray | None:
        """Draw seam and label (with ``defect`` applied); returns the defect mask or None."""
        u = sc.u
        seam_m = draw_seam(sc, p["seam_angle"], p["seam"])
        L = 3.0 * sc.C / u if p["tape"] else p["L"]
        W = p["W"]
        frame = Frame(sc, p["angle"], p["centre"])
        poly_mm = rounded_rect(0, 0, L, W, 0.0 if p["tape"] else p["radius"])
        label_px = frame(poly_mm)
        lm = fill_poly(sc.blank(), label_px)
        c_px = frame((0.0, 0.0))
        patch_len = min(L, 1.6 * sc.C / u) if p["tape"] else L
        patch, scale = self._patch(p, u, patch_len)
        alb = place_patch(patch, c_px, sc.ang(p["angle"]), (sc.C, sc.C), scale)
        pattern = None
        if defect is not None:
            # The residue pattern belongs to the label (its own seed), it is only revealed by damage.
            vr = max(u, 4.0)
            vpatch = void_patch(int(round(patch_len * vr)), int(round(W * vr)), p["word"], p["void_h"] * vr,
                                np.random.default_rng(p["void_seed"]), p["diagonal"])
            pattern = place_patch(vpatch, c_px, sc.ang(p["angle"]), (sc.C, sc.C), u / vr)
        label = sc.layer()
        label.add(lm, alb, base=0.3 * u, bevel=max(0.6, 0.25 * u), profile="flat", spec=0.35, shininess=45)
        sag = cv2.min(seam_m, lm)
        label.carve(sag, 0.5 * u)
        label.paint(sag, p["bg"] * 0.6, 0.3)
        wr = np.random.default_rng(p["wrinkle_seed"])
        for _ in range(p["wrinkles"]):
            a = frame((wr.uniform(-L / 2, L / 2) if not p["tape"] else wr.uniform(-W, W), -W / 2))
            across = rot(sc.ang(p["angle"]) + np.pi / 2 + wr.uniform(-0.5, 0.5))
            b = a + across @ np.array([W * wr.uniform(0.3, 0.9) * u, 0])
            wm = cv2.min(polyline(sc.blank(), [a, b], max(1.0, 0.8 * u)), lm)
            label.carve(wm, -0.4 * u)
        region = sc.blank()
        flap_layer = None
        if defect == "lifted_void":
            if p["tape"]:
                sy = drng.choice([-1, 1])
                x0 = drng.uniform(-0.6, 0.6) * W
                ln = drng.uniform(0.5, 1.3) * W
                b1, b2 = drng.uniform(0.3, 0.8) * W, drng.uniform(0.3, 0.8) * W
                inner_a = np.array([x0, sy * (W / 2 - b1)])
                inner_b = np.array([x0 + ln, sy * (W / 2 - b2)])
                reg_mm = np.array([(x0, sy * W / 2), (x0 + ln, sy * W / 2), inner_b, inner_a])
            else:
                sx, sy = drng.choice([-1, 1]), drng.choice([-1, 1])
                a = drng.uniform(0.18, 0.5) * L
                b = drng.uniform(0.35, 1.0) * W
                inner_a = np.array([sx * (L / 2 - a), sy * W / 2])
                inner_b = np.array([sx * L / 2, sy * (W / 2 - b)])
                corner = np.array([sx * L / 2, sy * W / 2])
                reg_mm = clip_halfplane(poly_mm, inner_a, self._toward(inner_a, inner_b, corner))
            corner = reg_mm.mean(axis=0)
            n = self._toward(inner_a, inner_b, corner)
            reg_px = frame(reg_mm)
            rm = cv2.min(fill_poly(sc.blank(), reg_px), lm)
            apply_residue(sc.canvas, rm, pattern, p["bg"], drng.uniform(0.6, 0.9))
            label.erase(rm)
            region = rm
            if drng.random() < 0.75:
                k = drng.uniform(0.25, 0.9)
                flap_mm = fold(reg_mm, inner_a, n, k)
                fm = fill_poly(sc.blank(), frame(flap_mm))
                back = np.array([0.9, 0.9, 0.87] if drng.random() < 0.6 else [0.74, 0.75, 0.78], np.float32)
                flap_alb = back * (1.0 - 0.12 * pattern[..., None]) if drng.random() < 0.5 else back
                n_px = rot(sc.ang(p["angle"])) @ n
                slope = drng.uniform(0.3, 0.9)
                flap_layer = sc.layer()
                flap_layer.add(fm, flap_alb, base=1.0 * u, bevel=max(0.6, 0.3 * u), profile="flat", spec=0.3,
                               shininess=30, tilt=(float(-n_px[0] * slope), float(-n_px[1] * slope)))
                region = cv2.max(region, fm)
                flap_elev = drng.uniform(2, 6) * u * k
        elif defect == "cut":
            sa = sc.ang(p["seam_angle"])
            d = np.array([np.cos(sa), np.sin(sa)])
            nrm = np.array([-d[1], d[0]])
            c = sc.px((0, 0)) + nrm * p["seam"]["offset"] * u
            half = drng.uniform(2.0, 5.0) * u
            ts = np.linspace(-1.5 * sc.C, 1.5 * sc.C, 160)
            jag = drng.uniform(0.3, 1.2)
            side1 = [c + d * t + nrm * (half + abs(drng.normal(0, jag * u))) for t in ts]
            side2 = [c + d * t - nrm * (half + abs(drng.normal(0, jag * u))) for t in ts[::-1]]
            band = cv2.min(fill_poly(sc.blank(), side1 + side2), lm)
            apply_residue(sc.canvas, band, pattern, p["bg"], drng.uniform(0.6, 0.9))
            # torn edges show the white face stock and curl up a little
            edge = cv2.min(cv2.subtract(dilate(band, max(1.5, 0.9 * u)), band), lm)
            label.paint(edge, (0.98, 0.98, 0.96), 0.9)
            label.carve(cv2.min(dilate(band, max(2.0, 2.0 * u)), lm), -0.3 * u)
            label.erase(band)
            region = cv2.min(dilate(band, max(2.0, 1.0 * u)), dilate(lm, 1))
        elif defect == "missing":
            mottle = np.clip(0.55 + 0.6 * _mottle(drng, sc.C, u), 0, 1)
            apply_residue(sc.canvas, lm, pattern * mottle, p["bg"], drng.uniform(0.5, 0.85))
            frags = sc.layer()
            for _ in range(int(drng.integers(0, 4))):
                # Scraps of label that tore off and stayed on the surface at the edge.
                t = drng.uniform(0, 1)
                i = int(t * (len(label_px) - 1))
                e = label_px[i]
                rad = drng.uniform(1.5, 4.0) * u
                ang = np.linspace(0, 2 * np.pi, 6, endpoint=False)
                poly = [e + rad * drng.uniform(0.5, 1.2) * np.array([np.cos(a), np.sin(a)]) for a in ang]
                fm = cv2.min(fill_poly(sc.blank(), poly), lm)
                frags.add(fm, alb, base=0.3 * u, bevel=0.6, profile="flat", spec=0.3, shininess=40)
            frags.render_onto(sc.canvas, sc.light, 0.5 * u)
            return dilate(lm, max(2.0, 1.0 * u))
        label.render_onto(sc.canvas, sc.light, 0.8 * u)
        if flap_layer is not None:
            flap_layer.render_onto(sc.canvas, sc.light, flap_elev)
        return region if defect else None

    @staticmethod
    def _toward(a: np.ndarray, b: np.ndarray, target: np.ndarray) -> np.ndarray:
        v = b - a
        n = np.array([-v[1], v[0]]) / max(np.hypot(*v), 1e-9)
        return n if np.dot(target - a, n) >= 0 else -n


def _mottle(drng: np.random.Generator, C: int, u: float) -> np.ndarray:
    return noise(drng, (C, C), 6 * u, 2)


def bolt_print_band(p: dict, u: float) -> tuple[np.ndarray, float]:
    """A bolt seal's barrel print (serial, optional barcode, brand) and its scale, squeezed to the
    middle 60% of the barrel's width: print sits on the front of the cylinder, the sides stay plain
    coating (generators 1.2 and 1.3)."""
    rows = [("text", p["serial"], 1.2, p["font"]), ("text", p["brand"], 0.8, p["font"])]
    if p["has_barcode"]:
        rows.insert(1, ("barcode", "", 0.9, 0))
    patch, scale = printed_patch(u, p["bl"], p["bd"], p["colour"], p["ink"], rows, p["bar_seed"])
    patch = np.ascontiguousarray(patch)
    h = patch.shape[0]
    band = patch.copy()
    band[:] = np.asarray(p["colour"], np.float32)
    band[int(h * 0.2):int(h * 0.8)] = cv2.resize(patch, (patch.shape[1], int(h * 0.8) - int(h * 0.2)),
                                                interpolation=cv2.INTER_AREA)
    return band, scale


def prised_barrel(hb, sc: Scene, frame: Frame, p: dict, bm, cm, drng) -> np.ndarray:
    """A bolt seal's prised barrel (generators 1.2 and 1.3): the coating torn open at the collar, a dark
    separation, gouges; returns the defect's region."""
    u, yb = sc.u, p["yb"]
    y_top = yb + p["collar"]
    xc = drng.uniform(-0.25, 0.25) * p["bd"]
    tw, depth = drng.uniform(5, 10), drng.uniform(8, 18)
    pts = [(xc - tw / 2, y_top)]
    for k in range(1, 4):
        f = k / 4
        pts.append((xc - tw / 2 * (1 - f) + drng.uniform(-0.8, 0.8), y_top + depth * f))
    pts.append((xc + drng.uniform(-1, 1), y_top + depth))
    for k in range(3, 0, -1):
        f = k / 4
        pts.append((xc + tw / 2 * (1 - f) + drng.uniform(-0.8, 0.8), y_top + depth * f))
    pts.append((xc + tw / 2, y_top))
    tear = cv2.min(fill_poly(sc.blank(), frame(pts)), bm)
    sep_w = drng.uniform(5, 9)
    sep = cv2.min(fill_poly(sc.blank(), frame([(xc - sep_w, y_top), (xc + sep_w, y_top),
                                               (xc + sep_w, y_top + drng.uniform(0.9, 1.6)),
                                               (xc - sep_w, y_top + drng.uniform(0.9, 1.6))])), bm)
    hb.paint(cv2.subtract(dilate(tear, max(1.5, 0.8 * u)), tear), fresh_colour(p["colour"]), 0.6)
    hb.paint(tear, p["steel"] * 1.1, 1.0)
    hb.set_surface(tear, 1.0, 50)
    hb.carve(tear, 0.7 * u)
    hb.paint(sep, (0.04, 0.04, 0.04), 1.0)
    hb.carve(sep, 1.2 * u)
    gouges = sc.blank()
    for _ in range(int(drng.integers(2, 4))):
        a = frame((xc + drng.uniform(-4, 4), yb + drng.uniform(0, p["collar"])))
        ang = drng.uniform(0, np.pi)
        tip = a + drng.uniform(2, 4) * u * np.array([np.cos(ang), np.sin(ang)])
        polyline(gouges, [a, tip], max(1.0, 0.4 * u))
    hb.paint(cv2.min(gouges, cm), (0.98, 0.98, 0.96), 0.9)
    return dilate(cv2.max(cv2.max(tear, sep), cv2.min(gouges, cm)), max(2.0, 1.5 * u))


from training.seals.padlock import PlasticPadlock  # noqa: E402  (it reuses helpers defined above)

FAMILIES: dict[str, object] = {f.name: f for f in (PlasticStrip(), Bolt(), Cable(), Adhesive(), PlasticPadlock())}
