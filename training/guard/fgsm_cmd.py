"""``python -m training fgsm``: adversarial images against a pack's own Keras model.

    python -m training fgsm --pack ID --eps EPS [--targeted CLASS] [--steps K] [--step-size A]
                            [--random-start] [--grey] [--seed S] [--run-dir RUN] [--models-dir DIR]
                            [--batch-size N] [--report FILE] --out DIR PATH...

Every input image is decoded and fitted to the pack's input size with the app's own code, attacked
in [0, 1] pixel space through the pack's normalisation (see :mod:`training.guard.attacks`), and
written as a lossless PNG ``DIR/<stem>.png`` at the input size. The saved pixels never move by more
than EPS (when EPS is not a multiple of 1/255 the saved file moves by at most floor(EPS*255)/255).

- ``--steps 1`` (default) is FGSM; ``--steps K`` is BIM, with ``--random-start`` PGD. The default
  step size is EPS for FGSM and 2.5*EPS/K for K > 1.
- Untargeted, the label attacked is the model's own prediction on the clean image; ``--targeted
  CLASS`` (name, human label or index) descends the loss of CLASS instead.
- Before attacking, the rebuilt Keras model is checked against the pack's ONNX file on the clean
  images (probabilities within 1e-3), so the run folder is the one the pack was exported from.
- One line per image (clean label/confidence -> adversarial label/confidence, as the pack's ONNX
  model sees the saved pixels) and a final count of successful attacks.

Exit codes: 0 every input was attacked and written, 1 some inputs failed, 2 usage error (bad
arguments, unknown or unusable pack, no kept Keras weights, mismatched run folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

PARITY_TOLERANCE = 1e-3


def parse_amount(text: str) -> float:
    """``2/255`` or ``0.0078`` -> float."""
    try:
        value = float(Fraction(text.strip())) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a fraction like 2/255") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "FGSM / BIM / PGD adversarial images against a pack's own Keras model."
    parser.add_argument("--pack", required=True, help="pack id (bundled or user pack, or in --models-dir)")
    parser.add_argument("--eps", required=True, type=parse_amount,
                        help="L-infinity budget in [0, 1] pixel scale, e.g. 2/255 or 0.0078")
    parser.add_argument("--targeted", metavar="CLASS", default=None,
                        help="targeted attack towards CLASS (class name, label or index)")
    parser.add_argument("--steps", type=int, default=1, help="1: FGSM (default); K > 1: BIM (PGD with --random-start)")
    parser.add_argument("--step-size", type=parse_amount, default=None,
                        help="step size in pixel scale (default: EPS for one step, 2.5*EPS/K for K steps)")
    parser.add_argument("--random-start", action="store_true", help="start from a uniform random point in the ball (PGD)")
    parser.add_argument("--grey", action="store_true",
                        help="the same step on R, G and B: a perturbation without colour (what an attacker who "
                             "knows of the guard's colour-noise floor would do)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random start (default 0)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="training run folder of a pipeline pack (default runs/<pack id>)")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="look for the pack in this folder only (default: the app's bundled and user packs)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per gradient batch (default 16)")
    parser.add_argument("--report", type=Path, default=None, help="also write a JSON report to this file")
    parser.add_argument("--out", type=Path, required=True, help="folder for the adversarial PNGs")
    parser.add_argument("paths", nargs="+", type=Path, help="image files or folders (recursed)")


def _eps_text(eps: float) -> str:
    k = eps * 255.0
    return f"{eps:.5g} = {k:.3g}/255"


def _resolve_class(text: str, manifest) -> int | None:
    names = list(manifest.class_names)
    if text in names:
        return names.index(text)
    lowered = [c.label.lower() for c in manifest.classes]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.isdigit() and int(text) < len(names):
        return int(text)
    return None


def _unique_stem(stem: str, used: set[str]) -> str:
    name, n = stem, 2
    while name in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    return name


def run(args: argparse.Namespace) -> int:
    from inference.errors import ImageReadError, TilikError
    from inference.imageio import iter_image_paths, load_image
    from inference.preprocess import fit_to_input

    def usage(msg: str) -> int:
        print(f"error: {msg}", file=sys.stderr)
        return 2

    eps, steps = float(args.eps), int(args.steps)
    if not 0 < eps <= 1:
        return usage(f"--eps must be in (0, 1] on the [0, 1] pixel scale (2/255 is two grey levels), got {eps}")
    if steps < 1:
        return usage(f"--steps must be at least 1, got {steps}")
    if args.step_size is not None and not args.step_size > 0:
        return usage(f"--step-size must be positive, got {args.step_size}")
    if args.batch_size < 1:
        return usage("--batch-size must be at least 1")
    paths = iter_image_paths(list(args.paths))
    if not paths:
        return usage("no input images (the folders given are empty)")

    from training.guard.attacks import attack_success, default_step_size, fgsm, quantize01
    from training.guard.keras_pack import KerasPackError, load_keras_pack, to_uint8
    from training.lite0.model import WeightsNotFoundError

    try:
        kp = load_keras_pack(args.pack, run_dir=args.run_dir, models_dir=args.models_dir)
    except (KerasPackError, TilikError, WeightsNotFoundError) as exc:
        return usage(str(exc))
    manifest, spec = kp.manifest, kp.spec
    targeted = args.targeted is not None
    target = None
    if targeted:
        target = _resolve_class(args.targeted, manifest)
        if target is None:
            shown = ", ".join(manifest.class_names[:10]) + (", ..." if len(manifest.classes) > 10 else "")
            return usage(f"--targeted {args.targeted!r} is not a class of pack '{manifest.id}' ({shown})")
    alpha = default_step_size(eps, steps) if args.step_size is None else float(args.step_size)
    kind = "FGSM" if steps == 1 and not args.random_start else ("PGD" if args.random_start else "BIM")
    print(f"{kind} on pack '{manifest.id}' {manifest.version} ({kp.source}): eps {_eps_text(eps)}, "
          f"{steps} step(s) of {alpha:.4g}" + (f", targeted at {manifest.classes[target].name}" if targeted else ""),
          file=sys.stderr)
    if abs(eps * 255 - round(eps * 255)) > 1e-3:
        print(f"note: eps {eps:.5g} is not a multiple of 1/255; the saved PNGs move each pixel by at most "
              f"{int(np.floor(eps * 255 + 1e-4))}/255 (e.g. use 2/255 for two grey levels)", file=sys.stderr)

    # -- decode -------------------------------------------------------------------------------
    failures = 0
    sources: list[Path] = []
    fitted: list[np.ndarray] = []
    for p in paths:
        try:
            fitted.append(fit_to_input(load_image(p).rgb, spec)[0])
            sources.append(p)
        except ImageReadError as exc:
            print(f"{p}: error: {exc}")
            failures += 1
    if not sources:
        print(f"0/0 successful attacks; all {failures} input(s) failed")
        return 1
    x01 = np.stack(fitted).astype(np.float32) / 255.0

    # -- the Keras model must be the one the ONNX file was exported from ----------------------
    clean_logits = kp.logits(x01, args.batch_size)
    clean_onnx = kp.onnx_probs(x01, args.batch_size)
    diff = float(np.max(np.abs(_softmax(clean_logits) - clean_onnx)))
    if diff > PARITY_TOLERANCE:
        return usage(f"the Keras model from {kp.source} does not match the pack's ONNX file (probabilities differ "
                     f"by up to {diff:.3g} on these images): it is not the model pack '{manifest.id}' was exported "
                     "from. Export the run again, or point --run-dir at the right run folder.")
    clean_pred = np.argmax(clean_onnx, 1)
    labels = np.full(len(x01), target, np.int64) if targeted else np.argmax(clean_logits, 1)

    # -- attack, quantise to what the PNG holds, look again -----------------------------------
    t0 = time.perf_counter()
    adv = fgsm(kp, x01, labels, eps, targeted=targeted, steps=steps, step_size=alpha,
               random_start=args.random_start, seed=args.seed, batch_size=args.batch_size, grey=args.grey)
    attack_s = time.perf_counter() - t0
    adv_q = quantize01(adv, x01, eps)
    adv_onnx = kp.onnx_probs(adv_q, args.batch_size)
    adv_keras = _softmax(kp.logits(adv_q, args.batch_size))
    adv_pred = np.argmax(adv_onnx, 1)
    success = attack_success(clean_pred, adv_pred, labels, targeted)
    linf = np.max(np.abs(adv_q - x01).reshape(len(x01), -1), axis=1)
    disagree = int(np.sum(np.argmax(adv_keras, 1) != adv_pred))

    # -- write ----------------------------------------------------------------------------------
    from PIL import Image

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    records = []
    label_of = [c.label for c in manifest.classes]
    for i, src in enumerate(sources):
        dest = out_dir / f"{_unique_stem(src.stem, used)}.png"
        Image.fromarray(to_uint8(adv_q[i])).save(dest, format="PNG")
        c, a = int(clean_pred[i]), int(adv_pred[i])
        if targeted:
            status = ("already the target" if c == target else "target reached" if success[i] else "target missed")
        else:
            status = ("model already wrong" if c != labels[i] else "fooled" if success[i] else "resisted")
        print(f"{src} -> {dest}: {label_of[c]} {clean_onnx[i, c]:.3f} -> {label_of[a]} {adv_onnx[i, a]:.3f} "
              f"({status}, L∞ {linf[i] * 255:.0f}/255)")
        records.append({
            "path": str(src), "adversarial": str(dest),
            "clean": {"label": manifest.class_names[c], "confidence": float(clean_onnx[i, c])},
            "adversarial_prediction": {"label": manifest.class_names[a], "confidence": float(adv_onnx[i, a])},
            "attacked_label": manifest.class_names[int(labels[i])], "success": bool(success[i]),
            "linf": float(linf[i]), "status": status,
        })
    n = len(sources)
    per_image = attack_s / n
    print(f"{int(success.sum())}/{n} successful attacks ({kind}{', targeted' if targeted else ''}, eps {_eps_text(eps)}, "
          f"{steps} step(s) of {alpha:.4g}); {n} PNG(s) in {out_dir}; {per_image:.2f} s per image"
          + (f"; {failures} input(s) failed" if failures else ""))
    if disagree:
        print(f"note: on {disagree} adversarial image(s) the Keras model and the ONNX file predict different classes "
              "(the image sits on a decision boundary)", file=sys.stderr)
    if args.report is not None:
        report = {
            "pack": manifest.id, "pack_version": manifest.version, "keras_source": kp.source, "attack": kind,
            "eps": eps, "steps": steps, "step_size": alpha, "random_start": bool(args.random_start),
            "seed": args.seed, "targeted": manifest.class_names[target] if targeted else None,
            "successes": int(success.sum()), "images": n, "failures": failures,
            "parity_clean_max_abs": diff, "seconds_per_image": per_image, "records": records,
        }
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if failures else 0


def _softmax(logits: np.ndarray) -> np.ndarray:
    from training.guard.keras_pack import softmax

    return softmax(logits)
