"""The guard's squeezers and its JPEG reformer on pixel images (moved from :mod:`inference.guard`,
which re-exports them): feature squeezing (Xu et al. 2018) by colour depth or a median filter, the
median residual the squeeze screen measures, and JPEG re-compression (Das et al. 2017)."""

from __future__ import annotations

import io
from typing import Any, Mapping

import numpy as np
from PIL import Image, ImageFilter


def squeeze_bits(x01: np.ndarray, bits: int) -> np.ndarray:
    """Reduce every channel to ``bits`` bits (Xu et al.'s colour-depth squeezer)."""
    levels = float(2 ** bits - 1)
    return (np.round(x01 * levels) / levels).astype(np.float32)


def squeeze_median(x01: np.ndarray, size: int) -> np.ndarray:
    """Median filter of ``size``×``size`` per channel (Pillow, on the 8-bit image)."""
    out = np.empty_like(x01, dtype=np.float32)
    for i, img in enumerate(x01):
        out[i] = median_u8(np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)[None], size)[0] / np.float32(255.0)
    return out


def median_u8(pixels: np.ndarray, size: int) -> np.ndarray:
    """:func:`squeeze_median` on uint8 images (N, H, W, 3), giving uint8. Size 3 by
    :func:`median3_u8` (the same bytes as Pillow's filter, ~20× faster), others by Pillow."""
    if size == 3:
        return median3_u8(pixels)
    return median_pillow(pixels, size)


def median_pillow(pixels: np.ndarray, size: int) -> np.ndarray:
    """Pillow's ``MedianFilter(size)`` per image and channel (the definition)."""
    filt = ImageFilter.MedianFilter(size)
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(img)).filter(filt)) for img in pixels])


# A 19-exchange sorting network that leaves the median of 9 values in position 4 (Paeth; Devillard,
# "Fast median search", 1998): min/max only, so it is exact on bytes.
_MED9 = ((1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3), (5, 8), (4, 7),
         (3, 6), (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2))


def median3_u8(pixels: np.ndarray) -> np.ndarray:
    """3×3 median per channel of uint8 images (N, H, W, C) with the edge pixels repeated, as Pillow's
    ``MedianFilter(3)`` does (it expands the image by one replicated pixel, then ranks): the median
    of nine bytes is one of them, so the two agree exactly (a test pins it).

    One image at a time (a few small ones together): its ten shifted copies (1.5 MB at 224 px) stay
    in the CPU's cache, where a batch's did not (16 images: 0.48 → 0.28 ms per image, CPU). The same
    bytes either way."""
    from inference.guard_noise import _chunk

    u8 = np.asarray(pixels, np.uint8)
    out = np.empty_like(u8)
    step = _chunk(len(u8), u8.shape[1], u8.shape[2]) if u8.ndim == 4 else 1
    for i in range(0, len(u8), step):
        out[i:i + step] = _median3_some(u8[i:i + step])
    return out


def _median3_some(u8: np.ndarray) -> np.ndarray:
    h, w = u8.shape[1:3]
    padded = np.pad(u8, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    v = [np.array(padded[:, dy:dy + h, dx:dx + w]) for dy in range(3) for dx in range(3)]
    lo = np.empty_like(v[0])
    for a, b in _MED9:  # v[a], v[b] = min, max
        np.minimum(v[a], v[b], out=lo)
        np.maximum(v[a], v[b], out=v[b])
        v[a], lo = lo, v[a]
    return v[4]


# The mean of three channel differences (integers 0..255) for every possible sum: numpy's float64
# mean over the last axis adds them exactly and divides by 3, so this table holds the same bits.
_THIRDS = np.arange(3 * 255 + 1, dtype=np.float64) / 3.0


def median_residual(pixels: np.ndarray, medians: np.ndarray, aggregate: str = "mean", patch: int = 16) -> np.ndarray:
    """Per image, how far uint8 images (N, H, W, 3) are from their median-filtered copies, in [0, 1]
    units: the mean absolute difference over the whole image (``mean``), or its smallest mean over
    ``patch``×``patch`` tiles (``patch_min``: the image's floor; a dense perturbation such as a
    colourless gradient-sign attack lifts it everywhere, where a clean photo keeps a flat tile)."""
    from inference.guard_noise import _tile_min

    pixels, medians = np.asarray(pixels), np.asarray(medians)
    d = np.abs(pixels.astype(np.int16) - medians.astype(np.int16))
    if aggregate == "patch_min":
        if pixels.dtype == medians.dtype == np.uint8 and d.ndim == 4 and d.shape[-1] == 3:
            # The per-pixel mean of the three channels from a table of exact thirds instead of
            # numpy's mean over a 3-long axis (0.86 of 0.97 ms per 224-px image): the same bits
            # (the sum of three small integers is exact; the table is that sum divided by 3).
            s = d[..., 0] + d[..., 1]
            s += d[..., 2]
            return _tile_min(_THIRDS[s], patch) / 255.0
        return _tile_min(d.mean(axis=-1), patch) / 255.0
    return d.reshape(len(d), -1).mean(axis=1) / 255.0


def apply_squeezer(x01: np.ndarray, squeezer: Mapping[str, Any]) -> np.ndarray:
    kind = squeezer["kind"]
    if kind == "bits":
        return squeeze_bits(x01, int(squeezer.get("bits", 5)))
    if kind == "median":
        return squeeze_median(x01, int(squeezer.get("size", 3)))
    raise ValueError(f"unknown squeezer {kind!r}")


def jpeg_reform(x01: np.ndarray, quality: int) -> np.ndarray:
    """Re-compress each image as a JPEG of ``quality`` (Pillow) and decode it: a reformer that
    discards most of the fine, dense perturbation an attack needs (Das et al. 2017)."""
    out = np.empty_like(x01, dtype=np.float32)
    for i, img in enumerate(x01):
        u8 = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf, formats=["JPEG"]) as decoded:  # our own bytes; never another format
            out[i] = np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0
    return out


def _to_u8(x01: np.ndarray) -> np.ndarray:
    """Pixel images in [0, 1] → uint8, as :func:`squeeze_median` rounds them."""
    return np.clip(np.round(x01 * 255.0), 0, 255).astype(np.uint8)
