"""Train / validation / test splits that never separate a group and keep the class balance.

- With groups (lesion, writer, seal...): ``StratifiedGroupKFold``. The test side is one fold of
  ``round(1 / test)`` folds; the validation side is one fold of the rest. Every group lands on
  exactly one side, and each side's class mix follows the whole set as closely as groups allow.
- Without any group: a stratified random split (``train_test_split(stratify=...)``). This is the
  only case where images are split one by one.

With more than one data source (:func:`split_pools`) each source is split on its own: a source
that is carved gives train/val/test as above, a train/val-only source is split into train and
validation (``val`` of it), and a test-only source (``test_data``, e.g. a render with another seed
and unseen backgrounds) is the whole test side.

The split is recorded in the run folder (``split.csv``: id, path, label, group, side, then any
extra columns such as the source, the columns the evaluation compares, or a mask path) so a run
can be audited and the export evaluates exactly the held-out test images.
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


def split_train_val(samples: list[Sample], *, val: float, seed: int) -> dict[str, list[Sample]]:
    """Train/validation only (no test side): ``val`` of the samples, grouped and stratified as above."""
    if len(samples) < 2:
        raise SplitError(f"need at least 2 images to split into train and validation, got {len(samples)}")
    groups = [s.group for s in samples]
    g = None
    if any(x is not None for x in groups):
        g = np.asarray([str(x) if x is not None else f"__item{i}" for i, x in enumerate(groups)], dtype=object)
    labels = np.asarray([s.strat_key for s in samples], dtype=object).astype(str)
    # seed + 1: the same stream split_indices uses for its validation fold.
    mask = _fold(labels, g, val, seed + 1)
    out = {"train": [x for x, m in zip(samples, mask) if not m], "val": [x for x, m in zip(samples, mask) if m],
           "test": []}
    for side in ("train", "val"):
        if not out[side]:
            raise SplitError(f"the {side} side came out empty: too few images or groups to split")
    return out


def _split_by_holdout(samples: list[Sample], holdout: str, name: str, *, val: float, test: float,
                      seed: int) -> dict[str, list[Sample]]:
    if not samples:
        return {s: [] for s in SIDES}
    if holdout == "all":
        return {"train": [], "val": [], "test": list(samples)}
    if holdout == "carve":
        return split_samples(samples, val=val, test=test, seed=seed)
    if holdout == "none":
        return split_train_val(samples, val=val, seed=seed)
    raise SplitError(f"unknown holdout {holdout!r} for source {name}")


# Test-only sources claim their groups first, then the carved ones, then train/val-only ones.
_CLAIM_ORDER = {"all": 0, "carve": 1, "none": 2}


def split_pools(pools: list, *, val: float, test: float, seed: int,
                dropped: list[Sample] | None = None, unshared: list[Sample] | None = None) -> dict[str, list[Sample]]:
    """Split every data source by its ``holdout`` (carve / none / all, see the module docstring).
    A single carved source gives exactly :func:`split_samples`.

    Groups are kept together *across* sources: the same lesion in two folders (e.g. HAM10000 at
    224 px and at 200x150) lands on one side. Test-only sources place their groups first, then the
    carved sources, then the train/val-only ones; an image whose group another source already put
    on a side goes to that side. A train/val-only source's image of a group that is on the test
    side cannot go anywhere without leaking: it is left out and appended to ``dropped``."""
    if len(pools) == 1 and pools[0].holdout == "carve":
        return split_samples(pools[0].dataset.samples, val=val, test=test, seed=seed)
    out: dict[str, list[Sample]] = {s: [] for s in SIDES}
    claimed: dict[str, str] = {}
    parts: dict[int, dict[str, list[Sample]]] = {}
    for i in sorted(range(len(pools)), key=lambda k: _CLAIM_ORDER.get(pools[k].holdout, 3)):
        pool = pools[i]
        samples = pool.dataset.samples
        free = [x for x in samples if x.group is None or x.group not in claimed]
        bound = [x for x in samples if x.group is not None and x.group in claimed]
        if getattr(pool, "only_shared_groups", False):
            if unshared is not None:
                unshared.extend(free)
            free = []
        part = _split_by_holdout(free, pool.holdout, pool.name, val=val, test=test, seed=seed)
        for x in bound:
            side = "test" if pool.holdout == "all" else claimed[x.group]
            if pool.holdout == "all" and claimed[x.group] != "test":
                raise SplitError(f"group {x.group} of the test-only source {pool.name} is also on the "
                                 f"{claimed[x.group]} side of another test-only source")
            if pool.holdout == "none" and side == "test":
                if dropped is not None:
                    dropped.append(x)
                continue
            part[side].append(x)
        for side in SIDES:
            for x in part[side]:
                if x.group is not None:
                    claimed.setdefault(x.group, side)
        parts[i] = part
    for i in range(len(pools)):  # the sources' own order, as before groups were shared
        for side in SIDES:
            out[side].extend(parts[i][side])
    for side in SIDES:
        if not out[side]:
            raise SplitError(f"the {side} side came out empty: no data source gives {side} images")
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


def split_summary(split: dict[str, list[Sample]], class_names: list[str], pools: list | None = None) -> dict:
    """Counts per class per side, groups per side, and the grouping used; with ``pools`` also the
    sources (name, description, holdout, images per side)."""
    out: dict = {"per_class": {}, "totals": {}, "groups": {}}
    for side in SIDES:
        c = Counter(s.label for s in split[side])
        out["per_class"][side] = {name: c.get(name, 0) for name in class_names}
        out["totals"][side] = len(split[side])
        out["groups"][side] = len({s.group for s in split[side] if s.group is not None})
    out["grouped"] = any(out["groups"].values())
    if pools is not None and (len(pools) > 1 or pools[0].holdout != "carve"):
        out["sources"] = []
        for pool in pools:
            per_side = {side: sum(1 for s in split[side] if s.extra.get("source") == pool.name) for side in SIDES}
            out["sources"].append({"name": pool.name, "description": pool.dataset.description,
                                   "holdout": pool.holdout, "per_side": per_side})
    return out


BASE_COLUMNS = ("id", "path", "label", "group", "side")


def write_split(split: dict[str, list[Sample]], path: Path, extra_columns: Sequence[str] = ()) -> None:
    """``split.csv``: one row per image with its side, then ``extra_columns`` taken from each
    sample's ``extra`` (empty where a sample lacks one)."""
    extra_columns = [c for c in dict.fromkeys(extra_columns) if c not in BASE_COLUMNS]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*BASE_COLUMNS, *extra_columns])
        for side in SIDES:
            for s in split[side]:
                w.writerow([s.id, str(s.path), s.label, s.group or "", side,
                            *(s.extra.get(c, "") for c in extra_columns)])


def read_split(path: Path) -> dict[str, list[Sample]]:
    """Read ``split.csv`` back (paths as recorded; extra columns into each sample's ``extra``)."""
    out: dict[str, list[Sample]] = {s: [] for s in SIDES}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            extra = {k: v for k, v in r.items() if k not in BASE_COLUMNS}
            out[r["side"]].append(Sample(r["id"], Path(r["path"]), r["label"], r["group"] or None, extra=extra))
    return out
