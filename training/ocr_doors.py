"""Generated photos of container doors with a container number and a sealed locking bar.

For testing and measuring the number reader (issue 26); no real photos are public. Each photo
varies, from its seed:

- paint: ten colours, corrugation shading, a lighting gradient, rust patches and dirt specks;
- the container number (ISO 6346, random owner code with U/J/Z, random serial, its check digit,
  or in 15% of photos a wrong one, painted as it is): one line with spaces, one line without, one
  line with the check digit boxed, or two lines (owner code above); white or black letters; every
  bold font found on the machine (DejaVu Sans/Condensed/Mono/Serif) plus Pillow's built-in
  scalable font (always there, so tests run on any machine); distractors: the size/type code
  (``22G1``) and, in half of the photos, the weight panel (MAX GROSS / TARE, with digit runs);
- the seal: a bolt seal on a locking bar, its plastic tag in one of six colours, tilted ±12°,
  printed with 6–8 digits after ``SEAL No.``, ``SN``, ``No``, ``N°`` or nothing, sometimes with
  ``ISO 17712`` printed under it;
- the camera: perspective (corners moved up to 6%), rotation ±4°, Gaussian blur up to 1.6 px
  at 1600 px wide, sensor noise, JPEG quality 55–95.

``python -m training.ocr_doors --seed 7 --count 300 --out DIR`` writes the photos and
``truth.jsonl``; ``training.ocr_eval`` reads them and scores the reader.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
FONT_NAMES = ("DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSansMono-Bold.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSerifCondensed-Bold.ttf", "DejaVuSans.ttf")
PAINTS = ((176, 38, 34), (28, 68, 140), (34, 110, 60), (120, 124, 128), (222, 120, 30), (232, 232, 226),
          (110, 60, 40), (20, 20, 24), (200, 170, 40), (70, 140, 170))
TAG_COLOURS = ((250, 210, 20), (230, 90, 20), (220, 30, 30), (30, 90, 200), (40, 160, 70), (240, 240, 240))
SEAL_PREFIXES = ("SEAL No. ", "SEAL ", "SN ", "No ", "N° ", "")
LAYOUTS = ("one-line", "one-line-compact", "one-line-boxed", "two-lines", "two-lines-boxed")
_LETTER_VALUES = {}
_v = 10
for _c in string.ascii_uppercase:
    if _v % 11 == 0:
        _v += 1
    _LETTER_VALUES[_c] = _v
    _v += 1


def check_digit(first_ten: str) -> int:
    """ISO 6346 (kept here so the generator does not depend on the code it tests)."""
    total = sum((_LETTER_VALUES[c] if c.isalpha() else int(c)) << i for i, c in enumerate(first_ten))
    return total % 11 % 10


@dataclass
class DoorTruth:
    """What is painted and printed on a generated photo."""

    name: str
    container_number: str  # 11 characters, as painted (its check digit may be wrong)
    container_valid: bool
    seal_number: str  # the digits printed on the tag
    seal_text: str  # the whole tag line
    layout: str
    font: str
    width: int
    height: int


def available_fonts() -> list[str]:
    """Font files found on this machine, then "builtin" (Pillow's scalable default font)."""
    found: list[str] = []
    for name in FONT_NAMES:
        for folder in FONT_DIRS:
            hits = sorted(Path(folder).rglob(name)) if Path(folder).is_dir() else []
            if hits:
                found.append(str(hits[0]))
                break
    return found + ["builtin"]


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    if name == "builtin":
        return ImageFont.load_default(size=size)  # type: ignore[return-value]
    return ImageFont.truetype(name, size=size)


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points ``dst`` to input ``src``."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    return list(np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64)))


def _background(rng: random.Random, w: int, h: int, paint: tuple[int, int, int]) -> np.ndarray:
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    x = np.arange(w, dtype=np.float32)
    period = rng.uniform(0.04, 0.08) * w
    corrugation = 1 + 0.12 * np.sign(np.sin(2 * np.pi * x / period)) * np.abs(np.sin(2 * np.pi * x / period)) ** 0.5
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.8 + 0.35 * (rng.random() * gx / w + rng.random() * gy / h)
    img = np.array(paint, dtype=np.float32)[None, None, :] * (corrugation[None, :, None] * light[:, :, None])
    img += nrng.normal(0, 6, img.shape[:2])[:, :, None]
    # Rust: brownish blobs, blurred, with a speckled texture.
    rust = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(rust)
    for _ in range(rng.randrange(0, 9)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.01, 0.08) * w, rng.uniform(0.01, 0.06) * h
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=rng.randrange(120, 255))
    rust_a = np.asarray(rust.filter(ImageFilter.GaussianBlur(0.01 * w)), dtype=np.float32) / 255.0
    rust_a *= nrng.uniform(0.5, 1.0, rust_a.shape).astype(np.float32)
    rust_rgb = np.array([126, 62, 30], dtype=np.float32)[None, None, :] * nrng.uniform(0.7, 1.2, (h, w, 1))
    img = img * (1 - rust_a[:, :, None]) + rust_rgb * rust_a[:, :, None]
    # Dirt specks.
    specks = nrng.random((h, w)) < 0.002
    img[specks] *= 0.4
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont,
               fill: tuple[int, int, int]) -> tuple[float, float, float, float]:
    draw.text(xy, text, font=font, fill=fill)
    return draw.textbbox(xy, text, font=font)


def _container_number(rng: random.Random, valid: bool) -> str:
    owner = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    category = rng.choices("UJZ", weights=(8, 1, 1))[0]
    serial = "".join(rng.choice(string.digits) for _ in range(6))
    digit = check_digit(owner + category + serial)
    if not valid:
        digit = (digit + rng.randrange(1, 10)) % 10
    return f"{owner}{category}{serial}{digit}"


def make_door(seed: int, *, width: int = 1600, height: int = 1200, bad_check_rate: float = 0.15,
              fonts: list[str] | None = None) -> tuple[np.ndarray, DoorTruth]:
    """One generated door photo (RGB uint8, ``height`` x ``width``) and what is on it."""
    rng = random.Random(seed)
    fonts = fonts or available_fonts()
    s = width / 1600.0
    paint = rng.choice(PAINTS)
    dark = sum(paint) < 420
    ink = (245, 245, 240) if dark else (20, 20, 22)
    canvas = Image.fromarray(_background(rng, width, height, paint))
    draw = ImageDraw.Draw(canvas)
    font_name = rng.choice(fonts)
    valid = rng.random() >= bad_check_rate
    number = _container_number(rng, valid)
    layout = rng.choice(LAYOUTS)

    # A locking bar (the number and the weight panel are painted on either side of it).
    bar_x = rng.uniform(0.30, 0.34) * width
    bar_w = 0.025 * width
    draw.rectangle((bar_x, 0, bar_x + bar_w, height), fill=(150, 150, 150), outline=(60, 60, 60), width=3)

    # The container number, top right of the door.
    size = int(rng.uniform(60, 90) * s)
    font = _font(font_name, size)
    x0 = rng.uniform(0.39, 0.47) * width
    y0 = rng.uniform(0.05, 0.16) * height
    owner, serial, digit = number[:4], number[4:10], number[10]
    gap = size * 0.45
    if layout == "one-line-compact":
        box = _draw_text(draw, (x0, y0), number, font, ink)
    elif layout.startswith("one-line"):
        b1 = _draw_text(draw, (x0, y0), f"{owner} {serial}", font, ink)
        box = b1
        dx = b1[2] + gap
        b2 = _draw_text(draw, (dx, y0), digit, font, ink)
        if layout.endswith("boxed"):
            pad = size * 0.12
            draw.rectangle((b2[0] - pad, b2[1] - pad, b2[2] + pad, b2[3] + pad), outline=ink,
                           width=max(2, int(size * 0.06)))
        box = (b1[0], b1[1], b2[2], b2[3])
    else:
        b1 = _draw_text(draw, (x0, y0), owner, font, ink)
        y1 = b1[3] + size * rng.uniform(0.25, 0.5)
        b2 = _draw_text(draw, (x0, y1), serial, font, ink)
        b3 = _draw_text(draw, (b2[2] + gap, y1), digit, font, ink)
        if layout.endswith("boxed"):
            pad = size * 0.12
            draw.rectangle((b3[0] - pad, b3[1] - pad, b3[2] + pad, b3[3] + pad), outline=ink,
                           width=max(2, int(size * 0.06)))
        box = (b1[0], b1[1], b3[2], b3[3])
    # Size/type code under it.
    type_font = _font(font_name, int(size * 0.8))
    _draw_text(draw, (box[0], box[3] + size * 0.5), rng.choice(("22G1", "45G1", "42G1", "22R1", "L5G1")), type_font, ink)
    # The weight panel on the left door, half the time.
    if rng.random() < 0.5:
        small = _font(font_name, int(rng.uniform(24, 30) * s))
        px, py = rng.uniform(0.02, 0.06) * width, rng.uniform(0.1, 0.25) * height
        gross = rng.choice((30480, 32500, 34000, 24000))
        tare = rng.randrange(2100, 4200, 10)
        for i, text in enumerate((f"MAX GROSS {gross} KG", f"{int(gross * 2.2046)} LB",
                                  f"TARE {tare} KG", f"{int(tare * 2.2046)} LB")):
            _draw_text(draw, (px, py + i * small.size * 1.4), text, small, ink)

    # The seal on a locking bar, lower half.
    seal_digits = "".join(rng.choice(string.digits) for _ in range(rng.randrange(6, 9)))
    prefix = rng.choice(SEAL_PREFIXES)
    seal_text = prefix + seal_digits
    tag_font = _font(font_name, int(rng.uniform(34, 46) * s))
    tag_colour = rng.choice(TAG_COLOURS)
    tag_ink = (250, 250, 250) if sum(tag_colour) < 300 else (15, 15, 15)
    tw = draw.textbbox((0, 0), seal_text, font=tag_font)
    pad = int(14 * s)
    extra = rng.random() < 0.35
    tag_h = (tw[3] - tw[1]) * (2.6 if extra else 1.0) + 2 * pad
    tag = Image.new("RGBA", (int(tw[2] - tw[0] + 2 * pad), int(tag_h)), (0, 0, 0, 0))
    tdraw = ImageDraw.Draw(tag)
    tdraw.rounded_rectangle((0, 0, tag.width - 1, tag.height - 1), radius=int(10 * s), fill=tag_colour + (255,),
                            outline=(40, 40, 40, 255), width=2)
    tdraw.text((pad - tw[0], pad - tw[1]), seal_text, font=tag_font, fill=tag_ink + (255,))
    if extra:
        tdraw.text((pad, pad + (tw[3] - tw[1]) * 1.5), "ISO 17712 H", font=_font(font_name, int(tag_font.size * 0.6)),
                   fill=tag_ink + (255,))
    tag = tag.rotate(rng.uniform(-12, 12), expand=True, resample=Image.Resampling.BICUBIC)
    seal_y = rng.uniform(0.55, 0.75) * height
    # The bolt: a barrel on the bar, the tag hanging beside it.
    draw.rectangle((bar_x - 0.2 * bar_w, seal_y - 0.06 * height, bar_x + 1.2 * bar_w, seal_y),
                   fill=tag_colour, outline=(30, 30, 30), width=3)
    tx = int(bar_x + 1.4 * bar_w) if bar_x + 1.4 * bar_w + tag.width < width else int(bar_x - tag.width - 0.4 * bar_w)
    canvas.paste(tag, (tx, int(seal_y)), tag)

    # The camera: perspective + rotation, blur, noise, JPEG.
    j = 0.06
    src = [(rng.uniform(0, j) * width, rng.uniform(0, j) * height),
           (width - rng.uniform(0, j) * width, rng.uniform(0, j) * height),
           (width - rng.uniform(0, j) * width, height - rng.uniform(0, j) * height),
           (rng.uniform(0, j) * width, height - rng.uniform(0, j) * height)]
    dst = [(0, 0), (width, 0), (width, height), (0, height)]
    canvas = canvas.transform((width, height), Image.Transform.PERSPECTIVE, _perspective_coeffs(src, dst),
                              resample=Image.Resampling.BILINEAR, fillcolor=paint)
    canvas = canvas.rotate(rng.uniform(-4, 4), resample=Image.Resampling.BILINEAR, fillcolor=paint)
    blur = rng.uniform(0, 1.6) * s
    if blur > 0.2:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(canvas, dtype=np.float32)
    arr += np.random.default_rng(seed).normal(0, rng.uniform(0, 10), arr.shape)
    canvas = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=rng.randrange(55, 96))
    rgb = np.asarray(Image.open(buf).convert("RGB"))
    truth = DoorTruth(f"door_{seed}", number, valid, seal_digits, seal_text, layout,
                      Path(font_name).stem if font_name != "builtin" else "builtin", width, height)
    return rgb, truth


def write_set(out: Path, seed: int, count: int, *, width: int = 1600, height: int = 1200) -> Path:
    """Write ``count`` photos (seeds ``seed * 100000 + i``) and ``truth.jsonl`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    fonts = available_fonts()
    with open(out / "truth.jsonl", "w", encoding="utf-8") as fh:
        for i in range(count):
            rgb, truth = make_door(seed * 100000 + i, width=width, height=height, fonts=fonts)
            Image.fromarray(rgb).save(out / f"{truth.name}.jpg", quality=95)
            fh.write(json.dumps(asdict(truth)) + "\n")
    return out / "truth.jsonl"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1200)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    print(write_set(args.out, args.seed, args.count, width=args.width, height=args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
