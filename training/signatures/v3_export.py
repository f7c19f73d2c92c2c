"""Stage 3 of signature-verify 3: the ONNX model the pack ships (one file, no SVM).

    python -m training.signatures.v3_export --out runs/sig3 --pack models/signature-verify

Graph: canvas → Lite0 (ImageNet, frozen) → the chosen taps, each mean-pooled on its grid, signed
square root, L2 → concatenated / √k → ``(x − mean) @ matrix`` (the layer learned on the development
writers, ``final_layer.npz``) = ``embedding``; plus ``probs``/``logits``/``cam`` from a GAP → Dense(2)
head on the top feature map (single-image genuine/forged; its exact CAM is the query heatmap). The
export is checked against the cached training embeddings (onnxruntime vs the numpy twin).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training.signatures.corpora import dev_writers, load_corpora, normalize_all
from training.signatures.v3_features import BENGALI, CANVAS, CEDAR, OPTIONS, TAPS, to_input
from training.signatures.v3_train import prep


def _sqrt_l2_class():
    import keras
    from keras import ops

    class SqrtL2(keras.layers.Layer):
        """Signed square root, then L2 normalisation, scaled by ``1/√k`` (k taps)."""

        def __init__(self, k: int, **kwargs):
            super().__init__(**kwargs)
            self.k = int(k)

        def call(self, x):
            x = ops.sign(x) * ops.sqrt(ops.abs(x) + 1e-12)
            x = x / ops.maximum(ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True)), 1e-12)
            return x / float(np.sqrt(self.k))

    return SqrtL2


def build(taps, mean, matrix, head_kernel, head_bias):
    import keras

    from training.lite0.cam_export import _cam_head_class
    from training.signatures.cnn import _pool_layer_class, build_backbone

    grids = {t.layer: t for t in TAPS}
    bb = build_backbone("imagenet", CANVAS)
    GridPool, Embed = _pool_layer_class()
    SqrtL2 = _sqrt_l2_class()
    trunk = keras.Model(bb.input, [bb.get_layer(t).output for t in taps] + [bb.output], name="trunk")
    x = keras.Input((*CANVAS, 3), name="input")
    maps = trunk(x)
    dense = keras.layers.Dense(2, activation="softmax", name="verdict")
    dense.build((None, int(bb.output.shape[-1])))
    dense.set_weights([np.asarray(head_kernel, np.float32), np.asarray(head_bias, np.float32)])
    head = _cam_head_class()(dense, CANVAS, name="cam_head")(maps[-1])
    pooled = [SqrtL2(len(taps), name=f"norm_{t}")(GridPool(grids[t].rows, grids[t].cols, name=f"pool_{t}")(m))
              for t, m in zip(taps, maps[:-1])]
    cat = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pooled")(pooled)
    emb = Embed(mean, matrix, 1.0, name="embedding")(cat)
    return keras.Model(x, {"probs": head["probs"], "logits": head["logits"], "cam": head["cam"], "embedding": emb},
                       name="signature_lite0_v3")


def main(argv=None) -> int:
    from sklearn.linear_model import LogisticRegression

    from training.lite0.cam_export import export_onnx

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    args = ap.parse_args(argv)
    out, pack = Path(args.out), Path(args.pack)
    t0 = time.perf_counter()
    layer = np.load(out / "final_layer.npz")
    taps = [str(t) for t in layer["taps"]]
    items = load_corpora(CEDAR, BENGALI)
    feat_file = sorted(out.glob("features-lite0-*.npz"))[-1]
    with np.load(feat_file) as d:
        feats = {k: d[k] for k in d.files}
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    dev = np.isin(wr, dev_writers())
    # the single-image head (GAP → Dense(2), classes genuine/forged): what the CAM is drawn from
    lr = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000).fit(feats["gap"][dev], gen[dev].astype(int))
    w = lr.coef_[0]
    kernel = np.stack([w / 2, -w / 2], axis=1)        # column 0 = genuine (softmax of ±logit/2)
    bias = np.array([lr.intercept_[0] / 2, -lr.intercept_[0] / 2])
    model = build(taps, layer["mean"], layer["matrix"], kernel, bias)
    path = export_onnx(model, pack / "model.onnx")
    # parity: onnxruntime embedding vs the numpy twin on cached features of real canvases
    import onnxruntime as ort

    cv = normalize_all(items, OPTIONS, out)
    pick = np.linspace(0, len(items) - 1, 24).astype(int)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    emb_onnx, probs = sess.run(["embedding", "probs"], {"input": to_input(cv.canvas[pick])})
    twin = (prep({k: v[pick] for k, v in feats.items()}, taps) - layer["mean"]) @ layer["matrix"]
    cos = np.sum(emb_onnx * twin, 1) / (np.linalg.norm(emb_onnx, axis=1) * np.linalg.norm(twin, axis=1))
    report = {"parity_max_abs": float(np.abs(emb_onnx - twin).max()), "parity_min_cosine": float(cos.min()),
              "single_image_head_dev_accuracy": float(lr.score(feats["gap"][dev], gen[dev].astype(int))),
              "seconds": round(time.perf_counter() - t0, 1), "size_mb": round(path.stat().st_size / 1e6, 2)}
    (out / "export.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
