"""The bundled skin packs the pipeline exported: they validate, load in the app's Inspector, get
their self-test samples right, refuse images that are not dermoscopy, and say what they are.
Skips (with the reason) when a pack has not been exported into models/ yet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKS = {"skin-binary": ["malignant"], "skin-ham7": ["mel", "bcc", "akiec"]}
MODELS_LIMIT_BYTES = 120 * 1024 * 1024


def _pack_dir(pack_id: str) -> Path:
    folder = REPO / "models" / pack_id
    if not (folder / "manifest.json").is_file():
        pytest.skip(f"models/{pack_id} is not exported (python -m training train training/configs/{pack_id}.yaml --export)")
    return folder


@pytest.fixture(scope="module")
def inspectors():
    return {}


def _inspector(pack_id: str, cache: dict):
    from inference.inspector import Inspector
    from inference.registry import check_pack

    if pack_id not in cache:
        pack = check_pack(_pack_dir(pack_id))
        assert pack.usable, pack.problem
        cache[pack_id] = Inspector(pack, "cpu")
    return cache[pack_id]


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_manifest_policy_and_outputs(pack_id):
    from inference.manifest import load_manifest

    m = load_manifest(_pack_dir(pack_id) / "manifest.json")
    assert m.id == pack_id and m.mode == "skin" and m.task == "classify"
    assert list(m.decision.alarming) == PACKS[pack_id]
    assert m.decision.alarm_threshold is not None and 0 < m.decision.alarm_threshold <= 0.5
    low, high = m.decision.review_band
    assert low <= m.decision.alarm_threshold <= high
    assert m.decision.verdict_words and all("not a diagnosis" in w for w in m.decision.verdict_words.values())
    assert m.input.name == "input" and m.input.layout == "NHWC"
    assert {"probs", "logits", "cam", "embedding"} <= set(m.outputs)
    assert m.ood is not None and m.ood.score in ("output", "energy")
    if m.ood.score == "output":
        assert "ood_score" in m.outputs
    assert m.raw["ood"]["in_domain_acceptance"] == 0.95
    assert "non-commercial" in m.data["licence"].lower()
    card = (_pack_dir(pack_id) / "CARD.md").read_text(encoding="utf-8")
    assert "not a diagnosis" in card.lower() and "NOT tested" in card
    for png in ("confusion_matrix.png", "roc_curves.png", "training_curves.png"):
        assert (_pack_dir(pack_id) / png).is_file()


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_self_test_samples_are_classified_as_expected(pack_id, inspectors):
    _pack_dir(pack_id)  # skips, with the reason, before looking for samples of a pack not exported
    folder = REPO / "resources" / "samples" / pack_id
    entries = json.loads((folder / "samples.json").read_text(encoding="utf-8"))
    assert 3 <= len(entries) <= 4
    inspector = _inspector(pack_id, inspectors)
    for e in entries:
        r = inspector.classify(folder / e["file"])
        assert r.label == e["expected"], (e, r.label, r.confidence)
        assert not r.out_of_domain
        assert r.heatmap is not None


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_images_that_are_not_dermoscopy_come_back_out_of_domain(pack_id, inspectors):
    from training.pipeline.ood import synthetic_documents

    inspector = _inspector(pack_id, inspectors)
    grey = np.full((300, 400, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for img in [*synthetic_documents(2, seed=99), grey, noise]:
        r = inspector.classify(img)
        assert r.out_of_domain and r.needs_review, r.ood_score


def test_models_folder_stays_within_the_size_budget():
    folder = REPO / "models"
    if not folder.is_dir():
        pytest.skip("no models/ folder")
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total <= MODELS_LIMIT_BYTES, f"models/ holds {total / 1e6:.1f} MB (budget 120 MB)"


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_calibrated_pack_computes_probs_from_its_logits_with_the_recorded_temperature(pack_id):
    """A pack calibrated by temperature: the graph's T is the manifest's, probs = softmax(logits / T)
    on a real sample, and the same graph set back to T = 1 gives bit-identical logits and CAM."""
    import onnx
    import onnxruntime as ort

    from inference.imageio import load_image
    from inference.manifest import load_manifest
    from inference.preprocess import preprocess
    from training.pipeline.calibration import apply_temperature_onnx, graph_temperature, softmax

    folder = _pack_dir(pack_id)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    calib = manifest.get("training", {}).get("calibration")
    if not calib:
        pytest.skip(f"{pack_id} {manifest['version']} has no temperature")
    model = onnx.load(str(folder / "model.onnx"))
    t = graph_temperature(model)
    assert t == pytest.approx(calib["temperature"]) and t != 1.0
    samples = REPO / "resources" / "samples" / pack_id
    entries = json.loads((samples / "samples.json").read_text(encoding="utf-8"))
    spec = load_manifest(folder / "manifest.json").input
    x = np.stack([preprocess(load_image(samples / e["file"]).rgb, spec)[0] for e in entries]).astype(np.float32)

    def run(proto):
        sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(names, {"input": x})))

    hot = run(model)
    cold = run(apply_temperature_onnx(onnx.load(str(folder / "model.onnx")), 1.0))
    np.testing.assert_allclose(hot["probs"], softmax(hot["logits"], t), atol=1e-5)
    np.testing.assert_allclose(cold["probs"], softmax(cold["logits"]), atol=1e-5)
    for k in ("logits", "cam", "embedding"):
        np.testing.assert_array_equal(hot[k], cold[k])
