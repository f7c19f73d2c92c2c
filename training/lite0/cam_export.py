"""Turn a GAP -> Dense classifier into an ONNX model with an exact class-activation map.

For a head ``logits = W^T GAP(A) + b`` the class-activation map of class ``c`` is
``relu(sum_k W[k, c] A[..., k])``; with a GAP -> Dense head it equals Grad-CAM, so the app needs
no gradients. :func:`build_cam_model` computes it inside the graph for the predicted (argmax)
class (or one fixed class, e.g. a pack's alarming class), bilinearly resized to the input size and scaled to [0, 1] per image, next to the
probabilities, the logits (for energy OOD scores) and the GAP embedding.

:func:`export_onnx` converts that model with tf2onnx (opset 17, input ``"input"``, NHWC float32,
dynamic batch) and :func:`check_parity` compares Keras with onnxruntime on real images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OUTPUT_NAMES = ("probs", "logits", "cam", "embedding")
CAM_EPSILON = 1e-8
PARITY_TOLERANCE = 1e-4


class CamExportError(ValueError):
    """The model does not end in the GAP -> Dense head an exact CAM needs."""


def find_gap_dense(model):
    """Return ``(gap_layer, dense_layer)``: the last GlobalAveragePooling2D and the Dense fed by it.

    Only Dropout layers may sit between them (inference no-ops); anything else would make the CAM
    approximate, so it is refused.
    """
    from keras import layers

    gaps = [l for l in model.layers if isinstance(l, layers.GlobalAveragePooling2D)]
    denses = [l for l in model.layers if isinstance(l, layers.Dense)]
    if not gaps or not denses:
        raise CamExportError("the model has no GlobalAveragePooling2D -> Dense head")
    gap, dense = gaps[-1], denses[-1]
    if getattr(gap, "keepdims", False):
        raise CamExportError(f"{gap.name} uses keepdims=True; the head must see a flat vector")
    # Walk back from the Dense input through Dropout layers; it must reach the GAP layer.
    op = dense.input._keras_history.operation
    while isinstance(op, layers.Dropout):
        op = op.input._keras_history.operation
    if op is not gap:
        raise CamExportError(f"{dense.name} is not fed by {gap.name} (only Dropout may sit between)")
    activation = getattr(dense.activation, "__name__", str(dense.activation))
    if activation not in ("softmax", "linear"):
        raise CamExportError(f"{dense.name} has activation {activation!r}; use softmax or linear")
    return gap, dense


def _cam_head_class():
    import keras
    import tensorflow as tf
    from keras import ops

    class CamHead(keras.layers.Layer):
        """Feature map -> probs, logits, cam, embedding, using the Dense layer's own weights."""

        def __init__(self, dense, output_size, cam_class=None, **kwargs):
            super().__init__(**kwargs)
            # Holding the Dense layer (not a copy of its kernel) keeps one copy of the weights.
            self.dense = dense
            self.output_size = tuple(int(v) for v in output_size)
            self.cam_class = None if cam_class is None else int(cam_class)

        def call(self, feature_map):
            embedding = ops.mean(feature_map, axis=(1, 2))
            logits = ops.matmul(embedding, self.dense.kernel)
            if self.dense.use_bias:
                logits = logits + self.dense.bias
            probs = ops.softmax(logits, axis=-1)
            # tf.argmax, not keras.ops.argmax: Keras' TF backend adds a Bitcast (to order -0.0
            # before 0.0) that has no ONNX equivalent.
            predicted = tf.math.argmax(logits, axis=-1)
            if self.cam_class is not None:
                predicted = tf.fill(tf.shape(predicted), tf.constant(self.cam_class, predicted.dtype))
            # Kernel column of each sample's predicted class, (N, K). Gathering before transposing
            # matters: transpose(kernel) would be constant-folded into a second copy of the kernel.
            weights = ops.transpose(ops.take(self.dense.kernel, predicted, axis=1))
            cam = ops.relu(ops.einsum("bhwk,bk->bhw", feature_map, weights))
            cam = ops.image.resize(cam[..., None], self.output_size, interpolation="bilinear",
                                   antialias=False)[..., 0]
            cam = cam / (ops.max(cam, axis=(1, 2), keepdims=True) + CAM_EPSILON)
            return {"probs": probs, "logits": logits, "cam": cam, "embedding": embedding}

    return CamHead


def _mirror_layer_class():
    import keras
    import tensorflow as tf

    class Mirror(keras.layers.Layer):
        """Left-right mirror of an NHWC tensor (a layer, so the functional graph keeps it dense)."""

        def call(self, x):
            return tf.reverse(x, axis=[2])

    return Mirror


# Test-time views a pack can average inside its graph: the axes (of NHWC) each one flips. Every
# view is its own inverse, so the view's feature map flipped the same way lines up with the photo's.
TTA_VIEWS: dict[str, tuple[int, ...]] = {"hflip": (2,), "vflip": (1,), "rot180": (1, 2)}


def _flip_layer_class():
    import keras
    import tensorflow as tf

    class Flip(keras.layers.Layer):
        """Flip an NHWC tensor along ``axes`` (1: up-down, 2: left-right; both: a half turn)."""

        def __init__(self, axes, **kwargs):
            super().__init__(**kwargs)
            self.axes = [int(a) for a in axes]

        def call(self, x):
            return tf.reverse(x, axis=self.axes)

        def get_config(self):
            return {**super().get_config(), "axes": self.axes}

    return Flip


def check_tta_views(views) -> tuple[str, ...]:
    """``views`` as a tuple of known view names (each once), or :class:`CamExportError`."""
    views = tuple(views or ())
    unknown = [v for v in views if v not in TTA_VIEWS]
    if unknown:
        raise CamExportError(f"unknown test-time view(s) {unknown}: known are {', '.join(TTA_VIEWS)}")
    if len(set(views)) != len(views):
        raise CamExportError(f"test-time views repeat: {list(views)}")
    return views


def tta_averaged_map(model, feature_map, views):
    """The mean of ``feature_map`` (the map the head pools, a tensor of ``model``'s graph) and the
    maps of the flipped inputs (``views``, names of :data:`TTA_VIEWS`), each flipped back: one
    graph, the backbone run once per view plus once for the photo.

    The head is linear in the map, so the head on this mean gives exactly the mean of the views'
    logits, and the CAM drawn from it stays exact for those logits. A flip keeps the shape, so any
    static input size works.
    """
    import keras

    views = check_tta_views(views)
    if views == ("hflip",):
        return mirror_averaged_map(model, feature_map)  # the seal pack's graph, names unchanged
    flip = _flip_layer_class()
    trunk = keras.Model(model.inputs[0], feature_map, name="tta_trunk")
    maps = [feature_map]
    for v in views:
        axes = TTA_VIEWS[v]
        maps.append(flip(axes, name=f"tta_{v}_back")(trunk(flip(axes, name=f"tta_{v}_input")(model.inputs[0]))))
    return keras.layers.Average(name="tta_average")(maps)


def tta_averaged_logits(model, views):
    """``model`` (inputs -> logits) as one that returns the mean of the logits of the input and
    of its flipped views: what a pack exported with those ``views`` answers."""
    import keras

    views = check_tta_views(views)
    if views == ("hflip",):
        return mirror_averaged_logits(model)
    flip = _flip_layer_class()
    x = model.inputs[0]
    outs = [model.outputs[0]] + [model(flip(TTA_VIEWS[v], name=f"tta_{v}_input")(x)) for v in views]
    return keras.Model(x, keras.layers.Average(name="tta_average")(outs), name=f"{model.name}_tta")


def mirror_averaged_map(model, feature_map):
    """The mean of ``feature_map`` (the map the head pools, a tensor of ``model``'s graph) and the
    map of the mirrored input, mirrored back: one graph, the backbone run on both.

    The head is linear in the map, so the head on this mean gives exactly the mean of the logits of
    the photo and of its mirror image, and the CAM drawn from it stays exact for those logits.
    """
    import keras

    flip = _mirror_layer_class()
    trunk = keras.Model(model.inputs[0], feature_map, name="mirror_trunk")
    mirrored = flip(name="mirror_back")(trunk(flip(name="mirror_input")(model.inputs[0])))
    return keras.layers.Average(name="mirror_average")([feature_map, mirrored])


def mirror_averaged_logits(model):
    """``model`` (inputs -> logits) as one that returns the mean of the logits of the input and of
    its mirror image: what a pack exported with ``mirror`` answers (for attacks against it)."""
    import keras

    x = model.inputs[0]
    mirrored = model(_mirror_layer_class()(name="mirror_input")(x))
    return keras.Model(x, keras.layers.Average(name="mirror_average")([model.outputs[0], mirrored]),
                       name=f"{model.name}_mirrored")


def build_cam_model(model, cam_class: int | None = None, mirror: bool = False, tta=()):
    """Wrap a GAP -> Dense classifier into a model with outputs ``probs``, ``logits``, ``cam``
    (N, H, W) in [0, 1] and ``embedding`` (the GAP vector). The input must be (H, W, C) static.
    ``cam_class``: the class whose map ``cam`` shows for every image (default: each image's
    predicted class). ``mirror``: answer for the photo and its mirror image together
    (:func:`mirror_averaged_map`; the backbone runs twice). ``tta``: test-time views averaged the
    same way (:func:`tta_averaged_map`, names of :data:`TTA_VIEWS`); ``mirror`` is ``("hflip",)``."""
    import keras

    gap, dense = find_gap_dense(model)
    height, width = model.inputs[0].shape[1:3]
    if height is None or width is None:
        raise CamExportError("the input needs a static height and width to resize the CAM to")
    views = check_tta_views(tta)
    if mirror and "hflip" not in views:
        views = ("hflip", *views)
    head = _cam_head_class()(dense, (height, width), cam_class, name="cam_head")
    outputs = head(tta_averaged_map(model, gap.input, views) if views else gap.input)
    # A single input passed as a tensor, not a one-item list, so calling the model with an array
    # matches its structure (Keras warns otherwise).
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs, name=f"{model.name}_cam")


def export_onnx(cam_model, path: str | Path, opset: int = 17) -> Path:
    """Convert ``cam_model`` (from :func:`build_cam_model`) to ONNX at ``path``.

    The input is named ``input`` (NHWC float32, batch dimension ``batch``); outputs keep their
    dictionary names. The model is called once first so every layer is built.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = tuple(cam_model.inputs[0].shape[1:])
    cam_model(np.zeros((1, *shape), np.float32), training=False)
    spec = tf.TensorSpec((None, *shape), tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        return cam_model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=opset)
    # tf2onnx names the dynamic batch "unk__N"; a stable name reads better in tools and the app.
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    names = [o.name for o in proto.graph.output]
    if sorted(names) != sorted(OUTPUT_NAMES) or [i.name for i in proto.graph.input] != ["input"]:
        raise CamExportError(f"unexpected ONNX interface: inputs {[i.name for i in proto.graph.input]}, outputs {names}")
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


@dataclass(frozen=True)
class ParityReport:
    """Largest absolute Keras-vs-onnxruntime differences per output, and argmax agreement."""

    n: int
    max_abs: dict
    argmax_agree: float

    def ok(self, tolerance: float = PARITY_TOLERANCE) -> bool:
        return self.max_abs["probs"] <= tolerance and self.argmax_agree == 1.0


def check_parity(cam_model, onnx_path: str | Path, images: np.ndarray,
                 tolerance: float = PARITY_TOLERANCE, raise_on_failure: bool = True) -> ParityReport:
    """Run ``images`` (already normalised, NHWC float32) through Keras and onnxruntime.

    Raises AssertionError when probs differ by more than ``tolerance`` or the argmax differs.
    Use real images on trained (or BN-calibrated) weights: on random weights the features are
    near zero and parity proves nothing.
    """
    import onnxruntime as ort

    images = np.asarray(images, np.float32)
    keras_out = {k: np.asarray(v) for k, v in cam_model(images, training=False).items()}
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    onnx_out = dict(zip(names, session.run(names, {"input": images})))
    max_abs = {k: float(np.max(np.abs(keras_out[k] - onnx_out[k]))) for k in OUTPUT_NAMES}
    agree = float(np.mean(np.argmax(keras_out["probs"], 1) == np.argmax(onnx_out["probs"], 1)))
    report = ParityReport(n=len(images), max_abs=max_abs, argmax_agree=agree)
    if raise_on_failure and not report.ok(tolerance):
        raise AssertionError(f"Keras vs onnxruntime parity failed (tolerance {tolerance}): {report}")
    return report


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
