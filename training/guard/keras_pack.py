"""A pack's own Keras model, rebuilt so that gradients can be taken through it.

The ONNX file of a pack has no gradients; attacks (and anything else that needs them) run on the
Keras model the ONNX file was exported from:

- ``imagenet-lite0`` (built by ``python -m training imagenet-lite0``): EfficientNet-Lite0 from the
  installed ImageNet weights; its ``predictions`` layer is a softmax Dense, so the model used here
  ends in a linear copy of that Dense (same kernel and bias): the output is the logits.
- packs trained by the pipeline (``python -m training train``): rebuilt from the run folder
  (``runs/<pack id>/`` unless told otherwise: ``config.yaml`` + ``weights.npz``) exactly as
  :func:`training.pipeline.export.export_run` does; the ``head`` Dense there is already linear.
- ``verify`` packs (signature verification: an embedding and an SVM) are not classifiers with
  logits and are refused.

:class:`KerasPack` also carries the pack's preprocessing as a TensorFlow op
(:meth:`KerasPack.to_model_input`): [0, 1] RGB at the input size -> the normalised tensor the model
takes, ``(x * 255 * scale - mean) / std`` in the manifest's colour order. Images at the input size
are made with the app's own decoding and fitting (:func:`fitted01`), so whatever the attack
changes is exactly what the app's ONNX model receives once the image is at the input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from inference.manifest import InputSpec, Manifest

REPO_ROOT = Path(__file__).resolve().parents[2]

# ITU-R 601 luma, the weights Pillow's convert("L") uses (Pillow then rounds to an integer).
_GRAY_WEIGHTS = (0.299, 0.587, 0.114)


class KerasPackError(RuntimeError):
    """The pack's Keras model cannot be rebuilt (unknown kind, no kept weights, mismatched run)."""


class KerasWeightsNotKeptError(KerasPackError):
    """The run folder holding the pack's Keras weights is missing or incomplete."""


@dataclass
class KerasPack:
    """A pack's manifest, its Keras model (normalised NHWC float32 -> logits) and its input spec."""

    manifest: Manifest
    model: Any  # keras.Model: pack-normalised NHWC float32 tensor -> logits (N, n_classes)
    spec: InputSpec
    source: str = ""  # where the weights came from, in words
    folder: Path | None = None  # the pack folder (for the ONNX file)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.manifest.class_names

    @property
    def n_classes(self) -> int:
        return len(self.manifest.classes)

    def to_model_input(self, x01):
        """TF op: [0, 1] RGB NHWC at the input size -> the model's normalised tensor.

        Same arithmetic as :func:`inference.preprocess.to_tensor` on ``round(x01 * 255)``: colour
        order (RGB; BGR reverses the channels; GRAY is the 601 luma, which Pillow additionally
        rounds to an integer, a difference of at most 0.5/255), then ``* scale - mean) / std``.
        The Keras model is NHWC whatever ``spec.layout`` says (the layout is the ONNX file's).
        """
        import tensorflow as tf

        spec = self.spec
        x = tf.convert_to_tensor(x01, tf.float32) * 255.0
        if spec.color == "BGR":
            x = x[..., ::-1]
        elif spec.color == "GRAY":
            x = tf.reduce_sum(x * tf.constant(_GRAY_WEIGHTS, tf.float32), axis=-1, keepdims=True)
        elif spec.color != "RGB":
            raise KerasPackError(f"pack '{self.manifest.id}': colour order {spec.color!r} is not supported")
        mean = tf.constant(np.asarray(spec.mean, np.float32))
        std = tf.constant(np.asarray(spec.std, np.float32))
        return (x * np.float32(spec.scale) - mean) / std

    def _logits_fn(self):
        fn = self._cache.get("logits")
        if fn is None:
            import tensorflow as tf

            model = self.model

            @tf.function(reduce_retracing=True)
            def fn(x01):
                return model(self.to_model_input(x01), training=False)

            self._cache["logits"] = fn
        return fn

    def logits(self, x01: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Logits (N, n_classes) of [0, 1] RGB images at the input size (N, H, W, 3)."""
        x01 = np.asarray(x01, np.float32)
        if x01.ndim == 3:
            x01 = x01[None]
        fn = self._logits_fn()
        outs = [np.asarray(fn(x01[i:i + batch_size])) for i in range(0, len(x01), batch_size)]
        if not outs:
            return np.zeros((0, self.n_classes), np.float32)
        return np.concatenate(outs).astype(np.float32)

    def probs(self, x01: np.ndarray, batch_size: int = 32) -> np.ndarray:
        return softmax(self.logits(x01, batch_size))

    # -- the ONNX side, for checking that both models agree -------------------------------------
    def onnx_probs(self, x01: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Probabilities of the pack's ONNX file on ``quantize01(x01)`` through the app's
        :func:`inference.preprocess.to_tensor` (what the app computes for an image already at the
        input size)."""
        import onnxruntime as ort

        from inference.preprocess import to_tensor

        if self.folder is None:
            raise KerasPackError("this KerasPack has no pack folder, so no ONNX file")
        session = self._cache.get("onnx")
        if session is None:
            session = ort.InferenceSession(str(self.folder / self.manifest.model.file),
                                           providers=["CPUExecutionProvider"])
            self._cache["onnx"] = session
        u8 = to_uint8(x01)
        if u8.ndim == 3:
            u8 = u8[None]
        name = self.manifest.outputs["probs"]
        outs = []
        for i in range(0, len(u8), batch_size):
            batch = np.stack([to_tensor(img, self.spec) for img in u8[i:i + batch_size]])
            outs.append(session.run([name], {self.spec.name: batch})[0])
        if not outs:
            return np.zeros((0, self.n_classes), np.float32)
        return np.concatenate(outs).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def to_uint8(x01: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8, rounded to nearest (what a PNG of the image stores)."""
    return np.clip(np.rint(np.asarray(x01, np.float32) * 255.0), 0, 255).astype(np.uint8)


def fitted01(paths: Sequence, spec: InputSpec) -> np.ndarray:
    """Decode images (paths, bytes or arrays) and fit them to the input size with the app's code
    (:func:`inference.imageio.load_image`, :func:`inference.preprocess.fit_to_input`): float32
    [0, 1] RGB, shape (N, H, W, 3). Raises :class:`inference.errors.ImageReadError` on a bad file."""
    from inference.imageio import load_image
    from inference.preprocess import fit_to_input

    out = np.empty((len(paths), spec.height, spec.width, 3), np.float32)
    for i, p in enumerate(paths):
        out[i] = fit_to_input(load_image(p).rgb, spec)[0].astype(np.float32) / 255.0
    return out


# ------------------------------------------------------------------------------------------------
# loading


def _find_pack(pack_id: str, models_dir: Path | None):
    from inference.registry import PackRegistry

    registry = PackRegistry([(Path(models_dir), "bundled")]) if models_dir is not None else PackRegistry()
    return registry.get(pack_id)  # raises PackNotFoundError / PackUnusableError


def _is_imagenet_lite0(manifest: Manifest) -> bool:
    built_by = str((manifest.raw.get("training") or {}).get("built_by", ""))
    return built_by.startswith("python -m training imagenet-lite0") or (
        manifest.id == "imagenet-lite0" and not built_by)


def _imagenet_lite0_logits_model(size: int):
    """EfficientNet-Lite0 with ImageNet weights, ending in the logits (the softmax removed)."""
    import keras

    from training.lite0.model import build_lite0

    full = build_lite0(size, include_top=True, weights="imagenet")
    pred = full.get_layer("predictions")
    activation = getattr(pred.activation, "__name__", str(pred.activation))
    if activation == "linear":
        return full
    # A linear copy of the softmax Dense on the pooled features (Dropout is a no-op at inference).
    pooled = full.get_layer("avg_pool").output
    dense = keras.layers.Dense(pred.units, activation=None, name="logits")
    logits = dense(pooled)
    dense.set_weights(pred.get_weights())
    return keras.Model(full.input, logits, name="efficientnet_lite0_logits")


def _how_to_train(manifest: Manifest, run_dir: Path) -> str:
    built_by = str((manifest.raw.get("training") or {}).get("built_by", ""))
    config = None
    parts = built_by.split()
    if "train" in parts and parts.index("train") + 1 < len(parts):
        config = parts[parts.index("train") + 1]
    config = config or "CONFIG"
    return (f"train it again with `python -m training train {config} --out {run_dir}` "
            "(then `python -m training export` it, so the pack and the weights match), "
            "or pass --run-dir with the run folder it was exported from")


def _pipeline_model(manifest: Manifest, run_dir: Path):
    from training.pipeline.backbones import backbone_from_config, build_classifier
    from training.pipeline.export import load_run_config
    from training.pipeline.features import input_block
    from training.pipeline.train_cmd import load_weights

    missing = [f for f in ("config.yaml", "weights.npz") if not (run_dir / f).is_file()]
    if missing:
        what = "does not exist" if not run_dir.is_dir() else f"has no {' or '.join(missing)}"
        raise KerasWeightsNotKeptError(
            f"Pack '{manifest.id}' has no kept Keras weights: its run folder {run_dir} {what}. "
            f"Attacks need the Keras model the ONNX file was exported from; {_how_to_train(manifest, run_dir)}.")
    cfg = load_run_config(run_dir)
    if cfg["id"] != manifest.id:
        raise KerasPackError(f"{run_dir} is a run of pack '{cfg['id']}', not '{manifest.id}'")
    names = [c["name"] for c in cfg["classes"]]
    if tuple(names) != manifest.class_names:
        raise KerasPackError(f"{run_dir} has classes {names}, the pack {list(manifest.class_names)}")
    backbone = backbone_from_config(cfg)
    block = input_block(cfg, backbone)
    spec = manifest.input
    if (tuple(block["size"]) != (spec.height, spec.width) or block["color"] != spec.color
            or not np.allclose(block["mean"], spec.mean) or not np.allclose(block["std"], spec.std)
            or not np.isclose(block["scale"], spec.scale)):
        raise KerasPackError(f"{run_dir} was trained with input {block}, which is not the pack's input block")
    size = int(cfg["input"]["size"])
    model, _ = build_classifier(backbone, size, len(names), float(cfg["schedule"]["head"]["dropout"]), weights=None)
    load_weights(model, run_dir / "weights.npz")
    head = model.get_layer("head")
    activation = getattr(head.activation, "__name__", str(head.activation))
    if activation != "linear":
        raise KerasPackError(f"the rebuilt model's head has activation {activation!r}, expected logits")
    if (manifest.raw.get("training") or {}).get("mirror_average"):
        from training.lite0.cam_export import mirror_averaged_logits

        return mirror_averaged_logits(model)  # the model the ONNX file is: attacks must see the same
    return model


def load_keras_pack(pack_id: str, run_dir: Path | None = None, models_dir: Path | None = None) -> KerasPack:
    """The Keras model (logits) of pack ``pack_id``, found in ``models_dir`` (default: the app's
    bundled and user pack folders) and checked like the app checks it (schema, SHA-256).

    ``run_dir`` (pipeline packs only): the training run folder, default ``REPO/runs/<pack id>``.
    Raises :class:`KerasWeightsNotKeptError` when it is missing, :class:`KerasPackError` for packs
    that are not classifiers or whose run does not match, and the registry's
    :class:`inference.errors.PackError` subclasses for an unknown or unusable pack.
    """
    pack = _find_pack(pack_id, models_dir)
    manifest = pack.require_usable()
    spec = manifest.input
    if manifest.task != "classify":
        raise KerasPackError(
            f"Pack '{manifest.id}' is a {manifest.task} pack (an embedding compared against references), "
            "not a classifier with logits: attacks on it are not supported.")
    if spec.height != spec.width:
        raise KerasPackError(f"pack '{manifest.id}': non-square inputs ({spec.height}x{spec.width}) are not supported")
    if _is_imagenet_lite0(manifest):
        if run_dir is not None:
            raise KerasPackError(f"pack '{manifest.id}' is built from the ImageNet weights; it has no run folder")
        model = _imagenet_lite0_logits_model(spec.height)
        source = "EfficientNet-Lite0 ImageNet weights (training.lite0), softmax removed"
    else:
        run_dir = Path(run_dir) if run_dir is not None else REPO_ROOT / "runs" / manifest.id
        model = _pipeline_model(manifest, run_dir)
        source = f"run folder {run_dir}"
    n_out = int(model.outputs[0].shape[-1])
    if n_out != len(manifest.classes):
        raise KerasPackError(f"the Keras model has {n_out} outputs, the pack {len(manifest.classes)} classes")
    return KerasPack(manifest=manifest, model=model, spec=spec, source=source, folder=pack.folder)
