"""Gradient-sign attacks under an L∞ budget, in [0, 1] pixel space.

- ``steps=1``: FGSM (Goodfellow et al. 2015), ``x + eps * sign(grad)``.
- ``steps=K>1``: iterative FGSM / BIM (Kurakin et al. 2017): K signed steps of ``step_size``, each
  followed by the projection onto the L∞ ball of radius ``eps`` around the clean image and onto
  [0, 1]. With ``random_start`` the first point is drawn uniformly in the ball: PGD (Madry et al.
  2018).
- Default ``step_size``: ``eps`` for FGSM; ``2.5 * eps / K`` for K > 1 (Madry et al.'s choice: the
  steps together travel 2.5 eps, so a start anywhere in the ball can reach its far boundary and
  still move along it).
- ``grey=True``: the same signed step on R, G and B (the sign of the gradient summed over the
  channels), so the perturbation has no colour: the adaptive attacker who knows of the guard's
  colour-noise floor (:mod:`inference.guard`) and keeps out of its sight.
- Loss: softmax cross-entropy from the logits. Untargeted: its gradient is *ascended* for
  ``labels`` (the true classes, or, when unknown, the model's own clean predictions). Targeted:
  the loss of the target class in ``labels`` is *descended*.

The perturbation is on the image in [0, 1], before the pack's normalisation (which
:meth:`training.guard.keras_pack.KerasPack.to_model_input` applies inside the graph), so ``eps =
2/255`` means two grey levels of the saved image. :func:`quantize01` rounds to what a PNG stores;
with ``eps = k/255`` and a clean image on the 1/255 grid the rounded image stays inside the ball.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

# Gradient functions of plain Keras models (a KerasPack caches its own).
_MODEL_CACHE: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _identity(x):
    return x


def _resolve(kp_or_model, to_model_input: Callable | None) -> tuple[Any, Callable, dict, Any]:
    """-> (keras model, preprocessing op, cache dict, cache key)."""
    if hasattr(kp_or_model, "model") and hasattr(kp_or_model, "to_model_input"):
        model = kp_or_model.model
        fn = to_model_input or kp_or_model.to_model_input
        cache = getattr(kp_or_model, "_cache", None)
        key = "default" if to_model_input is None else to_model_input
    else:
        model = kp_or_model
        fn = to_model_input or _identity
        key = fn
        cache = None
    if cache is None:
        try:
            cache = _MODEL_CACHE.setdefault(model, {})
        except TypeError:  # not weak-referenceable: no caching
            cache = {}
    return model, fn, cache, key


def _functions(kp_or_model, to_model_input):
    """(loss_fn, grad_fn), each a tf.function: x01 (N, H, W, 3), labels (N,) int32 -> per-example
    loss (and its gradient with respect to x01)."""
    model, prep, cache, key = _resolve(kp_or_model, to_model_input)
    found = cache.get(("attack", key))
    if found is not None:
        return found
    import tensorflow as tf

    def loss_of(x, y):
        logits = model(prep(x), training=False)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.cast(logits, tf.float32))

    @tf.function(reduce_retracing=True)
    def loss_fn(x, y):
        return loss_of(x, y)

    @tf.function(reduce_retracing=True)
    def grad_fn(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_of(x, y)
            total = tf.reduce_sum(loss)  # per-example gradients (the sign ignores the scale)
        return loss, tape.gradient(total, x)

    cache[("attack", key)] = (loss_fn, grad_fn)
    return loss_fn, grad_fn


def _labels(labels, n: int) -> np.ndarray:
    y = np.asarray(labels, np.int64)
    if y.ndim == 0:
        y = np.full(n, int(y), np.int64)
    if y.shape != (n,):
        raise ValueError(f"labels must be one class index per image ({n}), got shape {y.shape}")
    return y.astype(np.int32)


def _images(x01) -> np.ndarray:
    x = np.asarray(x01, np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C) in [0, 1], got shape {x.shape}")
    if x.size and (float(x.min()) < -1e-6 or float(x.max()) > 1 + 1e-6):
        raise ValueError(f"images must be in [0, 1] (got {x.min():.3g}..{x.max():.3g}); divide uint8 by 255")
    return np.clip(x, 0.0, 1.0)


def default_step_size(eps: float, steps: int) -> float:
    """``eps`` for FGSM (one step), ``2.5 * eps / steps`` for BIM/PGD."""
    return float(eps) if steps <= 1 else 2.5 * float(eps) / steps


def loss_per_example(kp_or_model, x01: np.ndarray, labels, *, to_model_input=None, batch_size: int = 32) -> np.ndarray:
    """Softmax cross-entropy of ``labels`` from the model's logits, one value per image."""
    x = _images(x01)
    y = _labels(labels, len(x))
    loss_fn, _ = _functions(kp_or_model, to_model_input)
    out = [np.asarray(loss_fn(x[i:i + batch_size], y[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def fgsm(kp_or_model, x01: np.ndarray, labels: np.ndarray, eps: float, *, to_model_input=None,
         targeted: bool = False, steps: int = 1, step_size: float | None = None, random_start: bool = False,
         seed: int = 0, batch_size: int = 16, grey: bool = False) -> np.ndarray:
    """Adversarial images for ``x01`` (N, H, W, 3) float in [0, 1] at the model's input size.

    ``kp_or_model``: a :class:`~training.guard.keras_pack.KerasPack` (its ``to_model_input`` is used
    unless another is given) or a Keras model returning logits, fed ``to_model_input(x01)`` (the
    identity when None). ``labels``: class indices to move away from (untargeted) or towards
    (``targeted``); one per image, or one for all. ``grey``: one step for all three channels
    (see the module doc). Returns float32 in [0, 1] with ``|x_adv - x01|_inf <= eps``.
    """
    x0 = _images(x01)
    y = _labels(labels, len(x0))
    eps = float(eps)
    steps = int(steps)
    if not np.isfinite(eps) or eps < 0 or eps > 1:
        raise ValueError(f"eps must be in [0, 1] (pixel scale), got {eps}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    alpha = default_step_size(eps, steps) if step_size is None else float(step_size)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"step_size must be a positive number, got {step_size}")
    if eps == 0 or len(x0) == 0:
        return x0.copy()
    _, grad_fn = _functions(kp_or_model, to_model_input)
    direction = np.float32(-1.0 if targeted else 1.0)
    rng = np.random.default_rng(seed)
    out = np.empty_like(x0)
    for i in range(0, len(x0), batch_size):
        clean = x0[i:i + batch_size]
        yb = y[i:i + batch_size]
        low = np.maximum(clean - np.float32(eps), 0.0)
        high = np.minimum(clean + np.float32(eps), 1.0)
        x = clean.copy()
        if random_start:
            shape = (*x.shape[:-1], 1) if grey else x.shape
            x = np.clip(x + rng.uniform(-eps, eps, shape).astype(np.float32), low, high)
        for _ in range(steps):
            _, grad = grad_fn(x, yb)
            g = np.asarray(grad, np.float32)
            if grey:
                g = g.sum(axis=-1, keepdims=True)
            x = x + direction * np.float32(alpha) * np.sign(g)
            x = np.clip(x, low, high)  # the ε-ball intersected with [0, 1]
        out[i:i + batch_size] = x
    return out.astype(np.float32)


def quantize01(x01: np.ndarray, ref01: np.ndarray | None = None, eps: float | None = None) -> np.ndarray:
    """Round to the 1/255 grid exactly as an 8-bit PNG stores the image: ``round(x * 255) / 255``.

    Evaluate what a saved file holds, not the float image. With ``eps = k/255`` and a clean image
    on the grid, the ball's bounds are on the grid, so rounding cannot leave it. For any other
    ``eps``, rounding can overshoot by up to 0.5/255: give ``ref01`` (the clean image) and ``eps``
    to clip the result to the largest ball on the grid inside it (``floor(eps * 255) / 255``).
    """
    q = np.clip(np.rint(np.asarray(x01, np.float32) * 255.0), 0, 255)
    if ref01 is not None and eps is not None:
        k = np.floor(float(eps) * 255.0 + 1e-4)
        r = np.rint(np.asarray(ref01, np.float32) * 255.0)
        q = np.clip(q, np.maximum(r - k, 0), np.minimum(r + k, 255))
    return (q / 255.0).astype(np.float32)


def _as_pred(a) -> np.ndarray:
    a = np.asarray(a)
    return np.argmax(a, axis=-1) if a.ndim == 2 else a.astype(np.int64)


def attack_success(clean_pred, adv_pred, labels, targeted: bool) -> np.ndarray:
    """Per image: did the attack do what it set out to do? Predictions are class indices, or
    logits/probabilities (N, C) whose argmax is taken.

    Untargeted: the clean prediction was ``labels`` and the adversarial one is not (an image the
    model already got wrong is not counted as a success). Targeted: the adversarial prediction is
    the target and the clean one was not.
    """
    clean = _as_pred(clean_pred)
    adv = _as_pred(adv_pred)
    y = np.broadcast_to(np.asarray(labels, np.int64), adv.shape)
    if targeted:
        return (adv == y) & (clean != y)
    return (clean == y) & (adv != y)
