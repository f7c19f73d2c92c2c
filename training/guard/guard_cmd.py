"""``python -m training guard --pack ID``: give a pack its input guard, calibrate it, measure it.

1. Split the pack's clean in-domain images: the training run's own split for pipeline packs
   (autoencoder on *train*, thresholds on *validation*, evaluation on *test*); for
   ``imagenet-lite0`` the ImageNet samples, split 50/25/25 by a seed (the autoencoder never sees
   the images it is evaluated on).
2. Train the denoising autoencoder (:mod:`training.guard.autoencoder`), export it to
   ``models/<id>/guard_ae.onnx`` and check Keras/onnxruntime parity.
3. Compute every detector's score on the clean validation images *through the exported files and
   the app's own* :class:`inference.guard.Guard`, and set the thresholds so that at most
   ``--false-alarm-rate`` of them are flagged by any detector (each detector's own rate recorded).
4. Evaluate on the test images with the app's :class:`inference.inspector.Inspector` (guard on):
   clean, FGSM at each ε and an iterative attack (BIM), made against the pack's Keras model
   (:mod:`training.guard.attacks`): accuracy clean / attacked / after mitigation, successful
   attacks, detection rate of successful attacks, false alarms on clean images.
5. Write the ``guard`` block and ``extra_files`` entry into the manifest, the results into its
   ``metrics.guard``, a section and a plot into ``CARD.md``.

Run it after ``python -m training export`` (which rewrites the manifest and the card).

The pieces live beside it: :mod:`training.guard.calibrate` (detector scores, detector and reformer
choice), :mod:`training.guard.train_steps` (attacked training mix, purifier), :mod:`training.guard.evaluate`
(the attack table, false alarms, cost), :mod:`training.guard.card` (the card section); this module
holds the command's arguments, the image sets and the run itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.guard import kept_guard_record
from training.guard.calibrate import (PURIFIER, PURIFIER_ROLE, REFORMER_MIN_CLEAN_KEPT, REFORMERS, SUBSETS,
                                      _reformer_name, choose_detectors, choose_reformer, detector_scores,
                                      purifier_reformer)
from training.guard.card import CARD_BEGIN, CARD_END, write_card_section
from training.guard.common import REPO_ROOT, _inspector, _log, _subsample, write_manifest
from training.guard.evaluate import (GREY_ATTACK, _row_text, attack_row, clean_summary, guard_cost,
                                     run_app)
from training.guard.train_steps import PurifierError, attack_mix, pack_purifier

# Re-exported: tests and ``guard-recalibrate`` have imported these from here.
__all__ = ["CARD_BEGIN", "CARD_END", "GREY_ATTACK", "PURIFIER", "PURIFIER_ROLE", "REFORMERS", "REFORMER_MIN_CLEAN_KEPT",
           "REPO_ROOT", "SUBSETS", "PurifierError", "Sets", "_inspector", "_log", "_reformer_name", "_row_text",
           "_subsample", "add_arguments", "attack_mix", "attack_row", "choose_detectors", "choose_reformer",
           "clean_summary", "detector_scores", "guard_cost", "pack_purifier", "pack_sets", "purifier_reformer",
           "refresh", "run", "run_app", "write_card_section", "write_manifest"]

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", required=True, help="pack id (models/<id>/)")
    parser.add_argument("--run-dir", type=Path, default=None, help="training run folder (default runs/<id>)")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--imagenet", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "imagenet-samples",
                        help="ImageNet samples folder (for imagenet-lite0)")
    parser.add_argument("--false-alarm-rate", type=float, default=0.05,
                        help="share of clean validation images any detector may flag (default 0.05)")
    parser.add_argument("--screen-rate", type=float, default=0.35,
                        help="share of clean images whose reconstruction error sends them on to the "
                             "classifier-based detectors (cost control; 1 = all)")
    parser.add_argument("--eps", default="1,2,4,8", help="FGSM ε values in /255 (comma-separated)")
    parser.add_argument("--bim-steps", type=int, default=5, help="steps of the iterative attack at ε = 2/255")
    parser.add_argument("--no-grey-attack", dest="grey_attack", action="store_false",
                        help="skip the grey (colourless) FGSM rows at 2 and 4/255 (the noise floor's blind spot)")
    parser.add_argument("--adv-train", type=int, default=600,
                        help="training images attacked with FGSM to train the reformer on (0: noise only)")
    parser.add_argument("--keep-autoencoder", action="store_true",
                        help="keep the pack's current guard_ae.onnx (no retraining); thresholds, detector and "
                             "reformer choice and the evaluation are all redone")
    parser.add_argument("--reuse-autoencoder", metavar="PACK", default=None,
                        help="copy the autoencoder of another pack on the same images instead of training one")
    parser.add_argument("--purifier-epochs", type=int, default=0,
                        help="train a purifier (a denoiser trained through the classifier) for this many epochs "
                             "as one more reformer candidate (about a minute an epoch for 500 images on 2 cores; "
                             "default 0: none)")
    parser.add_argument("--purifier-variants", type=int, default=3,
                        help="attacked copies of each training image the purifier learns from")
    parser.add_argument("--purifier-jpeg", type=int, default=0,
                        help="JPEG quality the purifier's inputs are re-compressed at first (0: none)")
    parser.add_argument("--keep-purifier", action="store_true",
                        help="keep the pack's current guard_purifier.onnx (no retraining)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps-per-epoch", type=int, default=60)
    parser.add_argument("--max-train", type=int, default=1200, help="most clean images to train the autoencoder on")
    parser.add_argument("--max-val", type=int, default=400, help="most clean validation images for thresholds")
    parser.add_argument("--max-test", type=int, default=150, help="most test images to attack (FGSM is slow on a CPU)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--quick", action="store_true", help="smoke run: few images and epochs")
    parser.add_argument("--refresh", action="store_true",
                        help="keep the autoencoder, thresholds and attack results; measure the clean test "
                             "images and the cost again and rewrite the card")
    parser.add_argument("--rendition", action="append", default=[], metavar="NAME=CSV[,GROUP_COLUMN]",
                        help="then set the noise threshold on this copy of the images too (python -m training "
                             "guard-recalibrate: validation-side groups calibrate, test-side ones evaluate); repeatable")


@dataclass
class Sets:
    train: list[Path]
    val: list[Path]
    test: list[Path]
    test_labels: np.ndarray
    how: str

def pack_sets(kp, args) -> Sets:
    """The clean images per side (see the module docstring)."""
    rng = np.random.default_rng(args.seed)
    names = list(kp.class_names)
    if kp.manifest.id == "imagenet-lite0":
        from training.lite0.cmd import read_classes

        _, samples = read_classes(Path(args.imagenet))
        order = rng.permutation(len(samples))
        n = len(samples)
        a, b = order[: n // 2], order[n // 2: 3 * n // 4]
        c = order[3 * n // 4:]
        test = [samples[i] for i in c]
        return Sets([samples[i].path for i in a], [samples[i].path for i in b], [s.path for s in test],
                     np.array([s.class_index for s in test]),
                     f"ImageNet samples ({n}, one per class) split by seed {args.seed}: autoencoder "
                     f"{len(a)}, thresholds {len(b)}, evaluation {len(c)}")
    from training.pipeline.splits import read_split

    run_dir = Path(args.run_dir or REPO_ROOT / "runs" / kp.manifest.id)
    split = read_split(run_dir / "split.csv")
    index = {n: i for i, n in enumerate(names)}
    tr = [Path(x.path) for x in split["train"]]
    va = [Path(x.path) for x in split["val"]]
    te = list(split["test"])
    return Sets(tr, va, [Path(x.path) for x in te], np.array([index[x.label] for x in te]),
                f"the training run's split ({run_dir.name}/split.csv): autoencoder on train, thresholds "
                f"on validation, evaluation on test")

def run(args: argparse.Namespace) -> int:
    from training.guard import attacks, autoencoder, purifier
    from training.guard.keras_pack import KerasPackError, fitted01, load_keras_pack

    t_start = time.perf_counter()
    if args.quick:
        args.epochs, args.steps_per_epoch, args.adv_train = 2, 4, 8
        args.purifier_epochs, args.purifier_variants = min(args.purifier_epochs, 1), 1
        args.max_train, args.max_val, args.max_test = 48, 40, 12
    pack_dir = Path(args.models_dir) / args.pack
    try:
        kp = load_keras_pack(args.pack, run_dir=args.run_dir, models_dir=args.models_dir)
    except (KerasPackError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = kp.spec
    size = (spec.height, spec.width)
    rng = np.random.default_rng(args.seed)
    sets = pack_sets(kp, args)
    train_paths, _ = _subsample(sets.train, None, args.max_train, rng)
    val_paths, _ = _subsample(sets.val, None, args.max_val, rng)
    test_paths, y_test = _subsample(sets.test, sets.test_labels, args.max_test, rng)
    _log(f"guard for {args.pack}: {sets.how}; using {len(train_paths)} / {len(val_paths)} / {len(test_paths)}")
    if args.refresh:
        return refresh(pack_dir, fitted01(test_paths, spec), y_test)
    x_train, x_val, x_test = (fitted01(p, spec) for p in (train_paths, val_paths, test_paths))

    # -- 1. autoencoder ------------------------------------------------------------------------------
    onnx_path = pack_dir / autoencoder.ONNX_NAME
    if args.keep_autoencoder:
        ae_info = kept_guard_record(pack_dir, "autoencoder", onnx_path.name)
        if not ae_info:
            print(f"error: {pack_dir.name} has no guard autoencoder to keep: run without --keep-autoencoder",
                  file=sys.stderr)
            return 2
        _log(f"  autoencoder kept ({onnx_path.name}, {ae_info.get('weights')} weights)")
    elif args.reuse_autoencoder:
        # A pack on the same images (skin-ham7 and skin-binary share their split) can share the
        # autoencoder: the thresholds and the evaluation are still this pack's own.
        import shutil

        src_pack = Path(args.models_dir) / args.reuse_autoencoder
        src = src_pack / autoencoder.ONNX_NAME
        if not src.is_file():
            print(f"error: {src} does not exist: run the guard for {args.reuse_autoencoder} first", file=sys.stderr)
            return 2
        shutil.copyfile(src, onnx_path)
        ae_info = dict(json.loads((src_pack / "manifest.json").read_text(encoding="utf-8"))["metrics"]["guard"]["autoencoder"])
        ae_info["reused_from"] = args.reuse_autoencoder
        _log(f"  autoencoder reused from {args.reuse_autoencoder}")
    else:
        t0 = time.perf_counter()
        adv_train = None
        if args.adv_train > 0:
            k = min(args.adv_train, len(x_train))
            adv_train = x_train.copy()
            y_train = np.argmax(kp.logits(x_train[:k]), axis=1)  # the model's own answers: no labels needed
            adv_train[:k] = attack_mix(kp, x_train[:k], y_train, np.random.default_rng(args.seed + 7))
            _log(f"  {k} training images attacked (FGSM, ε 1-8/255) for the reformer in {time.perf_counter() - t0:.0f} s")
            if k < len(x_train):
                adv_train[k:] = x_train[k:]  # beyond the attacked ones, clean pairs
        ae, history = autoencoder.train_autoencoder(
            x_train, x_val[:64], adv_train01=adv_train, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
            seed=args.seed, log=_log)
        ae_train_s = time.perf_counter() - t0
        onnx_path = pack_dir / autoencoder.ONNX_NAME
        autoencoder.export_autoencoder(ae, onnx_path, size)
        ae_parity = autoencoder.parity(ae, onnx_path, x_val[:16])
        _log(f"  autoencoder: {ae.count_params()} weights, best epoch {history['best_epoch']}, "
             f"{ae_train_s:.0f} s; ONNX parity {ae_parity:.1e}")
        if ae_parity > 1e-4:
            print(f"error: autoencoder parity {ae_parity:.2e} above 1e-4", file=sys.stderr)
            return 1
        ae_info = {"weights": int(ae.count_params()), "best_epoch": history["best_epoch"], "epochs": args.epochs,
                   "parity_max_abs": ae_parity, "train_s": round(ae_train_s, 1)}

    # -- 1b. purifier (a reformer candidate) -------------------------------------------------------------
    pur_path = pack_dir / purifier.ONNX_NAME
    try:
        pur_info = pack_purifier(kp, x_train, x_val, pur_path, args)
    except PurifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code

    # -- 2. thresholds on clean validation images ---------------------------------------------------
    from inference.guard import joint_thresholds, threshold_at_false_alarm_rate
    from inference.registry import sha256_file

    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest.setdefault("extra_files", {})["guard_autoencoder"] = {
        "file": autoencoder.ONNX_NAME, "sha256": sha256_file(onnx_path)}
    manifest["extra_files"].pop(PURIFIER_ROLE, None)
    if pur_info:
        manifest["extra_files"][PURIFIER_ROLE] = {"file": purifier.ONNX_NAME, "sha256": sha256_file(pur_path)}
    detectors = {
        "reconstruction": {"threshold": 1.0, "false_alarm_rate": 0.0, "norm": "l1", "aggregate": "patch_min",
                           "patch": 8},
        "divergence": {"threshold": 1.0, "false_alarm_rate": 0.0, "temperature": 1.0},
        "squeeze": {"threshold": 1.0, "false_alarm_rate": 0.0, "squeezers": [{"kind": "median", "size": 3}]},
        "noise": {"threshold": 1.0, "false_alarm_rate": 0.0, "patch": 16},
    }
    manifest["guard"] = {"autoencoder": "guard_autoencoder", "autoencoder_input": autoencoder.INPUT_NAME,
                         "autoencoder_output": autoencoder.OUTPUT_NAME, "detectors": detectors, "reform": True}
    candidates = list(REFORMERS)
    if pur_info:
        # Named as the reformer while calibrating, so the inspector loads the purifier's session.
        manifest["guard"]["reformer"] = purifier_reformer(pur_info.get("jpeg_quality", 0))
        candidates += [manifest["guard"]["reformer"], dict(manifest["guard"]["reformer"], mirror=True)]
    write_manifest(pack_dir, manifest)
    insp = _inspector(pack_dir, use_guard=True)
    scores, val_pred = detector_scores(insp, x_val)
    screen = None
    if args.screen_rate < 1.0:
        screen = threshold_at_false_alarm_rate(scores["reconstruction"], args.screen_rate)
    # Which detectors to ship: chosen on FGSM (ε = 1/255 and 2/255) attacks of the *validation*
    # images against the model's own answers; the thresholds still come from the clean validation
    # images only.
    val_attacks, adv_val = [], {}
    for e in (1, 2):
        adv_val[e] = attacks.quantize01(attacks.fgsm(kp, x_val, val_pred, e / 255), x_val, e / 255)
        adv_scores, adv_pred = detector_scores(insp, adv_val[e])
        val_attacks.append((adv_scores, adv_pred != val_pred))
    success = val_attacks[-1][1]  # at 2/255: the reformer is chosen on these
    subset, thr, per_rate, union, screen, table = choose_detectors(scores, val_attacks, args.false_alarm_rate,
                                                                   screen)
    reformer, reformer_table = choose_reformer(insp, adv_val[2], success, x_val, val_pred, candidates)
    manifest["guard"]["reformer"] = reformer
    if pur_info and reformer.get("kind") != "purifier":
        # Not shipped: the file would only add to the pack's size.
        manifest["extra_files"].pop(PURIFIER_ROLE, None)
        pur_path.unlink(missing_ok=True)
        pur_info["shipped"] = False
    for row in table:
        _log(f"  validation, FGSM 1 and 2/255 ({int(success.sum())} successful at 2/255): {'+'.join(row['detectors'])}: "
             f"detects {100 * row['validation_detection']:.0f}% at {100 * row['validation_false_alarms']:.1f}% false alarms")
    for row in reformer_table:
        _log(f"  reformer {_reformer_name(row['reformer'])}: restores {100 * row['restored']:.0f}% of successful "
             f"attacks, keeps {100 * row['clean_kept']:.0f}% of clean answers")
    for name in list(detectors):
        if name not in subset:
            del detectors[name]
    for name, t in thr.items():
        detectors[name]["threshold"] = float(t)
        detectors[name]["false_alarm_rate"] = round(float(np.mean(scores[name] > t)), 4)
    manifest["guard"]["false_alarm_rate"] = round(union, 4)
    manifest["guard"]["screen"] = (None if screen is None else
                                   {"threshold": float(screen), "clean_pass_rate": args.screen_rate})
    manifest["guard"]["selection"] = {"attack": "FGSM eps 1/255 and 2/255 on the validation images (model's own answers)",
                                      "successful": int(success.sum()), "subsets": table,
                                      "reformers": reformer_table}
    _log("  thresholds on %d clean validation images: " % len(x_val)
         + ", ".join(f"{k} {v:.4g} ({100 * detectors[k]['false_alarm_rate']:.1f}%)" for k, v in thr.items())
         + f"; any detector {100 * union:.1f}%" + (f"; screen {screen:.4g}" if screen is not None else ""))
    write_manifest(pack_dir, manifest)

    # -- 3. evaluation on the test images -----------------------------------------------------------
    insp = _inspector(pack_dir, use_guard=True)
    clean = run_app(insp, x_test)
    clean_stats = clean_summary(clean, y_test)
    false_alarms = clean_stats["test_false_alarm_rate"]
    rows = []
    eps_list = [float(e) for e in str(args.eps).split(",") if e.strip()]
    t0 = time.perf_counter()
    for e in eps_list:
        eps = e / 255.0
        adv = attacks.quantize01(attacks.fgsm(kp, x_test, y_test, eps), x_test, eps)
        rows.append(attack_row("FGSM", eps, y_test, clean, run_app(insp, adv)))
        _log("  " + _row_text(rows[-1]))
    if args.bim_steps > 1:
        eps = 2 / 255.0
        adv = attacks.quantize01(attacks.fgsm(kp, x_test, y_test, eps, steps=args.bim_steps), x_test, eps)
        rows.append(attack_row(f"BIM ({args.bim_steps} steps)", eps, y_test, clean, run_app(insp, adv)))
        _log("  " + _row_text(rows[-1]))
    # The adaptive attacker who knows of the colour-noise floor: the same step on R, G and B.
    for e in [e for e in eps_list if e in (2.0, 4.0)] if args.grey_attack else []:
        eps = e / 255.0
        adv = attacks.quantize01(attacks.fgsm(kp, x_test, y_test, eps, grey=True), x_test, eps)
        rows.append(attack_row(GREY_ATTACK, eps, y_test, clean, run_app(insp, adv)))
        _log("  " + _row_text(rows[-1]))
    attack_s = time.perf_counter() - t0
    cost = guard_cost(pack_dir, x_test[:8])
    _log(f"  clean test images flagged: {100 * false_alarms:.1f}%; guard cost {cost}")

    results = {
        "data": sets.how,
        "n_train": len(train_paths), "n_val": len(val_paths), "n_test": len(test_paths),
        "autoencoder": ae_info,
        "purifier": pur_info,
        "target_false_alarm_rate": args.false_alarm_rate,
        "per_detector_rate": round(per_rate, 4),
        "validation_false_alarm_rate": round(union, 4),
        **clean_stats,
        "attacks": rows,
        "cost": cost,
        "seconds": {"attacks": round(attack_s, 1), "total": round(time.perf_counter() - t_start, 1)},
    }
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest.setdefault("metrics", {})["guard"] = results
    write_manifest(pack_dir, manifest)
    write_card_section(pack_dir, manifest, results)
    _log(f"guard done in {time.perf_counter() - t_start:.0f} s")
    if args.rendition and "noise" in manifest["guard"]["detectors"]:
        from training.guard.recalibrate_cmd import after_guard

        return after_guard(args)
    return 0

def refresh(pack_dir: Path, x_test: np.ndarray, y_test: np.ndarray) -> int:
    """Re-measure the clean test images and the cost with the current runtime; rewrite the card."""
    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    results = manifest["metrics"]["guard"]
    clean = run_app(_inspector(pack_dir, use_guard=True), x_test)
    results.update(clean_summary(clean, y_test))
    results["cost"] = guard_cost(pack_dir, x_test[:8])
    write_manifest(pack_dir, manifest)
    write_card_section(pack_dir, manifest, results)
    _log(f"  refreshed {pack_dir.name}: clean test images flagged {100 * results['test_false_alarm_rate']:.1f}% "
         f"(detectors {100 * results['test_false_alarm_rate_detectors']:.1f}%, out-of-domain "
         f"{100 * results['test_ood_refusal_rate']:.1f}%); cost {results['cost']}")
    return 0
