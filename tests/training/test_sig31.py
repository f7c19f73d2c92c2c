"""signature-verify 3.1 candidates (training side): every writer-dependent normalisation keeps the
issue's coherence rule, and the per-customer kernel classifier fused into the scores is a real one.

Synthetic embeddings, no corpora: fast, and runs on a clean clone."""

from __future__ import annotations

import numpy as np
import pytest

from training.signatures.v3_eval import Recipe, make_rows
from training.signatures.v31_norm import PER_REFERENCE, SPECS, _unit, as_rows, cohort_of, cohort_stats, fold_context, ref_stats
from training.signatures.v31_wd import krr_fit, krr_score


def _writers(n_writers=6, per=8, forged=4, dim=16, seed=0):
    """Embeddings: each writer a centre, genuine near it, forgeries a bit further away."""
    rng = np.random.default_rng(seed)
    emb, wr, gen = [], [], []
    for w in range(1, n_writers + 1):
        c = rng.normal(size=dim)
        emb += [c + 0.4 * rng.normal(size=dim) for _ in range(per)]
        emb += [c + 1.0 * rng.normal(size=dim) for _ in range(forged)]
        wr += [w] * (per + forged)
        gen += [True] * per + [False] * forged
    return np.array(emb), np.array(wr), np.array(gen)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_every_normalisation_keeps_scores_coherent(n):
    """Per query: each normalised similarity is strictly increasing in its cosine, so after
    calibration the overall (a robust mean) lies within the per-reference range; the candidates that
    apply one transform to every reference also keep the cosines' order (the reference with the
    highest cosine has the highest per-reference score)."""
    emb, wr, gen = _writers()
    corpus = np.array(["cedar"] * len(wr), dtype=object)
    e = _unit(emb)
    cohort = cohort_of(e, wr, gen, exclude=[1, 2], size=20)
    assert not np.isin(wr[cohort], [1, 2]).any() and gen[cohort].all()
    stats = {k: cohort_stats(e, cohort, None if k == "all" else k) for k in ("all", 50)}
    rows = make_rows(emb, wr, gen, corpus, [1, 2], n, 2, 0)
    ctx = fold_context(e, rows, stats, prior_level=0.5, prior_sd=0.1)
    for name, fn in SPECS.items():
        s = fn(ctx)
        assert s.shape == rows.cos.shape and np.all(np.isfinite(s)), name
        # same ordering as the cosines, row by row (only the one-transform-for-all candidates)
        order_cos = np.argsort(rows.cos, axis=1, kind="stable")
        keeps_order = np.all(np.diff(np.take_along_axis(s, order_cos, axis=1), axis=1) >= -1e-12)
        if name not in PER_REFERENCE:
            assert keeps_order, name
        # raising one cosine (all else fixed) raises that reference's normalised score
        bumped = dict(ctx, cos=rows.cos + np.eye(1, n, 0))
        assert np.all(fn(bumped)[:, 0] > s[:, 0]), name
        rec = Recipe(4.0, 0.1, 0.0, 0.0, "trimmed_mean")
        r = as_rows(rows, s)
        p, overall = rec.per_ref(r), rec.overall(r)
        assert np.all(overall >= p.min(axis=1) - 1e-12) and np.all(overall <= p.max(axis=1) + 1e-12), name


def test_reference_statistics_match_their_definition():
    emb, wr, gen = _writers()
    corpus = np.array(["bengali"] * len(wr), dtype=object)
    e = _unit(emb)
    rows = make_rows(emb, wr, gen, corpus, [3], 3, 1, 1)
    agree, level, sd = ref_stats(e, rows)
    r = e[rows.refs[0]]
    rr = r @ r.T
    off = rr[~np.eye(3, dtype=bool)]
    assert np.allclose(agree[0], (rr.sum(axis=1) - 1.0) / 2)
    assert np.isclose(level[0], off.mean()) and np.isclose(sd[0], off.std())
    assert np.allclose(level, rows.level)  # the same level as the 3.0 rows carry


def test_customer_kernel_classifier_separates_its_references_from_other_hands():
    emb, wr, gen = _writers(n_writers=10, seed=3)
    e = _unit(emb)
    mine = np.flatnonzero((wr == 1) & gen)
    others = np.flatnonzero((wr != 1) & gen)
    X = np.concatenate([e[mine[:5]], e[others]])
    y = np.concatenate([np.ones(5), -np.ones(len(others))])
    model = krr_fit(X, y, ridge=1.0)
    held_out_genuine = krr_score(model, e[mine[5:]])
    other_hands = krr_score(model, e[np.flatnonzero(wr == 2)])
    assert held_out_genuine.min() > np.median(other_hands)
    # and the fit is exact in the limit of no ridge on separable points
    exact = krr_fit(X, y, ridge=1e-8)
    assert np.allclose(krr_score(exact, X), y, atol=1e-3)


def test_card_section_is_rendered_from_the_results_and_replaced_in_place(tmp_path):
    import json

    from training.signatures.v31_card import BEGIN, END, render, write

    def cell(c, b):
        return {"cedar": {"mean": c, "sd": 0.01, "folds": [c] * 5}, "bengali": {"mean": b, "sd": 0.02, "folds": [b] * 5}}

    run = {"taps": ["block6d_add", "block7a_project_bn"], "seconds": 10.0, "cpu_seconds": 5.0, "load_average": [2.0, 2.0, 2.0],
           "5": {"lvl0.5 (3.0)|trimmed_mean": cell(0.11, 0.072), "lvl0.5 (3.0)|median": cell(0.12, 0.08),
                 "snorm|trimmed_mean": cell(0.155, 0.096)}}
    (tmp_path / "norm-results.json").write_text(json.dumps(run))
    wd = {"taps": run["taps"], "lambda": 0.5, "seconds": 1.0, "cpu_seconds": 1.0, "load_average": [1.0, 1.0, 1.0],
          "5": {"ridge1.0|beta0.4": {**cell(0.104, 0.07), "wd_only_cedar": cell(0.1, 0)["cedar"],
                                     "wd_only_bengali": cell(0, 0.072)["bengali"]}}}
    (tmp_path / "wd-results_x.json").write_text(json.dumps(wd))
    section = render(tmp_path)
    assert section.startswith(BEGIN) and section.rstrip().endswith(END)
    assert "| lvl0.5 (3.0) |" in section and "11.0 ± 1.0% | 7.2 ± 2.0%" in section
    assert "| snorm |" in section and "| no | 15.5 ± 1.0%" in section   # per-reference candidate flagged
    assert "12.0 ± 1.0%" not in section                                  # median rows left out
    assert "| 5 | 1.0 | 0.4 | 10.4 ± 1.0% | 7.0 ± 2.0% |" in section
    card = tmp_path / "CARD.md"
    card.write_text("# Card\n\nintro\n\n<!-- perturbation:begin -->\nkept\n<!-- perturbation:end -->\n")
    write(card, section)
    write(card, section.replace("none shipped", "rerendered"))
    text = card.read_text()
    assert text.count(BEGIN) == 1 and "rerendered" in text and "none shipped" not in text
    assert "<!-- perturbation:begin -->\nkept" in text


def test_training_rows_score_as_the_app_scores():
    """v31_train's fused rows (Recipe over cos + β·d) give exactly the app's writer_fused score
    (ScoringConfig + WriterClassifier + score) for every query: the CV measures what ships."""
    from inference.signature.scoring import ScoringConfig, score
    from inference.signature.scoring_wd import WriterClassifier
    from training.signatures.v31_train import classifier_outputs, fused

    emb, wr, gen = _writers(n_writers=8)
    corpus = np.array(["cedar"] * len(wr), dtype=object)
    e = _unit(emb)
    cohort = cohort_of(e, wr, gen, exclude=[1, 2], size=30)
    rows = make_rows(emb, wr, gen, corpus, [1, 2], 5, 2, 0)
    d = classifier_outputs(e, rows, cohort, (1.0,))[1.0]
    rec = Recipe(9.0, -4.0, 0.5, 0.6, "trimmed_mean")      # the fused score's calibration
    plain = Recipe(14.0, -7.0, 0.5, 0.6, "trimmed_mean")   # without the classifier (3.0's)
    expected = rec.overall(fused(rows, d, 0.8))
    points = {"5": {"standard": {"threshold": 0.5, "review": [0.4, 0.6]}}}
    cfg = ScoringConfig.from_mapping({
        "mode": "writer_fused", "calibration": {"a": 14.0, "b": -7.0},
        "reference_normalization": {"lambda": 0.5, "prior": 0.6}, "aggregate": "trimmed_mean", "trim": 0.2,
        "writer_classifier": {"kind": "rbf_least_squares", "cohort": "cohort", "ridge": 1.0, "beta": 0.8,
                              "min_references": 5, "calibration": {"a": 9.0, "b": -4.0}},
        "operating_points": points}, "t")
    clf = WriterClassifier(cfg.writer, emb[cohort])
    got = [score(emb[q], emb[r], cfg, shift=clf.shift(emb[q], emb[r])).overall for q, r in zip(rows.query, rows.refs)]
    assert np.allclose(got, expected, atol=1e-9)
    # with fewer references than min_references the app scores as 3.0: no shift, the plain calibration
    r3 = make_rows(emb, wr, gen, corpus, [1], 3, 1, 0)
    got3 = [score(emb[q], emb[r], cfg, shift=clf.shift(emb[q], emb[r])).overall for q, r in zip(r3.query, r3.refs)]
    assert np.allclose(got3, plain.overall(fused(r3, None, 0.8)), atol=1e-9)


def test_the_classifier_is_used_from_the_smallest_count_that_helps_from_there_on():
    from training.signatures.v31_train import first_helping

    assert first_helping({1: False, 3: False, 5: True, 10: True}) == 5
    assert first_helping({1: True, 3: False, 5: True, 10: True}) == 5
    assert first_helping({1: True, 3: True, 5: True, 10: True}) == 1
    assert first_helping({1: True, 3: True, 5: True, 10: False}) == 11


def test_cv_cohorts_hold_development_writers_outside_the_scored_fold_only():
    """Issue #23: the per-customer classifier's CV cohort (v31_wd, v31_train, v31_norm, v32) is drawn
    with the scored fold excluded; the pool is the development writers only, so no test writer
    (CEDAR 36–45, Bengali 71–80) and no scored-fold writer is ever in a CV cohort. The pack's cohort
    (the test writers excluded) is the same draw from the same pool as 3.1.0's."""
    from training.signatures.corpora import dev_writers, test_writers
    from training.signatures.v3_train import folds_of
    from training.signatures.v31_train import COHORT_SEED, NEGATIVES

    rng = np.random.default_rng(3)
    writers = dev_writers() + test_writers()
    wr = np.repeat(writers, 6)                                   # 4 genuine + 2 forgeries each
    gen = np.tile([True] * 4 + [False] * 2, len(writers))
    e = _unit(rng.normal(size=(len(wr), 8)))
    folds = folds_of(dev_writers())
    dev, test = set(dev_writers()), set(test_writers())
    for f in folds:
        c = cohort_of(e, wr, gen, f, NEGATIVES, COHORT_SEED)
        got = set(wr[c].tolist())
        assert len(c) == NEGATIVES and gen[c].all()
        assert not got & test, "a test writer in a CV cohort"
        assert not got & set(f), "a scored-fold writer in its own CV cohort"
        assert got <= dev and len(got) > 50                      # spread over the other folds' writers
    pack = cohort_of(e, wr, gen, test_writers(), NEGATIVES, COHORT_SEED)
    pool = np.flatnonzero(gen & ~np.isin(wr, test_writers()))   # 3.1.0's pool for the pack's cohort
    old = np.sort(np.random.default_rng(COHORT_SEED).choice(pool, size=NEGATIVES, replace=False))
    assert np.array_equal(pack, old)


def test_the_corrected_pack_keeps_its_files_and_the_card_lists_every_moved_point():
    """Issue #23's 3.1.1 is manifest data only: the model and cohort files are the ones the manifest
    hashes (3.1.0's), the superseded scoring is kept, the test numbers say whose scorer they are, and
    the card's correction note lists exactly the operating points that moved."""
    import hashlib
    import json
    from pathlib import Path

    from training.signatures.v31_card import correction_note

    pack = Path(__file__).resolve().parents[2] / "models" / "signature-verify"
    m = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    fix = m["metrics"].get("correction")
    if fix is None:
        pytest.skip("the bundled signature pack carries no correction record")
    assert hashlib.sha256((pack / "model.onnx").read_bytes()).hexdigest() == m["model"]["sha256"]
    assert hashlib.sha256((pack / "cohort.npy").read_bytes()).hexdigest() == m["extra_files"]["cohort"]["sha256"]
    old = fix["superseded_scoring"]
    assert old["writer_classifier"]["ridge"] > 0 and fix["superseded_version"] != m["version"]
    assert fix["superseded_version"] in m["metrics"]["test_status"] and "not scored" in m["metrics"]["test_status"]
    text = "\n".join(correction_note(m))
    for n, pts in m["verify"]["scoring"]["operating_points"].items():
        for p, pt in pts.items():
            q = old["operating_points"][n][p]
            moved = max(abs(pt["threshold"] - q["threshold"]), *(abs(a - b) for a, b in zip(pt["review"], q["review"])))
            row = f"| {n} | {p} | {q['threshold']:.4f} → {pt['threshold']:.4f}"
            assert (row in text) == (moved >= 5e-7), (n, p)
