"""The JPEG reformer's short path (inference.guard_pixels) gives the float path's bits, and the
Inspector's results do not depend on which path ran (issue 28: the guard's cost per image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.guard import Guard, jpeg_reform, pixels_to_tensor, tensor_to_pixels
from inference.guard_pixels import PixelPath
from inference.inspector import Inspector
from inference.manifest import InputSpec
from inference.preprocess import to_tensor
from inference.registry import check_pack
from tiny_models import solid, write_guarded_pack

REPO = Path(__file__).resolve().parents[2]

SPECS = [
    dict(layout="NHWC", color="RGB", scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),  # the packs'
    dict(layout="NCHW", color="BGR", scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    dict(layout="NHWC", color="BGR", scale=1.0, mean=(103.9, 116.8, 123.7), std=(1.0, 1.0, 1.0)),
    dict(layout="NCHW", color="RGB", scale=1 / 127.5, mean=(1.0, 1.0, 1.0), std=(1.0, 1.0, 1.0)),
]


def _spec(**kw) -> InputSpec:
    return InputSpec(name="input", height=40, width=56, resize="stretch", **kw)


def _float_path(tensors: np.ndarray, spec: InputSpec, quality: int, mirror: bool) -> np.ndarray:
    """What Guard.reform does with a JPEG reformer, from model tensors (the released path)."""
    x01 = tensor_to_pixels(tensors, spec)
    if mirror:
        x01 = np.ascontiguousarray(x01[:, :, ::-1])
    return pixels_to_tensor(jpeg_reform(x01, quality), spec)


@pytest.mark.parametrize("kw", SPECS)
def test_pixel_path_gives_the_float_paths_bits(kw):
    spec = _spec(**kw)
    path = PixelPath.for_spec(spec)
    assert path is not None
    rng = np.random.default_rng(28)
    pixels = rng.integers(0, 256, (5, 40, 56, 3), dtype=np.uint8)
    pixels[0] = 0
    pixels[1] = 255
    tensors = np.stack([to_tensor(p, spec) for p in pixels])
    # byte → tensor: the table equals the arithmetic, bit for bit
    np.testing.assert_array_equal(path.tensors(pixels), pixels_to_tensor(pixels.astype(np.float32) / 255.0, spec))
    for mirror in (False, True):
        fast = path.jpeg_reform(pixels, 20, mirror)
        assert fast.dtype == np.float32 and fast.shape == tensors.shape
        np.testing.assert_array_equal(fast, _float_path(tensors, spec, 20, mirror))


def test_no_pixel_path_for_grey_inputs():
    assert PixelPath.for_spec(_spec(layout="NHWC", color="GRAY", scale=1 / 255, mean=(0.5,), std=(0.5,))) is None


def _same_results(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.result.guard == y.result.guard and x.result.mitigated == y.result.mitigated
        assert x.result.probabilities == y.result.probabilities and x.result.decision == y.result.decision


def _noisy(img: np.ndarray, amount: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).choice([-amount, amount], img.shape)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_inspector_results_do_not_depend_on_the_path(tmp_path, monkeypatch):
    folder = write_guarded_pack(tmp_path / "jpeg", "swap", {"noise": 1.0 / 255.0},
                                reformer={"kind": "jpeg", "quality": 20, "mirror": True})
    images = [solid("red", (32, 32)), _noisy(solid("red", (32, 32)), 2, 0), solid("green", (32, 32)),
              _noisy(solid("green", (32, 32)), 3, 4)]
    insp = Inspector(check_pack(folder))
    assert insp.guard.takes_pixels
    short = insp.classify_batch(images)
    assert sum(r.result.guard.flagged for r in short) == 2
    monkeypatch.setattr(Guard, "takes_pixels", property(lambda self: False))
    _same_results(short, insp.classify_batch(images))


@pytest.mark.parametrize("pack_id", ["skin-binary", "seal-integrity"])
def test_bundled_packs_same_results_either_path(pack_id, monkeypatch):
    """A bundled pack's own samples and sign-noised copies of them (flagged, so reformed): the
    same guard verdicts, second answers, probabilities and decisions from both paths (seal-integrity's
    guard reforms in Guard.check, after its squeeze detector; skin-binary's in the batch's run)."""
    from PIL import Image

    folder, samples = REPO / "models" / pack_id, REPO / "resources" / "samples" / pack_id
    if not (folder / "manifest.json").is_file() or not samples.is_dir():
        pytest.skip(f"the bundled {pack_id} pack or its samples are not in this checkout")
    images = [np.asarray(Image.open(p).convert("RGB").resize((224, 224))) for p in sorted(samples.glob("*.jpg"))]
    images += [_noisy(img, 2, i) for i, img in enumerate(images)]
    insp = Inspector(check_pack(folder, "bundled"))
    assert insp.guard is not None and insp.guard.takes_pixels
    short = insp.classify_batch(images)
    assert any(r.result.mitigated is not None for r in short), "nothing was reformed: this test checks nothing"
    monkeypatch.setattr(Guard, "takes_pixels", property(lambda self: False))
    _same_results(short, insp.classify_batch(images))
