"""The input guard: calibration, each detector on a fixture, the reformer, and broken guards.

Real tiny ONNX models throughout: the colour classifier of ``tiny_models`` and tiny
"autoencoders" (identity, box blur, red/green swap) that make each detector's behaviour known.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from inference.errors import PackUnusableError
from inference.guard import (
    Guard,
    chroma_noise_floor,
    fired_any,
    jpeg_reform,
    joint_thresholds,
    js_divergence,
    pixels_to_tensor,
    reconstruction_error,
    squeeze_bits,
    squeeze_median,
    tensor_to_pixels,
    threshold_at_false_alarm_rate,
)
from inference.inspector import Inspector
from inference.manifest import InputSpec
from inference.registry import check_pack
from tiny_models import build_autoencoder_model, solid, write_guarded_pack


def _inspector(folder) -> Inspector:
    return Inspector(check_pack(folder))


def _checkerboard_red(size=(32, 32)) -> np.ndarray:
    """Isolated red pixels on black: a 3×3 median filter removes every one of them."""
    img = np.zeros((*size, 3), np.uint8)
    img[::2, ::2, 0] = 255
    return img


# -- calibration ---------------------------------------------------------------------------------


def test_threshold_is_the_quantile_that_keeps_false_alarms_within_the_rate():
    scores = np.arange(1, 101, dtype=float)  # 1..100
    thr = threshold_at_false_alarm_rate(scores, 0.05)
    assert thr == 96.0
    assert np.mean(scores > thr) == pytest.approx(0.04)
    # The next lower score as threshold would let more than 5% through: 96 is the tightest valid one.
    assert np.mean(scores > 95.0) > 0.04
    assert threshold_at_false_alarm_rate(scores, 0.0) == 100.0
    with pytest.raises(ValueError):
        threshold_at_false_alarm_rate([], 0.05)


def test_joint_thresholds_keep_any_detector_within_the_target():
    rng = np.random.default_rng(0)
    base = rng.normal(size=1000)
    clean = {"reconstruction": base + rng.normal(scale=0.5, size=1000),
             "divergence": rng.normal(size=1000), "squeeze": rng.exponential(size=1000)}
    thr, per_rate, union = joint_thresholds(clean, 0.05)
    fired = fired_any(clean, thr)
    assert fired.mean() == pytest.approx(union)
    assert union <= 0.05
    # three detectors at the same rate: each fires on fewer than the target, the union near it
    assert 0.05 / 3 <= per_rate <= 0.05
    assert union > 0.04


def test_screen_gates_the_classifier_based_detectors_only():
    scores = {"reconstruction": np.array([0.1, 0.1, 0.9]), "divergence": np.array([5.0, 0.0, 5.0])}
    thr = {"reconstruction": 0.8, "divergence": 1.0}
    assert fired_any(scores, thr).tolist() == [True, False, True]
    # image 0 has a high divergence but a reconstruction error below the screen: not computed, not fired
    assert fired_any(scores, thr, screen=0.5).tolist() == [False, False, True]


# -- pieces ----------------------------------------------------------------------------------------


def test_pixel_space_round_trip_matches_the_apps_preprocessing():
    from inference.preprocess import to_tensor

    spec = InputSpec("input", 8, 8, "NHWC", "RGB", "stretch", 1 / 255, (0.5, 0.4, 0.3), (0.5, 0.2, 0.25))
    img = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    t = to_tensor(img, spec)[None]
    x01 = tensor_to_pixels(t, spec)
    assert np.allclose(x01[0] * 255, img, atol=1e-3)
    assert np.allclose(pixels_to_tensor(x01, spec), t, atol=1e-5)
    nchw = InputSpec("input", 8, 8, "NCHW", "BGR", "stretch", 1 / 255, (0.0,), (1.0,))
    t2 = to_tensor(img, nchw)[None]
    assert np.allclose(tensor_to_pixels(t2, nchw)[0] * 255, img, atol=1e-3)


def test_squeezers_and_distances_on_known_inputs():
    x = np.array([[[[0.6, 0.26, 1.0]]]], np.float32)
    assert np.allclose(squeeze_bits(x, 1), [[[[1.0, 0.0, 1.0]]]])  # 1 bit: two levels, 0 and 1
    assert np.allclose(squeeze_bits(x, 2), [[[[2 / 3, 1 / 3, 1.0]]]])  # 2 bits: 0, 1/3, 2/3, 1
    board = _checkerboard_red()[None].astype(np.float32) / 255
    assert squeeze_median(board, 3).max() == 0.0  # isolated pixels are removed
    p = np.array([[1.0, 0.0]])
    assert js_divergence(p, p)[0] == pytest.approx(0.0, abs=1e-9)
    assert js_divergence(p, np.array([[0.0, 1.0]]))[0] == pytest.approx(np.log(2), rel=1e-6)
    a = np.zeros((1, 4, 4, 3), np.float32)
    assert reconstruction_error(a, a + 0.1)[0] == pytest.approx(0.1)
    assert reconstruction_error(a, a + 0.1, "l2")[0] == pytest.approx(0.1)
    # the noise floor: one untouched 2x2 tile makes the patch minimum 0 while the mean is not
    b = a + 0.1
    b[0, :2, :2] = 0.0
    assert reconstruction_error(a, b)[0] == pytest.approx(0.1 * 12 / 16)
    assert reconstruction_error(a, b, aggregate="patch_min", patch=2)[0] == 0.0
    assert reconstruction_error(a, a + 0.1, aggregate="patch_min", patch=2)[0] == pytest.approx(0.1)


# -- detectors on fixtures -----------------------------------------------------------------------


def test_identity_guard_passes_a_clean_image_and_reports_its_verdict(tmp_path):
    folder = write_guarded_pack(tmp_path / "guarded", "identity",
                                {"reconstruction": 0.01, "divergence": 0.01, "squeeze": 0.5})
    r = _inspector(folder).classify(solid("green", (32, 32)))
    assert r.label == "green"
    assert r.guard is not None and not r.guard.flagged
    assert r.guard.detectors["reconstruction"] == pytest.approx(0.0, abs=1e-7)
    assert r.guard.detectors["divergence"] == pytest.approx(0.0, abs=1e-7)
    assert set(r.guard.false_alarm_rate) == {"reconstruction", "divergence", "squeeze"}
    assert r.mitigated is None
    assert not any("guard" in x for x in r.review_reasons)


def test_reconstruction_detector_fires_on_noise_a_blur_removes(tmp_path):
    folder = write_guarded_pack(tmp_path / "blur", "blur", {"reconstruction": 0.02})
    insp = _inspector(folder)
    smooth = solid("red", (32, 32))
    noisy = smooth.astype(np.int16) + np.random.default_rng(0).choice([-40, 40], smooth.shape)
    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
    r_smooth, r_noisy = insp.classify(smooth), insp.classify(noisy)
    assert r_noisy.guard.detectors["reconstruction"] > 5 * r_smooth.guard.detectors["reconstruction"]
    assert not r_smooth.guard.flagged
    assert r_noisy.guard.flagged and r_noisy.needs_review
    assert r_noisy.guard.reasons[0].startswith("reconstruction:")
    assert "5% false alarms" in r_noisy.guard.reasons[0]
    assert any("input guard flagged" in x for x in r_noisy.review_reasons)


def test_divergence_detector_and_reformer_with_a_verdict_changing_autoencoder(tmp_path):
    folder = write_guarded_pack(tmp_path / "swap", "swap", {"divergence": 0.1})
    r = _inspector(folder).classify(solid("red", (32, 32)))
    assert r.label == "red"
    assert r.guard.flagged and r.guard.detectors["divergence"] > 0.1
    # the reformer classified the reconstruction: red and green swapped
    assert r.mitigated is not None and r.mitigated.label == "green"
    assert r.mitigated.confidence > 0.5
    data = r.to_json_dict()
    assert data["guard"]["flagged"] is True and data["mitigated"]["label"] == "green"
    assert data["timings_ms"]["guard_ms"] > 0


def test_squeeze_detector_fires_when_a_median_filter_changes_the_verdict(tmp_path):
    folder = write_guarded_pack(tmp_path / "sq", "identity", {"squeeze": 0.3})
    insp = _inspector(folder)
    r = insp.classify(_checkerboard_red())
    assert r.guard.detectors["squeeze"] > 0.3 and r.guard.flagged
    assert "squeeze" in r.guard.reasons[0]
    assert not insp.classify(solid("red", (32, 32))).guard.flagged


def test_screen_skips_the_expensive_detectors_but_the_reformer_still_runs(tmp_path):
    # Reconstruction error of the identity AE is 0, below the screen: divergence is not computed.
    folder = write_guarded_pack(tmp_path / "screen", "swap", {"reconstruction": 10.0, "divergence": 0.1},
                                screen=0.5)
    r = _inspector(folder).classify(solid("red", (32, 32)))
    assert "divergence" not in r.guard.detectors
    assert not r.guard.flagged and r.mitigated is None


def test_batch_and_single_guard_verdicts_agree(tmp_path):
    folder = write_guarded_pack(tmp_path / "b", "blur", {"reconstruction": 0.02, "divergence": 0.05, "squeeze": 0.3})
    insp = _inspector(folder)
    images = [solid("red", (32, 32)), _checkerboard_red(), solid("blue", (32, 32))]
    batch = insp.classify_batch(images, batch_size=3)
    for img, item in zip(images, batch):
        single = insp.classify(img)
        assert item.result.guard.flagged == single.guard.flagged
        for k, v in single.guard.detectors.items():
            assert item.result.guard.detectors[k] == pytest.approx(v, abs=1e-5)


def _sign_noise(img: np.ndarray, amount: int, seed: int = 0) -> np.ndarray:
    """±amount on every channel of every pixel, independently: FGSM's pattern at ε = amount/255."""
    noise = np.random.default_rng(seed).choice([-amount, amount], img.shape)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_chroma_noise_floor_on_known_inputs():
    from scipy import ndimage

    grey = np.full((1, 32, 32, 3), 0.5, np.float32)
    assert chroma_noise_floor(grey, 8)[0] == pytest.approx(0.0, abs=1e-7)
    # Noise in luma only (the same change in R, G and B) leaves the chroma flat: the detector's blind spot.
    rng = np.random.default_rng(1)
    luma = np.clip(0.5 + rng.choice([-2, 2], (1, 32, 32, 1)) / 255.0, 0, 1) * np.ones((1, 1, 1, 3))
    assert chroma_noise_floor(luma.astype(np.float32), 8)[0] == pytest.approx(0.0, abs=1e-6)
    # Independent sign noise: the floor equals scipy's Laplacian of Cb/Cr averaged over a tile.
    noisy = _sign_noise(np.full((32, 32, 3), 128, np.uint8), 2)[None].astype(np.float32) / 255.0
    floor = chroma_noise_floor(noisy, 30)[0]  # one 30×30 tile over the interior pixels
    chroma = noisy[0] @ np.array([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32).T
    ref = np.mean([np.abs(-ndimage.laplace(chroma[..., c].astype(np.float64)))[1:31, 1:31].mean() for c in (0, 1)])
    assert floor == pytest.approx(ref, rel=1e-5)
    assert floor > 1.5 / 255.0
    # From model tensors (any normalisation, layout and channel order) it is the same number.
    from inference.guard import chroma_noise_floor_from_tensor

    for layout, color in (("NHWC", "RGB"), ("NCHW", "BGR")):
        spec = InputSpec(name="input", layout=layout, height=32, width=32, color=color, resize="stretch",
                         scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        t = pixels_to_tensor(noisy, spec)
        assert chroma_noise_floor_from_tensor(t, spec, 30)[0] == pytest.approx(floor, rel=1e-4)
    # The floor is the *smallest* tile: a photo with one flat corner is not noisy.
    half = noisy.copy()
    half[0, :16, :16] = 0.5
    assert chroma_noise_floor(half, 8)[0] < 0.1 * chroma_noise_floor(noisy, 8)[0]


def test_noise_detector_flags_sign_noise_without_running_the_autoencoder(tmp_path, monkeypatch):
    folder = write_guarded_pack(tmp_path / "noise", "identity", {"noise": 1.0 / 255.0})
    insp = _inspector(folder)
    calls = []
    real = Guard.reconstruct
    monkeypatch.setattr(Guard, "reconstruct", lambda self, x: calls.append(len(x)) or real(self, x))
    clean = solid("red", (32, 32))
    r_clean, r_noisy = insp.classify(clean), insp.classify(_sign_noise(clean, 2))
    assert not r_clean.guard.flagged and r_clean.guard.detectors["noise"] < 0.25 / 255.0
    assert r_noisy.guard.flagged and r_noisy.guard.reasons[0].startswith("noise:")
    assert "colour noise" in r_noisy.guard.reasons[0]
    # only the reformer (the autoencoder by default) ran it, once, for the flagged image
    assert calls == [1]
    assert r_noisy.mitigated is not None


def test_jpeg_reformer_classifies_the_recompressed_image(tmp_path):
    folder = write_guarded_pack(tmp_path / "jpeg", "swap", {"noise": 1.0 / 255.0},
                                reformer={"kind": "jpeg", "quality": 20})
    insp = _inspector(folder)
    noisy = _sign_noise(solid("red", (32, 32)), 2)
    r = insp.classify(noisy)
    assert r.guard.flagged
    # the swap autoencoder would have said green: the JPEG reformer ran instead
    reformed = jpeg_reform(noisy[None].astype(np.float32) / 255.0, 20)
    assert np.abs(reformed - noisy / 255.0).max() > 0  # it did change the pixels
    probs = insp.run_tensors(pixels_to_tensor(reformed, insp.manifest.input))["probs"][0]
    assert r.mitigated.label == "red" == insp.manifest.class_names[int(np.argmax(probs))]
    assert r.mitigated.confidence == pytest.approx(float(np.max(probs)), abs=1e-6)


def test_purifier_reformer_classifies_the_purified_image_without_the_autoencoder(tmp_path, monkeypatch):
    # A "swap" purifier turns red into green, so its answer is known; the autoencoder is identity.
    folder = write_guarded_pack(tmp_path / "purifier", "identity", {"noise": 1.0 / 255.0},
                                purifier_bytes=build_autoencoder_model("swap", output_name="purified"))
    insp = _inspector(folder)
    calls = []
    monkeypatch.setattr(Guard, "reconstruct", lambda self, x: calls.append(len(x)))
    clean = solid("red", (32, 32))
    r_clean, r_noisy = insp.classify(clean), insp.classify(_sign_noise(clean, 2))
    assert not r_clean.guard.flagged and r_clean.mitigated is None
    assert r_noisy.guard.flagged and r_noisy.label == "red"
    assert r_noisy.mitigated.label == "green"
    assert calls == []
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(insp.guard.purify(x), x[..., [1, 0, 2]], atol=1e-6)
    # with a JPEG pre-step the purifier sees the re-compressed image
    first_jpeg = {"kind": "purifier", "model": "guard_purifier", "jpeg_quality": 20}
    np.testing.assert_allclose(insp.guard.reform(x, first_jpeg), jpeg_reform(x, 20)[..., [1, 0, 2]], atol=1e-6)
    # mirrored first (left-right: the width axis), then the same steps
    mirrored = dict(first_jpeg, mirror=True)
    np.testing.assert_allclose(insp.guard.reform(x, mirrored), jpeg_reform(x[:, :, ::-1], 20)[..., [1, 0, 2]],
                               atol=1e-6)
    np.testing.assert_allclose(insp.guard.reform(x, {"kind": "jpeg", "quality": 30, "mirror": True}),
                               jpeg_reform(x[:, :, ::-1], 30), atol=1e-6)


def test_purifier_not_listed_in_extra_files_makes_the_pack_unusable(tmp_path):
    folder = write_guarded_pack(tmp_path / "nopur", "identity", {"noise": 1.0 / 255.0},
                                reformer={"kind": "purifier", "model": "guard_purifier"})
    pack = check_pack(folder)
    assert not pack.usable and "guard.reformer" in pack.problem and "extra_files" in pack.problem


def test_altered_or_misnamed_purifier_is_refused(tmp_path):
    folder = write_guarded_pack(tmp_path / "tampered", "identity", {"noise": 1.0 / 255.0},
                                purifier_bytes=build_autoencoder_model("identity", output_name="purified"))
    (folder / "guard_purifier.onnx").write_bytes(build_autoencoder_model("swap", output_name="purified"))
    pack = check_pack(folder)
    assert not pack.usable and "SHA-256" in pack.problem
    # output named "reconstruction", the manifest's reformer expects the default "purified"
    folder = write_guarded_pack(tmp_path / "misnamed", "identity", {"noise": 1.0 / 255.0},
                                purifier_bytes=build_autoencoder_model("identity"))
    with pytest.raises(PackUnusableError, match="guard purifier has inputs"):
        _inspector(folder)


def test_use_guard_false_skips_it(tmp_path):
    folder = write_guarded_pack(tmp_path / "off", "swap", {"divergence": 0.1})
    r = Inspector(check_pack(folder), use_guard=False).classify(solid("red", (32, 32)))
    assert r.guard is None and r.mitigated is None


# -- broken guards -----------------------------------------------------------------------------


def test_guard_naming_a_missing_file_makes_the_pack_unusable(tmp_path):
    folder = write_guarded_pack(tmp_path / "missing", "identity")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["guard"]["autoencoder"] = "no_such_role"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    pack = check_pack(folder)
    assert not pack.usable and "guard.autoencoder" in pack.problem


def test_guard_autoencoder_with_the_wrong_shape_is_refused(tmp_path):
    bad = build_autoencoder_model("identity", size=(16, 16))
    folder = write_guarded_pack(tmp_path / "wrong", "identity", ae_bytes=bad)
    with pytest.raises(PackUnusableError, match="broken input guard"):
        _inspector(folder)


def test_altered_guard_autoencoder_fails_the_hash_check(tmp_path):
    folder = write_guarded_pack(tmp_path / "tampered", "identity")
    (folder / "guard_ae.onnx").write_bytes(build_autoencoder_model("swap"))
    pack = check_pack(folder)
    assert not pack.usable and "SHA-256" in pack.problem


def test_cli_json_carries_guard_and_mitigated(tmp_path, monkeypatch):
    models = tmp_path / "models"
    write_guarded_pack(models / "guarded", "swap", {"divergence": 0.1})
    img = tmp_path / "red.png"
    from PIL import Image

    Image.fromarray(solid("red", (32, 32))).save(img)
    env = {**__import__("os").environ, "TILIK_BUNDLED_PACKS_DIR": str(models)}
    proc = subprocess.run([sys.executable, "-m", "tilik", "classify", "--pack", "guarded", "--json", str(img)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.strip().splitlines()[0])
    assert row["guard"]["flagged"] is True
    assert row["guard"]["false_alarm_rate"]["divergence"] == 0.05
    assert row["mitigated"]["label"] == "green"
    assert row["needs_review"] is True


def test_an_image_only_the_ood_check_flags_gets_no_reformed_answer(tmp_path):
    folder = write_guarded_pack(tmp_path / "ood", "swap", {"noise": 1.0, "divergence": 10.0})
    insp = _inspector(folder)
    tensor = pixels_to_tensor(solid("red", (32, 32))[None].astype(np.float32) / 255.0, insp.manifest.input)
    outputs = insp.run_tensors(tensor)
    (ood_only,) = insp.guard.check(tensor, outputs, ood=[(9.0, 3.0)])
    assert ood_only.verdict.flagged and ood_only.verdict.reasons[0].startswith("ood:")
    assert ood_only.reconstruction_probs is None  # a refusal is not followed by a second answer
    # the same image with an adversarial detector over its threshold does get one
    (noisy,) = Inspector(check_pack(write_guarded_pack(tmp_path / "ood2", "swap", {"divergence": 0.1}))).guard.check(
        tensor, outputs, ood=[(9.0, 3.0)])
    assert noisy.verdict.flagged and noisy.reconstruction_probs is not None


def _old_chroma_floor(x: np.ndarray, m: np.ndarray, patch: int) -> np.ndarray:
    """The noise detector as released (matrix product, then the Laplacian as one expression):
    the reference the in-place float32 version must agree with."""
    c = x @ np.ascontiguousarray(np.asarray(m, np.float32).T)
    lap = 4.0 * c[:, 1:-1, 1:-1] - c[:, :-2, 1:-1] - c[:, 2:, 1:-1] - c[:, 1:-1, :-2] - c[:, 1:-1, 2:]
    per_pixel = np.abs(lap).mean(axis=-1)
    n, h, w = per_pixel.shape
    p = max(1, min(patch, h, w))
    tiles = per_pixel[:, : h // p * p, : w // p * p].reshape(n, h // p, p, w // p, p).mean(axis=(2, 4))
    return tiles.reshape(n, -1).min(axis=1).astype(np.float64)


def test_vectorised_noise_floor_keeps_the_released_scores():
    """Issue #28: per-channel in-place float32 arithmetic, the same scores as the released code
    (its values on these fixed inputs pinned, and the released code itself kept as the reference)."""
    from inference.guard import _CHROMA, chroma_noise_floor_from_tensor

    rng = np.random.default_rng(28)
    x = rng.random((4, 64, 48, 3), dtype=np.float32)
    smooth = np.repeat(np.repeat(rng.random((2, 8, 8, 3), dtype=np.float32), 8, 1), 8, 2)
    released = ([0.6331039667129517, 0.636745810508728, 0.6149722933769226, 0.66017085313797],
                [0.033770933747291565, 0.0410909429192543])
    np.testing.assert_allclose(chroma_noise_floor(x, 16), released[0], rtol=1e-6)
    np.testing.assert_allclose(chroma_noise_floor(smooth, 8), released[1], rtol=1e-6)
    np.testing.assert_allclose(chroma_noise_floor(x, 16), _old_chroma_floor(x, _CHROMA, 16), rtol=1e-6)
    # through a pack's normalisation, both layouts and channel orders, a batch at model size
    photos = rng.integers(0, 256, (3, 96, 96, 3)).astype(np.float32) / 255.0
    for layout, color in (("NHWC", "RGB"), ("NCHW", "BGR")):
        spec = InputSpec(name="input", layout=layout, height=96, width=96, color=color, resize="stretch",
                         scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        t = pixels_to_tensor(photos, spec)
        nhwc = np.moveaxis(t, 1, -1) if layout == "NCHW" else t
        std = np.asarray(spec.std, np.float32) / np.float32(255 * spec.scale)
        m = _CHROMA * std[None, :]
        m = m[:, ::-1] if color == "BGR" else m
        np.testing.assert_allclose(chroma_noise_floor_from_tensor(t, spec, 16), _old_chroma_floor(nhwc, m, 16),
                                   rtol=2e-6)


def test_an_autoencoder_no_detector_or_reformer_uses_is_not_loaded(tmp_path, monkeypatch):
    """Noise detector + JPEG reformer (every shipped pack's guard): the autoencoder's session is not
    made with the pack; verdicts are the same as with it loaded, and Guard.reconstruct (calibration)
    still makes it on first use, from the checked bytes."""
    import inference.inspector as inspector_module

    folder = write_guarded_pack(tmp_path / "lean", "identity", {"noise": 1.0 / 255.0},
                                reformer={"kind": "jpeg", "quality": 20})
    roles = []
    real = inspector_module.get_session
    monkeypatch.setattr(inspector_module, "get_session", lambda pack, role="model", provider=None, **kw:
                        roles.append(role) or real(pack, role, provider, **kw))
    lean = _inspector(folder)
    assert roles == ["model"] and not lean.guard.needs_autoencoder
    eager = _inspector(folder)
    eager.guard.session  # noqa: B018 - made now, as before
    assert roles[-1] == "guard_autoencoder"
    images = [solid("red", (32, 32)), _sign_noise(solid("red", (32, 32)), 2), _sign_noise(solid("green", (32, 32)), 3)]
    for a, b in zip(lean.classify_batch(images), eager.classify_batch(images)):
        assert a.result.guard == b.result.guard and a.result.mitigated == b.result.mitigated
        assert a.result.probabilities == b.result.probabilities
    assert lean.guard._session is None  # noqa: SLF001 - still not made: nothing needed it
    x = images[0][None].astype(np.float32) / 255.0
    assert np.allclose(lean.guard.reconstruct(x), x, atol=1e-6)  # the identity autoencoder, made on demand


def test_a_guard_that_reconstructs_loads_its_autoencoder_with_the_pack(tmp_path, monkeypatch):
    folder = write_guarded_pack(tmp_path / "rec", "identity", {"reconstruction": 0.05})
    insp = _inspector(folder)
    assert insp.guard.needs_autoencoder and insp.guard._session is not None  # noqa: SLF001


def _same_results(a, b):
    for x, y in zip(a, b):
        assert x.result.guard == y.result.guard and x.result.mitigated == y.result.mitigated
        assert x.result.probabilities == y.result.probabilities and x.result.decision == y.result.decision


@pytest.mark.parametrize("reformer", [{"kind": "jpeg", "quality": 20, "mirror": True}, {"kind": "autoencoder"}])
def test_reformed_copies_ride_in_the_batch_run_with_the_same_answers(tmp_path, monkeypatch, reformer):
    """A noise-only guard knows what it flags before the classifier runs: the reformed copies join
    the batch's run (one onnxruntime call, not two); results equal the two-call path."""
    folder = write_guarded_pack(tmp_path / "fold", "swap", {"noise": 1.0 / 255.0}, reformer=reformer)
    images = [solid("red", (32, 32)), _sign_noise(solid("red", (32, 32)), 2), solid("green", (32, 32)),
              _sign_noise(solid("green", (32, 32)), 3, seed=4)]
    insp = _inspector(folder)
    runs = []
    real = insp.loaded.session.run
    monkeypatch.setattr(insp.loaded, "session", type("S", (), {
        "run": lambda self, names, feeds: runs.append(len(next(iter(feeds.values())))) or real(names, feeds),
        "get_inputs": lambda self: insp.loaded.session.get_inputs()})())
    folded = insp.classify_batch(images)
    assert runs == [4 + 2]  # two flagged images' reformed copies in the same run
    assert sum(r.result.guard.flagged for r in folded) == 2 and all(
        r.result.mitigated is not None for r in folded if r.result.guard.flagged)
    monkeypatch.setattr(Guard, "pre_model", property(lambda self: False))
    runs.clear()
    separate = insp.classify_batch(images)
    assert runs == [4, 2]
    _same_results(folded, separate)


def test_bundled_pack_flagged_sample_same_answers_folded_or_not(monkeypatch):
    """skin-binary's own samples at 224 px and sign-noised copies of them (±2/255 on every channel,
    as FGSM's step: flagged by the noise detector, whose recalibrated threshold no clean sample
    trips any more): the folded run gives the same results as the separate one."""
    from pathlib import Path

    from PIL import Image

    repo = Path(__file__).resolve().parents[2]
    folder, samples = repo / "models" / "skin-binary", repo / "resources" / "samples" / "skin-binary"
    if not (folder / "manifest.json").is_file() or not samples.is_dir():
        pytest.skip("the bundled skin-binary pack or its samples are not in this checkout")
    images = [np.asarray(Image.open(p).convert("RGB").resize((224, 224))) for p in sorted(samples.glob("*.jpg"))]
    rng = np.random.default_rng(0)
    images += [np.clip(img.astype(np.int16) + 2 * rng.choice([-1, 1], img.shape), 0, 255).astype(np.uint8)
               for img in images[:2]]
    insp = Inspector(check_pack(folder, "bundled"))
    folded = insp.classify_batch(images * 2)
    assert any(r.result.guard.flagged for r in folded), "no sample is flagged: this test checks nothing"
    monkeypatch.setattr(Guard, "pre_model", property(lambda self: False))
    _same_results(folded, insp.classify_batch(images * 2))
