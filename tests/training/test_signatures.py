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
