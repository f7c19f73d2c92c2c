"""Calibrate a shipped classification pack whose training run is gone: temperature in its ONNX graph,
decision thresholds chosen again on validation, the test side scored again, the card updated.

``python -m training.pipeline.recalibrate CONFIG [--models-dir models] [--out runs/recalibrate-<id>]``

1. The split is made again from the config (same data, seed, grouping) and must give the pack's
   recorded split (its manifest's ``data`` block) and hold its self-test samples on the test side.
2. The pack's graph runs on the validation images (app decoding and preprocessing); ``T`` is fitted
   on their logits (NLL) and lesion-grouped cross-validation on validation measures what it does
   (:mod:`training.pipeline.calibration`). The test side plays no part in any of this.
3. The graph gets ``probs = softmax(logits / T)``; its logits, CAM, embedding and OOD score are checked
   to be those of the old graph, its probs to be ``softmax(logits / T)``.
4. The decision block (alarm threshold, review band; OOD threshold) is chosen again on validation by
   :func:`training.pipeline.export_stages.thresholds_stage`, as an export does.
5. The test side is scored again by the app's inspector (the export's own stages: test, mixes,
   larger inputs, robustness, OOD report halves): *test scored again after a change that cannot alter
   argmax or ranking*. The manifest (version from the config, new sha256) and the card's sections
   that depend on probabilities are rewritten; the rest of the card (training, data, OOD choice,
   guard) describes the same trained model and stays.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from training.pipeline.config import REPO_ROOT

# Card sections written again (their numbers depend on the probabilities); the others stay.
REWRITTEN = ("Results at a glance", "Decision policy", "Test metrics in full", "Robustness",
             "Test on the natural and the class-capped mix", "Operating points",
             "Photos larger than the training images")


class RecalibrateError(RuntimeError):
    """The pack or its data do not match what the config describes."""


def card_sections(text: str) -> list[tuple[str, str]]:
    """``text`` cut at its ``## `` headings: ``[(heading or "", block), ...]`` (joined back = ``text``)."""
    parts = re.split(r"(?m)^(?=## )", text)
    return [(p.splitlines()[0][3:].strip() if p.startswith("## ") else "", p) for p in parts]


def splice_card(old: str, new: str, titles=REWRITTEN, extra: str = "", after: str = "Operating points") -> str:
    """``old`` with each section whose heading starts with one of ``titles`` replaced by ``new``'s,
    the header (title and version lines) taken from ``new``, and ``extra`` (whole sections) put after
    the section ``after``. A section in ``titles`` missing from either card is an error."""
    olds, news = card_sections(old), card_sections(new)

    def find(sections, title):
        hits = [s for h, s in sections if h.startswith(title)]
        if len(hits) != 1:
            raise RecalibrateError(f"the card has {len(hits)} sections titled {title!r}")
        return hits[0]

    out = []
    for head, block in olds:
        if head == "":
            out.append(news[0][1] if news[0][0] == "" else block)
            continue
        title = next((t for t in titles if head.startswith(t)), None)
        out.append(find(news, title) if title else block)
        if extra and head.startswith(after):
            out.append(extra.rstrip("\n") + "\n\n")
    return "".join(out)


def _reliability(curves: dict, path: Path, title: str) -> Path:
    from training.pipeline.mixes import reliability_plot

    return reliability_plot(curves, path, title)


def recalibrate(config: Path, *, models_dir: Path, samples_dir: Path, out_dir: Path, folds: int = 5,
                log=print) -> dict:
    from inference.inspector import clear_session_cache
    from inference.manifest import load_manifest, validate_manifest
    from inference.registry import check_pack, sha256_file
    from training.pipeline import card as card_mod
    from training.pipeline import export_eval
    from training.pipeline.calibration import (calibration_errors, cv_temperature, fit_temperature, graph_temperature,
                                               nll, softmax, write_calibrated)
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.export import (PARITY_TOLERANCE, _data_block, _json_default, _manifest_metrics,
                                          onnx_outputs, preprocess_items)
    from training.pipeline.export_stages import (ExportContext, ood_report_stage, robustness_stage, test_stage,
                                                 thresholds_stage)
    from training.pipeline.mixes import calibration
    from training.pipeline.ood import load_ood_sets
    from training.pipeline.splits import split_pools, split_summary

    t_start = time.perf_counter()
    cfg = load_config(config)
    cfg["_path_rel"] = str(Path(config))
    if cfg["decision"].get("calibrate") != "temperature":
        raise RecalibrateError(f"{config}: decision.calibrate is not 'temperature'")
    pack_dir = Path(models_dir) / cfg["id"]
    old_manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    old_card = (pack_dir / "CARD.md").read_text(encoding="utf-8")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    old_onnx = out_dir / "model_before.onnx"
    shutil.copy2(pack_dir / "model.onnx", old_onnx)
    import onnx

    if graph_temperature(onnx.load(str(old_onnx))) != 1.0:
        raise RecalibrateError(f"{pack_dir}/model.onnx already has a temperature")

    # 1. the split, checked against the pack's record
    pools = load_pools(cfg)
    names = pools[0].dataset.class_names
    split = split_pools(pools, val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]), seed=int(cfg["seed"]))
    summary = split_summary(split, names, pools)
    summary["group_key"] = cfg["data"].get("group_column") or cfg["data"].get("group_pattern")
    if _data_block(cfg, summary)["split"] != old_manifest["data"]["split"]:
        raise RecalibrateError(f"the split made again ({_data_block(cfg, summary)['split']}) is not the pack's "
                               f"({old_manifest['data']['split']})")
    samples = json.loads((Path(samples_dir) / cfg["id"] / "samples.json").read_text(encoding="utf-8"))
    test_names = {Path(s.path).name for s in split["test"]}
    if any(s["file"] not in test_names for s in samples):
        raise RecalibrateError("a self-test sample is not on the test side of the split made again")
    index = {n: i for i, n in enumerate(names)}
    y = {s: np.array([index[x.label] for x in split[s]], int) for s in split}
    alarming = list(cfg["decision"]["alarming"])
    alarming_idx = [names.index(a) for a in alarming]
    spec = load_manifest(pack_dir / "manifest.json").input

    # 2. validation through the old graph; T and its cross-validation
    val_x = preprocess_items([s.path for s in split["val"]], spec)
    before = onnx_outputs(old_onnx, val_x)
    logits = before["logits"].astype(np.float64)
    t = fit_temperature(logits, y["val"])
    groups = np.array([s.group or s.id for s in split["val"]], dtype=object)
    cv = cv_temperature(logits, y["val"], groups, alarming_idx, folds=folds, seed=int(cfg["seed"]))
    val_cal = {"before": calibration_errors(softmax(logits), y["val"], alarming_idx),
               "after_in_sample": calibration_errors(softmax(logits, t), y["val"], alarming_idx),
               "nll_before": nll(logits, y["val"]), "nll_after": nll(logits, y["val"], t)}
    log(f"{cfg['id']}: T = {t:.4f} (validation NLL {val_cal['nll_before']:.4f} -> {val_cal['nll_after']:.4f}); "
        + ", ".join(f"CV {k} {v['mean']:.4f} ± {v['sd']:.4f}" for k, v in cv["summary"].items()))

    # 3. the new graph, checked against the old one
    write_calibrated(old_onnx, pack_dir / "model.onnx", t)
    n_chk = min(int(cfg["evaluation"]["parity_images"]), len(val_x))
    chk = np.linspace(0, len(val_x) - 1, n_chk).astype(int)
    import onnxruntime as ort

    def run_all(path):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs = [o.name for o in sess.get_outputs()]
        return dict(zip(outs, sess.run(outs, {"input": val_x[chk]})))

    a, b = run_all(old_onnx), run_all(pack_dir / "model.onnx")
    checks = {k: float(np.max(np.abs(a[k] - b[k]))) for k in a if k != "probs"}
    checks["probs_vs_softmax_logits_over_t"] = float(np.max(np.abs(b["probs"] - softmax(b["logits"], t))))
    if any(v != 0.0 for k, v in checks.items() if k != "probs_vs_softmax_logits_over_t") \
            or checks["probs_vs_softmax_logits_over_t"] > PARITY_TOLERANCE:
        raise RecalibrateError(f"the calibrated graph differs from the old one beyond the temperature: {checks}")
    log(f"  graph checks on {n_chk} validation images: " + ", ".join(f"{k} {v:.1e}" for k, v in checks.items()))

    # 4. decisions on validation, as an export chooses them
    c = ExportContext(run_dir=out_dir, models_dir=Path(models_dir), samples_dir=Path(samples_dir), log=log)
    c.cfg, c.seed, c.pack_id, c.names, c.alarming, c.alarming_idx = cfg, int(cfg["seed"]), cfg["id"], names, alarming, alarming_idx
    c.split, c.y, c.pack_dir, c.spec, c.size = split, y, pack_dir, spec, int(cfg["input"]["size"])
    c.onnx_path = pack_dir / "model.onnx"
    c.chosen = old_manifest["training"]["ood_selection"]["chosen"]
    c.heat_class = cfg["decision"].get("heatmap_class")
    thresholds_stage(c)
    if c.ood_block and abs(c.ood_block["threshold"] - old_manifest["ood"]["threshold"]) > 1e-4 * max(1.0, old_manifest["ood"]["threshold"]):
        raise RecalibrateError(f"the OOD threshold moved ({old_manifest['ood']['threshold']} -> {c.ood_block['threshold']})")
    manifest = json.loads(json.dumps(old_manifest))
    manifest["version"] = str(cfg["version"])
    manifest["model"]["sha256"] = sha256_file(c.onnx_path)
    manifest["decision"] = c.decision
    manifest["ood"] = dict(old_manifest["ood"])
    validate_manifest(manifest)
    (pack_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    clear_session_cache()
    from inference.inspector import Inspector

    c.manifest = manifest
    # Without the input guard, as the export that wrote the card's numbers scored them (the guard
    # came later, with its own section); the app runs it.
    c.inspector = Inspector(check_pack(pack_dir), "cpu", use_guard=False)
    log(f"  decision on validation: {c.decision}")

    # 5. the test side, scored again (nothing chosen on it)
    test_stage(c)
    export_eval.mixes_stage(c)
    export_eval.larger_inputs_stage(c)
    robustness_stage(c)
    c.halves = {s.name: s.halves() for s in load_ood_sets(cfg["ood"]["sets"], int(cfg["ood"]["limit"]), c.seed, log=log)}
    ood_report_stage(c)
    old_rej = old_manifest["metrics"]["ood_rejection"]
    if any(abs(c.ood_report[k]["rejection_rate"] - old_rej[k]) > 1e-9 for k in old_rej):
        raise RecalibrateError(f"OOD refusals moved: {old_rej} -> { {k: v['rejection_rate'] for k, v in c.ood_report.items()} }")
    for e in samples:
        r = c.inspector.classify(Path(samples_dir) / cfg["id"] / e["file"])
        if r.label != e["expected"] or r.out_of_domain:
            raise RecalibrateError(f"self-test sample {e['file']} now comes back {r.label}, expected {e['expected']}")

    # test calibration before/after (the old graph's probs are softmax(logits))
    # The old graph's probs, from the new ones: log softmax(l / T) = l / T - const, so
    # softmax(T * log p) = softmax(l).
    probs_before = softmax(np.log(np.clip(c.res["probs"], 1e-300, None)) * t)
    is_alarm_t = np.isin(y["test"], alarming_idx)
    test_cal = {"before": calibration_errors(probs_before, y["test"], alarming_idx),
                "after": calibration_errors(c.res["probs"], y["test"], alarming_idx)}
    curves = {}
    val_probs_before, val_probs_after = softmax(logits), softmax(logits, t)
    for label, p, is_pos in (("validation, before", val_probs_before, np.isin(y["val"], alarming_idx)),
                             ("validation, with T (in-sample)", val_probs_after, np.isin(y["val"], alarming_idx)),
                             ("test, before", probs_before, is_alarm_t), ("test, with T", c.res["probs"], is_alarm_t)):
        curves[label] = calibration(is_pos, p[:, alarming_idx].sum(1))
    _plots(c)
    _reliability(curves, pack_dir / "calibration.png",
                 f"{cfg['id']}: alarm probability, T = {t:.3f}")

    # 6. manifest metrics, card
    report = {"test_app": c.test["app"], "test_argmax": c.test["argmax"], "alarm_test": c.test["alarm"],
              "review_rate_test": c.test["review_rate"], "ood_report": c.ood_report,
              "in_domain_false_rejection_test": c.test["false_reject"], "train_summary": {"split": summary},
              "robustness": c.robustness, "test_subsets": c.test["subsets"], "test_breakdown": c.test["breakdown"]}
    metrics = _manifest_metrics(report, names)
    metrics["test_mixes"] = export_eval.mix_summary(c.extra["test_mixes"])
    li = c.extra["larger_inputs"]
    metrics["larger_inputs"] = {"size": [li["width"], li["height"]], "stored": li["stored"], "enlarged": li["enlarged"]}
    if old_manifest["metrics"].get("guard"):
        metrics["guard"] = old_manifest["metrics"]["guard"]
    manifest["metrics"] = metrics
    calib = {"method": "temperature", "temperature": t, "fitted_on": f"{len(y['val'])} validation images",
             "cv": cv["summary"], "folds": folds, "validation": val_cal, "test": test_cal, "graph_checks": checks}
    manifest["training"]["calibration"] = {k: calib[k] for k in ("method", "temperature", "fitted_on")}
    manifest["training"]["built_by"] = (old_manifest["training"]["built_by"]
                                        + f"; calibrated by python -m training.pipeline.recalibrate {cfg['_path_rel']}")
    validate_manifest(manifest)
    (pack_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    clear_session_cache()
    if not check_pack(pack_dir).usable:
        raise RecalibrateError(f"{pack_dir} is not usable after the update")

    full_report = dict(report)
    full_report.update({
        "decision": c.decision, "test_ci95": c.test["ci"], "accuracy_outside_review_test": c.test["acc_outside"],
        "in_domain_false_rejection_test_count": [int(c.res["ood"].sum()), int(len(y["test"]))],
        "robustness_params": cfg["evaluation"]["robustness"], "alarm_val": _alarm_val(c), "ood": c.ood_block,
        **c.extra})
    new_card = _render_sections(card_mod, cfg, manifest, full_report, pack_dir, out_dir)
    extra = calibration_section(cfg, calib, manifest)
    text = splice_card(old_card, new_card, extra=extra)
    (pack_dir / "CARD.md").write_text(text, encoding="utf-8")
    summary_out = {"pack": cfg["id"], "version": manifest["version"], "calibration": calib, "decision": c.decision,
                   "old_decision": old_manifest["decision"], "metrics": metrics,
                   "seconds": time.perf_counter() - t_start}
    (out_dir / "recalibrate_report.json").write_text(json.dumps(summary_out, indent=2, default=_json_default),
                                                     encoding="utf-8")
    log(f"{cfg['id']} {manifest['version']}: done in {summary_out['seconds']:.0f} s")
    return summary_out


def _plots(c) -> None:
    """The pack's plots that depend on the decisions (confusion matrices, ROC with the operating point)."""
    from training.pipeline import plots

    labels_h = [x["label"] for x in c.cfg["classes"]]
    n = len(c.y["test"])
    plots.confusion_matrix(c.test["app"]["confusion_matrix"], labels_h, c.pack_dir / "confusion_matrix.png",
                           f"{c.pack_id}: test set (n={n}), app decision")
    plots.confusion_matrix(c.test["argmax"]["confusion_matrix"], labels_h, c.pack_dir / "confusion_matrix_argmax.png",
                           f"{c.pack_id}: test set (n={n}), most probable class")
    op = []
    if len(c.names) == 2 and c.test["alarm"]:
        a = c.test["alarm"]
        op = [(f"alarm threshold {c.decision['alarm_threshold']:.2f}", 1 - a["specificity"], a["sensitivity"])]
    plots.roc_curves(c.y["test"], c.res["probs"], labels_h, c.pack_dir / "roc_curves.png",
                     f"{c.pack_id}: ROC on the test set", op)


def _alarm_val(c):
    from training.pipeline.export import _alarm_summary

    return _alarm_summary(c.y["val"], c.val_decided, c.alarming_idx)


def _render_sections(card_mod, cfg: dict, manifest: dict, report: dict, pack_dir: Path, out_dir: Path) -> str:
    """The card's probability-dependent sections rendered by :func:`training.pipeline.card.write_card`.

    ``write_card`` renders the whole card; the training record it also needs (epochs, timings,
    parity) is that of the run, which is gone, so its sections are *not* taken from this
    rendering (:data:`REWRITTEN` only): the values below only let the renderer run.
    """
    from training.pipeline.export_eval import cfg_with_sections

    tr = manifest["training"]
    unused = {"backbone": tr["backbone"], "boundary": tr["cut"], "finetune_blocks": tr["finetuned_blocks"],
              "class_weights": tr["class_weights"], "monitor": cfg["schedule"]["monitor"],
              "head": {"epochs_run": 0, "best_epoch": 0}, "finetune": None,
              "seconds": {"total_s": 0.0, "features_s": 0.0}, "cache": {"hits": 0, "misses": 0},
              "split": report["train_summary"]["split"]}
    rep = dict(report)
    rep["train_summary"] = unused
    rep.update({"parity": {"n": 0, "max_abs": {}, "argmax_agree": 1.0, "tolerance_probs": 1e-4},
                "onnx": {"outputs": list(manifest["outputs"]), "bytes": 0}, "timings": {"export_total_s": 0.0},
                "ood_selection": {"rejection": {}, "val_thresholds": {}, "n": {}, "mean_rejection": {}, "chosen": None}})
    scratch = out_dir / "CARD.rendered.md"
    if (pack_dir / "confusion_matrix_argmax.png").exists():
        shutil.copy2(pack_dir / "confusion_matrix_argmax.png", out_dir / "confusion_matrix_argmax.png")
    card_mod.write_card(scratch, cfg=cfg_with_sections(cfg, rep), manifest=manifest, report=rep)
    return scratch.read_text(encoding="utf-8")


def calibration_section(cfg: dict, calib: dict, manifest: dict) -> str:
    """The card's "Calibration" section: T, the validation cross-validation, the test before/after."""
    s = calib["cv"]
    two = len(cfg["classes"]) == 2
    has_alarm = "ece_alarm_before" in s

    def ms(k):
        return f"{s[k]['mean']:.4f} ± {s[k]['sd']:.4f}"

    lines = ["## Calibration (temperature scaling)", "",
             f"The probabilities the app shows and logs are `softmax(logits / T)` with **T = {calib['temperature']:.4f}**, "
             f"computed inside the ONNX graph. T was fitted on the {calib['fitted_on']} (negative log-likelihood), never "
             "on the test side. A temperature changes no argmax and no order of the classes within a photo, so the "
             "most probable class, top-k accuracy and the heatmap (the CAM of the raw logits' argmax; checked identical, "
             "as are the logits, the embedding and the out-of-domain score) are exactly those of the previous version. "
             + ("With two classes it also ranks no photo differently: the ROC-AUC is the same and, with the thresholds "
                "chosen again on validation, so is every decision of the app. " if two else
                "With more than two classes one class's probability, and the summed alarm probability, also depend on "
                "the other logits, so their ranking across photos (one-vs-rest ROC-AUC, alarm decisions) can move a "
                "little. ")
             + "What moves are the probabilities and every threshold on them, which were chosen again on validation "
             "(decision policy above). "
             + ("T < 1: the model was under-confident (as label smoothing in training tends to make a model), so T "
                "sharpens its probabilities." if calib["temperature"] < 1 else "T > 1: the model was over-confident, "
                "so T softens its probabilities."), "",
             f"Lesion-grouped cross-validation on the validation images ({calib['folds']} folds: T fitted on four, "
             "scored on the fifth; mean ± spread over folds):", "",
             "| | without T | with T |", "|---|---|---|",
             f"| negative log-likelihood | {ms('nll_before')} | {ms('nll_after')} |",
             f"| ECE of the top-1 confidence | {ms('ece_top1_before')} | {ms('ece_top1_after')} |"]
    if has_alarm:
        lines.append(f"| ECE of the alarm probability | {ms('ece_alarm_before')} | {ms('ece_alarm_after')} |")
    lines.append(f"| T (per fold) | | {ms('temperature')} |")
    tb, ta = calib["test"]["before"], calib["test"]["after"]
    lines += ["", "Test side (natural mix), *scored again after a change that cannot alter the argmax"
              + (" or any ranking" if two else "") + "*: ECE of "
              f"the top-1 confidence {tb['top1']:.4f} -> {ta['top1']:.4f}"
              + (f", of the alarm probability {tb['alarm']:.4f} -> {ta['alarm']:.4f}" if "alarm" in tb else "") + ".",
              "", "![calibration before and after T](calibration.png)", ""]
    if manifest.get("guard"):
        lines += ["The input guard (its own section) was not trained again: its detectors (the colour-noise floor, "
                  "the out-of-domain score) and their thresholds read no probability. "
                  + ("Every decision being the same, its attack table stands as measured."
                     if two else "The accuracies in its attack table were measured with the previous version's "
                     "alarm threshold; the app's reformed answers now use the new one."), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline.recalibrate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path)
    p.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    p.add_argument("--samples-dir", type=Path, default=REPO_ROOT / "resources" / "samples")
    p.add_argument("--out", type=Path, default=None, help="default runs/recalibrate-<id>")
    p.add_argument("--folds", type=int, default=5)
    a = p.parse_args(argv)
    from training.pipeline.config import load_config

    out = a.out or REPO_ROOT / "runs" / f"recalibrate-{load_config(a.config)['id']}"
    recalibrate(a.config, models_dir=a.models_dir, samples_dir=a.samples_dir, out_dir=out, folds=a.folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
