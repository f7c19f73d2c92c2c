"""The pack's ONNX graph evaluated with TensorFlow ops (training.guard.onnx_tf): the same logits as
onnxruntime on a small graph with every operator a Lite0 export uses, gradients that exist, and a
clear refusal of an operator it does not implement."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _graph(path, extra_op: str | None = None):
    rng = np.random.default_rng(0)
    init = {
        "w1": rng.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32), "b1": rng.normal(0, 0.1, 6).astype(np.float32),
        "wd": rng.normal(0, 0.3, (6, 1, 3, 3)).astype(np.float32),
        "scale": rng.normal(1, 0.1, (1, 6, 1, 1)).astype(np.float32),
        "shift": rng.normal(0, 0.1, (1, 6, 1, 1)).astype(np.float32),
        "lo": np.array(0, np.float32), "hi": np.array(6, np.float32),
        "axes": np.array([2, 3], np.int64), "fc": rng.normal(0, 0.5, (6, 2)).astype(np.float32),
        "fb": rng.normal(0, 0.1, 2).astype(np.float32),
    }
    nodes = [
        helper.make_node("Transpose", ["input"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w1", "b1"], ["c1"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
                         dilations=[1, 1], group=1),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd"], ["d1"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], group=6),
        helper.make_node("Mul", ["d1", "scale"], ["m1"]),
        helper.make_node("Add", ["m1", "shift"], ["a1"]),
        helper.make_node("Add", ["a1", "r1"], ["a2"]),
        helper.make_node("GlobalAveragePool", ["a2"], ["g"]),
        helper.make_node("Squeeze", ["g", "axes"], ["emb"]),
        helper.make_node("MatMul", ["emb", "fc"], ["mm"]),
        helper.make_node("Add", ["mm", "fb"], ["logits"]),
    ]
    if extra_op:
        nodes[-1] = helper.make_node("Add", ["mm", "fb"], ["pre"])
        nodes.append(helper.make_node(extra_op, ["pre"], ["logits"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 16, 16, 3])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 2])],
                              [numpy_helper.from_array(v, k) for k, v in init.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what the installed onnxruntime reads (the packs are IR 8 too)
    onnx.save(model, str(path))


def test_logits_match_onnxruntime_and_have_gradients(tmp_path):
    import tensorflow as tf

    from training.guard.onnx_tf import OnnxGraphModel

    _graph(tmp_path / "m.onnx")
    x = np.random.default_rng(1).normal(0, 1, (4, 16, 16, 3)).astype(np.float32)
    ref = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x})[0]
    model = OnnxGraphModel(tmp_path / "m.onnx", "logits")
    assert np.abs(np.asarray(model(x)) - ref).max() < 1e-5
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(model(xt)[:, 0])
    g = tape.gradient(y, xt).numpy()
    assert g.shape == x.shape and np.abs(g).sum() > 0


def test_an_unsupported_operator_is_named(tmp_path):
    from training.guard.onnx_tf import OnnxGraphError, OnnxGraphModel

    _graph(tmp_path / "m.onnx", extra_op="Sigmoid")
    with pytest.raises(OnnxGraphError, match="Sigmoid"):
        OnnxGraphModel(tmp_path / "m.onnx", "logits")


def test_a_mirror_layer_as_tf2onnx_writes_it(tmp_path):
    """tf.reverse along the width, as tf2onnx lowers it (Shape, Gather, Expand, ReverseSequence):
    the same values as onnxruntime (a mirrored copy averaged with the input), and a gradient."""
    import tensorflow as tf

    from training.guard.onnx_tf import OnnxGraphModel

    init = {"i_b": np.array(0, np.int64), "i_b1": np.array([0], np.int64)}
    nodes = [
        helper.make_node("Transpose", ["input"], ["t"], perm=[2, 0, 1, 3]),  # width first: (W, N, H, C)
        helper.make_node("Shape", ["t"], ["st"]),
        helper.make_node("Gather", ["st", "i_b"], ["w"]),  # W (time axis 0)
        helper.make_node("Shape", ["input"], ["si"]),
        helper.make_node("Gather", ["si", "i_b1"], ["n"]),  # [N] (batch axis 1), 1-D for Expand
        helper.make_node("Expand", ["w", "n"], ["lens"]),  # one length per batch row
        helper.make_node("ReverseSequence", ["t", "lens"], ["rt"], batch_axis=1, time_axis=0),
        helper.make_node("Transpose", ["rt"], ["mirrored"], perm=[1, 2, 0, 3]),
        helper.make_node("Add", ["input", "mirrored"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4, 5, 3])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 4, 5, 3])],
                              [numpy_helper.from_array(v, k) for k, v in init.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    x = np.random.default_rng(2).normal(0, 1, (3, 4, 5, 3)).astype(np.float32)
    ref = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x})[0]
    assert np.allclose(ref, x + x[:, :, ::-1]), "the graph is not a mirror: this test checks nothing"
    m = OnnxGraphModel(tmp_path / "m.onnx", "logits")
    assert np.abs(np.asarray(m(x)) - ref).max() < 1e-6
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(m(xt)[:, :, 0])
    assert np.abs(tape.gradient(y, xt).numpy()).sum() > 0
