"""Images in, cached frozen-backbone features out.

Images are decoded and fitted to the model size by the app's own code
(:func:`inference.imageio.load_image`, :func:`inference.preprocess.fit_to_input`,
:func:`inference.preprocess.to_tensor`), so training sees exactly what the app will feed the model.

The frozen trunk (everything below the fine-tuned blocks) runs once per image and augmented copy;
its output is stored on disk as float16 under a key that hashes the image files (path, size,
modification time), the preprocessing, the backbone weights, the cut point, the augmentation and
the copy's seed. Both skin packs use the same images and split, so the second one trains from the
first one's cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from inference.manifest import InputSpec

DEFAULT_CACHE = Path(os.environ.get("TILIK_FEATURE_CACHE", Path.home() / ".cache" / "tilik" / "features"))


def input_block(cfg: dict, backbone) -> dict:
    """The manifest ``input`` block: the backbone's recipe, overridden by the config's ``input``."""
    recipe = dict(backbone.preprocessing)
    inp = cfg["input"]
    for key in ("resize", "interpolation", "crop_fraction", "color", "mean", "std", "scale"):
        if inp.get(key) is not None:
            recipe[key] = inp[key]
    size = int(inp["size"])
    block = {
        "name": "input", "size": [size, size], "layout": "NHWC", "color": recipe["color"],
        "resize": recipe["resize"], "interpolation": recipe.get("interpolation", "bilinear"),
        "scale": float(recipe["scale"]), "mean": [float(v) for v in recipe["mean"]],
        "std": [float(v) for v in recipe["std"]], "dtype": "float32",
    }
    if recipe["resize"] == "center_crop":
        block["crop_fraction"] = float(recipe.get("crop_fraction", 0.875))
    return block


def spec_from_block(block: dict) -> InputSpec:
    return InputSpec(
        name=block["name"], height=block["size"][0], width=block["size"][1], layout=block["layout"],
        color=block["color"], resize=block["resize"], scale=float(block["scale"]),
        mean=tuple(block["mean"]), std=tuple(block["std"]),
        crop_fraction=float(block.get("crop_fraction", 0.875)), pad_value=int(block.get("pad_value", 0)),
        interpolation=block.get("interpolation", "bilinear"),
    )


def load_fitted(paths: Sequence[Path], spec: InputSpec, progress: Callable | None = None) -> np.ndarray:
    """Decode every image and fit it to the model size with the app's code: uint8 (N, H, W, 3)."""
    from inference.imageio import load_image
    from inference.preprocess import fit_to_input

    out = np.empty((len(paths), spec.height, spec.width, 3), np.uint8)
    for i, p in enumerate(paths):
        out[i] = fit_to_input(load_image(p).rgb, spec)[0]
        if progress:
            progress(i + 1, len(paths))
    return out


def normalise(fitted: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 model input, with :func:`inference.preprocess.to_tensor`."""
    from inference.preprocess import to_tensor

    return np.stack([to_tensor(img, spec) for img in fitted]).astype(np.float32)


def files_fingerprint(paths: Sequence[Path]) -> list:
    """(path, size, mtime_ns) per file: changes when a file is replaced or edited."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([str(p), st.st_size, st.st_mtime_ns])
    return out


class FeatureCache:
    """``<dir>/<key>.npy`` files; ``dir=None`` disables caching."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) if directory else None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(parts: dict) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:40]

    def get(self, key: str) -> np.ndarray | None:
        if self.directory is None:
            return None
        path = self.directory / f"{key}.npy"
        if path.is_file():
            try:
                arr = np.load(path)
                self.hits += 1
                return arr
            except (OSError, ValueError):
                pass
        self.misses += 1
        return None

    def put(self, key: str, value: np.ndarray) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{key}.{os.getpid()}.tmp.npy"
        np.save(tmp, value)
        os.replace(tmp, self.directory / f"{key}.npy")


class Progress:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int, extra: str = "") -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        width = 28
        filled = int(width * done / max(total, 1))
        rate = done / max(now - self.start, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                          f"{extra} eta {eta:4.0f}s ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def make_predict_fn(model, input_shape: tuple, batch_size: int = 32):
    """``fn(x: ndarray) -> ndarray`` running ``model`` in inference mode inside one traced graph."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *input_shape), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), input_signature=[spec], reduce_retracing=True)

    def run(x: np.ndarray, progress: Callable | None = None):
        outs = []
        for i in range(0, len(x), batch_size):
            out = graph(np.asarray(x[i:i + batch_size], np.float32))
            outs.append(out)
            if progress:
                progress(min(i + batch_size, len(x)), len(x))
        if isinstance(outs[0], dict):
            return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}
        return np.concatenate([np.asarray(o) for o in outs])

    return run


def trunk_features(trunk, fitted: np.ndarray, spec: InputSpec, *, augmenter=None, seed: int = 0,
                   batch_size: int = 32, label: str = "features") -> np.ndarray:
    """Run the frozen trunk on every image (augmented when ``augmenter`` is given): float16 array."""
    fn = make_predict_fn(trunk, tuple(trunk.inputs[0].shape[1:]), batch_size)
    rng = np.random.default_rng(seed)
    progress = Progress(label)
    chunks = []
    for i in range(0, len(fitted), batch_size):
        batch = fitted[i:i + batch_size]
        if augmenter is not None:
            batch = np.stack([augmenter(img, rng) for img in batch])
        chunks.append(fn(normalise(batch, spec)).astype(np.float16))
        progress(min(i + batch_size, len(fitted)), len(fitted))
    return np.concatenate(chunks)


def cached_trunk_features(cache: FeatureCache, trunk, paths: Sequence[Path], fitted_loader: Callable[[], np.ndarray],
                          spec: InputSpec, key_parts: dict, *, augmenter=None, seed: int = 0,
                          batch_size: int = 32, label: str = "features", log=print) -> np.ndarray:
    """Trunk features of ``paths`` from the cache, or computed (and stored) on a miss."""
    parts = dict(key_parts)
    parts.update({"files": files_fingerprint(paths),
                  "augment": augmenter.describe() if augmenter is not None else None,
                  "seed": seed if augmenter is not None else None})
    key = cache.key(parts)
    hit = cache.get(key)
    if hit is not None and len(hit) == len(paths):
        log(f"  {label}: {len(paths)} images from the feature cache")
        return hit
    start = time.perf_counter()
    feats = trunk_features(trunk, fitted_loader(), spec, augmenter=augmenter, seed=seed,
                           batch_size=batch_size, label=f"  {label}")
    cache.put(key, feats)
    log(f"  {label}: {len(paths)} images through the frozen trunk in {time.perf_counter() - start:.0f} s")
    return feats
