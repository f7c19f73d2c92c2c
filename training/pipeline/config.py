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
    # What the pack was trained on, written to the manifest's "training_data": "synthetic"
    # (generated photos only: the app says so beside every verdict), "real", "mixed", or null (not
    # stated). `train --data PATH` (your own photos) turns it to "real" (replace) or "mixed" (mix).
    "training_data": None,
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
        # Whether this source gives the test side: "auto" (carved from it unless test_data is set),
        # "carve" (train/val/test from it) or "none" (train/val only).
        "holdout": "auto",
        # An extra_data / test_data source whose groups are the same things as data's (the same
        # lesion_id in two folders of one collection): true keeps their names, so the split puts a
        # group's images from both folders on one side. False (default): groups are per source.
        "share_groups": False,
        # An extra_data source with share_groups: keep only images whose group an earlier source put
        # on a side (e.g. the 224-px copies of lesions in data's split); the rest are left out, so
        # lesions reserved elsewhere (not in data) never reach training or validation.
        "only_shared_groups": False,
    },
    # A separate test source (same keys as data; column settings default to data's). When set, the
    # test side is exactly these images and data is split into train/validation only: e.g. a render
    # with another seed and backgrounds/lighting the training render never had.
    "test_data": None,
    # More sources mixed into train/validation (same keys as data; holdout defaults to "none").
    "extra_data": [],
    # What `train --data PATH` (your own photos) does.
    "retrain": {
        "mode": "replace",       # replace: only your photos; mix: your photos plus the config's data
        "test": "own",           # own: the test side is carved from your photos; config: the config's test source
        "version_bump": "minor",  # minor (1.0.0 -> 1.1.0), patch (1.0.0 -> 1.0.1) or none
    },
    "classes": None,             # [{"name": ..., "label": ..., "description": ...}] or names
    # The pack's words (manifest "words": subject, risk, per-language translations), copied as they are.
    "words": None,
    "split": {"val": 0.15, "test": 0.15},
    "input": {"size": 224, "resize": None, "interpolation": None, "crop_fraction": None,
              "color": None, "mean": None, "std": None, "scale": None},
    "backbone": {"name": "lite0", "weights": "imagenet", "width": 16,
                 # 16: the last stride-2 block runs at stride 1 and the blocks above it are dilated
                 # (same weights), so the feature map and the CAM have twice the resolution.
                 "output_stride": 32,
                 # Keep the backbone up to this block only (e.g. block4c) ...
                 "cut": None,
                 # ... and add convolutions trained from scratch: [[filters, kernel(, dilation)], ...].
                 "neck": [],
                 # A training run folder (e.g. runs/skin-ham7) whose fine-tuned backbone this pack starts
                 # from (every layer but the head): a second head on a backbone another pack trained.
                 "init_from": None},
    "augment": {
        "rotation": 20.0, "width_shift": 0.2, "height_shift": 0.2, "zoom": 0.15,
        "horizontal_flip": True, "vertical_flip": False, "fill": "nearest",
        "brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0,
        "copies": 4,             # augmented copies of the training set whose features are cached
        # Photographic degradations (probability per image; sigma ranges at model size / x 255).
        "blur": 0.0, "blur_sigma": [0.5, 2.5], "noise": 0.0, "noise_sigma": [0.01, 0.1],
        # Format changes (probability per image): shrink-and-enlarge by a factor per axis, JPEG re-encode.
        "rescale": 0.0, "rescale_range": [0.6, 1.0], "jpeg": 0.0, "jpeg_quality": [60, 95],
    },
    "schedule": {
        "batch_size": 32,
        "class_weight": "balanced",   # balanced | sqrt | none
        "label_smoothing": 0.0,
        "monitor": "balanced_accuracy",  # accuracy | balanced_accuracy | macro_f1 | roc_auc | loss
        # {weight, column, positive}: during fine-tuning, ground-truth region masks (a CSV column)
        # teach the last feature map where the positive class's evidence is (training/pipeline/masks.py).
        "mask_loss": None,
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
        "heatmap_class": None,          # the class the heatmap shows evidence for (None: the predicted one)
        # Answer for the photo and its mirror image together (the exported graph averages the two
        # feature maps; the CAM stays exact, the backbone runs twice): training/lite0/cam_export.py.
        "mirror_average": False,
        # More test-time views averaged the same way inside the graph: any of hflip, vflip, rot180
        # (training/lite0/cam_export.py TTA_VIEWS); the backbone runs once more per view.
        "tta": [],
        # "temperature": probs = softmax(logits / T) inside the exported graph, T fitted on the
        # validation images' logits (training/pipeline/calibration.py) before any threshold is chosen.
        "calibrate": None,
        # "probability": the alarm threshold reaches target_sensitivity by probability alone;
        # "app": on what the app shows, a refused image counted as not alarmed (issue 24: refusals
        # silenced alarms), and the review band likewise (thresholds.app_alarm_threshold).
        "alarm_basis": "probability",
    },
    "ood": {
        "acceptance": 0.95,
        # A share, e.g. 0.98: ood.alarm_threshold accepts it of the validation images whose decision is
        # an alarming class (calm decisions keep `acceptance`); null: one threshold for all (as before).
        "alarm_acceptance": None,
        "methods": ["energy", "mahalanobis"],
        "mahalanobis": {"shrinkage": "ledoit-wolf"},
        "sets": [],
        "limit": 300,
    },
    "evaluation": {
        "robustness": {"fractions": [0.25, 0.5, 0.75], "blur_sigma": 2.0, "noise_sigma": 0.08},
        "samples": 4,
        "parity_images": 48,
        # Test metrics again on the test images whose value in each of these columns never occurs in
        # the training or validation images (e.g. [background, lighting] of a generated set).
        "unseen": [],
        # Test metrics per value of these columns (e.g. [defect, family]): which kinds it gets right.
        "breakdown": [],
        # Heatmap quality against ground-truth region masks: {column: mask} names a CSV column of
        # mask image paths (relative to the CSV's root; non-zero = inside), tolerance_px the pointing
        # game's tolerance in image pixels, examples the number of overlays drawn for the card.
        "masks": None,
        # The test side scored again as two mixes (training/pipeline/mixes.py): the natural one (as
        # the lesions come) and a class-capped one: {column: dx, cap: {nv: 0.45}, one_per_group: true}.
        "test_mixes": None,
        # The test images enlarged (e.g. {width: 600, height: 450}) and run through the app's own
        # decoding: does accuracy hold when the photo is larger than the training images?
        "larger_inputs": None,
    },
    "card": {"title": None, "intended_use": "", "limitations": "", "not_tested": [], "anchors": [],
             "targets": {}, "notes": [],
             # Extra sections: [{title: ..., text: ...}]; text is Markdown (kept as written).
             "sections": [],
             # A contact sheet of the test images: {module: training.seals, limit: 32}; the module's
             # contact_sheet(data_dir, out_png, limit=...) draws it from the test source's folder.
             "contact_sheet": None,
             # Commands run after the export to make the shipped version (the guard, its recalibration,
             # guard studies), in order: listed in the card's Reproduce section (card.reproduce_lines).
             "after_export": []},
    "quick": {"limit_per_class": 40, "copies": 1, "head_epochs": 5, "finetune_epochs": 1,
              "ood_limit": 20},
}

SOURCE_KEYS = tuple(DEFAULTS["data"])
# Keys of data that a test_data / extra_data source inherits when it does not set them.
INHERITED_KEYS = ("path_column", "label_column", "group_column", "group_pattern", "id_column",
                  "stratify_column", "label_map", "licence")
MASK_DEFAULTS = {"column": "mask", "tolerance_px": 3, "examples": 8, "by": None}


FREE_FORM = frozenset({"words", "verdict_words", "label_map", "targets", "generate", "mahalanobis", "masks",
                       "contact_sheet", "mask_loss", "test_mixes", "larger_inputs"})


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


def build_source(raw: dict, data: dict, where: str, source: str = "<dict>", holdout: str = "none") -> dict:
    """A test_data / extra_data source: ``raw`` over ``data``'s column settings (not its location,
    generator or limit). ``format`` defaults to csv when a csv is named, else folder."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where} must be a mapping with the keys of data")
    base = {k: (data[k] if k in INHERITED_KEYS else copy.deepcopy(DEFAULTS["data"][k])) for k in SOURCE_KEYS}
    base["source"] = data.get("source", "")
    base["holdout"] = holdout
    out = _merge(base, raw, f"{where}.")
    if "format" not in raw:
        out["format"] = "csv" if out.get("csv") else "folder"
    if out["format"] not in ("folder", "csv"):
        raise ConfigError(f"{source}: {where}.format must be 'folder' or 'csv'")
    if holdout == "all":
        out["holdout"] = "all"
    elif out["holdout"] not in ("carve", "none"):
        raise ConfigError(f"{source}: {where}.holdout must be carve or none")
    return out


def data_sources(cfg: dict) -> list[tuple[str, dict, str]]:
    """``(name, source config, holdout)`` for every data source, holdout resolved to carve (train/val/
    test), none (train/val) or all (test only). Without test_data or extra_data this is just
    ``[("data", cfg["data"], "carve")]``."""
    test = cfg.get("test_data")
    extras = cfg.get("extra_data") or []
    main = cfg["data"]["holdout"]
    if main == "auto":
        main = "none" if test is not None or any(x["holdout"] == "carve" for x in extras) else "carve"
    out = [("data", cfg["data"], main)]
    out += [(f"extra{i + 1}" if len(extras) > 1 else "extra", x, x["holdout"]) for i, x in enumerate(extras)]
    if test is not None:
        out.append(("test_data", test, "all"))
    if not any(h in ("carve", "all") for _, _, h in out):
        raise ConfigError("no data source gives test images: set data.holdout to carve or add test_data")
    return out


def bump_version(version: str, how: str) -> str:
    """``1.2.3`` -> ``1.3.0`` (minor), ``1.2.4`` (patch) or unchanged (none)."""
    if how == "none":
        return version
    core, _, rest = str(version).partition("-")
    parts = [int(p) for p in core.split("+")[0].split(".")] + [0, 0, 0]
    major, minor, patch = parts[:3]
    return f"{major}.{minor + 1}.0" if how == "minor" else f"{major}.{minor}.{patch + 1}"


TRAINING_DATA = (None, "synthetic", "real", "mixed")  # inference.manifest's enum, or not stated


def user_training_data(configured: str | None, mode: str) -> str | None:
    """``training_data`` of a pack retrained on the user's own photos (real ones: that is what
    ``--data`` is for) by ``mode``: ``replace`` -> real; ``mix`` -> real only when the config's data
    was real too, mixed when it was synthetic or mixed, not stated when the config did not say."""
    if mode == "replace":
        return "real"
    return None if configured is None else ("real" if configured == "real" else "mixed")


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
    if cfg["training_data"] not in TRAINING_DATA:
        raise ConfigError(f"{source}: training_data must be synthetic, real, mixed or null, "
                          f"not {cfg['training_data']!r}")
    cfg["classes"] = normalise_classes(cfg["classes"])
    fmt = cfg["data"]["format"]
    if fmt not in ("folder", "csv"):
        raise ConfigError(f"{source}: data.format must be 'folder' or 'csv', not {fmt!r}")
    if cfg["data"]["holdout"] not in ("auto", "carve", "none"):
        raise ConfigError(f"{source}: data.holdout must be auto, carve or none")
    if cfg["test_data"] is not None:
        cfg["test_data"] = build_source(cfg["test_data"], cfg["data"], "test_data", source, holdout="all")
    if not isinstance(cfg["extra_data"], list):
        raise ConfigError(f"{source}: extra_data must be a list of data sources")
    cfg["extra_data"] = [build_source(x, cfg["data"], f"extra_data[{i}]", source, holdout="none")
                         for i, x in enumerate(cfg["extra_data"])]
    if cfg["data"]["holdout"] == "carve" and cfg["test_data"] is not None:
        raise ConfigError(f"{source}: data.holdout is carve but test_data is set; the test side comes from one place")
    r = cfg["retrain"]
    if r["mode"] not in ("replace", "mix") or r["test"] not in ("own", "config") \
            or r["version_bump"] not in ("minor", "patch", "none"):
        raise ConfigError(f"{source}: retrain: mode replace|mix, test own|config, version_bump minor|patch|none")
    ev = cfg["evaluation"]
    for key in ("unseen", "breakdown"):
        if not isinstance(ev[key], list) or not all(isinstance(c, str) for c in ev[key]):
            raise ConfigError(f"{source}: evaluation.{key} must be a list of column names")
    if ev["masks"] is not None:
        if not isinstance(ev["masks"], dict) or set(ev["masks"]) - set(MASK_DEFAULTS):
            raise ConfigError(f"{source}: evaluation.masks takes {', '.join(MASK_DEFAULTS)}")
        ev["masks"] = {**MASK_DEFAULTS, **ev["masks"]}
    if int(cfg["backbone"].get("output_stride") or 32) not in (16, 32):
        raise ConfigError(f"{source}: backbone.output_stride must be 32 or 16")
    if int(cfg["backbone"].get("output_stride") or 32) != 32 and cfg["backbone"]["name"] == "tiny-cnn":
        raise ConfigError(f"{source}: backbone.output_stride applies to lite0, lite1 and lite2 only")
    neck = cfg["backbone"].get("neck") or []
    if not isinstance(neck, list) or not all(isinstance(n, (list, tuple)) and 2 <= len(n) <= 3
                                             and all(isinstance(v, int) and v > 0 for v in n) for n in neck):
        raise ConfigError(f"{source}: backbone.neck is a list of [filters, kernel] or [filters, kernel, dilation]")
    ml = cfg["schedule"].get("mask_loss")
    if ml is not None:
        if not isinstance(ml, dict) or set(ml) - {"weight", "column", "positive"}:
            raise ConfigError(f"{source}: schedule.mask_loss takes weight, column and positive")
        ml.setdefault("weight", 1.0)
        ml.setdefault("column", "mask")
        ml.setdefault("positive", (cfg["decision"]["alarming"] or [None])[0])
        if cfg["classes"] and ml["positive"] not in [c["name"] for c in cfg["classes"]]:
            raise ConfigError(f"{source}: schedule.mask_loss.positive must name a class")
    for sec in cfg["card"]["sections"] or []:
        if not isinstance(sec, dict) or not {"title", "text"} <= set(sec):
            raise ConfigError(f"{source}: card.sections entries need a title and a text")
    for key in ("val", "test"):
        frac = cfg["split"][key]
        if not 0 < float(frac) < 0.5:
            raise ConfigError(f"{source}: split.{key} must be between 0 and 0.5, got {frac}")
    if cfg["backbone"]["name"] not in ("lite0", "lite1", "lite2", "tiny-cnn"):
        raise ConfigError(f"{source}: backbone.name must be 'lite0', 'lite1', 'lite2' or 'tiny-cnn'")
    if cfg["schedule"]["class_weight"] not in ("balanced", "sqrt", "none", None):
        raise ConfigError(f"{source}: schedule.class_weight must be balanced, sqrt or none")
    if cfg["schedule"]["monitor"] not in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "loss"):
        raise ConfigError(f"{source}: schedule.monitor is not a known metric")
    for name in cfg["decision"]["alarming"]:
        if cfg["classes"] and name not in [c["name"] for c in cfg["classes"]]:
            raise ConfigError(f"{source}: decision.alarming names '{name}', which is not a class")
    heat = cfg["decision"].get("heatmap_class")
    if heat is not None and cfg["classes"] and heat not in [c["name"] for c in cfg["classes"]]:
        raise ConfigError(f"{source}: decision.heatmap_class names '{heat}', which is not a class")
    for method in cfg["ood"]["methods"]:
        if method not in ("energy", "mahalanobis", "max_softmax"):
            raise ConfigError(f"{source}: ood.methods: unknown method {method!r}")
    return typed_config(cfg, source).to_dict()


TTA_VIEW_NAMES = ("hflip", "vflip", "rot180")  # training/lite0/cam_export.py TTA_VIEWS (no TF import here)


def typed_config(cfg: dict, source: str = "<dict>"):
    """``cfg`` (merged and checked by :func:`build_config`) as a :class:`TrainingConfig`, every
    value's type checked; a wrong one is a :class:`ConfigError` that names its key."""
    from training.pipeline.config_types import ConfigTypeError, TrainingConfig

    try:
        typed = TrainingConfig.from_dict(cfg)
    except ConfigTypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    bad = [v for v in typed.decision.tta if v not in TTA_VIEW_NAMES]
    if bad or len(set(typed.decision.tta)) != len(typed.decision.tta):
        raise ConfigError(f"{source}: decision.tta lists views from {', '.join(TTA_VIEW_NAMES)}, each once; got "
                          f"{typed.decision.tta}")
    if typed.decision.alarm_basis not in ("probability", "app"):
        raise ConfigError(f"{source}: decision.alarm_basis is 'probability' or 'app', not {typed.decision.alarm_basis!r}")
    alarm_acc = typed.ood.alarm_acceptance
    if alarm_acc is not None:
        if not typed.decision.alarming:
            raise ConfigError(f"{source}: ood.alarm_acceptance needs decision.alarming (a class that raises an alarm)")
        if not typed.ood.acceptance <= alarm_acc <= 1:
            raise ConfigError(f"{source}: ood.alarm_acceptance must be between ood.acceptance and 1, got {alarm_acc}")
    if typed.decision.calibrate not in (None, "temperature"):
        raise ConfigError(f"{source}: decision.calibrate is null or 'temperature', not {typed.decision.calibrate!r}")
    if typed.decision.mirror_average and "hflip" in typed.decision.tta:
        raise ConfigError(f"{source}: decision.mirror_average already is the hflip view: drop one of them")
    return typed


def load_typed_config(path: str | Path):
    """Read a YAML config file as a typed :class:`~training.pipeline.config_types.TrainingConfig`."""
    return typed_config(load_config(path), str(path))


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
    for src in [cfg.get("test_data"), *(cfg.get("extra_data") or [])]:
        if src is not None:
            src["limit_per_class"] = min(q["limit_per_class"], src["limit_per_class"] or 10**9)
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


def apply_user_data(cfg: dict, data: str | Path, *, mode: str | None = None, test: str | None = None,
                    version: str | None = None) -> dict:
    """What ``train --data PATH`` does with your photos (a folder per class or a CSV with the
    config's columns), by the config's ``retrain`` block (``mode``/``test`` override it):

    - mode ``replace``: your photos are the data; ``mix``: they are added to the config's data.
    - test ``own``: the test side is carved from your photos (what matters for a pack you will trust
      on them); ``config``: the config's test source stays (test_data, or carved from data).
    - the version is bumped (``retrain.version_bump``) unless ``version`` is given, so the retrained
      pack in the user packs folder overrides the bundled one.
    """
    mode = mode or cfg["retrain"]["mode"]
    test = test or cfg["retrain"]["test"]
    if mode not in ("replace", "mix") or test not in ("own", "config"):
        raise ConfigError("retrain mode must be replace or mix, test own or config")
    path = Path(data).expanduser().resolve()
    if not path.exists():
        raise DataNotFoundError(f"--data {data}: no such file or folder")
    user = {"format": "folder", "folder": str(path), "csv": None} if path.is_dir() else \
        {"format": "csv", "csv": str(path), "folder": None, "root": None}
    user["source"] = f"user data: {path}"
    cfg = copy.deepcopy(cfg)
    original_source = " ".join(str(cfg["data"]["source"]).split())
    if mode == "replace":
        cfg["data"].update(user)
        cfg["data"]["generate"] = None
        cfg["extra_data"] = []
        if test == "own":
            cfg["test_data"] = None
            cfg["data"]["holdout"] = "carve"
        else:
            cfg["data"]["holdout"] = "auto"
    else:
        extra = build_source(user, cfg["data"], "--data", holdout="carve" if test == "own" else "none")
        if test == "own":
            cfg["test_data"] = None
            cfg["data"]["holdout"] = "none"
            for x in cfg["extra_data"]:
                x["holdout"] = "none"
        cfg["extra_data"] = [*cfg["extra_data"], extra]
        cfg["data"]["source"] = f"user data: {path}, mixed with: {original_source}"
    cfg["training_data"] = user_training_data(cfg["training_data"], mode)
    cfg["version"] = str(version) if version else bump_version(str(cfg["version"]), cfg["retrain"]["version_bump"])
    cfg["_user_data"] = {"path": str(path), "mode": mode, "test": test}
    return cfg


def config_hash(obj: Any) -> str:
    """A short stable hash of any JSON-able object."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
