"""Fine-tuning the CNN for the embedding, on the training writers (the ``--compare-finetune`` study).

The frozen *trunk* (input → ``from_layer``) runs once per canvas through onnxruntime and is cached;
only the layers above it up to the embedding's taps are trained (BatchNorm frozen), on trunk
features, with a light head: the grid-pooled taps → signed square root → Dense(``embed_dims``).

Objective (SigNet-F-like, with the forgeries as their own classes): a cosine softmax with an
additive margin (CosFace) over ``2 × writers`` classes, "genuine signature of writer w" and
"skilled forgery of writer w's signature": genuine signatures of one hand are pulled together and
the forgeries of that hand pushed away from them. Early stopping and every choice use the
validation writers only (:func:`reference_eer`: EER of the mean cosine similarity of a query to
``n`` genuine references). The measured outcome is in ``models/signature-verify/CARD.md``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np



def trunk_features(trunk_onnx: Path, canvases: np.ndarray, input_spec, cache_path: Path, log=print) -> np.ndarray:
    """Trunk output of every canvas (N, h, w, c) float32, cached at ``cache_path`` (.npy)."""
    from training.signatures import cache as C

    cache_path = Path(cache_path)
    if cache_path.is_file():
        return np.load(cache_path)
    t0 = time.perf_counter()
    feats = C.run_onnx(trunk_onnx, lambda a, b: C.input_tensor(canvases[a:b], input_spec), len(canvases),
                       outputs=("trunk",))["trunk"].astype(np.float32)
    tmp = cache_path.with_suffix(".tmp.npy")
    np.save(tmp, feats)
    tmp.replace(cache_path)
    log(f"  trunk features of {len(canvases)} canvases {feats.shape[1:]} in {time.perf_counter() - t0:.0f} s")
    return feats


def class_labels(writers: np.ndarray, genuine: np.ndarray, train_mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Class id per image: 2k = genuine of the k-th training writer, 2k+1 = forgery of it; -1 outside."""
    ws = np.unique(writers[train_mask])
    wmap = {int(w): i for i, w in enumerate(ws)}
    y = np.full(len(writers), -1, np.int64)
    for i in np.flatnonzero(train_mask):
        y[i] = 2 * wmap[int(writers[i])] + (0 if genuine[i] else 1)
    return y, 2 * len(ws)


AUGMENT_DEFAULTS = {"copies": 0, "rotate_deg": 4.0, "scale": 0.08, "shear": 0.12, "shift_px": 6.0}


def augment_canvases(canvases: np.ndarray, rng: np.random.Generator, *, rotate_deg: float = 4.0,
                     scale: float = 0.08, shear: float = 0.12, shift_px: float = 6.0) -> np.ndarray:
    """Each canvas (N, H, W) uint8, dark ink on white) under its own small random affine map:
    rotation within ±``rotate_deg``, scale 1±``scale`` (x and y apart), horizontal shear within
    ±``shear`` (slant), shift within ±``shift_px``. A writer's signatures differ by about that much
    from one another, so fine-tuning on such copies learns what stays when they do."""
    from scipy import ndimage

    out = np.empty_like(canvases)
    h, w = canvases.shape[1:3]
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    for i, c in enumerate(canvases):
        a = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg))
        sy, sx = rng.uniform(1 - scale, 1 + scale, 2)
        k = rng.uniform(-shear, shear)
        # forward map in (row, col): rotate @ shear @ scale; affine_transform wants its inverse
        fwd = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[1.0, 0.0], [k, 1.0]]) \
            @ np.diag([sy, sx])
        inv = np.linalg.inv(fwd)
        shift = rng.uniform(-shift_px, shift_px, 2)
        offset = centre - inv @ (centre + shift)
        out[i] = ndimage.affine_transform(c.astype(np.float32), inv, offset=offset, order=1, mode="constant",
                                          cval=255.0).round().clip(0, 255).astype(np.uint8)
    return out


def reference_eer(emb: np.ndarray, items, writers_eval: Sequence[int], n_refs: int = 5, draws: int = 5,
                  seed: int = 0) -> float:
    """EER of "mean cosine similarity to n genuine references" (genuine vs skilled forgery) on the
    given writers: a quick, threshold-free measure of how well an embedding verifies."""
    from training.signatures import evaluate as E
    from training.signatures import metrics as M

    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    sets = E.draw_sets(items, writers_eval, n_refs, draws=draws, seed=seed)
    ys, ss = [], []
    for s in sets:
        refs = e[list(s.refs)]
        for q in s.queries:
            ss.append(float((refs @ e[q]).mean()))
            ys.append(1 if items[q].genuine else 0)
    return M.eer(np.array(ys), np.array(ss))[0]




def export_trunk_at(bb, layer: str, path: Path) -> Path:
    """ONNX of input → the output of ``layer`` (the frozen part), output name ``trunk``."""
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    trunk = keras.Model(bb.input, bb.get_layer(layer).output)
    spec = tf.TensorSpec((None, int(bb.input.shape[1]), int(bb.input.shape[2]), 3), tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        return {"trunk": trunk(x, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=17)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


class TapNet:
    """Trunk features at ``start`` → the backbone's layers above it → the grid-pooled taps (what the
    pack's embedding is made of), the top GAP (for the single-image head) and a Dense training
    head. The backbone's layers are shared, so training this trains ``bb`` in place; only the layers
    between ``start`` and the last tap are trainable (BatchNorm frozen)."""

    def __init__(self, bb, start: str, taps, embed_dims: int = 256) -> None:
        import keras

        from training.signatures.cnn import _pool_layer_class

        GridPool, _ = _pool_layer_class()
        self.bb, self.start, self.taps = bb, start, tuple(taps)
        start_t = bb.get_layer(start).output
        later = [t.layer for t in self.taps if t.layer != start]
        sub = keras.Model(start_t, [bb.get_layer(n).output for n in later] + [bb.output], name="above_trunk")
        inp = keras.Input(tuple(start_t.shape[1:]), name="trunk")
        outs = sub(inp)
        maps = dict(zip(later, outs[:-1]))
        maps[start] = inp
        pooled = [GridPool(t.rows, t.cols, name=f"ft_pool_{t.layer}")(maps[t.layer]) for t in self.taps]
        cat = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
        sq = keras.ops.sign(cat) * keras.ops.sqrt(keras.ops.abs(cat) + 1e-6)
        emb = keras.layers.Dense(embed_dims, name="ft_embed")(sq)
        gap = keras.ops.mean(outs[-1], axis=(1, 2))
        self.model = keras.Model(inp, {"pooled": cat, "embedding": emb, "gap": gap})
        names = set()
        if later:
            names = {l.name for l in keras.Model(start_t, [bb.get_layer(n).output for n in later]).layers}
        for layer in bb.layers:
            layer.trainable = (layer.name in names and layer.name != start and bool(layer.weights)
                               and not isinstance(layer, keras.layers.BatchNormalization))
        self.initial = self.get_weights()

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy().copy() for w in self.model.weights]

    def set_weights(self, values: list[np.ndarray]) -> None:
        for w, v in zip(self.model.weights, values):
            w.assign(v)

    def run(self, feats: np.ndarray, batch_size: int = 128) -> dict[str, np.ndarray]:
        """``pooled`` and ``gap`` of trunk features with the current weights."""
        out: dict[str, list[np.ndarray]] = {"pooled": [], "gap": []}
        for a in range(0, len(feats), batch_size):
            r = self.model(np.asarray(feats[a:a + batch_size], np.float32), training=False)
            for k in out:
                out[k].append(np.asarray(r[k]))
        return {k: np.concatenate(v) for k, v in out.items()}

    def pooled(self, feats: np.ndarray, batch_size: int = 128) -> np.ndarray:
        return self.run(feats, batch_size)["pooled"]


def early_stopping_step(v: float, ep: int, history: dict, best: tuple, stale: int, model) -> tuple[tuple, int]:
    """Record epoch ``ep``'s validation EER ``v``; keep the weights when it is the lowest so far.
    ``best`` is (EER, epoch, weights or None); returns the new ``best`` and the count of epochs since."""
    history["val_eer"][ep] = v
    if v < best[0] - 1e-9:
        return (v, ep, [w.numpy() for w in model.weights]), 0
    return best, stale + 1


def frozen_start(evaluate, model, log=print) -> tuple[dict, tuple]:
    """The training history and ``best`` before the first epoch: with ``evaluate``, the frozen
    network's validation EER as epoch 0 (its weights kept), else no best yet."""
    history: dict = {"loss": [], "val_eer": {}}
    best: tuple = (np.inf, -1, None)
    if evaluate is not None:
        best, _ = early_stopping_step(float(evaluate(0)), 0, history, best, 0, model)
        log(f"    epoch  0 (frozen): validation EER {best[0]:.4f}")
    return history, best


def close_epoch(ep: int, losses: list, due: bool, evaluate, history: dict, best: tuple, stale: int, model,
                patience: int, log, t0: float) -> tuple[tuple, int, bool]:
    """End epoch ``ep``: record and log its mean loss, and (when ``due``) its validation EER through
    :func:`early_stopping_step`. Returns the new ``best``, ``stale`` and whether to stop now."""
    history["loss"].append(round(float(np.mean(losses)), 4))
    msg = f"    epoch {ep:2d}: loss {history['loss'][-1]:.3f}"
    if evaluate is not None and due:
        best, stale = early_stopping_step(float(evaluate(ep)), ep, history, best, stale, model)
        msg += f"  validation EER {history['val_eer'][ep]:.4f}"
    log(msg + f"  ({time.perf_counter() - t0:.0f} s)")
    return best, stale, evaluate is not None and stale >= patience


def restore_best(model, best: tuple) -> None:
    """Put back the weights of the best epoch, when one was kept."""
    if best[2] is not None:
        for w, v in zip(model.weights, best[2]):
            w.assign(v)


def train_tapnet(net: TapNet, feats: Sequence[np.ndarray], labels: np.ndarray, n_classes: int, *, epochs: int,
                 lr: float, batch_size: int = 32, scale: float = 24.0, margin: float = 0.2, seed: int = 0,
                 evaluate: Callable[[int], float] | None = None, eval_every: int = 2, patience: int = 2,
                 head_epochs: int = 0, head_lr: float | None = None, log=print) -> dict:
    """CosFace training of ``net`` on cached trunk features (``feats``: a list of arrays of the same
    images, clean first; one copy drawn per image and step). ``labels`` -1 = not trained on.
    ``evaluate(epoch)`` → validation EER; the best evaluation's weights are kept (epoch 0 = frozen).
    ``head_epochs``: the first epochs train only the head (the Dense embedding and the class centres,
    at ``head_lr``), so the backbone's first gradients do not come from a random head; they are not
    evaluated (the backbone has not moved) and do not count towards ``patience``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = net.model
    d = int(model.get_layer("ft_embed").units)
    rng = np.random.default_rng(seed)
    W = tf.Variable(rng.normal(0, 0.05, size=(d, n_classes)).astype(np.float32), name="class_centres")
    variables = model.trainable_variables + [W]
    head_vars = model.get_layer("ft_embed").trainable_variables + [W]
    opt = keras.optimizers.Adam(lr)
    head_opt = keras.optimizers.Adam(head_lr if head_lr is not None else lr)
    train_idx = np.flatnonzero(labels >= 0)

    def make_step(vs, optimizer):
        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                e = tf.math.l2_normalize(model(x, training=True)["embedding"], axis=1)
                cos = tf.matmul(e, tf.math.l2_normalize(W, axis=0))
                onehot = tf.one_hot(y, n_classes)
                loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(onehot, scale * (cos - margin * onehot)))
            grads = tape.gradient(loss, vs)
            optimizer.apply_gradients(zip(grads, vs))
            return loss
        return step

    full_step = make_step(variables, opt)
    head_step = make_step(head_vars, head_opt) if head_epochs else None

    t0 = time.perf_counter()
    history, best = frozen_start(evaluate, model, log)
    stale = 0
    for ep in range(1, epochs + 1):
        step = head_step if ep <= head_epochs else full_step
        order = rng.permutation(train_idx)
        losses = []
        for k in range(0, len(order), batch_size):
            b = order[k:k + batch_size]
            if len(b) < 2:
                continue
            copy = rng.integers(0, len(feats), size=len(b))
            x = np.stack([feats[c][i] for c, i in zip(copy, b)]).astype(np.float32)
            losses.append(float(step(tf.constant(x), tf.constant(labels[b]))))
        best, stale, stop = close_epoch(ep, losses, ep > head_epochs and ((ep - head_epochs) % eval_every == 0 or ep == epochs), evaluate, history, best, stale, model,
                                        patience, log, t0)
        if stop:
            break
    restore_best(model, best)
    return {"history": history, "best_epoch": int(best[1]), "best_val_reference_eer": float(best[0]),
            "epochs_run": len(history["loss"]), "images": int(len(train_idx)), "classes": int(n_classes),
            "trainable_weights": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
            "seconds": round(time.perf_counter() - t0, 1)}
