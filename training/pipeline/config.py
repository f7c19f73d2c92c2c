"""Pack training configs: YAML files merged over :data:`DEFAULTS`, checked, with paths resolved.

Relative paths in a config (``data.csv``, ``data.root``, ``data.folder``, OOD set paths) are taken
relative to the repository root, so the bundled configs can say ``../shared/data/...``. A path
given on the command line (``--data``) is taken relative to the current directory.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """The config is malformed or names something that does not exist."""


class DataNotFoundError(FileNotFoundError):
    """A data folder or file named by the config is missing."""


DEFAULTS: dict[str, Any] = {
    "id": None,
    "name": None,
    "version": "1.0.0",
    "mode": "general",
    "task": "classify",
    "seed": 1234,
    "data": {
        # "folder": PATH/<class>/*.jpg; "csv": a table with a path and a label column.
        "format": "folder",
        "folder": None,
        "csv": None,
        "root": None,            # CSV image paths are relative to this (default: the CSV's folder)
        "path_column": "path",
        "label_column": "label",
        "group_column": None,    # lesion_id, writer, ...: the split never separates a group
        "group_pattern": None,   # folder format: regex on the file name, group(1) is the group
        "id_column": None,       # a stable id per image (default: the path)
        "stratify_column": None,  # stratify on another column (default: the label)
        "label_map": None,       # {raw value: class name}
        "limit_per_class": None,
        "source": "",
        "licence": "unknown: check before redistributing",
        "generate": None,        # {"module": "training.seals", "count": N, "seed": S, ...}
    },
    "classes": None,             # [{"name": ..., "label": ..., "description": ...}] or names
    "split": {"val": 0.15, "test": 0.15},
    "input": {"size": 224, "resize": None, "interpolation": None, "crop_fraction": None,
              "color": None, "mean": None, "std": None, "scale": None},
    "backbone": {"name": "lite0", "weights": "imagenet", "width": 16},
    "augment": {
        "rotation": 20.0, "width_shift": 0.2, "height_shift": 0.2, "zoom": 0.15,
        "horizontal_flip": True, "vertical_flip": False, "fill": "nearest",
        "brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0,
        "copies": 4,             # augmented copies of the training set whose features are cached
    },
    "schedule": {
        "batch_size": 32,
        "class_weight": "balanced",   # balanced | sqrt | none
        "label_smoothing": 0.0,
        "monitor": "balanced_accuracy",  # accuracy | balanced_accuracy | macro_f1 | roc_auc | loss
        "head": {"epochs": 40, "lr": 1e-3, "patience": 8, "dropout": 0.2, "weight_decay": 1e-4},
        "finetune": {"blocks": 2, "epochs": 4, "lr": 1e-4, "patience": 2, "head_lr": 1e-4, "cosine": False,
                     "train_batchnorm": False},
    },
    "decision": {
        "alarming": [],
        "target_sensitivity": 0.9,      # alarm_threshold: reach this sensitivity on validation data
        "max_alarm_threshold": 0.5,
        "review": {"sensitivity": 0.98, "precision": 0.9, "max_rate": 0.25},
        "min_confidence": None,
        "top_k": 3,
        "verdict_words": {},
    },
    "ood": {
        "acceptance": 0.95,
        "methods": ["energy", "mahalanobis"],
        "mahalanobis": {"shrinkage": "ledoit-wolf"},
        "sets": [],
        "limit": 300,
    },
    "evaluation": {
        "robustness": {"fractions": [0.25, 0.5, 0.75], "blur_sigma": 2.0, "noise_sigma": 0.08},
        "samples": 4,
        "parity_images": 48,
    },
    "card": {"title": None, "intended_use": "", "limitations": "", "not_tested": [], "anchors": [],
             "targets": {}, "notes": []},
    "quick": {"limit_per_class": 40, "copies": 1, "head_epochs": 5, "finetune_epochs": 1,
              "ood_limit": 20},
}


FREE_FORM = frozenset({"verdict_words", "label_map", "targets", "generate", "mahalanobis"})


def _merge(base: dict, override: dict, where: str = "") -> dict:
    """``base`` updated with ``override``; unknown keys are an error (typos do not pass silently)."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if key not in base:
            raise ConfigError(f"unknown config key '{where}{key}' (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict) and isinstance(value, dict) and key not in FREE_FORM:
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_path(value: str | Path | None, base: Path = REPO_ROOT) -> Path | None:
    """``value`` as an absolute path; relative paths are taken relative to ``base``."""
    if value in (None, ""):
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def normalise_classes(classes: Any) -> list[dict]:
    """Classes as ``[{"name", "label", "description"}]`` (plain names are allowed in YAML)."""
    if not classes:
        return []
    out = []
    for c in classes:
        if isinstance(c, str):
            out.append({"name": c, "label": c.replace("_", " ").capitalize(), "description": ""})
        elif isinstance(c, dict) and "name" in c:
            out.append({"name": str(c["name"]), "label": str(c.get("label", c["name"])),
                        "description": str(c.get("description", ""))})
        else:
            raise ConfigError(f"a class must be a name or a mapping with 'name': {c!r}")
    names = [c["name"] for c in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"class names must be unique: {names}")
    return out


def build_config(raw: dict, *, source: str = "<dict>") -> dict:
    """Merge ``raw`` over the defaults and check it. Paths stay as written (see :func:`data_paths`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping")
    cfg = _merge(DEFAULTS, raw)
    if not cfg["id"]:
        raise ConfigError(f"{source}: 'id' is required (the pack id, e.g. skin-binary)")
    import re
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", str(cfg["id"])):
        raise ConfigError(f"{source}: id '{cfg['id']}' must be lower-case letters, digits and '-'")
    cfg["name"] = cfg["name"] or cfg["id"]
    cfg["classes"] = normalise_classes(cfg["classes"])
    fmt = cfg["data"]["format"]
    if fmt not in ("folder", "csv"):
        raise ConfigError(f"{source}: data.format must be 'folder' or 'csv', not {fmt!r}")
    for key in ("val", "test"):
        frac = cfg["split"][key]
        if not 0 < float(frac) < 0.5:
            raise ConfigError(f"{source}: split.{key} must be between 0 and 0.5, got {frac}")
    if cfg["backbone"]["name"] not in ("lite0", "tiny-cnn"):
        raise ConfigError(f"{source}: backbone.name must be 'lite0' or 'tiny-cnn'")
    if cfg["schedule"]["class_weight"] not in ("balanced", "sqrt", "none", None):
        raise ConfigError(f"{source}: schedule.class_weight must be balanced, sqrt or none")
    if cfg["schedule"]["monitor"] not in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "loss"):
        raise ConfigError(f"{source}: schedule.monitor is not a known metric")
    for name in cfg["decision"]["alarming"]:
        if cfg["classes"] and name not in [c["name"] for c in cfg["classes"]]:
            raise ConfigError(f"{source}: decision.alarming names '{name}', which is not a class")
    for method in cfg["ood"]["methods"]:
        if method not in ("energy", "mahalanobis", "max_softmax"):
            raise ConfigError(f"{source}: ood.methods: unknown method {method!r}")
    return cfg


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and return the checked config (with ``_path`` set)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}")
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    cfg = build_config(raw, source=str(path))
    cfg["_path"] = str(path.resolve())
    return cfg


def apply_quick(cfg: dict) -> dict:
    """A smoke-test variant: few images per class, one augmented copy, one or two epochs."""
    cfg = copy.deepcopy(cfg)
    q = cfg["quick"]
    cfg["data"]["limit_per_class"] = min(q["limit_per_class"], cfg["data"]["limit_per_class"] or 10**9)
    cfg["augment"]["copies"] = min(cfg["augment"]["copies"], q["copies"])
    cfg["schedule"]["head"]["epochs"] = min(cfg["schedule"]["head"]["epochs"], q["head_epochs"])
    cfg["schedule"]["finetune"]["epochs"] = min(cfg["schedule"]["finetune"]["epochs"], q["finetune_epochs"])
    cfg["ood"]["limit"] = min(cfg["ood"]["limit"], q["ood_limit"])
    cfg["_quick"] = True
    return cfg


def override_data(cfg: dict, data: str | Path) -> dict:
    """Point the config at the user's data: a folder per class, or a CSV file (same columns)."""
    cfg = copy.deepcopy(cfg)
    path = Path(data).expanduser().resolve()
    if not path.exists():
        raise DataNotFoundError(f"--data {data}: no such file or folder")
    if path.is_dir():
        cfg["data"].update({"format": "folder", "folder": str(path), "csv": None})
    else:
        cfg["data"].update({"format": "csv", "csv": str(path), "root": None})
    cfg["data"]["source"] = f"user data: {path}"
    return cfg


def config_hash(obj: Any) -> str:
    """A short stable hash of any JSON-able object."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
