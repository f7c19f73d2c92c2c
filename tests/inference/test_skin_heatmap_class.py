"""skin-binary's heatmap is the evidence for "malignant" whatever the verdict (pack 1.2.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from inference.imageio import load_image
from inference.inspector import Inspector, clear_session_cache
from inference.manifest import load_manifest
from inference.paths import bundled_models_dir
from inference.preprocess import fit_to_input, resize_float, to_tensor
from inference.registry import check_pack

PACK = bundled_models_dir() / "skin-binary"


def _feature_map_and_kernel(model: onnx.ModelProto, emb: np.ndarray, logits: np.ndarray):
    """The name of the map pooled into the embedding, and the dense kernel that makes the logits."""
    graph = model.graph
    gap = next(n for n in graph.node if n.op_type in ("GlobalAveragePool", "ReduceMean")
               and any(o for o in n.output))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    n = logits.shape[1]
    kernels = [v for v in inits.values() if v.ndim == 2 and v.shape == (emb.shape[1], n)]
    biases = [v for v in inits.values() if v.shape == (n,) and v.dtype == np.float32]
    for w in kernels:
        for b in biases:
            if np.allclose(emb @ w + b, logits, atol=1e-4):
                return gap.input[0], w
    raise AssertionError("no dense kernel reproduces the logits from the embedding")


def _cam_map(features: np.ndarray, w: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    pos = np.maximum(np.einsum("chw,c->hw", features, w), 0)
    return resize_float(pos / (pos.max() + 1e-8), *size)


def test_bundled_skin_binary_cam_is_the_malignant_map_for_every_verdict():
    manifest = load_manifest(PACK / "manifest.json")
    assert manifest.decision.heatmap_class == "malignant"
    names = [c.name for c in manifest.classes]
    k = names.index("malignant")
    samples = sorted((Path(__file__).resolve().parents[2] / manifest.raw["samples"]).glob("*.jpg"))
    x = np.stack([to_tensor(fit_to_input(load_image(f).rgb, manifest.input)[0], manifest.input) for f in samples])
    model = onnx.load(str(PACK / manifest.model.file))
    plain = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    cam, emb, logits = plain.run(["cam", "embedding", "logits"], {manifest.input.name: x})
    top = logits.argmax(1)
    assert set(top) == {0, 1}  # the samples hold both verdicts, so the check covers a benign one
    feat_name, w = _feature_map_and_kernel(model, emb, logits)
    model.graph.output.append(onnx.helper.make_tensor_value_info(feat_name, onnx.TensorProto.FLOAT, None))
    feats = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        [feat_name], {manifest.input.name: x})[0]  # N x C x h x w, as tf2onnx writes it
    size = (cam.shape[2], cam.shape[1])
    for i in range(len(x)):
        mine, other = _cam_map(feats[i], w[:, k], size), _cam_map(feats[i], w[:, 1 - k], size)
        # the graph's resize and the app's bilinear one differ a little at the borders only
        assert np.abs(cam[i] - mine).max() < 0.05, (i, top[i])
        if np.ptp(mine) > 0:
            assert np.corrcoef(cam[i].ravel(), mine.ravel())[0, 1] > 0.999, (i, top[i])
        else:  # no malignant evidence anywhere (a clearly benign lesion, pack 1.3.0): both maps are zero
            assert np.abs(cam[i]).max() < 1e-6, (i, top[i])
        if top[i] != k:  # benign verdict: before 1.2.2 this image showed the benign map
            assert np.abs(cam[i] - other).max() > 0.3, (i, top[i], np.abs(cam[i] - other).max())


def test_the_inspector_shows_the_malignant_map_beside_a_benign_verdict():
    clear_session_cache()
    manifest = load_manifest(PACK / "manifest.json")
    inspector = Inspector(check_pack(PACK, "bundled"))
    samples = sorted((Path(__file__).resolve().parents[2] / manifest.raw["samples"]).glob("*.jpg"))
    results = [inspector.classify(load_image(f).rgb) for f in samples]
    assert {r.model_label for r in results} == {"benign", "malignant"}
    session = ort.InferenceSession(str(PACK / manifest.model.file), providers=["CPUExecutionProvider"])
    for f, r in zip(samples, results):
        x = to_tensor(fit_to_input(load_image(f).rgb, manifest.input)[0], manifest.input)[None]
        cam = session.run(["cam"], {manifest.input.name: x})[0][0]
        # what the app shows is the graph's cam (the malignant map, tested above), for either verdict
        assert r.heatmap is not None and np.allclose(r.heatmap, cam, atol=1e-5), r.model_label
