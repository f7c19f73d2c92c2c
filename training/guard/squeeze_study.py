"""``python -m training.guard.squeeze_study``: would a squeeze detector behind the median-residual
screen win back a noise-only guard's detection of colourless ("grey") attacks? (issue 24, skin packs.)

A noise-only guard (the skin packs) sees colour noise; the grey FGSM puts the same step on R, G and B
and slips under it. Feature squeezing (a 3×3 median, :mod:`inference.guard_squeeze`) is
colour-blind, but it costs a second classifier run, which the median-residual screen
(``guard.screen``, ``score: median_residual``) limits to photos whose residual floor is high.

1. ``study``: for one side of the pack's lesion split (``validation`` or ``test``; ``--rest``: the
   photos the first draw left out, a confirmation round) and one rendition (``own``: the pack's own
   data; or a ``NAME=CSV[,GROUP]`` copy of the same lesions, as ``python -m training guard
   --rendition``), clean images and attacked copies (grey FGSM 2 and 4/255, colour FGSM 1 and 2/255)
   made against the pack's graph; per image: the app's answer and flag, the shipped guard's noise
   score, the *unscreened* median-3 squeeze score and the median-residual floor. Saved as an ``.npz``.
2. ``choose``: from validation files, the screen threshold (at most ``--pass-rate`` of clean photos
   screened in, in every file) and the squeeze threshold (the screened squeeze alone flags at most
   ``--squeeze-rate`` of clean photos in every file), with the detection table. ``score``: the same
   table at given thresholds (``--noise``: a candidate noise threshold).
3. ``apply``: the ship rule (:func:`rule_check`) on the deciding round; if it passes, the manifest's
   guard block, version and ``metrics.guard.squeeze_study``, and the card via the guard card writer;
   if not, the card's *tried* lines only.

The rules used for the skin packs (issue 24) and their results: ``docs/training.md`` and the cards.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ATTACKS = {"FGSM1": (1, 1, False), "grey2": (2, 1, True), "grey4": (4, 1, True), "FGSM2": (2, 1, False), "BIM2": (2, 5, False)}


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
    from training.guard.common import _inspector
    from training.guard.keras_pack import fitted01
    from training.guard.recalibrate_cmd import load_attack_model
    from training.guard.screen_study import attacked_sets

    insp = _inspector(Path(args.models_dir) / args.pack, use_guard=True)
    insp.guard.policy = replace(insp.guard.policy, reform=False)
    shipped = insp.guard.policy
    names = list(insp.manifest.class_names)
    paths, y = _paths(args, names)
    rng = np.random.default_rng(args.seed)
    keep = np.sort(rng.choice(len(paths), min(args.n, len(paths)), replace=False))
    if args.rest:  # a second, disjoint sample: the photos the first draw left out (a confirmation round)
        rest = np.setdiff1d(np.arange(len(paths)), keep)
        keep = np.sort(np.random.default_rng(args.seed + 1).choice(rest, min(args.n, len(rest)), replace=False))
    paths, y = [paths[i] for i in keep], y[keep]
    spec = insp.manifest.input
    x = fitted01(paths, spec)
    kp, gap = load_attack_model(args.pack, Path(args.models_dir), None, x[:16])
    print(f"{args.pack} {args.side} {args.rendition.split('=')[0]}: {len(y)} images; attacks against {kp.source} "
          f"(logit parity {gap})", flush=True)
    save = dict(np.load(args.out)) if os.path.exists(args.out) else {"y": y}
    assert np.array_equal(save["y"], y), "another image set is in --out"
    t0 = time.time()
    for cond, u8 in attacked_sets(kp, x, y, [a for a in args.attacks.split(",") if a], ATTACKS, save):
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


def table(d: dict, screen: float, squeeze: float, noise: float, noise_new: float | None = None) -> dict:
    """Per condition: clean flags and screen pass, or detection of successful attacks, for the shipped
    guard (noise threshold ``noise``) and the candidate (noise threshold ``noise_new``, default the same,
    or the screened squeeze). Clean flags count the detectors; the app's flag (``noise_flag``: also the
    pack's out-of-domain refusals) is given beside; detection counts the app's flag, as the card's
    attack tables do (the candidate's: the shipped flag's out-of-domain part, its noise, its squeeze)."""
    y = d["y"]
    ok = d["clean0/label"] == y
    tn = noise if noise_new is None else noise_new
    out = {}
    for cond in sorted({k.split("/")[0] for k in d if "/" in k}, key=lambda c: (c != "clean0", c)):
        app = d[f"{cond}/noise_flag"].astype(bool)
        det_old = d[f"{cond}/noise"] > noise
        det = d[f"{cond}/noise"] > tn
        gate = d[f"{cond}/floor"] > screen
        sq = gate & (d[f"{cond}/squeeze"] > squeeze)
        new = (app & ~det_old) | det | sq
        r = {"n": int(len(y)), "screened_in": round(float(gate.mean()), 4)}
        if cond == "clean0":
            r.update(accuracy=round(float(ok.mean()), 4), detectors_noise=round(float(det_old.mean()), 4),
                     detectors_with_squeeze=round(float((det | sq).mean()), 4), squeeze_alone=round(float(sq.mean()), 4),
                     noise_alone=round(float(det.mean()), 4),
                     app_flagged=round(float(app.mean()), 4), app_flagged_with_squeeze=round(float(new.mean()), 4))
        else:
            succ = ok & (d[f"{cond}/label"] != y)
            m = max(1, int(succ.sum()))
            r.update(successful=int(succ.sum()), detected_noise=round(float((app & succ).sum() / m), 4),
                     detected_with_squeeze=round(float((new & succ).sum() / m), 4),
                     successful_screened_in=round(float((gate & succ).sum() / m), 4))
        out[cond] = r
    return out


def _noise_threshold(pack: str, models_dir: str) -> float:
    m = json.loads((Path(models_dir) / pack / "manifest.json").read_text(encoding="utf-8"))
    return float(m["guard"]["detectors"]["noise"]["threshold"])


def thresholds(files: dict, pass_rate: float, squeeze_rate: float) -> tuple[float, float]:
    """(screen, squeeze) thresholds from clean validation files: at most ``pass_rate`` of every file's
    clean photos pass the screen; behind it, the squeeze alone flags at most ``squeeze_rate`` of them."""
    screen = max(float(np.quantile(d["clean0/floor"], 1 - pass_rate, method="higher")) for d in files.values())
    cands = np.unique(np.concatenate([d["clean0/squeeze"][d["clean0/floor"] > screen] for d in files.values()] + [[0.0]]))
    sq = next(float(t) for t in cands if all(
        np.mean((d["clean0/floor"] > screen) & (d["clean0/squeeze"] > t)) <= squeeze_rate for d in files.values()))
    return screen, sq


def choose(args: argparse.Namespace) -> None:
    files = {Path(f).stem: dict(np.load(f)) for f in args.files}
    screen, sq = thresholds(files, args.pass_rate, args.squeeze_rate)
    noise = _noise_threshold(args.pack, args.models_dir)
    res = {"pack": args.pack, "screen_threshold": screen, "squeeze_threshold": sq, "noise_threshold": noise,
           "pass_rate": args.pass_rate, "squeeze_rate": args.squeeze_rate,
           "tables": {k: table(d, screen, sq, noise) for k, d in files.items()}}
    Path(args.out).write_text(json.dumps(res, indent=1))
    _print(res)


def score(args: argparse.Namespace) -> None:
    noise = _noise_threshold(args.pack, args.models_dir)
    res = {"pack": args.pack, "screen_threshold": args.screen, "squeeze_threshold": args.squeeze, "noise_threshold": noise,
           "noise_threshold_new": args.noise if args.noise is not None else noise,
           "tables": {Path(f).stem: table(dict(np.load(f)), args.screen, args.squeeze, noise, args.noise) for f in args.files}}
    Path(args.out).write_text(json.dumps(res, indent=1))
    _print(res)


def _print(res: dict) -> None:
    print(f"screen > {res['screen_threshold']:.5f}, squeeze > {res['squeeze_threshold']:.4f}")
    for name, t in res["tables"].items():
        c = t["clean0"]
        print(f"== {name}: clean n={c['n']} acc {c['accuracy']:.3f}, screened in {100 * c['screened_in']:.1f}%, detector "
              f"flags {100 * c['detectors_noise']:.1f}% -> {100 * c['detectors_with_squeeze']:.1f}% (app incl. OOD "
              f"{100 * c['app_flagged']:.1f}% -> {100 * c['app_flagged_with_squeeze']:.1f}%)")
        for cond, r in t.items():
            if cond != "clean0":
                print(f"   {cond}: {r['successful']} successful, detected {100 * r['detected_noise']:.1f}% -> "
                      f"{100 * r['detected_with_squeeze']:.1f}% (screened in {100 * r['successful_screened_in']:.1f}%)")


RULE = ("round 1 (fixed before any measurement): the shipped noise threshold, the screen so that at most 10% of each "
        "rendition's clean validation photos pass it, the squeeze threshold so that behind it the squeeze alone flags at "
        "most 1% of them; ship only if, in both renditions, grey FGSM 2/255 and 4/255 detection rises by at least 10 "
        "points, colour FGSM 2/255 stays at 100%, the detectors' clean flags stay at most 6% and at most 10% of clean "
        "photos pass the screen")


def _rows(tables: dict, side: str) -> list[str]:
    out = []
    for name, t in tables.items():
        c = t["clean0"]
        rend = "224-px copies" if "ham224" in name else "200×150 (own)"
        cells = [f"{side}, {rend}", f"{c['n']}", f"{100 * c['screened_in']:.1f}%",
                 f"{100 * c['detectors_noise']:.1f}% → {100 * c['detectors_with_squeeze']:.1f}% "
                 f"({100 * c['app_flagged']:.1f}% → {100 * c['app_flagged_with_squeeze']:.1f}%)"]
        for cond in ("grey2", "grey4", "FGSM2", "FGSM1"):
            r = t.get(cond)
            cells.append("not run" if r is None else
                         f"{100 * r['detected_noise']:.0f}% → **{100 * r['detected_with_squeeze']:.0f}%** of {r['successful']}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def card_lines(study: dict) -> list[str]:
    """The card's paragraph and tables for a squeeze study (``metrics.guard.squeeze_study``), shipped
    or only tried; called by the guard section writer (:mod:`training.guard.card`)."""
    if not study:
        return []
    shipped = study.get("shipped", False)
    head = (f"### Squeeze detector behind the median-residual screen ({study['version']}; the model and the "
            "classifier's thresholds unchanged)" if shipped
            else "### Tried, not shipped: a squeeze detector behind the median-residual screen")
    lines = ["", head, "",
             "The colourless (grey) FGSM puts the same step on R, G and B, so the colour-noise floor barely moves. "
             "Feature squeezing is colour-blind: the squeeze detector classifies a 3×3-median-filtered copy of the "
             "photo and flags an L1 change of the probabilities above its threshold. That second model run happens "
             "only when the photo's median residual floor (the smallest mean |image − its 3×3 median| over 16×16 "
             "tiles of the model-size pixels) is above the screen (`guard.screen`: `median_residual`, `patch_min`): "
             "a dense perturbation lifts that floor everywhere, a clean photo nearly always keeps a flat tile.",
             "",
             f"Attacks made against {study['attack_model']}, on validation lesions"
             + (" (and, once, test lesions)" if any("test" in rd["side"] for rd in study["rounds"]) else "") + ", up to "
             f"{study['n_per_set']} photos per set drawn with seed {study['seed']} (`python -m "
             "training.guard.squeeze_study`). Detection is of successful attacks (clean answer right, attacked answer "
             "wrong), by the app's flag (noise, squeeze, or out-of-domain); clean flags are the detectors' (in "
             "brackets: with the pack's out-of-domain refusals). Each cell: the guard before → with the candidate.",
             "", study["rule"], ""]
    for rd in study["rounds"]:
        noise = rd.get("noise_threshold_new", rd["noise_threshold"])
        lines += [f"**{rd['title']}**: screen > {rd['screen_threshold']:.4g}, squeeze > {rd['squeeze_threshold']:.4g}, "
                  f"noise > {noise:.4g}" + ("" if abs(noise - rd["noise_threshold"]) < 1e-12
                                            else f" (was {rd['noise_threshold']:.4g})") + ".", "",
                  "| photos | n | clean passing the screen | clean flagged | grey FGSM 2/255 detected | grey FGSM 4/255 | FGSM 2/255 (colour) | FGSM 1/255 (colour) |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += _rows(rd["tables"], rd["side"]) + [""]
    lines += [study["verdict"], ""]
    return lines


def rule_check(validation: dict) -> list[str]:
    """The ship rule on a ``choose``/``score`` result: the lines it fails (empty: it passes)."""
    fails = []
    for name, t in validation["tables"].items():
        c = t["clean0"]
        if c["screened_in"] > 0.10:
            fails.append(f"{name}: {100 * c['screened_in']:.1f}% of clean photos pass the screen (> 10%)")
        if c["detectors_with_squeeze"] > 0.06:
            fails.append(f"{name}: clean flags {100 * c['detectors_with_squeeze']:.1f}% (> 6%)")
        for cond in ("grey2", "grey4"):
            r = t[cond]
            gain = r["detected_with_squeeze"] - r["detected_noise"]
            if gain < 0.10 - 1e-9:
                fails.append(f"{name}: {cond} detection +{100 * gain:.1f} points (< 10)")
        for cond in ("FGSM2", "FGSM1"):
            if cond in t and t[cond]["detected_with_squeeze"] < 1.0:
                fails.append(f"{name}: {cond} detection {100 * t[cond]['detected_with_squeeze']:.1f}% (< 100%)")
    return fails


def apply(args: argparse.Namespace) -> None:
    """Ship (manifest guard block, version, metrics, card via the guard card writer) when the rule
    passes on the deciding round; otherwise only put the measured tables into the card as tried."""
    from training.guard.card import CARD_END, write_card_section
    from training.guard.common import write_manifest

    pack_dir = Path(args.models_dir) / args.pack
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    rounds = []
    for spec in args.round:  # TITLE|SIDE|path.json
        title, side, path = spec.split("|")
        rounds.append({"title": title, "side": side, **json.loads(Path(path).read_text(encoding="utf-8"))})
    decide = rounds[args.decide]
    fails = rule_check(decide)
    ship = not fails and not args.dry_run and not args.tried_only
    study = {"version": args.version if ship else manifest["version"], "shipped": ship,
             "rule": Path(args.rule).read_text(encoding="utf-8").strip() if args.rule else RULE,
             "attack_model": args.attack_model, "n_per_set": args.n, "seed": args.seed, "rounds": rounds,
             "decided_on": decide["title"], "rule_fails": fails}
    study["verdict"] = Path(args.verdict).read_text(encoding="utf-8").strip() if args.verdict else (
        f"{decide['title']}: the rule " + ("passed." if not fails else "failed (" + "; ".join(fails) + ")."))
    print(study["verdict"], "SHIP" if ship else "NO SHIP")
    if args.dry_run:
        return
    if ship:
        g = manifest["guard"]
        per = decide["tables"].values()
        g["detectors"]["squeeze"] = {"threshold": decide["squeeze_threshold"],
                                     "false_alarm_rate": max(x["clean0"]["squeeze_alone"] for x in per),
                                     "squeezers": [{"kind": "median", "size": 3}]}
        new_noise = decide.get("noise_threshold_new", decide["noise_threshold"])
        g["detectors"]["noise"]["threshold"] = new_noise
        g["detectors"]["noise"]["false_alarm_rate"] = max(x["clean0"]["noise_alone"] for x in per)
        g["screen"] = {"score": "median_residual", "size": 3, "aggregate": "patch_min", "patch": 16,
                       "threshold": decide["screen_threshold"],
                       "clean_pass_rate": max(x["clean0"]["screened_in"] for x in per)}
        g["false_alarm_rate"] = max(x["clean0"]["detectors_with_squeeze"] for x in per)
        manifest["version"] = args.version
        manifest["metrics"]["guard"]["squeeze_study"] = study
        write_manifest(pack_dir, manifest)
        write_card_section(pack_dir, manifest, manifest["metrics"]["guard"])
        return
    card = pack_dir / "CARD.md"
    text = card.read_text(encoding="utf-8")
    head, tail = text.split(CARD_END, 1)
    card.write_text(head.rstrip("\n") + "\n" + "\n".join(card_lines(study)) + "\n" + CARD_END + tail, encoding="utf-8")


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
    s.add_argument("--attacks", default="grey2,grey4,FGSM2,FGSM1")
    s.add_argument("--rest", action="store_true", help="draw from the photos --seed's draw leaves out")
    s.add_argument("--out", required=True)
    c = sub.add_parser("choose")
    c.add_argument("files", nargs="+")
    c.add_argument("--pack", required=True)
    c.add_argument("--models-dir", default="models")
    c.add_argument("--pass-rate", type=float, default=0.10)
    c.add_argument("--squeeze-rate", type=float, default=0.01)
    c.add_argument("--out", required=True)
    t = sub.add_parser("score")
    t.add_argument("files", nargs="+")
    t.add_argument("--pack", required=True)
    t.add_argument("--models-dir", default="models")
    t.add_argument("--screen", type=float, required=True)
    t.add_argument("--squeeze", type=float, required=True)
    t.add_argument("--noise", type=float, default=None, help="the candidate's noise threshold (default: the shipped one)")
    t.add_argument("--out", required=True)
    a = sub.add_parser("apply")
    a.add_argument("--pack", required=True)
    a.add_argument("--models-dir", default="models")
    a.add_argument("--round", action="append", required=True, help="TITLE|SIDE|choose-or-score.json, in order")
    a.add_argument("--decide", type=int, default=-1, help="index of the round the ship rule is checked on")
    a.add_argument("--version", required=True, help="the patch version to ship as")
    a.add_argument("--attack-model", required=True, help="what the attacks were made against (for the card)")
    a.add_argument("--rule", default=None, help="a text file: the rule paragraph for the card")
    a.add_argument("--verdict", default=None, help="a text file: the verdict paragraph for the card")
    a.add_argument("--n", type=int, default=200)
    a.add_argument("--seed", type=int, default=1234)
    a.add_argument("--dry-run", action="store_true")
    a.add_argument("--tried-only", action="store_true", help="never ship: the card's 'tried' lines only")
    args = parser.parse_args(argv)
    {"study": study, "choose": choose, "score": score, "apply": apply}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
