"""The export of a training run, as stages that run (and are tested) one at a time.

:func:`training.pipeline.export.export_run` is these stages in order, each reading and filling one
:class:`ExportContext`:

1. :func:`load_stage`: the run's config, split, outputs; the pack folder emptied of the old files.
2. :func:`model_stage`: the trained Keras model rebuilt, wrapped with its CAM (and test-time views).
3. :func:`ood_selection_stage`: energy vs Mahalanobis on the selection halves of the OOD sets.
4. :func:`onnx_stage`: the ONNX file and its parity with Keras on validation images (then
   :func:`training.pipeline.calibration.calibration_stage`: with ``decision.calibrate: temperature``, ``probs = softmax(logits / T)``
   in the graph, ``T`` fitted on the validation logits).
5. :func:`thresholds_stage`: alarm threshold, review band and OOD threshold on validation, through ONNX.
6. :func:`manifest_stage`: the manifest written and the pack loaded by the app's inspector.
7. :func:`test_stage`: the held-out test images through the inspector (then :func:`mixes_stage` and
   :func:`larger_inputs_stage` when the config asks for them).
8. :func:`robustness_stage`, :func:`ood_report_stage`: degraded test images, the OOD report halves.
9. :func:`artifacts_stage`: plots and the self-test samples.
10. :func:`finish_stage`: the final manifest, CARD.md and ``export_report.json``.

The stages are the code that was one long function, moved as it was: a rebuild of an existing pack
gives the same files.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from training.pipeline.config import REPO_ROOT


@dataclass
class ExportContext:
    """What the stages share: inputs first, then what each stage adds (``None`` until it ran)."""

    run_dir: Path
    models_dir: Path
    samples_dir: Path
    log: Callable = print
    cfg: dict = field(default_factory=dict)
    t_start: float = 0.0
    timings: dict = field(default_factory=dict)
    # load_stage
    seed: int = 0
    pack_id: str = ""
    names: list = field(default_factory=list)
    alarming: list = field(default_factory=list)
    alarming_idx: list = field(default_factory=list)
    split: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    train_summary: dict = field(default_factory=dict)
    pack_dir: Path | None = None
    kept_guard: dict = field(default_factory=dict)
    old_card: str | None = None  # the CARD.md this export replaces (its marked sections are kept)
    y: dict = field(default_factory=dict)
    # model_stage
    model: Any = None
    spec: Any = None
    block: dict = field(default_factory=dict)
    size: int = 0
    heat_class: str | None = None
    mirror: bool = False
    tta: tuple = ()
    cam_model: Any = None
    # ood_selection_stage
    maha: Any = None
    emb_tensor: Any = None
    own_features: bool = False
    halves: dict = field(default_factory=dict)
    selection: dict = field(default_factory=dict)
    mean_rej: dict = field(default_factory=dict)
    chosen: str | None = None
    # onnx_stage
    onnx_path: Path | None = None
    output_names: list = field(default_factory=list)
    par: dict = field(default_factory=dict)
    calibration: dict | None = None
    # thresholds_stage
    decision: dict = field(default_factory=dict)
    ood_block: dict | None = None
    val_probs: Any = None
    val_ood: Any = None
    val_decided: Any = None
    val_metrics_app: dict = field(default_factory=dict)
    # manifest_stage
    manifest: dict = field(default_factory=dict)
    inspector: Any = None
    # test_stage and after
    res: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)   # optional stages' report blocks (mixes, larger inputs)
    robustness: list = field(default_factory=list)
    heat: dict | None = None
    ood_report: dict = field(default_factory=dict)
    ood_scores_report: dict = field(default_factory=dict)
    entries: list = field(default_factory=list)
    sheet: str | None = None
    report: dict = field(default_factory=dict)


def load_stage(run_dir: Path, *, models_dir: Path, samples_dir: Path, refresh_config: bool = False,
               log=print) -> ExportContext:
    """Stage 1: the run's config (optionally refreshed), split and outputs; the pack folder ready."""
    import keras

    from training.pipeline.export import PACK_FILES, REFRESHABLE, ExportError, _kept_guard_records, _rel, \
        load_run_config
    from training.pipeline.splits import read_split

    c = ExportContext(run_dir=Path(run_dir), models_dir=Path(models_dir), samples_dir=Path(samples_dir), log=log)
    c.t_start = time.perf_counter()
    cfg = load_run_config(c.run_dir)
    cfg["_path_rel"] = _rel(Path(cfg["_path"])) if cfg.get("_path") else "CONFIG"
    if refresh_config:
        from training.pipeline.config import load_config, user_training_data

        if not cfg.get("_path") or not Path(cfg["_path"]).is_file():
            raise ExportError(f"--refresh-config: the run's source config {cfg.get('_path')} is not there")
        current = load_config(cfg["_path"])
        for key in REFRESHABLE:
            cfg[key] = current[key]
        # Nor does training_data; a run on the user's photos keeps what `--data` makes of it.
        user = json.loads((c.run_dir / "train_summary.json").read_text(encoding="utf-8"))["split"].get("user_data")
        cfg["training_data"] = user_training_data(current["training_data"], user["mode"]) if user else current["training_data"]
        log(f"  {', '.join(REFRESHABLE)}, training_data taken from {cfg['_path_rel']} as it is now")
        from inference.registry import version_key

        # A config that now names a later version (the export recipe changed) relabels the pack;
        # never an earlier one (a retrained run's bumped version stays).
        if version_key(str(current["version"])) > version_key(str(cfg["version"])):
            log(f"  version {cfg['version']} -> {current['version']} (from {cfg['_path_rel']})")
            cfg["version"] = current["version"]
    c.cfg = cfg
    c.seed = int(cfg["seed"])
    keras.utils.set_random_seed(c.seed)
    c.pack_id = cfg["id"]
    c.names = [x["name"] for x in cfg["classes"]]
    c.alarming = list(cfg["decision"]["alarming"])
    c.alarming_idx = [c.names.index(a) for a in c.alarming]
    c.split = read_split(c.run_dir / "split.csv")
    c.arrays = dict(np.load(c.run_dir / "outputs.npz"))
    c.train_summary = json.loads((c.run_dir / "train_summary.json").read_text(encoding="utf-8"))
    c.pack_dir = c.models_dir / c.pack_id
    c.pack_dir.mkdir(parents=True, exist_ok=True)
    c.kept_guard = _kept_guard_records(c.pack_dir)
    if (c.pack_dir / "CARD.md").is_file():  # its marked sections go into the new card (kept in the run if this fails)
        c.old_card = (c.pack_dir / "CARD.md").read_text(encoding="utf-8")
        (c.run_dir / "previous_CARD.md").write_text(c.old_card, encoding="utf-8")
    for f in PACK_FILES:
        (c.pack_dir / f).unlink(missing_ok=True)
    index = {n: i for i, n in enumerate(c.names)}
    c.y = {s: np.array([index[x.label] for x in c.split[s]], int) for s in c.split}
    log(f"exporting {c.pack_id} from {c.run_dir} to {c.pack_dir}")
    return c


def model_stage(c: ExportContext) -> ExportContext:
    """Stage 2: the trained model from ``weights.npz``, wrapped with its exact CAM."""
    from training.lite0.cam_export import build_cam_model
    from training.pipeline.backbones import backbone_from_config, build_classifier
    from training.pipeline.export import ExportError
    from training.pipeline.features import input_block, spec_from_block
    from training.pipeline.train_cmd import load_weights

    cfg = c.cfg
    backbone = backbone_from_config(cfg)
    c.block = input_block(cfg, backbone)
    c.spec = spec_from_block(c.block)
    c.size = int(cfg["input"]["size"])
    model, _ = build_classifier(backbone, c.size, len(c.names), float(cfg["schedule"]["head"]["dropout"]), weights=None)
    load_weights(model, c.run_dir / "weights.npz")
    c.model = model
    c.heat_class = cfg["decision"].get("heatmap_class")
    if c.heat_class is not None and c.heat_class not in c.names:
        raise ExportError(f"decision.heatmap_class: '{c.heat_class}' is not one of the classes {c.names}")
    # A fixed class (e.g. the alarming one): the heatmap answers "where does it look damaged?"
    # whatever the verdict, so a missed defect still shows where the evidence was.
    c.mirror = bool(cfg["decision"].get("mirror_average"))
    c.tta = tuple(cfg["decision"].get("tta") or ())
    c.cam_model = build_cam_model(model, None if c.heat_class is None else c.names.index(c.heat_class),
                                  mirror=c.mirror, tta=c.tta)
    return c


def ood_selection_stage(c: ExportContext) -> ExportContext:
    """Stage 3: which out-of-domain score (energy or Mahalanobis), on the OOD sets' selection halves."""
    import keras

    from training.pipeline.export import _features, _softmax, _spread, ood_embedding, preprocess_items
    from training.pipeline.features import make_predict_fn
    from training.pipeline.ood import Mahalanobis, energy_score, load_ood_sets, max_softmax_score
    from training.pipeline.thresholds import acceptance_threshold

    t0 = time.perf_counter()
    cfg, log, arrays, model, size = c.cfg, c.log, c.arrays, c.model, c.size
    index = {n: i for i, n in enumerate(c.names)}
    ood_cfg = cfg["ood"]
    acceptance = float(ood_cfg["acceptance"])
    maha_cfg = ood_cfg["mahalanobis"]
    c.emb_tensor, c.own_features = ood_embedding(model, maha_cfg.get("features", "head"))
    if c.own_features and "mahalanobis" in ood_cfg["methods"]:
        # The embedding the run saved is the head's; these features are computed here.
        emb_fn = make_predict_fn(keras.Model(model.input, c.emb_tensor), (size, size, 3), 32)
        fit_items = _spread(c.split["train"], int(maha_cfg.get("max_fit", 4000)))
        arrays["train_embedding"] = _features(emb_fn, [x.path for x in fit_items], c.spec)
        arrays["train_labels"] = np.array([index[x.label] for x in fit_items], int)
        arrays["val_embedding"] = _features(emb_fn, [x.path for x in c.split["val"]], c.spec)
        log(f"  Mahalanobis on the pooled backbone features ({arrays['train_embedding'].shape[1]} values), "
            f"fitted on {len(fit_items)} training images")
    c.maha = maha = Mahalanobis.fit(arrays["train_embedding"], arrays["train_labels"],
                                    maha_cfg.get("shrinkage", "ledoit-wolf"))
    scorers = {
        "energy": lambda logits, emb: energy_score(logits),
        "mahalanobis": lambda logits, emb: maha.score(emb),
        "max_softmax": lambda logits, emb: max_softmax_score(_softmax(logits)),
    }
    methods = [m for m in ood_cfg["methods"] if m in scorers]
    ood_sets = load_ood_sets(ood_cfg["sets"], int(ood_cfg["limit"]), c.seed, log=log)
    c.halves = {s.name: s.halves() for s in ood_sets}
    feat_model = keras.Model(model.input, {"logits": model.output, "embedding": c.emb_tensor})
    feat_fn = make_predict_fn(feat_model, (size, size, 3), 32)
    selection: dict = {"val_thresholds": {}, "rejection": {}, "n": {}}
    sel_scores: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}
    for name, (sel, _) in c.halves.items():
        out = feat_fn(preprocess_items(sel.items, c.spec))
        selection["n"][name] = len(sel.items)
        for m in methods:
            sel_scores[m][name] = scorers[m](out["logits"], out["embedding"])
    for m in methods:
        val_s = scorers[m](arrays["val_logits"], arrays["val_embedding"])
        thr = acceptance_threshold(val_s, acceptance)
        selection["val_thresholds"][m] = thr
        selection["rejection"][m] = {k: float(np.mean(v > thr)) for k, v in sel_scores[m].items()}
    mean_rej = {m: float(np.mean(list(selection["rejection"][m].values()))) if selection["rejection"][m] else 0.0
                for m in methods}
    # Prefer the score the app computes without extra weights when they tie.
    preference = {"energy": 0, "max_softmax": 1, "mahalanobis": 2}
    chosen = max(methods, key=lambda m: (round(mean_rej[m], 4), -preference[m])) if methods else None
    selection["mean_rejection"] = mean_rej
    selection["chosen"] = chosen
    for m in methods:
        log(f"  OOD {m:12s}: val threshold {selection['val_thresholds'][m]:.4g}, rejects "
            + ", ".join(f"{k} {100 * v:.1f}%" for k, v in selection["rejection"][m].items())
            + f" (selection halves; mean {100 * mean_rej[m]:.1f}%)")
    log(f"  OOD score used: {chosen}")
    c.selection, c.mean_rej, c.chosen = selection, mean_rej, chosen
    c.timings["ood_selection_s"] = time.perf_counter() - t0
    return c


def onnx_stage(c: ExportContext) -> ExportContext:
    """Stage 4: one graph (probs, logits, cam, embedding, maybe ood_score) to ONNX, and its parity."""
    import keras

    from training.pipeline.export import ONNX_NAME, export_onnx, parity, preprocess_items

    t0 = time.perf_counter()
    outs = dict(c.cam_model.output)
    if c.chosen == "mahalanobis":
        outs["ood_score"] = c.maha.keras_layer()(c.emb_tensor)
    # One graph from the classifier's own input, so the backbone features the OOD score reads are
    # the ones the head sees (the backbone runs once).
    export_model = keras.Model(c.cam_model.inputs[0], outs, name=f"{c.pack_id.replace('-', '_')}_export")
    c.onnx_path = c.pack_dir / ONNX_NAME
    c.output_names = export_onnx(export_model, c.onnx_path)
    c.timings["onnx_export_s"] = time.perf_counter() - t0
    c.log(f"  ONNX {c.onnx_path} ({c.onnx_path.stat().st_size / 1e6:.1f} MB), outputs {c.output_names}, "
          f"{c.timings['onnx_export_s']:.0f} s")
    val = c.split["val"]
    n_par = min(int(c.cfg["evaluation"]["parity_images"]), len(val))
    par_idx = np.linspace(0, len(val) - 1, n_par).astype(int)
    c.par = parity(export_model, c.onnx_path, preprocess_items([val[i].path for i in par_idx], c.spec))
    c.log("  parity on %d validation images: " % c.par["n"]
          + ", ".join(f"{k} {v:.1e}" for k, v in c.par["max_abs"].items()))
    return c


def thresholds_stage(c: ExportContext) -> ExportContext:
    """Stage 5: the decision block and the OOD threshold, on the validation images through ONNX."""
    from training.pipeline.evaluate import classification_metrics
    from training.pipeline.export import onnx_outputs, preprocess_items
    from training.pipeline.ood import energy_score, max_softmax_score
    from training.pipeline.thresholds import (acceptance_threshold, alarm_aware, alarm_decisions, alarm_threshold,
                                              review_band)

    t0 = time.perf_counter()
    names, alarming_idx, y = c.names, c.alarming_idx, c.y
    val_out = onnx_outputs(c.onnx_path, preprocess_items([s.path for s in c.split["val"]], c.spec))
    val_probs = val_out["probs"].astype(np.float64)
    dec = c.cfg["decision"]
    decision: dict = {"top_k": int(min(dec["top_k"], len(names)))}
    if alarming_idx:
        p_alarm = val_probs[:, alarming_idx].sum(1)
        is_alarm = np.isin(y["val"], alarming_idx)
        thr = alarm_threshold(p_alarm, is_alarm, float(dec["target_sensitivity"]), float(dec["max_alarm_threshold"]))
        band = review_band(p_alarm, is_alarm, thr, sensitivity=float(dec["review"]["sensitivity"]),
                           precision=float(dec["review"]["precision"]), max_rate=dec["review"].get("max_rate"))
        decision.update({"alarming": c.alarming, "alarm_threshold": thr, "review_band": list(band)})
    if dec.get("min_confidence") is not None:
        decision["min_confidence"] = float(dec["min_confidence"])
    if dec.get("verdict_words"):
        decision["verdict_words"] = dict(dec["verdict_words"])
    if c.heat_class is not None:
        decision["heatmap_class"] = c.heat_class
    ood_block = None
    acceptance = float(c.cfg["ood"]["acceptance"])
    if c.chosen is not None:
        if c.chosen == "mahalanobis":
            val_ood = val_out["ood_score"].reshape(-1)
            score_kind = "output"
            what = "pooled backbone features (before the neck)" if c.own_features else "pooled embedding"
            method = (f"Mahalanobis distance of the {what} to the nearest class mean (shared "
                      "Ledoit-Wolf covariance of the training images' features), divided by their size")
        elif c.chosen == "energy":
            val_ood = energy_score(val_out["logits"])
            score_kind = "energy"
            method = "energy score -T*logsumexp(logits/T), T = 1"
        else:
            val_ood = max_softmax_score(val_probs)
            score_kind = "max_softmax"
            method = "1 - maximum softmax probability"
        ood_thr = acceptance_threshold(val_ood, acceptance)
        ood_block = {"score": score_kind, "threshold": float(ood_thr), "temperature": 1.0,
                     "in_domain_acceptance": acceptance, "method": method}
        c.val_ood = val_ood
        alarm_aware(c.cfg, decision, ood_block, val_ood, val_probs, alarming_idx, y["val"])
    c.val_decided = alarm_decisions(val_probs, alarming_idx, decision.get("alarm_threshold"))
    c.val_metrics_app = classification_metrics(y["val"], c.val_decided, val_probs, names)
    c.decision, c.ood_block, c.val_probs = decision, ood_block, val_probs
    c.timings["thresholds_s"] = time.perf_counter() - t0
    return c


def manifest_stage(c: ExportContext) -> ExportContext:
    """Stage 6: the manifest (validated), and the pack loaded by the app's inspector."""
    from inference.inspector import Inspector, clear_session_cache
    from inference.manifest import validate_manifest
    from inference.registry import check_pack, sha256_file
    from training.pipeline.export import ONNX_NAME, _data_block, _rel

    cfg = c.cfg
    samples_rel = _rel(c.samples_dir / c.pack_id)
    outputs_block = {k: k for k in ("probs", "logits", "cam", "embedding", "ood_score") if k in c.output_names}
    manifest = {
        "schema_version": 1, "id": c.pack_id, "name": cfg["name"], "version": str(cfg["version"]),
        "task": cfg["task"], "mode": cfg["mode"],
        "model": {"file": ONNX_NAME, "sha256": sha256_file(c.onnx_path)},
        "input": c.block, "outputs": outputs_block, "classes": cfg["classes"], "decision": c.decision,
        "ood": c.ood_block, "metrics": {},
        "data": _data_block(cfg, c.train_summary["split"]),
        # From the config (issue 25): "synthetic" is what makes the app say "trained on generated
        # photos" beside every verdict, so a rebuild must not drop it.
        **({"training_data": cfg["training_data"]} if cfg.get("training_data") else {}),
        "intended_use": " ".join(str(cfg["card"]["intended_use"]).split()) or "See CARD.md.",
        "limitations": " ".join(str(cfg["card"]["limitations"]).split()) or "See CARD.md.",
        "card": "CARD.md", "samples": samples_rel,
    }
    if cfg.get("words"):  # pack words per language (issue 20), kept across retraining
        manifest["words"] = cfg["words"]
    validate_manifest(manifest)
    (c.pack_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    clear_session_cache()
    c.manifest = manifest
    c.inspector = Inspector(check_pack(c.pack_dir), "cpu")
    return c


def test_stage(c: ExportContext) -> ExportContext:
    """Stage 7: the held-out test images through the inspector: the card's main numbers."""
    from training.pipeline.evaluate import bootstrap_ci, classification_metrics
    from training.pipeline.export import ExportError, _alarm_summary, _inspect, test_breakdown, unseen_subsets

    t0 = time.perf_counter()
    names, yt, log = c.names, c.y["test"], c.log
    res = _inspect(c.inspector, [s.path for s in c.split["test"]])
    if res["errors"]:
        raise ExportError(f"{len(res['errors'])} test images failed in the inspector: {res['errors'][:3]}")
    t = {"app": classification_metrics(yt, res["labels"], res["probs"], names),
         "argmax": classification_metrics(yt, res["probs"].argmax(1), res["probs"], names),
         "alarm": _alarm_summary(yt, res["labels"], c.alarming_idx)}
    t["ci"] = {"most_probable": bootstrap_ci(yt, res["probs"].argmax(1), res["probs"], len(names), seed=c.seed),
               "app": bootstrap_ci(yt, res["labels"], res["probs"], len(names), seed=c.seed)}
    np.savez_compressed(c.run_dir / "test_predictions.npz", ids=np.array([s.id for s in c.split["test"]]), y=yt,
                        probs=res["probs"], decided=res["labels"], ood=res["ood"], review=res["review"],
                        ood_score=res["ood_score"])
    t["review_rate"] = float(res["review"].mean())
    outside = ~res["review"]
    t["acc_outside"] = float(np.mean(res["labels"][outside] == yt[outside])) if outside.any() else None
    t["false_reject"] = float(res["ood"].mean())
    t["subsets"] = unseen_subsets(c.split, c.cfg["evaluation"].get("unseen") or [], yt, res, names)
    t["breakdown"] = test_breakdown(c.split, c.cfg["evaluation"].get("breakdown") or [], yt, res, names)
    c.timings["test_eval_s"] = time.perf_counter() - t0
    for sub in t["subsets"]:
        log(f"  test subset {sub['name']} (n={sub['n']}): accuracy {sub['accuracy']:.3f}, app decision "
            f"{sub['accuracy_app']:.3f}, ROC-AUC " + ("n/a" if sub["roc_auc"] is None else f"{sub['roc_auc']:.3f}"))
    a, g = t["app"], t["argmax"]
    log(f"  test (n={len(yt)}, app decision): accuracy {a['accuracy']:.3f}, balanced {a['balanced_accuracy']:.3f}, "
        f"macro F1 {a['macro']['f1']:.3f}, ROC-AUC {a['roc_auc']:.3f}")
    log(f"  test (argmax): accuracy {g['accuracy']:.3f}, balanced {g['balanced_accuracy']:.3f}, "
        f"macro F1 {g['macro']['f1']:.3f}" + "".join(f", top-{k} {v:.3f}" for k, v in g.get("top_k", {}).items()))
    c.res, c.test = res, t
    return c


def robustness_stage(c: ExportContext) -> ExportContext:
    """Stage 8a: accuracy with a share of the test images blurred or noisy (only those rerun)."""
    from inference.imageio import load_image
    from training.pipeline.export import _inspect_degraded, _robust_row, heatmap_quality
    from training.pipeline.robustness import KINDS, degrade

    t0 = time.perf_counter()
    rb = c.cfg["evaluation"]["robustness"]
    yt = c.y["test"]
    decoded = [load_image(s.path).rgb for s in c.split["test"]]
    rows = [_robust_row("clean", 0.0, yt, c.res, c.names)]
    for kind in KINDS:
        for frac in rb["fractions"]:
            imgs, idx = degrade(decoded, kind, float(frac), seed=c.seed, blur_sigma=float(rb["blur_sigma"]),
                                noise_sigma=float(rb["noise_sigma"]), input_size=c.size)
            r = _inspect_degraded(c.inspector, imgs, idx, c.res)
            rows.append(_robust_row(kind, float(frac), yt, r, c.names))
    c.robustness = rows
    c.timings["robustness_s"] = time.perf_counter() - t0
    if c.cfg["evaluation"].get("masks"):
        t0 = time.perf_counter()
        c.heat = heatmap_quality(c.inspector, c.split["test"], c.cfg["evaluation"]["masks"], c.names, c.alarming,
                                 c.pack_dir / "heatmap_examples.png", seed=c.seed, log=c.log)
        c.timings["heatmap_s"] = time.perf_counter() - t0
    c.log("  robustness: " + "; ".join(f"{r['kind']} {int(100 * r['fraction'])}% acc {r['accuracy']:.3f}" for r in rows))
    return c


def ood_report_stage(c: ExportContext) -> ExportContext:
    """Stage 8b: the report halves of the OOD sets through the inspector (refusal rates)."""
    from training.pipeline.export import _inspect

    t0 = time.perf_counter()
    for name, (_, rep) in c.halves.items():
        r = _inspect(c.inspector, rep.items, names=rep.ids)
        c.ood_report[name] = {"n": int(len(r["ood"])), "rejected": int(r["ood"].sum()),
                              "rejection_rate": float(r["ood"].mean()) if len(r["ood"]) else None,
                              "description": rep.description,
                              "predicted_if_accepted": {c.names[k]: int(np.sum((r["labels"] == k) & ~r["ood"]))
                                                        for k in range(len(c.names))}}
        c.ood_scores_report[name] = r["ood_score"]
    c.timings["ood_report_s"] = time.perf_counter() - t0
    if c.ood_report:
        c.log("  OOD refused (report halves): " + ", ".join(f"{k} {v['rejected']}/{v['n']}" for k, v in c.ood_report.items())
              + f"; in-domain test refused {int(c.res['ood'].sum())}/{len(c.y['test'])}")
    return c


def artifacts_stage(c: ExportContext) -> ExportContext:
    """Stage 9: confusion matrices, ROC, OOD histogram, contact sheet and the self-test samples."""
    from training.pipeline import plots
    from training.pipeline.export import ExportError, _pick_samples, contact_sheet_hook

    cfg, names, yt, pack_dir, pack_id = c.cfg, c.names, c.y["test"], c.pack_dir, c.pack_id
    labels_h = [x["label"] for x in cfg["classes"]]
    plots.confusion_matrix(c.test["app"]["confusion_matrix"], labels_h, pack_dir / "confusion_matrix.png",
                           f"{pack_id}: test set (n={len(yt)}), app decision")
    if len(names) > 2 or c.alarming_idx:
        plots.confusion_matrix(c.test["argmax"]["confusion_matrix"], labels_h, pack_dir / "confusion_matrix_argmax.png",
                               f"{pack_id}: test set (n={len(yt)}), most probable class")
    op = []
    alarm_test = c.test["alarm"]
    if len(names) == 2 and alarm_test:
        op = [(f"alarm threshold {c.decision['alarm_threshold']:.2f}", 1 - alarm_test["specificity"],
               alarm_test["sensitivity"])]
    plots.roc_curves(yt, c.res["probs"], labels_h, pack_dir / "roc_curves.png", f"{pack_id}: ROC on the test set", op)
    if (c.run_dir / "training_curves.png").is_file():
        shutil.copy2(c.run_dir / "training_curves.png", pack_dir / "training_curves.png")
    if c.ood_block is not None:
        plots.ood_histogram({"validation (in-domain)": c.val_ood, "test (in-domain)": c.res["ood_score"]},
                            c.ood_scores_report, c.ood_block["threshold"], pack_dir / "ood_scores.png",
                            f"{pack_id}: out-of-domain score ({c.chosen})", log_scale=c.chosen == "mahalanobis")
    c.sheet = contact_sheet_hook(cfg, pack_dir / "contact_sheet.png", log=c.log)
    sample_idx = _pick_samples(yt, c.res, names, int(cfg["evaluation"]["samples"]), c.alarming)
    sdir = c.samples_dir / pack_id
    if sdir.exists():
        shutil.rmtree(sdir)
    sdir.mkdir(parents=True)
    entries = []
    for i in sample_idx:
        src = c.split["test"][i].path
        shutil.copy2(src, sdir / src.name)
        entries.append({"file": src.name, "expected": names[yt[i]]})
    (sdir / "samples.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    for e in entries:
        r = c.inspector.classify(sdir / e["file"])
        if r.label != e["expected"] or r.out_of_domain:
            raise ExportError(f"sample {e['file']} came back {r.label} (ood={r.out_of_domain}), expected {e['expected']}")
    c.log(f"  {len(entries)} self-test samples in {sdir}: " + ", ".join(f"{e['file']} ({e['expected']})" for e in entries))
    c.entries = entries
    return c


def finish_stage(c: ExportContext) -> dict:
    """Stage 10: the report, the final manifest (metrics, training record), CARD.md; returns the report."""
    from inference.inspector import clear_session_cache
    from inference.manifest import validate_manifest
    from inference.registry import check_pack
    from training.pipeline import card, export_eval
    from training.pipeline.export import ONNX_NAME, ExportError, _json_default, _manifest_metrics, _user_data_args

    cfg, t, names = c.cfg, c.test, c.names
    c.timings["export_total_s"] = time.perf_counter() - c.t_start
    manifest = c.manifest
    report = {
        "pack": c.pack_id, "classes": names, "onnx": {"file": ONNX_NAME, "bytes": c.onnx_path.stat().st_size,
                                                     "sha256": manifest["model"]["sha256"], "outputs": c.output_names},
        "parity": c.par, "decision": c.decision, "ood": c.ood_block, "ood_selection": c.selection,
        "ood_report": c.ood_report, "in_domain_false_rejection_test": t["false_reject"],
        "in_domain_false_rejection_test_count": [int(c.res["ood"].sum()), int(len(c.y["test"]))],
        "test_app": t["app"], "test_argmax": t["argmax"], "alarm_test": t["alarm"], "test_ci95": t["ci"],
        "alarm_val": _alarm_summary_val(c), "val_app": c.val_metrics_app,
        "review_rate_test": t["review_rate"], "accuracy_outside_review_test": t["acc_outside"],
        "robustness": c.robustness, "robustness_params": cfg["evaluation"]["robustness"], "samples": c.entries,
        "timings": c.timings, "train_summary": c.train_summary, "provider": c.inspector.provider,
        "test_subsets": t["subsets"], "test_breakdown": t["breakdown"], "heatmap": c.heat, "contact_sheet": c.sheet,
        "version": str(cfg["version"]), "mirror_average": c.mirror,
    }
    if c.tta:
        report["tta"] = list(c.tta)
    if c.calibration:
        report["calibration"] = c.calibration
    report.update(c.extra)
    manifest["metrics"] = _manifest_metrics(report, names)
    if c.extra.get("test_mixes"):
        manifest["metrics"]["test_mixes"] = export_eval.mix_summary(c.extra["test_mixes"])
    if c.extra.get("larger_inputs"):
        li = c.extra["larger_inputs"]
        manifest["metrics"]["larger_inputs"] = {"size": [li["width"], li["height"]], "stored": li["stored"],
                                                "enlarged": li["enlarged"]}
    if c.kept_guard:
        # The guard's thresholds belong to the old model and go; its trained pixel models do not
        # depend on them, so their records stay for `guard --keep-autoencoder/--keep-purifier`.
        manifest["metrics"]["guard"] = c.kept_guard
    if c.mirror or c.tta:
        # Two backbone branches: onnxruntime's peak for a 16-image batch went from 285 to 827 MB
        # (seal-integrity 1.2.0); 8 at a time keeps it at 463 MB, under the 600 MB budget.
        from training.pipeline.export import MIRROR_MAX_BATCH

        manifest["runtime"] = {"max_batch": MIRROR_MAX_BATCH}
    train_summary = c.train_summary
    manifest["training"] = {
        "backbone": train_summary["backbone"], "finetuned_blocks": train_summary["finetune_blocks"],
        "cut": train_summary["boundary"], "augment": cfg["augment"], "schedule": cfg["schedule"],
        "class_weights": train_summary["class_weights"], "seed": c.seed, "mirror_average": c.mirror,
        "train_seconds": round(train_summary["seconds"]["total_s"], 1),
        "export_seconds": round(c.timings["export_total_s"], 1),
        "parity": {"n": c.par["n"], "max_abs": c.par["max_abs"]},
        "ood_selection": {"mean_rejection": c.mean_rej, "chosen": c.chosen},
        "built_by": f"python -m training train {cfg['_path_rel']}" + _user_data_args(train_summary["split"]) + " --export",
    }
    if c.tta:
        manifest["training"]["tta"] = list(c.tta)
    if c.calibration:
        manifest["training"]["calibration"] = {k: c.calibration[k] for k in ("method", "temperature", "fitted_on")}
    if train_summary.get("init_from"):
        manifest["training"]["backbone_from"] = train_summary["init_from"]["run"]
    validate_manifest(manifest)
    (c.pack_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    clear_session_cache()
    check = check_pack(c.pack_dir)
    if not check.usable:
        raise ExportError(f"the written pack is not usable: {check.problem}")
    card.write_card(c.pack_dir / "CARD.md", cfg=export_eval.cfg_with_sections(cfg, report), manifest=manifest,
                    report=report, previous=c.old_card)
    (c.run_dir / "export_report.json").write_text(json.dumps(report, indent=2, default=_json_default), encoding="utf-8")
    c.log(f"exported {c.pack_id} in {c.timings['export_total_s']:.0f} s -> {c.pack_dir}")
    c.report = report
    return report


def _alarm_summary_val(c: ExportContext) -> dict | None:
    from training.pipeline.export import _alarm_summary

    return _alarm_summary(c.y["val"], c.val_decided, c.alarming_idx)


STAGES = ("model_stage", "ood_selection_stage", "onnx_stage", "calibration_stage", "thresholds_stage", "manifest_stage", "test_stage",
          "mixes_stage", "larger_inputs_stage", "robustness_stage", "ood_report_stage", "artifacts_stage")


def run_stages(c: ExportContext, until: str | None = None) -> dict:
    """Every stage after :func:`load_stage`, in order; returns the export report. With ``until`` (a
    name in :data:`STAGES`) it stops after that stage and returns ``{"stopped_after": until}``:
    ``until="manifest_stage"`` is a candidate pack for a ship check whose test side is not read (no
    card, no report, no samples)."""
    from training.pipeline import calibration, export_eval

    if until is not None and until not in STAGES:
        raise ValueError(f"until: {until!r} is not an export stage ({', '.join(STAGES)})")
    for name in STAGES:
        fn = globals().get(name) or getattr(export_eval, name, None) or getattr(calibration, name)
        fn(c)
        if name == until:
            c.log(f"  stopped after {name} (no test stage, card or report)")
            return {"stopped_after": name}
    return finish_stage(c)


__all__ = ["ExportContext", "load_stage", "run_stages", "STAGES", *STAGES, "finish_stage", "REPO_ROOT"]
