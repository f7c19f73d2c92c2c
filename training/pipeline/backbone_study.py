"""Which frozen backbone and input size to build a pack on: pooled ImageNet features, one pass each,
scored by logistic heads in lesion-grouped cross-validation on the training + validation side only.

``python -m training.pipeline.backbone_study CONFIG --option lite0:224 --option lite1:240 ... --out DIR``

For every ``backbone:size`` option:

1. the backbone (ImageNet weights, no fine-tuning) with global average pooling is exported to ONNX
   (``DIR/<option>.onnx``); the same graph gives the inference cost (one thread, batch 1, median
   milliseconds per image; one more ONNX run per test-time view);
2. every image of the config's data (all sides, so a later run can reuse them; ``--sides trainval``:
   only the side the study scores) is decoded and fitted
   by the app's code (stretch to ``size`` x ``size``, the Lite weights' normalisation) and run through
   it once, in onnxruntime: ``DIR/feat_<option>.npz`` (image ids and float32 embeddings; an existing
   file with the same ids is reused). The pass's CPU time (user + sys of this process) is recorded;
3. the config's split is made exactly as training makes it (same seed, groups and strata), and only
   its training + validation images are scored: ``StratifiedGroupKFold`` (5 folds grouped by the
   config's group column), per fold a standardised, class-balanced logistic regression for the
   7 diagnoses (balanced accuracy, one-vs-rest macro ROC-AUC) and one for benign / malignant
   (ROC-AUC, and the specificity where the fold's ROC curve first reaches 90% sensitivity: a
   property of the curve, not a threshold anyone ships). The test side is never read.

The folds are the same for every option (same seed and samples), so options compare fold by fold:
the report gives mean, standard deviation and, against the first option, the paired difference
per fold. Writes ``DIR/backbone_study.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

MALIGNANT = ("mel", "bcc", "akiec")


def parse_option(text: str) -> tuple[str, int]:
    """``"lite1:240"`` -> ``("lite1", 240)``."""
    from training.pipeline.backbones import LITE

    name, _, size = text.partition(":")
    if name not in LITE or not size.isdigit() or not 64 <= int(size) <= 1024:
        raise argparse.ArgumentTypeError(f"an option is BACKBONE:SIZE with BACKBONE one of {', '.join(LITE)}, "
                                         f"not {text!r}")
    return name, int(size)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def export_pooled(variant: str, size: int, path: Path) -> Path:
    """ImageNet EfficientNet-Lite ``variant`` at ``size`` px -> GAP embedding, as ONNX at ``path``."""
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx
    from keras import layers

    from training.lite0.model import build_lite0_backbone

    base = build_lite0_backbone(size, weights="imagenet", variant=variant)
    model = keras.Model(base.input, layers.GlobalAveragePooling2D(name="avg_pool")(base.output))
    spec = tf.TensorSpec((None, size, size, 3), tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        return {"embedding": model(x, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    probe = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    keras_out = np.asarray(model(probe, training=False))
    onnx_out = _session(path, 1).run(None, {"input": probe})[0]
    err = float(np.max(np.abs(keras_out - onnx_out)))
    if err > 1e-3:
        raise AssertionError(f"{path.name}: Keras vs onnxruntime differ by {err}")
    return path


def _session(path: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _median_ms(session, x, runs: int) -> float:
    """Median milliseconds of ``runs`` calls of an already warm session on ``x``."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, {"input": x})
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def time_onnx(path: Path, size: int, runs: int = 40) -> float:
    """Median milliseconds per image, batch 1, one thread."""
    session = _session(path, 1)
    x = np.random.default_rng(1).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    for _ in range(5):
        session.run(None, {"input": x})
    return _median_ms(session, x, runs)


def time_interleaved(models: dict[str, tuple[Path, int]], rounds: int = 5, runs: int = 20) -> dict[str, float]:
    """Median ms per image (batch 1, one thread) of each model, timed in alternating rounds so that a
    change in the machine's load falls on every model alike: the ratios are what to trust."""
    sessions = {k: (_session(p, 1), np.random.default_rng(1).uniform(-1, 1, (1, s, s, 3)).astype(np.float32))
                for k, (p, s) in models.items()}
    per: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):
        for k, (session, x) in sessions.items():
            session.run(None, {"input": x})
            per[k].append(_median_ms(session, x, runs))
    return {k: float(np.median(v)) for k, v in per.items()}


def extract(path: Path, samples: list, spec, threads: int = 2, batch: int = 32, log=print) -> tuple[np.ndarray, dict]:
    """Pooled embeddings of ``samples`` (decoded and fitted by the app's code) and the pass's cost."""
    from training.pipeline.features import load_fitted, normalise

    session = _session(path, threads)
    out = []
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        x = normalise(load_fitted([s.path for s in chunk], spec), spec)
        out.append(session.run(None, {"input": x})[0])
        if (start // batch) % 40 == 0:
            log(f"  {path.stem}: {start + len(chunk)}/{len(samples)} images, "
                f"{time.perf_counter() - wall0:.0f} s")
    cost = {"cpu_min": (_cpu_s() - cpu0) / 60, "wall_min": (time.perf_counter() - wall0) / 60,
            "images": len(samples), "threads": threads, "load_avg": os.getloadavg()[0]}
    return np.concatenate(out).astype(np.float32), cost


def _spec_at_sensitivity(y: np.ndarray, score: np.ndarray, sensitivity: float = 0.90) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    return float(1 - fpr[np.argmax(tpr >= sensitivity)])


def cross_validate(emb: np.ndarray, dx: np.ndarray, groups: np.ndarray, classes: list[str], *, folds: int = 5,
                   seed: int = 0, c: float = 0.1) -> dict:
    """Per-fold scores of class-balanced logistic heads (7 diagnoses and benign / malignant)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.preprocessing import StandardScaler

    y7 = np.array([classes.index(d) for d in dx])
    yb = np.isin(dx, MALIGNANT).astype(int)
    splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(emb, y7, groups))
    per_fold: dict[str, list[float]] = {"ham7_balanced_accuracy": [], "ham7_macro_auc": [], "binary_auc": [],
                                        "binary_spec_at_90_sens": []}
    for tr, va in splits:
        if set(groups[tr]) & set(groups[va]):
            raise AssertionError("a lesion on both sides of a fold")
        scaler = StandardScaler().fit(emb[tr])
        a, b = scaler.transform(emb[tr]), scaler.transform(emb[va])
        m7 = LogisticRegression(C=c, max_iter=500, class_weight="balanced").fit(a, y7[tr])
        p7 = m7.predict_proba(b)
        per_fold["ham7_balanced_accuracy"].append(float(balanced_accuracy_score(y7[va], p7.argmax(1))))
        per_fold["ham7_macro_auc"].append(float(roc_auc_score(y7[va], p7, multi_class="ovr", average="macro",
                                                              labels=list(range(len(classes))))))
        mb = LogisticRegression(C=c, max_iter=500, class_weight="balanced").fit(a, yb[tr])
        pb = mb.predict_proba(b)[:, 1]
        per_fold["binary_auc"].append(float(roc_auc_score(yb[va], pb)))
        per_fold["binary_spec_at_90_sens"].append(_spec_at_sensitivity(yb[va], pb))
    summary = {k: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "folds": v} for k, v in per_fold.items()}
    return {"n": int(len(dx)), "lesions": int(len(set(groups.tolist()))), "folds": folds, "C": c,
            "class_weight": "balanced", "metrics": summary}


def paired(result: dict, base: str) -> None:
    """Adds, to every option, its per-fold difference from ``base`` (mean, sd, folds better)."""
    ref = result["options"][base]["cv"]["metrics"]
    for name, opt in result["options"].items():
        opt["vs_" + base] = {}
        for k, m in opt["cv"]["metrics"].items():
            d = np.array(m["folds"]) - np.array(ref[k]["folds"])
            opt["vs_" + base][k] = {"mean": float(d.mean()), "sd": float(d.std()), "better": int((d > 0).sum())}


def split_trainval(cfg: dict) -> tuple[list, list]:
    """(all samples, training + validation samples) of ``cfg``'s split, made as training makes it."""
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    pools = load_pools(cfg)
    split = split_pools(pools, val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                        seed=int(cfg["seed"]), dropped=[])
    every = [s for p in pools for s in p.dataset.samples]
    return every, split["train"] + split["val"]


def lesion_subset(samples: list, nv_lesions: int, seed: int = 0, common: str = "nv") -> list:
    """One image per lesion (the first by image id); every lesion of the rarer diagnoses and
    ``nv_lesions`` randomly drawn ``common`` lesions (a class-capped mix, as the issue's capped test)."""
    first: dict[str, object] = {}
    for s in sorted(samples, key=lambda x: x.id):
        first.setdefault(s.group or s.id, s)
    picked = [s for s in first.values() if s.label != common]
    common_ones = sorted((s for s in first.values() if s.label == common), key=lambda x: x.id)
    rng = np.random.default_rng(seed)
    take = rng.choice(len(common_ones), size=min(nv_lesions, len(common_ones)), replace=False)
    picked += [common_ones[i] for i in sorted(take)]
    return sorted(picked, key=lambda x: x.id)


def run(config: Path, options: list[tuple[str, int]], out: Path, folds: int = 5, threads: int = 2,
        sides: str = "all", nv_lesions: int | None = None, log=print) -> dict:
    from training.pipeline.backbones import backbone_from_config
    from training.pipeline.config import load_config
    from training.pipeline.features import input_block, spec_from_block

    cfg = load_config(config)
    every, trainval = split_trainval(cfg)
    classes = sorted({s.label for s in every})
    if nv_lesions is not None:
        trainval = lesion_subset(trainval, nv_lesions, seed=int(cfg["seed"]))
        log(f"scored on a subset: one image per lesion, every non-nv lesion and {nv_lesions} nv lesions")
    log(f"{len(every)} images; training + validation side {len(trainval)} images of "
        f"{len({s.group for s in trainval})} lesions")
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "backbone_study.json"
    result = json.loads(result_path.read_text()) if result_path.is_file() else {"options": {}}
    result.update({"config": str(config), "images": len(every), "classes": classes, "scored": {
        "images": len(trainval), "nv_lesions": nv_lesions, "by_dx": {c: sum(s.label == c for s in trainval)
                                                                      for c in classes}}})
    for variant, size in options:
        name = f"{variant}@{size}"
        log(f"{name}:")
        onnx_path = out / f"{variant}_{size}.onnx"
        if not onnx_path.is_file():
            export_pooled(variant, size, onnx_path)
        entry = result["options"].get(name, {})
        entry["onnx_ms_1thread"] = time_onnx(onnx_path, size)
        entry["onnx_mb"] = onnx_path.stat().st_size / 1e6
        feat_path = out / f"feat_{variant}_{size}.npz"
        todo = every if sides == "all" else trainval
        cached = np.load(feat_path) if feat_path.is_file() else None
        have = set(cached["ids"].tolist()) if cached is not None else set()
        missing = [s for s in todo if s.id not in have]
        if cached is not None and {s.id for s in trainval} <= have:
            ids, emb = cached["ids"], cached["embedding"]
        else:
            # only the images not cached yet (a subset run's features are kept and extended)
            c = dict(cfg, input=dict(cfg["input"], size=size))
            spec = spec_from_block(input_block(c, backbone_from_config(dict(cfg, backbone=dict(
                cfg["backbone"], name=variant)))))
            emb, cost = extract(onnx_path, missing, spec, threads=threads, log=log)
            ids = np.array([s.id for s in missing])
            if cached is not None:
                ids = np.concatenate([cached["ids"], ids])
                emb = np.concatenate([cached["embedding"], emb])
            np.savez(feat_path, ids=ids, embedding=emb)
            entry["pass"] = cost
        row = {str(i): k for k, i in enumerate(ids.tolist())}
        idx = np.array([row[s.id] for s in trainval])
        entry["cv"] = cross_validate(emb[idx].astype(np.float64), np.array([s.label for s in trainval]),
                                     np.array([s.group or s.id for s in trainval], dtype=object), classes,
                                     folds=folds)
        result["options"][name] = entry
        m = entry["cv"]["metrics"]
        log(f"  {name}: binary AUC {m['binary_auc']['mean']:.4f} ± {m['binary_auc']['sd']:.4f}, spec@90 "
            f"{m['binary_spec_at_90_sens']['mean']:.4f} ± {m['binary_spec_at_90_sens']['sd']:.4f}, ham7 bal-acc "
            f"{m['ham7_balanced_accuracy']['mean']:.4f} ± {m['ham7_balanced_accuracy']['sd']:.4f}; "
            f"{entry['onnx_ms_1thread']:.1f} ms/image (1 thread)"
            + (f", pass {entry['pass']['cpu_min']:.1f} CPU min" if "pass" in entry else ""))
        result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if result["options"]:
        paired(result, next(iter(result["options"])))
        ms = time_interleaved({f"{v}@{z}": (out / f"{v}_{z}.onnx", z) for v, z in options})
        for name, value in ms.items():
            result["options"][name]["onnx_ms_1thread"] = value
        result["timing_load_avg"] = os.getloadavg()[0]
        log("one thread, batch 1, interleaved: " + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
            + f" (load average {result['timing_load_avg']:.1f})")
    result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline.backbone_study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path)
    p.add_argument("--option", type=parse_option, action="append", required=True, help="BACKBONE:SIZE")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--nv-lesions", type=int, default=None,
                   help="score (and extract) only one image per lesion: every non-nv lesion of the "
                        "training + validation side and this many nv lesions (when CPU is short)")
    p.add_argument("--sides", choices=("all", "trainval"), default="all",
                   help="images to extract: every one (reusable by a later training run) or only the "
                        "training + validation side the study scores (cheaper)")
    a = p.parse_args(argv)
    run(a.config, a.option, a.out, folds=a.folds, threads=a.threads, sides=a.sides, nv_lesions=a.nv_lesions,
        log=lambda text: print(text, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
