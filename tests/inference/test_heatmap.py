"""Heatmap colouring and overlay."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import TilikError
from inference.heatmap import colorize, overlay, save_rgb


def test_colorize_shape_and_extremes_differ():
    heat = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    rgb = colorize(heat)
    assert rgb.shape == (10, 10, 3) and rgb.dtype == np.uint8
    assert not np.array_equal(rgb[0, 0], rgb[-1, -1])


def test_overlay_leaves_cold_pixels_untouched_and_tints_hot_ones():
    image = np.full((8, 8, 3), 128, np.uint8)
    heat = np.zeros((8, 8), np.float32)
    heat[:4] = 1.0
    out = overlay(image, heat, opacity=0.5)
    assert np.array_equal(out[4:], image[4:])
    assert not np.array_equal(out[:4], image[:4])
    assert np.array_equal(overlay(image, heat, opacity=0.0), image)


def test_overlay_resizes_a_smaller_heatmap():
    out = overlay(np.zeros((20, 30, 3), np.uint8), np.ones((5, 5), np.float32))
    assert out.shape == (20, 30, 3)
    assert out.flags.writeable  # callers draw on it (training's contact sheets)


def test_overlay_matches_the_float_blend_within_a_few_levels():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    heat = rng.random((60, 80), dtype=np.float32)
    a = np.sqrt(heat)[:, :, None] * 0.45
    expected = np.rint(image * (1 - a) + colorize(heat).astype(np.float64) * a)
    assert np.abs(overlay(image, heat).astype(int) - expected).max() <= 6


def test_save_rgb_reports_unwritable_target(tmp_path):
    path = save_rgb(tmp_path / "a" / "x.png", np.zeros((4, 4, 3), np.uint8))
    assert path.is_file()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TilikError, match="Could not write"):
        save_rgb(blocker / "y.png", np.zeros((4, 4, 3), np.uint8))
