"""Heatmap display helpers: a colormap and an alpha overlay onto the original image.

Shared by the CLI (``--heatmap-dir``) and the GUI, so both show the same picture. Pure numpy and
Pillow: OpenCV would add ~150 MB to the installed app for these few operations (measured in the
PyInstaller build), so the runtime does without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inference.errors import TilikError
from inference.preprocess import resize_float

# Google's "Turbo" colormap, polynomial approximation by its author (Anton Mikhailov, Apache-2.0):
# perceptually smoother than jet, and readable by people with the common colour-vision deficiencies.
_TURBO = np.array([
    [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
    [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
    [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
])


def _turbo_lut() -> np.ndarray:
    x = np.linspace(0.0, 1.0, 256)
    powers = np.stack([x ** i for i in range(6)])  # (6, 256)
    return np.clip((_TURBO @ powers).T * 255.0, 0, 255).round().astype(np.uint8)


def _jet_lut() -> np.ndarray:
    x = np.linspace(0.0, 1.0, 256)
    r = np.clip(1.5 - np.abs(4 * x - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * x - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * x - 1), 0, 1)
    return (np.stack([r, g, b], axis=1) * 255).round().astype(np.uint8)


def _gray_lut() -> np.ndarray:
    return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)


COLORMAPS: dict[str, np.ndarray] = {"turbo": _turbo_lut(), "jet": _jet_lut(), "gray": _gray_lut()}


def colorize(heatmap: np.ndarray, colormap: str = "turbo") -> np.ndarray:
    """Float heatmap in [0, 1] (H, W) → RGB uint8 (H, W, 3)."""
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    return np.take(COLORMAPS[colormap], (values * 255).round().astype(np.uint8), axis=0)


def _heat_index(heatmap: np.ndarray, width: int, height: int) -> np.ndarray:
    """The heatmap as colour-table indices (uint8, 0..255) at ``width`` x ``height``. A map at
    another size is resized as floats first, the way :func:`colorize` sees it."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.shape[:2] != (height, width):
        heatmap = resize_float(heatmap, width, height)
    values = np.nan_to_num(heatmap, copy=True) if not np.isfinite(heatmap).all() else heatmap.copy()
    np.clip(values, 0.0, 1.0, out=values)
    values *= 255.0
    return np.rint(values, out=values).astype(np.uint8)


def _alpha_lut(opacity: float, weight_by_heat: bool) -> np.ndarray:
    levels = np.arange(256, dtype=np.float64) / 255.0
    a = np.clip(opacity, 0.0, 1.0) * (np.sqrt(levels) if weight_by_heat else np.ones_like(levels))
    return np.rint(a * 255.0).astype(np.uint8)


def overlay(rgb: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45, colormap: str = "turbo",
            *, weight_by_heat: bool = True) -> np.ndarray:
    """Blend a coloured heatmap onto an RGB image of the same size.

    With ``weight_by_heat`` the opacity scales with the heat (its square root), so cold regions
    keep the original image readable and only what the model looked at is tinted.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    heatmap = np.asarray(heatmap, dtype=np.float32)
    small = heatmap.shape[0] < h and heatmap.shape[1] < w
    # A map smaller than the picture (a CAM is smooth) is coloured at its own size and the colour
    # and opacity images are scaled up in 8 bits; else it is coloured at the picture's size.
    index = _heat_index(heatmap, *((heatmap.shape[1], heatmap.shape[0]) if small else (w, h)))
    # Colour and opacity per heat level from 256-entry tables (np.take: far faster than fancy
    # indexing), blended by Pillow in 8 bits: rgb·(1 - a) + colour·a within a few grey levels of
    # the float computation. An overlay is drawn for every image with --heatmap-dir, and float
    # arithmetic over a 1024-px picture cost more than the model run.
    colour = Image.fromarray(np.take(COLORMAPS[colormap], index, axis=0))
    mask = Image.fromarray(np.take(_alpha_lut(opacity, weight_by_heat), index))
    if small:
        colour = colour.resize((w, h), Image.Resampling.BILINEAR)
        mask = mask.resize((w, h), Image.Resampling.BILINEAR)
    # np.array: a writable copy of its own (callers draw on it; np.asarray would be read-only).
    return np.array(Image.composite(colour, Image.fromarray(rgb), mask))


# Overlays are pictures for people: JPEG at quality 90 shows no artefacts over a heatmap's smooth
# colours, and PNG at zlib level 1 is several times faster than Pillow's default level 6.
JPEG_QUALITY = 90
PNG_LEVEL = 1


def save_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image (format from the extension: JPEG at quality 90, PNG at a fast
    compression level); raise a TilikError if it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        options = ({"quality": JPEG_QUALITY} if path.suffix.lower() in (".jpg", ".jpeg")
                   else {"compress_level": PNG_LEVEL} if path.suffix.lower() == ".png" else {})
        Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(path, **options)
    except (OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TilikError(f"Could not write {path}: {reason}") from exc
    return path
