"""CEDAR items, writer-disjoint splits and (query, reference) pairs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

SIDES = ("train", "val", "test")


class LeakageError(ValueError):
    """A writer appears on two sides of a split, or a pair mixes writers or sides."""


@dataclass(frozen=True)
class Item:
    """One signature image."""

    index: int
    path: Path
    writer: int
    sample: int
    genuine: bool

    @property
    def label(self) -> str:
        return "genuine" if self.genuine else "forged"


def load_items(root: str | Path) -> list[Item]:
    """Every row of ``manifest.csv`` (path, writer, sample, label), sorted by writer, label, sample."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: is the CEDAR folder at {root}?")
    rows = []
    with open(manifest, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["label"] not in ("genuine", "forged"):
                raise ValueError(f"unknown label {r['label']!r} in {manifest}")
            rows.append((int(r["writer"]), r["label"] != "genuine", int(r["sample"]), root / r["path"]))
    rows.sort()
    return [Item(i, p, w, s, not forged) for i, (w, forged, s, p) in enumerate(rows)]


def parse_writers(spec: str | Sequence[int]) -> list[int]:
    """``"1-27"`` / ``"1-5,9"`` / ``[1, 2]`` → sorted list of writer ids."""
    if not isinstance(spec, str):
        return sorted({int(x) for x in spec})
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return sorted(out)


def writer_split(split_cfg: dict) -> dict[str, list[int]]:
    """``{"train": [...], "val": [...], "test": [...]}`` from the config; raises on any overlap."""
    split = {side: parse_writers(split_cfg[side]) for side in SIDES}
    check_writer_split(split)
    return split


def check_writer_split(split: dict[str, Sequence[int]]) -> None:
    seen: dict[int, str] = {}
    for side in SIDES:
        for w in split.get(side, []):
            if w in seen:
                raise LeakageError(f"writer {w} is on both the {seen[w]} and the {side} side")
            seen[w] = side
        if not split.get(side):
            raise LeakageError(f"the {side} side has no writers")


def side_of(items: Sequence[Item], split: dict[str, Sequence[int]]) -> np.ndarray:
    """Side name per item ('' for writers in no side)."""
    where = {w: s for s, ws in split.items() for w in ws}
    return np.array([where.get(it.writer, "") for it in items], dtype=object)


def by_writer(items: Sequence[Item], writers: Iterable[int]) -> dict[int, tuple[list[int], list[int]]]:
    """writer → (indices of genuine, indices of forged), both sorted by sample."""
    wanted = set(writers)
    out: dict[int, tuple[list[int], list[int]]] = {w: ([], []) for w in sorted(wanted)}
    for it in items:
        if it.writer in wanted:
            out[it.writer][0 if it.genuine else 1].append(it.index)
    return out


def training_pairs(items: Sequence[Item], writers: Sequence[int], *, pos_per_writer: int, neg_per_writer: int,
                   seed: int) -> np.ndarray:
    """Rows (query, reference, y): y=1 genuine–genuine of one writer, y=0 skilled forgery vs genuine.

    References are always genuine; a pair never mixes writers. ``*_per_writer`` 0 = all pairs.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for w, (gen, forg) in by_writer(items, writers).items():
        pos = [(q, r, 1) for q in gen for r in gen if q != r]
        neg = [(q, r, 0) for q in forg for r in gen]
        for cand, k in ((pos, pos_per_writer), (neg, neg_per_writer)):
            if k and k < len(cand):
                pick = rng.choice(len(cand), size=k, replace=False)
                cand = [cand[i] for i in sorted(pick)]
            rows.extend(cand)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def all_reference_pairs(items: Sequence[Item], writers: Sequence[int]) -> np.ndarray:
    """Every (query, genuine reference) pair within each writer, query != reference: rows (q, r, y)."""
    rows = []
    for w, (gen, forg) in by_writer(items, writers).items():
        for r in gen:
            rows.extend((q, r, 1) for q in gen if q != r)
            rows.extend((q, r, 0) for q in forg)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def check_pairs(items: Sequence[Item], pairs: np.ndarray, writers: Sequence[int]) -> None:
    """Raise :class:`LeakageError` if a pair crosses writers, uses a writer outside ``writers``,
    uses a forged reference or compares an image with itself."""
    allowed = set(writers)
    for q, r, _ in pairs:
        iq, ir = items[q], items[r]
        if iq.writer != ir.writer:
            raise LeakageError(f"pair ({iq.path.name}, {ir.path.name}) mixes writers")
        if iq.writer not in allowed:
            raise LeakageError(f"writer {iq.writer} is not on this side of the split")
        if not ir.genuine:
            raise LeakageError(f"reference {ir.path.name} is a forgery")
        if q == r:
            raise LeakageError(f"{iq.path.name} is compared with itself")
