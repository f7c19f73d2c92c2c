"""Procedural backgrounds a seal is photographed against.

``BACKGROUNDS`` is a named list on purpose: a training config picks a subset and a held-out test split
uses a background never seen in training. Every renderer works in millimetres through ``u`` (canvas
pixels per millimetre), so corrugation pitch, cardboard flutes and wood grain keep their real size
whatever the zoom of the photo is, and in world orientation through ``theta`` (the photo's roll), so
dirt still runs down a door and printed text stays upright on the box, whatever way the photo is held.

Each renderer returns the lit canvas plus a small ``info`` dict that tells the fixture and seal code
what the surface is (steel, cardboard, wood, plastic) and which paint a handle or hasp on it would
plausibly carry.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.seals.canvas import (Layer, Light, barcode, blank, fill_poly, grid, noise, place_patch, polyline,
                                   put_text_fit, rounded_rect, shade, smoothstep)

BACKGROUNDS: tuple[str, ...] = (
    "steel_door_blue", "steel_door_red", "steel_door_green", "steel_door_grey", "steel_door_orange",
    "hasp_grey", "cardboard_brown", "cardboard_white", "wood_crate", "plastic_tote_blue",
)

_PAINTS = {
    "blue": [(0.13, 0.30, 0.55), (0.22, 0.47, 0.70), (0.09, 0.18, 0.36), (0.30, 0.55, 0.72)],
    "red": [(0.55, 0.10, 0.08), (0.66, 0.18, 0.12), (0.42, 0.09, 0.08), (0.50, 0.16, 0.14)],
    "green": [(0.12, 0.33, 0.20), (0.22, 0.42, 0.28), (0.10, 0.25, 0.18), (0.30, 0.45, 0.25)],
    "grey": [(0.45, 0.46, 0.46), (0.58, 0.58, 0.56), (0.34, 0.36, 0.37), (0.66, 0.66, 0.62)],
    "orange": [(0.85, 0.38, 0.08), (0.78, 0.30, 0.06), (0.90, 0.50, 0.12)],
}

_STENCILS = ["TLKU 304811 2", "MSCU 552190 7", "22G1", "45G1", "MAX GROSS 30480 KG", "TARE 2200 KG",
             "CSC SAFETY APPROVAL", "TCNU 118043 5", "NET 28280 KG", "CU. CAP. 33.2 M3"]
_BOX_PRINT = ["FRAGILE", "THIS SIDE UP", "HANDLE WITH CARE", "KEEP DRY", "BOX 24", "PACKED", "NO HOOKS",
              "MADE IN EU", "LOT 4471", "GROSS 18 KG", "ITEM 00912"]


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(0, len(options)))]


def _jitter(rng: np.random.Generator, color, amount: float = 0.04) -> np.ndarray:
    return np.clip(np.asarray(color, np.float32) + rng.uniform(-amount, amount, 3).astype(np.float32), 0.02, 0.98)


def _world(C: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Canvas pixel grids rotated into a frame at ``angle`` (x along it, y across it), in pixels."""
    xx, yy = grid(C, C)
    c, s = float(np.cos(angle)), float(np.sin(angle))
    return xx * c + yy * s, yy * c - xx * s


def _text_alpha(C: int, text: str, centre, height: float, angle: float, font=cv2.FONT_HERSHEY_SIMPLEX,
                bold: float = 1.2) -> np.ndarray:
    """Float coverage (C, C) of a line of text ``height`` px tall, centred at ``centre``, rotated."""
    ss = 3.0 if height < 30 else 1.5
    h = max(8, int(round(height * ss)))
    w = max(8, int(round(h * 0.62 * len(text))))
    m = np.zeros((h, w), np.uint8)
    put_text_fit(m, text, (0, 0, w, h), 255, font, bold=bold)
    return place_patch(m.astype(np.float32) * (1.0 / 255.0), centre, angle, (C, C), 1.0 / ss)


def _mix(alb: np.ndarray, alpha: np.ndarray, colour) -> None:
    """alb <- alb * (1 - alpha) + colour * alpha, in place."""
    alb += (np.asarray(colour, np.float32) - alb) * alpha[..., None]


def _scratches(rng, alb: np.ndarray, u: float, n: int, colours) -> None:
    C = alb.shape[0]
    masks = [blank((C, C)) for _ in colours]
    for _ in range(n):
        k = int(rng.integers(len(colours)))
        p0 = rng.uniform(0, C, 2)
        ang = rng.uniform(0, np.pi)
        ln = rng.uniform(8, 60) * u
        pts = [p0, p0 + ln * np.array([np.cos(ang), np.sin(ang)]) + rng.normal(0, 2 * u, 2)]
        polyline(masks[k], pts, max(1.0, rng.uniform(0.3, 1.0) * u), int(rng.integers(110, 230)))
    for m, col in zip(masks, colours):
        if m.any():
            _mix(alb, m.astype(np.float32) * (1.0 / 255.0), col)


def _steel_door(rng, C: int, u: float, light: Light, theta: float, paint: str, hasp: bool = False):
    col = _jitter(rng, _pick(rng, _PAINTS[paint]), 0.03)
    vertical_ribs = rng.random() < 0.5
    along, _ = _world(C, theta + (0.0 if vertical_ribs else np.pi / 2) + rng.normal(0, 0.03))
    period = rng.uniform(55, 110) * u
    depth = rng.uniform(3.0, 8.0) * u * (0.4 if hasp else 1.0)
    top = rng.uniform(0.28, 0.42)
    slope = (1 - 2 * top) / 2
    ph = (along * (1.0 / period) + rng.uniform(0, 1)) % 1.0
    # trapezoidal corrugation: flat crest, ramp, flat valley, ramp
    prof = np.clip(np.maximum((ph - top) * (-1.0 / slope) + 1.0, (ph - (2 * top + slope)) * (1.0 / slope)), 0, 1)
    prof = cv2.GaussianBlur(prof.astype(np.float32), (0, 0), max(0.6, 1.2 * u))
    coarse = noise(rng, (C, C), 40 * u)
    height = prof * depth + coarse * (1.5 * u)
    streak = noise(rng, (C, C), 5 * u, 1, stretch=9.0, angle=theta)
    fine = noise(rng, (C, C), 1.2 * u)
    factor = (1.0 + 0.06 * coarse) * (1.0 + 0.03 * fine)
    # Dirt runs down in streaks and gathers in the corrugation valleys.
    dirt = smoothstep(0.0, 1.0, streak + 0.6 * (1.0 - prof) - 0.4) * rng.uniform(0.05, 0.35)
    alb = col * (factor * (1.0 - dirt))[..., None]
    alb += np.array([0.28, 0.25, 0.2], np.float32) * dirt[..., None]
    # Most doors show little rust; a few are badly corroded, mostly in the valleys.
    rust_amt = rng.uniform(0, 1) ** 3
    rn = noise(rng, (C, C), 6 * u) + 0.35 * (1 - prof) + 0.3 * fine
    thr = 1.9 - 1.1 * rust_amt
    rm = smoothstep(thr, thr + 0.25, rn)
    _mix(alb, rm, (0.40, 0.2, 0.09))
    _scratches(rng, alb, u, int(rng.integers(0, 10)), [(0.7, 0.7, 0.66), (0.2, 0.18, 0.16), (0.45, 0.25, 0.12)])
    if rng.random() < 0.35 and not hasp:
        a = _text_alpha(C, _pick(rng, _STENCILS), rng.uniform(0, C, 2), rng.uniform(35, 80) * u, theta,
                        bold=1.4)
        a *= smoothstep(-0.9, -0.2, coarse + 0.3 * fine - rng.uniform(0, 0.8)) * 0.85
        _mix(alb, a, _pick(rng, [(0.92, 0.92, 0.9), (0.95, 0.85, 0.2), (0.1, 0.1, 0.1)]))
    spec = 0.16 - 0.14 * rm
    canvas = shade(alb, height, light, spec, 14.0)
    info = dict(surface="steel", paint=col, rust=float(rust_amt))
    if hasp:
        _locking_gear(rng, canvas, C, u, light, theta, info)
    return canvas, info


def _locking_gear(rng, canvas: np.ndarray, C: int, u: float, light: Light, theta: float, info: dict) -> None:
    """Container door locking bars (vertical pipes) and their guide brackets, off to one side."""
    layer = Layer((C, C))
    n = noise(rng, (C, C), rng.uniform(3, 7) * u)
    galv = np.array([0.6, 0.61, 0.6], np.float32) * (1 + 0.08 * np.floor(n * 3) / 3)[..., None]
    d = np.array([-np.sin(theta), np.cos(theta)])  # world vertical on the canvas
    e = np.array([np.cos(theta), np.sin(theta)])
    centre = np.array([C / 2, C / 2])
    for _ in range(int(rng.integers(1, 3))):
        x = centre + e * rng.choice([-1, 1]) * rng.uniform(45, 110) * u
        r = rng.uniform(13, 17) * u
        far = d * 3 * C
        m = fill_poly(blank((C, C)), [x - far + e * r, x + far + e * r, x + far - e * r, x - far - e * r])
        layer.add(m, galv, base=0, bevel=r, profile="round", spec=0.45, shininess=25)
        for t in rng.uniform(-C / 2, C / 2, int(rng.integers(0, 3))):
            b0 = x + d * t
            bracket = rounded_rect(b0[0], b0[1], 2 * r + 18 * u, rng.uniform(20, 35) * u, 3 * u, theta)
            b = fill_poly(blank((C, C)), bracket)
            layer.add(b, galv * 0.92, base=r * 0.6, bevel=2 * u, profile="flat", spec=0.4, shininess=20)
    layer.render_onto(canvas, light, 10 * u)
    info["locking_bar"] = True


def _cardboard(rng, C: int, u: float, light: Light, theta: float, white: bool):
    base = _jitter(rng, (0.84, 0.83, 0.79) if white else (0.60, 0.44, 0.28), 0.04)
    box = theta + (0.0 if rng.random() < 0.5 else np.pi / 2)
    fib = noise(rng, (C, C), 0.8 * u, 1, stretch=5.0, angle=box)
    coarse = noise(rng, (C, C), 15 * u, 2)
    factor = 1.0 + 0.035 * fib + 0.06 * coarse
    if not white:
        factor *= 1.0 - 0.25 * smoothstep(1.2, 1.7, fib)
    alb = base * factor[..., None]
    along, _ = _world(C, box)
    height = np.sin(along * (2 * np.pi / (rng.uniform(7, 9) * u))) * (0.25 * u) + coarse * (1.2 * u)
    crease = blank((C, C))
    for _ in range(int(rng.integers(0, 3))):
        p0 = rng.uniform(0, C, 2)
        a = box + rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.05)
        polyline(crease, [p0 - 3 * C * np.array([np.cos(a), np.sin(a)]), p0 + 3 * C * np.array([np.cos(a), np.sin(a)])],
                 max(1, 1.2 * u))
    if crease.any():
        height -= cv2.GaussianBlur(crease.astype(np.float32), (0, 0), 1.5 * u) * (u / 255.0)
    spec = np.full((C, C), 0.03, np.float32)
    ink = _pick(rng, [(0.1, 0.1, 0.1), (0.55, 0.1, 0.1), (0.1, 0.2, 0.5)])
    for _ in range(int(rng.integers(0, 3))):
        a = _text_alpha(C, _pick(rng, _BOX_PRINT), rng.uniform(0, C, 2), rng.uniform(8, 30) * u, box, bold=1.2)
        _mix(alb, a * rng.uniform(0.6, 0.9), ink)
    if rng.random() < 0.3:
        # A shipping label: a printed distractor that is not a security seal.
        w, h = rng.uniform(60, 100) * u, rng.uniform(40, 70) * u
        ss = max(1.0, 4.0 / u)
        lbl = np.full((int(h * ss), int(w * ss), 3), 0.93, np.float32)
        barcode(lbl, (lbl.shape[1] * 0.1, lbl.shape[0] * 0.45, lbl.shape[1] * 0.8, lbl.shape[0] * 0.35),
                (0.05, 0.05, 0.05), rng)
        for k in range(3):
            cv2.rectangle(lbl, (int(lbl.shape[1] * 0.1), int(lbl.shape[0] * (0.1 + 0.1 * k))),
                          (int(lbl.shape[1] * rng.uniform(0.4, 0.9)), int(lbl.shape[0] * (0.15 + 0.1 * k))),
                          (0.2, 0.2, 0.2), -1)
        cx, cy = _away_from_centre(rng, C, 70 * u)
        ang = box + rng.uniform(-0.3, 0.3)
        tex = place_patch(lbl, (cx, cy), ang, (C, C), 1.0 / ss)
        m = fill_poly(blank((C, C)), rounded_rect(cx, cy, w, h, 2 * u, ang)).astype(np.float32) * (1.0 / 255.0)
        alb += (tex - alb) * m[..., None]
        spec += 0.15 * m
    if rng.random() < 0.45:
        # Brown or clear packing tape across the box.
        a0 = box + rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.1)
        d = np.array([np.cos(a0), np.sin(a0)])
        n = np.array([-d[1], d[0]])
        c = np.array([C / 2, C / 2]) + n * rng.uniform(-0.45, 0.45) * C
        w = rng.uniform(48, 72) * u / 2
        m = fill_poly(blank((C, C)), [c - d * 2 * C + n * w, c + d * 2 * C + n * w, c + d * 2 * C - n * w,
                                      c - d * 2 * C - n * w]).astype(np.float32) * (1.0 / 255.0)
        clear = rng.random() < 0.5
        tint = np.array([0.92, 0.9, 0.86] if clear else [0.62, 0.42, 0.2], np.float32)
        mix = 0.15 if clear else 0.55
        alb *= (1.0 + (tint - 1.0) * mix * m[..., None])
        spec += 0.47 * m
        height += m * (0.2 * u) + fib * (0.3 * u) * m
    canvas = shade(alb, height, light, spec, 30.0)
    return canvas, dict(surface="cardboard", paint=base)


def _away_from_centre(rng, C: int, dist: float) -> tuple[float, float]:
    a = rng.uniform(0, 2 * np.pi)
    r = dist + rng.uniform(0, C * 0.3)
    return C / 2 + r * np.cos(a), C / 2 + r * np.sin(a)


def _wood(rng, C: int, u: float, light: Light, theta: float):
    plank_dir = theta + (0.0 if rng.random() < 0.5 else np.pi / 2)
    along, across = _world(C, plank_dir)
    pw = rng.uniform(70, 140) * u
    off = rng.uniform(0, pw)
    plank = np.floor((across + off) * (1.0 / pw))
    local = (across + off) - plank * pw
    base = _jitter(rng, (0.62, 0.46, 0.3), 0.05)
    tone = 1.0 + 0.12 * np.sin(plank * 12.9898 + rng.uniform(0, 6.28))
    warp = noise(rng, (C, C), 25 * u, 2)
    ring_w = rng.uniform(1.5, 3.5) * u
    rings = np.sin((across + warp * (6 * u) + (3 * u) * np.sin(along * (1.0 / (40 * u)))) * (2 * np.pi / ring_w))
    grain = noise(rng, (C, C), 1.0 * u, 1, stretch=12.0, angle=plank_dir - np.pi / 2)
    gap = smoothstep(rng.uniform(1.0, 3.0) * u, 0.2 * u, np.minimum(local, pw - local))
    factor = tone * (1.0 - 0.07 * (rings > 0.6)) * (1.0 + 0.05 * grain) * (1.0 - 0.85 * gap)
    alb = base * factor.astype(np.float32)[..., None]
    height = gap * (-3 * u) + warp * (0.8 * u)
    for _ in range(int(rng.integers(0, 3))):
        cx, cy = rng.uniform(0, C, 2)
        r = rng.uniform(3, 9) * u
        k = blank((C, C))
        cv2.ellipse(k, (int(cx), int(cy)), (int(r * 2.5), int(r)), float(np.degrees(plank_dir)), 0, 360, 255, -1,
                    cv2.LINE_AA)
        _mix(alb, k.astype(np.float32) * (0.5 / 255.0), (0.3, 0.18, 0.1))
    if rng.random() < 0.3:
        a = _text_alpha(C, _pick(rng, ["HT DB", "ISPM 15", "FRAGILE", "NL-042"]), rng.uniform(0, C, 2), 22 * u,
                        plank_dir, cv2.FONT_HERSHEY_DUPLEX)
        _mix(alb, a * 0.8, (0.08, 0.07, 0.07))
    canvas = shade(alb, height, light, 0.04, 8.0)
    return canvas, dict(surface="wood", paint=base)


def _plastic_tote(rng, C: int, u: float, light: Light, theta: float):
    col = _jitter(rng, _pick(rng, [(0.1, 0.3, 0.62), (0.12, 0.38, 0.7), (0.08, 0.22, 0.45)]), 0.03)
    xw, yw = _world(C, theta)
    pitch = rng.uniform(25, 45) * u
    ribw = rng.uniform(3, 6) * u
    ox, oy = rng.uniform(0, pitch, 2)
    rx = np.abs(((xw + ox) % pitch) - pitch / 2) < ribw / 2
    ry = np.abs(((yw + oy) % (pitch * 1.6)) - pitch * 0.8) < ribw / 2
    ribs = cv2.GaussianBlur((rx | ry).astype(np.float32), (0, 0), 0.8 * u)
    coarse = noise(rng, (C, C), 25 * u)
    height = ribs * (2.5 * u) + noise(rng, (C, C), 0.6 * u) * (0.12 * u)
    alb = col * (1.0 + 0.04 * coarse)[..., None]
    _scratches(rng, alb, u, int(rng.integers(0, 8)), [(0.6, 0.65, 0.7), (0.05, 0.08, 0.12)])
    canvas = shade(alb, height, light, 0.22, 16.0)
    return canvas, dict(surface="plastic", paint=col)


def render_background(name: str, rng: np.random.Generator, C: int, u: float, light: Light, theta: float = 0.0):
    """Render background ``name`` on a C x C canvas at ``u`` px/mm, world rotated by ``theta`` on the
    canvas; returns (canvas, info).

    The surface is rendered at half resolution and upsampled: it is smooth at the millimetre scale, the
    camera focuses on the seal hanging in front of it, and it is the largest area to render.
    """
    h = max(16, (C + 1) // 2)
    k = h / C
    if name.startswith("steel_door_") and name[len("steel_door_"):] in _PAINTS:
        canvas, info = _steel_door(rng, h, u * k, light, theta, name[len("steel_door_"):])
    elif name == "hasp_grey":
        canvas, info = _steel_door(rng, h, u * k, light, theta, "grey", hasp=True)
    elif name in ("cardboard_brown", "cardboard_white"):
        canvas, info = _cardboard(rng, h, u * k, light, theta, white=name.endswith("white"))
    elif name == "wood_crate":
        canvas, info = _wood(rng, h, u * k, light, theta)
    elif name == "plastic_tote_blue":
        canvas, info = _plastic_tote(rng, h, u * k, light, theta)
    else:
        raise ValueError(f"unknown background {name!r}; choose from {', '.join(BACKGROUNDS)}")
    return cv2.resize(canvas, (C, C), interpolation=cv2.INTER_LINEAR), info
