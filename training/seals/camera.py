"""Lighting set-ups and the simulated camera: framing, perspective, exposure, blur, noise and JPEG.

Lighting is a named list (``LIGHTING``) so that a held-out test split can use a set-up never seen in
training. A lighting set-up decides both the scene light (direction, ambient level, shadow hardness,
how strongly metal glints) and what happens in the camera (colour cast, exposure, gradients, flash
fall-off, noise level, blur likelihood).

The camera is sampled *before* the scene so the zoom can be turned into a canvas resolution: the
scene is rendered at roughly output resolution, which is what keeps the generator fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from training.seals.canvas import Light, fill_poly, grid

# name -> parameters. Ranges are (low, high) and sampled uniformly per image. ``exposure`` is a bias on
# top of the camera's auto-exposure (a phone brightens a dim scene and pays for it in noise).
LIGHTING: dict[str, dict] = {
    "daylight": dict(elev=(35, 65), ambient=(0.38, 0.52), soft=(1.0, 2.5), spec=(0.8, 1.1),
                     gain=(1.0, 1.0, 1.03), sat=(0.95, 1.1), exposure=(0.9, 1.1), noise=(0.0026, 0.0078),
                     gradient=(0.05, 0.25), vignette=(0.0, 0.2), band_p=0.3, flash=False,
                     motion_p=0.12, defocus_p=0.25),
    "overcast": dict(elev=(55, 80), ambient=(0.6, 0.75), soft=(4.0, 8.0), spec=(0.35, 0.6),
                     gain=(0.96, 1.0, 1.06), sat=(0.8, 0.95), exposure=(0.9, 1.05), noise=(0.0033, 0.0091),
                     gradient=(0.0, 0.15), vignette=(0.0, 0.2), band_p=0.0, flash=False,
                     motion_p=0.12, defocus_p=0.25),
    "sunlight": dict(elev=(25, 50), ambient=(0.22, 0.35), soft=(0.4, 1.0), spec=(1.1, 1.5),
                     gain=(1.06, 1.0, 0.9), sat=(1.0, 1.2), exposure=(0.95, 1.15), noise=(0.0020, 0.0052),
                     gradient=(0.0, 0.15), vignette=(0.0, 0.15), band_p=0.55, flash=False,
                     motion_p=0.08, defocus_p=0.2),
    "warehouse_sodium": dict(elev=(50, 80), ambient=(0.45, 0.6), soft=(2.0, 5.0), spec=(0.7, 1.0),
                             gain=(1.28, 0.86, 0.42), sat=(0.35, 0.6), exposure=(0.78, 0.95),
                             noise=(0.0091, 0.0195), gradient=(0.1, 0.35), vignette=(0.1, 0.35), band_p=0.2,
                             flash=False, motion_p=0.3, defocus_p=0.35),
    "fluorescent": dict(elev=(55, 85), ambient=(0.5, 0.65), soft=(2.5, 6.0), spec=(0.6, 0.9),
                        gain=(0.94, 1.04, 0.98), sat=(0.85, 1.0), exposure=(0.88, 1.05), noise=(0.0052, 0.0117),
                        gradient=(0.05, 0.25), vignette=(0.05, 0.25), band_p=0.15, flash=False,
                        motion_p=0.2, defocus_p=0.3),
    "flash": dict(elev=(74, 86), ambient=(0.18, 0.3), soft=(0.4, 1.2), spec=(1.3, 1.8),
                  gain=(1.0, 1.0, 1.05), sat=(1.0, 1.15), exposure=(0.95, 1.15), noise=(0.0039, 0.0104),
                  gradient=(0.0, 0.1), vignette=(0.3, 0.6), band_p=0.0, flash=True,
                  motion_p=0.03, defocus_p=0.2),
    "dim": dict(elev=(30, 70), ambient=(0.4, 0.6), soft=(2.0, 6.0), spec=(0.5, 0.9),
                gain=(1.1, 0.98, 0.82), sat=(0.7, 0.9), exposure=(0.62, 0.85), noise=(0.0117, 0.0208),
                gradient=(0.1, 0.35), vignette=(0.15, 0.4), band_p=0.1, flash=False,
                motion_p=0.45, defocus_p=0.4),
}


def _u(rng: np.random.Generator, lo_hi) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def sample_light(rng: np.random.Generator, lighting: str) -> Light:
    """The scene light for a lighting set-up (direction, ambient, shadow and glint strength)."""
    p = LIGHTING[lighting]
    elev = np.radians(_u(rng, p["elev"]))
    az = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(az) * np.cos(elev), np.sin(az) * np.cos(elev), np.sin(elev)])
    ambient = _u(rng, p["ambient"])
    soft = _u(rng, p["soft"])
    return Light(direction=d, ambient=ambient, specular=_u(rng, p["spec"]), shadow_softness=soft,
                 shadow_strength=(1.0 - ambient) * rng.uniform(0.65, 0.9))


@dataclass
class Camera:
    """Everything random about the photo that is not the scene: framing and the imaging pipeline."""

    size: int
    angle: float          # radians, in-plane rotation of the photo
    zoom: float           # fraction of the frame the seal's extent fills
    persp: tuple[float, float]
    squash: tuple[float, float]  # foreshortening factor and its direction (radians)
    shift: tuple[float, float]   # offset of the seal from the frame centre, in frame fractions
    lighting: str
    params: dict

    def rotated_extent(self, w: float, h: float) -> float:
        """Largest side of a w x h box after this camera's rotation."""
        c, s = abs(np.cos(self.angle)), abs(np.sin(self.angle))
        return max(w * c + h * s, w * s + h * c)

    def canvas_size(self) -> int:
        """Smallest square canvas that covers the whole frame after squash and perspective (the
        homography only depends on the canvas size through its centre)."""
        h = self.homography(0)
        corners = np.array([[[0, 0]], [[self.size, 0]], [[0, self.size]], [[self.size, self.size]]],
                           np.float64)
        back = cv2.perspectiveTransform(corners, np.linalg.inv(h)).reshape(-1, 2) + 0.5
        return int(np.ceil(2 * np.abs(back).max())) + 6

    def homography(self, canvas: int) -> np.ndarray:
        """Canvas -> frame homography: foreshortening and perspective about the centre.

        Rotation, zoom and the seal's offset in the frame are already applied when the scene is drawn.
        """
        S = self.size
        cc = (canvas - 1) / 2.0
        t0 = np.array([[1, 0, -cc], [0, 1, -cc], [0, 0, 1]], np.float64)
        k, phi = self.squash
        cp, sp = np.cos(phi), np.sin(phi)
        rp = np.array([[cp, -sp, 0], [sp, cp, 0], [0, 0, 1]])
        sq = rp @ np.diag([k, 1.0, 1.0]) @ rp.T
        p = np.array([[1, 0, 0], [0, 1, 0], [self.persp[0] / S, self.persp[1] / S, 1]], np.float64)
        t1 = np.array([[1, 0, (S - 1) / 2], [0, 1, (S - 1) / 2], [0, 0, 1]], np.float64)
        return t1 @ p @ sq @ t0


def sample_camera(rng: np.random.Generator, size: int, lighting: str, wide: bool = False) -> Camera:
    """Sample framing and imaging parameters for one photo.

    ``wide`` (generator 1.2's wide mode) widens framing and perspective; the wider imaging effects are
    added by :func:`training.seals.wide.wide_camera` from a generator of their own.
    """
    p = LIGHTING[lighting]
    if rng.random() < 0.6:
        angle = float(np.clip(rng.normal(0.0, 0.35), -1.0, 1.0))  # hand-held, roughly upright
    else:
        angle = float(rng.uniform(-np.pi, np.pi))
    # An inspection photo is a close-up: the seal's extent (fixture and strap tails included) fills
    # 70-115% of the frame, so a cut or crack a few millimetres wide still covers pixels at 224 px.
    # (At 42-82%, generator 1.0, a 3 mm cut was 3 px wide and most defects were invisible.)
    zoom = float(rng.uniform(0.55, 1.2) if wide else rng.uniform(0.70, 1.15))
    free = max(0.03, (1.0 - zoom) / 2 * 0.55)
    shift = (float(rng.uniform(-free, free)), float(rng.uniform(-free, free)))
    pr = 0.32 if wide else 0.22
    persp = (float(rng.uniform(-pr, pr)), float(rng.uniform(-pr, pr)))
    squash = (float(rng.uniform(0.85, 1.0)), float(rng.uniform(0, np.pi)))
    params = dict(
        gain=np.array(p["gain"]) * (1.0 + rng.normal(0, 0.03, 3)),
        sat=_u(rng, p["sat"]),
        exposure=_u(rng, p["exposure"]),
        target=float(rng.uniform(0.34, 0.5)),
        noise=_u(rng, p["noise"]),
        gradient=_u(rng, p["gradient"]),
        grad_dir=float(rng.uniform(0, 2 * np.pi)),
        vignette=_u(rng, p["vignette"]),
        flash=bool(p["flash"]),
        flash_center=(float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65))),
        flash_radius=float(rng.uniform(0.35, 0.7)),
        band=bool(rng.random() < p["band_p"]),
        band_seed=int(rng.integers(0, 2**31)),
        band_strength=float(rng.uniform(0.3, 0.55)),
        motion=bool(rng.random() < p["motion_p"]),
        motion_len=float(rng.uniform(2.0, 6.0)),
        motion_angle=float(rng.uniform(0, np.pi)),
        defocus=bool(rng.random() < p["defocus_p"]),
        defocus_sigma=float(rng.uniform(0.5, 1.3)),
        sharpen=bool(rng.random() < 0.35),
        gamma=float(rng.uniform(0.9, 1.1)),
        contrast=float(rng.uniform(0.92, 1.12)),
        jpeg=int(rng.integers(55, 96)),  # phone cameras and messengers; below ~50 fine cracks vanish
        noise_seed=int(rng.integers(0, 2**31)),
    )
    return Camera(size=size, angle=angle, zoom=zoom, persp=persp, squash=squash, shift=shift,
                  lighting=lighting, params=params)


def _illumination(cam: Camera, S: int) -> np.ndarray:
    """Multiplicative light map (S x S, frame space): gradient, vignette, flash fall-off, occluder shadow."""
    p = cam.params
    xx, yy = grid(S, S)
    k = 1.0 / max(S - 1, 1)
    dx, dy = float(np.cos(p["grad_dir"])) * k, float(np.sin(p["grad_dir"])) * k
    g = (xx * dx + yy * dy - 0.5 * (dx + dy) * (S - 1)) * (2.0 * p["gradient"]) + 1.0
    r2 = ((xx - (S - 1) / 2) ** 2 + (yy - (S - 1) / 2) ** 2) * (k * k)
    g *= 1.0 - p["vignette"] * np.minimum(r2 * 2.0, 1.0)
    if p["flash"]:
        fx0, fy0 = p["flash_center"]
        fr2 = ((xx * k - fx0) ** 2 + (yy * k - fy0) ** 2) * (1.6 / p["flash_radius"] ** 2)
        g *= 0.35 + 0.95 / (1.0 + fr2)
    if p["band"]:
        # The shadow of something outside the frame (a person, the door frame) across part of it.
        brng = np.random.default_rng(p["band_seed"])
        m = np.zeros((S, S), np.uint8)
        a = brng.uniform(0, 2 * np.pi)
        n = np.array([np.cos(a), np.sin(a)])
        c = np.array([S / 2, S / 2]) + n * brng.uniform(-0.3, 0.35) * S
        t = np.array([-n[1], n[0]]) * S * 2
        far = n * S * 2
        wob = brng.uniform(-0.1, 0.1) * S
        fill_poly(m, [c - t, c + t, c + t + far + wob, c - t + far])
        soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), max(0.6, S * brng.uniform(0.01, 0.05)))
        g *= 1.0 - (p["band_strength"] / 255.0) * soft
    return g


_BANK = 1024


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    # A fixed Gaussian field; each image reads a random window of it (a few times cheaper than
    # drawing fresh normals, and just as deterministic).
    bank = np.random.default_rng(0x5E4150).standard_normal((_BANK, _BANK, 3), dtype=np.float32)
    bank.setflags(write=False)
    return bank


def _noise_crop(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Unit Gaussian noise of ``shape`` (H, W) or (H, W, 3), read from the bank at a random offset."""
    h, w = shape[:2]
    if h > _BANK or w > _BANK:
        return rng.standard_normal(shape, dtype=np.float32)
    bank = _noise_bank()
    y, x, c = int(rng.integers(0, _BANK - h + 1)), int(rng.integers(0, _BANK - w + 1)), int(rng.integers(0, 3))
    win = bank[y:y + h, x:x + w]
    if rng.random() < 0.5:
        win = win[::-1]
    return np.array(win if len(shape) == 3 else win[..., c], dtype=np.float32)


def develop(img: np.ndarray, cam: Camera) -> np.ndarray:
    """Turn a frame-space float RGB render into a camera photo (uint8 RGB): light map, auto-exposure,
    colour cast, optics blur, sensor noise, tone curve, sharpening and JPEG compression."""
    p = cam.params
    S = cam.size
    scale = S / 256.0
    small = max(16, S // 4)
    # The light map is smooth: build it at quarter resolution and upsample.
    illum = cv2.resize(_illumination(cam, small), (S, S), interpolation=cv2.INTER_LINEAR)
    img = img * illum[..., None]
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    auto = float(np.clip(p["target"] / max(float(lum.mean()), 1e-3), 0.6, 3.5))
    gain = np.asarray(p["gain"], np.float64) * (auto * p["exposure"])
    w = np.array([0.299, 0.587, 0.114])
    sat = p["sat"]
    # colour cast, exposure and saturation as one 3x3 colour matrix
    mat = np.diag(gain) @ (sat * np.eye(3) + (1.0 - sat) * np.outer(np.ones(3), w))
    img = cv2.transform(img, mat.astype(np.float32))
    if p.get("glare"):
        from training.seals.wide import apply_glare
        img = apply_glare(img, p["glare"])
    if p["defocus"]:
        img = cv2.GaussianBlur(img, (0, 0), p["defocus_sigma"] * scale)
    if p["motion"]:
        n = max(2, int(round(p["motion_len"] * scale)))
        k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
        c, s = np.cos(p["motion_angle"]), np.sin(p["motion_angle"])
        cv2.line(k, (int(round(n - c * n / 2)), int(round(n - s * n / 2))),
                 (int(round(n + c * n / 2)), int(round(n + s * n / 2))), 1.0, 1, cv2.LINE_AA)
        img = cv2.filter2D(img, -1, k / k.sum())
    nrng = np.random.default_rng(p["noise_seed"])
    sigma = p["noise"]
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    shot = np.sqrt(np.maximum(lum, 0.0) * (sigma * 0.6) + sigma * sigma)
    luma_n = _noise_crop(nrng, (S, S))
    luma_n *= shot * 0.8
    h = max(2, S // 2)
    chroma = cv2.resize(_noise_crop(nrng, (h, h, 3)), (S, S), interpolation=cv2.INTER_LINEAR)
    chroma *= (shot * 0.35)[..., None]
    img += luma_n[..., None]
    img += chroma
    # Soft shoulder so glints saturate to white like a real sensor instead of hard-clipping colour.
    hot = img > 0.8
    if hot.any():
        t = (img[hot] - 0.8) * 5.0
        img[hot] = 0.8 + (0.2 * t) / (1.0 + t)
    out = cv2.convertScaleAbs(img, alpha=255.0)
    lut = np.clip((np.arange(256) / 255.0 - 0.5) * p["contrast"] + 0.5, 0.0, 1.0) ** p["gamma"]
    out = cv2.LUT(out, np.round(lut * 255.0).astype(np.uint8))
    if p["sharpen"]:
        blur = cv2.GaussianBlur(out, (0, 0), 1.0 * scale)
        out = cv2.addWeighted(out, 1.6, blur, -0.6, 0.0)
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, p["jpeg"]])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def warp_to_frame(canvas: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Warp a square canvas into the camera frame; returns (frame image, homography)."""
    hmat = cam.homography(canvas.shape[0])
    frame = cv2.warpPerspective(canvas, hmat, (cam.size, cam.size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    return frame, hmat


def warp_mask(mask: np.ndarray, hmat: np.ndarray, size: int) -> np.ndarray:
    """Warp a canvas coverage mask into the frame and binarise it to {0, 255}."""
    m = cv2.warpPerspective(mask, hmat, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = np.where(m >= 128, 255, 0).astype(np.uint8)
    if not out.any() and m.any():
        # A very thin defect can fall below half coverage everywhere; keep whatever it touched.
        out = np.where(m > 0, 255, 0).astype(np.uint8)
    return out


__all__ = ["LIGHTING", "Camera", "sample_camera", "sample_light", "develop", "warp_to_frame", "warp_mask"]
