"""The CNN of the pack: EfficientNet-Lite0 (ImageNet) → a writer-independent signature embedding.

Measured on the development writers (``CARD.md``): the ImageNet network's *top* (7×7, 1280-d GAP)
describes a signature worse than its *middle*; the pooled outputs of the 14×14 stages
(``block4c``, ``block5c``) on a coarse grid keep the layout of the strokes and separate genuine
signatures from skilled forgeries of unseen writers far better. So the embedding is:

    taps (mid-level feature maps) → mean-pooled on an R×C grid each → concatenated
    → signed square root → L2 normalisation → (x − μ) · W

where ``W`` is learned on the development writers (:mod:`training.signatures.metric`: whitening
PCA, then a genuine-vs-skilled-forgery discriminant). The ONNX graph computes all of it and outputs
``embedding``; next to it, ``probs``/``logits``/``cam`` come from a GAP → Dense(2) head on the top
feature map (the study's single-image genuine/forged head; the ``cam`` is that head's exact
class-activation map and the query heatmap).

Training works on cached numbers: :func:`build_feature_model` (``pooled``: the raw grid-pooled taps;
``gap``: the 1280-d top GAP) runs once per canvas through onnxruntime, and :func:`transform` is the
numpy twin of the graph's embedding layer (checked against the exported ONNX).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

INPUT_SIZE = 224
FEATURE_OUTPUTS = ("pooled", "gap")  # outputs of the training-time feature model


@dataclass(frozen=True)
class Tap:
    """One feature map pooled into the embedding: a layer of the backbone and a rows×cols grid."""

    layer: str
    rows: int = 2
    cols: int = 3

    @classmethod
    def from_mapping(cls, d) -> "Tap":
        if isinstance(d, str):
            return cls(d)
        grid = d.get("grid", [2, 3])
        return cls(str(d["layer"]), int(grid[0]), int(grid[1]))


def parse_taps(spec) -> tuple[Tap, ...]:
    return tuple(Tap.from_mapping(t) for t in spec)


def _cells(n: int, parts: int) -> list[tuple[int, int]]:
    """``np.array_split`` boundaries of ``range(n)`` into ``parts`` (start, stop) pairs."""
    idx = np.array_split(np.arange(n), parts)
    return [(int(a[0]), int(a[-1]) + 1) for a in idx]


def grid_pool(fm: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(N, H, W, C) → (N, rows·cols·C): mean of each grid cell, cells row-major, channels inner."""
    h, w = fm.shape[1:3]
    out = [fm[:, y0:y1, x0:x1].astype(np.float32).mean(axis=(1, 2))
           for y0, y1 in _cells(h, rows) for x0, x1 in _cells(w, cols)]
    return np.concatenate(out, axis=1)


def transform(pooled: np.ndarray, mean: np.ndarray, matrix: np.ndarray, power: float = 0.5) -> np.ndarray:
    """The embedding layer in numpy: signed power, L2 normalisation, ``(x − mean) @ matrix``."""
    x = np.asarray(pooled, np.float64)
    if power != 1.0:
        x = np.sign(x) * np.abs(x) ** power
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return (x - mean) @ matrix


def build_backbone(weights: str | None = "imagenet", size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)):
    """Lite0 up to its top feature map at the canvas size ``(height, width)`` (convolutions take any
    size; a signature's canvas is usually wider than tall)."""
    from training.lite0.model import build_lite0_backbone

    return build_lite0_backbone(tuple(size), weights=weights)


def input_size_of(bb) -> tuple[int, int]:
    """(height, width) of a backbone's input."""
    return int(bb.input.shape[1]), int(bb.input.shape[2])


def _pool_layer_class():
    import keras
    from keras import ops

    class GridPool(keras.layers.Layer):
        """Mean of each cell of a rows×cols grid (the boundaries of :func:`grid_pool`), concatenated."""

        def __init__(self, rows: int, cols: int, **kwargs):
            super().__init__(**kwargs)
            self.rows, self.cols = int(rows), int(cols)

        def call(self, fm):
            h, w = int(fm.shape[1]), int(fm.shape[2])
            parts = [ops.mean(fm[:, y0:y1, x0:x1, :], axis=(1, 2))
                     for y0, y1 in _cells(h, self.rows) for x0, x1 in _cells(w, self.cols)]
            return ops.concatenate(parts, axis=-1)

    class Embed(keras.layers.Layer):
        """Signed power → L2 normalisation → (x − mean) @ matrix, with fixed (non-trainable) weights."""

        def __init__(self, mean: np.ndarray, matrix: np.ndarray, power: float, **kwargs):
            super().__init__(**kwargs)
            self.power = float(power)
            self._mean0 = np.asarray(mean, np.float32)
            self._matrix0 = np.asarray(matrix, np.float32)

        def build(self, input_shape):
            self.mean = self.add_weight(shape=self._mean0.shape, initializer="zeros", trainable=False, name="mean")
            self.matrix = self.add_weight(shape=self._matrix0.shape, initializer="zeros", trainable=False,
                                          name="matrix")
            self.mean.assign(self._mean0)
            self.matrix.assign(self._matrix0)

        def call(self, x):
            if self.power != 1.0:
                x = ops.sign(x) * ops.power(ops.abs(x) + 1e-12, self.power)
            x = x / ops.maximum(ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True)), 1e-12)
            return ops.matmul(x - self.mean, self.matrix)

    return GridPool, Embed


def build_feature_model(bb, taps: Sequence[Tap]):
    """input → {"pooled": raw grid-pooled taps, "gap": 1280-d GAP of the top}: what training caches."""
    import keras
    from keras import ops

    GridPool, _ = _pool_layer_class()
    pooled = [GridPool(t.rows, t.cols, name=f"pool_{t.layer}")(bb.get_layer(t.layer).output) for t in taps]
    cat = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pooled")(pooled)
    gap = ops.mean(bb.output, axis=(1, 2))
    return keras.Model(bb.input, {"pooled": cat, "gap": gap}, name="signature_features")


def export_feature_model(bb, taps: Sequence[Tap], path: Path) -> Path:
    import onnx
    import tensorflow as tf
    import tf2onnx

    model = build_feature_model(bb, taps)
    h, w = input_size_of(bb)
    spec = tf.TensorSpec((None, h, w, 3), tf.float32, name="input")
    model(np.zeros((1, h, w, 3), np.float32), training=False)

    @tf.function(input_signature=[spec])
    def serve(x):
        return model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def build_pack_model(bb, taps: Sequence[Tap], mean: np.ndarray, matrix: np.ndarray, power: float,
                     head_kernel: np.ndarray, head_bias: np.ndarray):
    """The shipped model: outputs ``probs``, ``logits``, ``cam`` (GAP → Dense(2) head on the top
    feature map, exact CAM) and ``embedding`` (the pooled mid-level taps through the learned layer)."""
    import keras

    from training.lite0.cam_export import _cam_head_class

    GridPool, Embed = _pool_layer_class()
    trunk = keras.Model(bb.input, [bb.get_layer(t.layer).output for t in taps] + [bb.output], name="trunk")
    h, w = input_size_of(bb)
    x = keras.Input((h, w, 3), name="input")
    maps = trunk(x)
    dense = keras.layers.Dense(2, activation="softmax", name="verdict")
    dense.build((None, int(bb.output.shape[-1])))
    dense.set_weights([np.asarray(head_kernel, np.float32), np.asarray(head_bias, np.float32)])
    head = _cam_head_class()(dense, (h, w), name="cam_head")(maps[-1])
    pooled = [GridPool(t.rows, t.cols, name=f"pool_{t.layer}")(m) for t, m in zip(taps, maps[:-1])]
    cat = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pooled")(pooled)
    emb = Embed(mean, matrix, power, name="embedding")(cat)
    outputs = {"probs": head["probs"], "logits": head["logits"], "cam": head["cam"], "embedding": emb}
    return keras.Model(x, outputs, name="signature_lite0")


def export(model, path: Path, parity_images: np.ndarray) -> dict:
    """ONNX with probs/logits/cam/embedding; Keras vs onnxruntime parity on real canvases."""
    from training.lite0.cam_export import check_parity, export_onnx

    export_onnx(model, path)
    report = check_parity(model, path, parity_images)
    return {"n": report.n, "max_abs": report.max_abs, "argmax_agree": report.argmax_agree}
