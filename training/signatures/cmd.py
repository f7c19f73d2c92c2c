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
    parser.add_argument("--card-only", action="store_true",
                        help="rewrite CARD.md and the plots from the last run's results (runs/signatures), no training")
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
    if args.card_only:
        return write_card_only(args)
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
    if cfg.get("previous"):
        results["previous"] = cfg["previous"]
    print(f"CEDAR: {len(items)} images, {len(writers_all)} writers; split {cfg['data']['split']}", flush=True)

    # 1. normalise ------------------------------------------------------------------------------
    store = C.normalize_items(items, opts, cache_dir, workers=workers)
    clock.lap("normalise")

    # 2. CNN embeddings: frozen ImageNet Lite0 taps, pooled; the learned layer on development writers
    from inference.manifest import InputSpec
    from training.lite0.model import PREPROCESSING
    from training.signatures import cnn
    from training.signatures import metric as MT

    input_spec = InputSpec("input", opts.canvas_height, opts.canvas_width, "NHWC", "RGB", "letterbox",
                           float(PREPROCESSING["scale"]), tuple(PREPROCESSING["mean"]), tuple(PREPROCESSING["std"]),
                           pad_value=255, interpolation="bilinear")
    import keras

    keras.utils.set_random_seed(seed)
    ccfg = cfg["cnn"]
    taps = cnn.parse_taps(ccfg["taps"])
    size = (opts.canvas_height, opts.canvas_width)
    backbone = cnn.build_backbone("imagenet", size)
    feat_onnx = work / f"features-{C._key([t.__dict__ for t in taps] + ([list(size)] if size != (224, 224) else []))}.onnx"
    if not feat_onnx.is_file():
        cnn.export_feature_model(backbone, taps, feat_onnx)
    feats_all = C.embeddings(feat_onnx, store, input_spec, cache_dir, outputs=cnn.FEATURE_OUTPUTS)
    dev_writers = sorted(set(split["train"]) | set(split["val"]))
    dev_mask = np.isin(writer_of, dev_writers)
    layer_kw = dict(power=float(ccfg["power"]), pca_dims=int(ccfg["pca_dims"]), lda_dims=int(ccfg.get("lda_dims", 0)),
                    ridge=float(ccfg.get("ridge", 0.1)))
    fold_writers = _writer_folds(dev_writers, int(cfg["svm"].get("cv_folds", 5)), seed)
    # emb_all: what the SVM sees. Development images are embedded out of sample (cross-fitted by writer
    # fold), test images by the shipped layer (fitted on all development writers).
    emb_all, layer, layer_of = MT.cross_fitted(feats_all["pooled"], writer_of, genuine, fold_writers, **layer_kw)
    emb_shipped = layer(feats_all["pooled"])
    gap_all = feats_all["gap"]
    embed = Embedder(feat_onnx, input_spec, cache_dir, layer, layer_of)
    clock.lap("CNN embeddings")

    # fine-tuning: chosen on validation writers (train 1-27, early stopping on 28-35); shipped when it helps
    fcfg = ccfg["finetune"]
    tuned = None
    if fcfg.get("ship") or args.compare_finetune or fcfg.get("compare"):
        study, net, trunk_feats, trunk_path = _finetune_compare(
            cfg, items, split, store, input_spec, cache_dir, work, spec, feats_all["pooled"],
            cfg["svm"].get("compare_kernel", "rbf-scale"), int(cfg["svm"]["select_refs"]), seed)
        results["finetune"] = study
        clock.lap("fine-tuning (selection on validation writers)")
        if fcfg.get("ship") and study["best_epoch"] > 0:
            tuned = TunedEmbedder.fit(net, trunk_path, trunk_feats, items, fold_writers, int(study["best_epoch"]),
                                      fcfg, layer_kw, input_spec, cache_dir, embed, seed)
            emb_all, emb_shipped, layer = tuned.emb_all, tuned.emb_shipped, tuned.final_layer
            gap_all = tuned.gap_final
            backbone = net.bb  # holds the final fine-tuned weights
            embed = tuned
            study["shipped"] = True
            study["ship_epochs"] = int(study["best_epoch"])
            study["ship_seconds"] = tuned.seconds
            clock.lap("fine-tuning (cross-fitted nets + final net)")
        else:
            study["shipped"] = False
    results["embedding"] = {"taps": [t.__dict__ for t in taps], "dims": int(emb_all.shape[1]),
                            "pooled_dims": int(feats_all["pooled"].shape[1]), "power": layer.power,
                            "pca_dims": layer.pca_dims, "lda_dims": layer.lda_dims,
                            "finetuned": tuned is not None}
    results["embedding_study"] = _embedding_study(items, feats_all, taps, backbone, ccfg, fold_writers, seed)
    if tuned is not None:
        from training.signatures import finetune as F

        eers = [F.reference_eer(emb_all, items, fw, draws=3, seed=seed) for fw in fold_writers]
        for row in results["embedding_study"]:
            row["shipped"] = False
        results["embedding_study"].append({
            "name": " + ".join(f"{t.layer} {t.rows}×{t.cols}" for t in taps) + ", fine-tuned (cross-fitted nets)",
            "dims": int(feats_all["pooled"].shape[1]), "layer": f"whitening PCA {layer.pca_dims}",
            "cv_eer": float(np.mean(eers)), "cv_eer_folds": [round(float(e), 4) for e in eers], "shipped": True})
        print(f"  embedding study: fine-tuned, cross-fitted: CV reference EER {np.mean(eers):.3f}", flush=True)
    clock.lap("embedding study")

    # The embeddings the SVM sees (development images cross-fitted, test images by the shipped net):
    # decision studies need nothing else.
    np.savez(work / "embeddings.npz", emb_all=emb_all, emb_shipped=emb_shipped, writers=writer_of, genuine=genuine)
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
    X_train = C.pair_features(store, train_pairs, spec, emb_all, projection, cache_dir=cache_dir)
    X_dev = C.pair_features(store, dev_pairs, spec, emb_all, projection, cache_dir=cache_dir)
    X_test = C.pair_features(store, test_pairs, spec, emb_all, projection, cache_dir=cache_dir)
    aug_cfg = svm_cfg.get("augment") or {}
    if aug_cfg.get("fraction", 0) > 0:
        train_pairs, X_train = _augment_pairs(items, dev_writers, train_pairs, X_train, store, emb_all, projection,
                                              spec, opts, aug_cfg, embed, cache_dir, workers, seed)
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
    # Every (query, reference) probability of the chosen kernel: out-of-fold on the development
    # writers, the final SVM on the test writers; fusion and normalisation studies need nothing else.
    np.savez(work / "pair_scores.npz", dev_pairs=dev_pairs, p_dev=p_dev, test_pairs=test_pairs, p_test=p_test)
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
        pre_rows = _preprocess_ablation(items, split, opts, spec, acfg, best, fusion, lam, cache_dir, embed, ccfg,
                                        workers, seed, store, feats_all["pooled"])
        clock.lap("preprocessing ablation")
    results["preprocess_ablation"] = pre_rows


    # robustness
    rob_rows = []
    rcfg = cfg.get("robustness", {})
    if rcfg.get("enabled") and not args.quick:
        rob_rows = _robustness(items, split, opts, spec, rcfg, model, store, emb_all, projection, embed,
                               cache_dir, workers, fusion, lam, prior, calibration, thresholds, seed)
        clock.lap("robustness")
    results["robustness"] = rob_rows

    # 5. single-image protocol and background-only baseline ---------------------------------------
    from training.signatures import baselines as B

    head_kernel, head_bias, head_model = B.fit_verdict_head(gap_all, genuine, dev_mask, C=cfg["cnn"]["head_C"])
    z = gap_all @ head_kernel + head_bias
    p_forged = np.exp(z[:, 1]) / np.exp(z).sum(axis=1)
    head_acc = {"development": float(np.mean((p_forged[dev_mask] < 0.5) == genuine[dev_mask])),
                "test": float(np.mean((p_forged[side == "test"] < 0.5) == genuine[side == "test"]))}
    results["single_image_head"] = head_acc
    if cfg.get("baselines", {}).get("enabled") and not args.quick:
        results["baselines"] = _baselines(items, split, store, embed, emb_all, feats_all["gap"], seed)
        clock.lap("baselines")

    # 6. export ----------------------------------------------------------------------------------
    out_dir.mkdir(parents=True, exist_ok=True)
    pack_model = cnn.build_pack_model(backbone, taps, layer.mean, layer.matrix, layer.power, head_kernel, head_bias)
    parity_rows = np.flatnonzero(side == "test")[::30]
    parity_imgs = C.input_tensor(store.canvas[parity_rows], input_spec)
    cnn_parity = cnn.export(pack_model, out_dir / "model.onnx", parity_imgs)
    # the shipped graph's embedding must be the one the SVM was trained on
    onnx_emb = C.run_onnx(out_dir / "model.onnx", lambda a, b: parity_imgs[a:b], len(parity_imgs),
                          outputs=("embedding",))["embedding"]
    cnn_parity["embedding_vs_training"] = float(np.max(np.abs(onnx_emb - emb_shipped[parity_rows])))
    if cnn_parity["embedding_vs_training"] > 1e-3:
        raise SystemExit(f"exported embedding differs from the training embedding: {cnn_parity}")
    final = S.fit(best, X_train, y_train, seed=seed, log=lambda *a: None)  # same data, same seed: identical
    svm_path = S.export_onnx(final, X_train.shape[1], out_dir / "svm.onnx")
    svm_parity = S.check_onnx(final, svm_path, X_test.astype(np.float32))
    shipped = [out_dir / "model.onnx", svm_path]
    if spec.projection_dims:
        projection.save(out_dir / "projection.npz")
        shipped.append(out_dir / "projection.npz")
    elif (out_dir / "projection.npz").exists():
        (out_dir / "projection.npz").unlink()  # a stale file from an older pack
    results["parity"] = {"cnn": cnn_parity, "svm": svm_parity}
    results["sizes"] = {p.name: p.stat().st_size for p in shipped}

    from training.signatures import card as K
    from training.signatures import domain as DOM

    # the domain check's limits, from the development images embedded out of sample (domain.py)
    ocfg = cfg.get("ood") or {}
    domain = DOM.fit_limits(DOM.development_scores(emb_all[dev_mask], store.mask[dev_mask]),
                            float(ocfg.get("acceptance", 0.99)))
    print(f"  domain check limits {domain['limits']} (development images refused "
          f"{100 * domain['development_refusal']:.1f}%)", flush=True)
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
        "ood": domain,
    }
    manifest = K.write_manifest(out_dir, pack_cfg, opts, spec, names, best, decision, results, input_spec)
    clock.lap("export")

    # 7. the app's Verifier on test writers must give the pipeline's scores; samples -----------
    results["runtime_parity"] = _runtime_parity(out_dir, items, test_sets, fusion, lam, prior, calibration,
                                                test_prob, seed)
    print(f"  runtime parity: {results['runtime_parity']}", flush=True)
    results["ood"] = DOM.measure(out_dir, [items[i].path for i in np.flatnonzero(side == "test")],
                                 ocfg.get("sets") or DOM.DEFAULT_SETS, limit=int(ocfg.get("limit", 200)), seed=seed)
    results["ood"]["fit"] = domain
    manifest = K.write_manifest(out_dir, pack_cfg, opts, spec, names, best, decision, results, input_spec)
    samples = _write_samples(out_dir, samples_dir, items, split, seed)
    results["samples"] = samples
    results["timings"] = dict(clock.stages)
    results["timings"]["total"] = clock.total
    # results first, so a failure in the plots or the card can be redone with --card-only
    (work / "results.json").write_text(json.dumps(_jsonable(results), indent=1), encoding="utf-8")
    np.savez(work / "test_scores.npz", **{f"{k}_{n}": v for n, t in test_scores.items()
                                          for k, v in zip(("y", "s", "w"), t)})
    K.write_plots(out_dir, test_scores, results)
    K.write_card(out_dir, results, manifest)
    print(f"Wrote {out_dir} in {clock.total:.0f} s", flush=True)
    return 0


class TunedEmbedder:
    """Embeddings with the fine-tuned network, cross-fitted like the whitening: each development
    writer fold is embedded by a network fine-tuned (and a whitening fitted) on the other folds;
    everyone else (test writers) by the final network, fine-tuned on all development writers — the
    one the pack ships. ``features`` (frozen ImageNet features) serves the studies that compare
    preprocessing with one fixed network."""

    def __init__(self, net, trunk_path, input_spec, cache_dir, frozen: "Embedder") -> None:
        self.net, self.trunk_path, self.input_spec, self.cache_dir, self.frozen = net, trunk_path, input_spec, cache_dir, frozen
        self.fold_state: list[tuple[list[int], list, object]] = []  # (writers, net weights, layer)
        self.final_weights = None
        self.final_layer = None
        self.layer_of: dict = {}

    @classmethod
    def fit(cls, net, trunk_path, trunk_feats, items, folds, epochs, fcfg, layer_kw, input_spec, cache_dir, frozen,
            seed):
        from training.signatures import finetune as F
        from training.signatures import metric as MT

        t0 = time.perf_counter()
        self = cls(net, trunk_path, input_spec, cache_dir, frozen)
        writers = np.array([it.writer for it in items])
        genuine = np.array([it.genuine for it in items])
        all_w = [w for f in folds for w in f]
        emb = np.zeros((len(items), 0))
        for k, f in enumerate(list(folds) + [None]):
            fit_w = [w for w in all_w if f is None or w not in set(f)]
            net.set_weights(net.initial)
            labels, n_classes = F.class_labels(writers, genuine, np.isin(writers, fit_w))
            info = F.train_tapnet(net, trunk_feats, labels, n_classes, epochs=epochs, lr=float(fcfg["lr"]),
                                  margin=float(fcfg["margin"]), seed=seed + 1 + k, evaluate=None,
                                  log=lambda *a: None)
            out = net.run(trunk_feats[0])
            layer = MT.fit(out["pooled"], writers, genuine, np.isin(writers, fit_w), **layer_kw)
            e = layer(out["pooled"])
            if emb.shape[1] == 0:
                emb = np.zeros((len(items), e.shape[1]))
            if f is None:
                self.final_weights, self.final_layer = net.get_weights(), layer
                rows = ~np.isin(writers, all_w)
                emb[rows] = e[rows]
                self.emb_shipped, self.gap_final = e, out["gap"]
            else:
                rows = np.isin(writers, f)
                emb[rows] = e[rows]
                self.fold_state.append((list(f), net.get_weights(), layer))
                self.layer_of.update({int(w): layer for w in f})
            print(f"  fine-tuned {'final net' if f is None else f'fold {k + 1} net'} on {len(fit_w)} writers, "
                  f"{epochs} epochs ({info['seconds']:.0f} s)", flush=True)
        net.set_weights(self.final_weights)  # the pack ships the final network
        self.emb_all = emb
        self.seconds = round(time.perf_counter() - t0, 1)
        return self

    def features(self, store_or_paths, raw: bool = False) -> dict[str, np.ndarray]:
        return self.frozen.features(store_or_paths, raw)

    def _trunk(self, store) -> np.ndarray:
        from training.signatures import finetune as F

        return F.trunk_features(self.trunk_path, store.canvas, self.input_spec,
                                Path(self.cache_dir) / f"trunk32-{self.net.start}-{store.key}.npy")

    def __call__(self, store, writers=None) -> np.ndarray:
        feats = self._trunk(store)
        writers = np.full(len(store), -1) if writers is None else np.asarray(writers)
        self.net.set_weights(self.final_weights)
        out = self.final_layer(self.net.pooled(feats))
        for fw, weights, layer in self.fold_state:
            rows = np.isin(writers, fw)
            if rows.any():
                self.net.set_weights(weights)
                out[rows] = layer(self.net.pooled(feats[rows]))
        self.net.set_weights(self.final_weights)
        return out


def write_card_only(args: argparse.Namespace) -> int:
    """Plots and CARD.md again from ``<work>/results.json`` and ``test_scores.npz`` (no training)."""
    from training.signatures import card as K

    cfg = load_config(args.config)
    work = Path(args.work)
    out_dir = args.out or REPO_ROOT / "models" / cfg["pack"]["id"]
    rpath, spath = work / "results.json", work / "test_scores.npz"
    if not rpath.is_file() or not spath.is_file():
        raise SystemExit(f"--card-only needs {rpath} and {spath} from a full run")
    results = json.loads(rpath.read_text(encoding="utf-8"))
    with np.load(spath) as d:
        ns = sorted({int(k.split("_")[1]) for k in d.files})
        test_scores = {n: (d[f"y_{n}"], d[f"s_{n}"], d[f"w_{n}"]) for n in ns}
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    K.write_plots(out_dir, test_scores, results)
    path = K.write_card(out_dir, results, manifest)
    print(f"Wrote {path}", flush=True)
    return 0


# -- helpers -----------------------------------------------------------------------------------------
class Embedder:
    """Embeddings of a store (or of raw scans): the cached feature model through the learned layer."""

    def __init__(self, feature_onnx: Path, input_spec, cache_dir: Path, layer, layer_of: dict | None = None) -> None:
        self.feature_onnx, self.input_spec, self.cache_dir, self.layer = feature_onnx, input_spec, cache_dir, layer
        self.layer_of = layer_of or {}

    def features(self, store_or_paths, raw: bool = False) -> dict[str, np.ndarray]:
        from training.signatures import cache as C
        from training.signatures import cnn

        return C.embeddings(self.feature_onnx, store_or_paths, self.input_spec, self.cache_dir, raw=raw,
                            outputs=cnn.FEATURE_OUTPUTS)

    def __call__(self, store_or_paths, writers=None, raw: bool = False) -> np.ndarray:
        """Embeddings; with ``writers`` (one per row), development writers' rows are cross-fitted."""
        from training.signatures import metric as MT

        pooled = self.features(store_or_paths, raw)["pooled"]
        if writers is None:
            return self.layer(pooled)
        return MT.apply_by_writer(pooled, writers, self.layer, self.layer_of)


def _block_of(name: str) -> str:
    if name.startswith("cnn_"):
        return "cnn"
    if name.startswith("d_glcm"):
        return "glcm"
    if name.startswith("overlay"):
        return "overlay"
    return "shape"


def _augment_pairs(items, dev_writers, train_pairs, X_train, store, emb, projection, spec, opts, aug_cfg,
                   embed, cache_dir, workers, seed):
    """Add copies of a share of the training pairs in which the query, the reference or both are
    blurred (Gaussian, ``aug_cfg["blur"]`` px, milder than the robustness test's), so the SVM learns
    that a blurred scan of the same hand is still the same hand."""
    from training.signatures import cache as C

    dev_items = [it for it in items if it.writer in set(dev_writers)]
    degraded = C.normalize_items(dev_items, opts, cache_dir, workers=workers, degrade=("blur", float(aug_cfg["blur"])))
    e = embed(degraded, writers=[it.writer for it in dev_items])
    # the degraded store is indexed 0..k-1 over dev_items; map item index -> row
    row_of = {it.index: k for k, it in enumerate(dev_items)}
    rng = np.random.default_rng(seed + 11)
    pick = np.flatnonzero(rng.random(len(train_pairs)) < float(aug_cfg["fraction"]))
    which = rng.integers(0, 3, size=len(pick))  # 0 query blurred, 1 reference blurred, 2 both
    q, r = train_pairs[pick, 0], train_pairs[pick, 1]
    qd = np.isin(which, (0, 2))
    rd = np.isin(which, (1, 2))
    # one combined store: rows 0..N-1 clean (item index), N.. degraded copies
    N = len(store)
    both = _concat_stores(store, degraded)
    emb_both = np.concatenate([emb, e])
    rows = np.stack([np.where(qd, N + np.array([row_of[i] for i in q]), q),
                     np.where(rd, N + np.array([row_of[i] for i in r]), r),
                     train_pairs[pick, 2]], axis=1)
    Xa = C.pair_features(both, rows, spec, emb_both, projection, cache_dir=cache_dir)
    print(f"  augmented {len(pick)} training pairs with blurred copies (sigma {aug_cfg['blur']} px)", flush=True)
    return np.concatenate([train_pairs, train_pairs[pick]]), np.concatenate([X_train, Xa])


def _concat_stores(a, b):
    from training.signatures.cache import NormStore

    cat = lambda x, y: np.concatenate([x, y])  # noqa: E731
    return NormStore(a.opts, cat(a.canvas, b.canvas), cat(a.mask, b.mask), cat(a.skeleton, b.skeleton),
                     cat(a.threshold, b.threshold), cat(a.bbox, b.bbox), cat(a.ink_fraction, b.ink_fraction),
                     cat(a.glcm, b.glcm), cat(a.shape, b.shape), cat(a.profiles, b.profiles), f"{a.key}+{b.key}")


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


def _embedding_study(items, feats, taps, backbone, ccfg, folds, seed):
    """Reference EER (cosine, 5 references) of candidate embeddings, cross-validated over the
    development writers' folds (the learned layer fitted on the other folds)."""
    from training.signatures import finetune as F
    from training.signatures import metric as MT

    writers = np.array([it.writer for it in items])
    genuine = np.array([it.genuine for it in items])
    pooled, gap = feats["pooled"], feats["gap"]
    widths = [t.rows * t.cols * int(backbone.get_layer(t.layer).output.shape[-1]) for t in taps]
    starts = np.cumsum([0] + widths)
    power, k = float(ccfg["power"]), int(ccfg["pca_dims"])
    cands = [("top GAP (1280-d, the previous pack's embedding)", gap, "none", None),
             ("top GAP", gap, f"whitening PCA {k}", dict(power=power, pca_dims=k))]
    if len(taps) > 1:
        for t, a, b in zip(taps, starts[:-1], starts[1:]):
            cands.append((f"{t.layer} {t.rows}×{t.cols}", pooled[:, a:b], f"whitening PCA {k}",
                          dict(power=power, pca_dims=k)))
    name = " + ".join(f"{t.layer} {t.rows}×{t.cols}" for t in taps)
    cands.append((name, pooled, f"whitening PCA {k}", dict(power=power, pca_dims=k)))
    lda = int(ccfg.get("study_lda_dims", 128))
    cands.append((name, pooled, f"whitening PCA {k} + genuine/forgery discriminant {lda}",
                  dict(power=power, pca_dims=k, lda_dims=lda, ridge=float(ccfg.get("ridge", 0.1)))))
    rows = []
    for label, X, layer_name, kw in cands:
        eers = []
        for fw in folds:
            fit_w = [w for f in folds if f is not fw for w in f]
            Z = X if kw is None else MT.fit(X, writers, genuine, np.isin(writers, fit_w), **kw)(X)
            eers.append(F.reference_eer(Z, items, fw, draws=3, seed=seed))
        rows.append({"name": label, "dims": int(X.shape[1]), "layer": layer_name, "cv_eer": float(np.mean(eers)),
                     "cv_eer_folds": [round(float(e), 4) for e in eers],
                     "shipped": bool(X is pooled and kw is not None and not kw.get("lda_dims"))})
        print(f"  embedding study: {label:<48} {layer_name:<40} CV reference EER {rows[-1]['cv_eer']:.3f}", flush=True)
    return rows


def _preprocess_ablation(items, split, opts, spec, acfg, kernel, fusion, lam, cache_dir, embed, ccfg,
                         workers, seed, main_store, main_pooled):
    """Each preprocessing switch flipped, reduced protocol: SVM (and the embedding's learned layer)
    fitted on ``acfg["train_writers"]``, EER on the test writers."""
    from dataclasses import replace

    from training.signatures import cache as C
    from training.signatures import data as D
    from training.signatures import evaluate as E
    from training.signatures import metric as MT
    from training.signatures import metrics as M
    from training.signatures import svm as S

    abl_train = D.parse_writers(acfg["train_writers"])
    sub = [it for it in items if it.writer in set(abl_train) | set(split["test"])]
    rows_idx = np.array([it.index for it in sub])
    # re-index the subset 0..k-1 so the caches and pairs work on it alone
    sub_items = [replace(it, index=i) for i, it in enumerate(sub)]
    tr_pairs = D.training_pairs(sub_items, abl_train, pos_per_writer=100, neg_per_writer=100, seed=seed)
    te_pairs = D.all_reference_pairs(sub_items, split["test"])
    sets = E.draw_sets(sub_items, split["test"], int(acfg["refs"]), draws=int(acfg["draws"]), seed=seed + 2)
    train_rows = np.array([it.writer in set(abl_train) for it in sub_items])
    w_sub = np.array([it.writer for it in sub_items])
    g_sub = np.array([it.genuine for it in sub_items])
    out = []

    abl_folds = _writer_folds(abl_train, 5, seed)

    def measure(label, store, pooled, changes):
        emb, _, _ = MT.cross_fitted(pooled, w_sub, g_sub, abl_folds, power=float(ccfg["power"]),
                                    pca_dims=int(ccfg["pca_dims"]), lda_dims=int(ccfg.get("lda_dims", 0)),
                                    ridge=float(ccfg.get("ridge", 0.1)))
        proj = C.fit_projection(emb[train_rows], spec.projection_dims)
        Xtr = C.pair_features(store, tr_pairs, spec, emb, proj, cache_dir=cache_dir)
        Xte = C.pair_features(store, te_pairs, spec, emb, proj, cache_dir=cache_dir)
        m = S.fit(kernel, Xtr, tr_pairs[:, 2], seed=seed, log=lambda *a: None)
        pt = S.genuine_proba(m, Xte)
        pr = float(S.genuine_proba(m, Xtr)[tr_pairs[:, 2] == 1].mean())
        sc = E.score_sets(sub_items, sets, E.table_prob(te_pairs, pt), fusion)
        row = {"variant": label, "changes": changes, "test_eer": M.eer(sc.y, sc.raw(lam, pr))[0],
               "test_auc": M.auc(sc.y, sc.raw(lam, pr)), "pair_auc": M.auc(te_pairs[:, 2], pt)}
        print(f"  preprocessing {label:<44} test EER {row['test_eer']:.3f} AUC {row['test_auc']:.4f}", flush=True)
        out.append(row)

    measure("as shipped", main_store.subset(rows_idx), main_pooled[rows_idx], {})
    for variant in acfg["variants"]:
        o = opts.with_(**variant["preprocess"])
        st = C.normalize_items(sub_items, o, cache_dir, workers=workers)
        measure(variant["name"], st, embed.features(st)["pooled"], variant["preprocess"])
    return out


def _robustness(items, split, opts, spec, rcfg, model, store, emb, projection, embed, cache_dir,
                workers, fusion, lam, prior, calibration, thresholds, seed):
    """A share of the test images degraded (blur, noise) before normalisation; the shipped SVM,
    fusion, calibration and thresholds unchanged."""
    from training.signatures import cache as C
    from training.signatures import evaluate as E
    from training.signatures import metrics as M
    from training.signatures import robustness as R
    from training.signatures import svm as S

    test_items = [it for it in items if it.writer in set(split["test"])]
    test_idx = np.array([it.index for it in test_items])
    row_of = {int(i): k for k, i in enumerate(test_idx)}
    n = int(rcfg["refs"])
    sets = E.draw_sets(items, split["test"], n, draws=int(rcfg["draws"]), seed=seed + 3)
    needed = E.needed_pairs(sets)
    N = len(store)
    rows = []
    for kind, severity in rcfg["kinds"].items():
        st = C.normalize_items(test_items, opts, cache_dir, workers=workers, degrade=(kind, float(severity)))
        both = _concat_stores(store, st)
        emb_both = np.concatenate([emb, embed(st, writers=[it.writer for it in test_items])])
        deg_row = lambda idx: N + np.array([row_of[int(i)] for i in idx])  # noqa: E731
        probs = {}
        for qd in (False, True):      # every combination of a clean/degraded query and reference
            for rd in (False, True):
                q = deg_row(needed[:, 0]) if qd else needed[:, 0]
                r = deg_row(needed[:, 1]) if rd else needed[:, 1]
                X = C.pair_features(both, np.stack([q, r], axis=1), spec, emb_both, projection, cache_dir=cache_dir)
                probs[(qd, rd)] = S.genuine_proba(model, X)
        where = {(int(q), int(r)): k for k, (q, r) in enumerate(needed)}
        for frac in [0.0] + list(rcfg["fractions"]) + [1.0]:
            mask = R.choose_degraded(len(test_idx), frac, seed + int(frac * 100))
            deg = {int(i): bool(m) for i, m in zip(test_idx, mask)}

            def pair_prob(rows_, deg=deg, probs=probs):
                return np.array([probs[(deg[int(q)], deg[int(r)])][where[(int(q), int(r))]] for q, r in rows_])

            sc = E.score_sets(items, sets, pair_prob, fusion)
            s = sc.score(lam, prior, calibration)
            rep = M.summary(sc.y, s, thresholds[str(n)])
            rows.append({"kind": kind, "severity": severity, "fraction": frac, **rep})
            print(f"  robustness {kind:<5} {int(frac * 100):3d}%: EER {rep['eer']:.3f} acc {rep['accuracy']:.3f} "
                  f"FRR {rep['frr']:.3f} FAR {rep['far']:.3f}", flush=True)
    return rows


def _baselines(items, split, store, embed, emb_norm, gap_norm, seed):
    """The study's single-image protocol (genuine/forged from one image, no reference) and the
    background-only baseline, each on raw scans and on normalised canvases."""
    from inference.imageio import load_image
    from training.signatures import baselines as B

    out = {}
    t0 = time.perf_counter()
    bg_raw = np.stack([B.background_features_raw(load_image(it.path).rgb) for it in items])
    bg_norm = np.stack([B.background_features_canvas(store.canvas[i], store.mask[i]) for i in range(len(items))])
    out["background_raw"] = B.single_image_accuracy(bg_raw, items, split, seed=seed)
    out["background_normalized"] = B.single_image_accuracy(bg_norm, items, split, seed=seed)
    print(f"  background-only: raw {out['background_raw']}, normalised {out['background_normalized']} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    raw = embed.features([it.path for it in items], raw=True)
    out["cnn_raw"] = B.single_image_accuracy(raw["gap"], items, split, seed=seed)
    out["cnn_normalized"] = B.single_image_accuracy(gap_norm, items, split, seed=seed)
    out["embedding_normalized"] = B.single_image_accuracy(emb_norm, items, split, seed=seed)
    print(f"  single-image CNN+SVM: raw {out['cnn_raw']}, normalised {out['cnn_normalized']}, "
          f"pack embedding {out['embedding_normalized']}", flush=True)
    return out


def _finetune_compare(cfg, items, split, store, input_spec, cache_dir, work, spec, pooled_frozen, kernel, sel_n,
                      seed):
    """Fine-tune the CNN on the training writers (1-27) and compare with the frozen network on the
    validation writers (28-35): the embedding's own reference EER and the SVM's (both SVMs trained
    on pairs of writers 1-27, both embeddings' learned layers fitted on writers 1-27). Test writers
    are not looked at."""
    import keras

    from training.signatures import cache as C
    from training.signatures import cnn
    from training.signatures import data as D
    from training.signatures import evaluate as E
    from training.signatures import finetune as F
    from training.signatures import metric as MT
    from training.signatures import metrics as M
    from training.signatures import svm as S

    fcfg = cfg["cnn"]["finetune"]
    ccfg = cfg["cnn"]
    taps = cnn.parse_taps(ccfg["taps"])
    writers = np.array([it.writer for it in items])
    genuine = np.array([it.genuine for it in items])
    train = np.isin(writers, split["train"])
    keras.utils.set_random_seed(seed)
    size = (int(input_spec.height), int(input_spec.width))
    bb = cnn.build_backbone("imagenet", size)
    start = str(fcfg["from_layer"])
    trunk_path = work / (f"trunk-{start}.onnx" if size == (224, 224) else f"trunk-{start}-{size[0]}x{size[1]}.onnx")
    if not trunk_path.is_file():
        F.export_trunk_at(bb, start, trunk_path)
    feats = [F.trunk_features(trunk_path, store.canvas, input_spec, cache_dir / f"trunk32-{start}-{store.key}.npy")]
    aug = dict(F.AUGMENT_DEFAULTS, **(fcfg.get("augment") or {}))
    copies = int(aug.pop("copies"))
    for c in range(copies):
        # Augmented copies of every canvas (one drawn per image and step); the clean one stays first
        # and is what validation, the SVM and the pack embed.
        key = C._key(store.key, start, sorted(aug.items()), seed, c)
        path = cache_dir / f"trunk32-aug-{key}.npy"
        canv = None if path.is_file() else F.augment_canvases(store.canvas, np.random.default_rng([seed, 101, c]), **aug)
        feats.append(F.trunk_features(trunk_path, canv, input_spec, path))
    labels, n_classes = F.class_labels(writers, genuine, train)
    val_idx = np.flatnonzero(np.isin(writers, split["val"]))
    from dataclasses import replace

    val_items = [replace(items[i], index=k) for k, i in enumerate(val_idx)]
    net = F.TapNet(bb, start, taps, embed_dims=int(fcfg["embed_dims"]))

    train_folds = _writer_folds(split["train"], 5, seed)

    def layer_emb(pooled):  # training writers cross-fitted, validation writers by the layer of all of them
        return MT.cross_fitted(pooled, writers, genuine, train_folds, power=float(ccfg["power"]),
                               pca_dims=int(ccfg["pca_dims"]))[0]

    def val_eer(_epoch):
        return F.reference_eer(layer_emb(net.pooled(feats[0]))[val_idx], val_items, split["val"])

    info = F.train_tapnet(net, feats, labels, n_classes, epochs=int(fcfg["epochs"]), lr=float(fcfg["lr"]),
                          margin=float(fcfg["margin"]), seed=seed, evaluate=val_eer, eval_every=int(fcfg["eval_every"]),
                          patience=int(fcfg["patience"]))
    tuned = net.pooled(feats[0])
    train_pairs = D.training_pairs(items, split["train"], pos_per_writer=100, neg_per_writer=100, seed=seed)
    val_pairs = D.all_reference_pairs(items, split["val"])
    val_sets = E.draw_sets(items, split["val"], sel_n, draws=5, seed=seed)
    out = {k: v for k, v in info.items()}
    for label, pooled in (("finetuned", tuned), ("frozen", pooled_frozen)):
        emb = layer_emb(pooled)
        out[f"{label}_val_reference_eer"] = F.reference_eer(emb[val_idx], val_items, split["val"])
        if info["best_epoch"] == 0:  # the frozen network won: the same embedding, no SVM to compare
            out[f"{label}_val_eer"] = None
            continue
        proj = C.fit_projection(emb[train], spec.projection_dims)
        Xtr = C.pair_features(store, train_pairs, spec, emb, proj, cache_dir=cache_dir)
        Xva = C.pair_features(store, val_pairs, spec, emb, proj, cache_dir=cache_dir)
        m = S.fit(kernel, Xtr, train_pairs[:, 2], seed=seed, log=lambda *a: None)
        sv = E.score_sets(items, val_sets, E.table_prob(val_pairs, S.genuine_proba(m, Xva)), "mean")
        out[f"{label}_val_eer"] = M.eer(sv.y, sv.fused)[0]
        print(f"  fine-tune comparison, {label}: validation reference-EER of the embedding "
              f"{out[f'{label}_val_reference_eer']:.3f}, SVM validation EER {out[f'{label}_val_eer']:.3f}", flush=True)
    if info["best_epoch"] == 0:
        print(f"  fine-tune comparison: no epoch beat the frozen network on validation writers "
              f"({out['frozen_val_reference_eer']:.3f})", flush=True)
    return out, net, feats, trunk_path


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


def _write_samples(out_dir, samples_dir, items, split, seed, per_kind: int = 3):
    """Copy a few test-writer signatures the shipped pack gets right (outside the review band when
    possible): up to ``per_kind`` genuine and ``per_kind`` forged queries, each with 3 references."""
    from inference.registry import check_pack
    from inference.signature.verifier import Verifier
    from training.signatures.data import by_writer

    verifier = Verifier(check_pack(out_dir, "bundled"))
    rng = np.random.default_rng(seed)
    if samples_dir.exists():
        shutil.rmtree(samples_dir)
    samples_dir.mkdir(parents=True)
    entries = []
    count = {"genuine": 0, "forged": 0}
    for w, (gen, forg) in by_writer(items, split["test"]).items():
        if min(count.values()) >= per_kind:
            break
        refs = [items[i] for i in rng.choice(gen, size=3, replace=False)]
        ref_names = [f"w{w}_ref{k}{it.path.suffix}" for k, it in enumerate(refs, 1)]
        found = []
        for want, pool in (("genuine", [g for g in gen if items[g].path not in {r.path for r in refs}]),
                           ("forged", forg)):
            if count[want] >= per_kind:
                continue
            fallback = None
            for q in rng.permutation(pool)[:12]:
                res = verifier.verify(items[q].path, [r.path for r in refs])
                if res.label != want:
                    continue
                if not res.needs_review:
                    fallback = (q, res)
                    break
                fallback = fallback or (q, res)
            if fallback is not None:
                found.append((want, *fallback))
        if not found:
            continue
        for it, name in zip(refs, ref_names):
            shutil.copyfile(it.path, samples_dir / name)
        for want, q, res in found:
            name = f"w{w}_{want}{items[q].path.suffix}"
            shutil.copyfile(items[q].path, samples_dir / name)
            count[want] += 1
            entries.append({"file": name, "references": ref_names, "expected": want, "score": round(res.score, 4),
                            "needs_review": bool(res.needs_review), "source": str(items[q].path.name)})
    (samples_dir / "samples.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training signatures", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
