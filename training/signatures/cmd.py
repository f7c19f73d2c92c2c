"""``python -m training signatures``: build the ``signature-verify`` pack end to end.

1. Normalise all 2,160 CEDAR images with the runtime code; writer-disjoint split from the config.
2. CNN embeddings (EfficientNet-Lite0, ImageNet) of every canvas, once (cached under ``runs/``).
3. Dichotomy pairs; the four study kernels (+ a tuned RBF), each scored out-of-fold by a 5-fold
   cross-validation grouped by writer over the development writers (train + val sides, 1-35); the
   best kernel, the fusion, the reference normalisation, the calibration and the thresholds (per
   number of references) are all chosen on those out-of-fold scores; the final SVM is fitted on
   all development writers.
4. Test-writer evaluation with 1/3/5/10 references; per-writer spread; feature and preprocessing
   ablations; blur/noise robustness; the single-image protocol and the background-only baseline.
5. Export: ``models/signature-verify/`` (model.onnx, svm.onnx, projection.npz, manifest.json,
   CARD.md, plots), parity checks (Keras vs onnxruntime; sklearn vs onnxruntime; training pipeline
   vs the app's :class:`~inference.signature.verifier.Verifier`), and self-test samples.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "training" / "configs" / "signature-verify.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config")
    parser.add_argument("--data", type=Path, default=None, help="CEDAR folder (overrides data.root)")
    parser.add_argument("--out", type=Path, default=None, help="pack folder (default models/<pack id>)")
    parser.add_argument("--samples-out", type=Path, default=None,
                        help="self-test samples folder (default resources/samples/<pack id>)")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "runs" / "signatures",
                        help="cache and run folder (default runs/signatures)")
    parser.add_argument("--quick", action="store_true",
                        help="skip ablations, robustness and baselines (a smoke run; the card says so)")
    parser.add_argument("--compare-finetune", action="store_true",
                        help="also fine-tune the CNN's top block and report the SVM with those embeddings")


def load_config(path: Path) -> dict:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class Clock:
    """Wall-clock per stage, for the card."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.stages: dict[str, float] = {}
        self._last = self.t0

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stages[name] = round(now - self._last, 1)
        self._last = now
        print(f"[{now - self.t0:6.0f} s] {name} done ({self.stages[name]:.0f} s)", flush=True)

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self.t0, 1)


def run(args: argparse.Namespace) -> int:
    from inference.signature.features import FeatureSpec, pair_feature_names
    from inference.signature.preprocess import PreprocessOptions
    from training.signatures import cache as C
    from training.signatures import data as D
    from training.signatures import evaluate as E
    from training.signatures import metrics as M
    from training.signatures import svm as S

    cfg = load_config(args.config)
    clock = Clock()
    seed = int(cfg.get("seed", 0))
    pack_cfg = cfg["pack"]
    root = args.data or (REPO_ROOT / cfg["data"]["root"]).resolve()
    out_dir = args.out or REPO_ROOT / "models" / pack_cfg["id"]
    samples_dir = args.samples_out or REPO_ROOT / "resources" / "samples" / pack_cfg["id"]
    work = Path(args.work)
    cache_dir = work / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    workers = int(cfg.get("workers", 2))

    items = D.load_items(root)
    split = D.writer_split(cfg["data"]["split"])
    writers_all = sorted({it.writer for it in items})
    unknown = set(w for s in split.values() for w in s) - set(writers_all)
    if unknown:
        raise SystemExit(f"split names writers not in the data: {sorted(unknown)}")
    opts = PreprocessOptions.from_mapping(cfg["preprocess"])
    spec = FeatureSpec.from_mapping(cfg["features"])
    genuine = np.array([it.genuine for it in items])
    writer_of = np.array([it.writer for it in items])
    side = D.side_of(items, split)
    results: dict = {"config": cfg, "split": {k: v for k, v in split.items()},
                     "counts": {s: int(np.sum(side == s)) for s in D.SIDES}, "quick": bool(args.quick)}
    print(f"CEDAR: {len(items)} images, {len(writers_all)} writers; split {cfg['data']['split']}", flush=True)

    # 1. normalise ------------------------------------------------------------------------------
    store = C.normalize_items(items, opts, cache_dir, workers=workers)
    clock.lap("normalise")

    # 2. CNN embeddings (frozen ImageNet backbone) ---------------------------------------------
    from inference.manifest import InputSpec
    from training.lite0.model import PREPROCESSING
    from training.signatures import cnn

    input_spec = InputSpec("input", opts.canvas_height, opts.canvas_width, "NHWC", "RGB", "letterbox",
                           float(PREPROCESSING["scale"]), tuple(PREPROCESSING["mean"]), tuple(PREPROCESSING["std"]),
                           pad_value=255, interpolation="bilinear")
    import keras

    keras.utils.set_random_seed(seed)
    classifier, backbone = cnn.build_classifier("imagenet")
    dense = classifier.get_layer("verdict")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    frozen_onnx = work / "cnn_frozen.onnx"
    if not frozen_onnx.is_file():
        from training.lite0.cam_export import build_cam_model, export_onnx

        export_onnx(build_cam_model(classifier), frozen_onnx)
    emb_all = C.embeddings(frozen_onnx, store, input_spec, cache_dir)["embedding"]
    clock.lap("CNN embeddings")

    dev_writers = sorted(set(split["train"]) | set(split["val"]))
    dev_mask = np.isin(writer_of, dev_writers)
    projection = C.fit_projection(emb_all[dev_mask], spec.projection_dims)

    # 3. pairs, SVMs and writer-grouped cross-validation on the development writers ---------------
    svm_cfg = cfg["svm"]
    folds = _writer_folds(dev_writers, int(svm_cfg.get("cv_folds", 5)), seed)
    fold_of = {w: k for k, ws in enumerate(folds) for w in ws}
    train_pairs = D.training_pairs(items, dev_writers, pos_per_writer=svm_cfg["pos_per_writer"],
                                   neg_per_writer=svm_cfg["neg_per_writer"], seed=seed)
    dev_pairs = D.all_reference_pairs(items, dev_writers)
    test_pairs = D.all_reference_pairs(items, split["test"])
    D.check_pairs(items, train_pairs, dev_writers)
    D.check_pairs(items, dev_pairs, dev_writers)
    D.check_pairs(items, test_pairs, split["test"])
    names = pair_feature_names(spec)
    X_train = C.pair_features(store, train_pairs, spec, emb_all, projection)
    X_dev = C.pair_features(store, dev_pairs, spec, emb_all, projection)
    X_test = C.pair_features(store, test_pairs, spec, emb_all, projection)
    aug_cfg = svm_cfg.get("augment") or {}
    if aug_cfg.get("fraction", 0) > 0:
        train_pairs, X_train = _augment_pairs(items, dev_writers, train_pairs, X_train, store, emb_all, projection,
                                              spec, opts, aug_cfg, frozen_onnx, input_spec, cache_dir, workers, seed)
    y_train = train_pairs[:, 2]
    train_fold = np.array([fold_of[items[q].writer] for q in train_pairs[:, 0]])
    dev_fold = np.array([fold_of[items[q].writer] for q in dev_pairs[:, 0]])
    for k in range(len(folds)):  # no writer of a held-out fold among that fold's training pairs
        D.check_pairs(items, train_pairs[train_fold != k], [w for w in dev_writers if fold_of[w] != k])
    results["pairs"] = {"train": int(len(train_pairs)), "train_genuine": int(y_train.sum()),
                        "dev": int(len(dev_pairs)), "test": int(len(test_pairs)), "features": len(names)}
    results["folds"] = folds
    clock.lap("pair features")

    def oof(kernel: str, cols=None) -> np.ndarray:
        """Out-of-fold P(genuine) of every development pair (SVM trained without that pair's writers)."""
        cols = slice(None) if cols is None else cols
        out = np.zeros(len(dev_pairs))
        for k in range(len(folds)):
            m = S.fit(kernel, X_train[train_fold != k][:, cols], y_train[train_fold != k], seed=seed,
                      log=lambda *a: None)
            out[dev_fold == k] = S.genuine_proba(m, X_dev[dev_fold == k][:, cols])
        return out

    dcfg = cfg["decision"]
    draws = int(dcfg["draws"])
    sel_n = int(svm_cfg["select_refs"])
    dev_sets = {n: E.draw_sets(items, dev_writers, n, draws=draws, seed=seed) for n in range(1, dcfg["max_refs"] + 1)}
    test_sets = {n: E.draw_sets(items, split["test"], n, draws=draws, seed=seed + 1) for n in dcfg["eval_refs"]}

    kernel_rows = {}
    models = {}
    for name in svm_cfg["kernels"]:
        t0 = time.perf_counter()
        pv = oof(name)
        model = S.fit(name, X_train, y_train, seed=seed, log=lambda *a: None)
        pt = S.genuine_proba(model, X_test)
        sv = E.score_sets(items, dev_sets[sel_n], E.table_prob(dev_pairs, pv), "mean")
        st = E.score_sets(items, test_sets[sel_n], E.table_prob(test_pairs, pt), "mean")
        ve, vt = M.eer(sv.y, sv.fused)
        row = {"params": {k: v for k, v in S.KERNELS[name].items()}, "study": name in S.STUDY_KERNELS,
               "val_eer": ve, "val_auc": M.auc(sv.y, sv.fused), "pair_val_auc": M.auc(dev_pairs[:, 2], pv)}
        row.update({f"test_{k}": v for k, v in M.summary(st.y, st.fused, vt).items()})
        kernel_rows[name] = row
        models[name] = (model, pv, pt)
        print(f"  {name:<9} CV EER {ve:.3f}  test EER {row['test_eer']:.3f}  test acc@CV-thr "
              f"{row['test_accuracy']:.3f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    best = min(kernel_rows, key=lambda k: (round(kernel_rows[k]["val_eer"], 6), -kernel_rows[k]["val_auc"]))
    model, p_dev, p_test = models[best]
    results["kernels"] = kernel_rows
    results["kernel"] = best
    clock.lap("SVM kernels (5-fold writer CV)")

    # fusion and reference normalisation, chosen on the out-of-fold development scores
    prior = float(p_dev[dev_pairs[:, 2] == 1].mean())
    dev_prob = E.table_prob(dev_pairs, p_dev)
    test_prob = E.table_prob(test_pairs, p_test)
    fusion_rows = []
    scored_val = {f: {n: E.score_sets(items, dev_sets[n], dev_prob, f) for n in range(1, dcfg["max_refs"] + 1)}
                  for f in dcfg["fusions"]}
    for f in dcfg["fusions"]:
        for lam in dcfg["lambdas"]:
            eers = {n: M.eer(scored_val[f][n].y, scored_val[f][n].raw(lam, prior))[0] for n in dcfg["eval_refs"]}
            fusion_rows.append({"fusion": f, "lambda": lam, "val_eer": eers,
                                "val_eer_select": float(np.mean([eers[n] for n in dcfg["select_refs"]]))})
    choice = min(fusion_rows, key=lambda r: (round(r["val_eer_select"], 6), r["lambda"], r["fusion"] != "mean"))
    fusion, lam = choice["fusion"], float(choice["lambda"])
    # the same grid on test writers, for the card (not used to choose anything)
    scored_test = {f: {n: E.score_sets(items, test_sets[n], test_prob, f) for n in dcfg["eval_refs"]}
                   for f in dcfg["fusions"]}
    for row in fusion_rows:
        row["test_eer"] = {n: M.eer(scored_test[row["fusion"]][n].y, scored_test[row["fusion"]][n].raw(row["lambda"], prior))[0]
                           for n in dcfg["eval_refs"]}
    results["fusion_grid"] = fusion_rows
    results["fusion"], results["lambda"], results["prior"] = fusion, lam, prior

    # calibration (logistic on out-of-fold raw scores, pooled over the numbers of references)
    from sklearn.linear_model import LogisticRegression

    raw_v = np.concatenate([scored_val[fusion][n].raw(lam, prior) for n in dcfg["eval_refs"]])
    y_v = np.concatenate([scored_val[fusion][n].y for n in dcfg["eval_refs"]])
    lr = LogisticRegression(C=100.0, max_iter=5000).fit(raw_v[:, None], y_v)
    calibration = {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    results["calibration"] = calibration

    thresholds, strict, bands, val_eer_by_n = {}, {}, {}, {}
    for n in range(1, dcfg["max_refs"] + 1):
        sv = scored_val[fusion][n]
        s = sv.score(lam, prior, calibration)
        e, t = M.eer(sv.y, s)
        ts = max(M.threshold_at_far(sv.y, s, dcfg["strict_far"]), t)
        tl = min(M.threshold_at_frr(sv.y, s, dcfg["review_frr"]), t)
        thresholds[str(n)], strict[str(n)], bands[str(n)] = t, ts, [tl, ts]
        val_eer_by_n[str(n)] = e
    agreement_floor = float(np.quantile(p_dev[dev_pairs[:, 2] == 1], dcfg["agreement_floor_quantile"]))
    results["thresholds"], results["strict_thresholds"], results["review_bands"] = thresholds, strict, bands
    results["val_eer_by_refs"] = val_eer_by_n
    results["val_by_refs"] = {}
    for n in dcfg["eval_refs"]:
        sv = scored_val[fusion][n]
        results["val_by_refs"][str(n)] = M.summary(sv.y, sv.score(lam, prior, calibration), thresholds[str(n)])

    # 4. test evaluation -------------------------------------------------------------------------
    test_eval = {}
    test_scores = {}
    for n in dcfg["eval_refs"]:
        st = scored_test[fusion][n]
        s = st.score(lam, prior, calibration)
        rep = E.report(st.y, s, st.writer, thresholds[str(n)], strict[str(n)])
        lo, hi = bands[str(n)]
        rep["review_rate"] = float(np.mean((s >= lo) & (s < hi)))
        outside = ~((s >= lo) & (s < hi))
        rep["accuracy_outside_review"] = float(np.mean((s[outside] >= thresholds[str(n)]) == st.y[outside])) \
            if outside.any() else float("nan")
        test_eval[str(n)] = rep
        test_scores[n] = (st.y, s, st.writer)
        print(f"  test n={n:<2} EER {rep['eer']:.3f}  FRR {rep['frr']:.3f}  FAR {rep['far']:.3f}  "
              f"acc {rep['accuracy']:.3f}  AUC {rep['auc']:.4f}", flush=True)
    results["test"] = test_eval
    clock.lap("fusion, calibration, thresholds, test")

    # feature-block ablation (same pairs, columns removed; out-of-fold and test EER)
    ab_rows = []
    if not args.quick:
        blocks_cols = {b: [i for i, nm in enumerate(names) if _block_of(nm) == b] for b in spec.blocks}
        variants = [("all blocks", list(range(len(names))))]
        for b in spec.blocks:
            variants.append((f"without {b}", [i for i in range(len(names)) if i not in blocks_cols[b]]))
            variants.append((f"{b} only", blocks_cols[b]))
        n5 = sel_n
        for label, cols in variants:
            # threshold-free, so no cross-validation needed: fit on the development pairs, EER on test writers
            m = S.fit(best, X_train[:, cols], y_train, seed=seed, log=lambda *a: None)
            pt = S.genuine_proba(m, X_test[:, cols])
            st = E.score_sets(items, test_sets[n5], E.table_prob(test_pairs, pt), fusion)
            pr = float(S.genuine_proba(m, X_train[:, cols])[y_train == 1].mean())
            ab_rows.append({"variant": label, "features": len(cols), "val_eer": None,
                            "test_eer": M.eer(st.y, st.raw(lam, pr))[0], "test_auc": M.auc(st.y, st.raw(lam, pr))})
            print(f"  ablation {label:<18} test EER {ab_rows[-1]['test_eer']:.3f}", flush=True)
        st = scored_test[fusion][n5]
        ab_rows.append({"variant": "reference normalisation off (λ=0)", "features": len(names),
                        "val_eer": M.eer(scored_val[fusion][n5].y, scored_val[fusion][n5].raw(0.0, prior))[0],
                        "test_eer": M.eer(st.y, st.raw(0.0, prior))[0], "test_auc": M.auc(st.y, st.raw(0.0, prior))})
        clock.lap("feature ablation")
    results["feature_ablation"] = ab_rows

    # preprocessing ablation (reduced protocol)
    pre_rows = []
    acfg = cfg.get("ablation", {})
    if acfg.get("enabled") and not args.quick:
        pre_rows = _preprocess_ablation(items, split, opts, spec, acfg, best, fusion, lam, cache_dir, frozen_onnx,
                                        input_spec, workers, seed, store, emb_all)
        clock.lap("preprocessing ablation")
    results["preprocess_ablation"] = pre_rows

    # fine-tuning comparison (optional)
    if args.compare_finetune or cfg["cnn"]["finetune"].get("compare"):
        results["finetune"] = _finetune_compare(cfg, items, split, side, store, classifier, backbone, input_spec,
                                                cache_dir, work, spec, emb_all, best, test_sets, sel_n, seed)
        classifier, backbone = cnn.build_classifier("imagenet")  # the export uses the frozen backbone
        clock.lap("fine-tuning comparison")

    # robustness
    rob_rows = []
    rcfg = cfg.get("robustness", {})
    if rcfg.get("enabled") and not args.quick:
        rob_rows = _robustness(items, split, opts, spec, rcfg, model, store, emb_all, projection, frozen_onnx,
                               input_spec, cache_dir, workers, fusion, lam, prior, calibration, thresholds, seed)
        clock.lap("robustness")
    results["robustness"] = rob_rows

    # 5. single-image protocol and background-only baseline ---------------------------------------
    from training.signatures import baselines as B

    head_kernel, head_bias, head_model = B.fit_verdict_head(emb_all, genuine, dev_mask, C=cfg["cnn"]["head_C"])
    z = emb_all @ head_kernel + head_bias
    p_forged = np.exp(z[:, 1]) / np.exp(z).sum(axis=1)
    head_acc = {"development": float(np.mean((p_forged[dev_mask] < 0.5) == genuine[dev_mask])),
                "test": float(np.mean((p_forged[side == "test"] < 0.5) == genuine[side == "test"]))}
    results["single_image_head"] = head_acc
    if cfg.get("baselines", {}).get("enabled") and not args.quick:
        results["baselines"] = _baselines(items, split, store, emb_all, frozen_onnx, input_spec, cache_dir, seed)
        clock.lap("baselines")

    # 6. export ----------------------------------------------------------------------------------
    out_dir.mkdir(parents=True, exist_ok=True)
    dense = classifier.get_layer("verdict")
    dense.set_weights([head_kernel, head_bias])
    parity_imgs = C.input_tensor(store.canvas[np.flatnonzero(side == "test")[::30]], input_spec)
    cnn_parity = cnn.export(classifier, out_dir / "model.onnx", parity_imgs)
    final = S.fit(best, X_train, y_train, seed=seed, log=lambda *a: None)  # same data, same seed: identical
    svm_path = S.export_onnx(final, X_train.shape[1], out_dir / "svm.onnx")
    svm_parity = S.check_onnx(final, svm_path, X_test.astype(np.float32))
    projection.save(out_dir / "projection.npz")
    results["parity"] = {"cnn": cnn_parity, "svm": svm_parity}
    results["sizes"] = {p.name: p.stat().st_size for p in (out_dir / "model.onnx", svm_path, out_dir / "projection.npz")}

    from training.signatures import card as K

    decision = {
        "fusion": fusion,
        "reference_normalization": {"lambda": lam, "prior": prior},
        "calibration": calibration,
        "thresholds": thresholds,
        "strict_thresholds": strict,
        "review_bands": bands,
        "min_references": int(dcfg["min_references"]),
        "disagreement": float(dcfg["disagreement"]),
        "reference_agreement_floor": agreement_floor,
        "validation_eer_by_references": val_eer_by_n,
    }
    manifest = K.write_manifest(out_dir, pack_cfg, opts, spec, names, best, decision, results, input_spec)
    clock.lap("export")

    # 7. the app's Verifier on test writers must give the pipeline's scores; samples -----------
    results["runtime_parity"] = _runtime_parity(out_dir, items, test_sets, fusion, lam, prior, calibration,
                                                test_prob, seed)
    print(f"  runtime parity: {results['runtime_parity']}", flush=True)
    samples = _write_samples(out_dir, samples_dir, items, split, seed)
    results["samples"] = samples
    results["timings"] = dict(clock.stages)
    results["timings"]["total"] = clock.total
    K.write_plots(out_dir, test_scores, results)
    K.write_card(out_dir, results, manifest)
    (work / "results.json").write_text(json.dumps(_jsonable(results), indent=1), encoding="utf-8")
    # the manifest records metrics; rewrite it now the card and plots exist (hashes unchanged)
    print(f"Wrote {out_dir} in {clock.total:.0f} s", flush=True)
    return 0


# -- helpers -----------------------------------------------------------------------------------------
def _block_of(name: str) -> str:
    if name.startswith("cnn_"):
        return "cnn"
    if name.startswith("d_glcm"):
        return "glcm"
    if name.startswith("overlay"):
        return "overlay"
    return "shape"


def _augment_pairs(items, dev_writers, train_pairs, X_train, store, emb, projection, spec, opts, aug_cfg,
                   onnx_path, input_spec, cache_dir, workers, seed):
    """Add copies of a share of the training pairs in which the query, the reference or both are
    blurred (Gaussian, ``aug_cfg["blur"]`` px, milder than the robustness test's), so the SVM learns
    that a blurred scan of the same hand is still the same hand."""
    from inference.signature.features import pair_vector
    from training.signatures import cache as C

    dev_items = [it for it in items if it.writer in set(dev_writers)]
    degraded = C.normalize_items(dev_items, opts, cache_dir, workers=workers, degrade=("blur", float(aug_cfg["blur"])))
    e = C.embeddings(onnx_path, degraded, input_spec, cache_dir)["embedding"]
    deg = {dev_items[i].index: d for i, d in degraded.descriptors(e, projection, None, spec.overlay_tolerance).items()}
    rng = np.random.default_rng(seed + 11)
    pick = np.flatnonzero(rng.random(len(train_pairs)) < float(aug_cfg["fraction"]))
    which = rng.integers(0, 3, size=len(pick))  # 0 query blurred, 1 reference blurred, 2 both
    needed = sorted(set(train_pairs[pick, 0].tolist()) | set(train_pairs[pick, 1].tolist()))
    clean = store.descriptors(emb, projection, needed, spec.overlay_tolerance)
    rows = []
    for i, w in zip(pick, which):
        q, r, _ = train_pairs[i]
        dq = deg[q] if w in (0, 2) else clean[q]
        dr = deg[r] if w in (1, 2) else clean[r]
        rows.append(pair_vector(dq, dr, spec))
    print(f"  augmented {len(pick)} training pairs with blurred copies (sigma {aug_cfg['blur']} px)", flush=True)
    return np.concatenate([train_pairs, train_pairs[pick]]), np.concatenate([X_train, np.stack(rows)])


def _writer_folds(writers, k: int, seed: int) -> list[list[int]]:
    """``k`` groups of writers (shuffled with the seed), as equal as possible."""
    order = list(np.random.default_rng(seed).permutation(sorted(writers)))
    return [sorted(int(w) for w in order[i::k]) for i in range(k)]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _preprocess_ablation(items, split, opts, spec, acfg, kernel, fusion, lam, cache_dir, onnx_path, input_spec,
                         workers, seed, main_store, main_emb):
    from training.signatures import cache as C
    from training.signatures import data as D
    from training.signatures import evaluate as E
    from training.signatures import metrics as M
    from training.signatures import svm as S

    abl_train = D.parse_writers(acfg["train_writers"])
    sub = [it for it in items if it.writer in set(abl_train) | set(split["test"])]
    rows_idx = np.array([it.index for it in sub])
    # re-index the subset 0..k-1 so the caches and pairs work on it alone
    from dataclasses import replace

    sub_items = [replace(it, index=i) for i, it in enumerate(sub)]
    tr_pairs = D.training_pairs(sub_items, abl_train, pos_per_writer=100, neg_per_writer=100, seed=seed)
    te_pairs = D.all_reference_pairs(sub_items, split["test"])
    sets = E.draw_sets(sub_items, split["test"], int(acfg["refs"]), draws=int(acfg["draws"]), seed=seed + 2)
    train_rows = np.array([it.writer in set(abl_train) for it in sub_items])
    out = []

    def measure(label, store, emb, changes):
        proj = C.fit_projection(emb[train_rows], spec.projection_dims)
        Xtr = C.pair_features(store, tr_pairs, spec, emb, proj)
        Xte = C.pair_features(store, te_pairs, spec, emb, proj)
        m = S.fit(kernel, Xtr, tr_pairs[:, 2], seed=seed, log=lambda *a: None)
        pt = S.genuine_proba(m, Xte)
        pr = float(S.genuine_proba(m, Xtr)[tr_pairs[:, 2] == 1].mean())
        sc = E.score_sets(sub_items, sets, E.table_prob(te_pairs, pt), fusion)
        row = {"variant": label, "changes": changes, "test_eer": M.eer(sc.y, sc.raw(lam, pr))[0],
               "test_auc": M.auc(sc.y, sc.raw(lam, pr)), "pair_auc": M.auc(te_pairs[:, 2], pt)}
        print(f"  preprocessing {label:<44} test EER {row['test_eer']:.3f} AUC {row['test_auc']:.4f}", flush=True)
        out.append(row)

    measure("as shipped", main_store.subset(rows_idx), main_emb[rows_idx], {})
    for variant in acfg["variants"]:
        o = opts.with_(**variant["preprocess"])
        st = C.normalize_items(sub_items, o, cache_dir, workers=workers)
        emb = C.embeddings(onnx_path, st, input_spec, cache_dir)["embedding"]
        measure(variant["name"], st, emb, variant["preprocess"])
    return out


def _robustness(items, split, opts, spec, rcfg, model, store, emb, projection, onnx_path, input_spec, cache_dir,
                workers, fusion, lam, prior, calibration, thresholds, seed):
    from inference.signature.features import pair_vector
    from training.signatures import cache as C
    from training.signatures import evaluate as E
    from training.signatures import metrics as M
    from training.signatures import robustness as R
    from training.signatures import svm as S

    test_items = [it for it in items if it.writer in set(split["test"])]
    test_idx = np.array([it.index for it in test_items])
    n = int(rcfg["refs"])
    sets = E.draw_sets(items, split["test"], n, draws=int(rcfg["draws"]), seed=seed + 3)
    clean = store.descriptors(emb, projection, test_idx.tolist(), spec.overlay_tolerance)
    rows = []
    for kind, severity in rcfg["kinds"].items():
        st = C.normalize_items(test_items, opts, cache_dir, workers=workers, degrade=(kind, float(severity)))
        e = C.embeddings(onnx_path, st, input_spec, cache_dir)["embedding"]
        dd = st.descriptors(e, projection, None, spec.overlay_tolerance)
        degraded = {int(test_idx[i]): d for i, d in dd.items()}
        for frac in [0.0] + list(rcfg["fractions"]) + [1.0]:
            mask = R.choose_degraded(len(test_idx), frac, seed + int(frac * 100))
            deg = {int(i): bool(m) for i, m in zip(test_idx, mask)}

            def pair_prob(rows_, deg=deg, degraded=degraded):
                X = np.stack([pair_vector((degraded if deg[q] else clean)[q], (degraded if deg[r] else clean)[r], spec)
                              for q, r in rows_])
                return S.genuine_proba(model, X)

            sc = E.score_sets(items, sets, pair_prob, fusion)
            s = sc.score(lam, prior, calibration)
            rep = M.summary(sc.y, s, thresholds[str(n)])
            rows.append({"kind": kind, "severity": severity, "fraction": frac, **rep})
            print(f"  robustness {kind:<5} {int(frac * 100):3d}%: EER {rep['eer']:.3f} acc {rep['accuracy']:.3f} "
                  f"FRR {rep['frr']:.3f} FAR {rep['far']:.3f}", flush=True)
    return rows


def _baselines(items, split, store, emb_norm, onnx_path, input_spec, cache_dir, seed):
    from inference.imageio import load_image
    from training.signatures import baselines as B
    from training.signatures import cache as C

    out = {}
    t0 = time.perf_counter()
    bg_raw = np.stack([B.background_features_raw(load_image(it.path).rgb) for it in items])
    bg_norm = np.stack([B.background_features_canvas(store.canvas[i], store.mask[i]) for i in range(len(items))])
    out["background_raw"] = B.single_image_accuracy(bg_raw, items, split, seed=seed)
    out["background_normalized"] = B.single_image_accuracy(bg_norm, items, split, seed=seed)
    print(f"  background-only: raw {out['background_raw']}, normalised {out['background_normalized']} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    emb_raw = C.embeddings(onnx_path, [it.path for it in items], input_spec, cache_dir, raw=True)["embedding"]
    out["cnn_raw"] = B.single_image_accuracy(emb_raw, items, split, seed=seed)
    out["cnn_normalized"] = B.single_image_accuracy(emb_norm, items, split, seed=seed)
    print(f"  single-image CNN+SVM: raw {out['cnn_raw']}, normalised {out['cnn_normalized']}", flush=True)
    return out


def _finetune_compare(cfg, items, split, side, store, classifier, backbone, input_spec, cache_dir, work, spec,
                      emb_frozen, kernel, test_sets, sel_n, seed):
    """Fine-tune the top block(s) on the training writers (1-27) and compare the SVM on validation
    writers (28-35) with fine-tuned vs frozen embeddings (both SVMs trained on writers 1-27)."""
    from training.signatures import cache as C
    from training.signatures import cnn
    from training.signatures import data as D
    from training.signatures import evaluate as E
    from training.signatures import metrics as M
    from training.signatures import svm as S

    fcfg = cfg["cnn"]["finetune"]
    nb = int(fcfg["blocks"])
    trunk_path = work / f"trunk{nb}.onnx"
    if not trunk_path.is_file():
        cnn.export_trunk(backbone, nb, trunk_path)
    feats_path = cache_dir / f"trunk{nb}-{store.key}.npy"
    if feats_path.is_file():
        feats = np.load(feats_path)
    else:
        feats = C.run_onnx(trunk_path, lambda a, b: C.input_tensor(store.canvas[a:b], input_spec), len(store),
                           outputs=("trunk",))["trunk"]
        np.save(feats_path, feats)
    writers = np.array([it.writer for it in items])
    genuine = np.array([it.genuine for it in items])
    info = cnn.finetune(classifier, backbone, feats, writers, genuine, side == "train", n_blocks=nb,
                        epochs=int(fcfg["epochs"]), lr=float(fcfg["lr"]), batch_size=32,
                        forgery_weight=float(fcfg["forgery_weight"]), seed=seed)
    tuned = cnn.top_embeddings(backbone, feats, nb)
    train_pairs = D.training_pairs(items, split["train"], pos_per_writer=100, neg_per_writer=100, seed=seed)
    val_pairs = D.all_reference_pairs(items, split["val"])
    test_pairs = D.all_reference_pairs(items, split["test"])
    val_sets = E.draw_sets(items, split["val"], sel_n, draws=5, seed=seed)
    out = {**{k: v for k, v in info.items() if k != "history"}}
    for label, emb in (("finetuned", tuned), ("frozen", emb_frozen)):
        proj = C.fit_projection(emb[side == "train"], spec.projection_dims)
        Xtr = C.pair_features(store, train_pairs, spec, emb, proj)
        Xva = C.pair_features(store, val_pairs, spec, emb, proj)
        Xte = C.pair_features(store, test_pairs, spec, emb, proj)
        m = S.fit(kernel, Xtr, train_pairs[:, 2], seed=seed, log=lambda *a: None)
        pv, pt = S.genuine_proba(m, Xva), S.genuine_proba(m, Xte)
        sv = E.score_sets(items, val_sets, E.table_prob(val_pairs, pv), "mean")
        st = E.score_sets(items, test_sets[sel_n], E.table_prob(test_pairs, pt), "mean")
        out[f"{label}_val_eer"] = M.eer(sv.y, sv.fused)[0]
        out[f"{label}_test_eer"] = M.eer(st.y, st.fused)[0]
        print(f"  fine-tune comparison, {label}: val EER {out[f'{label}_val_eer']:.3f} "
              f"test EER {out[f'{label}_test_eer']:.3f}", flush=True)
    z = feats  # single-image head after fine-tuning, for the record
    del z
    return out


def _runtime_parity(out_dir, items, test_sets, fusion, lam, prior, calibration, test_prob, seed):
    """Score a few test queries with the app's Verifier and with the pipeline; largest difference."""
    from inference.registry import check_pack
    from inference.signature.verifier import Verifier

    pack = check_pack(out_dir, "bundled")
    verifier = Verifier(pack)
    diffs = []
    for n in (1, 5):
        sets = test_sets.get(n) or []
        for s in sets[:: max(1, len(sets) // 3)][:3]:
            refs = [items[r].path for r in s.refs]
            for q in (s.queries[0], s.queries[-1]):
                res = verifier.verify(items[q].path, refs)
                per = test_prob(np.array([[q, r] for r in s.refs]))
                fused = per.mean() if fusion == "mean" else per.max()
                agree = np.mean([test_prob(np.array([[a, b]]))[0] for a in s.refs for b in s.refs if a != b]) \
                    if len(s.refs) > 1 else prior
                raw = fused - lam * agree
                expected = 1.0 / (1.0 + np.exp(-(calibration["a"] * raw + calibration["b"])))
                diffs.append(abs(res.score - expected))
    return {"checked": len(diffs), "max_abs_score_diff": float(max(diffs)) if diffs else None}


def _write_samples(out_dir, samples_dir, items, split, seed):
    """Copy a few test-writer signatures the shipped pack gets right (outside the review band)."""
    from inference.registry import check_pack
    from inference.signature.verifier import Verifier

    verifier = Verifier(check_pack(out_dir, "bundled"))
    rng = np.random.default_rng(seed)
    if samples_dir.exists():
        shutil.rmtree(samples_dir)
    samples_dir.mkdir(parents=True)
    entries = []
    from training.signatures.data import by_writer

    groups = by_writer(items, split["test"])
    for w in list(groups)[:: max(1, len(groups) // 4)]:
        gen, forg = groups[w]
        refs = [items[i] for i in rng.choice(gen, size=3, replace=False)]
        ref_names = []
        for k, it in enumerate(refs, 1):
            name = f"w{w}_ref{k}{it.path.suffix}"
            shutil.copyfile(it.path, samples_dir / name)
            ref_names.append(name)
        for want, pool in (("genuine", [g for g in gen if items[g].path not in {r.path for r in refs}]),
                           ("forged", forg)):
            for q in rng.permutation(pool):
                res = verifier.verify(items[q].path, [r.path for r in refs])
                if res.label == want and not res.needs_review:
                    name = f"w{w}_{want}{items[q].path.suffix}"
                    shutil.copyfile(items[q].path, samples_dir / name)
                    entries.append({"file": name, "references": ref_names, "expected": want,
                                    "score": round(res.score, 4), "source": str(items[q].path.name)})
                    break
        if len(entries) >= 6:
            break
    (samples_dir / "samples.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training signatures", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
