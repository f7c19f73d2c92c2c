"""The guard's convolutional autoencoder: build, train (denoising), export to ONNX.

The adversarial study used a deep convolutional autoencoder (10 encoding and 4 decoding conv layers,
sigmoid output, MSE, Adam lr 0.002, 20 epochs, batch 25) trained on clean images. Two changes make
it work as a *reformer* on 224-pixel photos within the app's latency budget:

- **residual output**: the network predicts a correction that is added to its input and clipped to
  [0, 1] (instead of redrawing every pixel through a sigmoid), so clean detail survives and the
  classifier's verdict on a clean reconstruction stays the same;
- **denoising objective**: inputs are clean training images plus, for most of each batch, random
  ±ε sign noise (ε drawn from 1-8/255, the L∞ budget of the attacks the guard faces) or Gaussian
  noise; the target is always the clean image. The thresholds are still set on clean images only.

Fully convolutional: it trains on random crops (fast on a CPU) and runs at the pack's input size.
Much lighter than the study's (6 conv layers in the encoder, 5 of them depthwise-separable, and 2
in the decoder, about 8,000 weights): the study's 14 full-size layers cost more than the classifier
itself, and the guard may add at most 60% to an inspection. Measured in onnxruntime on 2 CPU cores,
one pass still costs about 60% of an EfficientNet-Lite0 pass (its depthwise convolutions are slow
there), so the app runs it only when a shipped detector or the reformer needs it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

ONNX_NAME = "guard_ae.onnx"
INPUT_NAME = "input"
OUTPUT_NAME = "reconstruction"


def build_autoencoder(width: int = 32, depth: int = 5, seed: int = 0):
    """A residual denoising autoencoder for NHWC RGB in [0, 1] (any spatial size divisible by 2).

    Encoder: a 4×4 stride-2 conv to ``width`` channels at half resolution, then ``depth``
    depthwise-separable convs; decoder: a 2×2 transposed conv back to full resolution (8 channels)
    and a 3×3 conv over it and the input, which gives the per-pixel correction.
    """
    import keras
    from keras import layers

    init = keras.initializers.HeNormal(seed=seed)
    inp = keras.Input((None, None, 3), name=INPUT_NAME)
    x = layers.Conv2D(width, 4, strides=2, padding="same", activation="relu", kernel_initializer=init,
                      name="enc_down")(inp)
    for i in range(depth):
        x = layers.SeparableConv2D(width, 3, padding="same", activation="relu", depthwise_initializer=init,
                                   pointwise_initializer=init, name=f"enc{i + 2}")(x)
    x = layers.Conv2DTranspose(8, 2, strides=2, padding="same", activation="relu", kernel_initializer=init,
                               name="dec_up")(x)
    x = layers.Concatenate(name="dec_with_input")([x, inp])
    # The correction starts at zero, so training starts from the identity.
    r = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros", name="dec_out")(x)
    out = layers.Add(name="residual")([inp, r])
    out = layers.Activation(lambda t: keras.ops.clip(t, 0.0, 1.0), name=OUTPUT_NAME)(out)
    return keras.Model(inp, out, name="guard_autoencoder")


def noisy_batch(clean: np.ndarray, rng: np.random.Generator, eps_choices=(1, 2, 4, 8),
                clean_share: float = 0.25) -> np.ndarray:
    """Training inputs: a quarter clean, the rest with ±ε sign noise (3 in 4) or Gaussian noise."""
    x = clean.copy()
    n = len(x)
    kinds = rng.random(n)
    for i in range(n):
        if kinds[i] < clean_share:
            continue
        eps = float(rng.choice(eps_choices)) / 255.0
        if kinds[i] < clean_share + (1 - clean_share) * 0.75:
            noise = eps * rng.choice(np.array([-1.0, 1.0], np.float32), size=x[i].shape)
        else:
            noise = rng.normal(0.0, eps, size=x[i].shape).astype(np.float32)
        x[i] = np.clip(np.round((x[i] + noise) * 255.0) / 255.0, 0.0, 1.0)
    return x


def random_crops(images: np.ndarray, crop: int, rng: np.random.Generator) -> np.ndarray:
    """One random crop (and random horizontal flip) per image; any number of channels."""
    n, h, w, c = images.shape
    out = np.empty((n, crop, crop, c), np.float32)
    for i in range(n):
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        patch = images[i, y:y + crop, x:x + crop]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch
    return out


def train_autoencoder(train01: np.ndarray, val01: np.ndarray, *, adv_train01: np.ndarray | None = None,
                      adv_share: float = 0.5, epochs: int = 20, batch_size: int = 25,
                      lr: float = 0.002, crop: int = 96, steps_per_epoch: int | None = None, width: int = 32,
                      depth: int = 5, seed: int = 0, log: Callable[[str], None] = print):
    """Train the denoising autoencoder (MSE, Adam, cosine decay); returns ``(model, history)``.

    ``train01``/``val01``: float32 NHWC in [0, 1] at the pack's input size. ``adv_train01``: the
    same training images attacked (FGSM against the pack's classifier, as in the high-level guided
    denoiser of Liao et al. 2018): for ``adv_share`` of each batch the input is the attacked image
    and the target its clean original, so the reformer learns to undo the classifier's own
    gradient-sign patterns; the rest gets random noise as above. The validation loss is measured
    on full-size noisy validation images with a fixed seed; the best epoch is kept.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_autoencoder(width, depth, seed)
    steps = steps_per_epoch or max(1, int(np.ceil(len(train01) / batch_size)))
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps, alpha=0.05)
    opt = keras.optimizers.Adam(schedule)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    crop = min(crop, train01.shape[1], train01.shape[2])
    val_rng = np.random.default_rng(seed + 1)
    val_in = noisy_batch(val01, val_rng)
    history = []
    best = (np.inf, None, -1)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(train01))
        losses = []
        for s in range(steps):
            idx = order[(s * batch_size) % len(order):][:batch_size]
            if len(idx) < batch_size:
                idx = np.concatenate([idx, order[:batch_size - len(idx)]])
            if adv_train01 is not None:
                pair = random_crops(np.concatenate([train01[idx], adv_train01[idx]], axis=-1), crop, rng)
                y, x_adv = pair[..., :3], pair[..., 3:]
                x = noisy_batch(y, rng)
                use_adv = rng.random(len(idx)) < adv_share
                x[use_adv] = x_adv[use_adv]
            else:
                y = random_crops(train01[idx], crop, rng)
                x = noisy_batch(y, rng)
            losses.append(float(step(tf.constant(x), tf.constant(y))))
        pred = model.predict(val_in, batch_size=16, verbose=0)
        val_loss = float(np.mean((pred - val01) ** 2))
        identity = float(np.mean((val_in - val01) ** 2))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_loss": val_loss,
                        "val_identity_loss": identity, "seconds": time.perf_counter() - t0})
        mark = ""
        if val_loss < best[0]:
            best = (val_loss, [w.copy() for w in model.get_weights()], epoch + 1)
            mark = " *"
        log(f"  autoencoder epoch {epoch + 1:2d}/{epochs}: loss {np.mean(losses):.3e} | val {val_loss:.3e} "
            f"(input as is: {identity:.3e}) ({history[-1]['seconds']:.1f} s){mark}")
    model.set_weights(best[1])
    return model, {"epochs": history, "best_epoch": best[2], "best_val_loss": best[0]}


def export_pixel_model(model, path: Path, size: tuple[int, int], input_name: str, output_name: str,
                       opset: int = 17) -> None:
    """ONNX of a pixels → pixels model (the guard's autoencoder or purifier): input ``input_name``
    (N, H, W, 3) at the pack's size, output ``output_name``."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, size[0], size[1], 3), tf.float32, name=input_name),)

    @tf.function(input_signature=spec)
    def fn(x):
        return {output_name: model(x, training=False)}

    tf2onnx.convert.from_function(fn, input_signature=spec, opset=opset, output_path=str(path))


def pixel_parity(model, path: Path, images01: np.ndarray, input_name: str, output_name: str) -> float:
    """Max |Keras − onnxruntime| of a pixels → pixels model on real images."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = sess.run([output_name], {input_name: images01.astype(np.float32)})
    keras_out = model.predict(images01, batch_size=8, verbose=0)
    return float(np.max(np.abs(onnx_out - keras_out)))


def export_autoencoder(model, path: Path, size: tuple[int, int], opset: int = 17) -> None:
    """ONNX with input ``input`` (N, H, W, 3) at the pack's size and output ``reconstruction``."""
    export_pixel_model(model, path, size, INPUT_NAME, OUTPUT_NAME, opset)


def parity(model, path: Path, images01: np.ndarray) -> float:
    """Max |Keras − onnxruntime| on real images."""
    return pixel_parity(model, path, images01, INPUT_NAME, OUTPUT_NAME)
