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

REPO_ROOT = Path(__file__).resolve().parents[2]
CARD_BEGIN = "<!-- guard:begin -->"
CARD_END = "<!-- guard:end -->"
GREY_ATTACK = "FGSM, grey (no colour)"


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


def _log(msg: str) -> None:
    print(msg, flush=True)


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


def _subsample(items: list, labels: np.ndarray | None, k: int, rng) -> tuple[list, np.ndarray | None]:
    if len(items) <= k:
        return items, labels
    idx = np.sort(rng.choice(len(items), k, replace=False))
    return [items[i] for i in idx], (labels[idx] if labels is not None else None)


def write_manifest(pack_dir: Path, data: dict) -> None:
    from inference.manifest import validate_manifest

    validate_manifest(data)
    tmp = pack_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(pack_dir / "manifest.json")


def _inspector(pack_dir: Path, use_guard: bool):
    from inference.inspector import Inspector, clear_session_cache
    from inference.registry import check_pack

    clear_session_cache()
    return Inspector(check_pack(pack_dir), None, use_guard=use_guard)


def detector_scores(inspector, images01: np.ndarray, batch: int = 16) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every detector's raw score on pixel images, unscreened (calibration sees them all), and the
    classifier's predicted class per image."""
    from inference.guard import pixels_to_tensor

    out: dict[str, list] = {}
    preds = []
    spec = inspector.manifest.input
    for s in range(0, len(images01), batch):
        t = pixels_to_tensor(images01[s:s + batch], spec)
        o = inspector.run_tensors(t)
        preds.append(np.argmax(o["probs"], axis=1))
        sc, _ = inspector.guard.scores(t, o, screen=False)
        for k, v in sc.items():
            out.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in out.items()}, np.concatenate(preds)


# Cheapest first: on a tie the earlier (cheaper) set wins.
SUBSETS = (("noise",), ("reconstruction",), ("noise", "reconstruction"), ("noise", "squeeze"),
           ("reconstruction", "divergence"), ("reconstruction", "squeeze"), ("noise", "reconstruction", "divergence"),
           ("noise", "reconstruction", "squeeze"), ("reconstruction", "divergence", "squeeze"))
# Reformer candidates: the autoencoder (the study's), JPEG re-compression at a few qualities, and
# the strongest of those on the mirrored image (on 200 held-out ImageNet samples, FGSM 2/255: JPEG q20
# gave back 64.0% correct answers, mirrored 69.0%, with 76% of clean answers right either way; on the
# 200 validation images the calibration uses, the two tied at 62%).
REFORMERS = ({"kind": "autoencoder"}, {"kind": "jpeg", "quality": 50}, {"kind": "jpeg", "quality": 30},
             {"kind": "jpeg", "quality": 20}, {"kind": "jpeg", "quality": 20, "mirror": True})
# The reformer answers only for flagged images (about 5% of clean ones), so one that changes a third
# of clean answers costs under 2 points of clean accuracy; below that it is more noise than help.
REFORMER_MIN_CLEAN_KEPT = 0.65
PURIFIER_ROLE = "guard_purifier"
PURIFIER = {"kind": "purifier", "model": PURIFIER_ROLE}


def purifier_reformer(jpeg_quality: int) -> dict:
    """The manifest's reformer entry for the purifier (with its JPEG pre-step when it has one)."""
    return dict(PURIFIER, jpeg_quality=int(jpeg_quality)) if jpeg_quality else dict(PURIFIER)


def choose_detectors(clean: dict, attacks: list[tuple[dict, np.ndarray]], target: float,
                     screen: float | None) -> tuple:
    """The detector subset that catches most successful validation attacks (mean over ``attacks``,
    each ``(scores, success mask)``) with any-detector false alarms on clean validation images
    within ``target``; ties go to the cheaper set. Returns ``(subset, thresholds, per-detector
    rate, union, screen, table)``."""
    from inference.guard import GATED, fired_any, joint_thresholds

    table, best = [], None
    for subset in SUBSETS:
        if any(d not in clean for d in subset):
            continue
        gated = any(d in GATED for d in subset)
        scr = screen if gated and "reconstruction" in subset else None
        thr, rate, union = joint_thresholds({d: clean[d] for d in subset}, target, screen=scr)
        rates = [float(fired_any({d: adv[d][ok] for d in subset}, thr, scr).mean()) if ok.any() else 0.0
                 for adv, ok in attacks]
        det = float(np.mean(rates))
        table.append({"detectors": list(subset), "validation_detection": round(det, 4),
                      "validation_detection_per_attack": [round(r, 4) for r in rates],
                      "validation_false_alarms": round(union, 4)})
        if best is None or det > best[0] + 1e-9:
            best = (det, subset, thr, rate, union, scr)
    _, subset, thr, rate, union, scr = best
    return subset, thr, rate, union, scr, table


def _reformer_name(r: dict) -> str:
    mirror = "mirrored, " if r.get("mirror") else ""
    if r["kind"] == "purifier":
        first = f"JPEG quality {r['jpeg_quality']}, then " if r.get("jpeg_quality") else ""
        return f"{mirror}{first}purifier (denoiser trained through the classifier)"
    return mirror + ("autoencoder" if r["kind"] == "autoencoder" else f"JPEG quality {r['quality']}")


class PurifierError(RuntimeError):
    """No purifier to keep (exit code 2), or the exported one disagrees with Keras (1)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def attack_mix(kp, x01: np.ndarray, labels: np.ndarray, rng, bim_share: float = 0.0) -> np.ndarray:
    """Each image attacked at an ε drawn from 1, 2, 4, 8/255: FGSM, or BIM (5 steps) for
    ``bim_share`` of them; quantized to 8 bits as a saved image would be."""
    from training.guard import attacks

    out = np.empty_like(x01)
    eps = rng.choice([1, 2, 4, 8], len(x01))
    steps = np.where(rng.random(len(x01)) < bim_share, 5, 1)
    for e in (1, 2, 4, 8):
        for k in (1, 5):
            sel = np.flatnonzero((eps == e) & (steps == k))
            if len(sel):
                adv = attacks.fgsm(kp, x01[sel], labels[sel], e / 255, steps=k)
                out[sel] = attacks.quantize01(adv, x01[sel], e / 255)
    return out


def pack_purifier(kp, x_train: np.ndarray, x_val: np.ndarray, path: Path, args) -> dict | None:
    """Train (or keep) the pack's purifier and export it to ``path``; its facts for the manifest,
    or None with ``--purifier-epochs 0``. Training inputs: ``--purifier-variants`` attacked copies
    of each training image (FGSM or, for 30% of them, BIM with 5 steps; ε drawn from 1-8/255)
    against the classifier's own answers; validation: FGSM 2/255 on up to 128 validation images."""
    from training.guard import attacks, purifier

    if args.keep_purifier:
        info = kept_guard_record(path.parent, "purifier", path.name)
        if not info:
            raise PurifierError(f"{path.parent.name} has no purifier to keep: run without --keep-purifier", 2)
        _log(f"  purifier kept ({path.name}, {info.get('weights')} weights)")
        return dict(info, shipped=True)
    path.unlink(missing_ok=True)
    if args.purifier_epochs <= 0:
        return None
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed + 11)
    own = np.argmax(kp.logits(x_train), axis=1)
    adv = np.stack([attack_mix(kp, x_train, own, rng, bim_share=0.3) for _ in range(args.purifier_variants)])
    xv = x_val[:128]
    adv_val = attacks.quantize01(attacks.fgsm(kp, xv, np.argmax(kp.logits(xv), axis=1), 2 / 255), xv, 2 / 255)
    _log(f"  purifier: {args.purifier_variants} attacked copies of {len(x_train)} training images in "
         f"{time.perf_counter() - t0:.0f} s")
    from inference.guard import jpeg_reform

    q = int(args.purifier_jpeg)
    model, history = purifier.train_purifier(kp.model, kp.to_model_input, x_train, adv, xv, adv_val,
                                             prepare=(lambda x: jpeg_reform(x, q)) if q else None,
                                             epochs=args.purifier_epochs, seed=args.seed, log=_log)
    train_s = time.perf_counter() - t0
    purifier.export_purifier(model, path, (kp.spec.height, kp.spec.width))
    par = purifier.parity(model, path, x_val[:8])
    best = history["epochs"][history["best_epoch"] - 1]
    _log(f"  purifier: {model.count_params()} weights, best epoch {history['best_epoch']}, {train_s:.0f} s; "
         f"ONNX parity {par:.1e}")
    if par > 1e-4:
        raise PurifierError(f"purifier parity {par:.2e} above 1e-4", 1)
    return {"weights": int(model.count_params()), "epochs": args.purifier_epochs, "best_epoch": history["best_epoch"],
            "variants": args.purifier_variants, "jpeg_quality": q, "loss": purifier.DEFAULT_LOSS,
            "parity_max_abs": par, "train_s": round(train_s, 1),
            "validation_restored": round(best["val_attacked_restored"], 4),
            "validation_clean_kept": round(best["val_clean_kept"], 4),
            "validation_before": round(history["validation_before"], 4), "shipped": True}


def choose_reformer(inspector, adv01: np.ndarray, success: np.ndarray, clean01: np.ndarray,
                    clean_pred: np.ndarray, candidates=REFORMERS) -> tuple[dict, list]:
    """The reformer that gives back the model's clean answer on most successful validation attacks,
    among those that keep at least ``REFORMER_MIN_CLEAN_KEPT`` of the answers on clean images (the
    reformer also runs on clean false alarms). Returns ``(reformer, table)``."""
    from inference.guard import pixels_to_tensor

    guard, spec = inspector.guard, inspector.manifest.input

    def answers(x01, reformer):
        out = []
        for s in range(0, len(x01), 16):
            o = inspector.run_tensors(pixels_to_tensor(guard.reform(x01[s:s + 16], reformer), spec))
            out.append(np.argmax(o["probs"], axis=1))
        return np.concatenate(out)

    table, best = [], None
    for r in candidates:
        restored = float((answers(adv01[success], r) == clean_pred[success]).mean()) if success.any() else 0.0
        kept = float((answers(clean01, r) == clean_pred).mean())
        table.append({"reformer": dict(r), "restored": round(restored, 4), "clean_kept": round(kept, 4)})
        if kept >= REFORMER_MIN_CLEAN_KEPT and (best is None or restored > best[0] + 1e-9):
            best = (restored, dict(r))
    return (best[1] if best else {"kind": "autoencoder"}), table


def run_app(inspector, images01: np.ndarray) -> dict:
    """The app's answers on pixel images (uint8 at the input size, so decoding is lossless)."""
    u8 = [np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8) for x in images01]
    names = list(inspector.manifest.class_names)
    items = inspector.classify_batch(u8, batch_size=16)
    labels, flagged, mitigated, reasons = [], [], [], []
    for it in items:
        r = it.result
        labels.append(names.index(r.model_label or r.label))  # the policy's class, refused or not
        g = r.guard
        flagged.append(bool(g and g.flagged))
        mitigated.append(names.index(r.mitigated.label) if r.mitigated else names.index(r.model_label or r.label))
        reasons.append([x.split(":", 1)[0] for x in (g.reasons if g else ())])
    return {"label": np.array(labels), "flagged": np.array(flagged), "mitigated": np.array(mitigated),
            "reasons": reasons}


def attack_row(name: str, eps: float, y: np.ndarray, clean: dict, adv: dict) -> dict:
    clean_ok = clean["label"] == y
    success = clean_ok & (adv["label"] != y)
    detected = adv["flagged"] & success
    final = np.where(adv["flagged"], adv["mitigated"], adv["label"])
    by = {}
    for rs, s in zip(adv["reasons"], success):
        if s:
            for k in rs:
                by[k] = by.get(k, 0) + 1
    return {
        "attack": name, "eps_255": round(eps * 255, 3), "n": int(len(y)),
        "clean_accuracy": float(clean_ok.mean()),
        "attacked_accuracy": float((adv["label"] == y).mean()),
        "mitigated_accuracy": float((final == y).mean()),
        "successful_attacks": int(success.sum()),
        "detected_successful": int(detected.sum()),
        "detection_rate": float(detected.sum() / success.sum()) if success.sum() else None,
        "flagged_all_attacked": float(adv["flagged"].mean()),
        "detected_by": by,
    }


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


def clean_summary(clean: dict, y: np.ndarray) -> dict:
    """False alarms on clean test images: by any detector, by the adversarial detectors alone (the
    pack's out-of-domain refusals, calibrated on their own at the pack's acceptance rate, apart)."""
    by_detector = np.array([any(k != "ood" for k in rs) for rs in clean["reasons"]])
    by_ood = np.array(["ood" in rs for rs in clean["reasons"]])
    return {
        "test_false_alarm_rate": round(float(clean["flagged"].mean()), 4),
        "test_false_alarm_rate_detectors": round(float(by_detector.mean()), 4),
        "test_ood_refusal_rate": round(float(by_ood.mean()), 4),
        "test_clean_accuracy": float((clean["label"] == y).mean()),
        "test_clean_mitigated_accuracy": float((np.where(clean["flagged"], clean["mitigated"], clean["label"]) == y).mean()),
    }


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


def _row_text(r: dict) -> str:
    det = "n/a" if r["detection_rate"] is None else f"{100 * r['detection_rate']:.0f}%"
    return (f"{r['attack']} ε={r['eps_255']:g}/255: accuracy clean {100 * r['clean_accuracy']:.1f}% → attacked "
            f"{100 * r['attacked_accuracy']:.1f}% → mitigated {100 * r['mitigated_accuracy']:.1f}%; "
            f"{r['successful_attacks']} successful, detected {det}")


def guard_cost(pack_dir: Path, images01: np.ndarray, repeat: int = 10) -> dict:
    """Median single-image time (ms) of the app's classify without and with the guard (indicative:
    the benchmark measures it properly)."""
    u8 = [np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8) for x in images01]
    out = {}
    for label, use in (("without_guard_ms", False), ("with_guard_ms", True)):
        insp = _inspector(pack_dir, use_guard=use)
        for im in u8[:3]:
            insp.classify(im)
        ts = []
        for k in range(repeat):
            t = time.perf_counter()
            insp.classify(u8[k % len(u8)])
            ts.append((time.perf_counter() - t) * 1e3)
        out[label] = round(float(np.median(ts)), 2)
    out["ratio"] = round(out["with_guard_ms"] / out["without_guard_ms"], 3)
    return out


def write_card_section(pack_dir: Path, manifest: dict, results: dict) -> None:
    """Replace (or append) the guard section of CARD.md, with an accuracy-vs-ε plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = manifest["guard"]
    fgsm_rows = [r for r in results["attacks"] if r["attack"] == "FGSM"]
    if fgsm_rows:
        fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=110)
        e = [0] + [r["eps_255"] for r in fgsm_rows]
        clean_acc = results["test_clean_accuracy"]
        ax.plot(e, [clean_acc] * len(e), "k--", label="clean")
        ax.plot(e, [clean_acc] + [r["attacked_accuracy"] for r in fgsm_rows], "r-o", label="attacked (FGSM)")
        ax.plot(e, [results["test_clean_mitigated_accuracy"]] + [r["mitigated_accuracy"] for r in fgsm_rows],
                "g-o", label="after mitigation")
        ax.set_xlabel("ε (/255)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(f"{manifest['id']}: FGSM and the guard", fontsize=9)
        fig.tight_layout()
        fig.savefig(pack_dir / "guard_accuracy_vs_eps.png")
        plt.close(fig)
    ae = results["autoencoder"]
    lines = [CARD_BEGIN, "## Input guard (adversarial and unfamiliar inputs)", ""]
    lines.append(
        f"Every image is also checked by the pack's input guard (`guard_ae.onnx`, a {ae['weights']:,}-weight "
        f"residual denoising autoencoder trained on clean training images, their noisy copies and FGSM versions "
        f"of them made against {'the ' + ae['reused_from'] + ' classifier (shared with that pack)' if ae.get('reused_from') else 'this classifier'}, "
        f"best of {ae['epochs']} epochs; ONNX parity "
        f"{ae['parity_max_abs']:.1e}). Data: {results['data']}.")
    pur = results.get("purifier")
    if pur:
        loss = ("cross-entropy of its answer to the classifier's softmax on the clean image"
                if pur.get("loss", "l1") == "kl" else "L1 between its logits and the classifier's on the clean image")
        first = f"JPEG quality {pur['jpeg_quality']} re-compression, then " if pur.get("jpeg_quality") else ""
        lines += ["", (f"The reformer candidate *purifier* (`guard_purifier.onnx`): {first}a {pur['weights']:,}-weight "
                       "residual U-Net trained through the frozen classifier (the guided denoiser of Liao et al. 2018; "
                       f"loss: {loss}) on {pur['variants']} attacked copies of each training image (FGSM or BIM, "
                       f"ε 1-8/255) and on the clean images, best of {pur['epochs']} epochs. On FGSM 2/255 validation "
                       f"images it gives back the clean answer for {100 * pur['validation_restored']:.0f}% ("
                       + ("the JPEG step alone" if pur.get("jpeg_quality") else "attacked as they are")
                       + f": {100 * pur['validation_before']:.0f}%) and keeps "
                       f"{100 * pur['validation_clean_kept']:.0f}% of the answers on clean ones; ONNX parity "
                       f"{pur['parity_max_abs']:.1e}."
                       + ("" if pur.get("shipped", True) else " It lost to the reformer below and is not shipped."))]
    lines += ["", "| detector | what it measures | threshold | clean validation images flagged |", "|---|---|---|---|"]
    what = {"reconstruction": "noise floor: the smallest mean absolute difference between image and reconstruction over 8×8 tiles",
            "divergence": "Jensen-Shannon divergence of the verdict on the image vs on its reconstruction",
            "squeeze": "L1 change of the probabilities under a 3×3 median filter (feature squeezing)",
            "noise": "colour-noise floor: the smallest mean absolute Laplacian of the chroma (Cb, Cr) over 16×16 tiles (no model)"}
    for name, d in g["detectors"].items():
        lines.append(f"| {name} | {what[name]} | {d['threshold']:.4g} | {100 * d['false_alarm_rate']:.1f}% |")
    if manifest.get("ood"):
        lines.append(f"| ood | the pack's out-of-domain score | {manifest['ood']['threshold']:.4g} | "
                     f"{100 * (1 - manifest['ood'].get('in_domain_acceptance', 0.95)):.0f}% (its own calibration) |")
    sel = g.get("selection")
    if sel:
        lines += ["", f"Detectors shipped: chosen on {sel['attack']} ({sel['successful']} successful attacks), "
                  "as the set that catches the most of them at the false-alarm target:", "",
                  "| detectors | validation detection (mean) | per attack | validation false alarms |",
                  "|---|---|---|---|"]
        lines += [f"| {' + '.join(r['detectors'])} | {100 * r['validation_detection']:.0f}% | "
                  + " / ".join(f"{100 * x:.0f}%" for x in r.get("validation_detection_per_attack", []))
                  + f" | {100 * r['validation_false_alarms']:.1f}% |" for r in sel["subsets"]]
        if sel.get("reformers"):
            chosen = g.get("reformer") or {"kind": "autoencoder"}
            lines += ["", "Reformer (what a flagged image is cleaned with before it is classified again): chosen on the "
                      "successful validation attacks at 2/255 as the one that gives back the most clean answers, "
                      f"among those that keep at least {100 * REFORMER_MIN_CLEAN_KEPT:.0f}% of the answers on clean images:", "",
                      "| reformer | successful attacks restored | clean answers kept |", "|---|---|---|"]
            lines += [f"| {_reformer_name(r['reformer'])}{' ← shipped' if r['reformer'] == chosen else ''} | "
                      f"{100 * r['restored']:.0f}% | {100 * r['clean_kept']:.0f}% |" for r in sel["reformers"]]
    uses_ae = any(d in g["detectors"] for d in ("reconstruction", "divergence")) or \
        (g.get("reformer") or {"kind": "autoencoder"})["kind"] == "autoencoder"
    if not uses_ae:
        lines += ["", "The autoencoder ships with the pack and is measured above, but at the chosen operating point "
                  "neither the detectors nor the reformer need it, so the app does not run it."]
    scr = g.get("screen")
    lines += ["", f"Thresholds: set together on clean validation images so that any of them flags at most "
              f"{100 * results['target_false_alarm_rate']:.0f}% of them (measured {100 * results['validation_false_alarm_rate']:.1f}%; "
              f"on the clean test images {100 * results['test_false_alarm_rate']:.1f}%"
              + (f": {100 * results['test_false_alarm_rate_detectors']:.1f}% by these detectors, "
                 f"{100 * results['test_ood_refusal_rate']:.1f}% refused as out-of-domain by the pack's own OOD check"
                 if "test_false_alarm_rate_detectors" in results else "") + ")."]
    if scr:
        lines.append(f"Cost control: the divergence and squeeze detectors (which run the classifier again) run only when "
                     f"the reconstruction error is above {scr['threshold']:.4g}, which {100 * scr['clean_pass_rate']:.0f}% "
                     f"of clean validation images are. A flagged result always needs review, and the classifier's answer "
                     f"on the reconstruction (the *reformer*) is shown beside the original.")
    from training.guard.recalibrate_cmd import card_lines

    lines += card_lines(results)
    c = results["cost"]
    lines.append(f"Single-image time here (indicative; see `benchmarks/results.md`): {c['without_guard_ms']:.1f} ms without, "
                 f"{c['with_guard_ms']:.1f} ms with the guard ({c['ratio']:.2f}×).")
    lines += ["", f"### Attacks on {results['n_test']} test images (white-box against the classifier only)", "",
              "| attack | ε | accuracy clean | attacked | after mitigation | successful attacks | detected | all attacked images flagged |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results["attacks"]:
        det = "—" if r["detection_rate"] is None else f"{100 * r['detection_rate']:.0f}% ({r['detected_successful']}/{r['successful_attacks']})"
        lines.append(f"| {r['attack']} | {r['eps_255']:g}/255 | {100 * r['clean_accuracy']:.1f}% | "
                     f"{100 * r['attacked_accuracy']:.1f}% | {100 * r['mitigated_accuracy']:.1f}% | {r['successful_attacks']} | "
                     f"{det} | {100 * r['flagged_all_attacked']:.0f}% |")
    lines += ["", "Accuracy is the app's verdict against the true label; *after mitigation* takes the reformer's answer "
              "for flagged images and the original answer otherwise. The study's anchor: MobileNet on ImageNet, "
              "92.64% clean → 14.58% under FGSM → 91.67% after its autoencoder.", ""]
    at2 = next((r for r in fgsm_rows if abs(r["eps_255"] - 2) < 1e-6), None)
    if at2 is not None:
        target = 0.9 * at2["clean_accuracy"]
        if at2["mitigated_accuracy"] < target:
            lines += [f"**Mitigation falls short here**: at ε = 2/255 the reformer brings accuracy from "
                      f"{100 * at2['attacked_accuracy']:.1f}% to {100 * at2['mitigated_accuracy']:.1f}%, below 90% of clean "
                      f"accuracy ({100 * target:.1f}%). Treat a flagged result as untrusted and look at the item itself; "
                      "the reformer's answer is a hint, not a correction.", ""]
        det = at2["detection_rate"]
        if det is not None and det < 0.9:
            lines += [f"**Detection falls short of 90% at ε = 2/255** ({100 * det:.0f}%): perturbations this small are "
                      "caught only in part; from ε = 4/255 on see the table.", ""]
    grey = [r for r in results["attacks"] if r["attack"] == GREY_ATTACK]
    if grey:
        txt = ", ".join(("n/a" if r["detection_rate"] is None else "%.0f%%" % (100 * r["detection_rate"]))
                        + f" at {r['eps_255']:g}/255" for r in grey)
        lines += [f"**Against an attacker who knows of the colour-noise floor** (*{GREY_ATTACK}*: the same step on "
                  f"R, G and B, so the perturbation has no colour) the guard detects {txt} of the successful attacks: "
                  "this is the white-box limit below, measured.", ""]
    if fgsm_rows:
        lines += ["![accuracy vs ε](guard_accuracy_vs_eps.png)", ""]
    lines += ["**The white-box limit.** These attacks know the classifier but not the guard. An attacker who also "
              "differentiates through the autoencoder and the detectors can craft images that pass them (MagNet's "
              "authors concede this; Carlini & Wagner 2017 showed it). The colour-noise floor is the easiest to "
              "evade for an attacker who knows of it: a perturbation kept out of the chroma (the same change in R, G "
              "and B) or smoothed leaves it unmoved. It also assumes photos like the training ones: a lossless, "
              "noisy-sensor or synthetic image with real fine colour detail can raise a false alarm (measured above "
              "on clean test images). The guard raises the cost of an attack and "
              "catches careless or transferred ones; it is not a proof of robustness.", CARD_END, ""]
    section = "\n".join(lines)
    card = pack_dir / "CARD.md"
    text = card.read_text(encoding="utf-8") if card.exists() else f"# {manifest['id']}\n\n"
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        tail = rest.split(CARD_END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    card.write_text(text, encoding="utf-8")
