"""Tiny real ONNX models and packs for tests, built with the ``onnx`` helper API.

The "colour" model is a real network whose answer is predictable: 1×1 convolutions pick the
colour channels, global average pooling gives channel means, a dense layer turns them into
logits, softmax gives probabilities, and a class-activation map (Grad-CAM for a GAP → Dense head)
is computed in-graph exactly as the training pipeline exports it. So a red image is "red", and
the heatmap lights up where the red is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHANNEL_OF = {"red": 0, "green": 1, "blue": 2}


def build_colour_model(classes: tuple[str, ...] = ("red", "green", "blue"), size: tuple[int, int] = (32, 32),
                       *, layout: str = "NHWC", dynamic_batch: bool = True, with_cam: bool = True,
                       with_logits: bool = True, with_embedding: bool = True, gain: float = 12.0,
                       input_name: str = "input") -> bytes:
    """A serialized ONNX model classifying the dominant colour channel among ``classes``."""
    h, w = size
    batch: Any = "N" if dynamic_batch else 1
    shape = [batch, h, w, 3] if layout == "NHWC" else [batch, 3, h, w]
    nodes = []
    inits = []
    src = input_name
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [input_name], ["x_nchw"], perm=[0, 3, 1, 2]))
        src = "x_nchw"
    # Features: each channel passed through (1x1 conv = identity), ReLU.
    k = 3
    conv_w = np.eye(k, dtype=np.float32).reshape(k, 3, 1, 1)
    inits.append(numpy_helper.from_array(conv_w, "conv_w"))
    nodes.append(helper.make_node("Conv", [src, "conv_w"], ["feat_lin"]))
    nodes.append(helper.make_node("Relu", ["feat_lin"], ["feat"]))
    nodes.append(helper.make_node("GlobalAveragePool", ["feat"], ["gap4"]))
    nodes.append(helper.make_node("Flatten", ["gap4"], ["embedding_raw"], axis=1))
    dense = np.zeros((len(classes), k), dtype=np.float32)
    for i, name in enumerate(classes):
        dense[i, CHANNEL_OF.get(name, i % 3)] = gain
    inits.append(numpy_helper.from_array(dense, "dense_w"))
    inits.append(numpy_helper.from_array(np.zeros(len(classes), np.float32), "dense_b"))
    nodes.append(helper.make_node("Gemm", ["embedding_raw", "dense_w", "dense_b"], ["logits"], transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, len(classes)])]
    if with_logits:
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, len(classes)]))
    if with_embedding:
        nodes.append(helper.make_node("Identity", ["embedding_raw"], ["embedding"]))
        outputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, k]))
    if with_cam:
        # Per-class maps = 1x1 conv of the features with the dense kernel; pick the argmax class.
        inits.append(numpy_helper.from_array(dense.reshape(len(classes), k, 1, 1), "cam_w"))
        nodes.append(helper.make_node("Conv", ["feat", "cam_w"], ["cams"]))
        nodes.append(helper.make_node("ArgMax", ["logits"], ["top"], axis=1, keepdims=1))
        inits.append(numpy_helper.from_array(np.array([-1, 1, 1, 1], np.int64), "idx_shape"))
        nodes.append(helper.make_node("Reshape", ["top", "idx_shape"], ["top4"]))
        nodes.append(helper.make_node("Shape", ["feat"], ["feat_shape"]))
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "zero"))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "one"))
        inits.append(numpy_helper.from_array(np.array([4], np.int64), "four"))
        nodes.append(helper.make_node("Slice", ["feat_shape", "zero", "one"], ["n_dim"]))
        nodes.append(helper.make_node("Slice", ["feat_shape", "one", "four"], ["rest_dims"]))
        nodes.append(helper.make_node("Concat", ["n_dim", "one", "rest_dims"], ["tmp_shape"], axis=0))
        nodes.append(helper.make_node("Slice", ["tmp_shape", "zero", "four"], ["pick_shape"]))
        inits.append(numpy_helper.from_array(np.array([1, 1, h, w], np.int64), "ones_hw"))
        nodes.append(helper.make_node("Expand", ["top4", "ones_hw"], ["top_full"]))
        nodes.append(helper.make_node("GatherElements", ["cams", "top_full"], ["cam_sel"], axis=1))
        nodes.append(helper.make_node("Relu", ["cam_sel"], ["cam_pos"]))
        nodes.append(helper.make_node("ReduceMax", ["cam_pos"], ["cam_max"], axes=[2, 3], keepdims=1))
        inits.append(numpy_helper.from_array(np.array(1e-8, np.float32), "eps"))
        nodes.append(helper.make_node("Add", ["cam_max", "eps"], ["cam_den"]))
        nodes.append(helper.make_node("Div", ["cam_pos", "cam_den"], ["cam4"]))
        nodes.append(helper.make_node("Squeeze", ["cam4", "one"], ["cam"]))
        outputs.append(helper.make_tensor_value_info("cam", TensorProto.FLOAT, [batch, h, w]))
    graph = helper.make_graph(nodes, "colour", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape)],
                              outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tilik-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def colour_manifest(model_bytes: bytes, *, pack_id: str = "colour", classes: tuple[str, ...] = ("red", "green", "blue"),
                    size: tuple[int, int] = (32, 32), layout: str = "NHWC", **overrides: Any) -> dict[str, Any]:
    """A valid manifest for :func:`build_colour_model`; ``overrides`` replace top-level keys."""
    manifest: dict[str, Any] = {
        "schema_version": 1,
        "id": pack_id,
        "name": "Colour test pack",
        "version": "1.0.0",
        "task": "classify",
        "mode": "general",
        "model": {"file": "model.onnx", "sha256": hashlib.sha256(model_bytes).hexdigest()},
        "input": {"name": "input", "size": list(size), "layout": layout, "color": "RGB", "resize": "stretch",
                  "scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        "outputs": {"probs": "probs", "cam": "cam", "logits": "logits", "embedding": "embedding"},
        "classes": [{"name": c, "label": c.capitalize()} for c in classes],
        "decision": {"alarming": [classes[0]], "review_band": [0.4, 0.6], "min_confidence": 0.5, "top_k": 3},
        "ood": None,
        "metrics": {},
        "data": {"source": "synthetic test images", "licence": "test fixture", "split": "none"},
        "intended_use": "tests only",
        "limitations": "a fixture, not a trained model",
    }
    # Pack words in Bahasa Indonesia (issue 20): the app takes them from the manifest.
    colours = {"red": "Merah", "green": "Hijau", "blue": "Biru"}
    manifest["words"] = {"translations": {"id": {
        "name": "Paket uji warna", "classes": {c: colours[c] for c in classes if c in colours}}}}
    manifest.update(overrides)
    return manifest


def write_pack(folder: Path, model_bytes: bytes | None = None, manifest: dict[str, Any] | None = None,
               **manifest_overrides: Any) -> Path:
    """Write a pack folder (model.onnx + manifest.json) and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_bytes = model_bytes if model_bytes is not None else build_colour_model()
    (folder / "model.onnx").write_bytes(model_bytes)
    if manifest is None:
        manifest = colour_manifest(model_bytes, pack_id=folder.name, **manifest_overrides)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def shade(img: np.ndarray) -> np.ndarray:
    """Darken ``img`` smoothly from left (70%) to right (100%), as light falls off in a photo.

    Every channel is scaled by the same factor, so colour ratios (and the colour model's answer)
    stay put, but the image is no longer one flat colour, which the content check would refuse."""
    ramp = np.linspace(0.7, 1.0, img.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(np.rint(img.astype(np.float32) * ramp), 0, 255).astype(np.uint8)


def solid(colour: str, size: tuple[int, int] = (40, 60), value: int = 220) -> np.ndarray:
    """An RGB uint8 image (H, W, 3) of one saturated colour, shaded like a photo (see :func:`shade`)."""
    img = np.zeros((*size, 3), dtype=np.uint8)
    img[:, :, CHANNEL_OF[colour]] = value
    return shade(img)


def build_autoencoder_model(kind: str = "identity", size: tuple[int, int] = (32, 32),
                            output_size: tuple[int, int] | None = None, output_name: str = "reconstruction") -> bytes:
    """A tiny "autoencoder" for guard tests: NHWC RGB in [0, 1] → ``reconstruction``.

    ``identity`` returns its input; ``blur`` a 3×3 box blur (so fine noise is "removed");
    ``swap`` exchanges the red and green channels (so the colour model's verdict flips).
    ``output_size`` makes a deliberately broken model whose output has another size.
    ``output_name="purified"`` makes the same model a guard *purifier*.
    """
    h, w = size
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", h, w, 3])
    oh, ow = output_size or size
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", oh, ow, 3])
    nodes, inits = [], []
    if kind == "identity" and output_size is None:
        nodes.append(helper.make_node("Identity", ["input"], [output_name]))
    else:
        nodes.append(helper.make_node("Transpose", ["input"], ["x"], perm=[0, 3, 1, 2]))
        if kind == "blur":
            nodes.append(helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                          count_include_pad=0))
        elif kind == "swap":
            perm = np.zeros((3, 3, 1, 1), np.float32)
            perm[0, 1] = perm[1, 0] = perm[2, 2] = 1.0
            inits.append(numpy_helper.from_array(perm, "perm"))
            nodes.append(helper.make_node("Conv", ["x", "perm"], ["y"]))
        else:
            nodes.append(helper.make_node("Identity", ["x"], ["y"]))
        src = "y"
        if output_size is not None:
            inits.append(numpy_helper.from_array(np.array([1, 1, oh / h, ow / w], np.float32), "scales"))
            nodes.append(helper.make_node("Resize", ["y", "", "scales"], ["y2"], mode="nearest"))
            src = "y2"
        nodes.append(helper.make_node("Transpose", [src], [output_name], perm=[0, 2, 3, 1]))
    graph = helper.make_graph(nodes, "tiny_autoencoder", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def guard_block(thresholds: dict[str, float] | None = None, *, screen: float | None = None,
                rate: float = 0.05, reformer: dict[str, Any] | None = None) -> dict[str, Any]:
    """A manifest ``guard`` block naming extra file ``guard_autoencoder``."""
    thresholds = thresholds or {"reconstruction": 0.05, "divergence": 0.05, "squeeze": 0.5}
    dets: dict[str, Any] = {}
    for name, thr in thresholds.items():
        dets[name] = {"threshold": thr, "false_alarm_rate": rate}
    if "squeeze" in dets:
        dets["squeeze"]["squeezers"] = [{"kind": "median", "size": 3}]
    if "noise" in dets:
        dets["noise"]["patch"] = 8
    block = {"autoencoder": "guard_autoencoder", "detectors": dets, "reform": True, "false_alarm_rate": rate,
             "screen": None if screen is None else {"threshold": screen, "clean_pass_rate": 0.3}}
    if reformer is not None:
        block["reformer"] = reformer
    return block


def write_guarded_pack(folder: Path, kind: str = "identity", thresholds: dict[str, float] | None = None,
                       *, screen: float | None = None, ae_bytes: bytes | None = None,
                       reformer: dict[str, Any] | None = None, purifier_bytes: bytes | None = None) -> Path:
    """A colour pack with an input guard (the tiny autoencoder of ``kind``); with
    ``purifier_bytes``, also a purifier (``guard_purifier.onnx``) that is the reformer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_bytes = build_colour_model()
    ae_bytes = ae_bytes if ae_bytes is not None else build_autoencoder_model(kind)
    (folder / "guard_ae.onnx").write_bytes(ae_bytes)
    manifest = colour_manifest(model_bytes, pack_id=folder.name)
    manifest["extra_files"] = {"guard_autoencoder": {"file": "guard_ae.onnx",
                                                     "sha256": hashlib.sha256(ae_bytes).hexdigest()}}
    if purifier_bytes is not None:
        (folder / "guard_purifier.onnx").write_bytes(purifier_bytes)
        manifest["extra_files"]["guard_purifier"] = {"file": "guard_purifier.onnx",
                                                     "sha256": hashlib.sha256(purifier_bytes).hexdigest()}
        reformer = reformer or {"kind": "purifier", "model": "guard_purifier"}
    manifest["guard"] = guard_block(thresholds, screen=screen, reformer=reformer)
    return write_pack(folder, model_bytes, manifest)
