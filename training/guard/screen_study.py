"""``python -m training.guard.screen_study``: measure a squeeze *screen* for a pack's guard (issue 28).

A pack whose guard has a ``squeeze`` detector classifies a median-filtered copy of every image. A
screen (the manifest's ``guard.screen`` with ``score: median_residual``) lets only the images whose
median residual (:func:`inference.guard.median_residual`: mean |image − its 3×3 median|, the filter the
squeezer runs anyway) is above a threshold through that second run. This command measures what that
costs in detection:

1. ``study``: clean images of a labelled folder (``labels.csv`` with ``file`` and ``label``) and
   their attacked copies (FGSM, BIM, the grey FGSM of ``python -m training guard``) made against the
   pack's ONNX graph replayed as TensorFlow ops (:mod:`training.guard.onnx_tf`, logit parity checked),
   each through the app's :class:`~inference.inspector.Inspector` with the guard *unscreened*; per
   image: the answer, the guard's reasons, and the median residual. Saved as an ``.npz``.
2. ``table``: detection per attack with and without a screen at a threshold (or a sweep of
   thresholds at clean pass rates), from those files: a screen only removes squeeze flags, so the
   screened guard's verdicts follow from the unscreened ones and the residual.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

PLAN = {"grey2": (2, 1, True), "grey4": (4, 1, True), "FGSM1": (1, 1, False), "FGSM2": (2, 1, False),
        "FGSM4": (4, 1, False), "FGSM8": (8, 1, False), "BIM2": (2, 5, False)}



def attacked_sets(kp, x: np.ndarray, y: np.ndarray, conds: list[str], plan: dict, save: dict):
    """Yield (condition, uint8 images) for the clean images ("clean0") and each attack in ``conds``
    (``plan[cond]`` = (ε × 255, steps, grey)) made against ``kp``, skipping those already in ``save``
    (a study resumed from its .npz). Shared by this study and training.guard.squeeze_study."""
    from training.guard import attacks

    for cond in ["clean0"] + list(conds):
        if f"{cond}/label" in save:
            continue
        if cond == "clean0":
            xa = x
        else:
            e, steps, grey = plan[cond]
            xa = attacks.quantize01(attacks.fgsm(kp, x, y, e / 255.0, steps=steps, grey=grey), x, e / 255.0)
        yield cond, np.clip(np.round(xa * 255.0), 0, 255).astype(np.uint8)

def study(args: argparse.Namespace) -> None:
    from inference.guard import median_residual, median_u8
    from training.guard.common import _inspector
    from training.guard.keras_pack import fitted01
    from training.guard.recalibrate_cmd import load_attack_model

    folder = Path(args.data)
    rows = list(csv.DictReader(open(folder / "labels.csv", newline="", encoding="utf-8")))
    rng = np.random.default_rng(args.seed)
    rows = [rows[i] for i in sorted(rng.choice(len(rows), min(args.n, len(rows)), replace=False))]
    insp = _inspector(Path(args.models_dir) / args.pack, use_guard=True)
    # Unscreened (every image squeezed), and no reformer: the verdicts do not depend on it, and the
    # second answers are not measured here (a third classifier run per flagged image saved).
    insp.guard.policy = replace(insp.guard.policy, screen=None, reform=False)
    names = list(insp.manifest.class_names)
    y = np.array([names.index(r["label"]) for r in rows])
    x = fitted01([folder / r["file"] for r in rows], insp.manifest.input)
    kp, gap = load_attack_model(args.pack, Path(args.models_dir), None, x[:16])
    print(f"attacks against {kp.source} (logit parity {gap})", flush=True)
    save = dict(np.load(args.out)) if os.path.exists(args.out) else {"y": y}
    assert np.array_equal(save["y"], y), "another image set is in --out"
    t0 = time.time()
    for cond, u8 in attacked_sets(kp, x, y, [a for a in args.attacks.split(",") if a], PLAN, save):
        out = {"label": [], "flagged": [], "reasons": []}
        for it in insp.classify_batch(list(u8), batch_size=16):
            r, g = it.result, it.result.guard
            out["label"].append(names.index(r.model_label or r.label))
            out["flagged"].append(bool(g and g.flagged))
            out["reasons"].append("|".join(q.split(":", 1)[0] for q in (g.reasons if g else ())))
        out = {k: np.array(v) for k, v in out.items()}
        med = median_u8(u8, 3)
        out["med_mean"], out["med_pmin"] = median_residual(u8, med), median_residual(u8, med, "patch_min", 16)
        save.update({f"{cond}/{k}": v for k, v in out.items()})
        np.savez(args.out, **save)
        print(f"{cond}: accuracy {(out['label'] == y).mean():.3f}, flagged {out['flagged'].mean():.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)


STAT = "med_pmin"  # the screen's statistic: the median residual's floor over 16-px tiles ("med_mean": mean)


def screened(d: dict, cond: str, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(flagged with the screen, screened-in) for one condition of a study file."""
    reasons = [set(r.split("|")) - {""} for r in d[f"{cond}/reasons"]]
    gate = d[f"{cond}/{STAT}"] > threshold
    return np.array([bool(rs - {"squeeze"}) or ("squeeze" in rs and g) for rs, g in zip(reasons, gate)]), gate


def rows(path: str, threshold: float) -> list[dict]:
    d = dict(np.load(path))
    y = d["y"]
    ok = d["clean0/label"] == y
    out = []
    for cond in sorted({k.split("/")[0] for k in d if "/" in k}, key=lambda c: (c != "clean0", c)):
        flagged, gate = screened(d, cond, threshold)
        base = d[f"{cond}/flagged"]
        r = {"images": "clean" if cond == "clean0" else cond, "n": int(len(y)), "squeezed": round(float(gate.mean()), 4),
             "flagged_unscreened": round(float(base.mean()), 4), "flagged_screened": round(float(flagged.mean()), 4)}
        if cond != "clean0":
            succ = ok & (d[f"{cond}/label"] != y)
            r.update(successful=int(succ.sum()), detected_unscreened=int((base & succ).sum()),
                     detected_screened=int((flagged & succ).sum()))
        out.append(r)
    return out


def table(args: argparse.Namespace) -> None:
    for path in args.files:
        d = dict(np.load(path))
        clean = d[f"clean0/{STAT}"]
        thresholds = [args.threshold] if args.threshold is not None else \
            [float(np.quantile(clean, q)) for q in np.linspace(0.0, 0.6, 25)]
        print(f"== {path}: clean median residual quantiles 10/50/90%: {np.round(np.quantile(clean, [.1, .5, .9]), 5)}")
        for t in thresholds:
            rs = rows(path, t)
            drops = [100 * (r["detected_unscreened"] - r["detected_screened"]) / max(1, r["successful"]) for r in rs[1:]]
            print(f"  threshold {t:.5f}: squeezed {100 * rs[0]['squeezed']:.1f}% of clean, clean flags "
                  f"{100 * rs[0]['flagged_unscreened']:.1f}% -> {100 * rs[0]['flagged_screened']:.1f}%, worst drop "
                  f"{max(drops, default=0):.1f} pts; " + "  ".join(
                      f"{r['images']} {r['detected_unscreened']}->{r['detected_screened']}/{r['successful']}" for r in rs[1:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.guard.screen_study", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("study")
    s.add_argument("--pack", default="seal-integrity")
    s.add_argument("--models-dir", default="models")
    s.add_argument("--data", required=True, help="folder with labels.csv (file, label)")
    s.add_argument("--n", type=int, default=300)
    s.add_argument("--seed", type=int, default=1234)
    s.add_argument("--attacks", default="grey2,grey4,FGSM1,FGSM2,FGSM4,FGSM8,BIM2")
    s.add_argument("--out", required=True, help=".npz (resumed when it exists)")
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    t.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args(argv)
    study(args) if args.cmd == "study" else table(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
