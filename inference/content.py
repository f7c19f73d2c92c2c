"""A model-independent check that an image shows *something*: not a blank frame, not pure noise.

Feature-space out-of-domain scores (energy, Mahalanobis) are blind to inputs that carry no image
structure at all: a uniform grey frame from a covered lens, or sensor noise from a dark room, can
land right next to a class mean (measured on skin-binary: Mahalanobis score 0.13 for a grey frame,
threshold 5.0). Two cheap statistics of a small grey thumbnail catch both:

* contrast: the standard deviation of the luminance (0–255). A blank frame has almost none.
* structure: the correlation of each pixel with its right and lower neighbours. Photographs,
  scans and dermoscopy are spatially smooth (typically 0.8–0.99); independent noise is near 0.

Thresholds are deliberately loose so real photos of any domain pass; they were checked against the
bundled sample images and the shared data sets (``tests/inference/test_content.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

THUMB = 96
MIN_CONTRAST = 2.0      # grey levels; a photo of a plain wall still has more from vignetting/noise
MIN_STRUCTURE = 0.25    # neighbour correlation; independent per-pixel noise sits near 0


@dataclass(frozen=True)
class ContentStats:
    """Contrast (luminance std, 0–255) and structure (neighbour correlation, −1..1) of an image."""

    contrast: float
    structure: float

    @property
    def problem_code(self) -> str | None:
        """Why the image carries no usable picture, as a reason code (blank_image, noise_image), or None."""
        if self.contrast < MIN_CONTRAST:
            return "blank_image"
        if self.structure < MIN_STRUCTURE:
            return "noise_image"
        return None

    @property
    def problem(self) -> str | None:
        """The same in English words (inference.wording), or None."""
        from inference.wording import TEMPLATES

        code = self.problem_code
        return None if code is None else TEMPLATES[code]


def content_stats(rgb: np.ndarray) -> ContentStats:
    """Measure contrast and structure on a ``THUMB``-pixel grey thumbnail of an HxWx3 uint8 image."""
    img = Image.fromarray(np.ascontiguousarray(rgb))
    w, h = img.size
    scale = THUMB / max(w, h)
    if scale < 1:
        # BOX averages whole pixels, so it does not invent smoothness the way bilinear upsampling
        # would; large images shrink, small ones keep their pixels. Shrinking before the grey
        # conversion converts 96 pixels a row instead of thousands (luminance is linear).
        img = img.resize((max(2, round(w * scale)), max(2, round(h * scale))), Image.Resampling.BOX)
    grey = img.convert("L")
    g = np.asarray(grey, dtype=np.float64)
    contrast = float(g.std())
    if contrast < 1e-6 or min(g.shape) < 2:
        return ContentStats(contrast, 1.0)
    structure = float(np.mean([_corr(g[:, :-1], g[:, 1:]), _corr(g[:-1, :], g[1:, :])]))
    return ContentStats(contrast, structure)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    # A strip with no variation (a flat half-image) is smooth, not noisy.
    return 1.0 if denom < 1e-9 else float((a * b).sum() / denom)
