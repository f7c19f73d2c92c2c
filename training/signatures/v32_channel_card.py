"""The card section of issue #23's hand-crafted channel study (from ``v32_channel``'s results).

    python -m training.signatures.v32_channel_card --out runs/sig3 [--card models/signature-verify/CARD.md]

Writes (or replaces) the section between ``<!-- channel32:begin -->`` and ``<!-- channel32:end -->``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.pipeline.card import write_marked_section
from training.signatures import v32_channel

BEGIN, END = "<!-- channel32:begin -->", "<!-- channel32:end -->"
NS = ("1", "3", "5", "10")


def _pc(v: float) -> str:
    return f"{100 * v:.1f}"


def _ms(s: dict) -> str:
    return f"{_pc(s['mean'])} ± {_pc(s['sd'])}%"


def _pd(p: dict) -> str:
    return f"{100 * p['mean']:+.1f} ± {100 * p['sd']:.1f} ({p['lower_folds']}/5)"


def _name(k: str) -> str:
    """A candidate key ("lbp|w0.5|pca64") as a table cell ("lbp, w 0.5, pca64"): no pipes in tables."""
    return ", ".join(p.replace("w", "w ", 1) if p.startswith("w") else p for p in k.split("|"))


def _rule_text() -> str:
    doc = v32_channel.__doc__
    body = doc[doc.index("SHIP RULE"):].split("\n\n")[0]
    return "\n".join("> " + ln.strip() for ln in body.splitlines())


def _points_section(train: dict, base31: dict | None) -> list[str]:
    """The fused candidate's scorer choices and CV operating points (standard point), 3.1.1's beside."""
    ch = train["chosen"]
    L = [f"### The candidate's scorer and operating points by the same CV (`v32_channel_train`)", "",
         f"Re-chosen on the fused embedding by 3.1.1's steps: ridge {ch['ridge']}, β = {ch['beta']} (nested picks at "
         f"5 references: {', '.join(f'({a}, {b})' for a, b in train['nested']['5']['chosen'])}), the classifier from "
         f"{ch['min_references']} references on; nested EER at 5 references CEDAR "
         f"{_ms(train['nested']['5']['cedar'])}, Bengali {_ms(train['nested']['5']['bengali'])}; at 10 "
         f"{_ms(train['nested']['10']['cedar'])} / {_ms(train['nested']['10']['bengali'])}. Standard point (EER "
         "threshold, review band by 3.0's rule), each fold's point chosen on the other four; mean ± sd over the "
         "folds" + ("; 3.1.1's CV (corrected cohort) beside." if base31 else "."), "",
         "| refs | corpus | | EER | accuracy @ thr | FAR (skilled) | FRR | review (all / genuine) | accuracy on decided |",
         "|---|---|---|---|---|---|---|---|---|"]
    rows = [("candidate", train)] + ([("3.1.1", base31)] if base31 else [])
    for n in NS:
        for c, cname in (("cedar", "CEDAR"), ("bengali", "Bengali")):
            for label, src in rows:
                m = src["cv_operating_points"][n][c]
                L.append(f"| {n} | {cname} | {label} | {_ms(m['eer'])} | {_ms(m['accuracy'])} | {_ms(m['far'])} | "
                         f"{_ms(m['frr'])} | {_ms(m['review_rate'])} / {_ms(m['review_rate_genuine'])} | "
                         f"{_ms(m['accuracy_decided'])} |")
    L += ["", f"Time: {train['seconds']:.0f} s wall, {train['cpu_seconds']:.0f} s CPU (load average "
          f"{train['load_average'][0]:.1f}). Command: `python -m training.signatures.v32_channel_train --out runs/sig3`.",
          ""]
    return L


def section(res: dict, cost: dict | None, first: dict | None, train: dict | None = None,
            base31: dict | None = None) -> str:
    base = res["configs"][v32_channel.BASE]
    L = [BEGIN, "## A hand-crafted second channel (issue #23, session 6): measured, 3.2.0 not yet built", ""]
    L += ["Question: does a hand-crafted descriptor computed on the *same* normalised canvas add what the frozen "
          "ImageNet taps miss? Protocol: 3.1.1's, unchanged — the same 5 writer-grouped folds of the 105 development "
          "writers, the same 3 reference draws per writer, 3.1.1's scorer (cosine per reference, λ = 0.5, the "
          "per-customer RLS-RBF classifier with ridge 0.3 and β = 3.2 from 5 references on, a cohort of 300 genuine "
          "signatures of the other folds' development writers, calibration fitted on the other folds' rows, trimmed "
          "mean). Each channel's whitening PCA is fitted on the other folds, like the CNN embedding's. Fusion: "
          "e = [√w·u_cnn, √(1−w)·u_channel] of the two unit whitened embeddings, so the cosine is "
          "w·cos_cnn + (1−w)·cos_channel and the classifier sees both; w = 0 is the channel alone. "
          "**The test writers (CEDAR 36–45, Bengali 71–80) were not scored**: their hand-crafted features were never "
          "computed. There are no fresh test writers left: the independent evaluation is the only test.", ""]
    L += ["Channels (`training/signatures/handcrafted.py`; each block signed-square-rooted and L2'd like the taps): "
          "`hog8` oriented gradient energy (Sobel, ReLU of the projection on 8 signed directions) on 2×4 + 4×8 grids, "
          "`hog8-fine` 2×4 + 6×12, `hog12` 12 directions on 2×4 + 4×8, `lbp` uniform 8-neighbour binary patterns "
          "of the binary canvas (57 non-flat uniform + 1 non-uniform bin) on 1×1 + 2×4, `ink` ink density 8×16 + "
          "row/column projection profiles, `all` = hog8 + lbp + ink. `|pcaK`: the channel whitened to K dims "
          "instead of 256 (added after the first run, for the bundle's 0.3 MB of headroom; in the nested choice "
          "below with every other candidate).", ""]
    L += ["The rule, fixed before any number of the study was computed (in `training/signatures/v32_channel.py`, "
          "committed first):", "", _rule_text(), ""]
    L += ["### CV EER at 5 references (mean ± sd over the 5 folds; paired: candidate − 3.1.1 per fold, mean ± sd, "
          "folds lower)", "", "| candidate | CEDAR | Bengali | paired CEDAR (points) | paired Bengali (points) |",
          "|---|---|---|---|---|"]
    for name, c in res["configs"].items():
        p = c.get("paired_vs_base", {}).get("5")
        L.append(f"| {_name(name)} | {_ms(c['5']['cedar'])} | {_ms(c['5']['bengali'])} | "
                 f"{_pd(p['cedar']) if p else '—'} | {_pd(p['bengali']) if p else '—'} |")
    L += ["", "### CV EER by number of references (mean over the folds, CEDAR / Bengali)", "",
          "| candidate | 1 | 3 | 5 | 10 |", "|---|---|---|---|---|"]
    for name, c in res["configs"].items():
        L.append(f"| {_name(name)} | " + " | ".join(f"{_pc(c[n]['cedar']['mean'])} / {_pc(c[n]['bengali']['mean'])}%"
                                              for n in NS) + " |")
    nst = res["nested"]
    L += ["", f"### Nested choice (channel, w, PCA size chosen on four folds, the fifth scored)", "",
          f"Picks per outer fold: {'; '.join(_name(k) for k in nst['picks'])}; the plain 5-fold CV picks "
          f"{_name(res['plain_pick'])}.", "",
          "| refs | CEDAR nested | Bengali nested | 3.1.1 CEDAR | 3.1.1 Bengali | paired CEDAR (points) | "
          "paired Bengali (points) |", "|---|---|---|---|---|---|---|"]
    for n in NS:
        p = nst["paired_vs_base"][n]
        L.append(f"| {n} | {_ms(nst[n]['cedar'])} | {_ms(nst[n]['bengali'])} | {_ms(base[n]['cedar'])} | "
                 f"{_ms(base[n]['bengali'])} | {_pd(p['cedar'])} | {_pd(p['bengali'])} |")
    r = res["rule"]
    L += ["", "**The rule, applied.** (a) lower at 5 references in both corpora, beyond the paired spread in at least "
          f"one: **{'yes' if r['a_lower_at_5'] else 'no'}** (CEDAR {_pd(r['paired_5']['cedar'])}, Bengali "
          f"{_pd(r['paired_5']['bengali'])} points); (b) not higher at 10 references beyond the spread: "
          f"**{'yes' if r['b_not_worse_at_10'] else 'no'}** (CEDAR {_pd(r['paired_10']['cedar'])}, Bengali "
          f"{_pd(r['paired_10']['bengali'])}); (c) cost ≤ +10 ms per query: "]
    if cost:
        L[-1] += (f"**{'yes' if cost['added_ms'] <= 10 else 'no'}** — spliced into the shipped `model.onnx` "
                  f"(`v32_channel_onnx`, whitening {cost['pca']} dims, w = {cost['weight']}), one thread, CPU time "
                  f"per image {cost['ms_per_image']['shipped']['median_cpu']:.1f} → "
                  f"{cost['ms_per_image']['with_channel']['median_cpu']:.1f} ms (median; "
                  f"{cost['added_ms']:+.1f} ms; load average {cost['load_average'][0]:.1f}); model.onnx "
                  f"{cost['model_bytes']['shipped'] / 1e6:.2f} → {cost['model_bytes']['with_channel'] / 1e6:.2f} MB; "
                  f"the graph's channel against the numpy features: min cosine "
                  f"{cost['parity_min_cosine_channel']:.6f}.")
    else:
        L[-1] += "not measured in the graph."
    beyond = [c for c in ("cedar", "bengali") if r["paired_5"][c]["mean"] < -r["paired_5"][c]["sd"]]
    names = {"cedar": "CEDAR", "bengali": "Bengali"}
    L += ["", f"At 5 references the gain is beyond the paired fold spread in "
          f"{' and '.join(names[c] for c in beyond) if beyond else 'neither corpus'}. "
          "The nested choice accounts for picking w and the channel on the same folds; it does not account for "
          "the PCA-size variants having been added after the first run was seen (below), so it is slightly "
          "optimistic. Against the issue's targets on unseen writers (EER ≤ 3% CEDAR, ≤ 5% Bengali): CEDAR "
          f"{_ms(nst['5']['cedar'])} is still far off; Bengali {_ms(nst['5']['bengali'])} is at the target in CV, "
          "with a fold sd of that size.", ""]
    pr = res.get("confound_probe")
    if pr:
        L += ["**Is it the pen?** LBP on a binary canvas sees stroke edges, so it could pick up a pen or scan cue "
              "(stroke width) rather than the hand. A score that sees only the stroke width (2·ink area / edge "
              f"pixels), |query − references' median|, gives CV EER {_ms(pr['stroke_width']['cedar'])} (CEDAR) and "
              f"{_ms(pr['stroke_width']['bengali'])} (Bengali) at 5 references; the ink fraction alone "
              f"{_ms(pr['ink_fraction']['cedar'])} / {_ms(pr['ink_fraction']['bengali'])} (50% = chance). The pen "
              "carries some signal in Bengali, far less than the LBP channel alone does "
              "(see its w = 0 rows); whether the LBP gain holds on another scanner or pen is not testable here.", ""]
    if first:
        L += [f"First run (256-dim channels only, before the PCA-size variants): nested picks "
              f"{'; '.join(_name(k) for k in first['nested']['picks'])}; nested EER at 5 references CEDAR "
              f"{_ms(first['nested']['5']['cedar'])}, Bengali {_ms(first['nested']['5']['bengali'])}.", ""]
    L += [f"Time: {res['seconds']:.0f} s wall, {res['cpu_seconds']:.0f} s CPU (load average "
          f"{res['load_average'][0]:.1f}), one thread; the hand-crafted features of the 4,837 development canvases "
          "once, cached. Command: `python -m training.signatures.v32_channel --out runs/sig3 --extra lbp:128,lbp:64`; "
          "cost: `python -m training.signatures.v32_channel_onnx --out runs/sig3 --pca 64 --weight 0.5`.", ""]
    if train:
        L += _points_section(train, base31)
    ok = r["a_lower_at_5"] and r["b_not_worse_at_10"] and bool(cost) and cost["added_ms"] <= 10
    L += [f"**Decision: {'the rule holds' if ok else 'the rule does not hold'}"
          f"{' — 3.2.0 is to be built from ' + _name(res['plain_pick']) if ok else '; 3.1.1 stays'}. 3.1.1 stays shipped "
          "until 3.2.0 is built.** Building it needs (next session): the channel's whitening refitted on all "
          "development writers and spliced into `model.onnx` (done and timed under runs/, not in the pack), the "
          "cohort re-embedded by the new graph, the manifest from the choices and points above (`channel-train.json`; "
          "the study itself kept 3.1.1's ridge 0.3, β = 3.2), the domain check's limits re-checked, self-test "
          "samples not drawn from the test writers, this card's headline tables, and the bundle size (0.3 MB of "
          "headroom). No "
          "test writer was scored for it (a score there would be a third look, not a test): the independent "
          "evaluation is its only test.",
          END]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--results", default="channel-final.json")
    ap.add_argument("--first", default="channel-results.json")
    ap.add_argument("--cost", default="channel-onnx-cost-pca64.json")
    ap.add_argument("--card", default="models/signature-verify/CARD.md")
    ap.add_argument("--train", default="channel-train.json")
    ap.add_argument("--base31", default="results31.json", help="3.1.1's CV (v31_train, corrected cohort)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    res = json.loads((out / args.results).read_text())
    cost = json.loads((out / args.cost).read_text()) if (out / args.cost).is_file() else None
    first = json.loads((out / args.first).read_text()) if (out / args.first).is_file() else None
    train = json.loads((out / args.train).read_text()) if (out / args.train).is_file() else None
    base31 = json.loads((out / args.base31).read_text()) if (out / args.base31).is_file() else None
    text = section(res, cost, first, train, base31)
    card = Path(args.card)
    write_marked_section(card, text, BEGIN, END)
    print(f"{card}: channel section written ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
