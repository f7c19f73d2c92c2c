"""The input guard's ``noise`` detector: the colour-noise floor of images or of model tensors.

See :mod:`inference.guard` for what the detector is for; it lives here, beside the guard, so the
guard module stays readable. ``inference.guard`` re-exports every name.
"""

from __future__ import annotations

import numpy as np

from inference.manifest import InputSpec


def _channel_params(spec: InputSpec) -> tuple[np.ndarray, np.ndarray, float]:
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return mean, std, float(spec.scale) * 255.0


def _tile_min(per_pixel: np.ndarray, patch: int) -> np.ndarray:
    """Per image, the smallest mean over ``patch``×``patch`` tiles of an (N, H, W) map."""
    n, h, w = per_pixel.shape
    p = max(1, min(patch, h, w))
    tiles = per_pixel[:, : h // p * p, : w // p * p].reshape(n, h // p, p, w // p, p).mean(axis=(2, 4))
    return tiles.reshape(n, -1).min(axis=1)


# RGB -> (Cb, Cr) rows of the JPEG (BT.601 full-range) colour transform.
_CHROMA = np.array([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)


def chroma_noise_floor(x01: np.ndarray, patch: int = 16) -> np.ndarray:
    """The ``noise`` detector's score per image (N, H, W, 3) in [0, 1]: the smallest mean absolute
    5-point Laplacian of the chroma channels over ``patch``×``patch`` tiles (see the module doc)."""
    return _chroma_floor(np.asarray(x01, np.float32), _CHROMA, patch)


def chroma_noise_floor_from_tensor(batch: np.ndarray, spec: InputSpec, patch: int = 16) -> np.ndarray:
    """:func:`chroma_noise_floor` of the pixels behind model tensors, without mapping them back.

    The Laplacian ignores constant offsets, so the pack's per-channel normalisation (an affine map)
    folds into the colour matrix: only the scale ``std / (scale·255)`` of each channel remains.
    Grey tensors have no chroma (score 0).
    """
    x = np.asarray(batch, np.float32)
    if spec.layout == "NCHW":
        x = np.moveaxis(x, 1, -1)
    if x.shape[-1] != 3 or spec.color == "GRAY":
        return np.zeros(len(x))
    _, std, unit = _channel_params(spec)
    m = _CHROMA * np.broadcast_to(std / unit, (3,))[None, :]
    if spec.color == "BGR":
        m = m[:, ::-1]
    return _chroma_floor(x, m, patch)


def _chroma_floor(x: np.ndarray, m: np.ndarray, patch: int) -> np.ndarray:
    """The noise floor of NHWC pixels ``x`` (float32) seen through the 2×3 chroma matrix ``m``.

    Each chroma plane is made from the three channel views with in-place float32 arithmetic into
    one preallocated (H, W) buffer, and its Laplacian runs into another (``out=`` and in-place
    operators): no (N, H, W, 2) product and none of its full-size temporaries. The matrix product
    this replaced (``m @ pixels.T``) went through a strided (3, N·H·W) operand: at 224 px, batch
    16, it alone cost more than this whole function does now (0.48 vs 0.44–0.57 ms per image, CPU,
    one process, load 9; the whole floor 0.9–1.6 → 0.44–0.57 ms). Scores agree with the matrix
    form to float32 rounding (tests pin them; on HAM10000's 224-px images the largest relative
    difference is a few 1e-6, no flag changes: benchmarks/PROFILE.md).

    One image at a time (a few small ones together), through buffers reused for the batch: four
    224-px planes (0.8 MB) stay in the CPU's cache, where the batch's (16 images, 13 MB) did not:
    0.95 → 0.36 ms per image (CPU, one thread). Every step is element-wise or per image, so the
    scores are the same bits as the whole batch's at once (a test pins it).
    """
    n, h, w, _ = x.shape
    m = np.asarray(m, np.float32)
    x = np.asarray(x, np.float32)
    step = _chunk(n, h, w)
    plane = np.empty((step, h, w), np.float32)
    tmp = np.empty((step, h, w), np.float32)
    lap = np.empty((step, h - 2, w - 2), np.float32)
    acc = np.empty((step, h - 2, w - 2), np.float32)
    out = np.empty(n, np.float64)
    for i in range(0, n, step):
        k = min(step, n - i)
        xs = x[i:i + k]
        channels = (xs[..., 0], xs[..., 1], xs[..., 2])
        p, t, lp, a = plane[:k], tmp[:k], lap[:k], acc[:k]
        a.fill(0.0)
        for row in m:
            np.multiply(channels[0], row[0], out=p)
            p += np.multiply(channels[1], row[1], out=t)
            p += np.multiply(channels[2], row[2], out=t)
            np.multiply(p[:, 1:-1, 1:-1], np.float32(4.0), out=lp)
            lp -= p[:, :-2, 1:-1]
            lp -= p[:, 2:, 1:-1]
            lp -= p[:, 1:-1, :-2]
            lp -= p[:, 1:-1, 2:]
            a += np.abs(lp, out=lp)
        a *= np.float32(1.0 / m.shape[0])
        out[i:i + k] = _tile_min(a, patch)
    return out


def _chunk(n: int, h: int, w: int, pixels: int = 224 * 224) -> int:
    """How many images of h×w to process together: about one 224-px image's worth of pixels (the
    cache-sized unit), at least one, at most the batch."""
    return max(1, min(n, pixels // max(1, h * w)))
