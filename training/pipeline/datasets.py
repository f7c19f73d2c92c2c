"""Datasets: labelled image paths from a folder per class or from a CSV table.

- **Folder**: ``PATH/<class>/*.jpg`` (any image extension Tilik reads, searched recursively
  inside each class folder). Optional ``group_pattern``: a regex on the file name whose first
  group is the group key (e.g. ``original_(\\d+)_`` for a signature writer).
- **CSV**: a path column (relative to ``root``, default the CSV's folder), a label column and
  optional group, id and stratify columns; ``label_map`` renames raw labels to class names.

Missing folders and files raise :class:`~training.pipeline.config.DataNotFoundError` with a message
that says what was expected and how to point the command at other data.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from inference.imageio import IMAGE_EXTENSIONS
from training.pipeline.config import ConfigError, DataNotFoundError, normalise_classes, resolve_path


@dataclass(frozen=True)
class Sample:
    """One labelled image. ``group`` keeps related images (same lesion, writer...) together."""

    id: str
    path: Path
    label: str
    group: str | None = None
    stratum: str | None = None  # what the split stratifies on (default: the label)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def strat_key(self) -> str:
        return self.stratum if self.stratum is not None else self.label


@dataclass
class Dataset:
    """The samples and the class list (in the order the model outputs them)."""

    samples: list[Sample]
    classes: list[dict]
    description: str

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in self.classes]

    @property
    def has_groups(self) -> bool:
        return any(s.group is not None for s in self.samples)

    def counts(self) -> dict[str, int]:
        c = Counter(s.label for s in self.samples)
        return {name: c.get(name, 0) for name in self.class_names}


def _missing(path: Path, what: str, hint: str) -> DataNotFoundError:
    return DataNotFoundError(f"{what} not found: {path}\n{hint}")


_HINT = ("Point the config at existing data, or pass --data PATH (a folder with one sub-folder per "
         "class, or a CSV file with the config's columns).")


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def load_folder(folder: str | Path, classes: list[dict] | None = None, *,
                group_pattern: str | None = None) -> Dataset:
    """Samples from ``folder/<class>/...``. With ``classes`` given, exactly those sub-folders are read
    (each must exist); otherwise every sub-folder that holds images is a class, in sorted order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _missing(folder, "data folder", _HINT)
    if classes:
        names = [c["name"] for c in classes]
        for name in names:
            if not (folder / name).is_dir():
                raise _missing(folder / name, f"folder for class '{name}'", _HINT)
    else:
        names = sorted(p.name for p in folder.iterdir()
                       if p.is_dir() and not p.name.startswith(".") and any(_is_image(f) for f in p.rglob("*")))
        classes = normalise_classes(names)
    if len(names) < 2:
        raise ConfigError(f"{folder}: need at least two class folders with images, found {names}")
    regex = re.compile(group_pattern) if group_pattern else None
    samples = []
    for name in names:
        files = sorted(f for f in (folder / name).rglob("*") if _is_image(f))
        if not files:
            raise ConfigError(f"class folder {folder / name} holds no images")
        for f in files:
            group = None
            if regex is not None:
                m = regex.search(f.name)
                if not m:
                    raise ConfigError(f"group_pattern {group_pattern!r} does not match {f.name}")
                group = m.group(1)
            samples.append(Sample(id=f.relative_to(folder).as_posix(), path=f, label=name, group=group))
    return Dataset(samples, list(classes), f"folder {folder}")


def load_csv(csv_path: str | Path, *, path_column: str = "path", label_column: str = "label",
             group_column: str | None = None, id_column: str | None = None,
             stratify_column: str | None = None, root: str | Path | None = None,
             classes: list[dict] | None = None, label_map: dict | None = None,
             path_columns: Sequence[str] = ()) -> Dataset:
    """Samples from a CSV table. Image paths are relative to ``root`` (default: the CSV's folder),
    and so are the values of ``path_columns`` (e.g. a defect-mask column), which are stored resolved
    in each sample's ``extra`` (empty values stay empty; a column the table lacks is ignored)."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise _missing(csv_path, "data table (CSV)", _HINT)
    root = Path(root) if root else csv_path.parent
    if not root.is_dir():
        raise _missing(root, "image folder of the CSV", _HINT)
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        rows = list(reader)
    for col in (path_column, label_column, group_column, id_column, stratify_column):
        if col and col not in columns:
            raise ConfigError(f"{csv_path} has no column '{col}' (it has: {', '.join(columns)})")
    label_map = label_map or {}
    raw_labels = [label_map.get(r[label_column], r[label_column]) for r in rows]
    if classes:
        names = [c["name"] for c in classes]
        unknown = sorted(set(raw_labels) - set(names))
        if unknown:
            raise ConfigError(f"{csv_path}: labels {unknown} are not among the classes {names} "
                              "(add them to 'classes' or map them with data.label_map)")
    else:
        classes = normalise_classes(sorted(set(raw_labels)))
    samples, missing = [], []
    for r, label in zip(rows, raw_labels):
        path = Path(r[path_column])
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            missing.append(path)
            continue
        group = r[group_column] if group_column and r[group_column] != "" else None
        samples.append(Sample(
            id=r[id_column] if id_column else r[path_column], path=path, label=label, group=group,
            stratum=label_map.get(r[stratify_column], r[stratify_column]) if stratify_column else None,
            extra={k: (_resolve_extra(v, root) if k in path_columns else v) for k, v in r.items()},
        ))
    if missing:
        raise _missing(missing[0], f"{len(missing)} of {len(rows)} images listed in {csv_path.name}, e.g.", _HINT)
    if len({s.id for s in samples}) != len(samples):
        raise ConfigError(f"{csv_path}: ids are not unique (set data.id_column to a unique column)")
    return Dataset(samples, list(classes), f"table {csv_path}")


def _resolve_extra(value: str | None, root: Path) -> str:
    if not value:
        return ""
    p = Path(value)
    return str(p if p.is_absolute() else root / p)


def limit_per_class(ds: Dataset, limit: int | None, seed: int) -> Dataset:
    """Keep at most ``limit`` samples per class, chosen at random (seeded), whole groups at a time."""
    if not limit:
        return ds
    rng = random.Random(seed)
    by_class: dict[str, dict[str, list[Sample]]] = {}
    for s in ds.samples:
        by_class.setdefault(s.label, {}).setdefault(s.group or s.id, []).append(s)
    kept = []
    for label, groups in by_class.items():
        keys = sorted(groups)
        rng.shuffle(keys)
        n = 0
        for k in keys:
            if n >= limit:
                break
            kept.extend(groups[k])
            n += len(groups[k])
    kept_ids = {s.id for s in kept}
    return Dataset([s for s in ds.samples if s.id in kept_ids], ds.classes,
                   ds.description + f" (at most {limit} per class)")


def load_dataset(cfg: dict) -> Dataset:
    """The dataset a config names (after ``--data`` overrides), limited when ``limit_per_class`` is set."""
    return load_source(cfg["data"], cfg["classes"] or None, cfg["seed"], path_columns=_path_columns(cfg))


def _path_columns(cfg: dict) -> tuple[str, ...]:
    cols = []
    masks = (cfg.get("evaluation") or {}).get("masks")
    if masks and masks.get("column"):
        cols.append(masks["column"])
    ml = (cfg.get("schedule") or {}).get("mask_loss")
    if ml and ml.get("column"):
        cols.append(ml["column"])
    return tuple(dict.fromkeys(cols))


@dataclass
class Pool:
    """One data source and which sides it feeds: ``carve`` (train/val/test), ``none`` (train/val)
    or ``all`` (test only)."""

    name: str
    dataset: Dataset
    holdout: str
    only_shared_groups: bool = False  # keep only images whose group an earlier source placed


def load_pools(cfg: dict) -> list[Pool]:
    """Every data source of ``cfg`` (data, extra_data, test_data) as a :class:`Pool`. The first one
    fixes the classes; ids and groups of the others get their source name as a prefix
    (``test_data:intact/seal_000001.jpg``) so two renders with the same file names never collide;
    a source with ``share_groups`` keeps its group names (the same lesion in two folders).
    Every sample's ``extra["source"]`` names its source."""
    from training.pipeline.config import data_sources

    pools: list[Pool] = []
    classes = cfg["classes"] or None
    for name, src, holdout in data_sources(cfg):
        ds = load_source(src, classes, cfg["seed"], path_columns=_path_columns(cfg))
        if classes is None:
            classes = ds.classes
        samples = []
        for x in ds.samples:
            extra = dict(x.extra)
            extra["source"] = name
            if name == "data":
                samples.append(Sample(x.id, x.path, x.label, x.group, x.stratum, extra))
            else:
                # share_groups: the same group name means the same thing (a lesion) in both sources.
                group = x.group if x.group is None or src.get("share_groups") else f"{name}:{x.group}"
                samples.append(Sample(f"{name}:{x.id}", x.path, x.label, group, x.stratum, extra))
        only_shared = bool(src.get("only_shared_groups"))
        if only_shared and not (src.get("share_groups") and holdout == "none"):
            raise ConfigError(f"{name}: only_shared_groups needs share_groups: true on a train/validation-only "
                              "(extra_data) source")
        pools.append(Pool(name, Dataset(samples, list(classes), ds.description), holdout, only_shared))
    return pools


def load_source(d: dict, classes: list[dict] | None, seed: int, path_columns: Sequence[str] = ()) -> Dataset:
    """The images one data-source block names (``data``, an ``extra_data`` entry or ``test_data``)."""
    if d["format"] == "folder":
        folder = resolve_path(d["folder"])
        if folder is None:
            raise ConfigError("data.folder is not set (or pass --data PATH)")
        ds = load_folder(folder, classes, group_pattern=d.get("group_pattern"))
    else:
        csv_path = resolve_path(d["csv"])
        if csv_path is None:
            raise ConfigError("data.csv is not set (or pass --data FILE.csv)")
        ds = load_csv(csv_path, path_column=d["path_column"], label_column=d["label_column"],
                      group_column=d["group_column"], id_column=d["id_column"],
                      stratify_column=d["stratify_column"], root=resolve_path(d["root"]),
                      classes=classes, label_map=d["label_map"], path_columns=path_columns)
    counts = ds.counts()
    empty = [k for k, v in counts.items() if v == 0]
    if empty:
        raise ConfigError(f"classes with no images in {ds.description}: {empty}")
    return limit_per_class(ds, d["limit_per_class"], seed)
