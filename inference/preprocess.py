"""Manifest-driven preprocessing, and the inverse mapping that puts a heatmap back on the image.

There are no per-pack code paths: size, resize mode, colour order, layout, scale, mean and std all
come from the manifest's ``input`` block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.manifest import InputSpec

# Pillow's filters antialias when shrinking (the support grows with the scale factor), so a
# 12-megapixel photo brought down to 224 px keeps fine texture instead of aliasing. "area" is a
# box filter, the closest match to OpenCV's INTER_AREA.
_RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}


@dataclass(frozen=True)
class Geometry:
    """Where the original image landed in the model input: ``(x, y, w, h)`` in input pixels of the
    image content, and the crop ``(x, y, w, h)`` of the original that was used."""

    image_width: int
    image_height: int
    content_box: tuple[int, int, int, int]
    source_crop: tuple[int, int, int, int]


def resize_rgb(img: np.ndarray, width: int, height: int, interpolation: str = "bilinear") -> np.ndarray:
    """Resize an RGB (or gray) uint8 array with Pillow."""
    if img.shape[1] == width and img.shape[0] == height:
        return img
    return np.asarray(Image.fromarray(img).resize((width, height), _RESAMPLE[interpolation]))


def resize_float(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a float32 map (H, W), e.g. a heatmap."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape[1] == width and values.shape[0] == height:
        return values
    return np.asarray(Image.fromarray(values).resize((width, height), Image.Resampling.BILINEAR))


_resize = resize_rgb


def fit_to_input(rgb: np.ndarray, spec: InputSpec) -> tuple[np.ndarray, Geometry]:
    """Resize/crop/pad an RGB uint8 image to the model's size; return it with its geometry."""
    h0, w0 = rgb.shape[:2]
    th, tw = spec.height, spec.width
    if spec.resize == "stretch":
        out = _resize(rgb, tw, th, spec.interpolation)
        return out, Geometry(w0, h0, (0, 0, tw, th), (0, 0, w0, h0))
    if spec.resize == "letterbox":
        scale = min(tw / w0, th / h0)
        nw, nh = max(1, round(w0 * scale)), max(1, round(h0 * scale))
        resized = _resize(rgb, nw, nh, spec.interpolation)
        out = np.full((th, tw, 3), spec.pad_value, dtype=np.uint8)
        x, y = (tw - nw) // 2, (th - nh) // 2
        out[y:y + nh, x:x + nw] = resized
        return out, Geometry(w0, h0, (x, y, nw, nh), (0, 0, w0, h0))
    # center_crop: the shorter side is scaled to size / crop_fraction, then the centre is cut out
    # (the ImageNet "resize 256, crop 224" convention when crop_fraction = 0.875). An image already
    # at the input size is taken as fitted: cropping it again would throw away its border and
    # resample it, and such files are what the guard's tools (e.g. FGSM images) write.
    if (h0, w0) == (th, tw):
        return rgb, Geometry(w0, h0, (0, 0, tw, th), (0, 0, w0, h0))
    scale = max(th, tw) / spec.crop_fraction / min(h0, w0)
    nw, nh = max(tw, round(w0 * scale)), max(th, round(h0 * scale))
    x, y = (nw - tw) // 2, (nh - th) // 2
    # Crop first, resize second: only the part of the source the model sees is resampled, straight
    # to the input size (Pillow's box argument, sub-pixel exact). Resizing the whole image first
    # made a 65535×1 strip 16.7 million pixels wide (13 GB) before the crop.
    sx, sy = nw / w0, nh / h0
    box = (x / sx, y / sy, (x + tw) / sx, (y + th) / sy)
    out = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((tw, th), _RESAMPLE[spec.interpolation], box=box))
    crop = (round(x / scale), round(y / scale), round(tw / scale), round(th / scale))
    return np.ascontiguousarray(out), Geometry(w0, h0, (0, 0, tw, th), crop)


def reduction_factor(width: int, height: int, spec: InputSpec, margin: float = 1.5) -> int:
    """How many times smaller an image of ``width``×``height`` may be decoded for this pack.

    The largest integer k such that the reduced image is still at least ``margin`` times the size
    :func:`fit_to_input` brings it to, so the final resize still antialiases and decisions stay
    within the documented tolerance (docs/hostile-files.md, measured). 1.5 rather than 2: a
    4000×3000 JPEG for a 224-px stretch pack is decoded at 1/8 (500×375, 1.7× the input) instead of
    1/4, about 25% less CPU per photo with the same decisions; a centre-cropping pack, whose crop
    needs more pixels, still gets 1/4. Margin 1 (decode at 1/8 for the crop too) flipped 9 of 100
    imagenet-lite0 decisions where 2 flip on a re-save.
    """
    th, tw = spec.height, spec.width
    if width <= 0 or height <= 0:
        return 1
    if spec.resize == "stretch":
        down = min(width / tw, height / th)
    elif spec.resize == "letterbox":
        down = max(width / tw, height / th)
    else:
        down = min(width, height) * spec.crop_fraction / max(th, tw)
    return max(1, int(down // margin))


def to_tensor(fitted: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 RGB (H, W, 3) at model size → float32 tensor (H, W, C) or (C, H, W), no batch axis.

    For colour specs the tensor comes from a 256-entry table per channel (:func:`_tensor_table`):
    every step of :func:`to_tensor_float` is element-wise, so the table holds its exact bits for
    every byte, and one look-up per value replaces three float passes and the layout copy."""
    table = _tensor_table(spec) if spec.color in ("RGB", "BGR") else None
    fitted = np.asarray(fitted)
    if table is None or fitted.dtype != np.uint8 or fitted.ndim != 3 or fitted.shape[2] != 3:
        return to_tensor_float(fitted, spec)
    return _table_tensor(fitted, table, spec)


def to_tensor_float(fitted: np.ndarray, spec: InputSpec) -> np.ndarray:
    """:func:`to_tensor` by float arithmetic: the definition the table path is built from and
    checked against."""
    if spec.color == "GRAY":
        img = np.asarray(Image.fromarray(fitted).convert("L"))[:, :, None]
    elif spec.color == "BGR":
        img = fitted[:, :, ::-1]
    else:
        img = fitted
    x = img.astype(np.float32) * np.float32(spec.scale)
    x -= np.asarray(spec.mean, dtype=np.float32)
    x /= np.asarray(spec.std, dtype=np.float32)
    if spec.layout == "NCHW":
        x = np.transpose(x, (2, 0, 1))
    return np.ascontiguousarray(x, dtype=np.float32)


def _table_tensor(fitted: np.ndarray, table: np.ndarray, spec: InputSpec) -> np.ndarray:
    h, w = fitted.shape[:2]
    nchw = spec.layout == "NCHW"
    out = np.empty((3, h, w) if nchw else (h, w, 3), np.float32)
    for k in range(3):  # tensor channel k is pixel channel k (RGB) or 2 - k (BGR)
        src = fitted[..., 2 - k if spec.color == "BGR" else k]
        np.take(table[:, k], src, out=out[k] if nchw else out[..., k])
    return out


_TABLES: dict[tuple, np.ndarray | None] = {}


def _tensor_table(spec: InputSpec) -> np.ndarray | None:
    """(256, 3) float32: tensor channel k's value for byte v, made by :func:`to_tensor_float`
    itself; None (the float path is used) if the table does not reproduce it on a probe."""
    # Keyed by what the tensor depends on (a spec made from JSON may hold lists: not hashable).
    key = (spec.layout, spec.color, float(spec.scale), tuple(map(float, spec.mean)), tuple(map(float, spec.std)))
    if key in _TABLES:
        return _TABLES[key]
    v = np.arange(256, dtype=np.uint8)
    same = np.repeat(v[:, None, None], 3, axis=2)  # (256, 1, 3): byte v in every channel
    t = to_tensor_float(same, spec)
    table = np.ascontiguousarray((t[:, :, 0].T if spec.layout == "NCHW" else t[:, 0, :]), np.float32)
    # Channel order and layout: distinct bytes per channel, every byte in every channel.
    probe = np.stack([v, np.roll(v, 85), np.roll(v, 170)], axis=-1)[:, None, :]
    if not np.array_equal(_table_tensor(probe, table, spec), to_tensor_float(probe, spec)):
        table = None
    _TABLES[key] = table
    return table


def preprocess(rgb: np.ndarray, spec: InputSpec) -> tuple[np.ndarray, Geometry]:
    """Full preprocessing of one image: returns the tensor (no batch axis) and its geometry."""
    fitted, geometry = fit_to_input(rgb, spec)
    return to_tensor(fitted, spec), geometry


def heatmap_to_image(cam: np.ndarray, geometry: Geometry, max_px: int | None = None) -> np.ndarray:
    """Map a heatmap at model-input size back onto the original image, as float32 in [0, 1].

    Padding added by letterboxing is cut off; areas a centre crop never showed the model get 0.
    The map has the original image's shape, shrunk so its longer side is at most ``max_px``
    (``None``: the full image size; only for small images, a 12-MP float map is 48 MB). The CAM is
    upsampled from a coarse feature map, so a 1024-px copy shows everything there is to see.
    """
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim == 3:
        cam = cam[..., 0]
    x, y, w, h = geometry.content_box
    content = cam[y:y + h, x:x + w]
    cx, cy, cw, ch = geometry.source_crop
    W, H = geometry.image_width, geometry.image_height
    s = 1.0 if max_px is None else min(1.0, max_px / max(W, H))
    ow, oh = max(1, round(W * s)), max(1, round(H * s))
    if (cx, cy, cw, ch) == (0, 0, W, H):
        out = resize_float(content, ow, oh)
    else:
        out = np.zeros((oh, ow), dtype=np.float32)
        px, py = round(cx * s), round(cy * s)
        pw, ph = max(1, round(cw * s)), max(1, round(ch * s))
        patch = resize_float(content, pw, ph)
        x0, y0 = max(px, 0), max(py, 0)
        x1, y1 = min(px + pw, ow), min(py + ph, oh)
        out[y0:y1, x0:x1] = patch[y0 - py:y1 - py, x0 - px:x1 - px]
    return np.clip(out, 0.0, 1.0)


def shrink_map(values: np.ndarray, max_px: int | None) -> np.ndarray:
    """A float map (H, W) with its longer side at most ``max_px`` (never enlarged; None: as is)."""
    values = np.asarray(values, dtype=np.float32)
    h, w = values.shape[:2]
    if max_px is None or max(h, w) <= max_px:
        return values
    s = max_px / max(h, w)
    return resize_float(values, max(1, round(w * s)), max(1, round(h * s)))
