"""The wider generator (1.2, ``wide=True``): real-photo textures, more camera effects, wider framing and
a hand or glove in the frame.

A classifier trained on one renderer learns that renderer (seal-integrity 1.2.0: 0.61 accuracy on
photos drawn by another one). Everything here widens what a training photo can look like without
changing what makes it damaged:

* **Photo textures.** Patches cut from real photos (``../shared/data/imagenet-samples``, training
  only, never shipped) become two named backgrounds (``photo_surface``: a photo patch as the surface
  the seal hangs on; ``photo_clutter``: a defocused, larger-scale one) and, on every other background,
  a low-contrast overlay that gives painted steel and cardboard real dirt, wear and print.
* **Camera** (:func:`wide_camera`): white balance far from neutral, glare (a blown highlight and a
  veil of flare), stronger motion blur and defocus, and low JPEG quality (20-50) on some photos.
* **Framing**: zoom 0.55-1.2 instead of 0.70-1.15, stronger perspective.
* **Occlusion** (:func:`occlude`): a thumb or gloved fingers entering from a frame edge, kept off the
  defect region so the label stays true.

The two photo backgrounds read disjoint halves of the photo folder (even and odd files), so a
leave-one-background-out split really holds out photos.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

PHOTO_BACKGROUNDS: tuple[str, ...] = ("photo_surface", "photo_clutter")
_DEFAULT_PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "imagenet-samples" / "images"
_THUMB = 192  # photos are cached at this size: texture patches are cut from it


def photo_dir() -> Path:
    """Where the texture photos are read from (``TILIK_SEAL_PHOTOS`` or ../shared/data/imagenet-samples)."""
    return Path(os.environ.get("TILIK_SEAL_PHOTOS") or _DEFAULT_PHOTOS)


@lru_cache(maxsize=2)
def _photo_list(folder: str) -> tuple[str, ...]:
    d = Path(folder)
    files = sorted(str(p) for p in d.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".jpeg"))
    if not files:
        raise ValueError(f"the wide seal generator needs real photos for textures and found none in {d}; "
                         f"set TILIK_SEAL_PHOTOS to a folder of JPEG/PNG photos (any subject)")
    return tuple(files)


@lru_cache(maxsize=1024)
def _photo(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"could not read texture photo {path}")
    h, w = img.shape[:2]
    k = _THUMB / min(h, w)
    img = cv2.resize(img, (max(_THUMB, int(round(w * k))), max(_THUMB, int(round(h * k)))),
                     interpolation=cv2.INTER_AREA)
    out = np.ascontiguousarray(img[..., ::-1]).astype(np.float32) / 255.0
    out.setflags(write=False)
    return out


def photo_patch(rng: np.random.Generator, C: int, parity: int | None = None, zoom: tuple[float, float] = (0.3, 0.8)) -> np.ndarray:
    """A (C, C, 3) float RGB texture cut from a random real photo (``parity`` 0/1 picks even/odd files)."""
    files = _photo_list(str(photo_dir()))
    if parity is not None:
        files = files[parity::2] or files
    img = _photo(files[int(rng.integers(len(files)))])
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(*zoom))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    patch = img[y:y + side, x:x + side]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    k = int(rng.integers(4))
    patch = np.rot90(patch, k)
    return cv2.resize(np.ascontiguousarray(patch), (C, C), interpolation=cv2.INTER_LINEAR)


def photo_background(name: str, rng: np.random.Generator, C: int, light) -> tuple[np.ndarray, dict]:
    """Render one of :data:`PHOTO_BACKGROUNDS`: a real-photo patch lit by the scene's ambient level."""
    if name == "photo_surface":
        tex = photo_patch(rng, C, parity=0, zoom=(0.25, 0.6))
        # a surface photographed close: desaturate a little so it reads as a material, not a scene
        grey = tex.mean(axis=2, keepdims=True)
        tex = grey + (tex - grey) * float(rng.uniform(0.4, 0.9))
    elif name == "photo_clutter":
        tex = photo_patch(rng, C, parity=1, zoom=(0.6, 1.0))
        tex = cv2.GaussianBlur(tex, (0, 0), max(0.8, C * float(rng.uniform(0.004, 0.015))))
    else:
        raise ValueError(f"unknown photo background {name!r}; choose from {', '.join(PHOTO_BACKGROUNDS)}")
    level = float(light.ambient + (1.0 - light.ambient) * 0.6)
    canvas = np.clip(tex * level * float(rng.uniform(0.85, 1.15)), 0, 1.2).astype(np.float32)
    paint = np.clip(tex.reshape(-1, 3).mean(axis=0), 0.05, 0.95)
    return canvas, dict(surface="photo", paint=tuple(float(v) for v in paint))


def texture_overlay(rng: np.random.Generator, canvas: np.ndarray, strength: tuple[float, float] = (0.12, 0.4)) -> None:
    """Modulate a procedural background with a real photo's luminance (dirt, wear, print), in place."""
    C = canvas.shape[0]
    tex = photo_patch(rng, C, zoom=(0.2, 0.7))
    lum = tex.mean(axis=2)
    lum = (lum - lum.mean()) / (lum.std() + 1e-6)
    s = float(rng.uniform(*strength))
    canvas *= np.clip(1.0 + s * 0.5 * lum, 0.3, 1.8)[..., None].astype(np.float32)


def wide_camera(rng: np.random.Generator, params: dict) -> None:
    """Add the wider camera effects to a camera's ``params`` (white balance, glare, blur, low JPEG)."""
    # white balance: a phone in auto-WB under mixed light lands anywhere between warm and cool
    t = float(rng.uniform(-1, 1))
    wb = np.array([1.0 + 0.25 * t, 1.0, 1.0 - 0.25 * t]) * (1.0 + rng.normal(0, 0.05, 3))
    params["gain"] = np.asarray(params["gain"]) * wb
    if rng.random() < 0.25:
        params["glare"] = dict(x=float(rng.uniform(0.1, 0.9)), y=float(rng.uniform(0.1, 0.9)),
                               r=float(rng.uniform(0.04, 0.15)), peak=float(rng.uniform(0.6, 1.6)),
                               veil=float(rng.uniform(0.0, 0.12)))
    if rng.random() < 0.2:
        params["motion"] = True
        params["motion_len"] = float(rng.uniform(4.0, 10.0))
    if rng.random() < 0.2:
        params["defocus"] = True
        params["defocus_sigma"] = float(rng.uniform(1.0, 2.2))
    if rng.random() < 0.2:
        params["jpeg"] = int(rng.integers(20, 51))


def apply_glare(img: np.ndarray, glare: dict) -> np.ndarray:
    """A blown specular highlight plus a flat veil of flare (frame space, float RGB)."""
    S = img.shape[0]
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / max(S - 1, 1)
    d2 = (xx - glare["x"]) ** 2 + (yy - glare["y"]) ** 2
    spot = glare["peak"] * np.exp(-d2 / (2 * glare["r"] ** 2))
    return img + (spot + glare["veil"])[..., None].astype(np.float32)


_SKIN = [(0.87, 0.68, 0.56), (0.76, 0.55, 0.42), (0.55, 0.37, 0.26), (0.36, 0.24, 0.17), (0.93, 0.78, 0.68)]
_GLOVES = [(0.15, 0.35, 0.75), (0.08, 0.08, 0.09), (0.85, 0.72, 0.12), (0.55, 0.56, 0.55), (0.9, 0.9, 0.88),
           (0.85, 0.35, 0.08)]


def occluder_mask(rng: np.random.Generator, S: int) -> tuple[np.ndarray, tuple]:
    """A thumb or 2-4 fingers entering from a random edge: (uint8 (S, S) coverage, colour)."""
    glove = rng.random() < 0.55
    col = _GLOVES[int(rng.integers(len(_GLOVES)))] if glove else _SKIN[int(rng.integers(len(_SKIN)))]
    m = np.zeros((S, S), np.uint8)
    edge = int(rng.integers(4))
    depth = rng.uniform(0.12, 0.3) * S
    along = rng.uniform(0.15, 0.85) * S
    n = 1 if rng.random() < 0.5 else int(rng.integers(2, 5))
    width = rng.uniform(0.09, 0.14) * S * (1.35 if n == 1 else 1.0)
    tilt = rng.uniform(-0.5, 0.5)
    for k in range(n):
        a0 = along + (k - (n - 1) / 2) * width * 0.95
        length = depth * rng.uniform(0.8, 1.15)
        # finger in edge coordinates: from outside the frame (-width) to `length` inside
        x0, y0 = a0, -width
        x1, y1 = a0 + np.sin(tilt) * length, np.cos(tilt) * length
        pts = np.array([[x0, y0], [x1, y1]])
        if edge == 1:
            pts = pts[:, ::-1]
        elif edge == 2:
            pts = np.stack([pts[:, 0], S - 1 - pts[:, 1]], 1)
        elif edge == 3:
            pts = np.stack([S - 1 - pts[:, 1], pts[:, 0]], 1)
        p = np.rint(pts * 16).astype(np.int32)
        cv2.line(m, tuple(p[0]), tuple(p[1]), 255, max(2, int(round(width))), cv2.LINE_AA, 4)
        cv2.circle(m, tuple(p[1]), max(1, int(round(width / 2))) * 16, 255, -1, cv2.LINE_AA, 4)
    return m, col


def occlude(frame: np.ndarray, rng: np.random.Generator, avoid: np.ndarray | None) -> bool:
    """Paint a hand or glove over ``frame`` (float RGB, frame space) in place; False if it was dropped.

    ``avoid`` (the defect mask, frame space) must stay visible: the occluder is shrunk towards its edge
    until it leaves the defect alone, and dropped if it cannot.
    """
    S = frame.shape[0]
    m, col = occluder_mask(rng, S)
    if avoid is not None and avoid.any():
        guard = cv2.dilate(avoid, np.ones((7, 7), np.uint8))
        for _ in range(6):
            if not (cv2.min(m, guard) > 0).any():
                break
            m = cv2.erode(m, np.ones((9, 9), np.uint8), iterations=2)
        if (cv2.min(m, guard) > 0).any() or not m.any():
            return False
    a = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), max(0.6, S / 300))
    # rounded shading across the finger (distance to its edge) and out of focus: it is close to the lens
    dist = cv2.distanceTransform((m > 127).astype(np.uint8), cv2.DIST_L2, 3)
    shade = 0.55 + 0.45 * np.clip(dist / max(dist.max(), 1.0), 0, 1) ** 0.5
    hand = np.asarray(col, np.float32)[None, None] * shade[..., None] * float(rng.uniform(0.7, 1.1))
    hand = cv2.GaussianBlur(hand.astype(np.float32), (0, 0), max(0.8, S / 160))
    frame *= (1.0 - a[..., None])
    frame += hand * a[..., None]
    return True


__all__ = ["PHOTO_BACKGROUNDS", "apply_glare", "occlude", "occluder_mask", "photo_background", "photo_dir",
           "photo_patch", "texture_overlay", "wide_camera"]
