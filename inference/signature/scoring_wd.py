"""Writer-dependent refinement for signature-verify 3.1: a per-customer kernel classifier whose output
shifts every per-reference similarity by the same amount.

For one customer the app fits, in numpy and in closed form, a class-balanced regularised
least-squares RBF classifier: the customer's n reference embeddings (+1) against a fixed cohort of
genuine signatures of *other* writers (−1) that ships with the pack (``extra_files``). Its output
``d(q)`` for a query is added, times ``β``, to every per-reference similarity before calibration
(:func:`inference.signature.scoring.per_reference`): ``s_i = cos_i − λ(level − prior) + β·d(q)``,
calibrated with the block's own ``calibration`` (fitted on fused scores). Below ``min_references``
the classifier is not used and the score is 3.0's exactly (its calibration, no shift). One shift for
all references keeps the per-reference scores in the cosines' order, and the overall score (a robust
mean of them) within their range. The classifier depends on the references only, so
it is fitted once per reference set (cached by the tuple of the references' SHA-256s).

The manifest's ``verify.scoring`` selects it with ``"mode": "writer_fused"`` and a
``writer_classifier`` block (validated by :meth:`WriterClassifierConfig.from_mapping`); packs
without them score as 3.0 did. The training side (``training.signatures.v31_train``) measures the
very functions below.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from inference.errors import PackUnusableError

KINDS = ("rbf_least_squares",)
_MODELS = 32  # fitted classifiers kept (one per reference set)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, np.float64))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True, eq=False)
class KernelModel:
    """A fitted classifier: support vectors, their weights, the RBF width."""

    support: np.ndarray   # (m, D) unit embeddings: the references, then the cohort
    alpha: np.ndarray     # (m,)
    gamma: float


def krr_fit(X: np.ndarray, y: np.ndarray, ridge: float = 1.0, gamma: float | None = None) -> KernelModel:
    """Class-balanced regularised least-squares RBF classifier: (K + ridge·W⁻¹) α = y, y ∈ {+1, −1};
    ``gamma`` None: scikit-learn's ``"scale"``, 1 / (D · var(X))."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    if gamma is None:
        var = float(X.var())
        gamma = 1.0 / (X.shape[1] * var) if var > 0 else 1.0
    sq = np.sum(X * X, axis=1)
    K = np.exp(-gamma * np.maximum(sq[:, None] + sq[None] - 2 * X @ X.T, 0.0))
    pos = y > 0
    w = np.where(pos, 0.5 / max(int(pos.sum()), 1), 0.5 / max(int((~pos).sum()), 1)) * len(y)
    alpha = np.linalg.solve(K + ridge * np.diag(1.0 / w), y)
    return KernelModel(X, alpha, float(gamma))


def krr_score(model: KernelModel, Q: np.ndarray) -> np.ndarray:
    """The classifier's output for each row of ``Q`` (positive: like the references)."""
    Q = np.atleast_2d(np.asarray(Q, np.float64))
    X = model.support
    d = np.sum(Q * Q, axis=1)[:, None] + np.sum(X * X, axis=1)[None] - 2 * Q @ X.T
    return np.exp(-model.gamma * np.maximum(d, 0.0)) @ model.alpha


@dataclass(frozen=True)
class WriterClassifierConfig:
    """The manifest's ``verify.scoring.writer_classifier`` block, validated."""

    kind: str
    cohort: str              # role in extra_files of the cohort embeddings (.npy, float, (m, D))
    ridge: float
    beta: float              # weight of d(q) in every per-reference similarity
    min_references: int      # fewer references: no classifier (the 3.0 transform and calibration alone)
    a: float                 # calibration of the fused similarity: p = σ(a·s + b)
    b: float

    @classmethod
    def from_mapping(cls, d: Any, where: str) -> "WriterClassifierConfig":
        from inference.signature.scoring import _num

        if not isinstance(d, Mapping):
            raise PackUnusableError(f"{where} must be an object.")
        kind = d.get("kind")
        if kind not in KINDS:
            raise PackUnusableError(f"{where}: unknown kind {kind!r} (known: {', '.join(KINDS)}).")
        cohort = d.get("cohort")
        if not isinstance(cohort, str) or not cohort:
            raise PackUnusableError(f"{where}: 'cohort' must name a file role in extra_files.")
        gamma = d.get("gamma", "scale")
        if gamma != "scale":
            raise PackUnusableError(f"{where}: 'gamma' must be \"scale\" (1 / (dims · variance)), not {gamma!r}.")
        ridge = _num(d, "ridge", where, 1e-6, 1e6)
        beta = _num(d, "beta", where, 0.0, 100.0)
        k = d.get("min_references", 1)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise PackUnusableError(f"{where}: 'min_references' must be a whole number >= 1.")
        cal = d.get("calibration")
        if not isinstance(cal, Mapping):
            raise PackUnusableError(f"{where}: 'calibration' must be an object with 'a' and 'b' (of the fused score).")
        a = _num(cal, "a", f"{where}.calibration", 1e-6)
        b = _num(cal, "b", f"{where}.calibration")
        return cls(kind, cohort, ridge, beta, k, a, b)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "cohort": self.cohort, "gamma": "scale", "ridge": self.ridge, "beta": self.beta,
                "min_references": self.min_references, "calibration": {"a": self.a, "b": self.b}}


def load_cohort(data: bytes, pack_id: str = "pack", dims: int | None = None) -> np.ndarray:
    """The cohort embeddings from the pack's checked bytes, as unit rows (float64)."""
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise PackUnusableError(f"Pack '{pack_id}': its cohort file cannot be read ({exc}).") from exc
    if not isinstance(arr, np.ndarray) or arr.ndim != 2 or len(arr) < 2 or not np.issubdtype(arr.dtype, np.floating):
        raise PackUnusableError(f"Pack '{pack_id}': its cohort file is not a 2-D array of embeddings.")
    if dims is not None and arr.shape[1] != dims:
        raise PackUnusableError(f"Pack '{pack_id}': its cohort has {arr.shape[1]} dims, the embedding has {dims}.")
    if not np.all(np.isfinite(arr)) or np.any(np.linalg.norm(arr, axis=1) < 1e-9):
        raise PackUnusableError(f"Pack '{pack_id}': its cohort has empty or non-finite embeddings.")
    return _unit(arr)


class WriterClassifier:
    """Fits the customer's classifier (once per reference set) and scores queries with it."""

    def __init__(self, cfg: WriterClassifierConfig, cohort: np.ndarray) -> None:
        self.cfg = cfg
        self.cohort = _unit(cohort)
        self._models: OrderedDict[tuple[str, ...], KernelModel] = OrderedDict()
        self._lock = threading.Lock()

    def applies(self, n: int) -> bool:
        return n >= self.cfg.min_references

    def fit(self, refs: np.ndarray) -> KernelModel:
        r = _unit(refs)
        X = np.concatenate([r, self.cohort])
        y = np.concatenate([np.ones(len(r)), -np.ones(len(self.cohort))])
        return krr_fit(X, y, self.cfg.ridge)

    def model_for(self, refs: np.ndarray, key: tuple[str, ...] | None = None) -> KernelModel:
        """The fitted classifier of ``refs``; with ``key`` (the references' SHA-256s, in order) it is
        fitted once per reference set and kept."""
        if key is None:
            return self.fit(refs)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        model = self.fit(refs)
        with self._lock:
            self._models[key] = model
            while len(self._models) > _MODELS:
                self._models.popitem(last=False)
        return model

    def shift(self, query: np.ndarray, refs: np.ndarray, key: tuple[str, ...] | None = None) -> float | None:
        """β·d(q): what is added to every per-reference similarity; None below ``min_references``
        (the classifier is not used: 3.0's score)."""
        if not self.applies(len(np.atleast_2d(refs))):
            return None
        if np.atleast_2d(refs).shape[1] != self.cohort.shape[1]:
            raise PackUnusableError(f"The writer classifier's cohort has {self.cohort.shape[1]} dims, the "
                                    f"embedding {np.atleast_2d(refs).shape[1]}: the pack's files do not belong together.")
        d = float(krr_score(self.model_for(refs, key), _unit(query))[0])
        if not math.isfinite(d):
            raise ValueError("the writer classifier gave a non-finite output")
        return self.cfg.beta * d


def writer_classifier(pack, cfg: WriterClassifierConfig) -> WriterClassifier:
    """The pack's classifier: its cohort read from the checked bytes of ``extra_files[cfg.cohort]``."""
    if cfg.cohort not in pack.manifest.extra_files:
        raise PackUnusableError(f"Pack '{pack.id}': the writer classifier's cohort '{cfg.cohort}' is not in extra_files.")
    return WriterClassifier(cfg, load_cohort(pack.read_file(cfg.cohort), pack.id))


__all__ = ["KINDS", "KernelModel", "WriterClassifier", "WriterClassifierConfig", "krr_fit", "krr_score",
           "load_cohort", "writer_classifier"]
