"""Image degradations for the robustness table: Gaussian blur and additive noise.

Applied to the decoded scan before normalisation (the way a blurred photo or a noisy fax reaches
the app). Seeded per image, so a table is reproducible.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

KINDS = ("blur", "noise")
# Severity per kind: blur = Gaussian sigma in px; noise = Gaussian sigma in grey levels plus a
# share of salt-and-pepper pixels.
DEFAULT_SEVERITY = {"blur": 2.0, "noise": 25.0}


def degrade(rgb: np.ndarray, kind: str, severity: float, seed: int) -> np.ndarray:
    """A degraded copy of an RGB uint8 image."""
    if kind == "blur":
        return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius=float(severity))))
    if kind == "noise":
        rng = np.random.default_rng(seed)
        gray = rgb.astype(np.float32) + rng.normal(0.0, severity, size=rgb.shape[:2])[:, :, None]
        sp = rng.random(rgb.shape[:2])
        gray[sp < 0.005] = 0
        gray[sp > 0.995] = 255
        return np.clip(np.round(gray), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(KINDS)}")


def choose_degraded(n: int, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask: which of ``n`` images are degraded (exactly round(fraction * n) of them)."""
    rng = np.random.default_rng(seed)
    k = int(round(fraction * n))
    mask = np.zeros(n, bool)
    if k:
        mask[rng.choice(n, size=k, replace=False)] = True
    return mask
