"""Signature-verify 3.2 candidate: fine-tune the top block of the embedding on both corpora, measured by
the 3.x writer-grouped CV.

    python -m training.signatures.v32_finetune --folds 0          # one fold first: sizes the run
    python -m training.signatures.v32_finetune --folds 0,1,2,3,4  # the rest (cached folds are skipped)
    python -m training.signatures.v32_finetune --score            # the CV table, frozen vs fine-tuned
    (each configuration under its own ``--tag``; the CV in the card: ``--objective pairs --lr 1e-4
    --epochs 3 --fixed-epochs --tag pairs-e3``)

The trunk (input → ``block6d_add``) stays ImageNet's and runs once per development canvas (cached,
onnxruntime, one thread). Above it, ``block7a`` (expand, depthwise, project; BatchNorm frozen) is
trained with 2.x's SigNet-F-like objective (:func:`training.signatures.finetune.train_tapnet`: a
CosFace softmax over "genuine of writer w" / "skilled forgery of writer w" classes) on both corpora.
The embedding keeps 3.x's taps: ``block6d_add`` on a 2×4 grid (the trunk's own output, so unchanged)
and the fine-tuned ``block7a_project_bn`` on 1×2, then signed square root, L2 and a whitening PCA
refitted on the training folds (:func:`training.signatures.v3_train.fit_layers`).

Protocol (docs/training.md, "3.2 candidate"): for outer fold i of the 3.0 folds the network is trained
on three of the other four folds; the fourth (``(i + 1) mod 5``) is the inner validation whose
5-reference EER (mean of both corpora) picks the epoch, epoch 0 being the frozen network. Fold i is
then scored by 3.1.0's scorer (:func:`fold_rows`, :func:`cv_table`) on the same rows as the frozen
taps. ``--fixed-epochs`` (what the measured 5-fold CV used, for time): all four other folds train for
``--epochs`` epochs and there is no inner validation. Objectives: ``cosface`` (2.x's, with a Dense
head) or ``pairs`` (:func:`train_pairs`, skilled forgeries as hard negatives on the taps themselves).
Test writers are never loaded here. The measured outcome: CARD.md, "Fine-tuning the top block".
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from training.signatures.cnn import Tap
from training.signatures.corpora import dev_writers, load_corpora, normalize_all
from training.signatures.v3_eval import Recipe, Rows, eer_by_corpus, fit_calibration, make_rows
from training.signatures.v3_features import BENGALI, CANVAS, CEDAR, OPTIONS, to_input
from training.signatures.v3_train import SEED, fit_layers, folds_of, prep, spread

START = "block6d_add"
TAPS = (Tap("block6d_add", 2, 4), Tap("block7a_project_bn", 1, 2))
TAP_KEYS = tuple(t.layer for t in TAPS)
LAM, RIDGE, BETA, COHORT = 0.5, 1.0, 0.8, 300   # 3.1.0's scorer
NS = (5, 10)


def fold_roles(folds, i: int) -> tuple[list[int], list[int]]:
    """(training writers, inner-validation writers) for outer fold ``i``: the inner fold is the next
    one, the other three train; fold ``i`` itself is neither (it is scored)."""
    inner = (i + 1) % len(folds)
    return [w for j, f in enumerate(folds) if j not in (i, inner) for w in f], list(folds[inner])


def ship_rule(paired_eer: dict) -> bool:
    """3.2.0 ships only if, paired per fold, the fine-tuned EER is lower in both corpora by more than
    the fold sd of the difference (mean + sd < 0), over all 5 folds."""
    return all(len(paired_eer[c]["folds"]) == 5 and paired_eer[c]["mean"] + paired_eer[c]["sd"] < 0
               for c in ("cedar", "bengali"))


def one_thread() -> None:
    """The machine is shared: TensorFlow on one thread (set before any op runs)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def trunk_maps(canvas: np.ndarray, onnx_path: Path, cache: Path, log=print, batch: int = 16) -> np.ndarray:
    """``block6d_add`` maps (N, 6, 12, 192) float32 of the canvases, cached at ``cache`` (.npy)."""
    if cache.is_file():
        return np.load(cache)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    out, t0 = [], time.perf_counter()
    for a in range(0, len(canvas), batch):
        out.append(sess.run(["trunk"], {"input": to_input(canvas[a:a + batch])})[0].astype(np.float32))
        if a % (batch * 50) == 0:
            log(f"  trunk {a}/{len(canvas)}, {time.perf_counter() - t0:.0f} s")
    maps = np.concatenate(out)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, maps)
    tmp.replace(cache)
    log(f"trunk maps {maps.shape} in {time.perf_counter() - t0:.0f} s")
    return maps


def split_pooled(pooled: np.ndarray) -> dict[str, np.ndarray]:
    """TapNet's concatenated pooled taps → {layer: pooled} (block6d 2×4×192, then block7a 1×2×320)."""
    k = TAPS[0].rows * TAPS[0].cols * 192
    return {TAP_KEYS[0]: pooled[:, :k], TAP_KEYS[1]: pooled[:, k:]}


def quick_eer(x: np.ndarray, wr, gen, corpus, fit_mask, writers, seed: int = SEED) -> float:
    """Inner-validation measure: whitening PCA on ``fit_mask`` rows, 3.0's score (λ 0.5, trimmed mean,
    calibration on the same rows), 5 references, 2 draws; mean of both corpora's EER."""
    layer = fit_layers(x, wr, gen, fit_mask, (0,))[0]
    emb = layer(x)
    rows = make_rows(emb, wr, gen, corpus, writers, 5, 2, seed)
    prior = float(np.nanmean(rows.level))
    rec = fit_calibration(rows, Recipe(10.0, 0.0, LAM, prior, "trimmed_mean"))
    e = eer_by_corpus(rows, rec.overall(rows))
    return float(np.mean(list(e.values())))


def train_fold(i: int, folds, maps, dev_idx, wr, gen, corpus, frozen_b7, args, log=print) -> dict:
    """Fine-tune on three folds, pick the epoch on the fourth; pooled block7a of every development image."""
    import keras

    from training.signatures import finetune as F
    from training.signatures.cnn import build_backbone

    inner = (i + 1) % len(folds)
    train_w, inner_w = fold_roles(folds, i)
    if args.fixed_epochs:   # no inner validation: all four other folds train, for a fixed number of epochs
        train_w, inner = train_w + inner_w, None
    wd, gd, cd = wr[dev_idx], gen[dev_idx], corpus[dev_idx]
    train_mask = np.isin(wd, train_w)
    keras.utils.set_random_seed(SEED + i)
    bb = build_backbone("imagenet", CANVAS)
    net = F.TapNet(bb, START, TAPS, embed_dims=256)
    p0 = net.pooled(maps[:64])
    parity = float(np.abs(split_pooled(p0)[TAP_KEYS[1]] - frozen_b7[:64]).max())
    log(f"fold {i}: inner validation fold {inner}; {int(train_mask.sum())} training images of {len(train_w)} "
        f"writers; epoch-0 block7a vs the 3.1 cache: max |diff| {parity:.2e}")
    labels, n_classes = F.class_labels(wd, gd, train_mask)
    rng = np.random.default_rng(SEED + i)
    # what the inner evaluation embeds: a sample of training images (its whitening PCA) + the inner writers
    fit_idx = np.sort(rng.choice(np.flatnonzero(train_mask), size=min(1000, int(train_mask.sum())), replace=False))
    sub = np.concatenate([fit_idx, np.flatnonzero(np.isin(wd, inner_w))])
    pca_fit = np.arange(len(sub)) < len(fit_idx)

    def evaluate(ep: int) -> float:
        t = time.perf_counter()
        x = prep(split_pooled(net.pooled(maps[sub])), TAP_KEYS)
        v = quick_eer(x, wd[sub], gd[sub], cd[sub], pca_fit, inner_w, SEED + 100 * i)
        log(f"    (inner evaluation {time.perf_counter() - t:.0f} s)")
        return v

    c0 = time.process_time()
    if args.fixed_epochs:
        evaluate = None  # noqa: F811
    if args.objective == "pairs":
        info = train_pairs(net, maps, wd, gd, train_mask, epochs=args.epochs, lr=args.lr, seed=SEED + i,
                           evaluate=evaluate, eval_every=args.eval_every, patience=args.patience, log=log)
    else:
        info = F.train_tapnet(net, [maps], labels, n_classes, epochs=args.epochs, lr=args.lr, batch_size=32,
                              margin=0.2, seed=SEED + i, evaluate=evaluate, eval_every=args.eval_every,
                              patience=args.patience, head_epochs=args.head_epochs, head_lr=args.head_lr, log=log)
    t = time.perf_counter()
    b7 = split_pooled(net.pooled(maps))[TAP_KEYS[1]]
    info.update({"fold": i, "inner_fold": inner, "train_writers": len(train_w), "parity_epoch0": parity,
                 "cpu_seconds": round(time.process_time() - c0, 1), "embed_seconds": round(time.perf_counter() - t, 1),
                 "load_average": list(os.getloadavg()),
                 "config": {"objective": args.objective, "lr": args.lr, "epochs": args.epochs, "patience": args.patience,
                            "eval_every": args.eval_every, "fixed_epochs": args.fixed_epochs, "head_epochs": args.head_epochs, "head_lr": args.head_lr}})
    log(f"fold {i}: best epoch {info['best_epoch']} (inner EER {info['best_val_reference_eer']:.4f}); "
        f"{info['seconds']} s training, {info['cpu_seconds']} s CPU")
    return {"b7": b7.astype(np.float32), "info": info}


def train_pairs(net, maps: np.ndarray, writers: np.ndarray, genuine: np.ndarray, train_mask: np.ndarray, *,
                epochs: int, lr: float, writers_per_batch: int = 8, per_side: int = 4, gamma: float = 16.0,
                margin: float = 0.1, seed: int = 0, evaluate=None, eval_every: int = 1, patience: int = 2,
                log=print) -> dict:
    """Skilled forgeries as hard negatives, on the embedding the scorer uses (the taps after signed
    square root and L2, no head): batches of ``writers_per_batch`` training writers × ``per_side``
    genuine + ``per_side`` forged signatures; for each genuine anchor, a soft-max margin loss
    ``log(1 + Σ_neg Σ_pos exp(γ(cos_neg − cos_pos + m)))`` over its writer's other genuine
    signatures (positives) and every other signature of the batch — its writer's forgeries first
    among them — as negatives. ``evaluate(epoch)`` → validation EER; the best epoch's weights are kept
    (epoch 0 = the frozen network)."""
    import keras
    import tensorflow as tf

    from training.signatures.finetune import close_epoch, frozen_start, restore_best

    keras.utils.set_random_seed(seed)
    model = net.model
    k0 = TAPS[0].rows * TAPS[0].cols * 192
    variables = model.trainable_variables
    opt = keras.optimizers.Adam(lr)
    rng = np.random.default_rng(seed)
    ws = np.unique(writers[train_mask])
    g_of = {int(w): np.flatnonzero(train_mask & (writers == w) & genuine) for w in ws}
    f_of = {int(w): np.flatnonzero(train_mask & (writers == w) & ~genuine) for w in ws}
    ws = np.array([w for w in ws if len(g_of[int(w)]) >= 2 and len(f_of[int(w)]) >= 1])

    def embed(pooled):
        parts = []
        for a, b in ((0, k0), (k0, None)):
            x = pooled[:, a:b]
            x = tf.sign(x) * tf.sqrt(tf.abs(x) + 1e-6)
            parts.append(tf.math.l2_normalize(x, axis=1))
        return tf.concat(parts, axis=1) / np.sqrt(2.0)

    @tf.function(reduce_retracing=True)
    def step(x, w, g):
        with tf.GradientTape() as tape:
            e = embed(model(x, training=True)["pooled"])
            cos = tf.matmul(e, e, transpose_b=True)
            same = tf.equal(w[:, None], w[None, :])
            pos = tf.logical_and(tf.logical_and(same, g[None, :]), ~tf.eye(tf.shape(w)[0], dtype=tf.bool))
            neg = ~tf.logical_and(same, g[None, :])
            big = tf.constant(1e4)
            lp = tf.reduce_logsumexp(tf.where(pos, -gamma * cos, -big), axis=1)
            ln = tf.reduce_logsumexp(tf.where(neg, gamma * (cos + margin), -big), axis=1)
            loss = tf.reduce_mean(tf.boolean_mask(tf.nn.softplus(lp + ln), g))
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss

    t0 = time.perf_counter()
    history, best = frozen_start(evaluate, model, log)
    steps = max(1, int(train_mask.sum()) // (writers_per_batch * 2 * per_side))
    stale = 0
    for ep in range(1, epochs + 1):
        losses = []
        for _ in range(steps):
            bw = rng.choice(ws, size=min(writers_per_batch, len(ws)), replace=False)
            idx, wl, gl = [], [], []
            for w in bw:
                g = rng.choice(g_of[int(w)], size=min(per_side, len(g_of[int(w)])), replace=False)
                f = rng.choice(f_of[int(w)], size=min(per_side, len(f_of[int(w)])), replace=False)
                idx += list(g) + list(f)
                wl += [int(w)] * (len(g) + len(f))
                gl += [True] * len(g) + [False] * len(f)
            losses.append(float(step(tf.constant(maps[np.array(idx)]), tf.constant(np.array(wl, np.int64)),
                                     tf.constant(np.array(gl)))))
        best, stale, stop = close_epoch(ep, losses, ep % eval_every == 0 or ep == epochs, evaluate, history, best, stale, model,
                                        patience, log, t0)
        if stop:
            break
    restore_best(model, best)
    return {"history": history, "best_epoch": int(best[1]), "best_val_reference_eer": float(best[0]),
            "epochs_run": len(history["loss"]), "images": int(train_mask.sum()), "classes": int(len(ws)),
            "trainable_weights": int(sum(int(np.prod(v.shape)) for v in variables)),
            "seconds": round(time.perf_counter() - t0, 1)}


# --- scoring: 3.1.0's scorer on per-fold features -------------------------------------------------

def fold_rows(x, wr, gen, corpus, folds, i: int, n: int):
    """Rows of fold i (3 draws, 3.1's seeds) with the 3.0 base similarity and the classifier's d(q)."""
    from inference.signature.scoring_wd import krr_fit, krr_score
    from training.signatures.v31_norm import _unit, cohort_of, ref_stats

    train_w = [w for j, g in enumerate(folds) if j != i for w in g]
    layer = fit_layers(x, wr, gen, np.isin(wr, train_w), (0,))[0]
    emb = layer(x)
    e = _unit(emb)
    neg = cohort_of(e, wr, gen, folds[i], COHORT, SEED + 1)
    pr = make_rows(emb, wr, gen, corpus, train_w[::3], 5, 1, SEED + 99)
    prior = float(np.mean(ref_stats(e, pr)[1]))
    rows = make_rows(emb, wr, gen, corpus, folds[i], n, 3, SEED + i)
    _, level, _ = ref_stats(e, rows)
    base = rows.cos - LAM * (level - prior)[:, None] if n >= 2 else rows.cos
    d = np.zeros(len(rows.y))
    keys = [tuple(r) for r in rows.refs]
    for key in dict.fromkeys(keys):
        k = np.array([kk == key for kk in keys])
        X = np.concatenate([e[list(key)], e[neg]])
        y = np.concatenate([np.ones(len(key)), -np.ones(len(neg))])
        d[k] = krr_score(krr_fit(X, y, RIDGE), e[rows.query[k]])
    return rows, base, d


def cv_table(per_fold: list, beta: float) -> dict:
    """EER per corpus per fold; calibration fitted on the other folds' rows (all folds present) —
    with fewer folds (the one-fold sizing run) on the fold's own rows, flagged."""
    from training.signatures.v31_norm import as_rows

    fused = [as_rows(rw, b + beta * d[:, None]) for rw, b, d in per_fold]
    per = {"cedar": [], "bengali": []}
    in_fold = len(fused) < 5
    for i in range(len(fused)):
        cal = fused[i] if in_fold else Rows.concat([fr for j, fr in enumerate(fused) if j != i])
        rec = fit_calibration(cal, Recipe(1.0, 0.0, 0.0, 0.0, "trimmed_mean"))
        for c, v in eer_by_corpus(fused[i], rec.overall(fused[i])).items():
            per[c].append(v)
    out = {c: spread(v) for c, v in per.items()}
    out["calibration"] = "in-fold" if in_fold else "other folds"
    return out


def paired(a: dict, b: dict) -> dict:
    """b − a per fold, per corpus: mean ± sd, folds lower."""
    out = {}
    for c in ("cedar", "bengali"):
        d = np.array(b[c]["folds"]) - np.array(a[c]["folds"])
        out[c] = {"mean": float(d.mean()), "sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                  "lower": int((d < 0).sum()), "folds": [round(float(v), 4) for v in d]}
    return out


def score(work: Path, feats31, dev_idx, wr, gen, corpus, folds, log=print) -> dict:
    done = [i for i in range(len(folds)) if (work / f"fold{i}.npz").is_file()]
    fx = {k: feats31[k][dev_idx] for k in TAP_KEYS}
    x_frozen = prep(fx, TAP_KEYS)
    wd, gd, cd = wr[dev_idx], gen[dev_idx], corpus[dev_idx]
    res: dict = {"folds_scored": done}
    infos = []
    for n in NS:
        arms = {"frozen": [], "finetuned": []}
        for i in done:
            with np.load(work / f"fold{i}.npz", allow_pickle=True) as z:
                b7 = z["b7"]
                if n == NS[0]:
                    infos.append(json.loads(str(z["info"])))
            x_ft = prep({TAP_KEYS[0]: fx[TAP_KEYS[0]], TAP_KEYS[1]: b7}, TAP_KEYS)
            arms["frozen"].append(fold_rows(x_frozen, wd, gd, cd, folds, i, n))
            arms["finetuned"].append(fold_rows(x_ft, wd, gd, cd, folds, i, n))
        res[str(n)] = {}
        for beta in (0.0, BETA):
            t = {arm: cv_table(v, beta) for arm, v in arms.items()}
            t["paired_finetuned_minus_frozen"] = paired(t["frozen"], t["finetuned"])
            res[str(n)][f"beta{beta}"] = t
            log(f"n={n} beta={beta}: frozen CEDAR {t['frozen']['cedar']['mean']:.4f} ± {t['frozen']['cedar']['sd']:.4f} "
                f"Bengali {t['frozen']['bengali']['mean']:.4f} ± {t['frozen']['bengali']['sd']:.4f} | fine-tuned CEDAR "
                f"{t['finetuned']['cedar']['mean']:.4f} ± {t['finetuned']['cedar']['sd']:.4f} Bengali "
                f"{t['finetuned']['bengali']['mean']:.4f} ± {t['finetuned']['bengali']['sd']:.4f} | paired "
                f"{json.dumps({c: round(v['mean'], 4) for c, v in t['paired_finetuned_minus_frozen'].items()})}")
    res["training"] = infos
    p = res[str(NS[0])][f"beta{BETA}"]["paired_finetuned_minus_frozen"]
    res["ships"] = ship_rule(p)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3", help="the 3.x caches (canvases, features31)")
    ap.add_argument("--work", default="runs/sig32")
    ap.add_argument("--folds", default="", help="outer folds to train, e.g. 0 or 0,1,2,3,4")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=1)
    ap.add_argument("--head-epochs", type=int, default=0, help="epochs training only the head first")
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--score", action="store_true")
    ap.add_argument("--fixed-epochs", action="store_true",
                    help="train on all four other folds for --epochs epochs, no inner validation")
    ap.add_argument("--objective", choices=("cosface", "pairs"), default="cosface",
                    help="cosface: 2.x's genuine/forgery-of-w classes; pairs: forgeries as hard negatives")
    ap.add_argument("--tag", default="main", help="subfolder of --work for this configuration's folds")
    args = ap.parse_args(argv)
    out, work = Path(args.out), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    log = lambda *a: print(f"[{time.perf_counter() - t_start:6.0f} s]", *a, flush=True)  # noqa: E731
    from training.signatures.v31_norm import load_features

    items = load_corpora(CEDAR, BENGALI)
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    corpus = np.array([it.corpus for it in items], dtype=object)
    dev = dev_writers()
    folds = folds_of(dev)
    dev_idx = np.flatnonzero(np.isin(wr, dev))   # the test writers' images are never touched here
    feats31 = load_features(out)
    if args.folds:
        one_thread()
        from training.signatures import finetune as F
        from training.signatures.cnn import build_backbone

        cv = normalize_all(items, OPTIONS, out)
        onnx_path = work / f"trunk-{START}-{CANVAS[0]}x{CANVAS[1]}.onnx"
        if not onnx_path.is_file():
            F.export_trunk_at(build_backbone("imagenet", CANVAS), START, onnx_path)
        maps = trunk_maps(cv.canvas[dev_idx], onnx_path, work / f"trunk-{START}-dev-{cv.key}.npy", log)
        frozen_b7 = feats31[TAP_KEYS[1]][dev_idx]
        for i in (int(v) for v in args.folds.split(",")):
            path = work / args.tag / f"fold{i}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_file():
                log(f"fold {i}: cached")
                continue
            r = train_fold(i, folds, maps, dev_idx, wr, gen, corpus, frozen_b7, args, log)
            np.savez(path, b7=r["b7"], info=json.dumps(r["info"]))
    if args.score:
        c0, t0 = time.process_time(), time.perf_counter()
        res = score(work / args.tag, feats31, dev_idx, wr, gen, corpus, folds, log)
        res["score_seconds"] = round(time.perf_counter() - t0, 1)
        res["score_cpu_seconds"] = round(time.process_time() - c0, 1)
        res["load_average"] = list(os.getloadavg())
        (work / args.tag / "results32.json").write_text(json.dumps(res, indent=1))
        log(f"ships: {res['ships']} -> {work / args.tag / 'results32.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["TAPS", "cv_table", "fold_roles", "ship_rule", "fold_rows", "paired", "split_pooled", "train_fold"]
