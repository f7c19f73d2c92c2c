"""``python -m training train CONFIG [--data PATH] [--out RUN_DIR] [--quick] [--export]``.

Trains a pack from its YAML config and writes a run folder:

- ``config.yaml`` (the resolved config), ``split.csv`` + ``split_summary.json`` (ids per side),
- ``history.csv`` (one row per epoch of each stage) and ``training_curves.png``,
- ``weights.npz`` (every layer's weights by name), ``outputs.npz`` (logits and embeddings of the
  train/val/test images, for thresholds and the Mahalanobis fit), ``train_summary.json``.

With ``--export`` it then runs ``python -m training export RUN_DIR``.

With ``--data PATH`` (your own photos: a folder per class or a CSV) the config's ``retrain`` block
says whether they replace or are mixed with the configured data and where the test images come
from, and the pack version is bumped (or set with ``--version``) so that the retrained pack, put in
the user packs folder (``--models-dir``), overrides the bundled one.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.pipeline.config import (REPO_ROOT, ConfigError, DataNotFoundError, apply_quick, apply_user_data,
                                      load_config, resolve_path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.pipeline.features import DEFAULT_CACHE

    parser.add_argument("config", type=Path, help="pack config (YAML), e.g. training/configs/skin-binary.yaml")
    parser.add_argument("--data", type=Path, default=None,
                        help="your own data: a folder with one sub-folder per class, or a CSV file with the "
                             "config's columns (overrides the config's data source)")
    parser.add_argument("--mix", dest="retrain_mode", action="store_const", const="mix", default=None,
                        help="with --data: add your photos to the config's data instead of replacing it "
                             "(default: the config's retrain.mode)")
    parser.add_argument("--replace", dest="retrain_mode", action="store_const", const="replace",
                        help="with --data: train on your photos only")
    parser.add_argument("--test-from", choices=("own", "config"), default=None,
                        help="with --data: carve the test images from your photos (own) or keep the config's "
                             "test source (config); default: the config's retrain.test")
    parser.add_argument("--version", default=None,
                        help="pack version to write (default: the config's; with --data bumped by "
                             "retrain.version_bump, e.g. 1.0.0 -> 1.1.0, so it overrides the bundled pack)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<pack id>)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few images per class, one augmented copy, one or two epochs")
    parser.add_argument("--export", action="store_true", help="export the pack to models/<id>/ when done")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models",
                        help="where --export writes the pack folder (default models/; for a retrained pack the "
                             "user packs folder, e.g. ~/.local/share/tilik/packs or $TILIK_PACKS_DIR)")
    parser.add_argument("--user-packs", action="store_true",
                        help="--export into the user packs folder the app reads (TILIK_PACKS_DIR, default "
                             "<user data dir>/packs) instead of models/")
    parser.add_argument("--samples-dir", type=Path, default=None,
                        help="where --export writes the self-test samples (default resources/samples/, or "
                             "MODELS_DIR/_samples/ when --models-dir is not models/)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"feature cache folder (default {DEFAULT_CACHE}; env TILIK_FEATURE_CACHE)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def _log(msg: str) -> None:
    print(msg, flush=True)


GENERATE_STAMP = ".tilik-generate.json"


def _generate_target(src: dict) -> tuple[Path | None, Path | None]:
    if src["format"] == "csv":
        target = resolve_path(src.get("csv"))
        return (target.parent if target is not None else None), target
    folder = resolve_path(src.get("folder"))
    return folder, folder


def maybe_generate(cfg: dict, log=_log) -> None:
    """Make the synthetic datasets first where a data source says how (``generate``: data,
    extra_data, test_data) and its data is missing, or was generated with other settings or another
    ``GENERATOR_VERSION`` of the module (the folder's ``.tilik-generate.json`` records them;
    ``workers`` does not change the images)."""
    import importlib

    sources = [cfg["data"], *(cfg.get("extra_data") or []), cfg.get("test_data")]
    for src in sources:
        gen = (src or {}).get("generate")
        if not gen:
            continue
        folder, target = _generate_target(src)
        if folder is None:
            continue
        module = importlib.import_module(gen.get("module", "training.seals"))
        wanted = {k: v for k, v in gen.items() if k != "workers"}
        wanted.setdefault("seed", cfg["seed"])
        # A new generator version draws other images from the same settings.
        if getattr(module, "GENERATOR_VERSION", None) is not None:
            wanted["generator_version"] = module.GENERATOR_VERSION
        stamp = folder / GENERATE_STAMP
        if target.exists():
            if not stamp.is_file():
                continue  # generated before stamps existed, or put there by hand: keep it
            try:
                if json.loads(stamp.read_text(encoding="utf-8")) == json.loads(json.dumps(wanted)):
                    continue
            except (OSError, ValueError):
                pass
            log(f"{folder} was generated with other settings: generating it again")
        kwargs = {k: v for k, v in gen.items() if k not in ("module", "count", "seed")}
        log(f"generating {gen['count']} images into {folder} with {module.__name__}.generate_dataset")
        t0 = time.perf_counter()
        module.generate_dataset(folder, int(gen["count"]), int(gen.get("seed", cfg["seed"])), **kwargs)
        stamp.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        log(f"  {gen['count']} images in {time.perf_counter() - t0:.0f} s")


def split_columns(cfg: dict, samples) -> list[str]:
    """The extra ``split.csv`` columns: the source (with more than one), the columns the evaluation
    compares (``evaluation.unseen``) and the mask column, where the samples have them."""
    present = set()
    for s in samples:
        present.update(s.extra)
    cols = []
    if len({s.extra.get("source") for s in samples}) > 1:
        cols.append("source")
    cols += [c for c in [*(cfg["evaluation"].get("unseen") or []), *(cfg["evaluation"].get("breakdown") or [])]
             if c in present]
    masks = cfg["evaluation"].get("masks")
    if masks and masks.get("column") in present:
        cols.append(masks["column"])
    if masks and masks.get("by") in present:
        cols.append(masks["by"])
    return list(dict.fromkeys(cols))


def _dump_yaml(cfg: dict, path: Path) -> None:
    import yaml

    clean = {k: v for k, v in cfg.items() if not k.startswith("_")}
    clean["_meta"] = {"source_config": cfg.get("_path"), "quick": bool(cfg.get("_quick"))}
    path.write_text(yaml.safe_dump(clean, sort_keys=False, allow_unicode=True), encoding="utf-8")


def train_pack(cfg: dict, run_dir: Path, *, cache_dir: Path | None, log=_log) -> Path:
    """Train the pack ``cfg`` describes into ``run_dir``; returns ``run_dir``."""
    import keras
    import tensorflow as tf

    from training.pipeline import plots
    from training.pipeline.augment import Augmenter
    from training.pipeline.backbones import backbone_from_config, build_classifier
    from training.pipeline.datasets import load_pools
    from training.pipeline.features import FeatureCache, cached_trunk_features, input_block, load_fitted, \
        make_predict_fn, spec_from_block
    from training.pipeline.heads import class_weights, train_stage
    from training.pipeline.splits import split_pools, split_summary, write_split

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    seed = int(cfg["seed"])
    keras.utils.set_random_seed(seed)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _dump_yaml(cfg, run_dir / "config.yaml")

    # -- data and split --------------------------------------------------------------------------
    t0 = time.perf_counter()
    maybe_generate(cfg, log)
    timings["generate_s"] = time.perf_counter() - t0
    pools = load_pools(cfg)
    ds = pools[0].dataset
    names = ds.class_names
    cfg["classes"] = ds.classes
    _dump_yaml(cfg, run_dir / "config.yaml")
    index = {n: i for i, n in enumerate(names)}
    dropped: list = []
    unshared: list = []
    split = split_pools(pools, val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]), seed=seed,
                        dropped=dropped, unshared=unshared)
    if dropped:
        log(f"{len(dropped)} images of a train/validation-only source left out: their group (e.g. "
            f"{dropped[0].group}) is on the test side through another source")
    if unshared:
        log(f"{len(unshared)} images of an only_shared_groups source left out: their group (e.g. "
            f"{unshared[0].group}) is in no earlier source")
    write_split(split, run_dir / "split.csv", split_columns(cfg, [x for side in split.values() for x in side]))
    summary = split_summary(split, names, pools)
    summary["group_key"] = cfg["data"].get("group_column") or cfg["data"].get("group_pattern")
    if dropped:
        summary["left_out_same_group_as_test"] = len(dropped)
    if unshared:
        summary["left_out_group_not_shared"] = len(unshared)
    if cfg.get("_user_data"):
        summary["user_data"] = cfg["_user_data"]
    (run_dir / "split_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    for pool in pools:
        log(f"{len(pool.dataset.samples)} images, {len(names)} classes from {pool.dataset.description}"
            + ("" if len(pools) == 1 else f" [{pool.name}: " + {"carve": "train/val/test", "none": "train/val",
                                                               "all": "test only"}[pool.holdout] + "]"))
    log("split (" + ("grouped by " + str(summary["group_key"]) if summary["grouped"] else "ungrouped, stratified")
        + "): " + ", ".join(f"{s} {summary['totals'][s]}" for s in ("train", "val", "test")))
    for name in names:
        log(f"  {name:12s} " + "  ".join(f"{s} {summary['per_class'][s][name]:5d}" for s in ("train", "val", "test")))
    y = {s: np.array([index[x.label] for x in split[s]], np.int32) for s in split}
    paths = {s: [x.path for x in split[s]] for s in split}

    # -- model and its cut -----------------------------------------------------------------------
    backbone = backbone_from_config(cfg)
    block = input_block(cfg, backbone)
    spec = spec_from_block(block)
    size = int(cfg["input"]["size"])
    sched = cfg["schedule"]
    n_blocks = int(sched["finetune"]["blocks"])
    model, base = build_classifier(backbone, size, len(names), float(sched["head"]["dropout"]))
    init = init_from_run(cfg, model, log)
    boundary_name = backbone.boundary_layer(base, n_blocks)
    boundary = base.get_layer(boundary_name).output
    trunk = keras.Model(base.input, boundary, name="trunk")
    top = keras.Model(boundary, model.output, name="top")
    embed = keras.Model(boundary, model.get_layer("avg_pool").output, name="embed")
    log(f"backbone {backbone.describe()}, input {size}x{size} ({block['resize']}), "
        f"cut after {boundary_name}: {tuple(boundary.shape[1:])}; fine-tuning the top {n_blocks} block(s)")

    # -- cached trunk features -------------------------------------------------------------------
    t0 = time.perf_counter()
    cache = FeatureCache(cache_dir)
    key_parts = {"backbone": backbone.weights_id, "boundary": boundary_name, "input": block}
    if init and init["trunk_changed"](trunk):
        # The other run changed the layers below the cut too: their features are not the cached ones.
        key_parts["init_from"] = init["sha256"]
    fitted_mem: dict[str, np.ndarray] = {}

    def loader(side):
        def load():
            if side not in fitted_mem:
                fitted_mem[side] = load_fitted(paths[side], spec)
            return fitted_mem[side]
        return load

    batch = int(sched["batch_size"])
    clean = {s: cached_trunk_features(cache, trunk, paths[s], loader(s), spec, key_parts,
                                      batch_size=batch, label=f"{s} (clean)", log=log) for s in ("train", "val", "test")}
    augmenter = Augmenter.from_config({k: v for k, v in cfg["augment"].items() if k != "copies"})
    copies = []
    for k in range(int(cfg["augment"]["copies"])):
        copies.append(cached_trunk_features(cache, trunk, paths["train"], loader("train"), spec, key_parts,
                                            augmenter=augmenter, seed=seed * 1000 + k + 1, batch_size=batch,
                                            label=f"train (augmented copy {k + 1})", log=log))
    fitted_mem.clear()
    if not copies:
        copies = [clean["train"]]
    timings["features_s"] = time.perf_counter() - t0

    weights = class_weights(y["train"], len(names), sched["class_weight"])
    log("class weights: " + ", ".join(f"{n} {w:.2f}" for n, w in zip(names, weights)))
    monitor = sched["monitor"]
    if monitor == "roc_auc" and len(names) > 2:
        log("  (roc_auc on more than two classes is the one-vs-rest macro average)")

    # -- stage 1: the head on pooled embeddings ---------------------------------------------------
    t0 = time.perf_counter()
    for layer in base.layers:
        layer.trainable = False
    embed_fn = make_predict_fn(embed, tuple(boundary.shape[1:]), 128)
    hs = sched["head"]
    # Head epochs 0 (e.g. a neck trained from scratch: its pooled output means nothing yet): skip.
    emb_copies = [embed_fn(c) for c in copies] if int(hs["epochs"]) > 0 else [None]
    emb_val = embed_fn(clean["val"][:1]) if int(hs["epochs"]) <= 0 else embed_fn(clean["val"])
    emb_in = keras.Input((emb_val.shape[1],), name="embedding")
    head_model = keras.Model(emb_in, model.get_layer("head")(model.get_layer("head_dropout")(emb_in)), name="head_only")
    head_result = train_stage(
        head_model, stage="head", train_inputs=lambda e: emb_copies[e % len(emb_copies)], train_labels=y["train"],
        val_inputs=emb_val, val_labels=y["val"], n_classes=len(names), weights=weights,
        epochs=int(hs["epochs"]), lr=float(hs["lr"]), patience=int(hs["patience"]), monitor=monitor,
        batch_size=batch, seed=seed, label_smoothing=float(sched["label_smoothing"]),
        weight_decay=float(hs.get("weight_decay", 0.0)), log=log)
    timings["head_s"] = time.perf_counter() - t0
    del emb_copies

    # -- stage 2: fine-tune the top blocks ----------------------------------------------------------
    t0 = time.perf_counter()
    fs = sched["finetune"]
    ft_result = None
    aux = None
    if int(fs["epochs"]) > 0:
        trainable = backbone.unfreeze_top(model, n_blocks, train_batchnorm=bool(fs.get("train_batchnorm")))
        log(f"fine-tuning {len(trainable)} layers: {', '.join(trainable[:4])}{' ...' if len(trainable) > 4 else ''}")
        aux = mask_loss_aux(cfg, split["train"], y["train"], names, spec, augmenter, seed, int(cfg["augment"]["copies"]),
                            model, base, log) if sched.get("mask_loss") else None
        ft_model = keras.Model(boundary, [model.output, base.output], name="top_with_map") if aux else top
        ft_result = train_stage(
            ft_model, stage="finetune", train_inputs=lambda e: copies[e % len(copies)], train_labels=y["train"],
            val_inputs=clean["val"], val_labels=y["val"], n_classes=len(names), weights=weights,
            epochs=int(fs["epochs"]), lr=float(fs["lr"]), patience=int(fs["patience"]), monitor=monitor,
            batch_size=batch, seed=seed + 1, label_smoothing=float(sched["label_smoothing"]),
            weight_decay=float(hs.get("weight_decay", 0.0)),
            lr_groups={"head": float(fs.get("head_lr") or fs["lr"]), "neck_": float(fs.get("head_lr") or fs["lr"])},
            cosine=bool(fs.get("cosine")), aux=aux, log=log)
        for layer in model.layers:
            layer.trainable = False
    timings["finetune_s"] = time.perf_counter() - t0

    # -- outputs for the export: logits and embeddings of every side --------------------------------
    t0 = time.perf_counter()
    both = keras.Model(boundary, {"logits": model.output, "embedding": model.get_layer("avg_pool").output})
    out_fn = make_predict_fn(both, tuple(boundary.shape[1:]), 128)
    arrays = {}
    for s in ("train", "val", "test"):
        o = out_fn(clean[s])
        arrays[f"{s}_logits"] = o["logits"].astype(np.float32)
        arrays[f"{s}_embedding"] = o["embedding"].astype(np.float32)
        arrays[f"{s}_labels"] = y[s]
        arrays[f"{s}_ids"] = np.array([x.id for x in split[s]])
    np.savez_compressed(run_dir / "outputs.npz", **arrays)
    save_weights(model, run_dir / "weights.npz")
    timings["outputs_s"] = time.perf_counter() - t0

    # -- logs ----------------------------------------------------------------------------------
    history = head_result.history + (ft_result.history if ft_result else [])
    with open(run_dir / "history.csv", "w", newline="", encoding="utf-8") as f:
        fields = list(dict.fromkeys(k for h in history for k in h)) if history else ["stage", "epoch"]
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(history)
    plots.training_curves(history, run_dir / "training_curves.png", monitor=monitor)
    timings["total_s"] = time.perf_counter() - t_start
    from training.pipeline.evaluate import quick_metrics

    val_probs = tf.nn.softmax(arrays["val_logits"]).numpy()
    result = {
        "pack": cfg["id"], "version": str(cfg["version"]), "classes": names, "seconds": timings,
        "quick": bool(cfg.get("_quick")),
        "backbone": backbone.describe(), "boundary": boundary_name, "finetune_blocks": n_blocks,
        "input": block, "class_weights": dict(zip(names, map(float, weights))),
        "monitor": monitor,
        "head": {"best_epoch": head_result.best_epoch, "best_value": head_result.best_value,
                 "epochs_run": len(head_result.history), "seconds": head_result.seconds},
        "finetune": ({"best_epoch": ft_result.best_epoch, "best_value": ft_result.best_value,
                      "epochs_run": len(ft_result.history), "seconds": ft_result.seconds} if ft_result else None),
        "val_metrics": quick_metrics(y["val"], val_probs, weights),
        "mask_loss": bool(aux),
        "init_from": ({k: v for k, v in init.items() if k != "trunk_changed"} | {"run": str(cfg["backbone"]["init_from"])}
                      if init else None),
        "cache": {"dir": str(cache_dir) if cache_dir else None, "hits": cache.hits, "misses": cache.misses},
        "augment": cfg["augment"],
        "split": summary,
    }
    (run_dir / "train_summary.json").write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    log(f"trained {cfg['id']} in {timings['total_s']:.0f} s (features {timings['features_s']:.0f} s, head "
        f"{timings['head_s']:.0f} s, fine-tune {timings['finetune_s']:.0f} s); run folder {run_dir}")
    vm = result["val_metrics"]
    log(f"validation: accuracy {vm['accuracy']:.3f}, balanced accuracy {vm['balanced_accuracy']:.3f}, "
        f"macro F1 {vm['macro_f1']:.3f}, ROC-AUC {vm['roc_auc']:.3f}")
    return run_dir


def init_from_run(cfg: dict, model, log=_log) -> dict | None:
    """``backbone.init_from``: every layer's weights but the head's from another run's
    ``weights.npz`` (e.g. the 7-class skin pack's fine-tuned backbone under a benign/malignant head).
    Returns the file's hash and a check of whether the layers below the cut changed, or None."""
    src = cfg["backbone"].get("init_from")
    if not src:
        return None
    import hashlib

    path = resolve_path(src) / "weights.npz"
    if not path.is_file():
        raise DataNotFoundError(f"backbone.init_from: no trained run at {path.parent} (weights.npz missing)")
    data = np.load(path)
    by_layer: dict[str, dict[int, np.ndarray]] = {}
    for key in data.files:
        name, i = key.rsplit("::", 1)
        by_layer.setdefault(name, {})[int(i)] = data[key]
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    count = 0
    for layer in model.layers:
        if layer.name == "head" or not layer.get_weights():
            continue
        if layer.name not in by_layer:
            raise ConfigError(f"backbone.init_from: {path} has no weights for layer {layer.name}")
        stored = by_layer[layer.name]
        layer.set_weights([stored[i] for i in range(len(stored))])
        count += 1
    changed = {name for name, ws in before.items()
               if any(not np.array_equal(a, b) for a, b in zip(ws, model.get_layer(name).get_weights()))}
    log(f"backbone from {path}: {count} layers set, {len(changed)} of them differ from the starting weights")

    def trunk_changed(trunk) -> bool:
        return any(layer.name in changed for layer in trunk.layers)

    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "layers": count, "changed": sorted(changed),
            "trunk_changed": trunk_changed}


def mask_loss_aux(cfg: dict, train: list, y_train: np.ndarray, names: list[str], spec, augmenter, seed: int,
                  n_copies: int, model, base, log=_log) -> dict | None:
    """The fine-tuning stage's mask loss (``schedule.mask_loss``, :mod:`training.pipeline.masks`): cell
    targets per augmented copy (the copies' own augmentation draws, replayed on the masks) on the
    last feature map's grid. None, with a log line, when no training image of the positive class
    has a mask (e.g. your own photos): training then uses the image labels alone."""
    from training.pipeline import masks as mk

    ml = cfg["schedule"]["mask_loss"]
    positive = names.index(ml["positive"])
    column = ml["column"]
    paths = [s.extra.get(column) or None for s in train]
    is_pos = y_train == positive
    has_mask = np.array([p is not None for p in paths])
    if not np.any(has_mask & is_pos):
        log(f"mask loss: no {ml['positive']} training image has a mask in column {column!r}; off")
        return None
    fitted = mk.fit_masks(paths, spec)
    grid = tuple(int(v) for v in base.output.shape[1:3])
    targets = []
    for k in range(max(n_copies, 1)):
        m = mk.replay_augmented(fitted, augmenter, seed * 1000 + k + 1) if n_copies else fitted
        pos, neg = mk.cell_targets(mk.coverage(m, grid), is_pos, has_mask)
        targets.append((pos.astype(np.float32), neg.astype(np.float32)))
    kernel = model.get_layer("head").kernel
    n_pos = float(np.mean([t[0][is_pos & has_mask].sum((1, 2)).mean() for t in targets]))
    log(f"mask loss (weight {ml['weight']}): {int(np.sum(has_mask & is_pos))} {ml['positive']} training images "
        f"with a mask, {n_pos:.1f} covered cells each on the {grid[0]}x{grid[1]} grid")
    return {"weight": float(ml["weight"]), "targets": lambda e: targets[e % len(targets)],
            "loss": lambda fmap, pos, neg: mk.tf_cell_loss(fmap, kernel, positive, pos, neg)}


def save_weights(model, path: Path) -> None:
    """Every layer's weights by layer name (``name::index``), so a run can be rebuilt anywhere."""
    arrays = {}
    for layer in model.layers:
        for i, w in enumerate(layer.get_weights()):
            arrays[f"{layer.name}::{i}"] = w
    np.savez(path, **arrays)


def load_weights(model, path: Path) -> int:
    """Set the weights :func:`save_weights` stored; returns the number of layers set."""
    data = np.load(path)
    by_layer: dict[str, dict[int, np.ndarray]] = {}
    for key in data.files:
        name, i = key.rsplit("::", 1)
        by_layer.setdefault(name, {})[int(i)] = data[key]
    count = 0
    for layer in model.layers:
        if layer.get_weights():
            if layer.name not in by_layer:
                raise ValueError(f"{path} has no weights for layer {layer.name}")
            stored = by_layer[layer.name]
            layer.set_weights([stored[i] for i in range(len(stored))])
            count += 1
    return count


def default_samples_dir(models_dir: Path, samples_dir: Path | None) -> Path:
    """``resources/samples`` for the bundled models folder, else ``MODELS_DIR/_samples`` (the pack
    registry skips folders starting with "_"), so a retrained pack never replaces the samples the
    bundled pack's self-test uses."""
    if samples_dir is not None:
        return Path(samples_dir)
    if Path(models_dir).resolve() == (REPO_ROOT / "models").resolve():
        return REPO_ROOT / "resources" / "samples"
    return Path(models_dir) / "_samples"


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
        if args.data is not None:
            cfg = apply_user_data(cfg, args.data, mode=args.retrain_mode, test=args.test_from, version=args.version)
        elif args.retrain_mode or args.test_from:
            raise ConfigError("--mix, --replace and --test-from go with --data PATH")
        elif args.version:
            cfg["version"] = str(args.version)
        if args.quick:
            cfg = apply_quick(cfg)
    except (ConfigError, DataNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_dir = args.out or (REPO_ROOT / "runs" / (cfg["id"] + ("-quick" if args.quick else "")))
    try:
        # Check the data before anything is written or TensorFlow is loaded.
        from training.pipeline.datasets import load_pools
        from training.pipeline.splits import SplitError

        maybe_generate(cfg)
        load_pools(cfg)
        train_pack(cfg, run_dir, cache_dir=None if args.no_cache else args.cache)
    except (ConfigError, DataNotFoundError, SplitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.export:
        from training.pipeline.export import export_run

        models_dir = resolve_models_dir(args)
        export_run(run_dir, models_dir=models_dir, samples_dir=default_samples_dir(models_dir, args.samples_dir))
    return 0


def resolve_models_dir(args: argparse.Namespace) -> Path:
    """``--user-packs``: the app's user packs folder; otherwise ``--models-dir``."""
    if getattr(args, "user_packs", False):
        from inference.paths import user_packs_dir

        return user_packs_dir()
    return Path(args.models_dir)
