"""The heatmap-class surgery tool: cam shows one fixed class, every other output unchanged."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from inference.inspector import Inspector, clear_session_cache
from inference.registry import check_pack
from tests.tiny_models import build_colour_model, colour_manifest, write_pack
from training.pipeline.fix_heatmap_class import SurgeryError, fix_cam_class, main, run_fix

NAMES = ["probs", "logits", "embedding", "cam"]


def _run(model: bytes, x: np.ndarray, extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    m = onnx.load_from_string(model)
    for name in extra:  # expose an intermediate tensor
        m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = NAMES + list(extra)
    return dict(zip(names, session.run(names, {"input": x})))


def _batch() -> np.ndarray:
    # one image dominated by each channel, plus random ones
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 0.3, (6, 32, 32, 3)).astype(np.float32)
    for i in range(3):
        x[i, 8:20, 4:30, i] = 0.9
    return x


@pytest.mark.parametrize("index", [0, 1, 2])
def test_cam_becomes_the_fixed_class_map_and_nothing_else_changes(index):
    old = build_colour_model()
    new, info = fix_cam_class(old, index)
    assert info["class_index"] == index and len(info["rewired_argmax"]) == 1
    x = _batch()
    a, b = _run(old, x), _run(new, x, ("cams",))
    for name in ("probs", "logits", "embedding"):
        assert np.array_equal(a[name], b[name]), name
    top = a["logits"].argmax(1)
    assert set(top[:3]) == {0, 1, 2}  # the batch covers every class, so some maps must change
    same = top == index
    assert np.array_equal(a["cam"][same], b["cam"][same])
    assert not np.allclose(a["cam"][~same], b["cam"][~same])
    # the class-activation map of class `index` computed here from the per-class maps
    pos = np.maximum(b["cams"][:, index], 0)
    expected = pos / (pos.max(axis=(1, 2), keepdims=True) + 1e-8)
    np.testing.assert_allclose(b["cam"], expected, rtol=1e-6, atol=1e-6)


def test_tool_rewrites_a_tiny_pack_and_records_what_it_did(tmp_path):
    model = build_colour_model()
    pack = write_pack(tmp_path / "colour", model, colour_manifest(model, pack_id="colour"))
    assert main(["--pack", str(pack), "--class", "green", "--version", "1.0.1"]) == 0
    doc = json.loads((pack / "manifest.json").read_text())
    new = (pack / "model.onnx").read_bytes()
    assert doc["version"] == "1.0.1" and doc["decision"]["heatmap_class"] == "green"
    assert doc["model"]["sha256"] == hashlib.sha256(new).hexdigest()
    rec = doc["training"]["heatmap_class"]
    assert rec["parity"]["bit_identical"] is True and rec["class_index"] == 1
    assert rec["model_sha256_before"] == hashlib.sha256(model).hexdigest()
    assert rec["cam_check"]["images_already_that_class"] + rec["cam_check"]["images_changed_map"] == 4
    clear_session_cache()
    inspector = Inspector(check_pack(pack, "user"))
    assert inspector.manifest.decision.heatmap_class == "green"
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    red[4:12, 4:12, 1] = 120  # a little green: its map must light up there, though red wins
    result = inspector.classify(red)
    assert result.model_label == "red"
    heat = result.heatmap
    assert heat is not None and heat[4:12, 4:12].mean() > heat[20:, 20:].mean()


def test_bad_requests_are_refused_and_nothing_is_written(tmp_path):
    model = build_colour_model()
    with pytest.raises(SurgeryError, match="no output named 'heat'"):
        fix_cam_class(model, 0, cam="heat")
    with pytest.raises(SurgeryError, match="outside the model's 3 classes"):
        fix_cam_class(model, 3)
    # a cam whose class comes from anything but an ArgMax over logits or probs: the tool cannot tell
    m = onnx.load_from_string(model)
    next(n for n in m.graph.node if n.op_type == "ArgMax").input[0] = "embedding"
    with pytest.raises(SurgeryError, match="no ArgMax over"):
        fix_cam_class(m.SerializeToString(), 0)
    # an ArgMax that also feeds another output must not be touched
    m = onnx.load_from_string(model)
    m.graph.output.append(onnx.helper.make_tensor_value_info("top", onnx.TensorProto.INT64, None))
    with pytest.raises(SurgeryError, match="also feeds"):
        fix_cam_class(m.SerializeToString(), 0)
    pack = write_pack(tmp_path / "colour", model, colour_manifest(model, pack_id="colour"))
    before = (pack / "manifest.json").read_bytes()
    with pytest.raises(SurgeryError, match="not one of the pack's classes"):
        run_fix(pack, "purple")
    (pack / "model.onnx").write_bytes(model + b"\0")
    with pytest.raises(SurgeryError, match="does not match the SHA-256"):
        run_fix(pack, "red")
    assert (pack / "manifest.json").read_bytes() == before
