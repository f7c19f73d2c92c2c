"""Turn a training run into a model pack: ``models/<id>/`` and ``resources/samples/<id>/``.

1. Rebuild the trained Keras model from ``weights.npz``.
2. Out-of-domain score: energy vs Mahalanobis, each thresholded at 95% in-domain acceptance on the
   validation images, measured on the *selection* half of each OOD set; the better one is used
   (Mahalanobis is baked into the graph as ``ood_score``).
3. Export to ONNX (tf2onnx, opset 17, input ``input`` NHWC float32, dynamic batch) with outputs
   ``probs``, ``logits``, ``cam`` (exact CAM of the GAP -> Dense head), ``embedding`` and maybe
   ``ood_score``; parity Keras vs onnxruntime on real validation images (fails above 1e-4 on probs).
4. Thresholds on the validation images *through the ONNX file and the app's preprocessing*: alarm
   threshold (sensitivity target), review band, OOD threshold.
5. Manifest (validated by :func:`inference.manifest.validate_manifest`), then the pack is loaded by
   :class:`inference.inspector.Inspector` and evaluated on the held-out test images, the degraded
   test images (robustness) and the *report* half of each OOD set: the card's numbers are the app's.
   With ``evaluation.unseen`` the test metrics are repeated on the test images whose value of
   those columns (background, lighting, ...) never occurs in the training or validation images;
   with ``evaluation.masks`` the app's heatmaps are scored against ground-truth region masks
   (pointing game, heatmap mass inside the mask; :mod:`training.pipeline.heatmaps`).
6. Plots, self-test samples, CARD.md (with an optional contact sheet of the test images);
   ``export_report.json`` in the run folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.pipeline.config import REPO_ROOT, build_config

PARITY_TOLERANCE = 1e-4
ONNX_NAME = "model.onnx"
PACK_FILES = (ONNX_NAME, "manifest.json", "CARD.md", "confusion_matrix.png", "confusion_matrix_argmax.png",
              "roc_curves.png", "training_curves.png", "ood_scores.png", "contact_sheet.png", "heatmap_examples.png",
              "calibration.png")


class ExportError(RuntimeError):
    """The export failed a check (parity, manifest, self-test samples)."""


def load_run_config(run_dir: Path) -> dict:
    import yaml

    raw = yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    meta = raw.pop("_meta", {}) or {}
    cfg = build_config(raw, source=str(run_dir / "config.yaml"))
    cfg["_quick"] = bool(meta.get("quick"))
    cfg["_path"] = meta.get("source_config")
    return cfg


# ------------------------------------------------------------------------------------------------
# ONNX


def export_onnx(keras_model, path: Path, opset: int = 17) -> list[str]:
    """Convert a dict-output Keras model to ONNX at ``path`` (input ``input``, batch ``batch``).

    Same recipe as :func:`training.lite0.cam_export.export_onnx`, which insists on exactly the four
    outputs probs/logits/cam/embedding; this one also carries ``ood_score``.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = tuple(keras_model.inputs[0].shape[1:])
    keras_model(np.zeros((1, *shape), np.float32), training=False)
    spec = tf.TensorSpec((None, *shape), tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        return keras_model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=opset)
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    if [i.name for i in proto.graph.input] != ["input"]:
        raise ExportError(f"unexpected ONNX inputs {[i.name for i in proto.graph.input]}")
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return [o.name for o in proto.graph.output]


def parity(keras_model, onnx_path: Path, images: np.ndarray, tolerance: float = PARITY_TOLERANCE) -> dict:
    """Max |Keras - onnxruntime| per output on real images; raises ExportError above ``tolerance``
    on probs or when an argmax differs."""
    import onnxruntime as ort

    from training.pipeline.features import make_predict_fn

    keras_out = make_predict_fn(keras_model, tuple(images.shape[1:]), 16)(images)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    onnx_out = {}
    for i in range(0, len(images), 16):
        for k, v in zip(names, session.run(names, {"input": images[i:i + 16]})):
            onnx_out.setdefault(k, []).append(v)
    onnx_out = {k: np.concatenate(v) for k, v in onnx_out.items()}
    max_abs = {k: float(np.max(np.abs(np.asarray(keras_out[k], np.float64) - onnx_out[k]))) for k in names}
    rel = {}
    if "ood_score" in names:
        rel["ood_score"] = float(np.max(np.abs(keras_out["ood_score"] - onnx_out["ood_score"])
                                        / np.maximum(np.abs(keras_out["ood_score"]), 1e-6)))
    agree = float(np.mean(np.argmax(keras_out["probs"], 1) == np.argmax(onnx_out["probs"], 1)))
    report = {"n": int(len(images)), "max_abs": max_abs, "max_rel": rel, "argmax_agree": agree,
              "tolerance_probs": tolerance}
    if max_abs["probs"] > tolerance or agree < 1.0:
        raise ExportError(f"Keras vs onnxruntime parity failed: {report}")
    return report


def onnx_outputs(onnx_path: Path, tensors: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs() if o.name != "cam"]
    out: dict[str, list] = {}
    for i in range(0, len(tensors), batch):
        for k, v in zip(names, session.run(names, {"input": tensors[i:i + batch]})):
            out.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def ood_embedding(model, features: str):
    """The tensor of ``model``'s graph the Mahalanobis score reads, and whether it differs from the
    pooled embedding the training run saved. ``head``: that embedding (``avg_pool``); ``backbone``:
    the pooled output of the cut backbone *before* the neck. A neck trained with the mask loss
    learns to respond to defects, so its features hardly separate a photo of something else;
    the backbone's (ImageNet-pretrained) features still do."""
    from keras import layers

    if features == "head":
        return model.get_layer("avg_pool").output, False
    if features != "backbone":
        raise ValueError(f"ood.mahalanobis.features must be 'head' or 'backbone', not {features!r}")
    try:
        fmap = model.get_layer("neck_conv1").input
    except ValueError:  # no neck: the backbone's map is the one the head pools
        return model.get_layer("avg_pool").output, False
    return layers.GlobalAveragePooling2D(name="backbone_pool")(fmap), True


def _spread(items: list, k: int) -> list:
    """At most ``k`` of ``items``, evenly spaced (deterministic, every class kept in proportion)."""
    if len(items) <= k:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, k).astype(int)]


def _features(fn, paths: list, spec, chunk: int = 256) -> np.ndarray:
    """``fn`` over images decoded ``chunk`` at a time (a large split does not fit in memory at once)."""
    return np.concatenate([fn(preprocess_items(paths[i:i + chunk], spec)) for i in range(0, len(paths), chunk)])


def preprocess_items(items: list, spec) -> np.ndarray:
    """Paths or RGB arrays -> model tensors with the app's decoding and preprocessing."""
    from inference.imageio import load_image
    from inference.preprocess import preprocess

    return np.stack([preprocess(load_image(it).rgb, spec)[0] for it in items]).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# the export


def _inspect(inspector, items: list, names: list[str] | None = None) -> dict:
    """Run the app's inspector on paths/arrays; arrays of probs, labels and flags (errors counted)."""
    class_names = list(inspector.manifest.class_names)
    probs, labels, ood, review, scores, errors = [], [], [], [], [], []
    for i, item in enumerate(inspector.iter_batch(items, batch_size=32, names=names)):
        if not item.ok:
            errors.append((item.source, str(item.error)))
            continue
        r = item.result
        probs.append([r.probabilities[n] for n in class_names])
        labels.append(class_names.index(r.model_label or r.label))  # the policy's class, refused or not
        ood.append(r.out_of_domain)
        review.append(r.needs_review)
        scores.append(np.nan if r.ood_score is None else r.ood_score)
    return {"probs": np.asarray(probs, np.float64).reshape(-1, len(class_names)), "labels": np.asarray(labels, int),
            "ood": np.asarray(ood, bool), "review": np.asarray(review, bool), "ood_score": np.asarray(scores),
            "errors": errors}


def _inspect_degraded(inspector, images: list, idx: np.ndarray, clean: dict) -> dict:
    """:func:`_inspect` of ``images`` where only ``idx`` differ from the images ``clean`` answered
    (every one of them, in order): only those run again, the rest keep their clean answers."""
    keys = ("probs", "labels", "ood", "review", "ood_score")
    if clean["errors"] or len(clean["labels"]) != len(images):
        return _inspect(inspector, images, names=[f"test{i}" for i in range(len(images))])
    sub = _inspect(inspector, [images[i] for i in idx], names=[f"test{i}" for i in idx])
    if sub["errors"]:
        raise RuntimeError(f"degraded test images failed: {sub['errors'][:3]}")
    out = {k: np.array(clean[k], copy=True) for k in keys}
    for k in keys:
        out[k][idx] = sub[k]
    out["errors"] = []
    return out


def _alarm_summary(y: np.ndarray, pred: np.ndarray, alarming_idx: list[int]) -> dict | None:
    """Sensitivity/specificity of "an alarming class was reported" vs "the truth is alarming"."""
    if not alarming_idx:
        return None
    t = np.isin(y, alarming_idx)
    p = np.isin(pred, alarming_idx)
    tp, fn = int(np.sum(t & p)), int(np.sum(t & ~p))
    tn, fp = int(np.sum(~t & ~p)), int(np.sum(~t & p))
    return {"sensitivity": tp / max(tp + fn, 1), "specificity": tn / max(tn + fp, 1),
            "ppv": tp / max(tp + fp, 1), "npv": tn / max(tn + fn, 1), "tp": tp, "fn": fn, "tn": tn, "fp": fp}


def _pick_samples(y: np.ndarray, res: dict, class_names: list[str], count: int, preferred: list[str]) -> list[int]:
    """Indices of correctly classified, in-domain, no-review, confident test images, spread over classes."""
    ok = (res["labels"] == y) & ~res["ood"]
    conf = res["probs"][np.arange(len(y)), res["labels"]]
    order = [class_names.index(n) for n in preferred if n in class_names]
    # Then the other classes, commonest first.
    order += sorted((i for i in range(len(class_names)) if i not in order), key=lambda i: -int(np.sum(y == i)))
    per_class = max(1, count // len(class_names)) if len(class_names) <= count else 1
    chosen: list[int] = []
    for rnd in range(per_class):
        for c in order:
            if len(chosen) >= count:
                break
            cand = [i for i in np.flatnonzero(ok & (y == c) & ~res["review"]) if i not in chosen]
            if not cand:
                cand = [i for i in np.flatnonzero(ok & (y == c)) if i not in chosen]
            if cand:
                # Not the most confident (often trivial): the median-confidence correct one.
                cand = sorted(cand, key=lambda i: conf[i])
                chosen.append(int(cand[len(cand) // 2] if rnd == 0 else cand[-1]))
    return chosen[:count]


MIRROR_MAX_BATCH = 8  # runtime.max_batch of a pack exported with decision.mirror_average
REFRESHABLE = ("decision", "ood", "evaluation", "card")


def export_run(run_dir: Path, *, models_dir: Path = REPO_ROOT / "models",
               samples_dir: Path = REPO_ROOT / "resources" / "samples", refresh_config: bool = False,
               log=print, until: str | None = None) -> dict:
    """Export ``run_dir`` to ``models_dir/<id>/``; returns the export report. With
    ``refresh_config`` the blocks that play no part in training (decision, ood, evaluation, card,
    training_data) come from the source config as it is now, not as it was when the run was trained, and so does
    its version when it is the later one. The work is done by the stages of
    :mod:`training.pipeline.export_stages`, in order (with ``until``, up to and including that stage)."""
    from training.pipeline.export_stages import load_stage, run_stages

    ctx = load_stage(run_dir, models_dir=Path(models_dir), samples_dir=Path(samples_dir),
                     refresh_config=refresh_config, log=log)
    return run_stages(ctx, until=until)


def _kept_guard_records(pack_dir: Path) -> dict:
    """The old manifest's training records of the guard models whose files are still in the pack
    folder (``guard_ae.onnx``, ``guard_purifier.onnx``): the export rewrites the manifest without a
    guard, and ``python -m training guard --keep-autoencoder`` needs the record to reuse the file."""
    from training.guard import autoencoder, kept_guard_record, purifier

    kept = {key: kept_guard_record(pack_dir, key, name)
            for key, name in (("autoencoder", autoencoder.ONNX_NAME), ("purifier", purifier.ONNX_NAME))}
    return {k: v for k, v in kept.items() if v}


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _robust_row(kind: str, fraction: float, y: np.ndarray, res: dict, names: list[str]) -> dict:
    from training.pipeline.evaluate import classification_metrics

    m = classification_metrics(y, res["labels"], res["probs"], names)
    return {"kind": kind, "fraction": fraction, "n": m["n"], "correct": m["correct"], "accuracy": m["accuracy"],
            "balanced_accuracy": m["balanced_accuracy"], "precision_macro": m["macro"]["precision"],
            "recall_macro": m["macro"]["recall"], "f1_macro": m["macro"]["f1"],
            "specificity_macro": m["macro"]["specificity"], "roc_auc": m.get("roc_auc"),
            "ood_refused": int(res["ood"].sum())}


def _manifest_metrics(report: dict, names: list[str]) -> dict:
    """A compact metrics block for the manifest (the card has everything)."""
    def summary(m: dict) -> dict:
        out = {"n": m["n"], "accuracy": round(m["accuracy"], 4), "balanced_accuracy": round(m["balanced_accuracy"], 4),
               "macro_f1": round(m["macro"]["f1"], 4), "weighted_f1": round(m["weighted"]["f1"], 4),
               "roc_auc": None if m.get("roc_auc") is None else round(m["roc_auc"], 4),
               "per_class": {n: {"recall": round(m["per_class"][n]["recall"], 4),
                                 "specificity": round(m["per_class"][n]["specificity"], 4),
                                 "precision": round(m["per_class"][n]["precision"], 4),
                                 "support": m["per_class"][n]["support"]} for n in names}}
        if m.get("top_k"):
            out["top_k"] = {k: round(v, 4) for k, v in m["top_k"].items()}
        return out

    def rnd(v):
        return None if v is None else round(float(v), 4)

    out = {
        "test_app_decision": summary(report["test_app"]),
        "test_most_probable": summary(report["test_argmax"]),
        "alarm_test": report["alarm_test"],
        "review_rate_test": round(report["review_rate_test"], 4),
        "ood_rejection": {k: v["rejection_rate"] for k, v in report["ood_report"].items()},
        "in_domain_false_rejection_test": round(report["in_domain_false_rejection_test"], 4),
        "split": _test_description(report["train_summary"]["split"]) + "; see CARD.md",
    }
    rob = [r for r in report.get("robustness", []) if r["kind"] != "clean"]
    if rob:
        out["robustness_accuracy"] = {f"{r['kind']}_{int(round(100 * r['fraction']))}": rnd(r["accuracy"]) for r in rob}
    if report.get("test_subsets"):
        out["test_subsets"] = {s["name"]: {"n": s["n"], "accuracy": rnd(s["accuracy"]),
                                           "accuracy_app": rnd(s["accuracy_app"]), "roc_auc": rnd(s["roc_auc"]),
                                           "values": s["values"]} for s in report["test_subsets"]}
    if report.get("test_breakdown"):
        out["test_breakdown"] = {col: {v: {"n": r["n"], "accuracy_app": rnd(r["accuracy_app"])} for v, r in rows.items()}
                                 for col, rows in report["test_breakdown"].items()}
    heat = report.get("heatmap")
    if heat and heat.get("all", {}).get("n"):
        a = heat["all"]
        out["heatmap"] = {"n": a["n"], "tolerance_px": a["tolerance_px"], "pointing_game": rnd(a["pointing_game"]),
                          "pointing_game_exact": rnd(a["pointing_game_exact"]),
                          "mass_inside_mean": rnd(a["mass_inside_mean"]), "mask_area_mean": rnd(a["mask_area_mean"]),
                          "pointing_game_detected": rnd(heat["detected"]["pointing_game"]),
                          "heatmap": heat["heatmap"]}
    return out


def _user_data_args(summary: dict) -> str:
    u = summary.get("user_data")
    if not u:
        return ""
    return f" --data {u['path']}" + (" --mix" if u["mode"] == "mix" else "") + (
        " --test-from config" if u["test"] == "config" else "")


def _test_description(summary: dict) -> str:
    for src in summary.get("sources") or []:
        if src["holdout"] == "all":
            return f"separate test source ({src['description']}), never used for training, validation or thresholds"
    key = summary.get("group_key")
    return f"{key}/group-disjoint held-out test set" if summary.get("grouped") else "held-out test set (stratified)"


def _split_text(summary: dict, cfg: dict) -> str:
    key = summary.get("group_key")
    how = f"grouped by {key} (no {key} on two sides), stratified" if summary.get("grouped") else "stratified by class"
    t = summary["totals"]
    text = f"{how}: train {t['train']}, validation {t['val']}, test {t['test']} images (seed {cfg['seed']})."
    sources = summary.get("sources")
    if sources:
        roles = {"carve": "train/validation/test", "none": "train/validation only", "all": "test only"}
        text += " Sources: " + "; ".join(f"{s['name']} ({roles[s['holdout']]}): {s['description']}"
                                         for s in sources) + "."
    return text


def _data_block(cfg: dict, summary: dict) -> dict:
    block = {"source": " ".join(str(cfg["data"]["source"]).split()),
             "licence": " ".join(str(cfg["data"]["licence"]).split()),
             "split": _split_text(summary, cfg)}
    if cfg.get("test_data") is not None and any(s["holdout"] == "all" for s in summary.get("sources") or []):
        block["test_source"] = " ".join(str(cfg["test_data"].get("source") or "").split())
    if summary.get("user_data"):
        block["retrained_on"] = summary["user_data"]
    return block


# ------------------------------------------------------------------------------------------------
# optional evaluation hooks


def unseen_subsets(split: dict, columns: list[str], y: np.ndarray, res: dict, names: list[str]) -> list[dict]:
    """Test metrics on the test images whose value in ``columns`` never occurs on the train or
    validation side: one subset per column, one for "any of them unseen" and one for "all seen"
    (each only when it holds images). ``res`` is the inspector's output on the test side in order."""
    from training.pipeline.evaluate import classification_metrics

    if not columns:
        return []
    test = split["test"]
    unseen: dict[str, np.ndarray] = {}
    values: dict[str, list[str]] = {}
    for col in columns:
        seen = {s.extra.get(col) for side in ("train", "val") for s in split[side]}
        have = [s.extra.get(col) not in (None, "") for s in test]
        if not any(have):
            continue
        mask = np.array([h and s.extra.get(col) not in seen for s, h in zip(test, have)], bool)
        unseen[col] = mask
        values[col] = sorted({s.extra[col] for s, m in zip(test, mask) if m})
    subsets = [(f"unseen {c}", m, {c: values[c]}) for c, m in unseen.items()]
    if len(unseen) > 1:
        anym = np.any(list(unseen.values()), axis=0)
        subsets.append((f"unseen {' or '.join(unseen)}", anym, dict(values)))
    if unseen:
        subsets.append(("all seen", ~np.any(list(unseen.values()), axis=0), {}))
    out = []
    for name, mask, vals in subsets:
        if not mask.any():
            continue
        yy, probs, decided = y[mask], res["probs"][mask], res["labels"][mask]
        m_arg = classification_metrics(yy, probs.argmax(1), probs, names)
        m_app = classification_metrics(yy, decided, probs, names)
        out.append({"name": name, "n": int(mask.sum()), "values": vals,
                    "accuracy": m_arg["accuracy"], "accuracy_app": m_app["accuracy"],
                    "balanced_accuracy": m_arg["balanced_accuracy"], "roc_auc": m_arg.get("roc_auc"),
                    "per_class_recall_app": {n: m_app["per_class"][n]["recall"] for n in names},
                    "confusion_matrix_app": m_app["confusion_matrix"]})
    return out


def test_breakdown(split: dict, columns: list[str], y: np.ndarray, res: dict, names: list[str]) -> dict:
    """Per value of each column (e.g. defect, family): n, the true classes, and the share the app
    decided right (and the share called each class), on the test side in order."""
    out: dict = {}
    test = split["test"]
    for col in columns:
        values = [s.extra.get(col) for s in test]
        if not any(v not in (None, "") for v in values):
            continue
        rows = {}
        for v in sorted({v for v in values if v not in (None, "")}):
            m = np.array([x == v for x in values], bool)
            rows[v] = {"n": int(m.sum()),
                       "true": {names[c]: int(np.sum(y[m] == c)) for c in range(len(names)) if np.any(y[m] == c)},
                       "accuracy_app": float(np.mean(res["labels"][m] == y[m])),
                       "called": {names[c]: float(np.mean(res["labels"][m] == c)) for c in range(len(names))}}
        out[col] = rows
    return out


def heatmap_quality(inspector, test: list, masks_cfg: dict, names: list[str], alarming: list[str],
                    examples_png: Path | None = None, *, seed: int = 0, log=print) -> dict | None:
    """Score the app's heatmaps (``inspector.classify(path).heatmap``) on the test images that have a
    region mask (``extra[masks_cfg["column"]]``): all of them, those the app called alarming (or got
    right, without alarming classes), and per ``masks_cfg["by"]`` value. Draws a few overlays."""
    import cv2

    from inference.imageio import load_image
    from training.pipeline import heatmaps as hm

    column, tol = masks_cfg["column"], float(masks_cfg["tolerance_px"])
    items = [s for s in test if s.extra.get(column)]
    if not items:
        log(f"  heatmap quality: no test image has a mask in column {column!r}; skipped")
        return None
    rows, detected, keys, kept = [], [], [], []
    for s in items:
        mask = cv2.imread(str(s.extra[column]), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise ExportError(f"mask {s.extra[column]} of {s.id} could not be read")
        r = inspector.classify(s.path)
        if r.heatmap is None:
            log("  heatmap quality: the pack has no cam output; skipped")
            return None
        # Scored at the test image's own size (small renders): the map the app draws, unshrunk.
        heat = r.heatmap_image(None)
        if mask.shape != heat.shape:
            mask = cv2.resize(mask, (heat.shape[1], heat.shape[0]), interpolation=cv2.INTER_NEAREST)
        row = hm.image_scores(heat, mask, tol)
        rows.append(row)
        picked = r.model_label or r.label  # the policy's class, refused or not
        detected.append(picked in alarming if alarming else picked == s.label)
        keys.append(s.extra.get(masks_cfg["by"]) if masks_cfg.get("by") else None)
        kept.append((s, r, mask, row))
    out = {
        "column": column, "tolerance_px": tol,
        "heatmap": "the app's heatmap (InspectionResult.heatmap_image(): the CAM of "
                   + (f"the class '{inspector.manifest.decision.heatmap_class}', whatever the verdict,"
                      if inspector.manifest.decision.heatmap_class else "the predicted class") + " at image size)",
        "all": hm.summarise(rows, tol),
        "detected": hm.summarise([r for r, d in zip(rows, detected) if d], tol),
        "by": masks_cfg.get("by"),
        "groups": hm.grouped(rows, keys, tol) if masks_cfg.get("by") else {},
    }
    a = out["all"]
    log(f"  heatmap quality on {a['n']} masked test images: pointing game {a['pointing_game']:.3f} "
        f"(tolerance {tol:g} px; exact {a['pointing_game_exact']:.3f}), mass inside {a['mass_inside_mean']:.3f} "
        f"vs mask area {a['mask_area_mean']:.3f}")
    n_ex = int(masks_cfg.get("examples") or 0)
    if examples_png is not None and n_ex > 0:
        rng = np.random.default_rng(seed)
        pick = sorted(rng.permutation(len(kept))[:n_ex].tolist())
        tiles = []
        for i in pick:
            s, r, mask, row = kept[i]
            rgb = load_image(s.path).rgb
            caption = (f"{'hit' if row['hit'] else 'miss'} {row['mass_inside']:.0%} "
                       + (str(s.extra.get(masks_cfg['by'])) + " " if masks_cfg.get("by") else "") + f"-> {r.model_label or r.label}")
            tiles.append((hm.overlay(rgb, r.heatmap_image(None), mask, row["peak"]), caption))
        hm.examples_sheet(tiles, examples_png, cols=4)
        out["examples"] = examples_png.name
    return out


def contact_sheet_hook(cfg: dict, out_png: Path, log=print) -> str | None:
    """``card.contact_sheet: {module: M, limit: N, source: test_data|data}``: ``M.contact_sheet(folder,
    out_png, limit=N)`` on that source's folder. Optional: a failure is logged, not raised."""
    import importlib

    from training.pipeline.config import resolve_path

    hook = cfg["card"].get("contact_sheet")
    if not hook:
        return None
    name = hook.get("source") or ("test_data" if cfg.get("test_data") is not None else "data")
    src = cfg.get(name) if name in ("data", "test_data") else None
    if not src:
        log(f"  contact sheet: no data source {name!r}; skipped")
        return None
    folder = resolve_path(src["csv"]).parent if src["format"] == "csv" and src.get("csv") else resolve_path(src.get("folder"))
    try:
        module = importlib.import_module(hook.get("module", "training.seals"))
        module.contact_sheet(folder, out_png, limit=int(hook.get("limit", 32)),
                             **{k: v for k, v in hook.items() if k in ("cols", "thumb")})
    except (ImportError, AttributeError, OSError, ValueError, KeyError, RuntimeError) as exc:
        log(f"  contact sheet skipped: {exc}")
        return None
    log(f"  contact sheet of {folder} -> {out_png}")
    return out_png.name


def _rel(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def rewrite_card(run_dir: Path, *, models_dir: Path = REPO_ROOT / "models", log=print) -> Path:
    """Write ``CARD.md`` again from the run's ``export_report.json`` and the *current* card texts of
    the source config (wording changes without re-exporting; the numbers stay the measured ones)."""
    from training.pipeline import card
    from training.pipeline.config import load_config

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    cfg["_path_rel"] = _rel(Path(cfg["_path"])) if cfg.get("_path") else "CONFIG"
    if cfg.get("_path") and Path(cfg["_path"]).is_file():
        cfg["card"] = load_config(cfg["_path"])["card"]
    report = json.loads((run_dir / "export_report.json").read_text(encoding="utf-8"))
    pack_dir = Path(models_dir) / cfg["id"]
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    from training.pipeline.export_eval import cfg_with_sections

    path = card.write_card(pack_dir / "CARD.md", cfg=cfg_with_sections(cfg, report), manifest=manifest, report=report)
    log(f"rewrote {path}")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:  # used by export_cmd
    parser.add_argument("run_dir", type=Path, help="a run folder written by `python -m training train`")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models", help="default models/")
    parser.add_argument("--user-packs", action="store_true",
                        help="write into the user packs folder the app reads (TILIK_PACKS_DIR, default "
                             "<user data dir>/packs) instead of models/")
    parser.add_argument("--samples-dir", type=Path, default=None,
                        help="default resources/samples/, or MODELS_DIR/_samples/ when --models-dir is not models/")
    parser.add_argument("--refresh-config", action="store_true",
                        help="take decision, ood, evaluation, card and training_data from the source config as it is now "
                             "(they play no part in training), not from the run's copy; and its version "
                             "when it is later than the run's")
    parser.add_argument("--until", default=None, metavar="STAGE",
                        help="stop after this export stage, e.g. manifest_stage: a candidate pack for a ship "
                             "check, its test side not read (no card, report or samples)")
    parser.add_argument("--card-only", action="store_true",
                        help="only rewrite CARD.md from the run's export_report.json and the config's card texts")
