"""The fast paths of issue 28's last round, pinned against their definitions, and the squeeze
screen (a guard ``screen`` whose ``score`` is the median residual): an image whose median residual
is below the screen skips the squeezed classifier run, one above it does not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inference.guard import Guard, median_residual, parse_guard
from inference.guard_squeeze import median3_u8, median_pillow, median_u8
from inference.inspector import Inspector
from inference.manifest import InputSpec
from inference.preprocess import _tensor_table, to_tensor, to_tensor_float
from inference.registry import check_pack
from tiny_models import solid, write_guarded_pack

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shape", [(1, 1, 1, 3), (2, 1, 5, 3), (3, 2, 3, 3), (2, 7, 9, 3), (2, 64, 48, 3), (1, 224, 224, 3)])
def test_median3_is_pillows_median_filter(shape):
    rng = np.random.default_rng(sum(shape))
    for img in (rng.integers(0, 256, shape, dtype=np.uint8),  # noise: every rank order occurs
                (rng.integers(0, 3, shape) * 120).astype(np.uint8),  # many ties
                np.full(shape, 7, np.uint8)):
        assert np.array_equal(median3_u8(img), median_pillow(img, 3))
    assert np.array_equal(median_u8(img, 5), median_pillow(img, 5))  # other sizes: Pillow itself


def _spec(**kw) -> InputSpec:
    base = dict(name="input", height=32, width=32, layout="NHWC", color="RGB", resize="stretch",
                scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    return InputSpec(**{**base, **kw})


@pytest.mark.parametrize("kw", [{}, {"color": "BGR"}, {"layout": "NCHW"},
                                {"layout": "NCHW", "color": "BGR", "scale": 1.0, "mean": (123.675, 116.28, 103.53),
                                 "std": (58.395, 57.12, 57.375)},
                                {"scale": 1 / 127.5, "mean": (1.0, 1.0, 1.0), "std": (1.0, 1.0, 1.0)}])
def test_tensor_table_gives_the_float_paths_bits(kw):
    spec = _spec(**kw)
    assert _tensor_table(spec) is not None
    rng = np.random.default_rng(1)
    every = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), -1).astype(np.uint8)
    for img in (rng.integers(0, 256, (32, 40, 3), dtype=np.uint8), np.concatenate([every, every[..., :1]], -1),
                rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)[::2, 1::2]):  # a strided view
        fast, slow = to_tensor(img, spec), to_tensor_float(img, spec)
        assert fast.dtype == slow.dtype == np.float32 and fast.flags.c_contiguous
        assert fast.shape == slow.shape and np.array_equal(fast, slow)


def test_grey_inputs_keep_the_float_path():
    spec = _spec(color="GRAY", mean=(0.5,), std=(0.5,))
    img = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(to_tensor(img, spec), to_tensor_float(img, spec))


def _noisy(img: np.ndarray, amount: int, seed: int) -> np.ndarray:
    """A colourless ±``amount`` sign pattern on every pixel: the shape of a grey gradient-sign attack."""
    noise = np.random.default_rng(seed).choice([-amount, amount], img.shape[:2])[..., None]
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


class _Counting:
    """Wraps a guard's classify and records the batch size of every extra classifier run."""

    def __init__(self, guard: Guard) -> None:
        self.sizes: list[int] = []
        self._inner = guard.classify
        guard.classify = self

    def __call__(self, tensors):
        self.sizes.append(len(tensors))
        return self._inner(tensors)


def _screened_pack(tmp_path: Path, threshold: float) -> Path:
    folder = write_guarded_pack(tmp_path / "scr", "identity", {"squeeze": 0.5},
                                reformer={"kind": "jpeg", "quality": 20})
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["guard"]["screen"] = {"score": "median_residual", "size": 3, "threshold": threshold,
                                   "aggregate": "mean"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_median_residual_screen_gates_the_squeezed_run(tmp_path):
    clean = [solid("red", (32, 32)), solid("green", (32, 32))]
    noisy = _noisy(solid("blue", (32, 32)), 6, 0)
    u8 = np.stack(clean + [noisy])
    res = median_residual(u8, median3_u8(u8))
    assert res[0] < 0.5 / 255 and res[1] < 0.5 / 255 and res[2] > 2 / 255
    insp = Inspector(check_pack(_screened_pack(tmp_path, 1 / 255)))
    policy = insp.guard.policy
    assert policy.screen_score == "median_residual" and policy.screen == pytest.approx(1 / 255)
    assert not insp.guard.needs_autoencoder and insp.guard.takes_pixels
    runs = _Counting(insp.guard)
    out = insp.classify_batch(clean)
    assert runs.sizes == []  # clean photos: no squeezed copy was classified
    assert all("squeeze" not in r.result.guard.detectors for r in out)
    out = insp.classify_batch(clean + [noisy])
    assert runs.sizes[0] == 1  # only the perturbed image's squeezed copy
    assert [("squeeze" in r.result.guard.detectors) for r in out] == [False, False, True]


def test_screen_passes_everything_at_zero_like_no_screen(tmp_path):
    """Threshold below every residual: the same scores as the unscreened guard, through the screen's
    own path (the medians it computed are the squeezer's)."""
    images = [solid("red", (32, 32)), _noisy(solid("green", (32, 32)), 3, 1), _noisy(solid("blue", (32, 32)), 9, 2)]
    screened = Inspector(check_pack(_screened_pack(tmp_path, -1.0))).classify_batch(images)
    folder = write_guarded_pack(tmp_path / "plain", "identity", {"squeeze": 0.5}, reformer={"kind": "jpeg", "quality": 20})
    plain = Inspector(check_pack(folder)).classify_batch(images)
    for a, b in zip(screened, plain):
        assert a.result.guard == b.result.guard and a.result.probabilities == b.result.probabilities
        assert a.result.mitigated == b.result.mitigated


def test_bundled_seal_screen(monkeypatch):
    """seal-integrity's own samples: the flat one (a floor below the screen) is not squeezed a second
    time; the same photos under a ±2/255 colourless sign pattern (the shape of the grey FGSM) all are."""
    from PIL import Image

    folder, samples = REPO / "models" / "seal-integrity", REPO / "resources" / "samples" / "seal-integrity"
    if not (folder / "manifest.json").is_file() or not samples.is_dir():
        pytest.skip("the bundled seal-integrity pack or its samples are not in this checkout")
    insp = Inspector(check_pack(folder, "bundled"))
    if insp.guard.policy.screen is None:
        pytest.skip("this seal-integrity pack has no squeeze screen")
    p = insp.guard.policy
    assert p.screen_score == "median_residual"
    images = [np.asarray(Image.open(f).convert("RGB").resize((224, 224))) for f in sorted(samples.glob("*.jpg"))]
    u8 = np.stack(images)
    above = median_residual(u8, median3_u8(u8), p.screen_aggregate, p.screen_patch) > p.screen
    assert not above.all(), "every sample passes the screen: this test checks nothing"
    runs = _Counting(insp.guard)
    out = insp.classify_batch(images)
    assert runs.sizes[0] == above.sum()  # the squeezed run (any later one: the reformer's, for flagged images)
    assert [("squeeze" in r.result.guard.detectors) for r in out] == above.tolist()
    runs.sizes.clear()
    insp.classify_batch([_noisy(img, 2, i) for i, img in enumerate(images)])
    assert runs.sizes[0] == len(images)


def test_parse_guard_defaults_to_the_reconstruction_screen(tmp_path):
    folder = write_guarded_pack(tmp_path / "ae", "identity", screen=0.01)
    policy = parse_guard(check_pack(folder).require_usable())
    assert policy.screen_score == "reconstruction" and policy.screen_needs_autoencoder


def test_median_residual_floor_sees_only_dense_perturbations():
    """``patch_min``: a photo with one flat tile has a floor near 0 however busy the rest is; the same
    photo under a ±3/255 sign pattern everywhere does not."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    img[:, :16, :16] = 128  # one flat tile
    dense = _noisy(img[0], 3, 5)[None]
    for u8, low in ((img, True), (dense, False)):
        floor = median_residual(u8, median3_u8(u8), "patch_min", 16)[0]
        mean = median_residual(u8, median3_u8(u8))[0]
        assert mean > 10 / 255  # the busy part dominates the mean either way
        assert (floor == 0.0) if low else (floor > 1 / 255)


def test_tensor_table_for_a_spec_made_from_json():
    """A spec built from JSON holds lists (the benchmarks' bare loop makes one): not hashable, still tabled."""
    spec = InputSpec(name="input", height=8, width=8, layout="NHWC", color="RGB", resize="stretch",
                     scale=1 / 255, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    img = np.random.default_rng(4).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert _tensor_table(spec) is not None
    assert np.array_equal(to_tensor(img, spec), to_tensor_float(img, spec))
