"""The Inspector on real (tiny) ONNX models: labels, heatmaps, decisions, batches, geometry."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import InferenceError, PackUnusableError
from inference.inspector import Inspector
from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, shade, solid, write_pack


def _inspector(tmp_path, name="colour", model=None, **overrides) -> Inspector:
    model = model if model is not None else build_colour_model()
    manifest = colour_manifest(model, pack_id=name)
    manifest.update(overrides)
    return Inspector(check_pack(write_pack(tmp_path / name, model, manifest=manifest)))


def test_dominant_colour_is_the_label_with_full_result(tmp_path):
    inspector = _inspector(tmp_path)
    result = inspector.classify(solid("green"))
    assert result.label == "green" and result.display_label == "Green"
    assert result.confidence == pytest.approx(max(result.probabilities.values()))
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert [c.name for c in result.top_k][0] == "green" and len(result.top_k) == 3
    assert result.pack_id == "colour" and result.pack_version == "1.0.0" and len(result.pack_sha256) == 64
    assert result.provider == "CPU"
    assert result.timings.total_ms >= result.timings.run_ms > 0
    assert result.embedding.shape == (3,)
    assert not result.alarming


def test_heatmap_is_at_image_size_and_points_at_the_evidence(tmp_path):
    inspector = _inspector(tmp_path)
    img = np.zeros((50, 80, 3), np.uint8)
    img[10:30, 50:75, 2] = 255  # a blue patch on black: the model answers blue because of it
    result = inspector.classify(img)
    assert result.label == "blue"
    assert result.heatmap.shape == (32, 32)  # the model's map; the geometry lays it on the image
    heat = result.heatmap_image(None)
    assert heat.shape == (50, 80) and heat.dtype == np.float32
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 10 <= peak_y < 30 and 50 <= peak_x < 75
    assert heat[10:30, 50:75].mean() > 5 * heat[35:, :40].mean()


@pytest.mark.parametrize("resize", ["letterbox", "center_crop"])
def test_heatmap_geometry_survives_letterbox_and_crop(tmp_path, resize):
    base = colour_manifest(build_colour_model())
    inspector = _inspector(tmp_path, input={**base["input"], "resize": resize})
    img = np.zeros((60, 120, 3), np.uint8)
    img[20:40, 50:70, 0] = 255  # centred red square (inside a centre crop too)
    result = inspector.classify(img)
    heat = result.heatmap_image()
    assert heat.shape == (60, 120)
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 18 <= peak_y < 42 and 48 <= peak_x < 72
    if resize == "center_crop":
        assert heat[:, :25].max() == 0.0  # never shown to the model


def test_nchw_layout(tmp_path):
    model = build_colour_model(layout="NCHW")
    base = colour_manifest(model, layout="NCHW")
    inspector = _inspector(tmp_path, model=model, input=base["input"])
    assert inspector.classify(solid("red")).label == "red"


def test_batch_equals_single(tmp_path):
    inspector = _inspector(tmp_path)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (30 + i, 40, 3), dtype=np.uint8) for i in range(7)]
    singles = [inspector.classify(img) for img in images]
    batched = inspector.classify_batch(images, batch_size=3)
    assert len(batched) == 7
    for one, item in zip(singles, batched):
        assert item.ok and item.result.label == one.label
        for name in one.probabilities:
            assert item.result.probabilities[name] == pytest.approx(one.probabilities[name], abs=1e-6)
        np.testing.assert_allclose(item.result.heatmap, one.heatmap, atol=1e-5)


def test_the_pack_caps_the_batch_with_runtime_max_batch(tmp_path):
    """``runtime.max_batch`` (e.g. a graph that runs its backbone twice) caps the images per model
    run whatever batch the caller asks for; the answers are the same."""
    inspector = _inspector(tmp_path, runtime={"max_batch": 2})
    session = inspector.loaded.session

    class Recording:  # the real session, with the batch size of each run written down
        sizes: list[int] = []

        def run(self, names, feeds):
            self.sizes.append(len(next(iter(feeds.values()))))
            return session.run(names, feeds)

        def __getattr__(self, name):
            return getattr(session, name)

    inspector.loaded.session = Recording()
    images = [solid(c) for c in ("red", "blue", "green", "red", "blue")]
    items = inspector.classify_batch(images, batch_size=16)
    assert [i.result.label for i in items] == ["red", "blue", "green", "red", "blue"]
    assert Recording.sizes == [2, 2, 1]


def test_batch_keeps_order_and_reports_bad_items(tmp_path):
    inspector = _inspector(tmp_path)
    items = inspector.classify_batch([solid("red"), b"", solid("blue"), b"not an image", solid("green")],
                                     batch_size=2, names=["a", "b", "c", "d", "e"])
    assert [i.source for i in items] == ["a", "b", "c", "d", "e"]
    assert [i.result.label if i.ok else None for i in items] == ["red", None, "blue", None, "green"]
    assert "empty" in str(items[1].error) and "not an image" in str(items[3].error)


def test_fixed_batch_model_runs_one_at_a_time(tmp_path):
    inspector = _inspector(tmp_path, model=build_colour_model(dynamic_batch=False))
    items = inspector.classify_batch([solid("red"), solid("blue"), solid("green")], batch_size=8)
    assert [i.result.label for i in items] == ["red", "blue", "green"]


def _mix(red: float, blue: float) -> np.ndarray:
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, :, 0] = red
    img[:, :, 2] = blue
    return shade(img)


def test_review_band_and_min_confidence(tmp_path):
    inspector = _inspector(tmp_path)  # alarming: red, review band [0.4, 0.6), min confidence 0.5
    clear = inspector.classify(_mix(255, 0))
    assert clear.label == "red" and clear.alarming and not clear.needs_review
    uncertain = inspector.classify(_mix(128, 128))  # red and blue about equal: p(red) ~ 0.5
    assert uncertain.needs_review
    assert any("review band" in r for r in uncertain.review_reasons)
    assert uncertain.verdict.endswith("— review")


def test_alarm_threshold_favours_the_alarming_class(tmp_path):
    decision = {"alarming": ["red"], "alarm_threshold": 0.2, "top_k": 2}
    inspector = _inspector(tmp_path, decision=decision)
    # Blue clearly dominant but red still ~27%: above the sensitive 20% operating point.
    result = inspector.classify(_mix(200, 220))
    assert result.probabilities["blue"] > result.probabilities["red"] >= 0.2
    assert result.label == "red" and result.alarming
    calm = inspector.classify(_mix(0, 255))
    assert calm.label == "blue"


def test_out_of_domain_by_energy(tmp_path):
    inspector = _inspector(tmp_path, ood={"score": "energy", "threshold": -5.0})
    bright = inspector.classify(solid("red", value=255))  # strong logit → low energy → in domain
    dark = inspector.classify(np.zeros((10, 10, 3), np.uint8))  # all logits 0 → energy -log 3
    assert not bright.out_of_domain and bright.ood_score < -5.0
    assert dark.out_of_domain and dark.needs_review
    assert dark.ood_score == pytest.approx(-np.log(3), abs=1e-4)


def test_out_of_domain_by_max_softmax(tmp_path):
    inspector = _inspector(tmp_path, ood={"score": "max_softmax", "threshold": 0.5})
    assert inspector.classify(np.zeros((10, 10, 3), np.uint8)).out_of_domain
    assert not inspector.classify(solid("blue")).out_of_domain


def test_verify_pack_cannot_classify(tmp_path):
    model = build_colour_model()
    folder = write_pack(tmp_path / "sig", model, manifest=colour_manifest(model, task="verify"))
    with pytest.raises(PackUnusableError, match="'verify' pack"):
        Inspector(check_pack(folder))


def test_wrong_tensor_shape_is_an_inference_error(tmp_path):
    inspector = _inspector(tmp_path)
    with pytest.raises(InferenceError, match="failed to run"):
        inspector.run_tensors(np.zeros((1, 8, 8, 3), np.float32))


def test_json_form_has_the_cli_fields(tmp_path):
    result = _inspector(tmp_path).classify(solid("blue"))
    data = result.to_json_dict(heatmap_path="h.png")
    for key in ("path", "pack", "pack_version", "label", "confidence", "probabilities", "top_k", "needs_review",
                "review_reasons", "out_of_domain", "heatmap", "timings_ms", "guard", "mitigated"):
        assert key in data
    assert data["heatmap"] == "h.png" and set(data["timings_ms"]) == {"decode_ms", "preprocess_ms", "run_ms", "guard_ms", "total_ms"}
