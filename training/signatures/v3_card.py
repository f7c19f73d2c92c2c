"""CARD.md of signature-verify 3, written from the run's numbers (nothing typed by hand)."""

from __future__ import annotations

from pathlib import Path

CORPORA = (("cedar", "CEDAR"), ("bengali", "Bengali"))


def _p(x, d=1) -> str:
    return "—" if x is None else f"{100 * float(x):.{d}f}%"


def _ms(s) -> str:
    return f"{100 * s['mean']:.1f} ± {100 * s['sd']:.1f}%"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def targets(res: dict) -> list[tuple[str, str, str, bool]]:
    t5 = res["test"]["5"]
    rows = []
    for c, name, eer_max, acc_min in (("cedar", "CEDAR", 0.03, 0.97), ("bengali", "Bengali", 0.05, 0.95)):
        e = t5["eer"][c]
        a = t5["standard"][c]["accuracy"]
        rows.append((f"{name} EER ≤ {eer_max:.0%}", _p(e), f"{100 * (e - eer_max):+.1f} points", e <= eer_max))
        rows.append((f"{name} accuracy at the shipped threshold ≥ {acc_min:.0%}", _p(a),
                     f"{100 * (a - acc_min):+.1f} points", a >= acc_min))
    rr = t5["standard"]["bengali"]["review_rate"]
    rows.append(("Bengali review rate ≤ 20%", _p(rr), f"{100 * (rr - 0.2):+.1f} points", rr <= 0.2))
    for c, name in CORPORA:
        g = t5["standard"][c]["review_rate_genuine"]
        a = t5["standard"][c]["accuracy_decided"]
        rows.append((f"{name}: genuine sent to review ≤ 20%", _p(g), f"{100 * (g - 0.2):+.1f} points", g <= 0.2))
        rows.append((f"{name}: accuracy on decided ≥ 97%", _p(a), f"{100 * (a - 0.97):+.1f} points", a >= 0.97))
    b = res["baselines"]
    worst = max(abs(b[c]["background_normalized"] - 0.5) for c, _ in CORPORA)
    worst = max(worst, abs(b["corpus_only"] - 0.5))
    rows.append(("background-only (normalised) and corpus-only baselines within 5 points of chance", f"max {100 * worst:.1f} "
                 "points off", "", worst <= 0.05))
    return rows


def write_card(path: Path, m: dict, res: dict, extra: dict) -> None:
    ch, rec = res["chosen"], res["recipe"]
    cvp, test = res["cv_operating_points"], res["test"]
    L = [f"# Signature verification (writer-independent, CEDAR + Bengali) — `signature-verify` {m['version']}", "",
         "Compares a query signature with a customer's genuine reference signatures and says **genuine** or "
         "**forged** (a skilled forgery). Every per-reference score and the overall score are on one scale: the "
         "calibrated probability that query and reference are by the same hand. The overall score is the "
         f"{rec['how'].replace('_', ' ')} of the per-reference scores, so it always lies between the lowest and the "
         "highest of them. The overlay is drawn after registering the query onto its closest reference (scale, "
         "rotation, shift). Decision support: a person decides.", "",
         "## Results at a glance (5 references)", "",
         "CV = 5-fold writer-grouped cross-validation over the development writers (CEDAR 1–35, Bengali 1–70), "
         "mean ± sd over folds; thresholds chosen on the other four folds each time. Test = CEDAR 36–45 and "
         "Bengali 71–80, scored **once** at the end with the shipped thresholds (3 random reference sets per "
         "writer; queries: the writer's other genuine signatures and all skilled forgeries of that writer).", "",
         "| corpus | | EER | accuracy @ thr | FAR (skilled) | FRR | review rate (all / genuine) | accuracy on decided |",
         "|---|---|---|---|---|---|---|---|"]
    for c, name in CORPORA:
        v = cvp["5"][c]
        L.append(f"| {name} | CV | {_ms(v['eer'])} | {_ms(v['accuracy'])} | {_ms(v['far'])} | {_ms(v['frr'])} | "
                 f"{_ms(v['review_rate'])} / {_ms(v['review_rate_genuine'])} | {_ms(v['accuracy_decided'])} |")
        t = test["5"]["standard"][c]
        L.append(f"| {name} | **test** | **{_p(test['5']['eer'][c])}** | **{_p(t['accuracy'])}** | {_p(t['far'])} | "
                 f"{_p(t['frr'])} | {_p(t['review_rate'])} / {_p(t['review_rate_genuine'])} | "
                 f"{_p(t['accuracy_decided'])} |")
    L += ["", "### Against the issue's targets (test writers, 5 references)", "",
          "| target | measured | margin | |", "|---|---|---|---|"]
    L += [f"| {a} | {b} | {c} | {_met(d)} |" for a, b, c, d in targets(res)]
    L += ["", "## Operating points (thresholds and review bands chosen by CV)", "",
          "Standard: the threshold at the CV equal-error point; the review band [low, high) around it is the "
          "narrowest that keeps accuracy on the decided signatures ≥ 97% while sending at most 20% of genuine "
          "signatures to review (where no band reaches 97%, the one with the best decided accuracy within the "
          "20% limit). Strict (`--strict`, high-value documents): the lowest threshold with CV FAR ≤ 1%. "
          "Fewer than 3 references also sends every check to review (a separate rule, not counted below).", "",
          "| refs | point | threshold | review band | corpus | FAR CV / test | FRR CV / test | review CV / test | "
          "accuracy on decided CV / test |", "|---|---|---|---|---|---|---|---|---|"]
    for n, pts in res["operating_points"].items():
        for p in ("standard", "strict"):
            pt = pts[p]
            for c, name in CORPORA:
                a = cvp[n]["pooled_at_shipped_points"][p][c]
                b = test[n][p][c]
                L.append(f"| {n} | {p} | {_p(pt['threshold'])} | {_p(pt['review'][0])}–{_p(pt['review'][1])} | "
                         f"{name} | {_p(a['far'])} / {_p(b['far'])} | {_p(a['frr'])} / {_p(b['frr'])} | "
                         f"{_p(a['review_rate'])} / {_p(b['review_rate'])} | {_p(a['accuracy_decided'])} / "
                         f"{_p(b['accuracy_decided'])} |")
    L += ["", "(CV columns here: out-of-fold scores of all development writers at the shipped point, so "
          "slightly optimistic; the table above re-chooses the point without each fold.)", "",
          "EER by number of references (test, once):", "", "| refs | CEDAR | Bengali |", "|---|---|---|"]
    for n in test:
        L.append(f"| {n} | {_p(test[n]['eer']['cedar'])} | {_p(test[n]['eer']['bengali'])} |")
    L += ["", "## How it works", "",
          "1. Both corpora are normalised the same way by the app's own code: grey, median filter, Otsu "
          "binarisation, small specks removed, cropped to the ink, resized (aspect kept) onto a 192×384 canvas, "
          "binary ink on white. CEDAR's grey scans and Bengali's 1-bit scans look alike after it.",
          "2. EfficientNet-Lite0 with its ImageNet weights (frozen, not fine-tuned) runs on the canvas; the taps "
          f"{', '.join(ch['taps'])} are mean-pooled on a 2×4 grid, signed-square-rooted and L2-normalised.",
          f"3. A learned layer (whitening PCA to {ch['pca_dims']} dims"
          + (f", then a {ch['lda_dims']}-dim genuine-vs-skilled-forgery discriminant" if ch["lda_dims"] else "")
          + ") fitted on all 105 development writers of both corpora gives the embedding; all of it is inside "
          "`model.onnx`.",
          f"4. Per reference: cosine similarity, shifted by λ = {rec['lam']} × (the references' mutual agreement − "
          f"{rec['prior']:.3f}), then calibrated: p = σ({rec['a']:.2f}·s + {rec['b']:.2f}) (logistic regression on "
          "CV pairs).",
          f"5. Overall = {rec['how'].replace('_', ' ')} of the per-reference p; thresholds per number of references.",
          "", "## Protocol (docs/training.md, \"Signatures\")", "",
          "Every choice — taps, learned layer, λ, aggregate, calibration, thresholds, review bands, the "
          "writer-dependent SVM — was made by 5-fold writer-grouped CV over the 105 development writers (each fold "
          "holds 7 CEDAR and 14 Bengali writers). The test writers were scored once, after everything was fixed, "
          "and nothing was changed afterwards. CEDAR writers 36–45 were the previous pack's test writers and were "
          "in view of its choices (2.x); this pack reuses none of its model or choices (the old fine-tuned network "
          "and SVM are not used), so they are unseen by everything here, but not by the project's history.", "",
          "### Candidates (CV EER at 5 references, mean ± sd over folds; best λ/aggregate per row)", "",
          "| taps | discriminant dims | CEDAR | Bengali |", "|---|---|---|---|"]
    best = {}
    for k, v in res["candidates"].items():
        taps, lda = k.split("|")[:2]
        key = (taps, lda)
        if key not in best or v["both"]["mean"] < best[key]["both"]["mean"]:
            best[key] = v
    for (taps, lda), v in best.items():
        mark = " ◆" if res["chosen"]["key"].startswith(f"{taps}|{lda}|") else ""
        L.append(f"| {taps}{mark} | {lda[3:]} | {_ms(v['cedar'])} | {_ms(v['bengali'])} |")
    b = res["baselines"]
    L += ["", "## Shortcut baselines (must be at chance: 50% balanced accuracy)", "",
          f"{b['metric']}; each classifier sees only the nuisance named.", "",
          "| classifier sees only | CEDAR | Bengali |", "|---|---|---|",
          f"| the raw scan's paper (border grey) — the known CEDAR trap, *before* normalisation | "
          f"{_p(b['cedar']['background_raw'])} | {_p(b['bengali']['background_raw'])} |",
          f"| the normalised canvas away from the ink (what the network sees of the paper) | "
          f"{_p(b['cedar']['background_normalized'])} | {_p(b['bengali']['background_normalized'])} |",
          f"| the raw scan's width, height, aspect (scan session / form) | {_p(b['cedar']['size_raw'])} | "
          f"{_p(b['bengali']['size_raw'])} |",
          f"| which corpus (both pooled) | {_p(b['corpus_only'])} | |", "",
          "The raw size does carry information about the label in a corpus where it is far from 50%; the network "
          "never sees it (the ink is cropped and resized onto one canvas).", ""]
    wd = res["writer_dependent"]
    L += ["## Writer-dependent refinement (per-writer SVM on the new embedding)", "",
          "RBF SVM (C = 1, gamma = scale) per customer: the references against 300 genuine signatures of other "
          "(training-fold) writers; same folds, queries and reference sets as the writer-independent score.", "",
          "| refs | CEDAR: writer-independent / per-writer SVM | Bengali: writer-independent / per-writer SVM |",
          "|---|---|---|"]
    for n in ("5", "10"):
        L.append(f"| {n} | {_ms(wd[n]['wi']['cedar'])} / {_ms(wd[n]['wd']['cedar'])} | "
                 f"{_ms(wd[n]['wi']['bengali'])} / {_ms(wd[n]['wd']['bengali'])} |")
    L += ["", f"Kept: **{'yes' if wd['kept'] else 'no'}** "
          + ("(it lowers the CV EER in both corpora)." if wd["kept"] else "(it does not lower the CV EER in both "
             "corpora, so the pack ships the writer-independent score only)."), ""]
    ov = extra["overlay"]
    L += ["## Registered overlay", "",
          "Each test query (5 references) registered onto its closest reference, as the app draws it. "
          "*Matched* = share of drawn ink that is yellow (ink of the other within 2 px); IoU = exact pixel IoU.", "",
          "| pairs | n | IoU | matched (registered) | matched (unregistered, same canvas) |", "|---|---|---|---|---|"]
    for k in ("genuine", "forged"):
        o = ov[k]
        L.append(f"| {k} | {o['n']} | {_p(o['iou']['mean'])} ± {_p(o['iou']['sd'])} | "
                 f"{_p(o['matched']['mean'])} ± {_p(o['matched']['sd'])} | {_p(o['unregistered_matched']['mean'])} |")
    L += ["", f"Registration takes {ov['ms_per_pair']:.0f} ms per pair here. Skilled forgeries copy the shape, so "
          "the overlay separates them from genuine signatures only weakly: it is for a person to look at, the "
          "score does not use it.", ""]
    dm = extra["domain"]
    L += ["## Is it a signature? (the domain check)", "",
          f"Limits set on the development images (99.75% kept; refused {_p(dm['development_refused'])}): embedding "
          f"squared norm {dm['limits']['embedding_norm2']:.1f}, ink {_p(dm['limits']['ink_fraction'])} of the canvas. "
          "Measured through the app's Verifier:", "", "| images | n | refused |", "|---|---|---|",
          f"| test writers' signatures (every 5th) | {dm['test_signatures']['n']} | {_p(dm['test_signatures']['refused'])} |",
          f"| ImageNet sample photos | {dm['imagenet_photos']['n']} | {_p(dm['imagenet_photos']['refused'])} |", ""]
    tm = extra.get("timings") or {}
    L += ["## Training time (2 shared CPU cores, no GPU)", "", "| run | time |", "|---|---|"]
    L += [f"| {k} | {v} |" for k, v in tm.items()]
    L += ["", "## Data and licences", "", m["data"]["licence"], "",
          "Bengali writers have 6–24 genuine and 15–30 forged images each after deduplication (byte-identical "
          "copies dropped); a writer with no more genuine signatures than references is skipped at that number of "
          "references.", "", "## Limitations", "", m["limitations"], ""]
    path.write_text("\n".join(L), encoding="utf-8")


def per_writer_section(rows_file: Path, res: dict) -> str:
    """Per-writer EER of the test writers at 5 references, and the measured next steps."""
    import numpy as np

    from training.signatures.metrics import eer

    d = np.load(rows_file, allow_pickle=True)
    L = ["## Where the test errors are (5 references) and what next", "",
         "| writer | " + " | ".join(str(int(w) % 1000) for w in np.unique(d["writer"])) + " |",
         "|---|" + "---|" * len(np.unique(d["writer"])), ]
    cells = []
    for w in np.unique(d["writer"]):
        k = d["writer"] == w
        cells.append(_p(eer(d["y"][k], d["score"][k])[0], 0))
    L.append("| EER | " + " | ".join(cells) + " |")
    wd = res["writer_dependent"]
    L += ["", "(CEDAR writers first, then Bengali 71–80.) Pooled EER is higher than most writers' own EER: "
          "one threshold serves writers whose score levels differ.", "",
          "Next steps, with what was measured: the per-writer SVM lowers CEDAR's CV EER "
          f"({_ms(wd['5']['wi']['cedar'])} → {_ms(wd['5']['wd']['cedar'])} at 5 references) but not Bengali's at 10, "
          "and its scores are not on the calibrated scale — a calibrated fusion of it with this score is the "
          "cheapest next candidate. The discriminant layer and a learned weighted cosine did not help (docs/training.md). "
          "Not measured here for lack of compute on 2 shared cores: fine-tuning the backbone's top blocks on "
          "both corpora, a finer pooling grid, Lite1/Lite2.", ""]
    return "\n".join(L)
