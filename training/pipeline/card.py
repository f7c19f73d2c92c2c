"""``models/<id>/CARD.md``: what the pack is, what it was trained and tested on, how well it does
(with counts), what it was not tested on and what it must not be used for.

Other commands write their own sections into a pack's card between markers
(``<!-- guard:begin -->`` ... ``<!-- guard:end -->``: the input guard, the seal generalisation
study, ...). :func:`write_card` writes the card again from the export's numbers and carries every
such marked section of the card it replaces into the new one (:func:`carry_marked_sections`), so a
rebuild keeps them.
"""

from __future__ import annotations

import re
from pathlib import Path

_BEGIN = re.compile(r"^<!-- ([A-Za-z0-9_.-]+):begin -->[ \t]*$", re.M)
_HEADING = re.compile(r"^## (.*)$", re.M)


def marked_sections(text: str) -> list[tuple[str, str, str | None]]:
    """The marked sections of a card, in order: ``(name, block, anchor)``, where ``block`` runs from
    ``<!-- name:begin -->`` to ``<!-- name:end -->`` inclusive and ``anchor`` is the last ``## ``
    heading before it that is outside every marked section (None: before the first heading). A
    begin marker without its end marker is not a section (it is left out)."""
    out, pos, anchor = [], 0, None
    while True:
        m = _BEGIN.search(text, pos)
        if m is None:
            break
        for h in _HEADING.finditer(text, pos, m.start()):
            anchor = h.group(1).strip()
        end_marker = f"<!-- {m.group(1)}:end -->"
        end = text.find(end_marker, m.end())
        if end < 0:
            pos = m.end()
            continue
        out.append((m.group(1), text[m.start():end + len(end_marker)], anchor))
        pos = end + len(end_marker)
    return out


def _loose(heading: str) -> str:
    """A heading with its numbers blanked: ``Test metrics in full (n = 1000)`` still finds its
    place when the rebuilt pack was tested on another count."""
    return re.sub(r"\d+(?:[.,]\d+)*", "#", heading)


def write_marked_section(card: Path, section: str, begin: str, end: str) -> None:
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) into ``card``: in place of
    the card's own ``begin`` ... ``end`` block, or at the card's end when it has none (after the
    other sections, so :func:`carry_marked_sections` anchors it to the heading before it)."""
    text = card.read_text()
    if begin in text and end in text:
        a, b = text.index(begin), text.index(end) + len(end)
        text = text[:a] + section + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    card.write_text(text)


def carry_marked_sections(old: str, new: str) -> str:
    """``new`` (a freshly generated card) with every marked section of ``old`` that ``new`` does not
    already have, in ``old``'s order, each at the end of the section whose heading it followed in
    ``old``: the same heading in ``new``, else the same heading up to its numbers. One that came
    before every heading goes before ``new``'s first heading; one whose heading is gone goes at the
    end of the card."""
    carried = [s for s in marked_sections(old) if f"<!-- {s[0]}:begin -->" not in new]
    if not carried:
        return new
    heads = [(m.start(), m.group(1).strip()) for m in _HEADING.finditer(new)]
    exact, loose = {}, {}
    for i, (_, h) in enumerate(heads):
        exact.setdefault(h, i + 1)
        loose.setdefault(_loose(h), i + 1)
    # Segment 0 is the text before the first heading, segment i + 1 the section of heading i.
    bounds = [0] + [start for start, _ in heads] + [len(new)]
    at: dict[int, list[str]] = {}
    for _, block, anchor in carried:
        k = 0 if anchor is None else exact.get(anchor, loose.get(_loose(anchor), len(heads)))
        at.setdefault(k, []).append(block)
    pieces = []
    for k in range(len(heads) + 1):
        seg = new[bounds[k]:bounds[k + 1]]
        if k in at:
            seg = seg.rstrip("\n") + "\n\n" + "\n\n".join(at[k]) + "\n\n"
        pieces.append(seg)
    return "".join(pieces).rstrip("\n") + "\n"


def _p(v, digits: int = 1) -> str:
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"


def _f(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _metric_value(report: dict, key: str):
    m = report["test_argmax"]
    return {
        "accuracy": m["accuracy"], "roc_auc": m.get("roc_auc"), "balanced_accuracy": m["balanced_accuracy"],
        "macro_f1": m["macro"]["f1"], "top2": m.get("top_k", {}).get("2"), "top3": m.get("top_k", {}).get("3"),
    }.get(key)


def _metric_value_app(report: dict, key: str):
    m = report["test_app"]
    return {
        "accuracy": m["accuracy"], "roc_auc": m.get("roc_auc"), "balanced_accuracy": m["balanced_accuracy"],
        "macro_f1": m["macro"]["f1"], "top2": m.get("top_k", {}).get("2"), "top3": m.get("top_k", {}).get("3"),
    }.get(key)


_NAMES = {"accuracy": "accuracy", "roc_auc": "ROC-AUC", "balanced_accuracy": "balanced accuracy",
          "macro_f1": "macro F1", "top2": "top-2 accuracy", "top3": "top-3 accuracy"}


def _per_class_table(m: dict, cfg: dict) -> list[str]:
    lines = ["| class | precision | recall (sensitivity) | F1 | specificity | ROC-AUC (one-vs-rest) | support | TP | FP | FN | TN |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cfg["classes"]:
        r = m["per_class"][c["name"]]
        lines.append(f"| {c['name']} ({c['label']}) | {_f(r['precision'])} | {_f(r['recall'])} | {_f(r['f1'])} | "
                     f"{_f(r['specificity'])} | {_f(r['roc_auc'])} | {r['support']} | {r['tp']} | {r['fp']} | "
                     f"{r['fn']} | {r['tn']} |")
    for avg in ("macro", "weighted"):
        a = m[avg]
        lines.append(f"| *{avg} average* | {_f(a['precision'])} | {_f(a['recall'])} | {_f(a['f1'])} | "
                     f"{_f(a['specificity'])} | {_f(m.get(f'roc_auc_{avg}'))} | {m['n']} | | | | |")
    return lines


def _cm_table(m: dict) -> list[str]:
    names = m["classes"]
    lines = ["| true \\ predicted | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for n, row in zip(names, m["confusion_matrix"]):
        lines.append(f"| **{n}** | " + " | ".join(str(v) for v in row) + " |")
    return lines


def reproduce_lines(cfg: dict, manifest: dict) -> list[str]:
    """The card's Reproduce commands: the build, its two-step form, then the config's
    ``card.after_export`` steps (what turns the export into the shipped version: the guard and its
    studies), so a rebuild that stops at the export says what it left out."""
    lines = [f"{manifest['training']['built_by']}", "# or in two steps:",
             f"python -m training train {cfg.get('_path_rel', 'CONFIG')} --out runs/{cfg['id']}",
             f"python -m training export runs/{cfg['id']}"]
    after = (cfg.get("card") or {}).get("after_export") or []
    if after:
        lines += ["# then, for the shipped version (the export alone writes no input guard):"]
        lines += [" ".join(str(step).split()) for step in after]
    return lines


def write_card(path: Path, *, cfg: dict, manifest: dict, report: dict, previous: str | None = None) -> Path:
    """Write ``path`` from the export's numbers. The marked sections of ``previous`` (the card this
    one replaces; default: the file at ``path``, if any) are carried over (:func:`carry_marked_sections`)."""
    c = cfg["card"]
    ts = report["train_summary"]
    split = ts["split"]
    names = [x["name"] for x in cfg["classes"]]
    app, arg = report["test_app"], report["test_argmax"]
    dec = report["decision"]
    n_test = app["n"]
    title = c.get("title") or f"{cfg['id']}: {cfg['name']}"
    L: list[str] = [f"# {title}", ""]
    if cfg["mode"] == "skin":
        L += ["> **Decision support, not a diagnosis.** This model flags skin-lesion photos for a trained "
              "person to look at. It cannot rule out skin cancer, and a benign verdict is never a reason to "
              "skip or delay a referral.", ""]
    L += [f"Pack `{cfg['id']}` version {cfg['version']}, built by `{manifest['training']['built_by']}`.", ""]

    # --- headline --------------------------------------------------------------------------------
    test_src = next((x for x in split.get("sources") or [] if x["holdout"] == "all"), None)
    if test_src is not None:
        what = " ".join(str((cfg.get("test_data") or {}).get("source") or "").split()) or test_src["description"]
        test_what = (f"Test set: **{n_test} images** from a separate source, used for nothing else (not for "
                     f"training, validation, early stopping or thresholds): {what.rstrip('.')}. They were")
    else:
        test_what = (f"Test set: **{n_test} images** that share no {split.get('group_key') or 'group'} with the "
                     "training or validation images")
    L += ["## Results at a glance (held-out test set)", "",
          test_what + (" " if test_src is not None else ", ") + "run through the exported ONNX file with the app's own decoding and "
          "preprocessing (`inference.inspector.Inspector`).", "",
          "| metric | most probable class [95% CI] | app decision (alarm threshold applied) [95% CI] | target |",
          "|---|---|---|---|"]
    targets = c.get("targets") or {}
    ci = report.get("test_ci95") or {}

    def with_ci(v, which, key):
        rng = (ci.get(which) or {}).get(key)
        return _f(v) + (f" [{_f(rng[0])}, {_f(rng[1])}]" if rng and v is not None else "")

    for key in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "top2", "top3"):
        va, vp = _metric_value(report, key), _metric_value_app(report, key)
        if va is None and key in ("top2", "top3"):
            continue
        tgt = targets.get(key)
        mark = ""
        if tgt is not None and va is not None:
            mark = f"{_f(tgt, 2)} ({'met' if va >= tgt else 'missed'})"
        L.append(f"| {_NAMES[key]} | {with_ci(va, 'most_probable', key)} | {with_ci(vp, 'app', key)} | {mark or '-'} |")
    rob50 = [r for r in report.get("robustness", []) if r["kind"] != "clean" and abs(r["fraction"] - 0.5) < 1e-9]
    if rob50:
        worst = min(rob50, key=lambda r: r["accuracy"])
        tgt = targets.get("robust50_accuracy")
        L.append(f"| accuracy with 50% of test images degraded (worst of {', '.join(r['kind'] for r in rob50)}) | "
                 f"- | {_f(worst['accuracy'])} ({worst['kind']}) | "
                 + (f"{_f(tgt, 2)} ({'met' if worst['accuracy'] >= tgt else 'missed'})" if tgt is not None else "-") + " |")
    heat = report.get("heatmap") or {}
    if heat.get("all", {}).get("n"):
        a = heat["all"]
        tgt = targets.get("pointing_game")
        L.append(f"| heatmap pointing game (peak within {a['tolerance_px']:g} px of the defect, n={a['n']}) | - | "
                 f"{_f(a['pointing_game'])} | "
                 + (f"{_f(tgt, 2)} ({'met' if a['pointing_game'] >= tgt else 'missed'})" if tgt is not None else "-") + " |")
    if ci:
        L += ["", "95% CI: percentile bootstrap over the test images (1,000 resamples)."]
    L += ["", f"- Correct: {arg['correct']}/{n_test} (most probable class), {app['correct']}/{n_test} (app decision)."]
    if report.get("alarm_test"):
        a = report["alarm_test"]
        L.append(f"- Alarm ({', '.join(dec['alarming'])}) at threshold {dec['alarm_threshold']:.3f}: sensitivity "
                 f"{_p(a['sensitivity'])} ({a['tp']}/{a['tp'] + a['fn']}), specificity {_p(a['specificity'])} "
                 f"({a['tn']}/{a['tn'] + a['fp']}), PPV {_p(a['ppv'])}, NPV {_p(a['npv'])}.")
    L.append(f"- Sent to review (review band, low confidence or out-of-domain): {_p(report['review_rate_test'])} of test images"
             + (f"; accuracy on the rest {_p(report['accuracy_outside_review_test'])}." if report['accuracy_outside_review_test'] is not None else "."))
    fr = report["in_domain_false_rejection_test_count"]
    if report.get("ood"):
        L.append(f"- In-domain test images refused as out-of-domain: {_p(report['in_domain_false_rejection_test'])} ({fr[0]}/{fr[1]}).")
        L.append("- Out-of-domain images refused: " + ", ".join(
            f"{k} {_p(v['rejection_rate'])} ({v['rejected']}/{v['n']})" for k, v in report["ood_report"].items()) + ".")
    L.append("")
    for note in c.get("notes") or []:
        L += [f"{' '.join(str(note).split())}", ""]

    # --- intended use ------------------------------------------------------------------------------
    L += ["## Intended use", "", " ".join(str(c.get("intended_use", "")).split()), ""]

    # --- data ----------------------------------------------------------------------------------------
    L += ["## Data", "", f"- Source: {' '.join(str(cfg['data']['source']).split())}",
          f"- Licence: {' '.join(str(cfg['data']['licence']).split())}",
          f"- Split: {manifest['data']['split']} Split recorded in the run folder (`split.csv`, ids per side).",
          "", "| class | train | validation | test | total |", "|---|---|---|---|---|"]
    for n in names:
        row = [split["per_class"][s][n] for s in ("train", "val", "test")]
        L.append(f"| {n} | {row[0]} | {row[1]} | {row[2]} | {sum(row)} |")
    tot = [split["totals"][s] for s in ("train", "val", "test")]
    L += [f"| **total** | {tot[0]} | {tot[1]} | {tot[2]} | {sum(tot)} |", ""]
    if split.get("sources"):
        roles = {"carve": "train / validation / test", "none": "train / validation", "all": "test only"}
        L += ["Data sources (each split on its own):", "", "| source | used for | train | validation | test | what |",
              "|---|---|---|---|---|---|"]
        for x in split["sources"]:
            ps = x["per_side"]
            L.append(f"| {x['name']} | {roles[x['holdout']]} | {ps['train']} | {ps['val']} | {ps['test']} | "
                     f"{x['description']} |")
        L.append("")
    for name, blk in (("data", cfg["data"]), ("test_data", cfg.get("test_data"))):
        gen = (blk or {}).get("generate")
        if gen:
            L.append(f"- `{name}` rendered by `{gen.get('module', '?')}.generate_dataset`: "
                     + ", ".join(f"{k} {v}" for k, v in gen.items() if k not in ("module", "workers")) + ".")
    if cfg["data"].get("generate") or (cfg.get("test_data") or {}).get("generate"):
        L.append("")
    if split.get("user_data"):
        u = split["user_data"]
        L += [f"- Retrained on user data `{u['path']}` (mode {u['mode']}, test images from "
              + ("those photos" if u["test"] == "own" else "the config's test source") + ").", ""]
    if report.get("contact_sheet"):
        L += ["Contact sheet of test images (class, seal family, defect, background / lighting; defect masks outlined):",
              "", f"![contact sheet]({report['contact_sheet']})", ""]

    # --- model & training --------------------------------------------------------------------------
    inp = manifest["input"]
    par = report["parity"]
    L += ["## Model and training", "",
          f"- Backbone: {ts['backbone']}; head GlobalAveragePooling -> Dropout -> Dense ({len(names)} logits, softmax).",
          f"- Input: {inp['size'][0]}x{inp['size'][1]} RGB, resize `{inp['resize']}`, pixels x {inp['scale']:.6g}, "
          f"mean {inp['mean']}, std {inp['std']}, NHWC float32.",
          f"- ONNX outputs: {', '.join(report['onnx']['outputs'])}; `cam` is the exact class-activation map of the "
          "predicted class (equal to Grad-CAM for a GAP -> Dense head); "
          + ("probs, logits, cam and embedding answer for the photo and its mirror image together (the "
             "graph averages the two feature maps, so the logits are the mean of both views' and the CAM "
             "is exact for them; the backbone runs twice; the out-of-domain score reads the photo's own "
             "pass); " if report.get("mirror_average") else "")
          + f"{report['onnx']['bytes'] / 1e6:.1f} MB, opset 17, dynamic batch.",
          f"- Parity Keras vs onnxruntime on {par['n']} real validation images: max |diff| "
          + ", ".join(f"{k} {v:.1e}" for k, v in par["max_abs"].items())
          + f"; argmax agreement {_p(par['argmax_agree'])} (export fails above {par['tolerance_probs']:.0e} on probs).",
          (f"- Probabilities calibrated by temperature scaling: probs = softmax(logits / T) inside the graph, "
           f"T = {report['calibration']['temperature']:.4f} fitted on the {report['calibration']['fitted_on']} "
           f"(negative log-likelihood); the logits, the CAM and every argmax and ranking are unchanged; graph probs "
           f"vs softmax(logits / T) max |diff| {par.get('probs_vs_softmax_logits_over_t', float('nan')):.1e}."
           if report.get("calibration") else None),
          f"- Training: frozen-trunk features cached once per image and augmented copy ({cfg['augment']['copies']} "
          f"copies), cut after `{ts['boundary']}`; "
          + (f"head trained for {ts['head']['epochs_run']} epochs (best {ts['head']['best_epoch']}), then "
             if ts['head']['epochs_run'] else "no separate head stage; ")
          + f"the top {ts['finetune_blocks']} block(s)" + (" + neck" if "neck" in ts["backbone"] else "")
          + " + head " + ("fine-tuned" if ts['head']['epochs_run'] else "trained together") + " for "
          + (f"{ts['finetune']['epochs_run']} epochs (best {ts['finetune']['best_epoch']})" if ts.get("finetune") else "0 epochs")
          + (f"; with the mask loss (weight {cfg['schedule']['mask_loss']['weight']}: the ground-truth "
             f"`{cfg['schedule']['mask_loss']['column']}` regions teach the last feature map where the "
             f"{cfg['schedule']['mask_loss']['positive']} evidence is)" if ts.get("mask_loss", bool(cfg["schedule"].get("mask_loss"))) else "")
          + f"; early stopping on validation {ts['monitor']}; class weights "
          + ", ".join(f"{k} {v:.2f}" for k, v in ts["class_weights"].items()) + ".",
          "- Augmentation (on the fly, per copy): " + ", ".join(
              f"{k} {v}" for k, v in cfg["augment"].items() if k != "copies"
              and not (k.startswith("blur") and not cfg["augment"].get("blur"))
              and not (k.startswith("noise") and not cfg["augment"].get("noise"))) + ".",
          (f"- Rendering the generated data took {ts['seconds']['generate_s'] / 60:.1f} min (included below)."
           if ts["seconds"].get("generate_s", 0) > 1 else "- Data: read from disk (nothing rendered in this run)."
           if "generate_s" in ts["seconds"] else None),
          f"- Time on the 2-core build machine: training {ts['seconds']['total_s'] / 60:.1f} min "
          f"(features {ts['seconds']['features_s']:.0f} s, of which cached: {ts['cache']['hits']} of "
          f"{ts['cache']['hits'] + ts['cache']['misses']} feature sets), export and evaluation "
          f"{report['timings']['export_total_s'] / 60:.1f} min.", "",
          "![training curves](training_curves.png)", ""]

    # --- decision policy ------------------------------------------------------------------------------
    L += ["## Decision policy (chosen on the validation set)", ""]
    if dec.get("alarming"):
        va = report.get("alarm_val") or {}
        L += [f"- Alarming classes: {', '.join(dec['alarming'])}. When their summed probability reaches "
              f"**{dec['alarm_threshold']:.3f}** the verdict is the likeliest of them, even if another class is more "
              f"probable (target sensitivity {cfg['decision']['target_sensitivity']:.0%} on validation: reached "
              f"{_p(va.get('sensitivity'))}, specificity {_p(va.get('specificity'))}).",
              f"- Review band [{dec['review_band'][0]:.3f}, {dec['review_band'][1]:.3f}) on that probability: below it "
              f"at least {cfg['decision']['review']['sensitivity']:.0%} of validation alarming cases are caught anyway; at or "
              f"above it alarms were at least {cfg['decision']['review']['precision']:.0%} precise (or the band ends at 1)"
              + (f"; narrowed where needed so that it holds at most {cfg['decision']['review']['max_rate']:.0%} of "
                 "validation cases." if cfg['decision']['review'].get('max_rate') is not None else ".")]
    if dec.get("min_confidence") is not None:
        L.append(f"- A verdict below {dec['min_confidence']:.0%} confidence is marked for review.")
    if dec.get("verdict_words"):
        L.append("- Verdict words: " + "; ".join(f"{k}: \"{v}\"" for k, v in dec["verdict_words"].items()) + ".")
    L.append("")

    # --- full test metrics ---------------------------------------------------------------------------------
    L += [f"## Test metrics in full (n = {n_test})", "", "### App decision", ""] + _per_class_table(app, cfg)
    L += ["", f"Accuracy {_f(app['accuracy'])} ({app['correct']}/{n_test}), balanced accuracy {_f(app['balanced_accuracy'])}."]
    L += ["", "Confusion matrix (rows true, columns predicted):", ""] + _cm_table(app)
    L += ["", "![confusion matrix](confusion_matrix.png)", "", "### Most probable class (no alarm threshold)", ""]
    L += _per_class_table(arg, cfg)
    L += ["", f"Accuracy {_f(arg['accuracy'])} ({arg['correct']}/{n_test}), balanced accuracy {_f(arg['balanced_accuracy'])}"
          + "".join(f", top-{k} {_f(v)}" for k, v in arg.get("top_k", {}).items()) + "."]
    L += ["", "Confusion matrix (rows true, columns predicted):", ""] + _cm_table(arg)
    if (path.parent / "confusion_matrix_argmax.png").exists():
        L += ["", "![confusion matrix, most probable class](confusion_matrix_argmax.png)"]
    L += ["", "![ROC curves](roc_curves.png)", ""]

    # --- robustness ---------------------------------------------------------------------------------------
    rb = report["robustness_params"]
    L += ["## Robustness (test set, app decision)", "",
          f"A seeded random {', '.join(f'{int(100 * f)}%' for f in rb['fractions'])} of the test images degraded by "
          f"Gaussian blur (sigma {rb['blur_sigma']} px at {inp['size'][0]} px) or Gaussian noise (sigma "
          f"{rb['noise_sigma']} x 255); the rest left clean.", "",
          "| degradation | share | accuracy | balanced acc. | macro precision | macro recall | macro F1 | macro specificity | ROC-AUC | refused as OOD |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["robustness"]:
        L.append(f"| {r['kind']} | {int(100 * r['fraction'])}% | {_f(r['accuracy'])} ({r['correct']}/{r['n']}) | "
                 f"{_f(r['balanced_accuracy'])} | {_f(r['precision_macro'])} | {_f(r['recall_macro'])} | {_f(r['f1_macro'])} | "
                 f"{_f(r['specificity_macro'])} | {_f(r['roc_auc'])} | {r['ood_refused']} |")
    if cfg["augment"].get("blur") or cfg["augment"].get("noise"):
        L += ["", "The training augmentation blurs and adds noise to some images itself (see Model and training), "
              "so this table measures robustness to degradations of a kind the model was trained with."]
    L.append("")

    # --- unseen conditions ----------------------------------------------------------------------------------------
    subsets = report.get("test_subsets") or []
    if subsets:
        L += ["## Test images under conditions never seen in training", "",
              "The same test metrics on the test images whose "
              + " / ".join(f"`{c}`" for c in cfg["evaluation"].get("unseen") or [])
              + " never occurs among the training or validation images.", "",
              "| subset | values | n | accuracy (most probable) | accuracy (app decision) | ROC-AUC | "
              + " | ".join(f"recall {n}" for n in names) + " |",
              "|---|---|---|---|---|---|" + "---|" * len(names)]
        for sub in subsets:
            vals = "; ".join(f"{k}: {', '.join(v)}" for k, v in sub["values"].items() if v) or "-"
            L.append(f"| {sub['name']} | {vals} | {sub['n']} | {_f(sub['accuracy'])} | {_f(sub['accuracy_app'])} | "
                     f"{_f(sub['roc_auc'])} | " + " | ".join(_f(sub['per_class_recall_app'][n]) for n in names) + " |")
        L.append("")

    # --- breakdown ----------------------------------------------------------------------------------------------
    for col, rows in (report.get("test_breakdown") or {}).items():
        L += [f"## Test images by {col} (app decision)", "",
              f"| {col} | n | true class | decided right | " + " | ".join(f"called {n}" for n in names) + " |",
              "|---|---|---|---|" + "---|" * len(names)]
        for v, r in rows.items():
            L.append(f"| {v} | {r['n']} | " + ", ".join(f"{k} {c}" for k, c in r["true"].items()) + f" | "
                     f"{_p(r['accuracy_app'])} | " + " | ".join(_p(r["called"][n]) for n in names) + " |")
        L.append("")

    # --- heatmap quality ----------------------------------------------------------------------------------------
    if heat.get("all", {}).get("n"):
        a, d = heat["all"], heat["detected"]
        L += ["## Heatmap quality (does the heatmap point at the defect?)", "",
              f"Measured on the {a['n']} test images that have a ground-truth region mask (`{heat['column']}` column), "
              f"with {heat['heatmap']}. **Pointing game**: a hit when the heatmap's highest pixel lies inside the mask "
              f"or within {a['tolerance_px']:g} px of it (image pixels; the exact score uses 0 px). **Mass inside**: "
              "the share of the heatmap's total that falls on the mask; a heatmap that knows nothing would put the "
              "mask's area fraction there (the chance level).", "",
              "| images | n | pointing game | exact (0 px) | mass inside (mean) | mass inside (median) | chance (mask area) | lift | median peak distance |",
              "|---|---|---|---|---|---|---|---|---|"]

        def heat_row(label, x):
            if not x.get("n"):
                return f"| {label} | 0 | - | - | - | - | - | - | - |"
            return (f"| {label} | {x['n']} | {_f(x['pointing_game'])} ({x['hits']}/{x['n']}) | {_f(x['pointing_game_exact'])} | "
                    f"{_f(x['mass_inside_mean'])} | {_f(x['mass_inside_median'])} | {_f(x['mask_area_mean'])} | "
                    f"{_f(x['mass_lift'], 1)}x | {_f(x.get('peak_distance_median_px'), 1)} px |")

        L.append(heat_row("all with a mask", a))
        L.append(heat_row("called " + (", ".join(dec.get("alarming") or []) or "correctly") + " by the app", d))
        for k, g in (heat.get("groups") or {}).items():
            L.append(heat_row(f"{heat['by']} = {k}", g))
        L.append("")
        if heat.get("examples"):
            L += ["Examples (a seeded random choice; mask outlined in white, peak marked with a cross):", "",
                  f"![heatmap examples]({heat['examples']})", ""]

    # --- out of domain ----------------------------------------------------------------------------------------
    sel = report["ood_selection"]
    L += ["## Out-of-domain refusal", ""]
    if report.get("ood"):
        o = report["ood"]
        L += [f"Score used: **{sel['chosen']}** ({o['method']}); refused above {o['threshold']:.4g}, the value that "
              f"accepts {o['in_domain_acceptance']:.0%} of the validation images.", "",
              "Choice between the scores (each thresholded at the same 95% validation acceptance), on the *selection* "
              "half of each out-of-domain set:", "",
              "| score | " + " | ".join(f"{k} (n={sel['n'][k]})" for k in sel["n"]) + " | mean |",
              "|---|" + "---|" * (len(sel["n"]) + 1)]
        for m, rej in sel["rejection"].items():
            L.append(f"| {m} | " + " | ".join(_p(rej[k]) for k in sel["n"]) + f" | {_p(sel['mean_rejection'][m])} |")
        L += ["", "Refusal by the exported pack (the app's inspector) on the *report* half of each set, which played "
              "no part in the choice:", "", "| set | refused | if accepted, called |", "|---|---|---|"]
        for k, v in report["ood_report"].items():
            L.append(f"| {k}: {v['description']} | {_p(v['rejection_rate'])} ({v['rejected']}/{v['n']}) | "
                     + ", ".join(f"{a} {b}" for a, b in v["predicted_if_accepted"].items()) + " |")
        L += [f"| in-domain test images (false refusals) | {_p(report['in_domain_false_rejection_test'])} "
              f"({fr[0]}/{fr[1]}) | |", "", "![OOD scores](ood_scores.png)", ""]
    else:
        L += ["No out-of-domain threshold is set.", ""]

    # --- targets, anchors ---------------------------------------------------------------------------------------
    if c.get("anchors"):
        L += ["## Reference points from the literature", ""] + [f"- {a}" for a in c["anchors"]] + [""]
    L += ["## What it was NOT tested on", ""] + [f"- {x}" for x in c.get("not_tested") or []] + [""]
    for sec in c.get("sections") or []:
        L += [f"## {sec['title']}", "", str(sec["text"]).strip(), ""]
    L += ["## Limitations", "", " ".join(str(c.get("limitations", "")).split()), ""]
    L += ["## Reproduce", "", "```"] + reproduce_lines(cfg, manifest) + ["```", ""]
    text = "\n".join(x for x in L if x is not None)
    path = Path(path)
    if previous is None and path.is_file():
        previous = path.read_text(encoding="utf-8")
    if previous:
        text = carry_marked_sections(previous, text)
    path.write_text(text, encoding="utf-8")
    return path
