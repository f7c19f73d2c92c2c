"""Stage 1 of signature-verify 3: normalise both corpora once and cache the backbone's features.

    python -m training.signatures.v3_features --out runs/sig3

Writes ``canvases-*.npz`` (the normalised canvases, :mod:`training.signatures.corpora`) and
``features-<backbone>-*.npz``: per image, the grid-pooled mid-level taps of the ImageNet backbone
(each tap under its own key) and the top GAP. Every later choice (taps, head, calibration,
thresholds) is made on these cached numbers (:mod:`training.signatures.v3_train`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from inference.signature.preprocess import PreprocessOptions
from training.signatures.cnn import Tap, grid_pool  # noqa: F401  (grid_pool: numpy twin of the pooling)
from training.signatures.corpora import Canvases, _key, load_corpora, normalize_all

CEDAR = Path("/work/shared/data/signatures-cedar")
BENGALI = Path("/work/shared/data/signatures-bhsig260-bengali")
CANVAS = (192, 384)  # height, width: both scripts are wider than tall (Bengali ~3.5:1, CEDAR ~1.5:1)
# Candidate taps: every stride-16 and stride-32 stage end of Lite0, pooled on a 2x4 grid.
TAPS = (Tap("block4c_add", 2, 4), Tap("block5c_add", 2, 4), Tap("block6d_add", 2, 4), Tap("block7a_project_bn", 1, 2))
OPTIONS = PreprocessOptions(canvas_height=CANVAS[0], canvas_width=CANVAS[1], margin=8)


def to_input(canvas: np.ndarray) -> np.ndarray:
    """Canvases (N, H, W) uint8 → (N, H, W, 3) float32 in [-1, 1] (the manifest's scale/mean/std)."""
    x = canvas.astype(np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return np.repeat(x[..., None], 3, axis=3)


def feature_model(size: tuple[int, int], taps=TAPS):
    """Lite0 (ImageNet) → {tap layer: grid-pooled map, "gap": top GAP}."""
    import keras
    from keras import ops

    from training.signatures.cnn import _pool_layer_class, build_backbone

    bb = build_backbone("imagenet", size)
    GridPool, _ = _pool_layer_class()
    outs = {t.layer: GridPool(t.rows, t.cols, name=f"pool_{t.layer}")(bb.get_layer(t.layer).output) for t in taps}
    outs["gap"] = ops.mean(bb.output, axis=(1, 2))
    return keras.Model(bb.input, outs, name="signature_features")


def export_features(path: Path, size: tuple[int, int], taps=TAPS) -> Path:
    import onnx
    import tensorflow as tf
    import tf2onnx

    model = feature_model(size, taps)
    spec = tf.TensorSpec((None, size[0], size[1], 3), tf.float32, name="input")
    model(np.zeros((1, size[0], size[1], 3), np.float32), training=False)

    @tf.function(input_signature=[spec])
    def serve(x):
        return model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def extract(cv: Canvases, onnx_path: Path, out: Path, log=print, batch: int = 16) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    chunks: dict[str, list] = {n: [] for n in names}
    t0 = time.perf_counter()
    for a in range(0, len(cv.canvas), batch):
        res = sess.run(names, {"input": to_input(cv.canvas[a:a + batch])})
        for n, r in zip(names, res):
            chunks[n].append(r)
        if a % (batch * 40) == 0:
            log(f"  {a}/{len(cv.canvas)} images, {time.perf_counter() - t0:.0f} s")
    feats = {n: np.concatenate(v).astype(np.float32) for n, v in chunks.items()}
    np.savez(out, **feats)
    log(f"features of {len(cv.canvas)} canvases in {time.perf_counter() - t0:.0f} s -> {out}")
    return feats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    args = ap.parse_args(argv)
    out = Path(args.out)
    items = load_corpora(CEDAR, BENGALI)
    print(f"{len(items)} items")
    cv = normalize_all(items, OPTIONS, out)
    feat_path = out / f"features-lite0-{_key(cv.key, [t.__dict__ for t in TAPS])}.npz"
    if feat_path.is_file():
        print(f"cached: {feat_path}")
        return 0
    t0 = time.perf_counter()
    onnx_path = export_features(out / "features-lite0.onnx", CANVAS)
    print(f"exported feature model in {time.perf_counter() - t0:.0f} s")
    extract(cv, onnx_path, feat_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
