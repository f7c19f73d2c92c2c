"""The card's record of the 3.1 candidates: a section of ``CARD.md`` rendered from the CV results.

    python -m training.signatures.v31_card --out runs/sig3 --pack models/signature-verify

Reads ``norm-results*.json`` (:mod:`training.signatures.v31_norm`) and ``wd-results*.json``
(:mod:`training.signatures.v31_wd`) and writes the section between ``<!-- candidates31:begin/end -->``
(replaced in place, or appended), so rerunning the candidates rerenders it. No test writer is
scored here: the section holds development-writer CV numbers only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.signatures.v31_norm import PER_REFERENCE

BEGIN, END = "<!-- candidates31:begin -->", "<!-- candidates31:end -->"
BASELINE = "lvl0.5 (3.0)|trimmed_mean"
WHAT = {
    "lvl": "3.0's shift: cos − λ·(level − prior), level = the references' mean mutual cosine",
    "peref": "the same shift with each reference's own agreement instead of the set's level",
    "z": "z-norm by the references: (cos − level) / their spread (shrunk to the development spread)",
    "tnorm": "t-norm: the query's cosines with a cohort of 400 development signatures (mean, sd)",
    "znormc": "each reference's cosines with the cohort (mean, sd)",
    "snorm": "s-norm: mean of the query's and the reference's cohort z-scores",
    "two": "two-point: cohort level → 0, the references' own level → 1",
    "snorm+lvl": "s-norm, then 3.0's shift by the references' level (in development sds)",
}


def _ms(d) -> str:
    return f"{100 * d['mean']:.1f} ± {100 * d['sd']:.1f}%"


def _what(name: str) -> str:
    base = name.split("|")[0]
    for k in sorted(WHAT, key=len, reverse=True):
        if base.startswith(k):
            return WHAT[k]
    return ""


def _paired(a: dict, b: dict, corpus: str) -> str:
    d = np.array(b[corpus]["folds"]) - np.array(a[corpus]["folds"])
    better = int(np.sum(d < 0))
    return f"{100 * d.mean():+.1f} ± {100 * d.std(ddof=1):.1f} points ({better} of {len(d)} folds lower)"


def _wd_verdict(r: dict, shipped: bool = False) -> list[str]:
    """Paired (same folds) change of the fused score against β = 0 for one setting, both corpora."""
    key, base = "ridge1.0|beta0.8", "ridge1.0|beta0.0"
    if not all(key in (r.get(n) or {}) and base in r[n] for n in ("5", "10")):
        return []
    L = [f"Paired against β = 0 on the same folds (ridge 1, β = 0.8, the smallest β near the best of both corpora):", ""]
    better = True
    for n in ("5", "10"):
        a, b = r[n][base], r[n][key]
        L.append(f"- {n} references: CEDAR {_ms(a['cedar'])} → {_ms(b['cedar'])}, {_paired(a, b, 'cedar')}; "
                 f"Bengali {_ms(a['bengali'])} → {_ms(b['bengali'])}, {_paired(a, b, 'bengali')}.")
        better &= b["cedar"]["mean"] < a["cedar"]["mean"] and b["bengali"]["mean"] < a["bengali"]["mean"]
    tail = ("β and the ridge were picked from a 12-point grid on these same folds, so the gain is slightly optimistic. "
            f"Even so, {_ms(r['5'][key]['cedar'])} / {_ms(r['5'][key]['bengali'])} at 5 references is far from the "
            "issue's 3% / 5% (EER on unseen writers).")
    if shipped:
        L += ["", ("It is better in both corpora at 5 and 10 references: the candidate for 3.1.0. "
                   if better else "It is not better in both corpora at 5 and 10 references. ")
              + "Shipped as 3.1.0 (as 3.1.1 after issue #23's correction, the same rule re-picking ridge 0.3, "
              "β = 3.2), with (ridge, β) re-chosen and checked by nested CV, the classifier's "
              "min_references and the operating points chosen by CV on the fused score, and a second look at the "
              "test writers (sections above); the numbers here were measured first, in the session before, "
              "when these runs got 5–16% of one core. " + tail, ""]
    else:
        L += ["", ("It is better in both corpora at 5 and 10 references: the candidate for 3.1.0. "
                   if better else "It is not better in both corpora at 5 and 10 references. ")
              + "Not shipped in this session: a pack needs its operating points (1, 3, 5, 10 references; standard "
              "and strict) re-chosen by CV on the fused score, the classifier in the app (numpy, 300 cohort "
              "embeddings shipped with the pack, ~0.3 MB) and a second look at the test writers, and the CPU for it "
              "was not there (these runs got 5–16% of one core). " + tail, ""]
    return L


def render(out: Path, shipped: bool = False) -> str:
    norms = {p.name: json.loads(p.read_text()) for p in sorted(out.glob("norm-results*.json"))}
    wds = {p.name: json.loads(p.read_text()) for p in sorted(out.glob("wd-results*.json"))}
    main = norms.get("norm-results.json")
    title = ("## How 3.1.0 was chosen: the candidates measured after 3.0.0" if shipped
             else "## After 3.0.0: candidates measured for 3.1 (none shipped)")
    status = ("the second look at them (above) came after the choice, and only for the shipped candidate."
              if shipped else "since no candidate shipped, they keep the status the protocol above gives them.")
    L = [BEGIN, title, "",
         "Issue 23's follow-up: can the pooled EER come down without new data? Each candidate was measured "
         "by the 3.0 protocol — the same 5 writer-grouped folds of the 105 development writers, the same "
         "learned layer per fold, 3 random reference sets per writer — with the calibration fitted on the "
         "other four folds' rows. Nothing here looked at the test writers (CEDAR 36–45, Bengali 71–80): "
         f"{status} CV EER at 5 "
         "references, mean ± sd over the folds. The rule fixed beforehand: ship 3.1.0 only if CV says it is "
         "better in both corpora.", "",
         "Cohorts (the cohort norms, the two-point norm, the per-customer classifier) are drawn from the "
         "development writers outside the scored fold. 3.1.0's runs drew them from every writer outside the fold, "
         "the test writers' genuine signatures included (issue #23); every table here was measured again with "
         "the corrected cohorts for 3.1.1 (the candidates without a cohort give the same numbers as before).", ""]
    if main:
        L += ["### Writer-dependent score normalisation (taps block6d + block7a, as shipped)", "",
              "From the customer's references only (no forgeries of the customer); the cohort candidates also use "
              "400 genuine signatures of other (training-fold, development) writers that would ship with the pack. "
              "*One transform*: every per-reference cosine of a query goes through the same increasing "
              "function, so each per-reference score means the same thing whichever reference it is; the others "
              "normalise each reference by its own statistics (measured, not shippable as they are).", "",
              "`-top50`: cohort statistics over the 50 most similar cohort signatures. Aggregate: the trimmed "
              "mean (the median was worse for every candidate, in both corpora).", "",
              "| candidate | what it does | one transform | CEDAR | Bengali |", "|---|---|---|---|---|"]
        for k, v in main["5"].items():
            name, how = k.split("|")
            if how != "trimmed_mean":
                continue
            L.append(f"| {name} | {_what(k)} | {'no' if name in PER_REFERENCE else 'yes'} | "
                     f"{_ms(v['cedar'])} | {_ms(v['bengali'])} |")
        L += ["", f"Time: {main['seconds']:.0f} s wall, {main['cpu_seconds']:.0f} s CPU (load average "
              f"{main['load_average'][0]:.1f}).", ""]
    more = norms.get("norm-results_b67_n510.json")
    if more:
        L += ["The shipped taps with λ between 3.0's 0.5 and 1, at 5 and 10 references:", "",
              "| refs | candidate | CEDAR | Bengali |", "|---|---|---|---|"]
        for n in ("5", "10"):
            for k, v in (more.get(n) or {}).items():
                L.append(f"| {n} | {k.split('|')[0]} | {_ms(v['cedar'])} | {_ms(v['bengali'])} |")
        L.append("")
    taps = {k: v for k, v in norms.items() if k != "norm-results.json" and "b67_n510" not in k}
    if taps:
        L += ["### More taps and finer pooling grids (one Lite0 pass, `v31_features`)", "",
              "`layer@RxC`: that map mean-pooled on an R×C grid (3.0: block5c/block6d 2×4, block7a 1×2).", "",
              "| taps | λ | CEDAR | Bengali | time (wall / CPU, load) |", "|---|---|---|---|---|"]
        for k, r in taps.items():
            for spec, v in r["5"].items():
                name = spec.split("|")[0]
                L.append(f"| {' + '.join(r['taps'])} | {name} | {_ms(v['cedar'])} | "
                         f"{_ms(v['bengali'])} | {r['seconds']:.0f} / {r['cpu_seconds']:.0f} s, "
                         f"{r['load_average'][0]:.1f} |")
        L.append("")
    for k, r in wds.items():
        L += ["### Per-customer kernel classifier fused into every per-reference score", "",
              "A regularised least-squares RBF classifier (closed form, numpy) per customer: the n references "
              "against 300 genuine signatures of other (training-fold) writers; its output d(q) is added to every "
              f"per-reference similarity, s_i = cos_i − {r['lambda']}·(level − prior) + β·d(q), so the scores "
              "keep their order and the overall score stays within their range. β = 0 is 3.0.", "",
              "| refs | ridge | β | CEDAR | Bengali | classifier alone: CEDAR / Bengali |", "|---|---|---|---|---|---|"]
        for n in ("5", "10"):
            for key, v in (r.get(n) or {}).items():
                ridge, beta = key.split("|")
                L.append(f"| {n} | {ridge[5:]} | {beta[4:]} | {_ms(v['cedar'])} | {_ms(v['bengali'])} | "
                         f"{_ms(v['wd_only_cedar'])} / {_ms(v['wd_only_bengali'])} |")
        L += ["", f"Time: {r['seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU (load average "
              f"{r['load_average'][0]:.1f}).", ""]
        L += _wd_verdict(r, shipped)
    L += [END, ""]
    return "\n".join(L)


def write(card: Path, section: str) -> None:
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    card.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    ap.add_argument("--extra", default="", help="a markdown paragraph (decision, paired comparison) appended")
    args = ap.parse_args(argv)
    section = render(Path(args.out))
    if args.extra:
        section = section.replace(END, Path(args.extra).read_text(encoding="utf-8").rstrip("\n") + "\n\n" + END)
    write(Path(args.pack) / "CARD.md", section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- the 3.1.0 card ------------------------------------------------------------------------------------
CORPORA = (("cedar", "CEDAR"), ("bengali", "Bengali"))
# 3.0.0 sections kept below 3.1.0's own (heading prefix -> heading in the 3.1.0 card)
KEEP_30 = {"Protocol": "Protocol of 3.0.0 (docs/training.md, \"Signatures\")",
           "Shortcut baselines": None, "3.0.0's writer-dependent study": None,
           "Writer-dependent refinement (per-writer SVM": "3.0.0's writer-dependent study (per-writer RBF SVM, not kept)",
           "Registered overlay": None, "Is it a signature?": None,
           "Training time": "Training time of 3.0.0 (2 shared CPU cores, no GPU)", "Data and licences": None,
           "Limitations": None}


def _p(x, d=1) -> str:
    return "—" if x is None or x != x else f"{100 * float(x):.{d}f}%"


def _sections(text: str) -> tuple[list[tuple[str, str]], str]:
    """(heading, body) of each '## ' section of a card outside the marked blocks, and the perturbation block."""
    pert = ""
    if "<!-- perturbation:begin -->" in text:
        a, rest = text.split("<!-- perturbation:begin -->", 1)
        body, b = rest.split("<!-- perturbation:end -->", 1)
        pert = "<!-- perturbation:begin -->" + body + "<!-- perturbation:end -->"
        text = a + b
    if BEGIN in text:
        a, rest = text.split(BEGIN, 1)
        text = a + rest.split(END, 1)[1]
    out = []
    for chunk in ("\n" + text).split("\n## ")[1:]:
        head, _, body = chunk.partition("\n")
        out.append((head.strip(), body.strip("\n")))
    return out, pert


def kept_30(text: str) -> tuple[list[str], str]:
    secs, pert = _sections(text)
    L = []
    for head, body in secs:
        for prefix, new in KEEP_30.items():
            if head.startswith(prefix):
                L += [f"## {new or head}", "", body, ""]
                break
    if pert:
        pert = pert.replace("## Small perturbations of the scan (the verify pack's guard)",
                            "## Small perturbations of the scan (measured on 3.0.0; not rerun for 3.1.0)")
    return L, pert


def _rate_cells(t: dict) -> str:
    return (f"{_p(t['accuracy'])} | {_p(t['far'])} | {_p(t['frr'])} | {_p(t['review_rate'])} / "
            f"{_p(t['review_rate_genuine'])} | {_p(t['accuracy_decided'])}")


def head31(m: dict, res: dict, timings: dict, repicked: bool, bench: dict | None) -> list[str]:
    from training.signatures.v3_card import targets

    met, sc = m["metrics"], m["verify"]["scoring"]
    wc, ch = sc["writer_classifier"], res["chosen"]
    prev = met["previous_version"]
    cvp, test, old_same = met["cv_operating_points"], met["test"], met["test_3_0_0_same_rows"]
    old_cv = prev.get("cv_operating_points") or {}
    cohort = met["cohort_parity"]
    ver, fix = m["version"], met.get("correction")
    L = [f"# {m['name']} — `signature-verify` {m['version']}", "",
         "Compares a query signature with a customer's genuine reference signatures and says **genuine** or "
         "**forged** (a skilled forgery). Every per-reference score and the overall score are on one scale: the "
         "calibrated probability that query and reference are by the same hand; the overall score is the trimmed "
         "mean of the per-reference scores, so it always lies between the lowest and the highest of them. New in "
         "3.1.0: a small classifier is fitted for each customer (their references against 300 signatures of other "
         "people that ship with the pack) and its output moves *every* per-reference score by the same amount "
         "before calibration, so the scores keep their order and their coherence. The embedding model "
         "(`model.onnx`), the normalisation, the overlay and the domain check are 3.0.0's, unchanged. Decision "
         "support: a person decides.", ""]
    if fix:
        L += correction_note(m)
    L += [f"**Status of the numbers.** Every choice of {ver} (ridge, β, from how many references the classifier is "
         "used, calibration, thresholds, review bands) was made by the 5-fold writer-grouped CV over the 105 "
         "development writers (CEDAR 1–35, Bengali 1–70)" + (" — with the cohort corrected (above)" if fix else "") + ". CEDAR 36–45 and Bengali 71–80 were 3.0.0's test "
         "writers and were scored once with 3.0.0: their numbers for 3.1.0 below are a **second look**, not an "
         "untouched test (3.1.0's candidate was chosen without them, but after their 3.0.0 results were known). "
         "Nothing was changed after the second look" + (f"; {ver}'s re-chosen configuration was not scored on them at "
                                                       "all (no third look)" if fix else "") +
         ". An untouched test needs writers nobody has scored.", "",
         "## Results at a glance (5 references)", "",
         "CV: mean ± sd over the 5 folds, the operating point chosen on the other four folds each time. Second "
         "look: 3 random reference sets per writer; queries: the writer's other genuine signatures and all skilled "
         "forgeries of that writer; " + ("3.1.0's operating points (the second look was not repeated for " + ver + ")"
                                         if fix else "the shipped operating points") + ". 3.0.0 on the same rows beside.",
         "",
         "| corpus | | EER | accuracy @ thr | FAR (skilled) | FRR | review rate (all / genuine) | accuracy on decided |",
         "|---|---|---|---|---|---|---|---|"]
    for c, name in CORPORA:
        if old_cv.get("5"):
            v = old_cv["5"][c]
            L.append(f"| {name} | 3.0.0 CV | {_ms(v['eer'])} | {_ms(v['accuracy'])} | {_ms(v['far'])} | "
                     f"{_ms(v['frr'])} | {_ms(v['review_rate'])} / {_ms(v['review_rate_genuine'])} | "
                     f"{_ms(v['accuracy_decided'])} |")
        if fix and fix.get("superseded_cv_operating_points"):
            v = fix["superseded_cv_operating_points"]["5"][c]
            L.append(f"| {name} | ~~3.1.0 CV~~ (test writers in the cohort) | {_ms(v['eer'])} | {_ms(v['accuracy'])} | "
                     f"{_ms(v['far'])} | {_ms(v['frr'])} | {_ms(v['review_rate'])} / {_ms(v['review_rate_genuine'])} | "
                     f"{_ms(v['accuracy_decided'])} |")
        v = cvp["5"][c]
        L.append(f"| {name} | **{ver} CV** | {_ms(v['eer'])} | {_ms(v['accuracy'])} | {_ms(v['far'])} | {_ms(v['frr'])} | "
                 f"{_ms(v['review_rate'])} / {_ms(v['review_rate_genuine'])} | {_ms(v['accuracy_decided'])} |")
        o = old_same["5"]
        L.append(f"| {name} | 3.0.0 test (once) | {_p(o['eer'][c])} | {_rate_cells(o['standard'][c])} |")
        t = test["5"]
        L.append(f"| {name} | **3.1.0 second look**{' (3.1.0 scorer)' if fix else ''} | **{_p(t['eer'][c])}** | {_rate_cells(t['standard'][c])} |")
    sc0 = fix["superseded_scoring"] if fix else sc
    L += ["", "The 3.0.0 rows on the test writers are recomputed here with 3.0.0's manifest as shipped (thresholds "
          "and calibration rounded to 6 decimals); 3.0.0's card, computed before that rounding, gave CEDAR review "
          "19.9% / 13.9% and decided accuracy 95.2% (a difference of ≤ 0.1 point, not traced further; the EERs "
          "agree).", "",
          "What 3.1.0 changed at 5 references, measured: EER down in both corpora (CV and second look), accuracy at "
          "the threshold and on the decided up a little, but more queries go to review (second look: CEDAR "
          f"{_p(old_same['5']['standard']['cedar']['review_rate'])} → {_p(test['5']['standard']['cedar']['review_rate'])}, "
          f"Bengali {_p(old_same['5']['standard']['bengali']['review_rate'])} → "
          f"{_p(test['5']['standard']['bengali']['review_rate'])}): the fused score's standard band "
          f"({_p(sc0['operating_points']['5']['standard']['review'][0])}–"
          f"{_p(sc0['operating_points']['5']['standard']['review'][1])}) is the rule's fallback — in CV no band "
          "reached 97% accuracy on the decided while sending at most 20% of genuine signatures to review, so the "
          "band with the best decided accuracy within that limit was taken.", "",
          "### Against the issue's targets (second look, 5 references" + (", 3.1.0's scorer and thresholds"
                                                                         if fix else "") + ")", "",
          "| target | measured | margin | |", "|---|---|---|---|"]
    L += [f"| {a} | {b} | {c} | {'**met**' if d else '**NOT met**'} |"
          for a, b, c, d in targets({"test": test, "baselines": met["baselines"]})]
    fus = met["cv_fusion"]["by_references"]
    L += ["", "## EER by number of references", "",
          f"CV: the same folds and reference draws, calibration fitted on the other folds; *without* = β = 0 "
          f"(3.0.0's score on these rows), *fused* = ridge {wc['ridge']}, β = {wc['beta']}. The pack uses the "
          f"classifier from {wc['min_references']} references on (chosen by this CV: it is used from the smallest "
          "n from which it lowers the mean of both corpora's CV EER at every larger n too); below that it scores "
          "exactly as 3.0.0.", "",
          "| refs | corpus | CV without | CV fused | used by the pack | second look 3.0.0 | second look 3.1.0"
          + (" (3.1.0's scorer)" if fix else "") + " |",
          "|---|---|---|---|---|---|---|"]
    for n in ("1", "3", "5", "10"):
        for c, name in CORPORA:
            L.append(f"| {n} | {name} | {_ms(fus[n]['without_classifier'][c])} | {_ms(fus[n]['fused'][c])} | "
                     f"{'yes' if int(n) >= wc['min_references'] else 'no'} | {_p(old_same[n]['eer'][c])} | "
                     f"{_p(test[n]['eer'][c])} |")
    nest = met["cv_fusion"]["nested"]
    L += ["", "### Choosing ridge and β (CV EER at 5 references, mean of both corpora decides)", "",
          "| ridge | β | CEDAR | Bengali |", "|---|---|---|---|"]
    for k, v in res["grid"]["5"].items():
        r, b = k.split("|")
        mark = " ◆" if k == f"ridge{ch['ridge']}|beta{ch['beta']}" else ""
        L.append(f"| {r[5:]} | {b[4:]}{mark} | {_ms(v['cedar'])} | {_ms(v['bengali'])} |")
    L += ["", "The grid was picked on the same folds it is scored on, so ◆ is slightly optimistic. Nested CV "
          "(ridge and β chosen on four folds by the same rule, the fifth scored): picks per outer fold "
          + ", ".join(f"({a}, {b})" for a, b in nest["5"]["chosen"]) + ".", "",
          "| refs | CEDAR nested | Bengali nested | CEDAR ◆ | Bengali ◆ |", "|---|---|---|---|---|"]
    for n in ("5", "10"):
        L.append(f"| {n} | {_ms(nest[n]['cedar'])} | {_ms(nest[n]['bengali'])} | {_ms(fus[n]['fused']['cedar'])} | "
                 f"{_ms(fus[n]['fused']['bengali'])} |")
    L += ["", "## Operating points (thresholds and review bands chosen by CV on the score the pack computes)", "",
          f"From {wc['min_references']} references on: the fused score; below: 3.0.0's score, whose points the same "
          "CV re-chose identically to 3.0.0's.", "",
          "3.0.0's rules: standard = the threshold at the CV equal-error point, with the narrowest review band "
          "[low, high) that keeps accuracy on the decided signatures ≥ 97% while sending at most 20% of genuine "
          "signatures to review (where no band reaches 97%, the one with the best decided accuracy within the 20% "
          "limit); strict (`--strict`, high-value documents) = the lowest threshold with CV FAR ≤ 1%. Fewer than "
          f"{sc['min_references']} references also sends every check to review (a separate rule, not counted below). "
          "CV columns: out-of-fold scores of all development writers at the shipped point (slightly optimistic; "
          "the first table re-chooses the point without each fold)." + (
              f" Second-look columns: 3.1.0's scorer at 3.1.0's points (in brackets), not {ver}'s." if fix else ""), "",
          "| refs | point | threshold" + (" (3.1.0's threshold; band)" if fix else "") + " | review band | corpus | FAR CV / second look | FRR CV / second look | "
          "review CV / second look | accuracy on decided CV / second look | 3.0.0 second-look accuracy on decided |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for n, pts in sc["operating_points"].items():
        for p in ("standard", "strict"):
            pt = pts[p]
            for c, name in CORPORA:
                a = cvp[n]["pooled_at_shipped_points"][p][c]
                b = test[n][p][c]
                o = old_same[n][p][c]
                was = ""
                if fix:
                    q = fix["superseded_scoring"]["operating_points"][n][p]
                    was = f" ({_p(q['threshold'])}; {_p(q['review'][0])}–{_p(q['review'][1])})"
                L.append(f"| {n} | {p} | {_p(pt['threshold'])}{was} | {_p(pt['review'][0])}–{_p(pt['review'][1])} | "
                         f"{name} | {_p(a['far'])} / {_p(b['far'])} | {_p(a['frr'])} / {_p(b['frr'])} | "
                         f"{_p(a['review_rate'])} / {_p(b['review_rate'])} | {_p(a['accuracy_decided'])} / "
                         f"{_p(b['accuracy_decided'])} | {_p(o['accuracy_decided'])} |")
    L += ["", f"## How {ver} scores", "",
          "1. Both corpora are normalised the same way by the app's own code: grey, median filter, Otsu "
          "binarisation, small specks removed, cropped to the ink, resized (aspect kept) onto a 192×384 canvas, "
          "binary ink on white.",
          "2. `model.onnx` (3.0.0's): EfficientNet-Lite0 with ImageNet weights (frozen), taps block6d_add and "
          "block7a_project_bn grid-pooled, signed square root, L2, and the whitening PCA (256 dims) learned on the "
          "105 development writers: the embedding.",
          f"3. Per reference: cosine c_i, shifted by λ = {sc['reference_normalization']['lambda']} × (the references' "
          f"mutual agreement − {sc['reference_normalization']['prior']:.3f}).",
          f"4. With {wc['min_references']} or more references: the customer's classifier — a class-balanced "
          f"regularised least-squares RBF machine (ridge {wc['ridge']}, γ = 1 / (dims · variance)), the n references "
          f"(+1) against the {cohort['n']} cohort signatures (−1), solved in closed form in numpy — gives d(q); "
          f"every shifted cosine gains β·d(q), β = {wc['beta']}. It depends on the references only, so the app "
          "fits it once per reference set (cached by the tuple of the references' SHA-256s, like the registration "
          "targets).",
          f"5. Calibration p_i = σ(a·s_i + b), logistic regression on out-of-fold pairs at 5 references: with the "
          f"classifier a = {wc['calibration']['a']:.2f}, b = {wc['calibration']['b']:.2f} (fitted on the fused "
          f"similarities); below {wc['min_references']} references 3.0.0's a = {sc['calibration']['a']:.2f}, "
          f"b = {sc['calibration']['b']:.2f} (the same CV refitted it to these values). Overall = trimmed mean of "
          "the p_i.", "",
          f"The cohort (`cohort.npy`, {cohort['n']} × 256 float32, {cohort.get('bytes', 0) / 1e3:.0f} kB): genuine "
          f"signatures of {cohort['writers']} development writers, embedded by the shipped `model.onnx` through "
          f"the app (largest difference from the training-side embeddings {cohort['max_abs']:.1e}, smallest cosine "
          f"{cohort['min_cosine']:.7f}). No test writer is in it.", ""]
    if bench:
        L += [f"Latency ({bench.get('where', '')}): {bench.get('text', '')}", ""]
    L += ["## What was not tested", "",
          "- Writers nobody has scored: CEDAR 36–45 and Bengali 71–80 are a second look (above); there is no "
          "untouched test of 3.1.0" + (f", and {ver}'s re-chosen scorer and points were not scored on any test "
                                       "writer" if fix else "") + ".",
          "- The classifier's cohort is Latin (CEDAR) and Bengali signatures only; customers writing in another "
          "script are compared against other-script cohort signatures — not measured.",
          "- Random and disguised forgeries, other scanners and pens, phone photos (as for 3.0.0).",
          "- The perturbation study (below) was measured on 3.0.0's score and threshold, not rerun for 3.1.0.",
          "- The overlay and the domain check are unchanged from 3.0.0 (their numbers below are 3.0.0's).", "",
          f"## Compute ({ver}, 2 shared CPU cores)", "", "| run | time |", "|---|---|"]
    L += [f"| {k} | {v} |" for k, v in timings.items()]
    L += ["", "The features come from the cache of `v31_features` (one Lite0 pass, "
          "timed in the candidates section below); 3.0.0's own runs are in its training-time table below.",
          f"Self-test samples: {f're-picked with {ver}' if repicked else f'3.0.0 samples, all still decided right by {ver} without review'}.", ""]
    return L


def correction_note(m: dict) -> list[str]:
    """Issue #23: what was wrong in 3.1.0's CV, what was measured again, and what changed."""
    fix, sc = m["metrics"]["correction"], m["verify"]["scoring"]
    old, wc, wc0 = fix["superseded_scoring"], sc["writer_classifier"], fix["superseded_scoring"]["writer_classifier"]
    by0, by = fix["superseded_cv_fusion"]["by_references"], m["metrics"]["cv_fusion"]["by_references"]
    fixed0 = fix["superseded_scorer_corrected_cv"]

    def ms2(v):  # two decimals: the two scorers differ by less than 0.1 point
        return f"{100 * v['mean']:.2f} ± {100 * v['sd']:.2f}%"
    L = [f"**Correction (issue #23), {m['version']}.** In 3.1.0's CV {fix['what_was_wrong']}. Re-measured: "
         f"{fix['what_was_remeasured']} (`v31_train --keep-second-look`; the test writers were not scored again). "
         f"The same rule (the lowest mean of both corpora's CV EER at 5 references) now picks ridge {wc['ridge']}, "
         f"β = {wc['beta']} instead of ridge {wc0['ridge']}, β = {wc0['beta']}; {m['version']} ships that choice with "
         f"its own calibrations and operating points (manifest data only: `model.onnx` and `cohort.npy` are "
         "3.1.0's, byte for byte). CV EER at 5 references, CEDAR / Bengali:", "",
         "| scorer | 3.1.0's CV (cohort with test writers) | corrected CV |", "|---|---|---|",
         f"| 3.1.0 (ridge {wc0['ridge']}, β {wc0['beta']}) | {ms2(by0['5']['fused']['cedar'])} / "
         f"{ms2(by0['5']['fused']['bengali'])} | {ms2(fixed0['5']['cedar'])} / {ms2(fixed0['5']['bengali'])} |",
         f"| {m['version']} (ridge {wc['ridge']}, β {wc['beta']}) | (not its pick) | "
         f"{ms2(by['5']['fused']['cedar'])} / {ms2(by['5']['fused']['bengali'])} |", "",
         "Threshold and review-band changes (probability; 1 and 3 references are unchanged, the score there has no "
         "classifier):", "", "| refs | point | threshold | review band |", "|---|---|---|---|"]
    for n, pts in sc["operating_points"].items():
        for p, pt in pts.items():
            q = old["operating_points"][n][p]
            d = [pt["threshold"] - q["threshold"], pt["review"][0] - q["review"][0], pt["review"][1] - q["review"][1]]
            if max(abs(v) for v in d) < 5e-7:
                continue
            L.append(f"| {n} | {p} | {q['threshold']:.4f} → {pt['threshold']:.4f} ({d[0]:+.4f}) | "
                     f"{q['review'][0]:.4f}–{q['review'][1]:.4f} → {pt['review'][0]:.4f}–{pt['review'][1]:.4f} "
                     f"({d[1]:+.4f}, {d[2]:+.4f}) |")
    moved = max(abs(v) for n, pts in sc["operating_points"].items() for p, pt in pts.items()
                for v in (pt["threshold"] - old["operating_points"][n][p]["threshold"],
                          *(a - b for a, b in zip(pt["review"], old["operating_points"][n][p]["review"]))))
    L += ["", f"The rule fixed before the re-run: keep 3.1.0's manifest if every threshold moves by less than 0.01 "
          f"(probability), otherwise ship the re-chosen points as a data-only release. The largest move is "
          f"{moved:.3f}: hence {m['version']}."]
    L += ["", "The test writers' numbers below (second look) are for **3.1.0's scorer and thresholds**; "
          f"{m['version']} was not scored on them.", ""]
    return L


def per_writer31(rows_file: Path) -> list[str]:
    from training.signatures.metrics import eer

    d = np.load(rows_file, allow_pickle=True)
    ws = np.unique(d["writer"])
    L = ["## Per-writer EER (second look, 5 references)", "",
         "| writer | " + " | ".join(str(int(w) % 1000) for w in ws) + " |", "|---|" + "---|" * len(ws)]
    for key, name in (("score30", "3.0.0"), ("score", "3.1.0")):
        L.append(f"| {name} | " + " | ".join(_p(eer(d["y"][d["writer"] == w], d[key][d["writer"] == w])[0], 0)
                                             for w in ws) + " |")
    L += ["", "(CEDAR writers first, then Bengali 71–80.) Pooled EER is higher than most writers' own EER: one "
          "threshold serves writers whose score levels differ. Next steps, measured in the candidates section: "
          "the per-customer classifier alone is about as good as the fused score at 5 references, so the gap to "
          "the targets is the embedding's; what was not tried for lack of CPU: fine-tuning the backbone's top "
          "blocks on both corpora, Lite1/Lite2.", ""]
    return L


def write_card31(path: Path, m: dict, res: dict, out: Path, timings: dict, repicked: bool) -> None:
    text = path.read_text(encoding="utf-8")
    from training.signatures import v32_card

    tail = ""   # the fine-tune section (v32_card's) is kept as it is, at the end
    if v32_card.BEGIN in text and v32_card.END in text:
        a, b = text.index(v32_card.BEGIN), text.index(v32_card.END) + len(v32_card.END)
        text, tail = text[:a] + text[b:], text[a:b]
    kept, pert = kept_30(text)
    bench_file = out / "bench31.json"
    bench = json.loads(bench_file.read_text()) if bench_file.is_file() else None
    L = head31(m, res, timings, repicked, bench)
    L += per_writer31(out / "test_rows5_31.npz")
    L += kept
    if pert:
        L += [pert, ""]
    body = "\n".join(L) + "\n" + render(out, shipped=True)
    path.write_text(body + ("\n" + tail + "\n" if tail else ""), encoding="utf-8")
