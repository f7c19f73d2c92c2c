"""The training loop shared by the head stage and the fine-tuning stage.

Each epoch trains on one array of inputs (an augmented copy of the training set's cached
features: copies are cycled, so consecutive epochs see different augmentations), with a
class-weighted cross-entropy, then scores the validation set. Early stopping watches one
validation metric and restores the best weights. Every epoch is one row of the run's history
(``history.csv``) and one line of the log; a progress bar runs on a terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from training.pipeline.evaluate import quick_metrics
from training.pipeline.features import Progress


def class_weights(labels: np.ndarray, n_classes: int, mode: str | None) -> np.ndarray:
    """Per-class loss weights: ``balanced`` = N / (C * n_c); ``sqrt`` = its square root (milder);
    ``none`` = 1. Normalised so the average weight over the training items is 1."""
    counts = np.bincount(np.asarray(labels, int), minlength=n_classes).astype(np.float64)
    if mode in (None, "none"):
        w = np.ones(n_classes)
    else:
        w = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
        if mode == "sqrt":
            w = np.sqrt(w)
    mean_w = np.sum(w * counts) / max(counts.sum(), 1)
    return (w / mean_w).astype(np.float32)


@dataclass
class StageResult:
    """What one stage did: its history rows, best epoch and metric, and how long it took."""

    stage: str
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_value: float = float("nan")
    seconds: float = 0.0
    stopped_early: bool = False


def _better(monitor: str, new: float, best: float | None) -> bool:
    if best is None or np.isnan(best):
        return not np.isnan(new)
    return new < best if monitor == "loss" else new > best


def train_stage(model, *, stage: str, train_inputs: Callable[[int], np.ndarray], train_labels: np.ndarray,
                val_inputs: np.ndarray, val_labels: np.ndarray, n_classes: int, weights: np.ndarray,
                epochs: int, lr: float, patience: int, monitor: str, batch_size: int, seed: int,
                label_smoothing: float = 0.0, weight_decay: float = 0.0,
                lr_groups: dict[str, float] | None = None, cosine: bool = False, aux: dict | None = None,
                log=print) -> StageResult:
    """Train ``model`` (inputs -> logits) for up to ``epochs`` epochs with early stopping.

    ``train_inputs(epoch)`` returns that epoch's inputs (same order as ``train_labels``).
    ``lr_groups`` maps a layer-name prefix to its own learning rate (e.g. the head learns faster
    than the fine-tuned blocks); variables of other layers use ``lr``. ``cosine`` decays every rate
    along half a cosine over the planned epochs (to 5% of its start).

    ``aux`` adds a second loss (the mask loss of :mod:`training.pipeline.masks`): the model then
    returns ``[logits, extra]``; ``aux["targets"](epoch)`` gives that epoch's per-item ``(pos, neg)``
    arrays, ``aux["loss"](extra, pos, neg)`` a scalar added with weight ``aux["weight"]``.
    """
    import keras
    import tensorflow as tf

    result = StageResult(stage)
    if epochs <= 0:
        return result
    variables = list(model.trainable_variables)
    if not variables:
        raise ValueError(f"{stage}: the model has nothing to train")
    # Group variables by learning rate.
    groups: dict[float, list] = {}
    path_of = {}
    for layer in model.layers:
        for v in layer.trainable_weights:
            path_of[id(v)] = layer.name
    for v in variables:
        rate = lr
        for prefix, r in (lr_groups or {}).items():
            if path_of.get(id(v), "").startswith(prefix):
                rate = r
        groups.setdefault(rate, []).append(v)
    optimizers = {rate: keras.optimizers.AdamW(learning_rate=rate, weight_decay=weight_decay)
                  for rate in groups}
    ordered = [(optimizers[rate], vs) for rate, vs in groups.items()]
    for opt, vs in ordered:
        opt.build(vs)
    cw = tf.constant(weights, tf.float32)
    smoothing = float(label_smoothing)

    aux_weight = float(aux["weight"]) if aux else 0.0

    @tf.function(reduce_retracing=True)
    def step(x, y, pos, neg):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            logits, extra = (out[0], out[1]) if aux else (out, None)
            onehot = tf.one_hot(y, n_classes)
            if smoothing:
                onehot = onehot * (1.0 - smoothing) + smoothing / n_classes
            per_item = tf.nn.softmax_cross_entropy_with_logits(onehot, logits)
            w = tf.gather(cw, y)
            loss = tf.reduce_sum(per_item * w) / tf.reduce_sum(w)
            aux_loss = aux["loss"](extra, pos, neg) if aux else tf.constant(0.0)
            total = loss + aux_weight * aux_loss
        all_vars = [v for _, vs in ordered for v in vs]
        grads = tape.gradient(total, all_vars)
        k = 0
        for opt, vs in ordered:
            opt.apply_gradients(zip(grads[k:k + len(vs)], vs))
            k += len(vs)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), y), tf.float32))
        return loss, correct, aux_loss

    in_shape = tuple(model.inputs[0].shape[1:])

    def _probs(x):
        out = model(x, training=False)
        return tf.nn.softmax(out[0] if aux else out)

    predict = tf.function(_probs, input_signature=[tf.TensorSpec((None, *in_shape), tf.float32)])

    def val_probs() -> np.ndarray:
        return np.concatenate([np.asarray(predict(np.asarray(val_inputs[i:i + 256], np.float32)))
                               for i in range(0, len(val_inputs), 256)])

    rng = np.random.default_rng(seed)
    y_train = np.asarray(train_labels, np.int32)
    best_weights = [w.copy() for w in model.get_weights()]
    best = None
    waited = 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        if cosine:
            factor = 0.05 + 0.95 * 0.5 * (1.0 + np.cos(np.pi * (epoch - 1) / max(epochs, 1)))
            for rate, opt in optimizers.items():
                opt.learning_rate.assign(rate * factor)
        x_all = train_inputs(epoch - 1)
        pos_all, neg_all = aux["targets"](epoch - 1) if aux else (None, None)
        order = rng.permutation(len(y_train))
        n_batches = int(np.ceil(len(order) / batch_size))
        progress = Progress(f"  {stage} epoch {epoch}/{epochs}")
        loss_sum, correct_sum, aux_sum, seen = 0.0, 0.0, 0.0, 0
        empty = tf.zeros((0,), tf.float32)
        for b in range(n_batches):
            idx = np.sort(order[b * batch_size:(b + 1) * batch_size])
            x = np.asarray(x_all[idx], np.float32)
            if aux:
                pos, neg = tf.constant(pos_all[idx], tf.float32), tf.constant(neg_all[idx], tf.float32)
            else:
                pos = neg = empty
            loss, correct, aux_loss = step(tf.constant(x), tf.constant(y_train[idx]), pos, neg)
            loss_sum += float(loss) * len(idx)
            correct_sum += float(correct)
            aux_sum += float(aux_loss) * len(idx)
            seen += len(idx)
            progress(b + 1, n_batches, f"loss {loss_sum / seen:.4f}")
        vm = quick_metrics(val_labels, val_probs(), weights)
        row = {"stage": stage, "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct_sum / seen,
               **{f"val_{k}": v for k, v in vm.items()}, "seconds": time.perf_counter() - t0}
        if aux:
            row["train_mask_loss"] = aux_sum / seen
        result.history.append(row)
        value = vm[monitor]
        improved = _better(monitor, value, best)
        log(f"  {stage} epoch {epoch:2d}/{epochs}: loss {row['train_loss']:.4f} acc {row['train_accuracy']:.3f}"
            + (f" mask {row['train_mask_loss']:.4f}" if aux else "") + " | "
            f"val loss {vm['loss']:.4f} acc {vm['accuracy']:.3f} bal {vm['balanced_accuracy']:.3f} "
            f"F1 {vm['macro_f1']:.3f} AUC {vm['roc_auc']:.3f} ({row['seconds']:.1f} s){' *' if improved else ''}")
        if improved:
            best, waited = value, 0
            result.best_epoch, result.best_value = epoch, float(value)
            best_weights = [w.copy() for w in model.get_weights()]
        else:
            waited += 1
            if waited >= patience:
                result.stopped_early = epoch < epochs
                break
    model.set_weights(best_weights)
    result.seconds = time.perf_counter() - start
    log(f"  {stage}: best epoch {result.best_epoch} (val {monitor} {result.best_value:.4f}), "
        f"{result.seconds:.0f} s")
    return result
