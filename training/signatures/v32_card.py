"""The card's section on the 3.2 candidate (fine-tuning the top block), rendered from ``results32.json``.

    python -m training.signatures.v32_card --run "TITLE|COMMAND|runs/sig32/pairs-e3/results32.json" [--run ...]

Replaces the text between ``<!-- finetune32:begin -->`` and ``<!-- finetune32:end -->`` in
``models/signature-verify/CARD.md`` (appended the first time). Every number comes from the results
file; the fold-0 sizing runs, which were stopped by hand for time and left only their logs, are
passed in as text (``--sizing``), and so is the short verdict (``--intro``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.pipeline.card import write_marked_section

BEGIN, END = "<!-- finetune32:begin -->", "<!-- finetune32:end -->"


def _pct(d: dict) -> str:
    return f"{100 * d['mean']:.1f} ± {100 * d['sd']:.1f}%"


def _diff(d: dict) -> str:
    n = len(d["folds"])
    return f"{100 * d['mean']:+.1f} ± {100 * d['sd']:.1f} points ({d['lower']} of {n} folds lower)"


def _table(res: dict) -> list[str]:
    cal = res["5"]["beta0.8"]["frozen"].get("calibration", "other folds")
    lines = [f"Folds scored: {', '.join(str(f) for f in res['folds_scored'])}; calibration: {cal}.", "",
             "| refs | score | corpus | 3.1.0 taps (frozen) | fine-tuned block7a | paired difference |",
             "|---|---|---|---|---|---|"]
    for n in ("5", "10"):
        if n not in res:
            continue
        for beta, name in (("beta0.0", "3.0 (β = 0)"), ("beta0.8", "3.1.0 (β = 0.8)")):
            t = res[n][beta]
            for c, cname in (("cedar", "CEDAR"), ("bengali", "Bengali")):
                lines.append(f"| {n} | {name} | {cname} | {_pct(t['frozen'][c])} | {_pct(t['finetuned'][c])} | "
                             f"{_diff(t['paired_finetuned_minus_frozen'][c])} |")
    lines.append("")
    p = res["5"]["beta0.8"]["paired_finetuned_minus_frozen"]
    verdict = "met" if res["ships"] else "not met"
    lines += [f"Ship rule (written in docs/training.md before measuring: lower CV EER at 5 references with 3.1.0's "
              f"score in both corpora, paired per fold, mean + sd < 0, all 5 folds): **{verdict}** — CEDAR "
              f"{_diff(p['cedar'])}, Bengali {_diff(p['bengali'])}.", ""]
    tr = res.get("training", [])
    if tr:
        cpu = sum(t["cpu_seconds"] for t in tr)
        wall = sum(t["seconds"] + t["embed_seconds"] for t in tr)
        loads = [round(t["load_average"][0], 1) for t in tr]
        lines += [f"Compute (one thread, `nice -n 10`, beside the skin fine-tune on the 2 shared cores): "
                  f"{len(tr)} folds × {tr[0]['config']['epochs']} epochs of ~{tr[0]['images']} images, "
                  f"{cpu:.0f} s of CPU in all ({cpu / len(tr) / 60:.1f} CPU-minutes per fold, training and the "
                  f"embedding of the 4,837 development canvases together), {wall:.0f} s wall (load average "
                  f"{min(loads)}–{max(loads)}); scoring {res.get('score_cpu_seconds', 0):.0f} s of CPU.", ""]
    return lines


def render(runs: list[tuple[str, str, dict]], sizing: str = "", intro: str = "") -> str:
    """``runs``: (title, command, results) per measured recipe, the first being the main one."""
    lines = [BEGIN, "## Fine-tuning the top block on both corpora (3.2 candidate): measured, not shipped", ""]
    lines += [
        "Issue 23's next step after 3.1.0: the trunk (input → `block6d_add`) stays ImageNet's and runs once per "
        "development canvas (cached); `block7a` (expand, depthwise, project — 1.16 M weights; BatchNorm frozen) is "
        "trained on both corpora with skilled forgeries as hard negatives: batches of 8 writers × 4 genuine + 4 "
        "forged signatures, for each genuine anchor a soft-max margin loss over its writer's other genuine "
        "signatures against every other signature of the batch, on the embedding the scorer uses (the taps after "
        "signed square root and L2, no head). The embedding keeps 3.x's taps: `block6d_add` 2×4 (unchanged by "
        "construction) and the fine-tuned `block7a_project_bn` 1×2; the whitening PCA is refitted on the training "
        "folds. Each outer fold of the 3.0 folds is scored by 3.1.0's scorer (λ = 0.5; β = 0 is 3.0's score, "
        "β = 0.8 the shipped per-customer classifier with ridge 1 and a cohort of 300 from the other folds; "
        "calibration fitted on the other folds' rows; 3 reference draws per writer, 3.1's seeds) against 3.1.0's "
        "frozen taps on the very same rows. No test writer was loaded, so there is no third look.", ""]
    if intro:
        lines += [intro, ""]
    if sizing:
        lines += [sizing, ""]
    for title, command, res in runs:
        lines += [f"### {title}", "", f"`{command}` (resumable: trained folds are cached)", ""]
        lines += _table(res)
    lines.append(END)
    return "\n".join(lines)


def write(card: Path, section: str) -> None:
    write_marked_section(card, section, BEGIN, END)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", action="append", required=True,
                    help="TITLE|COMMAND|results32.json (repeat; the first is the main recipe)")
    ap.add_argument("--card", default="models/signature-verify/CARD.md")
    ap.add_argument("--sizing", default="", help="a markdown file with the fold-0 sizing text")
    ap.add_argument("--intro", default="", help="a markdown file with text after the description")
    args = ap.parse_args(argv)
    runs = []
    for spec in args.run:
        title, command, path = spec.split("|")
        runs.append((title, command, json.loads(Path(path).read_text())))
    sizing = Path(args.sizing).read_text().strip() if args.sizing else ""
    intro = Path(args.intro).read_text().strip() if args.intro else ""
    write(Path(args.card), render(runs, sizing, intro))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
