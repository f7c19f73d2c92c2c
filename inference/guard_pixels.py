"""The JPEG reformer's short path: the model-size uint8 pixels a tensor was made from, straight back
to model tensors, bit for bit what the guard's float path gives.

The guard works in float pixel space (:mod:`inference.guard`): a flagged image's tensor is mapped
back to [0, 1] pixels, rounded to 8 bits for the JPEG encoder, and the decoded JPEG is divided by
255 and normalised again. When the Inspector still holds the uint8 pixels the tensor was made from
(:func:`inference.preprocess.to_tensor`), the first half is the identity on them and the second half
is a per-channel function of a byte. :class:`PixelPath` checks both facts for a pack's input spec
once, over all 256 values of every channel (the operations are element-wise, so that check is
exhaustive), and then does the reform with no float pass before the encoder and one table look-up
after the decoder. A spec for which the round trip is not exact gets no PixelPath and the guard
keeps its float path.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image

from inference.manifest import InputSpec


def _values_image(spec: InputSpec) -> np.ndarray:
    """(1, 256, 3, 3) uint8: row v, column c holds the byte v in channel c only (others 0)."""
    img = np.zeros((1, 256, 3, 3), np.uint8)
    for c in range(3):
        img[0, :, c, c] = np.arange(256, dtype=np.uint8)
    return img


class PixelPath:
    """uint8 model-size pixels → the guard's JPEG reform → model tensors, for one input spec."""

    def __init__(self, spec: InputSpec, lut: np.ndarray) -> None:
        self.spec = spec
        self._lut = lut  # (256, 3) float32: tensor value of channel c for byte v, pixel order

    @classmethod
    def for_spec(cls, spec: InputSpec) -> "PixelPath | None":
        """The short path for ``spec``, or None where it would not give the float path's bits."""
        from inference.guard import pixels_to_tensor, tensor_to_pixels
        from inference.preprocess import to_tensor

        if spec.color not in ("RGB", "BGR"):
            return None
        probe = _values_image(spec)
        # 1. The float path's bytes before the encoder equal the pixels the tensor came from.
        tensors = to_tensor(probe[0], spec)[None]
        back = tensor_to_pixels(tensors, spec)
        if not np.array_equal(np.clip(np.round(back * 255.0), 0, 255).astype(np.uint8), probe):
            return None
        # 2. After the decoder: the tensor of byte v in channel c, exactly as the float path makes it
        # (decoded bytes as float32 / 255, then pixels_to_tensor), here in NHWC pixel channel order.
        flat = np.asarray(probe.reshape(1, 1, 768, 3), dtype=np.float32) / 255.0
        nhwc = pixels_to_tensor(flat, replace(spec, layout="NHWC"))[0, 0].reshape(256, 3, 3)
        channel = [2 - c for c in range(3)] if spec.color == "BGR" else list(range(3))
        lut = np.empty((256, 3), np.float32)
        for c in range(3):  # pixel channel c lands in tensor channel channel[c]
            lut[:, c] = nhwc[:, c, channel[c]]
        # The look-up must reproduce the float path on the probe itself, channel order included.
        if not np.array_equal(cls(spec, lut).tensors(probe), pixels_to_tensor(probe / np.float32(255.0), spec)):
            return None
        return cls(spec, lut)

    def tensors(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 RGB (N, H, W, 3) → model tensors, as ``pixels_to_tensor(pixels / 255)``."""
        u8 = np.asarray(pixels, np.uint8)
        out = np.empty(u8.shape, np.float32)
        for c in range(3):
            np.take(self._lut[:, c], u8[..., c], out=out[..., c])
        if self.spec.color == "BGR":
            out = out[..., ::-1]
        if self.spec.layout == "NCHW":
            out = np.transpose(out, (0, 3, 1, 2))
        return np.ascontiguousarray(out)

    def jpeg_reform(self, pixels: np.ndarray, quality: int, mirror: bool) -> np.ndarray:
        """The guard's JPEG reformer on uint8 pixels (N, H, W, 3), as model tensors."""
        out = np.empty((len(pixels),) + tuple(pixels.shape[1:]), np.uint8)
        for i, img in enumerate(pixels):
            src = np.ascontiguousarray(img[:, ::-1] if mirror else img, np.uint8)
            buf = io.BytesIO()
            Image.fromarray(src).save(buf, format="JPEG", quality=int(quality))
            buf.seek(0)
            with Image.open(buf, formats=["JPEG"]) as decoded:  # our own bytes; never another format
                out[i] = np.asarray(decoded.convert("RGB"))
        return self.tensors(out)
