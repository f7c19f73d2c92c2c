"""The robustness table of the signature study: the same test metrics with 25/50/75% of the test
images degraded by Gaussian blur or by Gaussian noise.

The degraded subset is a seeded random choice of exactly ``round(fraction * n)`` images; the same
seed picks the same images for blur and noise. Blur sigma is given at model-input scale (pixels of
a ``size``-pixel image) and scaled to the image's own resolution; noise sigma is a fraction of the
0-255 range.
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("blur", "noise")


def degrade_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the ``round(fraction * n)`` images to degrade (seeded, no repeats)."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be in [0, 1]")
    k = int(round(fraction * n))
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(n)[:k])


def gaussian_blur(rgb: np.ndarray, sigma: float, input_size: int | None = None) -> np.ndarray:
    """Blur with a Gaussian of ``sigma`` pixels at model-input scale."""
    if input_size:
        sigma = sigma * min(rgb.shape[:2]) / float(input_size)
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=max(sigma, 1e-3), sigmaY=max(sigma, 1e-3),
                            borderType=cv2.BORDER_REFLECT_101)


def gaussian_noise(rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean Gaussian noise of ``sigma`` x 255 and clip to uint8."""
    noisy = rgb.astype(np.float32) + rng.normal(0.0, sigma * 255.0, rgb.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def degrade(images: list[np.ndarray], kind: str, fraction: float, *, seed: int, blur_sigma: float,
            noise_sigma: float, input_size: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """A copy of ``images`` with ``fraction`` of them degraded; returns (images, degraded indices)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    idx = degrade_indices(len(images), fraction, seed)
    out = list(images)
    rng = np.random.default_rng(seed + 7)
    for i in idx:
        out[i] = (gaussian_blur(images[i], blur_sigma, input_size) if kind == "blur"
                  else gaussian_noise(images[i], noise_sigma, rng))
    return out, idx
