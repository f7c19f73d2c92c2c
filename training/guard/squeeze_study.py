"""``python -m training.guard.squeeze_study``: would a squeeze detector behind the median-residual
screen win back a noise-only guard's detection of colourless ("grey") attacks? (issue 24, skin packs.)

A noise-only guard (the skin packs) sees colour noise; the grey FGSM puts the same step on R, G and B
and slips under it. Feature squeezing (a 3×3 median, :mod:`inference.guard_squeeze`) is
colour-blind, but it costs a second classifier run, which the median-residual screen
(``guard.screen``, ``score: median_residual``) limits to photos whose residual floor is high.

1. ``study``: for one side of the pack's lesion split (``validation`` or ``test``) and one rendition
   (``own``: the pack's own data; or a ``NAME=CSV[,GROUP]`` copy of the same lesions, as
   ``python -m training guard --rendition``), clean images and attacked copies (grey FGSM 2 and
   4/255, colour FGSM 2/255, BIM 2/255 × 5 steps) made against the pack's graph; per image: the
   app's answer, the shipped guard's noise score, the *unscreened* median-3 squeeze score and the
   median-residual floor. Saved as an ``.npz`` (resumed).
2. ``choose``: from validation files only, the screen threshold (at most ``--pass-rate`` of clean
   photos screened in, in every file), the squeeze threshold (the screened squeeze alone flags at
   most ``--squeeze-rate`` of clean photos in every file) and the detection table, noise-only vs
   noise + screened squeeze. Written as JSON.
3. ``score``: the same table at fixed thresholds (the test side, scored once).

The ship rule (fixed before any measurement, runs/sg/PLAN.md, 2026-12-07 18:53 UTC): a pack gets
the squeeze detector only if, on validation, in both renditions, grey 2/255 and 4/255 detection
rises by ≥ 10 points, colour FGSM/BIM 2/255 stay at 100%, clean false flags stay ≤ 6% and ≤ 10% of
clean photos pass the screen.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ATTACKS = {"grey2": (2, 1, True), "grey4": (4, 1, True), "FGSM2": (2, 1, False), "BIM2": (2, 5, False)}


def _paths(args: argparse.Namespace, names: list[str]) -> tuple[list[Path], np.ndarray]:
    from training.guard.recalibrate_cmd import own_rendition, pack_split, rendition_sets

    split, _ = pack_split(args.pack, None, None)
    side = {"validation": "val", "test": "test"}[args.side]
    index = {n: i for i, n in enumerate(names)}
    if args.rendition == "own":
        items = own_rendition(split[side])
        return [Path(s.path) for s in items], np.array([index[s.label] for s in items])
    # Validation labels of a rendition come from the split (rendition_sets gives test labels only).
    spec = args.rendition.split(",")
    ns = argparse.Namespace(group_column=spec[1] if len(spec) > 1 else "lesion_id", path_column="file")
    _, val, test, y_test = rendition_sets(spec[0], split, names, args.label_column, ns)
    if side == "test":
        return test, y_test
    label_of = {s.group: s.label for s in split["val"]}
    import csv

    csv_path = Path(spec[0].split("=", 1)[1])
    groups = {str(csv_path.parent / r["file"]): r[ns.group_column]
              for r in csv.DictReader(open(csv_path, newline="", encoding="utf-8"))}
    return val, np.array([index[label_of[groups[str(p)]]] for p in val])


def squeeze_policy(policy, squeeze_threshold: float = 1.0, screen: float | None = None, rate: float = 0.0):
    """The pack's policy with a median-3 squeeze detector added (and the median-residual screen)."""
    from inference.guard import DetectorSpec

    sq = DetectorSpec("squeeze", float(squeeze_threshold), float(rate), {"squeezers": [{"kind": "median", "size": 3}]})
    dets = tuple(d for d in policy.detectors if d.name != "squeeze") + (sq,)
    return replace(policy, detectors=dets, screen=screen, screen_score="median_residual", screen_size=3,
                   screen_aggregate="patch_min", screen_patch=16)


def study(args: argparse.Namespace) -> None:
    from inference.guard import median_residual, median_u8, pixels_to_tensor
    from training.guard import attacks
    from training.guard.common import _inspector
    from training.guard.keras_pack import fitted01
    from training.guard.recalibrate_cmd import load_attack_model

    insp = _inspector(Path(args.models_dir) / args.pack, use_guard=True)
    insp.guard.policy = replace(insp.guard.policy, reform=False)
    shipped = insp.guard.policy
    names = list(insp.manifest.class_names)
    paths, y = _paths(args, names)
    rng = np.random.default_rng(args.seed)
    keep = np.sort(rng.choice(len(paths), min(args.n, len(paths)), replace=False))
    paths, y = [paths[i] for i in keep], y[keep]
    spec = insp.manifest.input
    x = fitted01(paths, spec)
    kp, gap = load_attack_model(args.pack, Path(args.models_dir), None, x[:16])
    print(f"{args.pack} {args.side} {args.rendition.split('=')[0]}: {len(y)} images; attacks against {kp.source} "
          f"(logit parity {gap})", flush=True)
    save = dict(np.load(args.out)) if os.path.exists(args.out) else {"y": y}
    assert np.array_equal(save["y"], y), "another image set is in --out"
    t0 = time.time()
    for cond in ["clean0"] + [a for a in args.attacks.split(",") if a]:
        if f"{cond}/label" in save:
            continue
        if cond == "clean0":
            xa = x
        else:
            e, steps, grey = ATTACKS[cond]
            xa = attacks.quantize01(attacks.fgsm(kp, x, y, e / 255.0, steps=steps, grey=grey), x, e / 255.0)
        u8 = np.clip(np.round(xa * 255.0), 0, 255).astype(np.uint8)
        out = {"label": [], "noise_flag": []}
        insp.guard.policy = shipped
        for it in insp.classify_batch(list(u8), batch_size=16):
            r, g = it.result, it.result.guard
            out["label"].append(names.index(r.model_label or r.label))
            out["noise_flag"].append(bool(g and g.flagged))
        insp.guard.policy = squeeze_policy(shipped)  # unscreened: every image squeezed
        scores = {"noise": [], "squeeze": []}
        for s in range(0, len(u8), 16):
            t = pixels_to_tensor(u8[s:s + 16].astype(np.float32) / 255.0, spec)
            sc, _ = insp.guard.scores(t, insp.guard.classify(t), screen=False)
            for k in scores:
                scores[k].append(sc[k])
        insp.guard.policy = shipped
        out = {k: np.array(v) for k, v in out.items()}
        out.update({k: np.concatenate(v) for k, v in scores.items()})
        out["floor"] = median_residual(u8, median_u8(u8, 3), "patch_min", 16)
        save.update({f"{cond}/{k}": v for k, v in out.items()})
        np.savez(args.out, **save)
        print(f"  {cond}: accuracy {(out['label'] == y).mean():.3f}, noise flags {out['noise_flag'].mean():.3f}, "
              f"squeeze median {np.median(out['squeeze']):.3g}, floor median {np.median(out['floor']):.4g} "
              f"({time.time() - t0:.0f} s)", flush=True)


def table(d: dict, screen: float, squeeze: float) -> dict:
    """Per condition: clean flags / screen pass, or detection of successful attacks, both policies."""
    y = d["y"]
    ok = d["clean0/label"] == y
    out = {}
    for cond in sorted({k.split("/")[0] for k in d if "/" in k}, key=lambda c: (c != "clean0", c)):
        noise = d[f"{cond}/noise_flag"].astype(bool)
        gate = d[f"{cond}/floor"] > screen
        both = noise | (gate & (d[f"{cond}/squeeze"] > squeeze))
        r = {"n": int(len(y)), "screened_in": round(float(gate.mean()), 4)}
        if cond == "clean0":
            r.update(accuracy=round(float(ok.mean()), 4), flagged_noise=round(float(noise.mean()), 4),
                     flagged_with_squeeze=round(float(both.mean()), 4))
        else:
            succ = ok & (d[f"{cond}/label"] != y)
            m = max(1, int(succ.sum()))
            r.update(successful=int(succ.sum()), detected_noise=round(float((noise & succ).sum() / m), 4),
                     detected_with_squeeze=round(float((both & succ).sum() / m), 4),
                     successful_screened_in=round(float((gate & succ).sum() / m), 4))
        out[cond] = r
    return out


def choose(args: argparse.Namespace) -> None:
    files = {Path(f).stem: dict(np.load(f)) for f in args.files}
    screen = max(float(np.quantile(d["clean0/floor"], 1 - args.pass_rate, method="higher")) for d in files.values())
    # The smallest squeeze threshold at which, behind that screen, the squeeze alone flags at most
    # --squeeze-rate of every file's clean photos.
    cands = np.unique(np.concatenate([d["clean0/squeeze"][d["clean0/floor"] > screen] for d in files.values()] + [[0.0]]))
    sq = next(float(t) for t in cands if all(
        np.mean((d["clean0/floor"] > screen) & (d["clean0/squeeze"] > t)) <= args.squeeze_rate for d in files.values()))
    res = {"screen_threshold": screen, "squeeze_threshold": sq, "pass_rate": args.pass_rate,
           "squeeze_rate": args.squeeze_rate, "tables": {k: table(d, screen, sq) for k, d in files.items()}}
    Path(args.out).write_text(json.dumps(res, indent=1))
    _print(res)


def score(args: argparse.Namespace) -> None:
    res = {"screen_threshold": args.screen, "squeeze_threshold": args.squeeze,
           "tables": {Path(f).stem: table(dict(np.load(f)), args.screen, args.squeeze) for f in args.files}}
    Path(args.out).write_text(json.dumps(res, indent=1))
    _print(res)


def _print(res: dict) -> None:
    print(f"screen > {res['screen_threshold']:.5f}, squeeze > {res['squeeze_threshold']:.4f}")
    for name, t in res["tables"].items():
        c = t["clean0"]
        print(f"== {name}: clean n={c['n']} acc {c['accuracy']:.3f}, screened in {100 * c['screened_in']:.1f}%, flags "
              f"{100 * c['flagged_noise']:.1f}% -> {100 * c['flagged_with_squeeze']:.1f}%")
        for cond, r in t.items():
            if cond != "clean0":
                print(f"   {cond}: {r['successful']} successful, detected {100 * r['detected_noise']:.1f}% -> "
                      f"{100 * r['detected_with_squeeze']:.1f}% (screened in {100 * r['successful_screened_in']:.1f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.guard.squeeze_study", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("study")
    s.add_argument("--pack", required=True)
    s.add_argument("--models-dir", default="models")
    s.add_argument("--side", choices=["validation", "test"], default="validation")
    s.add_argument("--rendition", default="own", help="own, or NAME=CSV[,GROUP_COLUMN]")
    s.add_argument("--label-column", default="binary")
    s.add_argument("--n", type=int, default=200)
    s.add_argument("--seed", type=int, default=1234)
    s.add_argument("--attacks", default="grey2,grey4,FGSM2,BIM2")
    s.add_argument("--out", required=True)
    c = sub.add_parser("choose")
    c.add_argument("files", nargs="+")
    c.add_argument("--pass-rate", type=float, default=0.10)
    c.add_argument("--squeeze-rate", type=float, default=0.01)
    c.add_argument("--out", required=True)
    t = sub.add_parser("score")
    t.add_argument("files", nargs="+")
    t.add_argument("--screen", type=float, required=True)
    t.add_argument("--squeeze", type=float, required=True)
    t.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    {"study": study, "choose": choose, "score": score}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
