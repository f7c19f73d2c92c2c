"""The guard's trained reformer inputs and the purifier step of ``guard``: the attacked training mix
(FGSM / BIM at ε 1-8/255, also what the autoencoder's reformer learns from) and training, exporting and
checking (or keeping) the pack's purifier."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from training.guard import kept_guard_record
from training.guard.common import _log

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
