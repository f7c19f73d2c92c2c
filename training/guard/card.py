"""The guard's section of a pack's ``CARD.md`` (between the guard markers) and its accuracy-vs-ε plot,
written from the manifest's ``guard`` block and ``metrics.guard`` results."""

from __future__ import annotations

from pathlib import Path

from training.guard.calibrate import REFORMER_MIN_CLEAN_KEPT, _reformer_name
from training.guard.evaluate import GREY_ATTACK

CARD_BEGIN = "<!-- guard:begin -->"
CARD_END = "<!-- guard:end -->"

def write_card_section(pack_dir: Path, manifest: dict, results: dict) -> None:
    """Replace (or append) the guard section of CARD.md, with an accuracy-vs-ε plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = manifest["guard"]
    fgsm_rows = [r for r in results["attacks"] if r["attack"] == "FGSM"]
    if fgsm_rows:
        fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=110)
        e = [0] + [r["eps_255"] for r in fgsm_rows]
        clean_acc = results["test_clean_accuracy"]
        ax.plot(e, [clean_acc] * len(e), "k--", label="clean")
        ax.plot(e, [clean_acc] + [r["attacked_accuracy"] for r in fgsm_rows], "r-o", label="attacked (FGSM)")
        ax.plot(e, [results["test_clean_mitigated_accuracy"]] + [r["mitigated_accuracy"] for r in fgsm_rows],
                "g-o", label="after mitigation")
        ax.set_xlabel("ε (/255)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(f"{manifest['id']}: FGSM and the guard", fontsize=9)
        fig.tight_layout()
        fig.savefig(pack_dir / "guard_accuracy_vs_eps.png")
        plt.close(fig)
    ae = results["autoencoder"]
    lines = [CARD_BEGIN, "## Input guard (adversarial and unfamiliar inputs)", ""]
    lines.append(
        f"Every image is also checked by the pack's input guard (`guard_ae.onnx`, a {ae['weights']:,}-weight "
        f"residual denoising autoencoder trained on clean training images, their noisy copies and FGSM versions "
        f"of them made against {'the ' + ae['reused_from'] + ' classifier (shared with that pack)' if ae.get('reused_from') else 'this classifier'}, "
        f"best of {ae['epochs']} epochs; ONNX parity "
        f"{ae['parity_max_abs']:.1e}). Data: {results['data']}.")
    pur = results.get("purifier")
    if pur:
        loss = ("cross-entropy of its answer to the classifier's softmax on the clean image"
                if pur.get("loss", "l1") == "kl" else "L1 between its logits and the classifier's on the clean image")
        first = f"JPEG quality {pur['jpeg_quality']} re-compression, then " if pur.get("jpeg_quality") else ""
        lines += ["", (f"The reformer candidate *purifier* (`guard_purifier.onnx`): {first}a {pur['weights']:,}-weight "
                       "residual U-Net trained through the frozen classifier (the guided denoiser of Liao et al. 2018; "
                       f"loss: {loss}) on {pur['variants']} attacked copies of each training image (FGSM or BIM, "
                       f"ε 1-8/255) and on the clean images, best of {pur['epochs']} epochs. On FGSM 2/255 validation "
                       f"images it gives back the clean answer for {100 * pur['validation_restored']:.0f}% ("
                       + ("the JPEG step alone" if pur.get("jpeg_quality") else "attacked as they are")
                       + f": {100 * pur['validation_before']:.0f}%) and keeps "
                       f"{100 * pur['validation_clean_kept']:.0f}% of the answers on clean ones; ONNX parity "
                       f"{pur['parity_max_abs']:.1e}."
                       + ("" if pur.get("shipped", True) else " It lost to the reformer below and is not shipped."))]
    lines += ["", "| detector | what it measures | threshold | clean validation images flagged |", "|---|---|---|---|"]
    what = {"reconstruction": "noise floor: the smallest mean absolute difference between image and reconstruction over 8×8 tiles",
            "divergence": "Jensen-Shannon divergence of the verdict on the image vs on its reconstruction",
            "squeeze": "L1 change of the probabilities under a 3×3 median filter (feature squeezing)",
            "noise": "colour-noise floor: the smallest mean absolute Laplacian of the chroma (Cb, Cr) over 16×16 tiles (no model)"}
    for name, d in g["detectors"].items():
        lines.append(f"| {name} | {what[name]} | {d['threshold']:.4g} | {100 * d['false_alarm_rate']:.1f}% |")
    if manifest.get("ood"):
        lines.append(f"| ood | the pack's out-of-domain score | {manifest['ood']['threshold']:.4g} | "
                     f"{100 * (1 - manifest['ood'].get('in_domain_acceptance', 0.95)):.0f}% (its own calibration) |")
    sel = g.get("selection")
    if sel:
        lines += ["", f"Detectors shipped: chosen on {sel['attack']} ({sel['successful']} successful attacks), "
                  "as the set that catches the most of them at the false-alarm target:", "",
                  "| detectors | validation detection (mean) | per attack | validation false alarms |",
                  "|---|---|---|---|"]
        lines += [f"| {' + '.join(r['detectors'])} | {100 * r['validation_detection']:.0f}% | "
                  + " / ".join(f"{100 * x:.0f}%" for x in r.get("validation_detection_per_attack", []))
                  + f" | {100 * r['validation_false_alarms']:.1f}% |" for r in sel["subsets"]]
        if sel.get("reformers"):
            chosen = g.get("reformer") or {"kind": "autoencoder"}
            lines += ["", "Reformer (what a flagged image is cleaned with before it is classified again): chosen on the "
                      "successful validation attacks at 2/255 as the one that gives back the most clean answers, "
                      f"among those that keep at least {100 * REFORMER_MIN_CLEAN_KEPT:.0f}% of the answers on clean images:", "",
                      "| reformer | successful attacks restored | clean answers kept |", "|---|---|---|"]
            lines += [f"| {_reformer_name(r['reformer'])}{' ← shipped' if r['reformer'] == chosen else ''} | "
                      f"{100 * r['restored']:.0f}% | {100 * r['clean_kept']:.0f}% |" for r in sel["reformers"]]
    uses_ae = any(d in g["detectors"] for d in ("reconstruction", "divergence")) or \
        (g.get("reformer") or {"kind": "autoencoder"})["kind"] == "autoencoder"
    if not uses_ae:
        lines += ["", "The autoencoder ships with the pack and is measured above, but at the chosen operating point "
                  "neither the detectors nor the reformer need it, so the app does not run it."]
    scr = g.get("screen")
    lines += ["", f"Thresholds: set together on clean validation images so that any of them flags at most "
              f"{100 * results['target_false_alarm_rate']:.0f}% of them (measured {100 * results['validation_false_alarm_rate']:.1f}%; "
              f"on the clean test images {100 * results['test_false_alarm_rate']:.1f}%"
              + (f": {100 * results['test_false_alarm_rate_detectors']:.1f}% by these detectors, "
                 f"{100 * results['test_ood_refusal_rate']:.1f}% refused as out-of-domain by the pack's own OOD check"
                 if "test_false_alarm_rate_detectors" in results else "") + ")."]
    if scr and scr.get("score") == "median_residual":
        lines.append(f"Cost control: the squeeze detector (which runs the classifier again) runs only when the image's "
                     f"median residual ({'its floor over tiles' if scr.get('aggregate') == 'patch_min' else 'mean'}) is "
                     f"above {scr['threshold']:.4g} (see the squeeze screen below).")
    elif scr:
        lines.append(f"Cost control: the divergence and squeeze detectors (which run the classifier again) run only when "
                     f"the reconstruction error is above {scr['threshold']:.4g}, which {100 * scr['clean_pass_rate']:.0f}% "
                     f"of clean validation images are. A flagged result always needs review, and the classifier's answer "
                     f"on the reconstruction (the *reformer*) is shown beside the original.")
    from training.guard.recalibrate_cmd import card_lines

    lines += card_lines(results)
    from training.guard.squeeze_study import card_lines as squeeze_lines

    lines += squeeze_lines(results.get("squeeze_study") or {})
    c = results["cost"]
    lines.append(f"Single-image time here (indicative; see `benchmarks/results.md`): {c['without_guard_ms']:.1f} ms without, "
                 f"{c['with_guard_ms']:.1f} ms with the guard ({c['ratio']:.2f}×).")
    lines += ["", f"### Attacks on {results['n_test']} test images (white-box against the classifier only)", "",
              "| attack | ε | accuracy clean | attacked | after mitigation | successful attacks | detected | all attacked images flagged |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results["attacks"]:
        det = "—" if r["detection_rate"] is None else f"{100 * r['detection_rate']:.0f}% ({r['detected_successful']}/{r['successful_attacks']})"
        lines.append(f"| {r['attack']} | {r['eps_255']:g}/255 | {100 * r['clean_accuracy']:.1f}% | "
                     f"{100 * r['attacked_accuracy']:.1f}% | {100 * r['mitigated_accuracy']:.1f}% | {r['successful_attacks']} | "
                     f"{det} | {100 * r['flagged_all_attacked']:.0f}% |")
    lines += ["", "Accuracy is the app's verdict against the true label; *after mitigation* takes the reformer's answer "
              "for flagged images and the original answer otherwise. The study's anchor: MobileNet on ImageNet, "
              "92.64% clean → 14.58% under FGSM → 91.67% after its autoencoder.", ""]
    at2 = next((r for r in fgsm_rows if abs(r["eps_255"] - 2) < 1e-6), None)
    if at2 is not None:
        target = 0.9 * at2["clean_accuracy"]
        if at2["mitigated_accuracy"] < target:
            lines += [f"**Mitigation falls short here**: at ε = 2/255 the reformer brings accuracy from "
                      f"{100 * at2['attacked_accuracy']:.1f}% to {100 * at2['mitigated_accuracy']:.1f}%, below 90% of clean "
                      f"accuracy ({100 * target:.1f}%). Treat a flagged result as untrusted and look at the item itself; "
                      "the reformer's answer is a hint, not a correction.", ""]
        det = at2["detection_rate"]
        if det is not None and det < 0.9:
            lines += [f"**Detection falls short of 90% at ε = 2/255** ({100 * det:.0f}%): perturbations this small are "
                      "caught only in part; from ε = 4/255 on see the table.", ""]
    grey = [r for r in results["attacks"] if r["attack"] == GREY_ATTACK]
    if grey:
        txt = ", ".join(("n/a" if r["detection_rate"] is None else "%.0f%%" % (100 * r["detection_rate"]))
                        + f" at {r['eps_255']:g}/255" for r in grey)
        lines += [f"**Against an attacker who knows of the colour-noise floor** (*{GREY_ATTACK}*: the same step on "
                  f"R, G and B, so the perturbation has no colour) the guard detects {txt} of the successful attacks: "
                  "this is the white-box limit below, measured.", ""]
    if fgsm_rows:
        lines += ["![accuracy vs ε](guard_accuracy_vs_eps.png)", ""]
    lines += ["**The white-box limit.** These attacks know the classifier but not the guard. An attacker who also "
              "differentiates through the autoencoder and the detectors can craft images that pass them (MagNet's "
              "authors concede this; Carlini & Wagner 2017 showed it). The colour-noise floor is the easiest to "
              "evade for an attacker who knows of it: a perturbation kept out of the chroma (the same change in R, G "
              "and B) or smoothed leaves it unmoved. It also assumes photos like the training ones: a lossless, "
              "noisy-sensor or synthetic image with real fine colour detail can raise a false alarm (measured above "
              "on clean test images). The guard raises the cost of an attack and "
              "catches careless or transferred ones; it is not a proof of robustness.", CARD_END, ""]
    section = "\n".join(lines)
    card = pack_dir / "CARD.md"
    text = card.read_text(encoding="utf-8") if card.exists() else f"# {manifest['id']}\n\n"
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        tail = rest.split(CARD_END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    card.write_text(text, encoding="utf-8")
