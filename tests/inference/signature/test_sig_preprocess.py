"""Signature normalisation: Otsu, noise removal, ROI, canvas, Zhang–Suen (vs scikit-image)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.signature.preprocess import (
    NoInkError, PreprocessOptions, dilate, ink_bbox, median_filter, normalize, otsu_threshold,
    remove_small_components, zhang_suen,
)
from sig_fixtures import draw_signature

skimage = pytest.importorskip("skimage")


def _bimodal(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(230, 6, size=(60, 80)), 0, 255)
    img[20:40, 10:70] = np.clip(rng.normal(70, 10, size=(20, 60)), 0, 255)
    return img.astype(np.uint8)


def test_otsu_on_bimodal_fixture_matches_skimage_and_splits_the_modes():
    from skimage.filters import threshold_otsu

    img = _bimodal()
    t = otsu_threshold(img)
    assert t == threshold_otsu(img)
    assert 100 < t < 200
    two = np.array([[50] * 10 + [200] * 10], np.uint8)
    assert otsu_threshold(two) == threshold_otsu(two) == 50  # ink is gray <= t
    assert otsu_threshold(np.full((4, 4), 7, np.uint8)) == 7


def test_median_filter_matches_scipy():
    from scipy.ndimage import median_filter as scipy_median

    img = np.random.default_rng(3).integers(0, 256, (31, 45)).astype(np.uint8)
    assert np.array_equal(median_filter(img, 3)[1:-1, 1:-1], scipy_median(img, 3)[1:-1, 1:-1])


def test_small_component_removal_matches_skimage_labelling():
    from skimage.measure import label

    rng = np.random.default_rng(5)
    mask = rng.random((80, 120)) > 0.93
    mask[10:30, 10:14] = True
    for min_size in (2, 3, 12):
        ours = remove_small_components(mask, min_size)
        lab = label(mask, connectivity=2)
        sizes = np.bincount(lab.ravel())
        keep = sizes >= min_size
        keep[0] = False
        assert np.array_equal(ours, keep[lab])


def test_roi_crop_box_and_canvas_size_and_aspect():
    img = np.full((200, 300), 240, np.uint8)
    img[50:70, 40:240] = 20  # a 200 x 20 bar
    assert ink_bbox(img < 128) == (40, 50, 200, 20)
    opts = PreprocessOptions(canvas_height=100, canvas_width=160, margin=10)
    sig = normalize(img, opts)
    assert sig.canvas.shape == (100, 160) and sig.mask.shape == (100, 160)
    assert sig.bbox == (40, 50, 200, 20)
    x, y, w, h = ink_bbox(sig.mask)
    assert w == 140 and abs(h - 14) <= 1  # width fills the canvas minus margins, aspect 10:1 kept
    assert sig.canvas_box == (10, 43, 140, 14)
    # background is pure white, ink black
    assert sig.canvas[0, 0] == 255 and sig.canvas[50, 80] == 0


def test_background_level_does_not_reach_the_canvas():
    """The same drawing on a grey (genuine-like) or white (forged-like) paper gives the same canvas."""
    a = normalize(draw_signature(background=238, ink=130))
    b = normalize(draw_signature(background=253, ink=70))
    assert np.mean(a.mask != b.mask) < 0.01
    assert np.abs(a.canvas.astype(int) - b.canvas.astype(int)).mean() < 3
    assert (a.canvas[~dilate(a.mask, 2)] == 255).all()


def test_roi_off_keeps_the_whole_image_and_binarize_off_keeps_greys():
    img = draw_signature(background=230, ink=90)
    whole = normalize(img, PreprocessOptions(roi=False))
    assert whole.bbox == (0, 0, img.shape[1], img.shape[0])
    greys = normalize(img, PreprocessOptions(binarize=False))
    assert greys.canvas[0, 0] == 230  # paper grey kept: the trap setting


def test_noise_removal_drops_specks():
    img = draw_signature()
    rng = np.random.default_rng(0)
    noisy = img.copy()
    ys, xs = rng.integers(0, img.shape[0], 60), rng.integers(0, img.shape[1], 60)
    noisy[ys, xs] = 0  # isolated black specks all over the page
    clean = normalize(noisy)
    raw = normalize(noisy, PreprocessOptions(denoise=False))
    ref = normalize(img)
    assert clean.bbox == ref.bbox
    assert raw.bbox[2] * raw.bbox[3] > ref.bbox[2] * ref.bbox[3]  # specks stretch the ROI without it


def test_blank_image_raises_no_ink():
    with pytest.raises(NoInkError):
        normalize(np.full((50, 80), 250, np.uint8))


def test_zhang_suen_is_thin_and_close_to_skimage():
    from skimage.morphology import skeletonize

    bar = np.zeros((40, 100), bool)
    bar[15:25, 10:90] = True
    sk = zhang_suen(bar)
    assert sk.any()
    cols = sk[:, 20:80].sum(axis=0)
    assert cols.max() <= 2 and np.median(cols) == 1  # about one pixel wide
    ious, tolerant = [], []
    for kind, width in (("loops", 5), ("zigzag", 7), ("loops", 9)):
        mask = draw_signature(kind, width=width) < 128
        ours, ref = zhang_suen(mask), skeletonize(mask)
        ious.append((ours & ref).sum() / (ours | ref).sum())
        tolerant.append(((ours & dilate(ref, 1)).sum() + (ref & dilate(ours, 1)).sum()) / (ours.sum() + ref.sum()))
        assert not (ours & ~mask).any()  # inside the ink
    print(f"Zhang–Suen vs skimage.skeletonize: IoU {np.round(ious, 3)}, within 1 px {np.round(tolerant, 3)}")
    assert min(ious) > 0.6 and min(tolerant) > 0.95


def test_skeletonize_option_redraws_at_fixed_width():
    thin = normalize(draw_signature(width=3), PreprocessOptions(skeletonize=True, stroke_width=3))
    thick = normalize(draw_signature(width=9), PreprocessOptions(skeletonize=True, stroke_width=3))
    plain_thin = normalize(draw_signature(width=3))
    plain_thick = normalize(draw_signature(width=9))
    ratio_plain = plain_thick.mask.sum() / plain_thin.mask.sum()
    ratio_skel = thick.mask.sum() / thin.mask.sum()
    assert ratio_plain > 1.8 and abs(ratio_skel - 1) < 0.2  # the pen's width no longer matters


def test_options_round_trip():
    opts = PreprocessOptions.from_mapping({"canvas": [100, 200], "skeletonize": True, "unknown": 1})
    assert (opts.canvas_height, opts.canvas_width, opts.skeletonize) == (100, 200, True)
    assert PreprocessOptions.from_mapping(opts.as_dict()) == opts


def test_the_3x3_median_network_gives_pillows_pixels_exactly():
    """Issue 28: the sorting network replaces Pillow's rank filter for size 3; every pixel, borders
    included, must be Pillow's."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(28)
    shapes = [(1, 1), (1, 9), (2, 2), (3, 3), (5, 7), (64, 33), (355, 498)]
    for shape in shapes:
        for img in (rng.integers(0, 256, shape, dtype=np.uint8), rng.choice([0, 40, 235, 255], shape).astype(np.uint8)):
            pil = np.asarray(Image.fromarray(img).filter(ImageFilter.MedianFilter(3)))
            assert np.array_equal(median_filter(img, 3), pil), shape
