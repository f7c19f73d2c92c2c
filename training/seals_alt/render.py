"""Draw one seal photo the second way: Pillow shapes on a 2x supersampled canvas, then a simple camera.

The drawing works in millimetres: ``_Pen`` maps (x, y) mm about the seal's centre to canvas pixels at
a sampled scale, so a seal model keeps its size and the framing decides how big it looks. A ``style``
(seal colour, print, plate finish) comes from its own generator: render with the same ``style_seed``
and every photo shows the same seal model, which is what a site profile is enrolled from.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

RENDERER_VERSION = "1.0"
KINDS: tuple[str, ...] = ("strip", "bolt", "label")
DEFECTS_BY_KIND: dict[str, tuple[str, ...]] = {
    "strip": ("cut_strip", "missing"),
    "bolt": ("cut_shank", "cracked_barrel", "missing"),
    "label": ("torn", "lifted_void", "missing"),
}
SURFACES_BY_KIND: dict[str, tuple[str, ...]] = {
    "strip": ("painted_steel", "galvanised", "rust"),
    "bolt": ("painted_steel", "rust", "galvanised"),
    "label": ("painted_steel", "rust", "cardboard"),
}
SURFACES: tuple[str, ...] = ("painted_steel", "galvanised", "rust", "cardboard")
# name -> (rgb gains, ambient level range, glare probability)
LIGHTS: dict[str, tuple[tuple[float, float, float], tuple[float, float], float]] = {
    "cool_led": ((0.93, 1.0, 1.1), (0.85, 1.05), 0.2),
    "tungsten": ((1.18, 0.98, 0.72), (0.7, 0.95), 0.15),
    "shade": ((0.95, 1.0, 1.06), (0.55, 0.75), 0.0),
    "noon_sun": ((1.04, 1.0, 0.94), (1.0, 1.2), 0.45),
    "phone_flash": ((1.0, 1.0, 1.02), (0.8, 1.1), 0.7),
}

_SEAL_COLOURS = [(214, 40, 40), (245, 200, 20), (30, 110, 200), (40, 160, 70), (240, 120, 20), (235, 235, 230),
                 (120, 60, 160), (20, 20, 20)]
_PAINTS = [(40, 70, 120), (130, 30, 25), (50, 95, 60), (110, 112, 110), (190, 95, 30), (30, 30, 35)]
_FONT_CACHE: dict[int, ImageFont.FreeTypeFont] = {}


def _font(px: int):
    px = max(6, int(px))
    if px not in _FONT_CACHE:
        _FONT_CACHE[px] = ImageFont.load_default(size=px)
    return _FONT_CACHE[px]


class _Pen:
    """Millimetre coordinates about the seal centre -> canvas pixels."""

    def __init__(self, cx: float, cy: float, s: float):
        self.cx, self.cy, self.s, self.mx = cx, cy, s, 1.0

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + self.mx * x * self.s, self.cy + y * self.s)

    def box(self, x0, y0, x1, y1) -> list[float]:
        a, b = self.p(x0, y0), self.p(x1, y1)
        return [min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])]

    def w(self, mm: float) -> int:
        return max(1, int(round(mm * self.s)))


# ------------------------------------------------------------------------------------------------
# surfaces: value noise made by resizing a small random grid (bicubic), nothing else


def _value_noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    g = rng.random((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(g, mode="F").resize((n, n), Image.BICUBIC), np.float32)


def _surface(name: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, float]:
    """(n, n, 3) float RGB in 0..255 and the angle of its seam/ribs (radians)."""
    angle = float(rng.normal(0, 0.12))
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    along = xx * math.cos(angle) + yy * math.sin(angle)
    if name == "painted_steel":
        base = np.array(_PAINTS[int(rng.integers(len(_PAINTS)))], np.float32) * rng.uniform(0.85, 1.15)
        period = rng.uniform(0.12, 0.3) * n
        ribs = 0.85 + 0.15 * np.sign(np.sin(2 * np.pi * along / period)) * np.abs(np.sin(2 * np.pi * along / period)) ** 0.3
        grime = _value_noise(rng, n, int(rng.integers(4, 10)))
        img = base[None, None] * (ribs * (0.8 + 0.3 * grime))[..., None]
        flecks = rng.random((n, n)) < 0.002
        img[flecks] = img[flecks] * 0.5 + 80
    elif name == "galvanised":
        v = 150 + 40 * _value_noise(rng, n, int(rng.integers(12, 30))) + 25 * _value_noise(rng, n, 5)
        img = np.stack([v, v * 1.01, v * 1.04], -1)
    elif name == "rust":
        a = _value_noise(rng, n, int(rng.integers(5, 12)))
        b = _value_noise(rng, n, int(rng.integers(20, 48)))
        t = np.clip(a * 0.7 + b * 0.5 - 0.2, 0, 1)
        dark = np.array([70, 38, 22], np.float32)
        orange = np.array([168, 84, 36], np.float32)
        img = dark[None, None] + (orange - dark)[None, None] * t[..., None]
        pits = rng.random((n, n)) < 0.004
        img[pits] *= 0.4
    elif name == "cardboard":
        base = np.array([176, 138, 92], np.float32) * rng.uniform(0.9, 1.1)
        flutes = 1.0 + 0.04 * np.sin(2 * np.pi * (xx * math.sin(angle) - yy * math.cos(angle)) / (0.03 * n))
        fib = _value_noise(rng, n, 64)
        img = base[None, None] * (flutes * (0.92 + 0.14 * fib))[..., None]
    else:
        raise ValueError(f"unknown surface {name!r}; choose from {', '.join(SURFACES)}")
    return np.clip(img, 0, 255).astype(np.float32), angle


# ------------------------------------------------------------------------------------------------
# seals. Each draws into ``rgba`` (the seal) and ``under`` (things painted on the surface itself, e.g.
# adhesive residue) and returns the defect polygon list for the mask.


def _style(rng: np.random.Generator, kind: str) -> dict:
    return dict(colour=_SEAL_COLOURS[int(rng.integers(len(_SEAL_COLOURS)))],
                steel=int(rng.integers(120, 190)), serial=f"{int(rng.integers(0, 10**7)):07d}",
                brand=["SECURE", "LOCKIT", "CARGO", "SEALTEX", "TAMPERX"][int(rng.integers(5))],
                flip=bool(rng.random() < 0.5), label_scheme=int(rng.integers(3)),
                length=float(rng.uniform(0.85, 1.2)))


def _shade_rect(draw: ImageDraw.ImageDraw, box, rgb, steps: int = 6, vertical: bool = True) -> None:
    """A cylinder-ish shaded bar: bands darker at the edges, brighter at 40%."""
    x0, y0, x1, y1 = box
    for i in range(steps):
        t = i / steps
        k = 0.7 + 0.5 * math.exp(-((t - 0.4) ** 2) / 0.05)
        col = tuple(int(min(255, c * k)) for c in rgb) + (255,)
        if vertical:
            draw.rectangle([x0 + (x1 - x0) * t, y0, x0 + (x1 - x0) * (t + 1 / steps) + 1, y1], fill=col)
        else:
            draw.rectangle([x0, y0 + (y1 - y0) * t, x1, y0 + (y1 - y0) * (t + 1 / steps) + 1], fill=col)


def _metal_plate(draw, pen: _Pen, box_mm, grey: int, rivets=()) -> None:
    draw.rounded_rectangle(pen.box(*box_mm), radius=pen.w(3), fill=(grey, grey, grey + 6, 255),
                           outline=(grey // 2, grey // 2, grey // 2, 255), width=pen.w(0.8))
    for (x, y) in rivets:
        r = 2.2 * pen.s
        c = pen.p(x, y)
        draw.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=(grey + 30, grey + 30, grey + 30, 255),
                     outline=(grey // 2,) * 3 + (255,), width=pen.w(0.5))


def _strip(draw, under, pen: _Pen, st: dict, defect: str | None, rng) -> list:
    g = st["steel"]
    L = st["length"]
    _metal_plate(draw, pen, (-48, -24, 10, 4), g, rivets=[(-40, -10), (-22, -10)])
    # the staple (a loop welded on the door) that the hasp slot passes over
    draw.rounded_rectangle(pen.box(2, -26, 22, 6), radius=pen.w(5), outline=(g - 40, g - 40, g - 35, 255),
                           width=pen.w(4.5))
    col = st["colour"]
    loop = [(12, 40), (6, 18), (4, -6), (8, -22), (16, -22), (20, -6), (18, 18), (14, 40)]
    loop = [(x, y if y < 0 else y * L) for x, y in loop]
    head = (6, 40 * L, 26, 62 * L)
    polys: list = []
    if defect == "missing":
        # a short stub of strip left in the staple, the rest gone
        stub = loop[2:4]
        draw.line([pen.p(*q) for q in stub], fill=col + (255,), width=pen.w(4.5), joint="curve")
        polys.append(("box", (0, -26, 28, 64 * L)))
        return polys
    pts = loop
    if defect == "cut_strip":
        i = int(rng.integers(1, len(loop) - 2))
        a, b = np.array(loop[i], float), np.array(loop[i + 1], float)
        t = rng.uniform(0.3, 0.7)
        cut = a + (b - a) * t
        d = (b - a) / (np.linalg.norm(b - a) + 1e-9)
        gap = rng.uniform(3.0, 6.0)
        spring = np.array([-d[1], d[0]]) * rng.uniform(2, 6) * (1 if rng.random() < 0.5 else -1)
        left = [tuple(q) for q in loop[:i + 1]] + [tuple(cut - d * gap / 2)]
        right = [tuple(cut + d * gap / 2 + spring)] + [tuple(q) for q in loop[i + 1:]]
        draw.line([pen.p(*q) for q in left], fill=col + (255,), width=pen.w(4.5), joint="curve")
        draw.line([pen.p(*q) for q in right], fill=col + (255,), width=pen.w(4.5), joint="curve")
        fresh = tuple(int(min(255, c * 0.6 + 110)) for c in col) + (255,)
        for end in (left[-1], right[0]):
            draw.ellipse(pen.box(end[0] - 2.2, end[1] - 2.2, end[0] + 2.2, end[1] + 2.2), fill=fresh)
        polys.append(("circle", (tuple(cut), gap / 2 + 6.5)))
        polys.append(("circle", (right[0], 4.5)))
    else:
        draw.line([pen.p(*q) for q in pts], fill=col + (255,), width=pen.w(4.5), joint="curve")
    # locking head and flag with the number
    dark = tuple(int(c * 0.7) for c in col) + (255,)
    draw.rounded_rectangle(pen.box(*head), radius=pen.w(2), fill=col + (255,), outline=dark, width=pen.w(0.7))
    flag = (head[0] - 14, head[3], head[2] + 14, head[3] + 20)
    draw.rectangle(pen.box(*flag), fill=col + (255,), outline=dark, width=pen.w(0.7))
    ink = (255, 255, 255, 255) if sum(col) < 420 else (20, 20, 20, 255)
    draw.text(pen.p(flag[0] + 3, flag[1] + 3), st["brand"], fill=ink, font=_font(5 * pen.s))
    draw.text(pen.p(flag[0] + 3, flag[1] + 10), st["serial"], fill=ink, font=_font(6 * pen.s))
    draw.line([pen.p(16, flag[3]), pen.p(18, flag[3] + 18)], fill=col + (255,), width=pen.w(4.5))
    return polys


def _bolt(draw, under, pen: _Pen, st: dict, defect: str | None, rng) -> list:
    g = st["steel"]
    # lock rod on the left, two lugs the bolt passes through
    _shade_rect(draw, pen.box(-40, -70, -26, 70), (g - 20, g - 20, g - 15), steps=8)
    for y0 in (-22, 6):
        _metal_plate(draw, pen, (-30, y0, 16, y0 + 12), g - 10)
        draw.ellipse(pen.box(-4, y0 + 2, 8, y0 + 10), fill=(25, 25, 25, 255))
    polys: list = []
    col = st["colour"]
    if defect == "missing":
        polys.append(("box", (-12, -44, 14, 64)))
        return polys
    shank = (-1.5, -40, 5.5, 26)
    barrel = (-8, 24, 12, 60)
    if defect == "cut_shank":
        yc = float(rng.choice([rng.uniform(-9, 4), rng.uniform(19, 22)]))
        gap = rng.uniform(2.5, 5.0)
        dx = rng.uniform(-2.5, 2.5)
        _shade_rect(draw, pen.box(shank[0], shank[1], shank[2], yc - gap / 2), (g + 30, g + 30, g + 35))
        _shade_rect(draw, pen.box(shank[0] + dx, yc + gap / 2, shank[2] + dx, shank[3]), (g + 30, g + 30, g + 35))
        for y, off in ((yc - gap / 2, 0.0), (yc + gap / 2, dx)):
            draw.ellipse(pen.box(shank[0] + off, y - 1.2, shank[2] + off, y + 1.2), fill=(235, 235, 240, 255))
        polys.append(("box", (shank[0] - 3, yc - gap / 2 - 3, shank[2] + 3 + abs(dx), yc + gap / 2 + 3)))
    else:
        _shade_rect(draw, pen.box(*shank), (g + 30, g + 30, g + 35))
    draw.ellipse(pen.box(-7, -46, 11, -36), fill=(g + 20, g + 20, g + 25, 255), outline=(g // 2,) * 3 + (255,),
                 width=pen.w(0.6))
    _shade_rect(draw, pen.box(*barrel), col, steps=8)
    draw.text(pen.p(barrel[0] + 2, barrel[1] + 10), st["serial"][:4], fill=(20, 20, 20, 255), font=_font(4.5 * pen.s))
    if defect == "cracked_barrel":
        y = rng.uniform(barrel[1] + 8, barrel[3] - 8)
        xs = np.linspace(barrel[0] - 0.5, barrel[2] + 0.5, int(rng.integers(5, 9)))
        crack = [(float(x), float(y + rng.normal(0, 2.2))) for x in xs]
        draw.line([pen.p(*q) for q in crack], fill=(15, 12, 10, 255), width=pen.w(rng.uniform(0.8, 1.5)))
        # a chipped piece: lighter stress-whitened plastic below the crack
        k = int(rng.integers(1, len(crack) - 1))
        cx, cy = crack[k]
        chip = [(cx - 3, cy), (cx + 3, cy + 0.5), (cx + rng.uniform(-1, 1), cy + rng.uniform(3, 6))]
        draw.polygon([pen.p(*q) for q in chip], fill=tuple(int(min(255, c * 0.5 + 120)) for c in col) + (255,))
        polys.append(("line", (crack, 3.0)))
        polys.append(("poly", chip))
    return polys


_LABEL_SCHEMES = [((245, 245, 240), (200, 20, 20)), ((200, 25, 30), (250, 250, 250)), ((25, 70, 160), (250, 250, 250))]


def _void_pattern(draw, pen: _Pen, box_mm, colour, alpha: int) -> None:
    x0, y0, x1, y1 = box_mm
    f = _font(5 * pen.s)
    y = y0
    row = 0
    while y < y1 - 3:
        x = x0 + (row % 2) * 5
        while x < x1 - 8:
            draw.text(pen.p(x, y), "VOID", fill=colour + (alpha,), font=f)
            x += 14
        y += 7
        row += 1


def _label(draw, under, pen: _Pen, st: dict, defect: str | None, rng) -> list:
    bg, ink = _LABEL_SCHEMES[st["label_scheme"]]
    w, h = 70 * st["length"], 32
    box = (-w / 2, -h / 2, w / 2, h / 2)
    polys: list = []
    if defect == "missing":
        # adhesive residue and VOID remnants on the surface where the label was
        under.rectangle(pen.box(*box), fill=(235, 235, 230, 40))
        _void_pattern(under, pen, box, ink, 110)
        polys.append(("box", box))
        return polys
    draw.rectangle(pen.box(*box), fill=bg + (255,))
    draw.rectangle(pen.box(box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2), outline=ink + (255,), width=pen.w(0.8))
    draw.text(pen.p(box[0] + 5, box[1] + 4), "SECURITY SEAL", fill=ink + (255,), font=_font(6 * pen.s))
    draw.text(pen.p(box[0] + 5, box[1] + 13), f"No {st['serial']}", fill=ink + (255,), font=_font(5 * pen.s))
    for i in range(18):
        if (int(st["serial"]) >> (i % 20)) & 1 or i % 3 == 0:
            x = box[0] + 6 + i * 1.6
            draw.rectangle(pen.box(x, box[3] - 9, x + 0.9, box[3] - 4), fill=ink + (255,))
    if defect == "torn":
        x = rng.uniform(-8, 8)
        ys = np.linspace(box[1] - 1, box[3] + 1, 9)
        tear = [(float(x + rng.normal(0, 2.0)), float(y)) for y in ys]
        right = tear + [(box[2] + 1, box[3] + 1), (box[2] + 1, box[1] - 1)]
        # the right part gone: the surface shows through, a frayed white paper edge along the tear
        draw.polygon([pen.p(*q) for q in right], fill=(0, 0, 0, 0))
        if rng.random() < 0.5:
            # ... or only a strip of it, the rest still stuck further right
            keep_x = tear[0][0] + rng.uniform(7, 12)
            draw.rectangle(pen.box(keep_x, box[1], box[2], box[3]), fill=bg + (255,))
        draw.line([pen.p(*q) for q in tear], fill=(250, 250, 248, 255), width=pen.w(1.2))
        _void_pattern(under, pen, (tear[0][0], box[1], min(box[2], tear[0][0] + 14), box[3]), ink, 120)
        polys.append(("box", (min(q[0] for q in tear) - 2, box[1] - 2, max(q[0] for q in tear) + 14, box[3] + 2)))
    elif defect == "lifted_void":
        sx = 1 if rng.random() < 0.5 else -1
        sy = 1 if rng.random() < 0.5 else -1
        cx, cy = (box[2] if sx > 0 else box[0]), (box[3] if sy > 0 else box[1])
        a, b = rng.uniform(14, 24), rng.uniform(12, 20)
        corner = [(cx, cy), (cx - sx * a, cy), (cx, cy - sy * b)]
        draw.polygon([pen.p(*q) for q in corner], fill=(0, 0, 0, 0))
        _void_pattern(under, pen, (min(cx, cx - sx * a), min(cy, cy - sy * b), max(cx, cx - sx * a),
                                   max(cy, cy - sy * b)), ink, 150)
        # the flap folded back over the fold line: its silver backside
        flap = [(cx - sx * a, cy), (cx, cy - sy * b), (cx + sx * b * 0.6, cy + sy * a * 0.5)]
        draw.polygon([pen.p(*q) for q in flap], fill=(205, 208, 212, 255), outline=(120, 120, 125, 255))
        polys.append(("poly", corner))
        polys.append(("poly", flap))
    return polys


_DRAW = {"strip": _strip, "bolt": _bolt, "label": _label}


def _mask_from(polys: list, pen: _Pen, n: int) -> Image.Image:
    m = Image.new("L", (n, n), 0)
    d = ImageDraw.Draw(m)
    for kind, data in polys:
        if kind == "box":
            d.rectangle(pen.box(*data), fill=255)
        elif kind == "circle":
            (x, y), r = data
            d.ellipse(pen.box(x - r, y - r, x + r, y + r), fill=255)
        elif kind == "poly":
            d.polygon([pen.p(*q) for q in data], fill=255)
        elif kind == "line":
            pts, wmm = data
            d.line([pen.p(*q) for q in pts], fill=255, width=pen.w(wmm))
    return m


# ------------------------------------------------------------------------------------------------


def render(rng: np.random.Generator, kind: str, defect: str | None = None, size: int = 256,
           style_seed: int | None = None, surface: str | None = None,
           light: str | None = None) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """One photo: ``(rgb uint8 (size, size, 3), mask uint8 or None, meta)``.

    ``defect`` None or "none" gives an intact seal. ``style_seed`` fixes the seal model (colour,
    print, length); otherwise it is drawn from ``rng``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown seal kind {kind!r}; choose from {', '.join(KINDS)}")
    if defect in (None, "none"):
        defect = None
    elif defect not in DEFECTS_BY_KIND[kind]:
        raise ValueError(f"seal kind {kind!r} has no defect {defect!r}; choose from {', '.join(DEFECTS_BY_KIND[kind])}")
    seeds = rng.integers(0, 2**62, size=5)
    srng = np.random.default_rng(int(seeds[0]) if style_seed is None else [int(style_seed), 0xA17])
    prng, trng, drng, crng = (np.random.default_rng(int(s)) for s in seeds[1:])
    st = _style(srng, kind)
    surface = surface or SURFACES_BY_KIND[kind][int(trng.integers(len(SURFACES_BY_KIND[kind])))]
    light = light or tuple(LIGHTS)[int(crng.integers(len(LIGHTS)))]

    S = 2 * size                      # supersampled output side
    N = int(S * 1.5)                  # drawing canvas, room for any rotation
    extent_mm = 130.0 if kind != "label" else 95.0 * st["length"]
    fill = prng.uniform(0.5, 1.0)     # how much of the frame the seal spans
    scale = fill * S / extent_mm
    off = prng.uniform(-0.12, 0.12, 2) * S
    pen = _Pen(N / 2 + off[0], N / 2 + off[1], scale)
    base, seam_angle = _surface(surface, trng, N)
    seal = Image.new("RGBA", (N, N), (0, 0, 0, 0))
    under = Image.new("RGBA", (N, N), (0, 0, 0, 0))
    dseal, dunder = ImageDraw.Draw(seal), ImageDraw.Draw(under)
    if kind == "label":
        # the seam the label bridges: two panels or flaps meeting
        c = pen.p(0, 0)
        dx, dy = -math.sin(seam_angle) * N, math.cos(seam_angle) * N
        dunder.line([(c[0] - dx, c[1] - dy), (c[0] + dx, c[1] + dy)], fill=(10, 10, 10, 200), width=pen.w(1.5))
    if st["flip"] and kind != "label":
        pen.mx = -1.0   # the seal model mounted the other way round
    polys = _DRAW[kind](dseal, dunder, pen, st, defect, drng)

    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    img = img.convert("RGBA")
    img = Image.alpha_composite(img, under)
    # drop shadow: the seal's alpha, blurred and shifted away from the light
    alpha = seal.getchannel("A")
    sh = alpha.filter(ImageFilter.GaussianBlur(radius=max(1.0, 2.5 * scale)))
    sdx, sdy = (int(v) for v in prng.uniform(-3, 3, 2) * scale)
    shadow = Image.new("RGBA", (N, N), (0, 0, 0, 0))
    shadow.putalpha(sh.point(lambda v: int(v * 0.55)))
    img = Image.alpha_composite(img, shadow.transform((N, N), Image.AFFINE, (1, 0, -sdx, 0, 1, -sdy)))
    img = Image.alpha_composite(img, seal).convert("RGB")

    mask = _mask_from(polys, pen, N) if defect else None
    angle = float(prng.uniform(-35, 35))
    img = img.rotate(angle, resample=Image.BICUBIC, center=(N / 2, N / 2))
    c0 = (N - S) // 2
    img = img.crop((c0, c0, c0 + S, c0 + S))
    if mask is not None:
        mask = mask.rotate(angle, resample=Image.NEAREST, center=(N / 2, N / 2)).crop((c0, c0, c0 + S, c0 + S))

    # light: colour gains, ambient level, a linear fall-off and sometimes a glare spot
    gains, amb, glare_p = LIGHTS[light]
    arr = np.asarray(img, np.float32)
    level = crng.uniform(*amb)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S
    a = crng.uniform(0, 2 * np.pi)
    ramp = 1.0 + crng.uniform(0.0, 0.35) * ((xx - 0.5) * math.cos(a) + (yy - 0.5) * math.sin(a))
    arr = arr * (np.array(gains, np.float32) * level)[None, None] * ramp[..., None]
    if crng.random() < glare_p:
        gx, gy = crng.uniform(0.2, 0.8, 2)
        r = crng.uniform(0.05, 0.18)
        arr += 170.0 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))[..., None]
    arr += crng.normal(0, crng.uniform(1.0, 6.0), arr.shape).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").resize((size, size), Image.LANCZOS)
    if crng.random() < 0.35:
        img = img.filter(ImageFilter.GaussianBlur(radius=crng.uniform(0.4, 1.4)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(crng.integers(45, 93)))
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    m = None
    if mask is not None:
        m = (np.asarray(mask.resize((size, size), Image.BILINEAR)) >= 128).astype(np.uint8) * 255
    meta = dict(kind=kind, defect=defect or "none", surface=surface, lighting=light, rotation=round(angle, 2),
                fill=round(float(fill), 3), colour=st["colour"], serial=st["serial"])
    return out, m, meta
