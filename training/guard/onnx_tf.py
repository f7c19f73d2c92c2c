"""A pack's ONNX classifier re-run as TensorFlow ops, so gradients can be taken through it.

The guard's attacks need gradients; :mod:`training.guard.keras_pack` rebuilds the Keras model
from the training run folder (``runs/<pack id>``: config + weights). When that folder is gone (a
pack shipped from another machine, a run folder cleaned up), the pack's own ONNX file still holds
the exact network: this module evaluates the part of its graph that makes the ``logits`` output
with TensorFlow ops (the few operators a tf2onnx export of a Lite0 classifier uses: Conv, Clip,
Add, Mul, Sub, Div, Relu, Transpose, GlobalAveragePool, Squeeze, Reshape, MatMul, Gemm; and the
Shape, Gather, Expand, ReverseSequence of a mirror layer), so the
attack is made against the shipped model itself, not a copy of it. :func:`load_onnx_pack` checks
the result against onnxruntime on the caller's images before it is used.

An unsupported operator raises :class:`OnnxGraphError` naming it; nothing is approximated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.guard.keras_pack import KerasPack, KerasPackError, _find_pack


class OnnxGraphError(KerasPackError):
    """The ONNX graph uses an operator this evaluator does not implement."""


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxGraphModel:
    """Callable ``model(x, training=False)``: the pack-normalised NHWC tensor -> the graph's
    ``output`` (the logits), with TensorFlow ops (differentiable)."""

    def __init__(self, onnx_path: Path, output: str) -> None:
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(onnx_path)).graph
        self.input_name = graph.input[0].name
        self.output = output
        self.consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for n in graph.node:
            if n.op_type == "Constant":
                self.consts[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"])
        producer = {o: n for n in graph.node for o in n.output}
        needed, stack = set(), [output]
        while stack:
            name = stack.pop()
            node = producer.get(name)
            if node is not None and id(node) not in needed:
                needed.add(id(node))
                stack.extend(node.input)
        self.nodes = [n for n in graph.node if id(n) in needed and n.op_type != "Constant"]
        unknown = sorted({n.op_type for n in self.nodes} - set(_OPS))
        if unknown:
            raise OnnxGraphError(f"{onnx_path.name}: operators {', '.join(unknown)} are not supported here")

    def __call__(self, x, training: bool = False):
        import tensorflow as tf

        env = {self.input_name: tf.convert_to_tensor(x, tf.float32)}

        def value(name):
            if name == "":
                return None
            if name in env:
                return env[name]
            return self.consts[name]

        for node in self.nodes:
            args = [value(i) for i in node.input]
            env[node.output[0]] = _OPS[node.op_type](args, _attrs(node))
        return env[self.output]


def _conv(args, at):
    import tensorflow as tf

    x, w = args[0], np.asarray(args[1], np.float32)
    b = args[2] if len(args) > 2 else None
    group = int(at.get("group", 1))
    strides = list(at.get("strides", [1, 1]))
    dil = list(at.get("dilations", [1, 1]))
    pads = list(at.get("pads", [0, 0, 0, 0]))
    if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise OnnxGraphError("Conv with auto_pad is not supported here")
    h = tf.transpose(x, [0, 2, 3, 1])  # NCHW -> NHWC: TensorFlow's CPU convolutions are NHWC
    h = tf.pad(h, [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]])
    c_in = w.shape[1] * group
    if group == 1:
        h = tf.nn.conv2d(h, np.transpose(w, (2, 3, 1, 0)), [1, *strides, 1], "VALID", dilations=dil)
    elif group == c_in and w.shape[1] == 1 and w.shape[0] == c_in:
        h = tf.nn.depthwise_conv2d(h, np.transpose(w, (2, 3, 0, 1)), [1, *strides, 1], "VALID", dilations=dil)
    else:
        raise OnnxGraphError(f"Conv with group {group} (neither 1 nor depthwise) is not supported here")
    if b is not None:
        h = h + np.asarray(b, np.float32)
    return tf.transpose(h, [0, 3, 1, 2])


def _clip(args, at):
    import tensorflow as tf

    lo = args[1] if len(args) > 1 and args[1] is not None else at.get("min", -np.inf)
    hi = args[2] if len(args) > 2 and args[2] is not None else at.get("max", np.inf)
    return tf.clip_by_value(args[0], np.float32(lo), np.float32(hi))


def _squeeze(args, at):
    import tensorflow as tf

    axes = args[1] if len(args) > 1 and args[1] is not None else at.get("axes")
    return tf.squeeze(args[0], axis=None if axes is None else [int(a) for a in np.asarray(axes).ravel()])


def _gemm(args, at):
    import tensorflow as tf

    a, b = args[0], args[1]
    if at.get("transA", 0):
        a = tf.transpose(a)
    if at.get("transB", 0):
        b = np.transpose(b)
    y = tf.matmul(a, b) * np.float32(at.get("alpha", 1.0))
    if len(args) > 2 and args[2] is not None:
        y = y + np.float32(at.get("beta", 1.0)) * np.asarray(args[2], np.float32)
    return y


def _gather(args, at):
    import tensorflow as tf

    idx = args[1]
    return tf.gather(args[0], idx if not isinstance(idx, np.ndarray) else idx.astype(np.int64), axis=int(at.get("axis", 0)))


def _expand(args, at):
    import tensorflow as tf

    # ONNX Expand broadcasts both ways (the result has the larger of each dimension).
    x = tf.convert_to_tensor(args[0])
    shape = tf.cast(tf.convert_to_tensor(args[1]), tf.int64)
    return tf.broadcast_to(x, tf.broadcast_dynamic_shape(tf.shape(x, out_type=tf.int64), shape))


def _reverse_sequence(args, at):
    import tensorflow as tf

    return tf.reverse_sequence(args[0], tf.cast(args[1], tf.int64), seq_axis=int(at.get("time_axis", 0)),
                               batch_axis=int(at.get("batch_axis", 1)))


def _tf(name):
    import tensorflow as tf

    return getattr(tf, name)


_OPS = {
    "Conv": _conv,
    "Clip": _clip,
    "Add": lambda a, at: a[0] + a[1] if not isinstance(a[0], np.ndarray) else a[1] + a[0],
    "Sub": lambda a, at: _tf("subtract")(a[0], a[1]),
    "Mul": lambda a, at: a[0] * a[1] if not isinstance(a[0], np.ndarray) else a[1] * a[0],
    "Div": lambda a, at: _tf("divide")(a[0], a[1]),
    "Relu": lambda a, at: _tf("nn").relu(a[0]),
    "Transpose": lambda a, at: _tf("transpose")(a[0], list(at["perm"])),
    "GlobalAveragePool": lambda a, at: _tf("reduce_mean")(a[0], axis=[2, 3], keepdims=True),
    "Squeeze": _squeeze,
    "Reshape": lambda a, at: _tf("reshape")(a[0], [int(v) for v in np.asarray(a[1]).ravel()]),
    "MatMul": lambda a, at: _tf("matmul")(a[0], a[1]),
    "Gemm": _gemm,
    # A Keras mirror layer (tf.reverse) exported by tf2onnx: Shape, Gather, Expand, ReverseSequence.
    "Shape": lambda a, at: _tf("shape")(a[0], out_type=_tf("int64")),
    "Gather": _gather,
    "Expand": _expand,
    "ReverseSequence": _reverse_sequence,
}


def load_onnx_pack(pack_id: str, models_dir: Path | None = None, output_role: str = "logits") -> KerasPack:
    """The pack's classifier as a :class:`KerasPack` whose model is its ONNX graph up to the
    ``output_role`` output (the logits), evaluated with TensorFlow ops. NHWC packs only."""
    pack = _find_pack(pack_id, models_dir)
    manifest = pack.require_usable()
    if manifest.task != "classify":
        raise KerasPackError(f"Pack '{manifest.id}' is not a classifier with logits: attacks on it are not supported.")
    if manifest.input.layout != "NHWC":
        raise KerasPackError(f"pack '{manifest.id}': only NHWC inputs are supported here")
    output = manifest.outputs.get(output_role)
    if not output:
        raise KerasPackError(f"pack '{manifest.id}' names no '{output_role}' output")
    model = OnnxGraphModel(pack.folder / manifest.model.file, output)
    return KerasPack(manifest=manifest, model=model, spec=manifest.input,
                     source=f"the pack's ONNX graph ({manifest.model.file}) evaluated with TensorFlow ops",
                     folder=pack.folder)


def parity(kp: KerasPack, x01: np.ndarray) -> float:
    """Largest absolute difference between this evaluator's logits and onnxruntime's (the logits,
    not the probabilities: a recalibrated pack's probabilities carry its temperature)."""
    import onnxruntime as ort

    from inference.preprocess import to_tensor
    from training.guard.keras_pack import to_uint8

    u8 = to_uint8(x01)
    if not len(u8):
        return 0.0
    session = ort.InferenceSession(str(kp.folder / kp.manifest.model.file), providers=["CPUExecutionProvider"])
    output = kp.model.output
    ref = np.concatenate([session.run([output], {kp.spec.name: np.stack([to_tensor(i, kp.spec) for i in u8[s:s + 16]])})[0]
                          for s in range(0, len(u8), 16)])
    return float(np.max(np.abs(kp.logits(u8.astype(np.float32) / 255.0) - ref)))
