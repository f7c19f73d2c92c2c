"""Heatmap quality against region masks (training/pipeline/heatmaps.py), on hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.pipeline import heatmaps as hm


def _example():
    """6x6 heatmap: peak 1.0 at (row 1, col 4), 0.5 at (4, 1); mask = pixels (4, 1) and (4, 2)."""
    h = np.zeros((6, 6), np.float32)
    h[1, 4] = 1.0
    h[4, 1] = 0.5
    m = np.zeros((6, 6), np.uint8)
    m[4, 1:3] = 255
    return h, m


def test_pointing_game_on_a_hand_worked_example():
    h, m = _example()
    assert hm.peak(h) == (1, 4)
    # nearest mask pixel to (1, 4) is (4, 2): sqrt(3^2 + 2^2) = 3.606 px
    assert hm.distance_to_mask((1, 4), m > 0) == pytest.approx(math.sqrt(13))
    assert not hm.pointing_hit(h, m, tolerance_px=0)
    assert not hm.pointing_hit(h, m, tolerance_px=3)
    assert hm.pointing_hit(h, m, tolerance_px=3.61)
    # the second-highest pixel is inside the mask, so moving the peak there is a hit at 0 px
    h2 = h.copy()
    h2[4, 1] = 2.0
    assert hm.pointing_hit(h2, m, tolerance_px=0)


def test_mass_inside_and_its_chance_level():
    h, m = _example()
    # 0.5 of a total 1.5 lies on the mask
    assert hm.mass_inside(h, m) == pytest.approx(1 / 3)
    assert hm.area_fraction(m) == pytest.approx(2 / 36)
    # a uniform heatmap puts exactly the mask's area fraction inside: the chance level
    assert hm.mass_inside(np.ones((6, 6)), m) == pytest.approx(2 / 36)


def test_ties_empty_heatmaps_and_mask_resizing():
    h = np.zeros((4, 4), np.float32)
    h[0, 3] = h[3, 0] = 1.0
    assert hm.peak(h) == (0, 3)  # first in row-major order
    empty = np.zeros((4, 4), np.float32)
    m = np.ones((4, 4), np.uint8)
    assert hm.peak(empty) is None
    assert not hm.pointing_hit(empty, m, tolerance_px=100)  # no peak, no hit, even on a full mask
    assert hm.mass_inside(empty, m) == 0.0
    # a mask at twice the heatmap's size is resampled (nearest) onto the heatmap grid
    big = np.zeros((8, 8), np.uint8)
    big[0:2, 6:8] = 255  # the top-right 2x2 at 8x8 = pixel (0, 3) at 4x4
    assert hm.pointing_hit(h, big, tolerance_px=0)
    assert hm.mass_inside(h, big) == pytest.approx(0.5)


def test_summary_and_groups():
    h, m = _example()
    hit = hm.image_scores(h, m, tolerance_px=4)
    miss = hm.image_scores(h, m, tolerance_px=3)
    assert hit["hit"] and not miss["hit"] and not hit["hit_exact"]
    assert hit["peak_distance_px"] == pytest.approx(math.sqrt(13))
    empty = hm.image_scores(np.zeros((6, 6)), m, tolerance_px=3)
    s = hm.summarise([hit, miss, empty], tolerance_px=3)
    assert s["n"] == 3 and s["hits"] == 1 and s["pointing_game"] == pytest.approx(1 / 3)
    assert s["pointing_game_exact"] == 0.0 and s["empty_heatmaps"] == 1
    assert s["mass_inside_mean"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert s["mask_area_mean"] == pytest.approx(2 / 36)
    assert s["mass_lift"] == pytest.approx(s["mass_inside_mean"] / (2 / 36))
    g = hm.grouped([hit, miss, empty], ["cut", "cut", None], tolerance_px=3)
    assert list(g) == ["cut"] and g["cut"]["n"] == 2 and g["cut"]["hits"] == 1
    assert hm.summarise([], 3)["pointing_game"] is None


def test_overlay_and_examples_sheet(tmp_path):
    h, m = _example()
    rgb = np.full((6, 6, 3), 128, np.uint8)
    out = hm.overlay(rgb, h, m, hm.peak(h))
    assert out.shape == (6, 6, 3) and out.dtype == np.uint8
    path = hm.examples_sheet([(out, "hit"), (out, "miss")], tmp_path / "ex.png", cols=2, thumb=32)
    assert path.is_file() and path.stat().st_size > 0
    assert hm.examples_sheet([], tmp_path / "none.png") is None
