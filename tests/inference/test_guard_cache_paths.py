"""Issue 28, sixth round: the guard's per-image arithmetic reorganised for the CPU's cache (one image
at a time through reused buffers) and the median residual's channel mean from a table. Each must give
the same bits as the form it replaced, which is kept here as the definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.guard_noise import _CHROMA, _tile_min, chroma_noise_floor, chroma_noise_floor_from_tensor
from inference.guard_squeeze import median3_u8, median_pillow, median_residual
from inference.manifest import InputSpec
from inference.preprocess import to_tensor

REPO = Path(__file__).resolve().parents[2]


def _batch_floor(x: np.ndarray, m: np.ndarray, patch: int) -> np.ndarray:
    """The noise floor as it was computed before (the whole batch's planes at once)."""
    n, h, w, _ = x.shape
    m = np.asarray(m, np.float32)
    x = np.asarray(x, np.float32)
    channels = (x[..., 0], x[..., 1], x[..., 2])
    plane = np.empty((n, h, w), np.float32)
    tmp = np.empty((n, h, w), np.float32)
    lap = np.empty((n, h - 2, w - 2), np.float32)
    acc = np.zeros((n, h - 2, w - 2), np.float32)
    for row in m:
        np.multiply(channels[0], row[0], out=plane)
        plane += np.multiply(channels[1], row[1], out=tmp)
        plane += np.multiply(channels[2], row[2], out=tmp)
        np.multiply(plane[:, 1:-1, 1:-1], np.float32(4.0), out=lap)
        lap -= plane[:, :-2, 1:-1]
        lap -= plane[:, 2:, 1:-1]
        lap -= plane[:, 1:-1, :-2]
        lap -= plane[:, 1:-1, 2:]
        acc += np.abs(lap, out=lap)
    acc *= np.float32(1.0 / m.shape[0])
    return _tile_min(acc, patch).astype(np.float64)


def _samples(size: int) -> np.ndarray:
    """The bundled packs' sample photos at ``size`` px (uint8, N×H×W×3)."""
    files = sorted(p for p in (REPO / "resources" / "samples").rglob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert files, "the repository's sample photos are missing"
    return np.stack([np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
                     for f in files])


def _spec(**kw) -> InputSpec:
    base = dict(name="input", height=224, width=224, layout="NHWC", color="RGB", resize="stretch",
                scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    return InputSpec(**{**base, **kw})


@pytest.mark.parametrize("kw", [{}, {"color": "BGR"}, {"layout": "NCHW"},
                                {"scale": 1.0, "mean": (123.675, 116.28, 103.53), "std": (58.395, 57.12, 57.375)}])
def test_noise_floor_one_image_at_a_time_is_the_batch_form_bit_for_bit(kw):
    spec = _spec(**kw)
    photos = _samples(224)
    rng = np.random.default_rng(28)
    noisy = np.clip(photos.astype(np.int16) + rng.integers(-2, 3, photos.shape), 0, 255).astype(np.uint8)
    for u8 in (photos, noisy, rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)):
        batch = np.stack([to_tensor(img, spec) for img in u8])
        got = chroma_noise_floor_from_tensor(batch, spec, 16)
        # The definition: the same matrix folding, then the whole batch's planes at once.
        x = np.moveaxis(batch, 1, -1) if spec.layout == "NCHW" else batch
        std, unit = np.asarray(spec.std, np.float32), float(spec.scale) * 255.0
        m = _CHROMA * (std / unit)[None, :]
        want = _batch_floor(x, m[:, ::-1] if spec.color == "BGR" else m, 16)
        assert got.dtype == np.float64 and np.array_equal(got, want)
    x01 = photos.astype(np.float32) / 255
    assert np.array_equal(chroma_noise_floor(x01, 8), _batch_floor(x01, _CHROMA, 8))


def test_noise_floor_of_single_images_and_odd_sizes():
    rng = np.random.default_rng(5)
    # (7, 120, 120): three images a chunk, then a last chunk of one.
    for shape in ((1, 3, 3, 3), (2, 17, 40, 3), (4, 64, 48, 3), (7, 120, 120, 3)):
        x = rng.random(shape, dtype=np.float32)
        assert np.array_equal(chroma_noise_floor(x, 16), _batch_floor(x, _CHROMA, 16))
        one = [chroma_noise_floor(x[i:i + 1], 16)[0] for i in range(len(x))]
        assert np.array_equal(np.array(one), chroma_noise_floor(x, 16))  # no image depends on the others


def test_median_residual_table_is_numpys_channel_mean_bit_for_bit():
    """Every sum of three channel differences (0..765) occurs; the floor and the mean of the table path
    equal numpy's float64 mean over the channel axis, to the bit."""
    rng = np.random.default_rng(7)
    n, h, w = 3, 48, 64
    sums = np.resize(np.arange(766), n * h * w).reshape(n, h, w)
    rng.shuffle(sums.reshape(-1))
    d = np.stack([np.minimum(sums, 255), np.clip(sums - 255, 0, 255), np.clip(sums - 510, 0, 255)], axis=-1)
    # |pixel - median| = d, with the larger value on either side (and some lifted off zero).
    lift = np.minimum(rng.integers(0, 40, d.shape), 255 - d)
    low, high = lift.astype(np.uint8), (lift + d).astype(np.uint8)
    swap = rng.random(d.shape) < 0.5
    pixels, medians = np.where(swap, low, high), np.where(swap, high, low)
    ref_d = np.abs(pixels.astype(np.int16) - medians.astype(np.int16))
    assert set(np.unique(ref_d.sum(axis=-1))) == set(range(766))
    for patch in (1, 7, 16):
        want = _tile_min(ref_d.mean(axis=-1), patch) / 255.0
        assert np.array_equal(median_residual(pixels, medians, "patch_min", patch), want)
    assert np.array_equal(median_residual(pixels, medians), ref_d.reshape(n, -1).mean(axis=1) / 255.0)


def test_median_residual_on_the_sample_photos_and_their_medians():
    u8 = _samples(224)
    med = median3_u8(u8)
    assert np.array_equal(med, median_pillow(u8, 3))  # one image at a time: still Pillow's bytes
    d = np.abs(u8.astype(np.int16) - med.astype(np.int16))
    assert np.array_equal(median_residual(u8, med, "patch_min", 16), _tile_min(d.mean(axis=-1), 16) / 255.0)


def test_median3_in_chunks_of_small_images_is_pillows():
    rng = np.random.default_rng(11)
    for shape in ((7, 120, 120, 3), (5, 30, 20, 3), (1, 224, 224, 3)):
        u8 = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(median3_u8(u8), median_pillow(u8, 3))
