"""The guard's purifier: a denoiser trained through the pack's own classifier (the reformer).

The autoencoder (:mod:`training.guard.autoencoder`) is trained to give back the clean *pixels*;
measured on ImageNet, its reconstruction of an FGSM image restores almost none of the classifier's
answers: the small residual noise it leaves is still adversarial and the classifier amplifies it
(the "error amplification" Liao et al. 2018 describe). Their high-level representation guided
denoiser (HGD) fixes that with the loss: the classifier's *logits* on the denoised attacked image
must match its logits on the clean image (logit-guided loss, LGD). This module trains that, with
the loss on the classifier's *answer* by default (``kl``: cross-entropy to its softmax on the clean
image, minus that softmax's entropy); measured on 400 ImageNet training images, FGSM 2/255 on 200
test images: L1 on the logits gave back 39% of the answers, the answer loss 57.5%, JPEG q20 first
and then the answer loss 65% (JPEG q20 alone: 64%; see docs/guard.md):

- a small U-Net (full resolution stem, two stride-2 levels with depthwise-separable convolutions,
  skip connections) that predicts a correction added to its input and clipped to [0, 1];
- inputs: FGSM/BIM images of the training set made against the pack's Keras model (ε drawn from
  1-8/255) and, for part of each batch, the clean images themselves (so a false alarm's clean
  image keeps its answer); target: the frozen classifier's output on the clean image;
- optionally a fixed pre-step (``prepare``, e.g. JPEG re-compression) before the network;
- the best epoch on validation images (attacked and clean) is kept.

Exported to ONNX (``guard_purifier.onnx``: ``input`` → ``purified``, NHWC pixels in [0, 1] at the
pack's size), it runs only on images an adversarial detector flagged.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

ONNX_NAME = "guard_purifier.onnx"
DEFAULT_LOSS = "kl"
INPUT_NAME = "input"
OUTPUT_NAME = "purified"


def build_purifier(width: int = 64, seed: int = 0):
    """The residual U-Net for NHWC RGB in [0, 1] (spatial size divisible by 4)."""
    import keras
    from keras import layers

    init = keras.initializers.HeNormal(seed=seed)

    def conv(x, ch, name, stride=1, k=3):
        return layers.Conv2D(ch, k, strides=stride, padding="same", activation="relu",
                             kernel_initializer=init, name=name)(x)

    def sep(x, ch, name):
        return layers.SeparableConv2D(ch, 3, padding="same", activation="relu", depthwise_initializer=init,
                                      pointwise_initializer=init, name=name)(x)

    inp = keras.Input((None, None, 3), name=INPUT_NAME)
    s0 = conv(inp, 16, "stem")                                   # 1/1
    s1 = sep(conv(s0, width, "down1", stride=2), width, "l1a")   # 1/2
    s1 = sep(s1, width, "l1b")
    x = conv(s1, 2 * width, "down2", stride=2)                   # 1/4
    for i in range(3):
        x = sep(x, 2 * width, f"l2{'abc'[i]}")
    x = layers.Conv2DTranspose(width, 2, strides=2, padding="same", activation="relu", kernel_initializer=init,
                               name="up1")(x)
    x = sep(layers.Concatenate(name="skip1")([x, s1]), width, "u1")
    x = layers.Conv2DTranspose(16, 2, strides=2, padding="same", activation="relu", kernel_initializer=init,
                               name="up0")(x)
    x = layers.Concatenate(name="skip0")([x, s0, inp])
    # The correction starts at zero, so training starts from the identity (the clean answers).
    r = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros", name="correction")(x)
    out = layers.Add(name="residual")([inp, r])
    out = layers.Activation(lambda t: keras.ops.clip(t, 0.0, 1.0), name=OUTPUT_NAME)(out)
    return keras.Model(inp, out, name="guard_purifier")


def train_purifier(classifier, to_model_input: Callable, clean01: np.ndarray, adv01: np.ndarray,
                   val_clean01: np.ndarray, val_adv01: np.ndarray, *, prepare: Callable | None = None,
                   clean_share: float = 0.25, loss: str = DEFAULT_LOSS,
                   epochs: int = 12, batch_size: int = 16, lr: float = 2e-3, width: int = 64, seed: int = 0,
                   log: Callable[[str], None] = print):
    """Train the purifier through the frozen classifier; returns ``(model, history)``.

    ``classifier``: the pack's Keras model (normalised tensor → logits), frozen;
    ``to_model_input``: [0, 1] pixels → that tensor. ``adv01`` has one or more attacked copies of
    ``clean01`` stacked along a leading axis: shape (V, N, H, W, 3) (a new copy is drawn per image
    and step). ``val_adv01`` (N', H, W, 3) are attacked validation images, ``val_clean01`` their
    originals; validation reports agreement with the classifier's clean answers, the best epoch
    (mean of attacked and clean agreement) is kept. ``prepare`` (pixels → pixels, numpy) is applied
    to every input first, as the app applies it before the purifier (e.g. a JPEG re-compression);
    the targets stay the classifier's logits on the untouched clean images.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    classifier.trainable = False
    model = build_purifier(width, seed)
    steps = int(np.ceil(len(clean01) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps, alpha=0.05)
    opt = keras.optimizers.Adam(schedule)

    def logits(x01):
        return classifier(to_model_input(x01), training=False)

    if loss not in ("l1", "kl"):
        raise ValueError(f"loss must be 'l1' or 'kl', not {loss!r}")

    def objective(out, target):
        if loss == "l1":  # HGD's logit-guided loss: every logit
            return tf.reduce_mean(tf.abs(out - target))
        # the clean answer's distribution: what the reformer is judged on
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(tf.nn.softmax(target), out)
                              - tf.nn.softmax_cross_entropy_with_logits(tf.nn.softmax(target), target))

    @tf.function(reduce_retracing=True)
    def step(x, target):
        with tf.GradientTape() as tape:
            loss_value = objective(logits(model(x, training=True)), target)
        grads = tape.gradient(loss_value, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss_value

    predict_logits = tf.function(lambda x: logits(x), reduce_retracing=True)
    purify_logits = tf.function(lambda x: logits(model(x, training=False)), reduce_retracing=True)

    def answers(fn, x):
        return np.concatenate([np.argmax(fn(tf.constant(x[i:i + 32])).numpy(), 1) for i in range(0, len(x), 32)])

    targets = np.concatenate([predict_logits(tf.constant(clean01[i:i + 32])).numpy()
                              for i in range(0, len(clean01), 32)])
    val_ref = answers(predict_logits, val_clean01)
    if prepare is not None:
        clean01, val_clean01, val_adv01 = prepare(clean01), prepare(val_clean01), prepare(val_adv01)
        adv01 = np.stack([prepare(a) for a in adv01])
    base = float(np.mean(answers(predict_logits, val_adv01) == val_ref))
    log(f"  purifier: validation attacked images agree with the clean answer {100 * base:.1f}% before training")
    history = []
    best = (-1.0, None, 0)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(clean01))
        losses = []
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            variant = rng.integers(0, len(adv01), len(idx))
            x = adv01[variant, idx]
            keep = rng.random(len(idx)) < clean_share
            x[keep] = clean01[idx[keep]]
            losses.append(float(step(tf.constant(x), tf.constant(targets[idx]))))
        probe = order[:128]
        train_ok = float(np.mean(answers(purify_logits, adv01[0, probe]) == np.argmax(targets[probe], 1)))
        adv_ok = float(np.mean(answers(purify_logits, val_adv01) == val_ref))
        clean_ok = float(np.mean(answers(purify_logits, val_clean01) == val_ref))
        score = (adv_ok + clean_ok) / 2
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_attacked_restored": train_ok,
                        "val_attacked_restored": adv_ok,
                        "val_clean_kept": clean_ok, "seconds": time.perf_counter() - t0})
        mark = ""
        if score > best[0]:
            best = (score, [w.copy() for w in model.get_weights()], epoch + 1)
            mark = " *"
        log(f"  purifier epoch {epoch + 1:2d}/{epochs}: loss {np.mean(losses):.3f}, training attacked restored "
            f"{100 * train_ok:.1f}% | validation attacked "
            f"restored {100 * adv_ok:.1f}%, clean kept {100 * clean_ok:.1f}% ({history[-1]['seconds']:.0f} s){mark}")
    model.set_weights(best[1])
    return model, {"epochs": history, "best_epoch": best[2], "validation_before": base}


def export_purifier(model, path, size: tuple[int, int], opset: int = 17) -> None:
    """ONNX with input ``input`` (N, H, W, 3) at the pack's size and output ``purified``."""
    from training.guard.autoencoder import export_pixel_model

    export_pixel_model(model, path, size, INPUT_NAME, OUTPUT_NAME, opset)


def parity(model, path, images01: np.ndarray) -> float:
    """Max |Keras − onnxruntime| on real images."""
    from training.guard.autoencoder import pixel_parity

    return pixel_parity(model, path, images01, INPUT_NAME, OUTPUT_NAME)
