"""The format augmentation (issue 24: the skin packs see HAM10000 in two renditions, 200x150 JPEGs at
quality ~75 and 224-px copies at ~95): shrink-and-enlarge and JPEG re-encoding in the Augmenter,
seeded, uint8 in and out, qualities inside the configured range, and no change for configs that do
not switch them on (same images, same feature-cache keys)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.pipeline.augment import Augmenter, jpeg_roundtrip
from training.pipeline.config import ConfigError, build_config

OFF = dict(rotation=0, width_shift=0, height_shift=0, zoom=0, horizontal_flip=False)


def _image(seed: int = 0, size: int = 48) -> np.ndarray:
    """A textured test image (smooth blobs plus fine noise) so that JPEG qualities differ."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(6 * xx + c) * np.cos(5 * yy - c) for c in range(3)], -1) * 90 + 128
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


def test_format_augmentation_is_seeded_and_keeps_shape_and_dtype():
    aug = Augmenter(rotation=20, width_shift=0.2, height_shift=0.2, zoom=0.15, horizontal_flip=True,
                    vertical_flip=True, brightness=0.1, rescale=0.5, rescale_range=(0.6, 1.0), jpeg=0.7,
                    jpeg_quality=(60, 95))
    img = _image()
    a = [aug(img, np.random.default_rng(7)) for _ in range(2)]
    b = aug(img, np.random.default_rng(8))
    assert a[0].dtype == np.uint8 and a[0].shape == img.shape
    assert np.array_equal(a[0], a[1])          # same seed, same image
    assert not np.array_equal(a[0], b)         # another seed, another image
    batch = [aug(img, rng) for rng in [np.random.default_rng(3)] for _ in range(6)]
    assert len({x.tobytes() for x in batch}) == 6  # one stream: every draw differs


def test_jpeg_quality_is_drawn_inside_the_range():
    img = _image(1)
    aug = Augmenter(**OFF, jpeg=1.0, jpeg_quality=(60, 70))
    by_quality = {q: jpeg_roundtrip(img, q) for q in range(1, 101)}
    seen = set()
    for seed in range(12):
        out = aug(img, np.random.default_rng(seed))
        matches = {q for q, ref in by_quality.items() if np.array_equal(out, ref)}
        assert matches and matches <= set(range(60, 71)), (seed, sorted(matches))
        seen |= matches
    assert len(seen) > 1  # the quality varies between draws


def test_rescale_loses_resolution_and_keeps_the_size():
    img = _image(2, 64)
    out = Augmenter(**OFF, rescale=1.0, rescale_range=(0.5, 0.5))(img, np.random.default_rng(0))
    expected = cv2.resize(cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA), (64, 64),
                          interpolation=cv2.INTER_LINEAR)
    assert out.shape == img.shape and np.array_equal(out, expected)
    # fine detail is gone: the high-frequency energy (Laplacian) drops
    assert np.abs(cv2.Laplacian(out, cv2.CV_32F)).mean() < 0.5 * np.abs(cv2.Laplacian(img, cv2.CV_32F)).mean()


def test_configs_without_format_augmentation_are_unchanged():
    plain = Augmenter(**OFF, brightness=0.2)
    with_zero = Augmenter(**OFF, brightness=0.2, rescale=0.0, jpeg=0.0, jpeg_quality=(10, 20))
    img = _image(3)
    assert np.array_equal(plain(img, np.random.default_rng(5)), with_zero(img, np.random.default_rng(5)))
    # the description (part of the feature-cache key) names the format keys only when they are used
    assert plain.describe() == with_zero.describe()
    assert not {"rescale", "rescale_range", "jpeg", "jpeg_quality"} & set(plain.describe())
    used = Augmenter(jpeg=0.5, rescale=0.5).describe()
    assert used["jpeg_quality"] == [60, 95] and used["rescale_range"] == [0.6, 1.0]


@pytest.mark.parametrize("params, message", [
    ({"jpeg": 1.5}, "augment.jpeg is a probability"),
    ({"jpeg_quality": [95, 60]}, "augment.jpeg_quality"),
    ({"jpeg_quality": [0, 60]}, "augment.jpeg_quality"),
    ({"jpeg_quality": [60.5, 90]}, "augment.jpeg_quality"),
    ({"rescale_range": [0.0, 1.0]}, "augment.rescale_range"),
    ({"rescale_range": [0.5, 1.2]}, "augment.rescale_range"),
    ({"rescale": -0.1}, "augment.rescale is a probability"),
])
def test_bad_format_settings_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        Augmenter.from_config(params)


def test_the_typed_config_knows_the_format_keys():
    cfg = build_config({"id": "demo", "classes": ["a", "b"],
                        "augment": {"jpeg": 0.7, "jpeg_quality": [60, 95], "rescale": 0.5, "rescale_range": [0.6, 1]}})
    aug = Augmenter.from_config({k: v for k, v in cfg["augment"].items() if k != "copies"})
    assert aug.jpeg == 0.7 and aug.jpeg_quality == (60, 95) and aug.rescale_range == (0.6, 1.0)
    with pytest.raises(ConfigError, match="augment.jpeg_qualty"):
        build_config({"id": "demo", "classes": ["a", "b"], "augment": {"jpeg_qualty": [60, 95]}})
