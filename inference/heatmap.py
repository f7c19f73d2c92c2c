"""Heatmap display helpers (OpenCV): a colormap and an alpha overlay onto the original image.

Shared by the CLI (``--heatmap-dir``) and the GUI, so both show the same picture.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.errors import TilikError

COLORMAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO,
             "viridis": cv2.COLORMAP_VIRIDIS}


def colorize(heatmap: np.ndarray, colormap: str = "turbo") -> np.ndarray:
    """Float heatmap in [0, 1] (H, W) → RGB uint8 (H, W, 3)."""
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    bgr = cv2.applyColorMap((values * 255).round().astype(np.uint8), COLORMAPS[colormap])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay(rgb: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45, colormap: str = "turbo",
            *, weight_by_heat: bool = True) -> np.ndarray:
    """Blend a coloured heatmap onto an RGB image of the same size.

    With ``weight_by_heat`` the opacity scales with the heat, so cold regions keep the original
    image readable and only what the model looked at is tinted.
    """
    if heatmap.shape[:2] != rgb.shape[:2]:
        heatmap = cv2.resize(heatmap.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = colorize(heatmap, colormap).astype(np.float32)
    alpha = float(np.clip(opacity, 0.0, 1.0))
    if weight_by_heat:
        a = (alpha * np.clip(heatmap, 0, 1)[:, :, None] ** 0.5).astype(np.float32)
    else:
        a = np.float32(alpha)
    out = rgb.astype(np.float32) * (1 - a) + colour * a
    return np.clip(out, 0, 255).round().astype(np.uint8)


def save_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image (PNG or JPEG by extension); raise a TilikError if it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except OSError as exc:
        raise TilikError(f"Could not write {path}: {exc.strerror or exc}") from exc
    if not ok:
        raise TilikError(f"Could not write {path} (disk full, read-only folder or unsupported extension).")
    return path
