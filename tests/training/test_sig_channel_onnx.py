"""The study's LBP channel as ONNX ops equals the numpy study features (parity), and spliced into a
pack's graph it gives the fused embedding the study scored, with the embedding's norm kept."""

from __future__ import annotations

import numpy as np
import pytest

from training.signatures.handcrafted import lbp_histograms
from training.signatures.v3_train import prep
from training.signatures.cnn import transform
from training.signatures.v32_channel import CHANNELS

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from training.signatures.v32_channel_onnx import add_channel, lbp_model  # noqa: E402

H, W = 192, 384


def canvases(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = np.full((4, H, W), 255, np.uint8)
    c[0, 30:40, 100:300] = 0                       # a bar
    c[1, 40:150, 180:190] = 0
    yy, xx = np.mgrid[:H, :W]
    c[2][(np.hypot(yy - 96, xx - 192) // 6) % 3 == 0] = 0   # rings: every orientation
    c[3] = np.where(rng.random((H, W)) < 0.3, 0, 255)        # speckle: many patterns, non-uniform ones too
    return c


def as_input(c: np.ndarray) -> np.ndarray:
    """What the app feeds the pack (manifest input: scale 1/255, mean 0.5, std 0.5, RGB)."""
    x = (c.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.repeat(x[..., None], 3, axis=3)


def test_onnx_channel_equals_the_numpy_study_features():
    c = canvases()
    feats = lbp_histograms(c, ((1, 1), (2, 4)))
    h = prep(feats, CHANNELS["lbp"])
    rng = np.random.default_rng(1)
    mean = rng.normal(0, 0.01, h.shape[1])
    matrix = rng.normal(0, 1, (h.shape[1], 16))
    want = transform(h, mean, matrix, 1.0)
    sess = ort.InferenceSession(lbp_model((H, W), mean, matrix).SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["z"], {"input": as_input(c)})[0]
    assert got.shape == want.shape
    assert np.allclose(got, want, atol=2e-4 * np.abs(want).max())


def tiny_pack_model(dims: int = 8):
    """A stand-in for the pack's graph: input → mean over the canvas per channel → MatMul → embedding."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(2).normal(size=(3, dims)).astype(np.float32), "w")
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2], keepdims=0),
             helper.make_node("MatMul", ["m", "w"], ["embedding"]),
             helper.make_node("Identity", ["m"], ["probs"])]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["b", H, W, 3])],
                          [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["b", dims]),
                           helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["b", 3])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("weight", [0.5, 0.75])
def test_spliced_embedding_is_the_studied_fusion_and_keeps_the_norm(weight):
    c = canvases(3)
    x = as_input(c)
    base = tiny_pack_model()
    e = ort.InferenceSession(base.SerializeToString(), providers=["CPUExecutionProvider"]).run(["embedding"], {"input": x})[0]
    h = prep(lbp_histograms(c, ((1, 1), (2, 4))), CHANNELS["lbp"])
    rng = np.random.default_rng(4)
    mean, matrix = rng.normal(0, 0.01, h.shape[1]), rng.normal(0, 1, (h.shape[1], 5))
    z = transform(h, mean, matrix, 1.0)
    fused = add_channel(tiny_pack_model(), mean, matrix, weight, (H, W))
    onnx.checker.check_model(fused)
    sess = ort.InferenceSession(fused.SerializeToString(), providers=["CPUExecutionProvider"])
    got, probs = sess.run(["embedding", "probs"], {"input": x})
    assert got.shape == (len(c), 8 + 5)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    want = np.concatenate([np.sqrt(weight) * unit(e), np.sqrt(1 - weight) * unit(z)], axis=1)
    assert np.allclose(unit(got), want, atol=1e-4)
    # the cosine of two fused embeddings is the weighted sum of the two channels' cosines
    assert np.allclose(unit(got) @ unit(got).T, weight * unit(e) @ unit(e).T + (1 - weight) * unit(z) @ unit(z).T,
                       atol=1e-4)
    assert np.allclose(np.sum(got ** 2, axis=1), np.sum(e ** 2, axis=1), rtol=1e-4)   # the domain check's norm
    assert probs.shape == (len(c), 3)                                                   # other outputs untouched
