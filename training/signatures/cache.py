"""Normalised signatures, descriptors and CNN embeddings of every image, computed once and cached.

The app's own code does the work (:func:`inference.imageio.load_image`,
:func:`inference.signature.preprocess.normalize`, :mod:`inference.signature.features`), so what the
SVM is trained on is exactly what the app computes. Caches are ``.npz`` files keyed by a hash of the
options, the file list and :data:`CACHE_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np

from inference.signature.features import Descriptor, FeatureSpec, Projection, shape_features
from inference.signature.glcm import glcm_features
from inference.signature.preprocess import NormalizedSignature, PreprocessOptions, normalize
from training.signatures.data import Item

CACHE_VERSION = 3


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _load_rgb(path: Path, raw_mode: bool = False) -> np.ndarray:
    from inference.imageio import load_image

    return load_image(path).rgb


def _normalize_one(args) -> dict:
    path, opts_dict, degrade_spec, seed = args
    from training.signatures.robustness import degrade

    rgb = _load_rgb(Path(path))
    if degrade_spec is not None:
        rgb = degrade(rgb, degrade_spec[0], degrade_spec[1], seed)
    sig = normalize(rgb, PreprocessOptions(**opts_dict))
    g = glcm_features(sig.canvas)
    s, prof = shape_features(sig)
    return {"canvas": sig.canvas, "mask": sig.mask, "skeleton": sig.skeleton, "threshold": sig.threshold,
            "bbox": sig.bbox, "ink_fraction": sig.ink_fraction, "glcm": g, "shape": s, "profiles": prof}


@dataclass(eq=False)
class NormStore:
    """Normalised signatures and their descriptors, one row per item (same order as ``items``)."""

    opts: PreprocessOptions
    canvas: np.ndarray      # (N, H, W) uint8
    mask: np.ndarray        # (N, H, W) bool
    skeleton: np.ndarray    # (N, H, W) bool
    threshold: np.ndarray   # (N,)
    bbox: np.ndarray        # (N, 4)
    ink_fraction: np.ndarray
    glcm: np.ndarray
    shape: np.ndarray
    profiles: np.ndarray
    key: str = ""

    def __len__(self) -> int:
        return len(self.canvas)

    def signature(self, i: int) -> NormalizedSignature:
        return NormalizedSignature(self.canvas[i], self.mask[i], self.skeleton[i], int(self.threshold[i]),
                                   tuple(int(v) for v in self.bbox[i]), float(self.ink_fraction[i]), self.opts)

    def descriptors(self, embeddings: np.ndarray | None = None, projection: Projection | None = None,
                    indices: Sequence[int] | None = None, tolerance: int = 2) -> dict[int, Descriptor]:
        idx = range(len(self)) if indices is None else indices
        from inference.signature.overlay import pose
        from inference.signature.preprocess import dilate

        proj = projection(embeddings) if (embeddings is not None and projection is not None) else None
        out = {}
        for i in idx:
            out[i] = Descriptor(self.signature(i), self.glcm[i], self.shape[i], self.profiles[i],
                                None if embeddings is None else np.asarray(embeddings[i], np.float64),
                                None if proj is None else proj[i], pose(self.mask[i]),
                                dilate(self.mask[i], tolerance))
        return out

    def subset(self, rows: np.ndarray) -> "NormStore":
        return NormStore(self.opts, self.canvas[rows], self.mask[rows], self.skeleton[rows], self.threshold[rows],
                         self.bbox[rows], self.ink_fraction[rows], self.glcm[rows], self.shape[rows],
                         self.profiles[rows], _key(self.key, "subset", np.asarray(rows).tolist()))


def normalize_items(items: Sequence[Item], opts: PreprocessOptions, cache_dir: Path, *, workers: int = 2,
                    degrade: tuple[str, float] | None = None, log=print) -> NormStore:
    """Normalise ``items`` (optionally degraded) with ``opts``; cached in ``cache_dir``."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _key(CACHE_VERSION, opts.as_dict(), [str(it.path) for it in items], degrade)
    path = cache_dir / f"norm-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as d:
            shape = tuple(d["canvas"].shape)
            unpack = lambda a: np.unpackbits(a, axis=-1, count=shape[1] * shape[2]).reshape(shape).astype(bool)  # noqa: E731
            return NormStore(opts, d["canvas"], unpack(d["mask"]), unpack(d["skeleton"]), d["threshold"], d["bbox"],
                             d["ink_fraction"], d["glcm"], d["shape"], d["profiles"], key)
    t0 = time.perf_counter()
    jobs = [(str(it.path), opts.as_dict(), degrade, 1000 + it.index) for it in items]
    # fork: cheap, and safe as long as TensorFlow (threads) is not loaded yet; otherwise one process.
    if workers > 1 and len(jobs) > 16 and "tensorflow" not in sys.modules:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            rows = list(pool.map(_normalize_one, jobs, chunksize=16))
    else:
        rows = [_normalize_one(j) for j in jobs]
    store = NormStore(
        opts,
        np.stack([r["canvas"] for r in rows]), np.stack([r["mask"] for r in rows]),
        np.stack([r["skeleton"] for r in rows]), np.array([r["threshold"] for r in rows]),
        np.array([r["bbox"] for r in rows]), np.array([r["ink_fraction"] for r in rows]),
        np.stack([r["glcm"] for r in rows]), np.stack([r["shape"] for r in rows]),
        np.stack([r["profiles"] for r in rows]), key)
    n = len(store)
    flat = lambda a: np.packbits(a.reshape(n, -1), axis=-1)  # noqa: E731
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, canvas=store.canvas, mask=flat(store.mask), skeleton=flat(store.skeleton),
             threshold=store.threshold, bbox=store.bbox, ink_fraction=store.ink_fraction, glcm=store.glcm,
             shape=store.shape, profiles=store.profiles)
    tmp.replace(path)
    log(f"  normalised {n} images ({'degraded ' + degrade[0] if degrade else 'clean'}, "
        f"{_describe(opts)}) in {time.perf_counter() - t0:.0f} s")
    return store


def _describe(opts: PreprocessOptions) -> str:
    on = [k for k in ("denoise", "binarize", "roi", "skeletonize") if getattr(opts, k)]
    return "+".join(on) or "none"


def input_tensor(canvases: np.ndarray, input_spec) -> np.ndarray:
    """Canvases (N, H, W) uint8 → model input (N, h, w, 3) float32, with the app's preprocessing."""
    from inference.preprocess import preprocess

    return np.stack([preprocess(np.repeat(c[:, :, None], 3, axis=2), input_spec)[0] for c in canvases])


def raw_tensor(paths: Sequence[Path], input_spec) -> np.ndarray:
    """Raw (un-normalised) scans → model input, letterboxed like the app would: for the trap study."""
    from inference.preprocess import preprocess

    return np.stack([preprocess(_load_rgb(p), input_spec)[0] for p in paths])


def run_onnx(onnx_path: Path, tensors_fn, n: int, outputs: Sequence[str] = ("embedding", "probs"),
             batch: int = 32) -> dict[str, np.ndarray]:
    """Run an ONNX model over ``n`` inputs made by ``tensors_fn(start, stop)``; concatenate outputs."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    chunks: dict[str, list[np.ndarray]] = {o: [] for o in outputs}
    for start in range(0, n, batch):
        x = tensors_fn(start, min(n, start + batch))
        res = session.run(list(outputs), {"input": x})
        for o, r in zip(outputs, res):
            chunks[o].append(r)
    return {o: np.concatenate(v) for o, v in chunks.items()}


def embeddings(onnx_path: Path, store_or_paths, input_spec, cache_dir: Path, *, raw: bool = False,
               outputs: Sequence[str] = ("embedding", "probs"), log=print) -> dict[str, np.ndarray]:
    """The ONNX model's ``outputs`` for every canvas of a store (or raw scans when ``raw``); cached."""
    from inference.registry import sha256_file

    sha = sha256_file(onnx_path)
    outputs = tuple(outputs)
    if raw:
        paths = list(store_or_paths)
        key = _key(CACHE_VERSION, "raw", sha, [str(p) for p in paths], outputs)
    else:
        key = _key(CACHE_VERSION, "emb", sha, store_or_paths.key, outputs)
    path = Path(cache_dir) / f"emb-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as d:
            return {k: d[k] for k in d.files}
    t0 = time.perf_counter()
    if raw:
        fn = lambda a, b: raw_tensor(paths[a:b], input_spec)  # noqa: E731
        n = len(paths)
    else:
        fn = lambda a, b: input_tensor(store_or_paths.canvas[a:b], input_spec)  # noqa: E731
        n = len(store_or_paths)
    out = run_onnx(onnx_path, fn, n, outputs=outputs)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    log(f"  CNN features of {n} {'raw scans' if raw else 'canvases'} in {time.perf_counter() - t0:.0f} s")
    return out


def fit_projection(emb: np.ndarray, dims: int) -> Projection:
    """PCA of L2-normalised embeddings (fitted on training writers only)."""
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    mean = e.mean(axis=0)
    _, _, vt = np.linalg.svd(e - mean, full_matrices=False)
    return Projection(mean, vt[:max(dims, 1)])


def cnn_pair_block(emb_q: np.ndarray, emb_r: np.ndarray, proj_q: np.ndarray | None, proj_r: np.ndarray | None,
                   dims: int) -> np.ndarray:
    """The ``cnn`` block of :func:`inference.signature.features.pair_vector`, vectorised over rows."""
    a = emb_q / np.maximum(np.linalg.norm(emb_q, axis=1, keepdims=True), 1e-12)
    b = emb_r / np.maximum(np.linalg.norm(emb_r, axis=1, keepdims=True), 1e-12)
    cos = 1.0 - np.sum(a * b, axis=1)
    euc = np.linalg.norm(a - b, axis=1)
    proj = np.zeros((len(a), dims)) if not dims else np.abs(proj_q[:, :dims] - proj_r[:, :dims])
    return np.concatenate([cos[:, None], euc[:, None], proj], axis=1)


def _block_widths(spec: FeatureSpec) -> dict[str, int]:
    from inference.signature.features import pair_feature_names

    return {b: len(pair_feature_names(FeatureSpec(blocks=(b,), projection_dims=spec.projection_dims,
                                                  overlay_tolerance=spec.overlay_tolerance,
                                                  glcm_levels=spec.glcm_levels, glcm_distances=spec.glcm_distances)))
            for b in spec.blocks}


def static_pair_features(store: NormStore, pairs: np.ndarray, spec: FeatureSpec, cache_dir: Path | None, *,
                         query_store: NormStore | None = None, log=print) -> np.ndarray:
    """The blocks of the pair vector that do not depend on the CNN (GLCM, overlay, shape), in
    ``spec.blocks`` order; cached by the stores, the spec and the pair list (the overlay is the
    slow part of a pair vector, and it does not change when the CNN does)."""
    from inference.signature.features import pair_vector

    blocks = tuple(b for b in spec.blocks if b != "cnn")
    if not blocks:
        return np.zeros((len(pairs), 0))
    sub = FeatureSpec(blocks=blocks, projection_dims=0, overlay_tolerance=spec.overlay_tolerance,
                      glcm_levels=spec.glcm_levels, glcm_distances=spec.glcm_distances)
    qstore = query_store or store
    path = None
    if cache_dir is not None:
        key = _key(CACHE_VERSION, "pairs", store.key, qstore.key, sub.as_dict(),
                   hashlib.sha256(np.ascontiguousarray(pairs[:, :2], dtype=np.int64).tobytes()).hexdigest())
        path = Path(cache_dir) / f"pairs-{key}.npy"
        if path.is_file():
            return np.load(path)
    t0 = time.perf_counter()
    needed_r = sorted(set(pairs[:, 1].tolist()))
    needed_q = sorted(set(pairs[:, 0].tolist()))
    rdesc = store.descriptors(None, None, needed_r, spec.overlay_tolerance)
    if qstore is store:
        qdesc = {**rdesc, **store.descriptors(None, None, [i for i in needed_q if i not in rdesc],
                                              spec.overlay_tolerance)}
    else:
        qdesc = qstore.descriptors(None, None, needed_q, spec.overlay_tolerance)
    X = np.stack([pair_vector(qdesc[q], rdesc[r], sub) for q, r in pairs[:, :2]])
    if path is not None:
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, X)
        tmp.replace(path)
    if len(pairs) > 500:
        log(f"  static pair features of {len(pairs)} pairs in {time.perf_counter() - t0:.0f} s")
    return X


def pair_features(store: NormStore, pairs: np.ndarray, spec: FeatureSpec, emb: np.ndarray | None,
                  projection: Projection | None, *, query_store: NormStore | None = None,
                  query_emb: np.ndarray | None = None, cache_dir: Path | None = None) -> np.ndarray:
    """Pair vectors for rows (query, reference[, y]), exactly as
    :func:`inference.signature.features.pair_vector` computes them. Queries may come from another
    (degraded) store with its own embeddings. The CNN block is vectorised; the rest comes from
    :func:`static_pair_features` (cached when ``cache_dir`` is given)."""
    pairs = np.asarray(pairs)
    static = static_pair_features(store, pairs, spec, cache_dir, query_store=query_store)
    widths = _block_widths(spec)
    parts, col = [], 0
    for b in spec.blocks:
        if b == "cnn":
            if emb is None:
                raise ValueError("the 'cnn' feature block needs embeddings")
            qe = emb if query_emb is None else query_emb
            q, r = pairs[:, 0], pairs[:, 1]
            pq = pr = None
            if spec.projection_dims:
                if projection is None:
                    raise ValueError("projection_dims > 0 needs a projection")
                pq, pr = projection(qe[q]), projection(emb[r])
            parts.append(cnn_pair_block(np.asarray(qe[q], np.float64), np.asarray(emb[r], np.float64), pq, pr,
                                        spec.projection_dims))
        else:
            parts.append(static[:, col:col + widths[b]])
            col += widths[b]
    return np.concatenate(parts, axis=1).astype(np.float64)
