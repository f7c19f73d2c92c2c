"""The registered overlay: a shifted, scaled, slightly rotated copy of a signature comes out mostly yellow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inference.signature.preprocess import PreprocessOptions, normalize
from inference.signature.register import _warp, overlay, register
from tests.inference.signature.sig_fixtures import draw_signature

OPTS = PreprocessOptions(canvas_height=96, canvas_width=192, margin=6, min_component_px=4)


def _mask(kind: str, **kw) -> np.ndarray:
    return normalize(draw_signature(kind, **kw), OPTS).mask


def _moved(mask: np.ndarray, scale: float, angle: float, dy: float, dx: float) -> np.ndarray:
    h, w = mask.shape
    c = (h / 2, w / 2)
    return _warp(mask.astype(np.uint8) * 255, c, (c[0] + dy, c[1] + dx), scale, angle,
                 Image.Resampling.BILINEAR) >= 128


@pytest.mark.parametrize("scale, angle, dy, dx", [(0.9, 0.0, 4, -9), (1.1, 3.0, -3, 6), (0.85, -5.0, 5, 10)])
def test_shifted_scaled_copy_is_mostly_yellow(scale, angle, dy, dx):
    ref = _mask("loops")
    query = _moved(ref, scale, angle, dy, dx)
    before = overlay(query, ref)[1]
    reg = register(query, ref)
    picture, after = overlay(reg.aligned, ref)
    assert after.matched >= 0.9, (reg.as_dict(), after.as_dict())
    assert after.matched > before.matched + 0.2
    assert reg.scale == pytest.approx(1 / scale, rel=0.12)
    # the picture is painted from the counts: yellow dominates
    yellow = np.all(picture == (230, 180, 0), axis=2).sum()
    red = np.all(picture == (214, 39, 40), axis=2).sum()
    green = np.all(picture == (44, 160, 44), axis=2).sum()
    assert (yellow, red, green) == (after.yellow, after.red, after.green)
    assert yellow > 5 * (red + green)


def test_a_different_hand_stays_red_and_green():
    ref = _mask("loops")
    other = _mask("zigzag")
    same = register(_moved(ref, 0.95, 2.0, 3, -4), ref)
    diff = register(other, ref)
    assert overlay(diff.aligned, ref)[1].matched < overlay(same.aligned, ref)[1].matched - 0.3
    assert diff.score < same.score


def test_registration_refuses_canvases_of_different_sizes():
    with pytest.raises(ValueError, match="differ in size"):
        register(np.zeros((10, 20), bool), np.zeros((10, 21), bool))


def test_empty_query_does_not_crash():
    ref = _mask("loops")
    reg = register(np.zeros_like(ref), ref)
    assert not reg.aligned.any()
    assert overlay(reg.aligned, ref)[1].matched == 0.0
