"""signature-verify 3 training side: both corpora normalised the same way, the CV protocol's pieces,
the operating-point choice. Tiny and fast: drawn signatures, synthetic scores."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from inference.signature.preprocess import PreprocessOptions
from tests.inference.signature.sig_fixtures import draw_signature
from training.signatures import corpora
from training.signatures.corpora import BENGALI_OFFSET, corpus_of_writer, load_corpora, normalize_all
from training.signatures.v3_eval import Recipe, choose_point, fit_calibration, make_rows, rates
from training.signatures.v3_train import folds_of

OPTS = PreprocessOptions(canvas_height=64, canvas_width=128, margin=4, min_component_px=4)


def _corpora(tmp_path):
    """A CEDAR-like folder (grey JPEG-ish scans on grey paper, darker for genuine) and a Bengali-like
    one (1-bit PNGs), holding the same drawn strokes."""
    cedar, beng = tmp_path / "cedar", tmp_path / "beng"
    (cedar / "full_org").mkdir(parents=True)
    (cedar / "full_forg").mkdir(parents=True)
    rows_c, rows_b = [], []
    for w in (1, 2):
        for s in (1, 2):
            for label, folder, bg in (("genuine", "full_org", 225), ("forged", "full_forg", 250)):
                kind = "loops" if label == "genuine" else "zigzag"
                rel = f"{folder}/{label}_{w}_{s}.png"
                Image.fromarray(draw_signature(kind, shift=2 * s, background=bg, ink=70)).save(cedar / rel)
                rows_c.append({"path": rel, "writer": w, "sample": s, "label": label})
                d = beng / f"{w:03d}"
                d.mkdir(parents=True, exist_ok=True)
                g = draw_signature(kind, (400, 110), shift=2 * s, background=255, ink=0)
                rel_b = f"{w:03d}/B-S-{w}-{label[0].upper()}-{s:02d}.png"
                Image.fromarray(g).convert("1").save(beng / rel_b)
                rows_b.append({"file": rel_b, "writer": w, "sample": s, "label": label})
    for root, rows in ((cedar, rows_c), (beng, rows_b)):
        with open(root / "manifest.csv", "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
            wr.writeheader()
            wr.writerows(rows)
    return cedar, beng


def test_both_corpora_become_binary_ink_on_white_on_one_canvas(tmp_path):
    cedar, beng = _corpora(tmp_path)
    items = load_corpora(cedar, beng)
    assert len(items) == 16
    assert {it.corpus for it in items} == {"cedar", "bengali"}
    assert len({(it.corpus, it.writer) for it in items}) == len({it.writer for it in items})  # ids unique
    assert all(corpus_of_writer(it.writer) == it.corpus for it in items)
    cv = normalize_all(items, OPTS, tmp_path / "cache", workers=1)
    assert cv.canvas.shape == (16, 64, 128) and cv.mask.shape == cv.canvas.shape
    # the paper is gone: away from the ink every canvas is pure white, whatever the scan's grey
    from inference.signature.preprocess import dilate

    for c, m in zip(cv.canvas, cv.mask):
        assert np.all(c[~dilate(m, 2)] == 255)
        assert m.any()
    raw_gen = cv.border_grey[[it.genuine and it.corpus == "cedar" for it in items]]
    raw_forg = cv.border_grey[[not it.genuine and it.corpus == "cedar" for it in items]]
    assert raw_gen.max() < raw_forg.min()  # the raw background did separate them (the trap)
    # cached: a second call reads the file
    again = normalize_all(items, OPTS, tmp_path / "cache", workers=1)
    assert np.array_equal(again.canvas, cv.canvas)


def test_split_is_writer_disjoint_and_folds_balance_corpora():
    dev, test = corpora.dev_writers(), corpora.test_writers()
    assert not set(dev) & set(test)
    assert len(dev) == 35 + 70 and len(test) == 10 + 10
    assert max(w for w in dev if w < BENGALI_OFFSET) == 35 and min(w for w in test if w < BENGALI_OFFSET) == 36
    folds = folds_of(dev)
    assert sorted(w for f in folds for w in f) == sorted(dev)
    for f in folds:
        assert sum(w < BENGALI_OFFSET for w in f) == 7 and sum(w > BENGALI_OFFSET for w in f) == 14


def test_rows_never_mix_writers_nor_use_a_reference_as_query():
    rng = np.random.default_rng(0)
    writers = np.repeat([1, 2, 1001], 20)
    genuine = np.tile(np.r_[np.ones(12, bool), np.zeros(8, bool)], 3)
    corpus = np.array(["cedar" if w < 1000 else "bengali" for w in writers], dtype=object)
    emb = rng.normal(size=(len(writers), 8))
    rows = make_rows(emb, writers, genuine, corpus, [1, 2, 1001], 5, 2, 0)
    assert rows.cos.shape[1] == 5
    for q, refs, w, y in zip(rows.query, rows.refs, rows.writer, rows.y):
        assert q not in refs
        assert np.all(writers[refs] == w) and writers[q] == w
        assert np.all(genuine[refs]) and genuine[q] == bool(y)
    assert rows.y.sum() == 3 * 2 * 7 and (1 - rows.y).sum() == 3 * 2 * 8


def test_operating_point_meets_its_targets_when_it_can():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(1000), np.zeros(1000)].astype(bool)
    s = np.r_[rng.normal(0.75, 0.1, 1000), rng.normal(0.35, 0.1, 1000)].clip(0, 1)
    pt = choose_point(y, s)
    lo, hi = pt["review"]
    assert lo <= pt["threshold"] <= hi
    r = rates(y, s, pt["threshold"], lo, hi)
    assert pt["meets_target"]
    assert r["accuracy_decided"] >= 0.97 and r["review_rate_genuine"] <= 0.20
    strict = choose_point(y, s, strict_far=0.01)
    assert strict["threshold"] > pt["threshold"]
    assert rates(y, s, strict["threshold"], *strict["review"])["far"] <= 0.01


def test_operating_point_says_when_the_target_is_out_of_reach():
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(500), np.zeros(500)].astype(bool)
    s = rng.uniform(size=1000)  # no information: no band can reach 97% while reviewing <= 20%
    pt = choose_point(y, s)
    assert not pt["meets_target"]
    assert rates(y, s, pt["threshold"], *pt["review"])["review_rate_genuine"] <= 0.20


def test_calibration_is_increasing_and_centred():
    rng = np.random.default_rng(3)
    writers = np.repeat(np.arange(1, 11), 20)
    genuine = np.tile(np.r_[np.ones(10, bool), np.zeros(10, bool)], 10)
    centres = rng.normal(size=(10, 16))
    emb = centres[writers - 1] + np.where(genuine[:, None], 0.3, 1.0) * rng.normal(size=(200, 16))
    corpus = np.full(200, "cedar", dtype=object)
    rows = make_rows(emb, writers, genuine, corpus, range(1, 11), 3, 2, 0)
    rec = fit_calibration(rows, Recipe(how="median"))
    assert rec.a > 0
    s = rec.overall(rows)
    assert s[rows.y == 1].mean() > 0.5 > s[rows.y == 0].mean()


@pytest.mark.parametrize("how", ["median", "trimmed_mean", "mean"])
def test_vectorised_recipe_matches_the_app(how):
    from inference.signature.scoring import ScoringConfig, per_reference
    from inference.signature.scoring import aggregate as app_aggregate

    rng = np.random.default_rng(4)
    writers = np.repeat(np.arange(1, 6), 20)
    genuine = np.tile(np.r_[np.ones(14, bool), np.zeros(6, bool)], 5)
    emb = rng.normal(size=(100, 8))
    rows = make_rows(emb, writers, genuine, np.full(100, "cedar", dtype=object), range(1, 6), 10, 1, 0)
    rec = Recipe(7.0, -3.0, 0.5, 0.2, how)
    cfg = ScoringConfig.from_mapping({"calibration": {"a": 7.0, "b": -3.0},
                                      "reference_normalization": {"lambda": 0.5, "prior": 0.2}, "aggregate": how,
                                      "operating_points": {"1": {"standard": {"threshold": 0.5, "review": [0.5, 0.5]}}}})
    want = [app_aggregate(per_reference(c, l, cfg), how) for c, l in zip(rows.cos, rows.level)]
    assert np.allclose(rec.overall(rows), want)
