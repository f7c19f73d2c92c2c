"""The CNN of the pack: EfficientNet-Lite0 (ImageNet) with a genuine/forged head, fine-tuned.

Fine-tuning is done on cached features: the frozen *trunk* (input → the block below the top
``n_blocks`` MBConv blocks) runs once per image through onnxruntime; only the *top* (those blocks,
``top_conv`` and the heads) is trained, on the training writers only, with two heads on the pooled
1280-d embedding (SigNet-F style):

- ``writer``: which training writer wrote this genuine signature (softmax over the training
  writers; forgeries carry no writer loss) — makes the embedding describe a hand;
- ``verdict``: genuine or skilled forgery (all training images) — the single-image head exported
  as ``probs`` (the study's protocol), and the source of the exact ``cam`` heatmap.

The exported model is the whole backbone with the fine-tuned top copied in, GAP → Dense(2), via
:mod:`training.lite0.cam_export` (outputs ``probs``, ``logits``, ``cam``, ``embedding``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

INPUT_SIZE = 224
BOUNDARY = {1: "block6d_add", 2: "block6c_add", 3: "block6b_add"}


def build_classifier(weights: str | None = "imagenet"):
    """Lite0 backbone → GAP → Dense(2, softmax) named ``verdict`` (class 0 genuine, 1 forged)."""
    import keras

    from training.lite0.model import build_lite0_backbone

    bb = build_lite0_backbone(INPUT_SIZE, weights=weights)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(bb.output)
    out = keras.layers.Dense(2, activation="softmax", name="verdict")(x)
    return keras.Model(bb.input, out, name="signature_lite0"), bb


def export_trunk(bb, n_blocks: int, path: Path) -> Path:
    """ONNX of input → output of the block below the top ``n_blocks`` (the frozen part)."""
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    trunk = keras.Model(bb.input, bb.get_layer(BOUNDARY[n_blocks]).output)
    spec = tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 3), tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        return {"trunk": trunk(x, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def finetune(classifier, bb, trunk_feats: np.ndarray, writer_ids: np.ndarray, genuine: np.ndarray,
             train_mask: np.ndarray, *, n_blocks: int, epochs: int, lr: float, batch_size: int,
             forgery_weight: float, seed: int, log=print) -> dict:
    """Train the top blocks and both heads on cached trunk features of the training images."""
    import keras
    import tensorflow as tf

    from training.lite0.model import unfreeze_top_blocks

    keras.utils.set_random_seed(seed)
    top = keras.Model(bb.get_layer(BOUNDARY[n_blocks]).output, bb.output, name="top")
    trainable = unfreeze_top_blocks(bb, n_blocks, train_batchnorm=False)
    writers = np.unique(writer_ids[train_mask])
    wmap = {w: i for i, w in enumerate(writers)}
    inp = keras.Input(trunk_feats.shape[1:])
    fmap = top(inp)
    emb = classifier.get_layer("avg_pool")(fmap)
    drop = keras.layers.Dropout(0.3)(emb)
    writer_head = keras.layers.Dense(len(writers), activation="softmax", name="writer")(drop)
    verdict = classifier.get_layer("verdict")(drop)
    model = keras.Model(inp, {"writer": writer_head, "verdict": verdict})
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss={"writer": "sparse_categorical_crossentropy", "verdict": "sparse_categorical_crossentropy"},
                  loss_weights={"writer": 1.0 - forgery_weight, "verdict": forgery_weight})
    x = trunk_feats[train_mask].astype(np.float32)
    yw = np.array([wmap[w] for w in writer_ids[train_mask]], np.int64)
    yv = (~genuine[train_mask]).astype(np.int64)  # 0 genuine, 1 forged
    sw = {"writer": genuine[train_mask].astype(np.float32) * 2.0, "verdict": np.ones(len(x), np.float32)}
    t0 = time.perf_counter()
    hist = model.fit(x, {"writer": yw, "verdict": yv}, sample_weight=sw, epochs=epochs, batch_size=batch_size,
                     shuffle=True, verbose=0)
    losses = {k: [round(float(v), 4) for v in vals] for k, vals in hist.history.items()}
    log(f"  fine-tuned top {n_blocks} block(s) + heads on {len(x)} images, {len(writers)} writers, "
        f"{epochs} epochs in {time.perf_counter() - t0:.0f} s (final loss {losses['loss'][-1]})")
    del tf
    return {"trainable_layers": len(trainable), "writers": int(len(writers)), "images": int(len(x)),
            "seconds": round(time.perf_counter() - t0, 1), "history": losses}


def top_embeddings(bb, trunk_feats: np.ndarray, n_blocks: int, batch_size: int = 64) -> np.ndarray:
    """Pooled embeddings of cached trunk features through the (fine-tuned) top."""
    import keras

    top = keras.Model(bb.get_layer(BOUNDARY[n_blocks]).output, bb.output)
    out = top.predict(trunk_feats.astype(np.float32), batch_size=batch_size, verbose=0)
    return out.mean(axis=(1, 2))


def export(classifier, path: Path, parity_images: np.ndarray) -> dict:
    """Export with probs/logits/cam/embedding; check Keras vs onnxruntime parity on real canvases."""
    from training.lite0.cam_export import build_cam_model, check_parity, export_onnx

    cam_model = build_cam_model(classifier)
    export_onnx(cam_model, path)
    report = check_parity(cam_model, path, parity_images)
    return {"n": report.n, "max_abs": report.max_abs, "argmax_agree": report.argmax_agree}
