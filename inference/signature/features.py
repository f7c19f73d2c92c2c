"""Per-signature descriptors and the dichotomy features of a (query, reference) pair.

A *descriptor* is everything computed once per image: the normalised signature, its CNN embedding
(when a model is used), GLCM texture and a few global shape measures. A *pair vector* compares two
descriptors in the writer-independent "dichotomy" way (Cha & Srihari): differences, not the
features themselves, so one classifier serves writers it has never seen.

Pair vector layout (``pair_feature_names``), each block switchable:

- ``cnn``: cosine distance and Euclidean distance of the L2-normalised embeddings, then
  ``|P e_q − P e_r|`` for a projection ``P`` (PCA of the training embeddings, ``k`` components);
- ``glcm``: ``|g_q − g_r|`` of the GLCM properties (see :mod:`inference.signature.glcm`);
- ``overlay``: agreement of the aligned inks (see :mod:`inference.signature.overlay`);
- ``shape``: ``|s_q − s_r|`` of the global shape measures, and the L1 distance of the normalised
  horizontal and vertical ink projection profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from inference.signature import glcm as glcm_mod
from inference.signature.overlay import FEATURE_NAMES as OVERLAY_NAMES
from inference.signature.overlay import OverlayCounts, Pose, compare, pose
from inference.signature.preprocess import dilate
from inference.signature.preprocess import NormalizedSignature

BLOCKS = ("cnn", "glcm", "overlay", "shape")
SHAPE_NAMES = ("log_aspect", "density", "skeleton_length", "orientation", "elongation", "centroid_x", "centroid_y")
PROFILE_BINS = 16


@dataclass(frozen=True)
class FeatureSpec:
    """Which blocks go into the pair vector, and their parameters (stored in the manifest)."""

    blocks: tuple[str, ...] = BLOCKS
    projection_dims: int = 32
    overlay_tolerance: int = 2
    glcm_levels: int = glcm_mod.DEFAULT_LEVELS
    glcm_distances: tuple[int, ...] = glcm_mod.DEFAULT_DISTANCES

    @classmethod
    def from_mapping(cls, data) -> "FeatureSpec":
        data = dict(data or {})
        blocks = tuple(data.get("blocks", BLOCKS))
        unknown = set(blocks) - set(BLOCKS)
        if unknown:
            raise ValueError(f"unknown feature blocks {sorted(unknown)}; known: {', '.join(BLOCKS)}")
        return cls(blocks=blocks, projection_dims=int(data.get("projection_dims", 32)),
                   overlay_tolerance=int(data.get("overlay_tolerance", 2)),
                   glcm_levels=int(data.get("glcm_levels", glcm_mod.DEFAULT_LEVELS)),
                   glcm_distances=tuple(int(d) for d in data.get("glcm_distances", glcm_mod.DEFAULT_DISTANCES)))

    def as_dict(self) -> dict:
        return {"blocks": list(self.blocks), "projection_dims": self.projection_dims,
                "overlay_tolerance": self.overlay_tolerance, "glcm_levels": self.glcm_levels,
                "glcm_distances": list(self.glcm_distances)}


@dataclass(frozen=True, eq=False)
class Projection:
    """``P e`` = ``(e / |e| − mean) @ components.T`` (components: (k, D))."""

    mean: np.ndarray
    components: np.ndarray

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        e = _l2n(np.atleast_2d(np.asarray(embeddings, dtype=np.float64)))
        return (e - self.mean) @ self.components.T

    @classmethod
    def load(cls, path) -> "Projection":
        with np.load(path, allow_pickle=False) as data:
            return cls(np.asarray(data["mean"], np.float64), np.asarray(data["components"], np.float64))

    def save(self, path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, mean=self.mean.astype(np.float32), components=self.components.astype(np.float32))


@dataclass(frozen=True, eq=False)
class Descriptor:
    """Everything computed once per signature image."""

    signature: NormalizedSignature
    glcm: np.ndarray
    shape: np.ndarray
    profiles: np.ndarray
    embedding: np.ndarray | None = None
    projected: np.ndarray | None = None
    pose: Pose | None = None
    dilated: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def embedding_only(cls, sig: NormalizedSignature, embedding: np.ndarray | None) -> "Descriptor":
        """What the embedding scorer (signature-verify 3) needs: the canvas and the CNN embedding."""
        if embedding is None:
            raise ValueError("the embedding scorer needs the CNN's 'embedding' output")
        return cls(sig, np.zeros(0), np.zeros(0), np.zeros(0), np.asarray(embedding, np.float64))


def _l2n(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def shape_features(sig: NormalizedSignature) -> tuple[np.ndarray, np.ndarray]:
    """Global shape measures (see :data:`SHAPE_NAMES`) and the projection profiles (2 × bins)."""
    mask = sig.mask
    skel = sig.skeleton
    H, W = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return np.zeros(len(SHAPE_NAMES)), np.zeros(2 * PROFILE_BINS)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    bw, bh = x1 - x0, y1 - y0
    cy, cx = ys.mean(), xs.mean()
    mu20, mu02 = ((xs - cx) ** 2).mean(), ((ys - cy) ** 2).mean()
    mu11 = ((xs - cx) * (ys - cy)).mean()
    common = np.sqrt(4 * mu11 ** 2 + (mu20 - mu02) ** 2)
    l1, l2 = (mu20 + mu02 + common) / 2, (mu20 + mu02 - common) / 2
    gyration = np.sqrt(mu20 + mu02) + 1e-9
    out = np.array([
        np.log(sig.bbox[2] / max(sig.bbox[3], 1)),
        len(ys) / float(bw * bh),
        np.count_nonzero(skel) / gyration / 10.0,
        0.5 * np.arctan2(2 * mu11, mu20 - mu02),
        np.log((l1 + 1e-6) / (l2 + 1e-6)),
        (cx - x0) / bw,
        (cy - y0) / bh,
    ])
    sub = mask[y0:y1, x0:x1].astype(np.float64)
    hp = sub.sum(axis=0)
    vp = sub.sum(axis=1)
    prof = []
    for p in (hp, vp):
        edges = np.linspace(0, len(p), PROFILE_BINS + 1).round().astype(int)
        b = np.array([p[edges[i]:max(edges[i + 1], edges[i] + 1)].sum() for i in range(PROFILE_BINS)])
        prof.append(b / max(b.sum(), 1e-9))
    return out, np.concatenate(prof)


def describe(sig: NormalizedSignature, spec: FeatureSpec, embedding: np.ndarray | None = None,
             projection: Projection | None = None) -> Descriptor:
    """Build the descriptor of one normalised signature (embedding from the CNN, when used)."""
    g = glcm_mod.glcm_features(sig.canvas, levels=spec.glcm_levels, distances=spec.glcm_distances)
    s, prof = shape_features(sig)
    projected = None
    if embedding is not None:
        embedding = np.asarray(embedding, dtype=np.float64).ravel()
        if projection is not None:
            projected = projection(embedding)[0]
    return Descriptor(sig, g, s, prof, embedding, projected, pose(sig.mask), dilate(sig.mask, spec.overlay_tolerance))


def pair_feature_names(spec: FeatureSpec) -> list[str]:
    names: list[str] = []
    for block in spec.blocks:
        if block == "cnn":
            names += ["cnn_cosine", "cnn_euclid"] + [f"cnn_pc{i}" for i in range(spec.projection_dims)]
        elif block == "glcm":
            names += [f"d_{n}" for n in glcm_mod.feature_names(spec.glcm_distances)]
        elif block == "overlay":
            names += list(OVERLAY_NAMES)
        elif block == "shape":
            names += [f"d_{n}" for n in SHAPE_NAMES] + ["profile_h_l1", "profile_v_l1"]
    return names


def pair_vector(query: Descriptor, ref: Descriptor, spec: FeatureSpec,
                overlay: OverlayCounts | None = None) -> np.ndarray:
    """The dichotomy vector of (query, reference); ``overlay`` may be passed when already computed."""
    parts: list[np.ndarray] = []
    for block in spec.blocks:
        if block == "cnn":
            if query.embedding is None or ref.embedding is None:
                raise ValueError("the 'cnn' feature block needs embeddings")
            a, b = _l2n(query.embedding), _l2n(ref.embedding)
            cos = 1.0 - float(a @ b)
            euc = float(np.linalg.norm(a - b))
            proj = np.zeros(spec.projection_dims)
            if spec.projection_dims:
                if query.projected is None or ref.projected is None:
                    raise ValueError("projection_dims > 0 needs a projection")
                proj = np.abs(query.projected[:spec.projection_dims] - ref.projected[:spec.projection_dims])
            parts.append(np.concatenate([[cos, euc], proj]))
        elif block == "glcm":
            parts.append(np.abs(query.glcm - ref.glcm))
        elif block == "overlay":
            if overlay is None:
                overlay = overlay_counts(query, ref, spec)
            parts.append(overlay.features())
        elif block == "shape":
            d = np.abs(query.shape - ref.shape)
            # orientation is an angle in (-pi/2, pi/2]: wrap the difference
            i = SHAPE_NAMES.index("orientation")
            d[i] = min(d[i], np.pi - d[i])
            n = PROFILE_BINS
            ph = np.abs(query.profiles[:n] - ref.profiles[:n]).sum()
            pv = np.abs(query.profiles[n:] - ref.profiles[n:]).sum()
            parts.append(np.concatenate([d, [ph, pv]]))
    return np.concatenate(parts).astype(np.float64)


def overlay_counts(query: Descriptor, ref: Descriptor, spec: FeatureSpec) -> OverlayCounts:
    counts, _ = compare(query.signature.mask, ref.signature.mask, query.signature.skeleton,
                        ref.signature.skeleton, tolerance=spec.overlay_tolerance, query_pose=query.pose,
                        ref_pose=ref.pose, query_dilated=query.dilated, ref_dilated=ref.dilated)
    return counts


def pair_matrix(queries: Sequence[Descriptor], refs: Sequence[Descriptor], spec: FeatureSpec) -> np.ndarray:
    """Pair vectors of ``zip(queries, refs)`` stacked (N, d)."""
    return np.stack([pair_vector(q, r, spec) for q, r in zip(queries, refs)])
