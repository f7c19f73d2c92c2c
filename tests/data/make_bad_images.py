"""Generate the corpus of malformed and unusual image files in ``tests/data/bad_images/``.

Run: ``python tests/data/make_bad_images.py`` (deterministic; rewrites the folder).
Next to the files it writes ``expected.json``: for each file either ``{"ok": true}`` (Tilik must
decode it, with the given size after EXIF orientation) or ``{"ok": false, "error": "<words the
error must contain>"}``. The test suite checks ``tilik classify`` against it.

The test suite also generates the corpus afresh into a temporary folder (``build(folder,
special=True)``), which adds what git cannot hold: a FIFO and a link to ``/dev/zero`` (entries
marked ``"special": true`` in the JSON, absent from the committed folder).

Hostile files (issue 22): PostScript, EPS (also with a DOS binary header) and PDF under image
names must be refused as "not an image" without Ghostscript ever running; a 65535×1 strip must
be classified within bounded memory (crop before resize); a JPEG or TIFF declaring billions of
pixels is refused before decoding.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent / "bad_images"


def _gradient(w: int = 48, h: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 255 // (w + h)], axis=2).astype(np.uint8)


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge image, with almost no data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _eps_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 20, 20)).save(buf, format="EPS")
    return buf.getvalue()


def _dos_eps(ps: bytes) -> bytes:
    """An EPS with the DOS binary header (C5 D0 D3 C6), the form that carries a TIFF preview."""
    header = b"\xc5\xd0\xd3\xc6" + struct.pack("<IIIIII", 30, len(ps), 0, 0, 0, 0) + b"\xff\xff"
    return header + ps


def _declared_size_jpeg(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF header is rewritten to declare ``width``×``height``."""
    data = bytearray(_jpeg_bytes(Image.new("RGB", (16, 16), (90, 90, 90))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def build(out: Path = OUT, special: bool = False) -> dict[str, dict]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    rgb = Image.fromarray(_gradient())
    files: dict[str, tuple[bytes, dict]] = {}

    def ok(name: str, data: bytes, size: tuple[int, int]) -> None:
        files[name] = (data, {"ok": True, "size": list(size)})

    def bad(name: str, data: bytes, words: str) -> None:
        files[name] = (data, {"ok": False, "error": words})

    jpeg = _jpeg_bytes(rgb)
    png = _png_bytes(rgb)
    # -- refused with a clear reason
    bad("empty.jpg", b"", "empty")
    bad("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated")
    bad("truncated.png", png[: len(png) // 2], "truncated")
    bad("header_only.jpg", jpeg[:20], "damaged")
    bad("not_an_image.txt", b"This is a text file, not a photo.\n" * 4, "not an image")
    bad("text_named_as.jpg", b"Dear customer, please find attached...\n", "not an image")
    bad("html_named_as.png", b"<!doctype html><html><body>404</body></html>", "not an image")
    bad("random_bytes.bin", np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not an image")
    bad("svg_drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>', "not an image")
    bad("pdf_document.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "not an image")
    bad("decompression_bomb.png", _png_bomb(60000, 60000), "too large")
    bad("wide_bomb.png", _png_bomb(2_000_000, 100), "too large")
    corrupt = bytearray(png)
    idat = png.index(b"IDAT") + 4
    corrupt[idat + 6: idat + 40] = b"\xff" * 34  # inside the first IDAT: the zlib stream is broken
    bad("corrupt_pixels.png", bytes(corrupt), "damaged")
    # -- unusual but valid: decoded correctly
    ok("grayscale.png", _png_bytes(rgb.convert("L")), (48, 32))
    g16 = Image.fromarray((_gradient()[:, :, 0].astype(np.uint16) * 257))
    ok("grayscale_16bit.png", _png_bytes(g16), (48, 32))
    ok("palette.png", _png_bytes(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)), (48, 32))
    pal_t = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    ok("palette_transparent.png", _png_bytes(pal_t, transparency=0), (48, 32))
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (32, 1))))
    ok("rgba_transparent.png", _png_bytes(rgba), (48, 32))
    la = rgb.convert("LA")
    ok("gray_alpha.png", _png_bytes(la), (48, 32))
    ok("cmyk.jpg", _jpeg_bytes(rgb.convert("CMYK")), (48, 32))
    ok("bilevel.png", _png_bytes(rgb.convert("1")), (48, 32))
    buf = io.BytesIO(); rgb.convert("1").save(buf, format="TIFF", compression="group4"); ok("bilevel_g4.tiff", buf.getvalue(), (48, 32))
    frames = [Image.fromarray(np.roll(_gradient(), 8 * i, axis=1)) for i in range(3)]
    buf = io.BytesIO(); frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    ok("animated.gif", buf.getvalue(), (48, 32))
    buf = io.BytesIO(); frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    ok("multipage.tiff", buf.getvalue(), (48, 32))
    exif = Image.Exif(); exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    ok("exif_rotated.jpg", _jpeg_bytes(rgb, exif=exif.tobytes()), (32, 48))
    ok("progressive.jpg", _jpeg_bytes(rgb, progressive=True), (48, 32))
    ok("jpeg_named_as.png", jpeg, (48, 32))
    ok("tiny_1x1.png", _png_bytes(Image.new("RGB", (1, 1), (200, 30, 30))), (1, 1))
    ok("extreme_aspect_2000x2.png", _png_bytes(Image.new("RGB", (2000, 2), (10, 200, 10))), (2000, 2))
    ok("float32.tiff", _tiff(Image.fromarray(_gradient()[:, :, 0].astype(np.float32) / 255.0)), (48, 32))
    ok("int32.tiff", _tiff(Image.fromarray(_gradient()[:, :, 1].astype(np.int32) * 1000)), (48, 32))
    ok("lossless.webp", _save(rgb, "WEBP", lossless=True), (48, 32))
    ok("bitmap.bmp", _save(rgb, "BMP"), (48, 32))
    ok("icon.ico", _save(rgb.resize((32, 32)), "ICO", sizes=[(32, 32)]), (32, 32))
    ok("portable.ppm", _save(rgb, "PPM"), (48, 32))
    ok("ycbcr.tiff", _tiff(rgb.convert("YCbCr")), (48, 32))
    ok("uppercase_extension.JPG", jpeg, (48, 32))
    ok("no_extension", png, (48, 32))
    # -- hostile (issue 22): formats Tilik never opens, whatever the name says
    eps = _eps_bytes()
    bad("eps_named_as.jpg", eps, "not an image")
    bad("eps_dos_header.tif", _dos_eps(eps), "not an image")
    bad("postscript_named_as.png", b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n", "not an image")
    bad("pdf_named_as.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "not an image")
    # -- memory: huge declared sizes refused before decoding; extreme strips classified
    bad("jpeg_declares_4gpx.jpg", _declared_size_jpeg(65000, 65000), "too large")
    ok("extreme_aspect_65535x1.png", _png_bytes(Image.new("RGB", (65535, 1), (200, 40, 40))), (65535, 1))
    ok("extreme_aspect_1x65535.png", _png_bytes(Image.new("L", (1, 65535), 90)), (1, 65535))
    nan = np.full((32, 48), np.nan, np.float32)
    bad("float32_all_nan.tiff", _tiff(Image.fromarray(nan)), "no valid pixel values")
    mixed = _gradient()[:, :, 0].astype(np.float32) * 3.0
    mixed[0, :5] = [np.nan, np.inf, -np.inf, np.nan, 1e30]
    ok("float32_nan_inf.tiff", _tiff(Image.fromarray(mixed)), (48, 32))
    for orientation in (2, 3, 4, 5, 7, 8):
        exif = Image.Exif(); exif[0x0112] = orientation
        size = (32, 48) if orientation >= 5 else (48, 32)
        ok(f"exif_orientation_{orientation}.jpg", _jpeg_bytes(rgb, exif=exif.tobytes()), size)

    expected = {}
    for name, (data, exp) in sorted(files.items()):
        (out / name).write_bytes(data)
        expected[name] = exp
    for name, words in SPECIAL.items():
        expected[name] = {"ok": False, "error": words, "special": True}
        if special:
            _make_special(out / name)
    if out == OUT:
        (OUT.parent / "bad_images_expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return expected


# Entries git cannot hold: made only by ``build(..., special=True)`` (POSIX).
SPECIAL = {"fifo_named_as.jpg": "not a regular file", "dev_zero_link.png": "not a regular file"}


def _make_special(path: Path) -> None:
    import os

    if path.name.startswith("fifo"):
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _tiff(img: Image.Image) -> bytes:
    return _save(img, "TIFF")


if __name__ == "__main__":
    result = build()
    print(f"wrote {len(result)} files to {OUT}")
