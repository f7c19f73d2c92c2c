"""Signature training: writer-disjoint splits and pairs, metrics, the protocol, SVM export.

Fast and self-contained; the tests that read CEDAR skip when ../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.signatures import data as D
from training.signatures import evaluate as E
from training.signatures import metrics as M


def _items(writers=range(1, 7), per=6) -> list[D.Item]:
    out = []
    for w in writers:
        for genuine in (True, False):
            for s in range(1, per + 1):
                out.append(D.Item(len(out), Path(f"{'org' if genuine else 'forg'}_{w}_{s}.png"), w, s, genuine))
    return out


def test_parse_and_split_reject_overlap():
    assert D.parse_writers("1-3,7") == [1, 2, 3, 7]
    split = D.writer_split({"train": "1-27", "val": "28-35", "test": "36-45"})
    assert set(split["train"]).isdisjoint(split["test"]) and len(split["val"]) == 8
    with pytest.raises(D.LeakageError):
        D.writer_split({"train": "1-10", "val": "10-12", "test": "13-15"})
    with pytest.raises(D.LeakageError):
        D.writer_split({"train": "1-10", "val": "", "test": "13-15"})


def test_pairs_never_cross_writers_or_sides():
    items = _items()
    split = {"train": [1, 2, 3], "val": [4], "test": [5, 6]}
    sides = D.side_of(items, split)
    tr = D.training_pairs(items, split["train"], pos_per_writer=10, neg_per_writer=12, seed=0)
    te = D.all_reference_pairs(items, split["test"])
    for pairs, side in ((tr, "train"), (te, "test")):
        D.check_pairs(items, pairs, split[side])
        assert set(sides[pairs[:, 0]]) == {side} and set(sides[pairs[:, 1]]) == {side}
        assert all(items[r].genuine for r in pairs[:, 1])
        assert all(items[q].writer == items[r].writer for q, r, _ in pairs)
        assert np.array_equal(pairs[:, 2], [int(items[q].genuine) for q in pairs[:, 0]])
    assert (tr[:, 2] == 1).sum() == 30 and (tr[:, 2] == 0).sum() == 36
    assert len(te) == 2 * (6 * 5 + 6 * 6)  # per writer: ordered genuine pairs + forgery x genuine
    train_writers = {items[q].writer for q, _, _ in tr}
    test_writers = {items[q].writer for q, _, _ in te}
    assert train_writers.isdisjoint(test_writers)
    with pytest.raises(D.LeakageError):
        D.check_pairs(items, te, split["train"])
    forged_ref = np.array([[0, 6, 1]])  # item 6 is writer 1's first forgery
    with pytest.raises(D.LeakageError):
        D.check_pairs(items, forged_ref, [1])
    cross = np.array([[0, 12, 1]])  # writer 1 query vs writer 2 reference
    with pytest.raises(D.LeakageError):
        D.check_pairs(items, cross, [1, 2])


def test_reference_sets_and_fusion():
    items = _items(writers=[5, 6])
    sets = E.draw_sets(items, [5, 6], 3, draws=2, seed=0)
    assert len(sets) == 4
    for s in sets:
        assert len(s.refs) == 3 and set(s.refs).isdisjoint(s.queries)
        assert all(items[r].genuine and items[r].writer == s.writer for r in s.refs)
        assert len(s.queries) == 3 + 6
    # a perfect pair scorer: P = 1 for genuine queries, 0 for forgeries
    perfect = lambda rows: np.array([1.0 if items[q].genuine else 0.0 for q, _ in rows])  # noqa: E731
    sc = E.score_sets(items, sets, perfect, "mean")
    assert M.eer(sc.y, sc.fused)[0] == 0.0
    assert np.all(sc.agreement == 1.0)
    assert np.allclose(sc.raw(0.5, 0.9), sc.fused - 0.5)
    one = E.score_sets(items, E.draw_sets(items, [5], 1, draws=1, seed=0), perfect, "max")
    assert np.all(np.isnan(one.agreement)) and np.allclose(one.raw(0.5, 0.8), one.fused - 0.4)


def test_metrics():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.05])
    e, t = M.eer(y, s)
    assert e == pytest.approx(0.25)
    r = M.rates_at(y, s, 0.5)
    assert (r["frr"], r["far"], r["accuracy"]) == (0.25, 0.25, 0.75)
    assert M.eer([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])[0] == 0.0
    tf = M.threshold_at_far(y, s, 0.0)
    assert M.rates_at(y, s, tf)["far"] == 0.0 and tf > 0.6
    tr = M.threshold_at_frr(y, s, 0.0)
    assert M.rates_at(y, s, tr)["frr"] == 0.0
    assert M.auc(y, s) == pytest.approx(14 / 16)


def test_svm_kernels_export_and_match_onnx(tmp_path):
    pytest.importorskip("skl2onnx")
    from training.signatures import svm as S

    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 6))
    y = (X[:, 0] + 0.3 * rng.normal(size=160) > 0).astype(int)
    for name in ("linear", "rbf", "poly", "sigmoid"):
        model = S.fit(name, X, y, log=lambda *a: None)
        path = S.export_onnx(model, 6, tmp_path / f"{name}.onnx")
        check = S.check_onnx(model, path, X)
        assert check["max_abs_prob"] < 1e-4 and check["label_agree"] == 1.0
    assert S.KERNELS["rbf"] == {"kernel": "rbf", "C": 4.0, "gamma": 0.5}
    assert S.KERNELS["sigmoid"] == {"kernel": "sigmoid", "C": 3.0, "gamma": 2.0}


def test_verdict_head_folds_standardisation():
    from training.signatures.baselines import fit_verdict_head

    rng = np.random.default_rng(1)
    emb = rng.normal(5.0, 3.0, size=(120, 8))
    genuine = emb[:, 0] > 5.0
    kernel, bias, model = fit_verdict_head(emb, genuine, np.ones(120, bool), C=1.0)
    z = emb @ kernel + bias
    p_forged = np.exp(z[:, 1]) / np.exp(z).sum(axis=1)
    assert np.allclose(p_forged, model.predict_proba(emb)[:, 1], atol=1e-5)


def test_background_features_see_paper_not_ink():
    from training.signatures.baselines import background_features_raw

    rng = np.random.default_rng(0)
    a = np.full((80, 160, 3), 240, np.uint8)
    a[30:40, 20:140] = 30
    b = a.copy()
    b[a == 240] = 253  # same ink, whiter paper
    c = a.copy()
    c[30:40, 20:140] = 90  # lighter ink, same paper
    fa, fb, fc = (background_features_raw(x) for x in (a, b, c))
    assert not np.allclose(fa, fb)
    assert np.allclose(fa, fc)
    assert rng is not None


def test_robustness_degradations_are_seeded():
    from training.signatures.robustness import choose_degraded, degrade

    img = np.full((40, 60, 3), 230, np.uint8)
    img[15:25, 10:50] = 40
    assert np.array_equal(degrade(img, "noise", 25, 3), degrade(img, "noise", 25, 3))
    assert not np.array_equal(degrade(img, "blur", 2.0, 0), img)
    m = choose_degraded(100, 0.25, 0)
    assert m.sum() == 25 and np.array_equal(m, choose_degraded(100, 0.25, 0))


CEDAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "signatures-cedar"


@pytest.mark.needs_shared
def test_cedar_normalisation_removes_the_background():
    """On real scans: raw paper levels differ by class, normalised canvases are pure white around the ink."""
    if not (CEDAR / "manifest.csv").is_file():
        pytest.skip("needs ../shared/data/signatures-cedar (not on this machine; it is not shipped with Tilik)")
    from inference.imageio import load_image
    from inference.signature.preprocess import dilate, normalize, to_gray
    from skimage.morphology import skeletonize

    items = D.load_items(CEDAR)
    assert len(items) == 2160 and len({it.writer for it in items}) == 45
    pick = [it for it in items if it.writer in (40, 41) and it.sample in (1, 2)]
    raw_bg, ious = {True: [], False: []}, []
    for it in pick:
        rgb = load_image(it.path).rgb
        raw_bg[it.genuine].append(np.median(to_gray(rgb)))
        sig = normalize(rgb)
        assert (sig.canvas[~dilate(sig.mask, 2)] == 255).all()
        ref = skeletonize(sig.mask)
        ious.append((ref & sig.skeleton).sum() / (ref | sig.skeleton).sum())
    assert np.mean(raw_bg[False]) - np.mean(raw_bg[True]) > 5  # the trap is there in the raw scans
    print(f"Zhang–Suen vs skimage on CEDAR canvases: mean IoU {np.mean(ious):.3f}")
    assert np.mean(ious) > 0.75


# -- the embedding, the pair-feature cache, fine-tuning labels, the card ------------------------------
def test_grid_pool_and_embedding_transform():
    from training.signatures import cnn

    fm = np.arange(2 * 5 * 7 * 3, dtype=np.float32).reshape(2, 5, 7, 3)
    g = cnn.grid_pool(fm, 2, 3)
    assert g.shape == (2, 2 * 3 * 3)
    # first cell = rows 0-2, cols 0-2 (np.array_split of 5 and 7), channels inner
    assert np.allclose(g[:, :3], fm[:, 0:3, 0:3].mean(axis=(1, 2)))
    assert np.allclose(g[:, -3:], fm[:, 3:5, 5:7].mean(axis=(1, 2)))
    x = np.array([[4.0, -9.0, 0.0]])
    e = cnn.transform(x, np.zeros(3), np.eye(3), power=0.5)
    assert np.allclose(e, np.array([[2.0, -3.0, 0.0]]) / np.sqrt(13.0))


def test_keras_embedding_layers_match_numpy():
    """The graph's GridPool/Embed layers (what the ONNX computes) equal the numpy twins training uses."""
    pytest.importorskip("keras")
    from training.signatures import cnn

    rng = np.random.default_rng(0)
    fm = rng.normal(size=(3, 14, 14, 4)).astype(np.float32)
    GridPool, Embed = cnn._pool_layer_class()
    pooled = np.asarray(GridPool(2, 3)(fm))
    assert np.allclose(pooled, cnn.grid_pool(fm, 2, 3), atol=1e-6)
    mean, matrix = rng.normal(size=24) * 0.1, rng.normal(size=(24, 5))
    out = np.asarray(Embed(mean, matrix, 0.5)(pooled))
    assert np.allclose(out, cnn.transform(pooled, mean, matrix, 0.5), atol=1e-4)


def test_pack_model_on_a_wide_canvas_exports_with_the_canvas_size(tmp_path):
    """A signature is wider than tall: the backbone, the trunk and the pack model take the canvas's
    (height, width), and the ONNX heatmap comes back at that size."""
    pytest.importorskip("tf2onnx")
    import onnxruntime as ort

    from training.signatures import cnn, finetune

    bb = cnn.build_backbone(None, (64, 160))
    assert cnn.input_size_of(bb) == (64, 160)
    taps = cnn.parse_taps([{"layer": "block4c_add", "grid": [1, 2]}])
    width = int(bb.get_layer("block4c_add").output.shape[-1]) * 2
    rng = np.random.default_rng(0)
    model = cnn.build_pack_model(bb, taps, np.zeros(width), rng.normal(size=(width, 8)), 0.5,
                                 rng.normal(size=(1280, 2)) * 0.01, np.zeros(2))
    path = tmp_path / "sig.onnx"
    from training.lite0.cam_export import export_onnx

    export_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = rng.random((2, 64, 160, 3), dtype=np.float32)
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": x})))
    assert out["cam"].shape[1:3] == (64, 160) and out["embedding"].shape == (2, 8)
    trunk = finetune.export_trunk_at(bb, "block4c_add", tmp_path / "trunk.onnx")
    t = ort.InferenceSession(str(trunk), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert t.shape[1:3] == (4, 10)  # stride 16


def test_augmented_canvases_move_the_ink_a_little_and_keep_the_paper_white():
    from training.signatures.finetune import augment_canvases

    canvas = np.full((3, 64, 128), 255, np.uint8)
    canvas[:, 28:36, 20:108] = 0  # a horizontal bar of ink
    a = augment_canvases(canvas, np.random.default_rng(0))
    b = augment_canvases(canvas, np.random.default_rng(0))
    assert a.shape == canvas.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)  # seeded
    assert not np.array_equal(a[0], a[1])  # each canvas its own map
    for img in a:
        ink = img < 128
        assert 0.75 < ink.sum() / (canvas[0] < 128).sum() < 1.3  # scale within ±8% per axis
        assert (img[:4] == 255).all() and (img[-4:] == 255).all()  # the paper stays white
        rows = np.flatnonzero(ink.any(axis=1))
        assert abs(rows.mean() - 31.5) <= 6 + 88 / 2 * np.tan(np.deg2rad(4)) + 1  # shift + rotation
    still = augment_canvases(canvas, np.random.default_rng(0), rotate_deg=0, scale=0, shear=0, shift_px=0)
    assert np.array_equal(still, canvas)


def test_metric_layer_is_fitted_on_the_fit_rows_only():
    from training.signatures import metric as MT

    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(120, 30)))
    writers = np.repeat(np.arange(10), 12)
    genuine = np.tile(np.r_[np.ones(6, bool), np.zeros(6, bool)], 10)
    fit = writers < 6
    a = MT.fit(X, writers, genuine, fit, pca_dims=8)
    X2 = X.copy()
    X2[~fit] = 100.0  # the other writers' images must not change the layer
    b = MT.fit(X2, writers, genuine, fit, pca_dims=8)
    assert np.allclose(a.mean, b.mean) and np.allclose(np.abs(a.matrix), np.abs(b.matrix))
    z = a(X)[fit]
    assert z.shape == (72, 8) and np.allclose(z.mean(axis=0), 0, atol=1e-9)
    assert np.allclose(z.std(axis=0), 1.0, atol=1e-6)  # whitened on the fit rows
    lda = MT.fit(X, writers, genuine, fit, pca_dims=8, lda_dims=3)
    assert lda.matrix.shape == (30, 3)


def test_finetune_classes_cover_training_writers_only():
    from training.signatures.finetune import class_labels

    writers = np.array([1, 1, 2, 2, 3, 3])
    genuine = np.array([True, False, True, False, True, False])
    y, n = class_labels(writers, genuine, np.isin(writers, [1, 2]))
    assert n == 4 and list(y) == [0, 1, 2, 3, -1, -1]  # genuine-of-w, forgery-of-w; writer 3 unseen


def _tiny_store(n=6, size=48):
    from inference.signature.features import shape_features
    from inference.signature.glcm import glcm_features
    from inference.signature.preprocess import PreprocessOptions, normalize
    from training.signatures.cache import NormStore

    opts = PreprocessOptions(canvas_height=size, canvas_width=size, margin=2, min_component_px=2)
    rng = np.random.default_rng(0)
    sigs = []
    for i in range(n):
        img = np.full((60, 120), 240, np.uint8)
        ys = (30 + 12 * np.sin(np.linspace(0, 6 + i, 100))).astype(int)
        xs = np.linspace(10, 110, 100).astype(int)
        for dy in (-1, 0, 1):
            img[np.clip(ys + dy + rng.integers(-1, 2), 0, 59), xs] = 40
        sigs.append(normalize(img, opts))
    gl = [glcm_features(s.canvas) for s in sigs]
    sh = [shape_features(s) for s in sigs]
    return NormStore(opts, np.stack([s.canvas for s in sigs]), np.stack([s.mask for s in sigs]),
                     np.stack([s.skeleton for s in sigs]), np.array([s.threshold for s in sigs]),
                     np.array([s.bbox for s in sigs]), np.array([s.ink_fraction for s in sigs]), np.stack(gl),
                     np.stack([a for a, _ in sh]), np.stack([b for _, b in sh]), key="tiny")


def test_cached_pair_features_equal_the_apps_pair_vector(tmp_path):
    """Training's vectorised/cached pair features are exactly what the app's Verifier computes."""
    from inference.signature.features import FeatureSpec, pair_vector
    from training.signatures import cache as C

    store = _tiny_store()
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(len(store), 10))
    spec = FeatureSpec(projection_dims=4)
    proj = C.fit_projection(emb, 4)
    pairs = np.array([[0, 1, 1], [2, 3, 0], [5, 0, 1], [4, 4, 0]])
    X = C.pair_features(store, pairs, spec, emb, proj, cache_dir=tmp_path)
    desc = store.descriptors(emb, proj, None, spec.overlay_tolerance)
    ref = np.stack([pair_vector(desc[q], desc[r], spec) for q, r, _ in pairs])
    assert np.allclose(X, ref, atol=1e-12)
    assert len(list(tmp_path.glob("pairs-*.npy"))) == 1
    X2 = C.pair_features(store, pairs, spec, emb * 2 + 1, proj, cache_dir=tmp_path)  # new CNN, cached rest
    assert np.allclose(X2[:, 2 + 4:], X[:, 2 + 4:]) and len(list(tmp_path.glob("pairs-*.npy"))) == 1
    sub = store.subset(np.array([1, 0]))
    assert sub.key != store.key  # a subset must never hit its parent's caches


def _fake_results():
    refs = ["1", "3", "5", "10"]
    pw = {"writers": [36, 37], "eer_mean": 0.1, "eer_std": 0.05, "eer_min": 0.05, "eer_max": 0.15,
          "eer_median": 0.1, "accuracy_mean": 0.9, "accuracy_std": 0.02, "accuracy_min": 0.88, "writers_perfect": 0,
          "per_writer_eer": [0.05, 0.15], "per_writer_accuracy": [0.92, 0.88]}
    test = {n: {"eer": 0.1, "eer_threshold": 0.5, "auc": 0.95, "n_genuine": 10, "n_forged": 12, "frr": 0.1,
                "far": 0.1, "accuracy": 0.9, "balanced_accuracy": 0.9, "threshold": 0.5,
                "strict": {"frr": 0.3, "far": 0.01}, "per_writer": pw, "review_rate": 0.2,
                "accuracy_outside_review": 0.95} for n in refs}
    kern = {k: {"params": {"kernel": k, "C": 2.0}, "study": k != "rbf-scale", "val_eer": 0.1, "val_auc": 0.9,
                "test_eer": 0.12, "test_auc": 0.93, "test_accuracy": 0.88}
            for k in ("linear", "rbf", "poly", "sigmoid", "rbf-scale")}
    acc = {"random_image_split": 0.99, "writer_disjoint": 0.52, "n_test_random": 648, "n_test_writer": 480}
    rob = [{"kind": k, "severity": 2.0, "fraction": f, "eer": 0.1, "accuracy": 0.9, "frr": 0.1, "far": 0.1,
            "auc": 0.95} for k in ("blur", "noise") for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
    cfg = {"preprocess": {"median_size": 3, "min_component_px": 12, "canvas": [224, 224], "margin": 8,
                          "skeletonize": False},
           "features": {"projection_dims": 32, "overlay_tolerance": 2},
           "data": {"split": {"train": "1-27", "val": "28-35", "test": "36-45"}},
           "decision": {"strict_far": 0.01, "review_frr": 0.05, "draws": 5, "min_references": 3, "disagreement": 0.5},
           "svm": {"select_refs": 5, "augment": {"fraction": 0.3, "blur": 1.5}},
           "ablation": {"train_writers": "1-14", "refs": 5, "draws": 3},
           "robustness": {"kinds": {"blur": 2.0, "noise": 25.0}},
           "cnn": {"finetune": {"from_layer": "block4c_add", "margin": 0.2, "lr": 3e-4, "epochs": 4}}}
    return {
        "config": cfg, "counts": {"train": 1296, "val": 384, "test": 480}, "quick": False,
        "previous": {"what": "1.0.0", "eer_5": 0.118, "accuracy_5": 0.861},
        "embedding": {"taps": [{"layer": "block5c_add", "rows": 2, "cols": 3}], "dims": 256, "pooled_dims": 672,
                      "power": 0.5, "pca_dims": 256, "lda_dims": 0},
        "embedding_study": [{"name": "top GAP", "dims": 1280, "layer": "none", "cv_eer": 0.2, "shipped": False},
                            {"name": "block5c_add 2×3", "dims": 672, "layer": "whitening PCA 256", "cv_eer": 0.12,
                             "shipped": True}],
        "finetune": {"history": {"val_eer": {0: 0.07, 2: 0.08}}, "best_epoch": 0, "best_val_reference_eer": 0.07,
                     "epochs_run": 2, "images": 1296, "classes": 54, "trainable_weights": 123456, "seconds": 200.0,
                     "finetuned_val_reference_eer": 0.07, "finetuned_val_eer": 0.05, "frozen_val_reference_eer": 0.07,
                     "frozen_val_eer": 0.05},
        "test": test, "kernels": kern, "kernel": "rbf-scale", "fusion": "mean", "lambda": 0.25, "prior": 0.8,
        "calibration": {"a": 10.0, "b": -5.0},
        "fusion_grid": [{"fusion": "mean", "lambda": 0.25, "val_eer": {int(n): 0.1 for n in refs},
                         "test_eer": {int(n): 0.1 for n in refs}}],
        "thresholds": {n: 0.5 for n in refs}, "strict_thresholds": {n: 0.9 for n in refs},
        "review_bands": {n: [0.3, 0.9] for n in refs},
        "feature_ablation": [{"variant": "all blocks", "features": 67, "val_eer": None, "test_eer": 0.1,
                              "test_auc": 0.95}],
        "preprocess_ablation": [{"variant": "as shipped", "test_eer": 0.1, "test_auc": 0.95, "pair_auc": 0.9}],
        "robustness": rob, "single_image_head": {"development": 0.7, "test": 0.55},
        "baselines": {"background_raw": acc, "background_normalized": {**acc, "writer_disjoint": 0.5},
                      "cnn_raw": acc, "cnn_normalized": acc, "embedding_normalized": acc},
        "pairs": {"train": 6000, "train_genuine": 3000, "dev": 100, "test": 100, "features": 67},
        "folds": [[1, 2], [3, 4]],
        "parity": {"cnn": {"n": 16, "max_abs": {"probs": 1e-6, "cam": 1e-5}, "argmax_agree": 1.0,
                           "embedding_vs_training": 1e-5},
                   "svm": {"n": 100, "max_abs_prob": 1e-5, "label_agree": 1.0}},
        "runtime_parity": {"checked": 6, "max_abs_score_diff": 1e-6},
        "sizes": {"model.onnx": 14_000_000}, "timings": {"normalise": 10.0, "total": 100.0},
    }


def test_card_holds_every_required_section(tmp_path):
    """The model card is written from the results: every section the issue asks for is there."""
    pytest.importorskip("matplotlib")
    from training.signatures import card as K

    r = _fake_results()
    scores = {}
    rng = np.random.default_rng(0)
    for n in (1, 3, 5, 10):
        y = np.r_[np.ones(20), np.zeros(20)].astype(int)
        scores[n] = (y, np.clip(y * 0.4 + rng.random(40) * 0.6, 0, 1), np.repeat([36, 37], 20))
    written = K.write_plots(tmp_path, scores, r)
    assert set(written) >= {"roc_det.png", "score_hist.png", "per_writer_eer.png", "robustness.png"}
    manifest = {"name": "Signature verification", "id": "signature-verify", "version": "2.0.0"}
    text = K.write_card(tmp_path, r, manifest).read_text(encoding="utf-8")
    for needle in ("research use", "36–45", "| 1 |", "| 3 |", "| 5 |", "| 10 |", "FRR", "FAR", "EER",
                   "ROC-AUC", "Per-writer", "linear (study)", "rbf (study)", "poly (study)", "sigmoid (study)",
                   "Preprocessing ablation", "Feature ablation", "Robustness", "25%", "50%", "75%",
                   "background-only", "random image split", "Anchors", "100%", "99.40%", "EER < 1%",
                   "NOT met", "roc_det.png", "score_hist.png", "Not tested on", "Fine-tuning the CNN",
                   "Embedding (chosen on the development writers only)"):
        assert needle in text, needle


def test_domain_limits_refuse_at_most_the_stated_share_of_development_images():
    from training.signatures import domain

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(400, 16))
    masks = np.zeros((400, 8, 8), bool)
    for i, k in enumerate(rng.integers(1, 10, 400)):
        masks[i].flat[:k] = True
    dev = domain.development_scores(emb, masks)
    assert np.allclose(dev["embedding_norm2"], (emb ** 2).sum(1))
    assert np.allclose(dev["ink_fraction"], masks.reshape(400, -1).mean(1))
    block = domain.fit_limits(dev, 0.99)
    lim = block["limits"]
    refused = (dev["embedding_norm2"] > lim["embedding_norm2"]) | (dev["ink_fraction"] > lim["ink_fraction"])
    assert refused.mean() <= 0.01 + 1e-12 and block["development_refusal"] == pytest.approx(refused.mean())
    # the limits sit in the tails of the development scores, not below their bulk
    assert lim["embedding_norm2"] >= np.quantile(dev["embedding_norm2"], 0.98)
    with pytest.raises(ValueError):
        domain.fit_limits(dev, 1.0)


def test_domain_measure_runs_the_apps_verifier_on_signatures_and_other_images(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference" / "signature"))
    from sig_fixtures import draw_signature, save, write_verify_pack

    from training.signatures import domain

    sigs = [save(tmp_path / f"s{i}.png", draw_signature("loops", shift=i)) for i in range(3)]
    others = tmp_path / "photos"
    others.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        save(others / f"p{i}.png", (rng.random((90, 120)) * 255).astype(np.uint8))
    save(others / "blank.png", np.full((60, 90), 250, np.uint8))  # no ink: refused too, counted apart
    pack = write_verify_pack(tmp_path / "pack", ood={"limits": {"ink_fraction": 0.3}})
    r = domain.measure(pack, sigs, [{"name": "noise", "path": str(others), "description": "noise images"}],
                       limit=10, seed=0, log=lambda *a: None)
    assert r["limits"] == {"ink_fraction": 0.3}
    assert r["test_signatures"] == {"n": 3, "refused": 0.0, "refused_by": {"ink_fraction": 0.0}}
    (s,) = r["sets"]
    assert s["n"] == 5 and s["no_ink"] == 1 and s["refused"] == 1.0
