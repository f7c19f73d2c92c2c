"""Candidate features for signature-verify 3.1: the 3.0 taps plus finer pooling grids, one backbone pass.

    python -m training.signatures.v31_features --out runs/sig3

Reuses the normalised canvases of :mod:`training.signatures.v3_features` (same options, same cache)
and writes ``features31-lite0-<key>.npz``: every tap of 3.0 under its layer name (so
:func:`training.signatures.v3_train.prep` reads it unchanged) and each extra grid under
``"<layer>@<rows>x<cols>"``. The backbone pass is the expensive part; pooling more grids from the
same maps costs next to nothing, so every grid candidate comes from this one run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from training.signatures.cnn import Tap
from training.signatures.corpora import _key, load_corpora, normalize_all
from training.signatures.v3_features import BENGALI, CANVAS, CEDAR, OPTIONS, TAPS, extract

# finer grids of the stride-16 and stride-32 maps (12x24 and 6x12 cells on the 192x384 canvas)
EXTRA = (Tap("block5c_add", 4, 8), Tap("block6d_add", 3, 6), Tap("block7a_project_bn", 2, 4),
         Tap("block7a_project_bn", 3, 6))


def tap_key(t: Tap) -> str:
    return f"{t.layer}@{t.rows}x{t.cols}"


def feature_model(size: tuple[int, int]):
    """Lite0 (ImageNet) → the 3.0 taps (keyed by layer), the extra grids (keyed by :func:`tap_key`), GAP."""
    import keras
    from keras import ops

    from training.signatures.cnn import _pool_layer_class, build_backbone

    bb = build_backbone("imagenet", size)
    GridPool, _ = _pool_layer_class()
    outs = {t.layer: GridPool(t.rows, t.cols, name=f"pool_{t.layer}")(bb.get_layer(t.layer).output) for t in TAPS}
    for t in EXTRA:
        k = tap_key(t)
        outs[k] = GridPool(t.rows, t.cols, name=f"pool_{k.replace('@', '_')}")(bb.get_layer(t.layer).output)
    outs["gap"] = ops.mean(bb.output, axis=(1, 2))
    return keras.Model(bb.input, outs, name="signature_features31")


def export(path: Path, size: tuple[int, int]) -> Path:
    import onnx
    import tensorflow as tf
    import tf2onnx

    model = feature_model(size)
    spec = tf.TensorSpec((None, size[0], size[1], 3), tf.float32, name="input")
    model(np.zeros((1, size[0], size[1], 3), np.float32), training=False)

    @tf.function(input_signature=[spec])
    def serve(x):
        return model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def feature_path(out: Path, canvas_key: str) -> Path:
    return out / f"features31-lite0-{_key(canvas_key, [t.__dict__ for t in TAPS + EXTRA])}.npz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    args = ap.parse_args(argv)
    out = Path(args.out)
    items = load_corpora(CEDAR, BENGALI)
    print(f"{len(items)} items", flush=True)
    t0 = time.perf_counter()
    cv = normalize_all(items, OPTIONS, out)
    print(f"canvases ready in {time.perf_counter() - t0:.0f} s", flush=True)
    path = feature_path(out, cv.key)
    if path.is_file():
        print(f"cached: {path}")
        return 0
    t0 = time.perf_counter()
    onnx_path = export(out / "features31-lite0.onnx", CANVAS)
    print(f"exported feature model in {time.perf_counter() - t0:.0f} s", flush=True)
    extract(cv, onnx_path, path, log=lambda *a: print(*a, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
