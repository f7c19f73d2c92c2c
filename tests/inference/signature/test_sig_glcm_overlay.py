"""GLCM against scikit-image, and the red/green/yellow overlay on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest

from inference.signature import glcm
from inference.signature.overlay import GREEN, RED, WHITE, YELLOW, compare, overlay_image, pose
from inference.signature.preprocess import normalize
from sig_fixtures import draw_signature

skimage = pytest.importorskip("skimage")


@pytest.mark.parametrize("symmetric,normed", [(False, False), (True, True), (True, False)])
def test_glcm_matches_skimage(symmetric, normed):
    from skimage.feature import graycomatrix, graycoprops

    rng = np.random.default_rng(0)
    fixtures = [rng.integers(0, 8, (33, 47)).astype(np.uint8),
                glcm.quantize(normalize(draw_signature()).canvas, 8)]
    for img in fixtures:
        ours = glcm.graycomatrix(img, [1, 2, 4], glcm.DEFAULT_ANGLES, 8, symmetric, normed)
        ref = graycomatrix(img, [1, 2, 4], glcm.DEFAULT_ANGLES, levels=8, symmetric=symmetric, normed=normed)
        assert np.allclose(ours, ref, atol=1e-12)
        for prop in glcm.PROPS:
            assert np.allclose(glcm.graycoprops(ours, prop), graycoprops(ref, prop), atol=1e-6), prop


def test_glcm_features_shape_and_flat_image():
    f = glcm.glcm_features(normalize(draw_signature()).canvas)
    assert f.shape == (len(glcm.PROPS) * len(glcm.DEFAULT_DISTANCES),)
    assert np.all(np.isfinite(f))
    flat = glcm.graycomatrix(np.zeros((5, 5), np.uint8), [1], [0], 8, True, True)
    assert glcm.graycoprops(flat, "correlation")[0, 0] == 1.0  # skimage's special case


def test_overlay_counts_on_hand_made_masks():
    ref = np.zeros((21, 21), bool)
    ref[10, 8:13] = True            # horizontal bar, 5 px
    query = np.zeros((21, 21), bool)
    query[8:13, 10] = True          # vertical bar, same centroid and spread
    counts, aligned = compare(query, ref, tolerance=0)
    assert (counts.yellow, counts.red, counts.green) == (1, 4, 4)
    assert np.array_equal(aligned, query)
    assert counts.iou == pytest.approx(1 / 9)
    same, _ = compare(ref, ref, tolerance=0)
    assert (same.red, same.green, same.yellow) == (0, 0, 5) and same.iou == 1.0 and same.f1 == 1.0


def test_overlay_alignment_undoes_shift_and_scale():
    ref = np.zeros((60, 60), bool)
    ref[20:22, 10:40] = True
    ref[10:35, 25:27] = True
    moved = np.zeros((60, 60), bool)
    moved[30:32, 20:50] = True       # the same cross shifted by (10, 10)
    moved[20:45, 35:37] = True
    counts, _ = compare(moved, ref, tolerance=0)
    assert counts.iou == 1.0 and counts.red == 0 and counts.green == 0
    p = pose(ref)
    assert p.scale > 1


def test_overlay_image_colours():
    ref = np.zeros((3, 3), bool)
    q = np.zeros((3, 3), bool)
    ref[0, 0] = ref[1, 1] = True
    q[1, 1] = q[2, 2] = True
    img = overlay_image(q, ref)
    assert img.shape == (3, 3, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == RED and tuple(img[2, 2]) == GREEN and tuple(img[1, 1]) == YELLOW
    assert tuple(img[0, 2]) == WHITE


def test_genuine_like_pairs_agree_more_than_different_hands():
    a = normalize(draw_signature("loops"))
    b = normalize(draw_signature("loops", shift=6, width=5))
    c = normalize(draw_signature("zigzag"))
    same, _ = compare(b.mask, a.mask, b.skeleton, a.skeleton)
    other, _ = compare(c.mask, a.mask, c.skeleton, a.skeleton)
    assert same.f1 > 0.8 > other.f1 + 0.2
