"""The verification protocol: n genuine references per writer, fused per-reference scores.

For every writer on a side and every draw, ``n`` references are drawn from the writer's genuine
signatures; the queries are the writer's other genuine signatures and all of its skilled forgeries.
A query's score is the app's recipe (:meth:`inference.signature.verifier.Verifier.fuse`):

    raw = fuse_r P(q, r) − λ · mean_{r ≠ r'} P(r, r')     (λ-term: reference normalisation)
    score = sigmoid(a · raw + b)                           (calibration fitted on validation)

with the prior (the mean genuine-pair probability on the training writers) in place of the
reference agreement when there is a single reference. Per-pair probabilities are computed once
per needed pair through a callback, so any n, fusion or λ is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from training.signatures import metrics
from training.signatures.data import Item, by_writer

FUSIONS = ("mean", "max")
PairProb = Callable[[np.ndarray], np.ndarray]  # rows (query, reference) -> P(genuine)


@dataclass(frozen=True)
class RefSet:
    writer: int
    draw: int
    refs: tuple[int, ...]
    queries: tuple[int, ...]


@dataclass(frozen=True)
class Scored:
    """Queries scored against reference sets."""

    y: np.ndarray          # 1 genuine, 0 forged
    fused: np.ndarray      # fused per-reference probability
    agreement: np.ndarray  # mean P between the references (nan with one reference)
    writer: np.ndarray
    query: np.ndarray
    n_refs: int

    def raw(self, lam: float, prior: float) -> np.ndarray:
        ref = np.where(np.isfinite(self.agreement), self.agreement, prior)
        return self.fused - lam * ref

    def score(self, lam: float, prior: float, calibration: dict | None = None) -> np.ndarray:
        raw = self.raw(lam, prior)
        if not calibration:
            return raw
        return 1.0 / (1.0 + np.exp(-(calibration["a"] * raw + calibration["b"])))


def draw_sets(items: Sequence[Item], writers: Sequence[int], n_refs: int, *, draws: int, seed: int) -> list[RefSet]:
    rng = np.random.default_rng(seed + 7919 * n_refs)
    out = []
    for w, (gen, forg) in by_writer(items, writers).items():
        for d in range(draws):
            refs = tuple(int(r) for r in rng.choice(gen, size=n_refs, replace=False))
            queries = tuple(g for g in gen if g not in refs) + tuple(forg)
            out.append(RefSet(w, d, refs, queries))
    return out


def needed_pairs(sets: Sequence[RefSet]) -> np.ndarray:
    """Unique (query, reference) rows the sets need, reference–reference pairs included."""
    pairs = set()
    for s in sets:
        pairs.update((q, r) for q in s.queries for r in s.refs)
        pairs.update((a, b) for a in s.refs for b in s.refs if a != b)
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def score_sets(items: Sequence[Item], sets: Sequence[RefSet], pair_prob: PairProb, fusion: str) -> Scored:
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}")
    pairs = needed_pairs(sets)
    probs = pair_prob(pairs)
    table = {(int(q), int(r)): float(p) for (q, r), p in zip(pairs, probs)}
    ys, fused, agree, ws, qs = [], [], [], [], []
    for s in sets:
        n = len(s.refs)
        if n >= 2:
            a = float(np.mean([table[(x, y)] for x in s.refs for y in s.refs if x != y]))
        else:
            a = float("nan")
        for q in s.queries:
            vals = np.array([table[(q, r)] for r in s.refs])
            fused.append(float(vals.mean() if fusion == "mean" else vals.max()))
            ys.append(1 if items[q].genuine else 0)
            agree.append(a)
            ws.append(s.writer)
            qs.append(q)
    n_refs = len(sets[0].refs) if sets else 0
    return Scored(np.array(ys), np.array(fused), np.array(agree), np.array(ws), np.array(qs), n_refs)


def table_prob(pairs: np.ndarray, probs: np.ndarray) -> PairProb:
    """A :data:`PairProb` from precomputed probabilities of (query, reference) rows."""
    table = {(int(q), int(r)): float(p) for (q, r), p in zip(pairs[:, :2], probs)}

    def lookup(rows: np.ndarray) -> np.ndarray:
        return np.array([table[(int(q), int(r))] for q, r in rows])

    return lookup


def per_writer(y: np.ndarray, score: np.ndarray, writer: np.ndarray, threshold: float) -> dict:
    """Spread over writers: each writer's EER and accuracy at the global threshold."""
    eers, accs, frrs, fars = [], [], [], []
    ws = np.unique(writer)
    for w in ws:
        m = writer == w
        e, _ = metrics.eer(y[m], score[m])
        r = metrics.rates_at(y[m], score[m], threshold)
        eers.append(e)
        accs.append(r["accuracy"])
        frrs.append(r["frr"])
        fars.append(r["far"])
    eers, accs = np.array(eers), np.array(accs)
    return {"writers": [int(w) for w in ws], "eer_mean": float(eers.mean()), "eer_std": float(eers.std()),
            "eer_min": float(eers.min()), "eer_max": float(eers.max()), "eer_median": float(np.median(eers)),
            "accuracy_mean": float(accs.mean()), "accuracy_std": float(accs.std()),
            "accuracy_min": float(accs.min()), "writers_perfect": int(np.sum(accs == 1.0)),
            "per_writer_eer": [round(float(v), 4) for v in eers],
            "per_writer_accuracy": [round(float(v), 4) for v in accs],
            "per_writer_frr": [round(float(v), 4) for v in frrs], "per_writer_far": [round(float(v), 4) for v in fars]}


def report(y: np.ndarray, score: np.ndarray, writer: np.ndarray, threshold: float,
           strict_threshold: float | None = None) -> dict:
    """Pooled metrics at the threshold (and the strict one), plus the per-writer spread."""
    out = metrics.summary(y, score, threshold)
    if strict_threshold is not None:
        out["strict"] = metrics.rates_at(y, score, strict_threshold)
    out["per_writer"] = per_writer(y, score, writer, threshold)
    return out
