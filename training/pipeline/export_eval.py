"""Optional export stages that score the test side again, without choosing anything on it:

- :func:`mixes_stage` (``evaluation.test_mixes``): the natural mix and a class-capped mix, the
  operating-point table and a calibration plot (:mod:`training.pipeline.mixes`);
- :func:`larger_inputs_stage` (``evaluation.larger_inputs``): the test photos enlarged (e.g. to
  600x450, what a dermoscope gives) and run through the app's own decoding, against the photos as
  stored: does accuracy hold when a photo is larger than the training images?

Both reuse the inspector's answers of :func:`training.pipeline.export_stages.test_stage`.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from training.pipeline.config import resolve_path


def column_values(cfg: dict, samples: list, column: str) -> list[str]:
    """``column`` of each sample: from the sample's own extras, else looked up by id in the data
    source's CSV (``data.csv``, ``data.id_column``)."""
    if all(column in s.extra for s in samples):
        return [str(s.extra[column]) for s in samples]
    data = cfg["data"]
    if data["format"] != "csv" or not data.get("csv"):
        raise ValueError(f"evaluation.test_mixes.column {column!r}: the data source is not a CSV")
    id_col = data.get("id_column") or data["path_column"]
    table: dict[str, str] = {}
    with open(resolve_path(data["csv"]), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if column not in row:
                raise ValueError(f"evaluation.test_mixes.column {column!r} is not a column of {data['csv']}")
            table[str(row[id_col])] = str(row[column])
    out = []
    for s in samples:
        key = s.id if s.id in table else s.id.split(":", 1)[-1]
        if key not in table:
            raise ValueError(f"test image {s.id} is not in {data['csv']}")
        out.append(table[key])
    return out


def mixes_stage(c) -> None:
    """Natural and class-capped test mixes, operating points and calibration (``c.extra["test_mixes"]``)."""
    from training.pipeline import mixes as mx

    spec = c.cfg["evaluation"].get("test_mixes")
    if not spec:
        return
    t0 = time.perf_counter()
    test = c.split["test"]
    column = spec.get("column") or None
    values = column_values(c.cfg, test, column) if column else [s.label for s in test]
    cap = dict(spec.get("cap") or {})
    one = bool(spec.get("one_per_group", True))
    capped = mx.capped_indices(values, [s.group for s in test], [s.id for s in test], cap=cap, one_per_group=one,
                               seed=c.seed)
    natural = np.arange(len(test))
    thr = c.decision.get("alarm_threshold")
    yt = c.y["test"]
    mixes = {"natural": mx.mix_metrics(yt, c.res, natural, c.names, c.alarming_idx, thr),
             "class-capped": mx.mix_metrics(yt, c.res, capped, c.names, c.alarming_idx, thr)}
    n_groups = len({s.group for s in test})
    desc = (f"Natural: all {len(test)} test images of {n_groups} lesions, as they come. Class-capped: "
            + ("one image per lesion" if one else "every image")
            + ("".join(f", {k} capped at {100 * float(v):.0f}% of the images" for k, v in sorted(cap.items())))
            + f" ({len(capped)} images).")
    out = {"mixes": mixes, "description": desc}
    if c.alarming_idx and thr is not None:
        p_val = c.val_probs[:, c.alarming_idx].sum(1)
        is_val = np.isin(c.y["val"], c.alarming_idx)
        probs = c.res["probs"]
        per_mix = {name: (np.isin(yt[idx], c.alarming_idx), probs[idx][:, c.alarming_idx].sum(1), c.res["ood"][idx])
                   for name, idx in (("natural", natural), ("class-capped", capped))}
        out["operating_table"] = mx.operating_table(p_val, is_val, per_mix,
                                                    max_threshold=float(c.cfg["decision"]["max_alarm_threshold"]))
    what = "alarm probability" if c.alarming_idx else "top-1 confidence"
    mx.reliability_plot({k: m["calibration"] for k, m in mixes.items()}, c.pack_dir / "calibration.png",
                        f"{c.pack_id}: calibration of the {what} (test)")
    out["calibration_plot"] = "calibration.png"
    c.extra["test_mixes"] = out
    c.timings["mixes_s"] = time.perf_counter() - t0
    for name, m in mixes.items():
        a = m.get("alarm") or {}
        c.log(f"  test {name} (n={m['n']}): ROC-AUC {m['most_probable'].get('roc_auc') or float('nan'):.3f}, "
              f"balanced accuracy {m['most_probable']['balanced_accuracy']:.3f}, app accuracy {m['app']['accuracy']:.3f}"
              + (f", alarm sensitivity {a['sensitivity']:.3f} specificity {a['specificity']:.3f}" if a else "")
              + (f", alarmed in the app (not refused) {a['app']['sensitivity']:.3f}" if a.get("app") else ""))


def enlarge(src: Path, dst: Path, width: int, height: int, quality: int) -> Path:
    """``src`` resized to ``width`` x ``height`` (Lanczos) and saved as a JPEG at ``dst``."""
    from PIL import Image

    with Image.open(src) as im:
        im.convert("RGB").resize((width, height), Image.LANCZOS).save(dst, "JPEG", quality=quality)
    return dst


def larger_inputs_stage(c) -> None:
    """The test photos enlarged and run through the app (``c.extra["larger_inputs"]``)."""
    from training.pipeline.evaluate import classification_metrics
    from training.pipeline.export import ExportError, _inspect

    spec = c.cfg["evaluation"].get("larger_inputs")
    if not spec:
        return
    t0 = time.perf_counter()
    width, height = int(spec.get("width", 600)), int(spec.get("height", 450))
    quality = int(spec.get("quality", 95))
    folder = c.run_dir / f"test_{width}x{height}"
    folder.mkdir(exist_ok=True)
    paths = [enlarge(s.path, folder / (Path(s.path).stem + ".jpg"), width, height, quality) for s in c.split["test"]]
    big = _inspect(c.inspector, paths)
    if big["errors"]:
        raise ExportError(f"{len(big['errors'])} enlarged test images failed: {big['errors'][:3]}")
    yt = c.y["test"]

    def summary(res: dict) -> dict:
        app = classification_metrics(yt, res["labels"], res["probs"], c.names)
        arg = classification_metrics(yt, res["probs"].argmax(1), res["probs"], c.names)
        return {"roc_auc": arg.get("roc_auc"), "accuracy": app["accuracy"],
                "balanced_accuracy": arg["balanced_accuracy"], "top_k": arg.get("top_k"),
                "refused": float(res["ood"].mean())}

    stored, enlarged = summary(c.res), summary(big)
    enlarged["same_decision"] = float(np.mean(big["labels"] == c.res["labels"]))
    stored["same_decision"] = 1.0
    d_auc = (enlarged["roc_auc"] or 0) - (stored["roc_auc"] or 0)
    d_acc = enlarged["accuracy"] - stored["accuracy"]
    holds = abs(d_auc) <= 0.01 and abs(d_acc) <= 0.02
    verdict = (f"Accuracy {'holds' if holds else 'does not hold'} at {width}x{height}: ROC-AUC {d_auc:+.3f}, "
               f"accuracy {d_acc:+.3f}, {100 * enlarged['same_decision']:.1f}% of the decisions unchanged, "
               f"{100 * enlarged['refused']:.1f}% refused as out of domain (stored: {100 * stored['refused']:.1f}%).")
    c.extra["larger_inputs"] = {"n": len(paths), "width": width, "height": height, "quality": quality,
                                "stored": stored, "enlarged": enlarged, "holds": holds, "verdict": verdict}
    c.timings["larger_inputs_s"] = time.perf_counter() - t0
    c.log("  " + verdict)


def mix_summary(mixes: dict) -> dict:
    def rnd(v):
        return None if v is None else round(float(v), 4)

    out = {}
    for name, m in (mixes.get("mixes") or {}).items():
        mp = m["most_probable"]
        row = {"n": m["n"], "roc_auc": rnd(mp.get("roc_auc")), "accuracy_app": rnd(m["app"]["accuracy"]),
               "balanced_accuracy": rnd(mp["balanced_accuracy"]), "macro_f1": rnd(mp["macro"]["f1"]),
               "review_rate": rnd(m.get("review_rate")), "ece": rnd(m["calibration"]["ece"])}
        if mp.get("top_k"):
            row["top_k"] = {k: rnd(v) for k, v in mp["top_k"].items()}
        if m.get("alarm"):
            row["alarm"] = {k: rnd(m["alarm"][k]) for k in ("sensitivity", "specificity", "ppv", "npv", "alarm_rate")}
        out[name] = row
    return out


def cfg_with_sections(cfg: dict, report: dict) -> dict:
    """``cfg`` with the mixes / operating-point / larger-input sections first among the card's sections."""
    from training.pipeline.mixes import card_sections

    blocks = {}
    if report.get("test_mixes"):
        blocks.update(report["test_mixes"])
    if report.get("larger_inputs"):
        blocks["larger_inputs"] = report["larger_inputs"]
    if not blocks:
        return cfg
    labels = {x["name"]: x["label"] for x in cfg["classes"]}
    out = dict(cfg)
    out["card"] = dict(cfg["card"])
    out["card"]["sections"] = card_sections(blocks, [x["name"] for x in cfg["classes"]], labels) \
        + list(cfg["card"].get("sections") or [])
    return out
