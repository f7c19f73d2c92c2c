"""The patch-features surgery tool (issue 25): an extra ONNX output, every old output unchanged."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from inference.inspector import Inspector, clear_session_cache
from inference.manifest import load_manifest
from inference.paths import bundled_models_dir
from inference.registry import check_pack
from tests.tiny_models import build_colour_model, colour_manifest, write_pack
from training.pipeline.patch_features import SurgeryError, add_patch_output, main, run_surgery

SEAL_1_2_0_MODEL = "1af56bbdf29936c43aa19b0661f3c63bb8f988879c3f8de0f6df36829af8ad96"


def _strip(model_bytes: bytes) -> bytes:
    """The model without what the tool added (its nodes and the patch_features output)."""
    m = onnx.load_from_string(model_bytes)
    keep = [n for n in m.graph.node if not any(o.startswith("patch_features") for o in n.output)]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    outs = [o for o in m.graph.output if o.name != "patch_features"]
    del m.graph.output[:]
    m.graph.output.extend(outs)
    return m.SerializeToString()


def test_the_shipped_seal_pack_has_patch_features_and_its_decisions_are_unchanged():
    folder = bundled_models_dir() / "seal-integrity"
    manifest = load_manifest(folder / "manifest.json")
    assert manifest.outputs["patch_features"] == "patch_features"
    assert manifest.training_data == "synthetic"
    model = (folder / "model.onnx").read_bytes()
    stripped = _strip(model)
    if manifest.version == "1.2.1":  # made from 1.2.0 by the tool: removing its nodes gives 1.2.0 back, byte for byte
        assert hashlib.sha256(stripped).hexdigest() == SEAL_1_2_0_MODEL
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    names = list(manifest.outputs[r] for r in ("probs", "cam", "logits", "embedding", "ood_score"))
    a = ort.InferenceSession(stripped, providers=["CPUExecutionProvider"]).run(names, {"input": batch})
    full = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    b = full.run(names + ["patch_features"], {"input": batch})
    for name, x, y in zip(names, a, b):
        assert np.array_equal(x, y), name
    assert b[-1].shape == (2, 14, 14, 192) and np.isfinite(b[-1]).all()


def test_surgery_on_a_tiny_pack_rewrites_model_and_manifest(tmp_path):
    model = build_colour_model()
    pack = write_pack(tmp_path / "colour", model, colour_manifest(model, pack_id="colour"))
    assert main(["--pack", str(pack), "--tensor", "feat", "--version", "1.0.1"]) == 0
    doc = json.loads((pack / "manifest.json").read_text())
    new = (pack / "model.onnx").read_bytes()
    assert doc["version"] == "1.0.1" and doc["outputs"]["patch_features"] == "patch_features"
    assert doc["model"]["sha256"] == hashlib.sha256(new).hexdigest()
    assert doc["training"]["patch_features"]["parity"]["bit_identical"] is True
    assert doc["training"]["patch_features"]["shape"] == [32, 32, 3]
    clear_session_cache()
    inspector = Inspector(check_pack(pack, "user"))  # checks the output's shape
    out = inspector.loaded.session.run(["patch_features"], {"input": np.ones((1, 32, 32, 3), np.float32)})[0]
    assert out.shape == (1, 32, 32, 3)


def test_two_maps_are_pooled_to_the_smaller_and_concatenated():
    model = build_colour_model(size=(32, 32))
    m = onnx.load_from_string(model)
    # a half-size copy of the feature map, to stand in for a deeper block
    m.graph.node.append(onnx.helper.make_node("AveragePool", ["feat"], ["feat_half"], kernel_shape=[2, 2],
                                              strides=[2, 2]))
    new, info = add_patch_output(m.SerializeToString(), ["feat", "feat_half"])
    assert info["shape"] == [16, 16, 6]
    x = np.random.default_rng(1).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    out = ort.InferenceSession(new, providers=["CPUExecutionProvider"]).run(["patch_features"], {"input": x})[0]
    assert out.shape == (1, 16, 16, 6)


def test_bad_requests_are_refused_in_plain_words(tmp_path):
    model = build_colour_model()
    with pytest.raises(SurgeryError, match="no tensor named 'nope'"):
        add_patch_output(model, ["nope"])
    with pytest.raises(SurgeryError, match="not a 4-D feature map"):
        add_patch_output(model, ["logits"])
    once, _ = add_patch_output(model, ["feat"])
    with pytest.raises(SurgeryError, match="already has an output"):
        add_patch_output(once, ["feat"])
    pack = write_pack(tmp_path / "colour", model, colour_manifest(model, pack_id="colour"))
    (pack / "model.onnx").write_bytes(model + b"\0")
    with pytest.raises(SurgeryError, match="does not match the SHA-256"):
        run_surgery(pack, ["feat"])
