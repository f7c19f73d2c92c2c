"""The card section of issue #23's pairwise registered-stroke channel study (from ``v33_pairwise``'s results).

    python -m training.signatures.v33_pairwise_card --out runs/sig33 [--card models/signature-verify/CARD.md]

Writes (or replaces) the section between ``<!-- pairwise33:begin -->`` and ``<!-- pairwise33:end -->``,
appended at the end of the card (after the other studies) the first time.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from training.pipeline.card import write_marked_section
from training.signatures import v33_pairwise as study
from training.signatures.v32_channel_card import _ms, _pc  # the channel study's cell formats

BEGIN, END = "<!-- pairwise33:begin -->", "<!-- pairwise33:end -->"
NS = ("1", "3", "5", "10")


def _pd(p: dict) -> str:
    return f"{100 * p['mean']:+.1f} ± {100 * p['sd']:.1f} ({p['lower_folds']}/5 lower)"


def _name(k: str) -> str:
    return ", ".join("γ " + p[1:] if re.fullmatch(r"g[0-9.]+", p) else p for p in k.split("|"))


def _rule_text() -> str:
    doc = study.__doc__
    body = doc[doc.index("SHIP RULE"):].split("\n\n")[0]
    return "\n".join("> " + ln.strip() for ln in body.splitlines())


def section(res: dict) -> str:
    base = res["configs"][study.BASE]
    r = res["rule"]
    L = [BEGIN, "## A pairwise, registered-stroke channel (issue #23, session 7): measured, "
         + ("the rule holds" if r["ship"] else "not shipped"), ""]
    L += ["Question: every channel so far describes each image on its own and compares descriptors by cosine. Does a "
          "*pairwise* similarity — the query registered onto each reference, then its strokes compared with the "
          "reference's — add what 3.2.0 misses (skilled forgeries copy the global layout but differ in local "
          "shape)? Protocol: 3.2.0's CV, unchanged (the same 5 writer-grouped folds of the 105 development writers, "
          "the same 3 reference draws per writer, 3.2.0's fused embedding and scorer: ridge 1.0, β = 0.8 from 5 "
          "references, λ = 0.5, calibration on the other folds' rows, trimmed mean). **The test writers were not "
          "loaded** (their pair features were never computed); there are no fresh test writers, so none of this "
          "is a test.", ""]
    L += ["Channel (`training/signatures/v33_pairs.py`, numpy + Pillow, the app's registration code): the query "
          "put onto the reference by `pose` (gyration-ratio scale, FFT translation on quarter-resolution dilated "
          "inks) or `grid9` (3 scales × 3 rotations, then the same); then `corr` (the correlation of the dilated "
          "coarse inks at the optimum), `cov2` (symmetric share of ink within 2 px of the other's ink) or `chamfer` "
          "(minus the symmetric chamfer distance truncated at 5 px). The app's own full overlay registration "
          "(7 scales × 5 rotations + a full-resolution pass, ~11 ms per pair) was not a candidate: five of them "
          "per query are over #28's per-query budget by themselves. Fusion at score level, per reference: "
          "s_i = cos_i + γ·p_i/u (u: the feature's sd over all development pairs, no labels), before the λ shift "
          "and the calibration, so each per-reference score stays σ(a·s_i + b) and the overall score their "
          "trimmed mean (coherent by construction).", ""]
    L += ["The rule, fixed before any number of the study was computed (in `training/signatures/v33_pairwise.py`, "
          "committed first):", "", _rule_text(), ""]
    cost = res["pair_ms"]
    L += [f"**Cost per pair** (one thread, CPU, median of 3 × 200 development pairs, the reference's side cached): "
          + ", ".join(f"`{v}` {ms:.2f} ms" for v, ms in cost.items())
          + f"; five references: +{5 * min(cost.values()):.1f} to +{5 * max(cost.values()):.1f} ms per query on "
            f"3.2.0's {study.COST_BASE_MS} ms (the limit is {study.COST_LIMIT_MS:.0f} ms).", ""]
    L += ["**Alone** (mean of the pair feature over the references, no embedding, 5 references; CEDAR / Bengali): "
          + "; ".join(f"{_name(k)} {_ms(v['cedar'])} / {_ms(v['bengali'])}" for k, v in res["alone"].items())
          + f" (3.2.0: {_ms(base['5']['cedar'])} / {_ms(base['5']['bengali'])}).", ""]
    gammas = study.GAMMAS
    L += ["### CV EER at 5 references, fused with 3.2.0 (mean over the folds, CEDAR / Bengali)", "",
          f"3.2.0 on these rows: {_ms(base['5']['cedar'])} / {_ms(base['5']['bengali'])}.", "",
          "| channel | " + " | ".join(f"γ {g}" for g in gammas) + " |", "|---|" + "---|" * len(gammas)]
    keys = sorted({k.rsplit("|", 1)[0] for k in res["configs"] if k != study.BASE},
                  key=lambda k: list(res["configs"]).index(f"{k}|g{gammas[0]}"))
    for k in keys:
        L.append(f"| {_name(k)} | " + " | ".join(
            f"{_pc(res['configs'][f'{k}|g{g}']['5']['cedar']['mean'])} / "
            f"{_pc(res['configs'][f'{k}|g{g}']['5']['bengali']['mean'])}" for g in gammas) + " |")
    nst = res["nested"]
    L += ["", "### Nested choice ((variant, feature, γ) or 3.2.0 itself chosen on four folds, the fifth scored)", "",
          f"Picks per outer fold: {'; '.join(_name(k) for k in nst['picks'])}; the plain 5-fold CV picks "
          f"{_name(res['plain_pick'])}.", "",
          "| refs | CEDAR nested | Bengali nested | 3.2.0 CEDAR | 3.2.0 Bengali | paired CEDAR (points) | "
          "paired Bengali (points) |", "|---|---|---|---|---|---|---|"]
    for n in NS:
        p = nst["paired_vs_base"][n]
        L.append(f"| {n} | {_ms(nst[n]['cedar'])} | {_ms(nst[n]['bengali'])} | {_ms(base[n]['cedar'])} | "
                 f"{_ms(base[n]['bengali'])} | {_pd(p['cedar'])} | {_pd(p['bengali'])} |")
    yn = lambda b: "**yes**" if b else "**no**"  # noqa: E731
    L += ["", f"**The rule, applied.** (a) CEDAR at 5 references, mean + sd of the paired differences < 0: "
          f"{yn(r['a_cedar_lower_at_5'])} ({_pd(r['paired_5']['cedar'])} points); (b) Bengali at 5 not worse beyond "
          f"its spread: {yn(r['b_bengali_not_worse_at_5'])} ({_pd(r['paired_5']['bengali'])}); (c) neither worse at "
          f"10 beyond the spread: {yn(r['c_not_worse_at_10'])} (CEDAR {_pd(r['paired_10']['cedar'])}, Bengali "
          f"{_pd(r['paired_10']['bengali'])}); (d) cost: "
          + (f"{yn(r['d_cost'])} ({r['pair_ms']:.2f} ms per pair → predicted warm query "
             f"{r['predicted_warm_ms']:.1f} ms)" if r["pair_ms"] is not None else "— (no channel picked)") + ".", ""]
    L += [f"Time: {res['seconds']:.0f} s wall, {res['cpu_seconds']:.0f} s CPU (load average "
          f"{res['load_average'][0]:.1f}), one thread at `nice -n 10`, after the pair features were cached "
          f"({res.get('pairs_note', 'see docs/training.md')}). Command: "
          "`python -m training.signatures.v33_pairwise --out runs/sig33 --study runs/sig3`.", ""]
    L += [res.get("decision_note", ""), END]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig33")
    ap.add_argument("--results", default="pairwise-results.json")
    ap.add_argument("--card", default="models/signature-verify/CARD.md")
    ap.add_argument("--pairs-note", default="", help="how long the pair-feature cache took (a sentence)")
    ap.add_argument("--decision", default="", help="the decision paragraph (words)")
    args = ap.parse_args(argv)
    res = json.loads((Path(args.out) / args.results).read_text())
    if args.pairs_note:
        res["pairs_note"] = args.pairs_note
    res["decision_note"] = args.decision
    text = section(res)
    card = Path(args.card)
    write_marked_section(card, text, BEGIN, END)
    print(f"{card}: pairwise section written ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
