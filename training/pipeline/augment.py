"""On-the-fly augmentation of uint8 RGB images at model size (OpenCV, seeded NumPy generator).

The geometric recipe follows the studies Tilik's packs are modelled on (Keras
``ImageDataGenerator`` terms): rotation +/-20 degrees, width/height shift 0.2 of the side, zoom
0.15 (scale in [0.85, 1.15]), horizontal flip, ``nearest`` fill (edge pixels repeated). Vertical
flips and colour jitter (brightness, contrast, saturation, hue) are switched on per domain in the
config: a dermoscopy image has no "up", a signature does. Optional photographic degradations for
domains photographed by hand (``blur`` and ``noise``: the probability per image, with a sigma drawn
from ``blur_sigma`` pixels at model size / ``noise_sigma`` x 255) come last.

Format augmentation, for data that reaches the app in more than one rendition (HAM10000 as 200x150
JPEGs at quality ~75 and as 224-px copies of the 600x450 originals at ~95): ``rescale`` (probability)
shrinks the image by a factor drawn per axis from ``rescale_range`` (area interpolation) and enlarges
it back (bilinear), as a low-resolution copy stretched to the model size looks; ``jpeg``
(probability) re-encodes it at a quality drawn from ``jpeg_quality`` (integers, inclusive). They run
after the colour jitter and before blur / noise, and draw from the random stream only when switched
on, so configs without them produce the same images (and feature-cache keys) as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Bumped when the augmentation code changes what a seed produces (part of the feature-cache key).
AUGMENT_VERSION = 2

_BORDER = {
    "nearest": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "wrap": cv2.BORDER_WRAP,
    "constant": cv2.BORDER_CONSTANT,
}


@dataclass(frozen=True)
class Augmenter:
    """Random geometric + colour transform; ``params`` is the config's ``augment`` block."""

    rotation: float = 20.0
    width_shift: float = 0.2
    height_shift: float = 0.2
    zoom: float = 0.15
    horizontal_flip: bool = True
    vertical_flip: bool = False
    fill: str = "nearest"
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    blur: float = 0.0                      # probability of a Gaussian blur
    blur_sigma: tuple = (0.5, 2.5)         # its sigma range, pixels at model size
    noise: float = 0.0                     # probability of Gaussian noise
    noise_sigma: tuple = (0.01, 0.1)       # its sigma range, fraction of 255
    rescale: float = 0.0                   # probability of a shrink-and-enlarge (resolution loss)
    rescale_range: tuple = (0.6, 1.0)      # its scale factor range, drawn per axis
    jpeg: float = 0.0                      # probability of a JPEG re-encode
    jpeg_quality: tuple = (60, 95)         # its quality range (inclusive)

    @classmethod
    def from_config(cls, params: dict) -> "Augmenter":
        keys = cls.__dataclass_fields__
        if params.get("fill", "nearest") not in _BORDER:
            raise ValueError(f"augment.fill must be one of {sorted(_BORDER)}")
        kw = {k: v for k, v in params.items() if k in keys}
        for k in ("blur_sigma", "noise_sigma"):
            if k in kw:
                kw[k] = tuple(float(v) for v in kw[k])
                if len(kw[k]) != 2 or not 0 <= kw[k][0] <= kw[k][1]:
                    raise ValueError(f"augment.{k} must be [low, high] with 0 <= low <= high")
        if "rescale_range" in kw:
            kw["rescale_range"] = tuple(float(v) for v in kw["rescale_range"])
            lo_hi = kw["rescale_range"]
            if len(lo_hi) != 2 or not 0 < lo_hi[0] <= lo_hi[1] <= 1:
                raise ValueError("augment.rescale_range must be [low, high] with 0 < low <= high <= 1")
        if "jpeg_quality" in kw:
            q = tuple(kw["jpeg_quality"])
            if len(q) != 2 or any(int(v) != v for v in q) or not 1 <= q[0] <= q[1] <= 100:
                raise ValueError("augment.jpeg_quality must be [low, high] integers with 1 <= low <= high <= 100")
            kw["jpeg_quality"] = (int(q[0]), int(q[1]))
        for k in ("blur", "noise", "rescale", "jpeg"):
            if not 0 <= float(kw.get(k, 0.0)) <= 1:
                raise ValueError(f"augment.{k} is a probability in [0, 1]")
        return cls(**kw)

    def describe(self) -> dict:
        # The degradations only enter the description (and so the feature-cache key) when used, so
        # configs without them keep the keys their caches were written under.
        unused = {"blur": ("blur", "blur_sigma"), "noise": ("noise", "noise_sigma"),
                  "rescale": ("rescale", "rescale_range"), "jpeg": ("jpeg", "jpeg_quality")}
        fields = [k for k in self.__dataclass_fields__
                  if not any(k in keys and not getattr(self, switch) for switch, keys in unused.items())]
        return {**{k: (list(getattr(self, k)) if isinstance(getattr(self, k), tuple) else getattr(self, k))
                   for k in fields}, "version": AUGMENT_VERSION}

    def geometric_matrix(self, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """The 2x3 affine matrix of one random rotation + zoom + shift about the image centre."""
        angle = rng.uniform(-self.rotation, self.rotation) if self.rotation else 0.0
        scale = rng.uniform(1.0 - self.zoom, 1.0 + self.zoom) if self.zoom else 1.0
        tx = rng.uniform(-self.width_shift, self.width_shift) * w if self.width_shift else 0.0
        ty = rng.uniform(-self.height_shift, self.height_shift) * h if self.height_shift else 0.0
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, scale)
        m[0, 2] += tx
        m[1, 2] += ty
        return m

    def __call__(self, img: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None = None):
        """One random augmentation of ``img`` (uint8 H x W x 3); returns a new uint8 array.

        With ``mask`` (H x W, e.g. a defect region) the same geometry (warp, flips; the fill mode for
        masks is always zero) is applied to it and ``(image, mask)`` is returned. The random stream
        is consumed exactly as without a mask, so a mask can be replayed for cached features."""
        h, w = img.shape[:2]
        out = img
        if self.rotation or self.zoom or self.width_shift or self.height_shift:
            matrix = self.geometric_matrix(h, w, rng)
            out = cv2.warpAffine(out, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=_BORDER[self.fill], borderValue=(0, 0, 0))
            if mask is not None:
                mask = cv2.warpAffine(np.ascontiguousarray(mask), matrix, (w, h), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.horizontal_flip and rng.random() < 0.5:
            out = out[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        if self.vertical_flip and rng.random() < 0.5:
            out = out[::-1]
            mask = None if mask is None else mask[::-1]
        if self.brightness or self.contrast or self.saturation or self.hue:
            out = self._colour(np.ascontiguousarray(out), rng)
        if self.rescale and rng.random() < self.rescale:
            out = self._rescale(np.ascontiguousarray(out), rng)
        if self.jpeg and rng.random() < self.jpeg:
            out = jpeg_roundtrip(np.ascontiguousarray(out), int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        if self.blur and rng.random() < self.blur:
            sigma = max(float(rng.uniform(*self.blur_sigma)), 1e-3)
            out = cv2.GaussianBlur(np.ascontiguousarray(out), (0, 0), sigmaX=sigma, sigmaY=sigma,
                                   borderType=cv2.BORDER_REFLECT_101)
        if self.noise and rng.random() < self.noise:
            sigma = float(rng.uniform(*self.noise_sigma)) * 255.0
            noisy = out.astype(np.float32) + rng.normal(0.0, sigma, out.shape).astype(np.float32)
            out = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
        if mask is not None:
            return np.ascontiguousarray(out), np.ascontiguousarray(mask)
        return np.ascontiguousarray(out)

    def _rescale(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Shrink by a factor per axis from ``rescale_range``, then back to the original size."""
        h, w = img.shape[:2]
        fx, fy = (float(rng.uniform(*self.rescale_range)) for _ in range(2))
        small = cv2.resize(img, (max(1, round(w * fx)), max(1, round(h * fy))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    def _colour(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Hue shift, saturation, contrast and brightness, all in uint8 OpenCV ops (fast)."""
        out = img
        if self.hue:
            hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV_FULL)
            shift = int(round(rng.uniform(-self.hue, self.hue) * 256.0))
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 256).astype(np.uint8)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
        if self.saturation:
            f = rng.uniform(1.0 - self.saturation, 1.0 + self.saturation)
            gray = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
            out = cv2.addWeighted(out, f, gray, 1.0 - f, 0.0)
        c = rng.uniform(1.0 - self.contrast, 1.0 + self.contrast) if self.contrast else 1.0
        b = rng.uniform(1.0 - self.brightness, 1.0 + self.brightness) if self.brightness else 1.0
        if c != 1.0 or b != 1.0:
            # b * (mean + c * (x - mean)) as one saturating affine map.
            mean = float(out.mean())
            out = cv2.addWeighted(out, b * c, out, 0.0, b * (1.0 - c) * mean)
        return out


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (uint8 RGB) encoded as a baseline JPEG at ``quality`` and decoded again."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
