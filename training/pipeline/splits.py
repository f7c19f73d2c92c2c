"""Train / validation / test splits that never separate a group and keep the class balance.

- With groups (lesion, writer, seal...): ``StratifiedGroupKFold``. The test side is one fold of
  ``round(1 / test)`` folds; the validation side is one fold of the rest. Every group lands on
  exactly one side, and each side's class mix follows the whole set as closely as groups allow.
- Without any group: a stratified random split (``train_test_split(stratify=...)``). This is the
  only case where images are split one by one.

The split is recorded in the run folder (``split.csv``: id, path, label, group, side) so a run can
be audited and the export evaluates exactly the held-out test images.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from training.pipeline.datasets import Sample

SIDES = ("train", "val", "test")


class SplitError(ValueError):
    """The data cannot be split as asked (too few groups or images)."""


def _fold(labels: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the held-out part (about ``fraction`` of the items)."""
    n = len(labels)
    if groups is None:
        from sklearn.model_selection import train_test_split

        idx = np.arange(n)
        counts = Counter(labels.tolist())
        stratify = labels if min(counts.values()) >= 2 else None
        n_out = max(1, int(round(fraction * n)))
        if stratify is not None and n_out < len(counts):
            stratify = None
        _, held = train_test_split(idx, test_size=n_out, random_state=seed, stratify=stratify)
        mask = np.zeros(n, bool)
        mask[held] = True
        return mask
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups.tolist()))
    n_splits = min(max(2, int(round(1.0 / fraction))), n_groups)
    if n_splits < 2:
        raise SplitError(f"need at least 2 groups to hold some out, found {n_groups}")
    import warnings

    with warnings.catch_warnings():
        # Tiny classes (fewer members than folds) are allowed; the split is still grouped.
        warnings.filterwarnings("ignore", message="The least populated class")
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        _, held = next(cv.split(np.zeros(n), labels, groups))
    mask = np.zeros(n, bool)
    mask[held] = True
    return mask


def split_indices(labels: Sequence[str], groups: Sequence[str | None] | None, *, val: float, test: float,
                  seed: int) -> np.ndarray:
    """Side per item (array of 'train'/'val'/'test'). Items with group None count as their own group
    when other items have groups."""
    labels = np.asarray(labels, dtype=object).astype(str)
    n = len(labels)
    if n < 3:
        raise SplitError(f"need at least 3 images to split, got {n}")
    grouped = groups is not None and any(g is not None for g in groups)
    g = None
    if grouped:
        g = np.asarray([str(x) if x is not None else f"__item{i}" for i, x in enumerate(groups)], dtype=object)
    side = np.full(n, "train", dtype=object)
    test_mask = _fold(labels, g, test, seed)
    side[test_mask] = "test"
    rest = np.flatnonzero(~test_mask)
    # val is a fraction of the whole set: of the remainder it is val / (1 - test).
    val_mask = _fold(labels[rest], None if g is None else g[rest], val / (1.0 - test), seed + 1)
    side[rest[val_mask]] = "val"
    for s in SIDES:
        if not np.any(side == s):
            raise SplitError(f"the {s} side came out empty: too few images or groups to split")
    return side


def split_samples(samples: list[Sample], *, val: float, test: float, seed: int) -> dict[str, list[Sample]]:
    """Split samples into ``{"train": [...], "val": [...], "test": [...]}`` (see module docstring)."""
    groups = [s.group for s in samples]
    side = split_indices([s.strat_key for s in samples], groups if any(groups) else None,
                         val=val, test=test, seed=seed)
    out = {s: [] for s in SIDES}
    for sample, sd in zip(samples, side):
        out[sd].append(sample)
    check_disjoint(out)
    return out


def check_disjoint(split: dict[str, list[Sample]]) -> None:
    """Raise if an id or a group appears on two sides."""
    seen_ids: dict[str, str] = {}
    seen_groups: dict[str, str] = {}
    for side, samples in split.items():
        for s in samples:
            if seen_ids.setdefault(s.id, side) != side:
                raise SplitError(f"image {s.id} is on two sides")
            if s.group is not None and seen_groups.setdefault(s.group, side) != side:
                raise SplitError(f"group {s.group} is on {seen_groups[s.group]} and {side}")


def split_summary(split: dict[str, list[Sample]], class_names: list[str]) -> dict:
    """Counts per class per side, groups per side, and the grouping used."""
    out: dict = {"per_class": {}, "totals": {}, "groups": {}}
    for side in SIDES:
        c = Counter(s.label for s in split[side])
        out["per_class"][side] = {name: c.get(name, 0) for name in class_names}
        out["totals"][side] = len(split[side])
        out["groups"][side] = len({s.group for s in split[side] if s.group is not None})
    out["grouped"] = any(out["groups"].values())
    return out


def write_split(split: dict[str, list[Sample]], path: Path) -> None:
    """``split.csv``: one row per image with its side."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "path", "label", "group", "side"])
        for side in SIDES:
            for s in split[side]:
                w.writerow([s.id, str(s.path), s.label, s.group or "", side])


def read_split(path: Path) -> dict[str, list[Sample]]:
    """Read ``split.csv`` back (paths as recorded)."""
    out: dict[str, list[Sample]] = {s: [] for s in SIDES}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["side"]].append(Sample(r["id"], Path(r["path"]), r["label"], r["group"] or None))
    return out
