"""One score a person can read: per-reference and overall scores on one calibrated scale.

Used by signature-verify 3 (manifest ``verify.scoring``). The pack's CNN maps every normalised
signature to an embedding learned writer-independently; then, for a query and n references:

1. ``cos_i``: similarity of the query's embedding with reference i's — the cosine, or (when the pack
   has a ``pair_head`` file) a weighted cosine learned writer-independently, :class:`PairWeights`;
2. reference normalisation: ``s_i = cos_i − λ·(level − prior)``, where ``level`` is the mean
   cosine between the references themselves (how consistent this customer's hand is; ``prior``
   with fewer than 2 references). The shift is the same for every reference, so each per-reference
   score means the same thing whichever reference it is;
3. calibration: ``p_i = σ(a·s_i + b)``, the probability that query and reference i are by the same
   hand, fitted by logistic regression on cross-validated pairs (same writer vs skilled forgery);
3b. (``"mode": "writer_fused"``, signature-verify 3.1, from the block's ``min_references`` on) before
   calibration every ``s_i`` gains the same ``β·d(q)``, the output of a per-customer kernel classifier
   (the references against a cohort of other writers shipped with the pack), and the block's own
   calibration applies: :mod:`inference.signature.scoring_wd`. One shift for all references, so the
   order of the per-reference scores and step 4's guarantee are unchanged;
4. the overall score is a robust aggregate of the ``p_i`` (median, or a trimmed mean): it always
   lies between the lowest and the highest per-reference score, so a signature can never score
   higher overall than against its best reference.

The decision uses an operating point per number of references (``"1"``, ``"3"``, ``"5"``, ``"10"``;
the largest key ≤ n applies), for ``standard`` and ``strict`` documents: a threshold (accept as
genuine at or above it) and a review band ``[low, high)`` in which a person must look.
Everything numeric comes from the manifest and is validated here (:meth:`ScoringConfig.from_mapping`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from inference.errors import PackUnusableError
from inference.results import ReviewReason

if TYPE_CHECKING:
    from inference.signature.scoring_wd import WriterClassifierConfig

AGGREGATES = ("median", "trimmed_mean", "mean")
POINTS = ("standard", "strict")
MODES = ("reference_normalized", "writer_fused")


def _num(d: Mapping[str, Any], key: str, where: str, lo: float | None = None, hi: float | None = None) -> float:
    if key not in d:
        raise PackUnusableError(f"{where}: '{key}' is missing.")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise PackUnusableError(f"{where}: '{key}' must be a finite number, not {v!r}.")
    v = float(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise PackUnusableError(f"{where}: '{key}' = {v} is outside [{lo}, {hi}].")
    return v


@dataclass(frozen=True)
class OperatingPoint:
    """Accept as genuine when ``score >= threshold``; a person reviews when ``low <= score < high``."""

    threshold: float
    low: float
    high: float

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any], where: str) -> "OperatingPoint":
        if not isinstance(d, Mapping):
            raise PackUnusableError(f"{where} must be an object.")
        t = _num(d, "threshold", where, 0.0, 1.0)
        band = d.get("review")
        if not isinstance(band, (list, tuple)) or len(band) != 2:
            raise PackUnusableError(f"{where}: 'review' must be [low, high].")
        low = _num({"low": band[0]}, "low", where, 0.0, 1.0)
        high = _num({"high": band[1]}, "high", where, 0.0, 1.0)
        if not low <= t <= high:
            raise PackUnusableError(f"{where}: the threshold {t} must lie inside its review band [{low}, {high}].")
        return cls(t, low, high)

    def as_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "review": [self.low, self.high]}


@dataclass(frozen=True)
class ScoringConfig:
    """The manifest's ``verify.scoring`` block, validated."""

    a: float                 # calibration slope (> 0: more similar = more likely the same hand)
    b: float                 # calibration intercept
    ref_lambda: float        # reference normalisation strength (0 = off)
    ref_prior: float         # mean reference-to-reference cosine on the development writers
    aggregate: str           # "median" | "trimmed_mean" | "mean"
    trim: float              # share cut from each end by "trimmed_mean"
    points: Mapping[int, Mapping[str, OperatingPoint]]
    outlier_floor: float | None  # a reference whose mean cosine to the others is below this is odd
    min_references: int
    mode: str = "reference_normalized"   # "writer_fused": + β·d(q) of the customer's classifier
    writer: WriterClassifierConfig | None = None

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None, pack_id: str = "pack") -> "ScoringConfig":
        where = f"Pack '{pack_id}': verify.scoring"
        if not isinstance(d, Mapping):
            raise PackUnusableError(f"{where} must be an object.")
        cal = d.get("calibration") or {}
        a = _num(cal, "a", f"{where}.calibration", 1e-6)
        b = _num(cal, "b", f"{where}.calibration")
        norm = d.get("reference_normalization") or {"lambda": 0.0, "prior": 0.0}
        lam = _num(norm, "lambda", f"{where}.reference_normalization", 0.0, 2.0)
        prior = _num(norm, "prior", f"{where}.reference_normalization", -1.0, 1.0)
        agg = d.get("aggregate", "median")
        if agg not in AGGREGATES:
            raise PackUnusableError(f"{where}: unknown aggregate {agg!r} (known: {', '.join(AGGREGATES)}).")
        trim = _num(d, "trim", where, 0.0, 0.49) if "trim" in d else 0.2
        raw_points = d.get("operating_points")
        if not isinstance(raw_points, Mapping) or not raw_points:
            raise PackUnusableError(f"{where}: 'operating_points' must map reference counts to points.")
        points: dict[int, dict[str, OperatingPoint]] = {}
        for k, v in raw_points.items():
            if not str(k).isdigit() or int(k) < 1:
                raise PackUnusableError(f"{where}: operating point key {k!r} is not a reference count.")
            if not isinstance(v, Mapping) or "standard" not in v:
                raise PackUnusableError(f"{where}: operating point {k} has no 'standard' point.")
            points[int(k)] = {p: OperatingPoint.from_mapping(v[p], f"{where}.operating_points.{k}.{p}")
                              for p in POINTS if p in v}
        floor = d.get("reference_outlier_floor")
        if floor is not None:
            floor = _num(d, "reference_outlier_floor", where, -1.0, 1.0)
        min_refs = d.get("min_references", 1)
        if not isinstance(min_refs, int) or isinstance(min_refs, bool) or min_refs < 1:
            raise PackUnusableError(f"{where}: 'min_references' must be a whole number >= 1.")
        mode = d.get("mode", "reference_normalized")
        if mode not in MODES:
            raise PackUnusableError(f"{where}: unknown mode {mode!r} (known: {', '.join(MODES)}).")
        writer = None
        if mode == "writer_fused":
            from inference.signature.scoring_wd import WriterClassifierConfig

            if "writer_classifier" not in d:
                raise PackUnusableError(f"{where}: mode 'writer_fused' needs a 'writer_classifier' block.")
            writer = WriterClassifierConfig.from_mapping(d["writer_classifier"], f"{where}.writer_classifier")
        elif "writer_classifier" in d:  # a block that would silently do nothing
            raise PackUnusableError(f"{where}: 'writer_classifier' is only used with mode 'writer_fused'.")
        return cls(a, b, lam, prior, agg, trim, points, floor, min_refs, mode, writer)

    def point(self, n: int, strict: bool = False) -> tuple[OperatingPoint, str]:
        """The operating point for ``n`` references: the largest key ≤ n (else the smallest)."""
        keys = sorted(self.points)
        below = [k for k in keys if k <= n]
        table = self.points[below[-1] if below else keys[0]]
        if strict and "strict" in table:
            return table["strict"], "strict"
        return table["standard"], "standard"


@dataclass(frozen=True, eq=False)
class PairWeights:
    """A learned similarity of unit embeddings q̂, r̂: ``w_abs·|q̂ − r̂| + w_prod·(q̂ ∘ r̂) + bias``
    (the pack's ``pair_head`` file; plain cosine is w_abs = 0, w_prod = 1, bias = 0)."""

    w_abs: np.ndarray
    w_prod: np.ndarray
    bias: float

    @classmethod
    def from_bytes(cls, data: bytes, pack_id: str = "pack") -> "PairWeights":
        import io

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as d:
                w_abs, w_prod = np.asarray(d["w_abs"], np.float64), np.asarray(d["w_prod"], np.float64)
                bias = float(np.asarray(d["bias"]).reshape(-1)[0])
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise PackUnusableError(f"Pack '{pack_id}': its pair_head file cannot be read ({exc}).") from exc
        if w_abs.ndim != 1 or w_abs.shape != w_prod.shape or not (np.all(np.isfinite(w_abs))
                                                                  and np.all(np.isfinite(w_prod)) and math.isfinite(bias)):
            raise PackUnusableError(f"Pack '{pack_id}': its pair_head weights are not two finite vectors of one length.")
        return cls(w_abs, w_prod, bias)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, np.float64))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def similarity(query: np.ndarray, refs: np.ndarray, head: PairWeights | None = None) -> np.ndarray:
    """Similarity of one embedding (D,) with each row of ``refs``: cosine, or the learned ``head``."""
    if head is None:
        return cosine(query, refs)
    q, r = _unit(query), _unit(refs)
    if q.shape[1] != head.w_abs.shape[0]:
        raise ValueError(f"embedding has {q.shape[1]} dims, the pair head expects {head.w_abs.shape[0]}")
    return np.abs(r - q) @ head.w_abs + (r * q) @ head.w_prod + head.bias


def cosine(query: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Cosine similarity of one embedding (D,) with each row of ``refs`` (n, D)."""
    q = np.asarray(query, np.float64)
    r = np.atleast_2d(np.asarray(refs, np.float64))
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    return r @ q


def reference_agreement(refs: np.ndarray, head: PairWeights | None = None) -> np.ndarray:
    """For each reference: its mean similarity with the other references (NaN with fewer than 2)."""
    r = np.atleast_2d(np.asarray(refs, np.float64))
    n = len(r)
    if n < 2:
        return np.full(n, np.nan)
    sim = np.stack([similarity(r[i], r, head) for i in range(n)])
    return (sim.sum(axis=1) - np.diag(sim)) / (n - 1)


def level_of(agreement: np.ndarray, prior: float) -> float:
    """The references' consistency: the mean of their agreement, ``prior`` with fewer than 2."""
    a = np.asarray(agreement, np.float64)
    return float(np.mean(a)) if len(a) >= 2 and np.all(np.isfinite(a)) else float(prior)


def per_reference(cos: np.ndarray, level: float, cfg: ScoringConfig, shift: float | None = None) -> np.ndarray:
    """Calibrated P(same hand) of the query against each reference (one scale for all); ``shift``:
    the writer classifier's β·d(q), the same for every reference, calibrated with the classifier's
    own calibration (None: no classifier, the pack's calibration)."""
    s = np.asarray(cos, np.float64) - cfg.ref_lambda * (float(level) - cfg.ref_prior)
    a, b = cfg.a, cfg.b
    if shift is not None:
        if cfg.writer is None:
            raise ValueError("a writer-classifier shift needs a 'writer_fused' scoring block")
        s = s + float(shift)
        a, b = cfg.writer.a, cfg.writer.b
    return 1.0 / (1.0 + np.exp(-(a * s + b)))


def aggregate(scores: np.ndarray, how: str = "median", trim: float = 0.2) -> float:
    """Robust mean of per-reference scores; always within [min, max] of them."""
    p = np.sort(np.asarray(scores, np.float64))
    if len(p) == 0:
        raise ValueError("no per-reference scores to aggregate")
    if how == "median":
        return float(np.median(p))
    if how == "trimmed_mean":
        k = int(np.floor(trim * len(p)))
        return float(np.mean(p[k:len(p) - k])) if len(p) - 2 * k > 0 else float(np.median(p))
    if how == "mean":
        return float(np.mean(p))
    raise ValueError(f"unknown aggregate {how!r}")


@dataclass(frozen=True)
class Scored:
    """Per-reference and overall scores of one query, and the raw numbers behind them."""

    per_reference: np.ndarray
    overall: float
    cosines: np.ndarray
    agreement: np.ndarray
    level: float
    shift: float | None = None  # β·d(q) added to every per-reference similarity (None: no classifier)


def score(query: np.ndarray, refs: np.ndarray, cfg: ScoringConfig, agreement: np.ndarray | None = None,
          head: PairWeights | None = None, shift: float | None = None) -> Scored:
    """Score one query embedding against reference embeddings (``agreement`` may be precomputed);
    ``head``: the pack's learned pair similarity (None: cosine); ``shift``: the writer classifier's
    β·d(q) (:class:`inference.signature.scoring_wd.WriterClassifier`), None for 3.0-style packs and
    below the classifier's ``min_references``."""
    cos = similarity(query, refs, head)
    agr = reference_agreement(refs, head) if agreement is None else np.asarray(agreement, np.float64)
    level = level_of(agr, cfg.ref_prior)
    per = per_reference(cos, level, cfg, shift)
    return Scored(per, aggregate(per, cfg.aggregate, cfg.trim), cos, agr, level,
                  None if shift is None else float(shift))


def scoring_reasons(overall: float, n: int, point: OperatingPoint, agreement: np.ndarray,
                    sources, cfg: ScoringConfig) -> list[ReviewReason]:
    """Why a person must look, as codes with parameters (words: inference.wording)."""
    reasons: list[ReviewReason] = []
    if point.low <= overall < point.high:
        reasons.append(ReviewReason("signature_band", {"score": float(overall), "low": point.low,
                                                       "high": point.high, "n": n}))
    if n < cfg.min_references:
        reasons.append(ReviewReason("few_references", {"n": n, "minimum": cfg.min_references,
                                                       "eer_n": None, "eer_min": None}))
    agr = np.asarray(agreement, np.float64)
    if cfg.outlier_floor is not None and n >= 3 and np.all(np.isfinite(agr)):
        for src, a in zip(sources, agr):
            if a < cfg.outlier_floor:
                reasons.append(ReviewReason("reference_outlier", {"source": str(src), "agreement": float(a)}))
    return reasons


__all__ = ["AGGREGATES", "PairWeights", "scoring_reasons", "similarity", "OperatingPoint", "Scored", "ScoringConfig", "aggregate", "cosine", "level_of",
           "per_reference", "reference_agreement", "score"]
