"""``python -m training guard-recalibrate --pack ID``: re-set a pack's colour-noise threshold on
every rendition of its images a user may bring, through the app's own path, and re-measure it.

Why: the ``noise`` detector's score (:func:`inference.guard_noise.chroma_noise_floor`) depends on
how sharp the image is once it is at the model's input size. The skin packs were trained and
their guard calibrated on HAM10000 at 200×150, stretched *up* to 224×224 (a smooth, low-noise
rendition); the same lesions as 224-px copies of the 600×450 originals, stretched *down*, carry
far more fine colour detail, and a threshold set on the first flagged 35–47% of the second
(measured: ``docs`` in the pack's card). A threshold must be set on the renditions the app will
see, not only the one the model was trained on.

What it does (nothing else in the manifest changes; the autoencoder, reformer, other detectors
and the OOD refusal are kept as they are):

1. The pack's split: the run folder's ``split.csv`` when there is one, else the split rebuilt
   from the pack's training config exactly as ``python -m training train`` makes it
   (``--config``); the counts per side are checked against the manifest's card numbers by the
   caller (printed). The same validation and test subsample as ``python -m training guard``
   (same seed and caps).
2. Every ``--rendition NAME=CSV`` is another copy of (some of) the same lesions: its rows whose
   group (``--group-column``) is on the pack's *validation* side calibrate, those on the *test*
   side evaluate; rows of training lesions are not used.
3. Scores through :class:`inference.inspector.Inspector` (decode, fit, tensor, the guard's
   ``pre_scores``: the app's code, not a copy). The threshold is the largest, over the
   renditions, of each rendition's ``1 - rate`` quantile: no rendition's clean validation
   images are flagged more than ``--false-alarm-rate``.
4. The attack table of ``python -m training guard`` (FGSM at each ε, BIM, the grey FGSM) on the
   test images of each rendition, against the pack's Keras model (the run folder) or, when that
   is gone, its ONNX graph evaluated with TensorFlow ops (:mod:`training.guard.onnx_tf`, logit
   parity checked).
5. Manifest ``guard.detectors.noise`` + ``metrics.guard`` (old and new threshold, false flags
   per rendition, attack rows per rendition) and the card's guard section rewritten.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.guard.card import write_card_section
from training.guard.common import REPO_ROOT, _inspector, _log, _subsample, write_manifest
from training.guard.evaluate import GREY_ATTACK, _row_text, attack_row, clean_summary, run_app

OWN = "pack"  # the rendition name of the pack's own images


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", required=True, help="pack id (models/<id>/)")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="training run folder with split.csv (default runs/<id>; if absent the split is rebuilt "
                             "from --config)")
    parser.add_argument("--config", type=Path, default=None,
                        help="the pack's training config (default training/configs/<id>.yaml)")
    parser.add_argument("--rendition", action="append", default=[], metavar="NAME=CSV",
                        help="another copy of the pack's images (CSV with path and group columns; paths relative "
                             "to the CSV's folder); repeatable")
    parser.add_argument("--path-column", default="file")
    parser.add_argument("--group-column", default="lesion_id")
    parser.add_argument("--false-alarm-rate", type=float, default=0.05,
                        help="most clean validation images of any one rendition the noise detector may flag")
    parser.add_argument("--max-train", type=int, default=1200, help="as python -m training guard (same subsample)")
    parser.add_argument("--max-val", type=int, default=400)
    parser.add_argument("--max-test", type=int, default=150)
    parser.add_argument("--eps", default="1,2,4,8", help="FGSM ε values in /255")
    parser.add_argument("--bim-steps", type=int, default=5)
    parser.add_argument("--no-grey-attack", dest="grey_attack", action="store_false")
    parser.add_argument("--no-attacks", dest="attacks", action="store_false",
                        help="recalibrate and measure clean false flags only")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--dry-run", action="store_true", help="measure and print; write nothing")


def pack_split(pack_id: str, run_dir: Path | None, config: Path | None):
    """(split: side -> samples, how) from the run folder, or rebuilt from the training config."""
    from training.pipeline.splits import read_split

    run_dir = Path(run_dir or REPO_ROOT / "runs" / pack_id)
    if (run_dir / "split.csv").is_file():
        return read_split(run_dir / "split.csv"), f"{run_dir.name}/split.csv"
    from training.pipeline.config import load_config
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    config = Path(config or REPO_ROOT / "training" / "configs" / f"{pack_id}.yaml")
    cfg = load_config(config)
    split = split_pools(load_pools(cfg), val=float(cfg["split"]["val"]), test=float(cfg["split"]["test"]),
                        seed=int(cfg["seed"]), dropped=[])
    return split, f"the split rebuilt from {config.name} (seed {cfg['seed']})"


def own_rendition(samples: list) -> list:
    """The samples of the pack's main data source: a pack trained with extra_data (e.g. skin 1.2.0 /
    1.3.0 with the 224-px copies of its lesions) has other renditions in its split too, and those are
    measured as their own ``--rendition``, not as the pack's own images."""
    return [s for s in samples if s.extra.get("source") in (None, "", "data")]


def rendition_sets(spec: str, split: dict, names: list[str], label_column: str, args) -> tuple[str, list, list, np.ndarray]:
    """NAME=CSV -> (name, validation paths, test paths, test labels), by the group's side."""
    if "=" not in spec:
        raise ValueError(f"--rendition {spec!r}: expected NAME=CSV")
    name, path = spec.split("=", 1)
    path = Path(path)
    side_of = {s.group: side for side, items in split.items() for s in items}
    index = {n: i for i, n in enumerate(names)}
    val, test, labels = [], [], []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            side = side_of.get(row[args.group_column])
            if side == "val":
                val.append(path.parent / row[args.path_column])
            elif side == "test":
                test.append(path.parent / row[args.path_column])
                labels.append(index[row[label_column]])
    return name, val, test, np.array(labels, int)


def noise_scores(inspector, sources: list, batch: int = 16) -> np.ndarray:
    """The noise detector's score per image file, through the app's decode, fit and guard."""
    from inference.guard import chroma_noise_floor_from_tensor

    spec = inspector.manifest.input
    patch = int(next(d for d in inspector.guard.policy.detectors if d.name == "noise").options.get("patch", 16))
    out = []
    for s in range(0, len(sources), batch):
        # The inspector's own preparation (decode at its shrink, fit, tensor) and the function both
        # of the guard's paths (pre_scores, scores) score the noise detector with.
        tensors = np.stack([inspector._prepare(x, None).tensor for x in sources[s:s + batch]])
        out.append(chroma_noise_floor_from_tensor(tensors, spec, patch))
    return np.concatenate(out) if out else np.zeros(0)


def calibrate(per_rendition: dict[str, np.ndarray], rate: float) -> float:
    """The largest of the renditions' ``1 - rate`` quantiles (each rendition flagged ≤ ``rate``)."""
    from inference.guard import threshold_at_false_alarm_rate

    return max(threshold_at_false_alarm_rate(s, rate) for s in per_rendition.values())


def attack_rows(kp, inspector, x01: np.ndarray, y: np.ndarray, args, label: str) -> tuple[dict, list[dict]]:
    """Clean answers and the guard command's attack rows on images at the input size."""
    from training.guard import attacks

    clean = run_app(inspector, x01)
    rows = []
    eps_list = [float(e) for e in str(args.eps).split(",") if e.strip()]
    plan = [("FGSM", e, 1, False) for e in eps_list]
    if args.bim_steps > 1:
        plan.append((f"BIM ({args.bim_steps} steps)", 2.0, args.bim_steps, False))
    if args.grey_attack:
        plan += [(GREY_ATTACK, e, 1, True) for e in eps_list if e in (2.0, 4.0)]
    for name, e, steps, grey in plan:
        eps = e / 255.0
        adv = attacks.quantize01(attacks.fgsm(kp, x01, y, eps, steps=steps, grey=grey), x01, eps)
        rows.append(dict(attack_row(name, eps, y, clean, run_app(inspector, adv)), images=label))
        _log(f"  [{label}] " + _row_text(rows[-1]))
    return clean, rows


def load_attack_model(pack_id: str, models_dir: Path, run_dir: Path | None, probe01: np.ndarray):
    """The pack's Keras model from its run folder, else its ONNX graph as TensorFlow ops."""
    from training.guard.keras_pack import KerasWeightsNotKeptError, load_keras_pack

    try:
        return load_keras_pack(pack_id, run_dir=run_dir, models_dir=models_dir), None
    except KerasWeightsNotKeptError:
        from training.guard.onnx_tf import load_onnx_pack, parity

        kp = load_onnx_pack(pack_id, models_dir)
        gap = parity(kp, probe01)
        if gap > 1e-3:
            raise RuntimeError(f"the ONNX graph evaluated with TensorFlow differs from onnxruntime by {gap:.2e}")
        return kp, gap


def run(args: argparse.Namespace) -> int:
    from training.guard.keras_pack import fitted01

    t_start = time.perf_counter()
    pack_dir = Path(args.models_dir) / args.pack
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    det = (manifest.get("guard") or {}).get("detectors", {}).get("noise")
    if det is None:
        print(f"error: {args.pack} has no noise detector to recalibrate", file=sys.stderr)
        return 2
    split, how = pack_split(args.pack, args.run_dir, args.config)
    _log(f"{args.pack}: {how}: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()))
    names = [c["name"] for c in manifest["classes"]]
    index = {n: i for i, n in enumerate(names)}
    # The same subsample as python -m training guard (one generator, drawn in the same order).
    rng = np.random.default_rng(args.seed)
    _subsample(split["train"], None, args.max_train, rng)
    own_val, own_test = own_rendition(split["val"]), own_rendition(split["test"])
    val, _ = _subsample([Path(s.path) for s in own_val], None, args.max_val, rng)
    test, y_test = _subsample([Path(s.path) for s in own_test], np.array([index[s.label] for s in own_test]),
                              args.max_test, rng)
    sets = {OWN: (val, test, y_test)}
    label_column = _label_column(args)
    for spec in args.rendition:
        name, r_val, r_test, r_y = rendition_sets(spec, split, names, label_column, args)
        r_val, _ = _subsample(r_val, None, args.max_val, rng)
        r_test, r_y = _subsample(r_test, r_y, args.max_test, rng)
        sets[name] = (r_val, r_test, r_y)
        _log(f"  rendition {name}: {len(r_val)} validation-lesion images, {len(r_test)} test-lesion images")

    insp = _inspector(pack_dir, use_guard=True)
    old = float(det["threshold"])
    val_scores = {k: noise_scores(insp, v[0]) for k, v in sets.items() if len(v[0])}
    new = calibrate(val_scores, args.false_alarm_rate)
    per = {k: {"n": int(len(s)), "old": round(float(np.mean(s > old)), 4), "new": round(float(np.mean(s > new)), 4),
               "median_score": float(np.median(s))} for k, s in val_scores.items()}
    for k, r in per.items():
        _log(f"  validation {k}: {r['n']} images, flagged {100 * r['old']:.1f}% at {old:.4g} → {100 * r['new']:.1f}% at "
             f"{new:.4g} (median score {r['median_score']:.3g})")
    if args.dry_run:
        return 0

    results = manifest.setdefault("metrics", {}).setdefault("guard", {})
    before = results.get("recalibration", {}).get("before") or {
        k: results[k] for k in ("n_test", "test_false_alarm_rate", "test_false_alarm_rate_detectors",
                                "test_ood_refusal_rate", "validation_false_alarm_rate", "attacks") if k in results}
    record = {"old_threshold": old, "new_threshold": new, "target_false_alarm_rate": args.false_alarm_rate,
              "split": how, "validation": per, "renditions": {k: _describe(k, args) for k in sets},
              "before": before}
    guard = manifest["guard"]
    det["threshold"] = new
    det["false_alarm_rate"] = max(r["new"] for r in per.values())
    if list(guard["detectors"]) == ["noise"]:
        guard["false_alarm_rate"] = det["false_alarm_rate"]
    write_manifest(pack_dir, manifest)

    insp = _inspector(pack_dir, use_guard=True)
    test_flags, by_rendition = {}, {}
    kp = None
    for k, (_, paths, y) in sets.items():
        if not len(paths):
            continue
        x = fitted01(paths, insp.manifest.input)
        if args.attacks:
            if kp is None:
                kp, gap = load_attack_model(args.pack, Path(args.models_dir), args.run_dir, x[:16])
                record["attack_model"] = kp.source + ("" if gap is None else f" (logit parity {gap:.1e})")
                _log(f"  attacks against {record['attack_model']}")
            clean, rows = attack_rows(kp, insp, x, y, args, k)
            by_rendition[k] = rows
        else:
            clean = run_app(insp, x)
        test_flags[k] = clean_summary(clean, y)
        test_flags[k]["n"] = int(len(y))
        _log(f"  test {k}: {len(y)} images, flagged {100 * test_flags[k]['test_false_alarm_rate']:.1f}% "
             f"(noise {100 * test_flags[k]['test_false_alarm_rate_detectors']:.1f}%, out-of-domain "
             f"{100 * test_flags[k]['test_ood_refusal_rate']:.1f}%)")
    record["test"] = test_flags
    if by_rendition:
        record["attacks"] = by_rendition
        results["attacks"] = by_rendition.get(OWN, results.get("attacks", []))
    results.update({k: v for k, v in test_flags.get(OWN, {}).items() if k != "n"})
    if OWN in test_flags:
        results["n_test"] = test_flags[OWN]["n"]
    results["validation_false_alarm_rate"] = guard.get("false_alarm_rate", results.get("validation_false_alarm_rate"))
    record["seconds"] = round(time.perf_counter() - t_start, 1)
    results["recalibration"] = record
    write_manifest(pack_dir, manifest)
    write_card_section(pack_dir, manifest, results)
    _log(f"guard-recalibrate done in {record['seconds']:.0f} s")
    return 0


def after_guard(guard_args: argparse.Namespace) -> int:
    """``python -m training guard ... --rendition NAME=CSV[,GROUP_COLUMN]``: this command on the
    pack the guard command just made, with its folders, seed, caps and attacks."""
    groups = {s.rsplit(",", 1)[1] for s in guard_args.rendition if "," in s.split("=", 1)[1]}
    if len(groups) > 1:
        raise ValueError(f"--rendition: one group column for all renditions, not {sorted(groups)}")
    argv = ["--pack", guard_args.pack, "--models-dir", str(guard_args.models_dir), "--seed", str(guard_args.seed),
            "--max-train", str(guard_args.max_train), "--max-val", str(guard_args.max_val),
            "--max-test", str(guard_args.max_test), "--eps", str(guard_args.eps),
            "--bim-steps", str(guard_args.bim_steps), "--false-alarm-rate", str(guard_args.false_alarm_rate)]
    if guard_args.run_dir is not None:
        argv += ["--run-dir", str(guard_args.run_dir)]
    if not guard_args.grey_attack:
        argv.append("--no-grey-attack")
    if groups:
        argv += ["--group-column", groups.pop()]
    for spec in guard_args.rendition:
        argv += ["--rendition", spec.rsplit(",", 1)[0] if "," in spec.split("=", 1)[1] else spec]
    parser = argparse.ArgumentParser(prog="python -m training guard-recalibrate")
    add_arguments(parser)
    _log("noise threshold on every rendition: python -m training guard-recalibrate " + " ".join(argv))
    return run(parser.parse_args(argv))


def _label_column(args) -> str:
    """The renditions' label column: the pack config's ``data.label_column`` (the run folder's
    resolved config first), else ``label``."""
    import yaml

    run_cfg = Path(args.run_dir or REPO_ROOT / "runs" / args.pack) / "config.yaml"
    config = run_cfg if run_cfg.is_file() else Path(args.config or REPO_ROOT / "training" / "configs" / f"{args.pack}.yaml")
    if not config.is_file():
        return "label"
    return str((yaml.safe_load(config.read_text(encoding="utf-8")).get("data") or {}).get("label_column") or "label")


def _describe(name: str, args) -> str:
    if name == OWN:
        return "the pack's own images (its training data's rendition)"
    spec = next(s for s in args.rendition if s.split("=", 1)[0] == name)
    return f"{spec.split('=', 1)[1]} (rows by {args.group_column}: validation side calibrates, test side evaluates)"


def card_lines(results: dict) -> list[str]:
    """The card's recalibration paragraph and tables (called by the guard section writer)."""
    rec = results.get("recalibration")
    if not rec:
        return []
    lines = ["", "### Noise threshold recalibrated on every rendition (`python -m training guard-recalibrate`)", "",
             f"The colour-noise score depends on how sharp an image is at the model's input size. The threshold "
             f"was {rec['old_threshold']:.4g}, set on the pack's own images only; it is now {rec['new_threshold']:.4g}: "
             f"the largest of each rendition's {100 * (1 - rec['target_false_alarm_rate']):.0f}% quantile on clean "
             f"images of validation lesions, scored through the app's own decode and guard ({rec['split']}).", "",
             "| images | what | validation images | flagged, old threshold | flagged, new threshold | test images | test flagged (noise) | test refused as out-of-domain |",
             "|---|---|---|---|---|---|---|---|"]
    for k, v in rec["validation"].items():
        t = rec.get("test", {}).get(k)
        tcols = (f"{t['n']} | {100 * t['test_false_alarm_rate_detectors']:.1f}% | {100 * t['test_ood_refusal_rate']:.1f}%"
                 if t else "— | — | —")
        lines.append(f"| {k} | {rec['renditions'].get(k, '')} | {v['n']} | {100 * v['old']:.1f}% | {100 * v['new']:.1f}% | {tcols} |")
    old = rec.get("before") or {}
    if old.get("attacks"):
        lines += ["", f"Before (threshold {rec['old_threshold']:.4g}, {old.get('n_test', '?')} test images of the pack's "
                  f"own rendition): clean test images flagged by the noise detector "
                  f"{100 * old.get('test_false_alarm_rate_detectors', float('nan')):.1f}%; successful attacks detected: "
                  + ", ".join(f"{r['attack']} {r['eps_255']:g}/255 "
                              + ("n/a" if r["detection_rate"] is None else f"{100 * r['detection_rate']:.0f}%")
                              for r in old["attacks"]) + "."]
    others = {k: rows for k, rows in (rec.get("attacks") or {}).items() if k != OWN}
    if rec.get("attacks"):
        lines += ["", f"Attacks at the new threshold are made against {rec['attack_model']}; on the pack's own rendition "
                  "they are the attack table below, on the other renditions' test lesions:"]
    if others:
        lines += ["", "| images | attack | ε | accuracy clean | attacked | after mitigation | successful | detected |",
                  "|---|---|---|---|---|---|---|---|"]
        for k, rows in others.items():
            for r in rows:
                d = "—" if r["detection_rate"] is None else \
                    f"{100 * r['detection_rate']:.0f}% ({r['detected_successful']}/{r['successful_attacks']})"
                lines.append(f"| {k} | {r['attack']} | {r['eps_255']:g}/255 | {100 * r['clean_accuracy']:.1f}% | "
                             f"{100 * r['attacked_accuracy']:.1f}% | {100 * r['mitigated_accuracy']:.1f}% | "
                             f"{r['successful_attacks']} | {d} |")
    return lines
