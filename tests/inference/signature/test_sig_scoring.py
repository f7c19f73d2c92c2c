"""signature-verify 3 scoring: one calibrated scale, coherent overall score, operating points per n."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import PackUnusableError
from inference.registry import PackRegistry
from inference.signature.scoring import AGGREGATES, ScoringConfig, aggregate, cosine, reference_agreement, score
from inference.signature.verifier import Verifier
from tests.inference.signature.sig_fixtures import SCORING, draw_signature, save, write_scoring_pack


def _cfg(**over) -> ScoringConfig:
    return ScoringConfig.from_mapping({**SCORING, **over}, "test")


@pytest.mark.parametrize("how", AGGREGATES)
def test_overall_lies_within_per_reference_range(how):
    rng = np.random.default_rng(0)
    cfg = _cfg(aggregate=how)
    for _ in range(200):
        n = int(rng.integers(1, 11))
        refs = rng.normal(size=(n, 16))
        query = rng.normal(size=16) if rng.random() < 0.5 else refs[0] + 0.1 * rng.normal(size=16)
        s = score(query, refs, cfg)
        assert s.per_reference.min() - 1e-12 <= s.overall <= s.per_reference.max() + 1e-12
        assert np.all((s.per_reference > 0) & (s.per_reference < 1))


def test_different_person_never_scores_above_its_best_reference():
    rng = np.random.default_rng(1)
    base = rng.normal(size=16)
    refs = base + 0.2 * rng.normal(size=(5, 16))
    other = rng.normal(size=16)  # another hand
    s = score(other, refs, _cfg())
    assert s.overall <= s.per_reference.max()
    genuine = score(base + 0.2 * rng.normal(size=16), refs, _cfg())
    assert genuine.overall > s.overall


def test_each_reference_score_means_the_same_whatever_its_position():
    rng = np.random.default_rng(2)
    refs = rng.normal(size=(5, 16))
    q = rng.normal(size=16)
    a = score(q, refs, _cfg())
    order = [3, 0, 4, 1, 2]
    b = score(q, refs[order], _cfg())
    assert np.allclose(a.per_reference[order], b.per_reference)
    assert a.overall == pytest.approx(b.overall)
    # the per-reference score is a fixed function of the cosine: same cosine, same score
    cos = cosine(q, refs)
    assert np.argsort(cos).tolist() == np.argsort(a.per_reference).tolist()


def test_aggregates_are_robust_to_one_outlier():
    p = np.array([0.9, 0.92, 0.88, 0.91, 0.02])
    assert aggregate(p, "median") == pytest.approx(0.9)
    assert aggregate(p, "trimmed_mean") == pytest.approx(np.mean([0.88, 0.9, 0.91]))
    assert aggregate(np.array([0.3]), "trimmed_mean") == pytest.approx(0.3)


def test_reference_agreement_needs_two():
    assert np.isnan(reference_agreement(np.ones((1, 4)))).all()
    agr = reference_agreement(np.eye(3))
    assert np.allclose(agr, 0.0)


def test_operating_point_per_number_of_references():
    points = {"1": {"standard": {"threshold": 0.3, "review": [0.2, 0.4]}},
              "3": {"standard": {"threshold": 0.5, "review": [0.4, 0.6]},
                    "strict": {"threshold": 0.9, "review": [0.4, 0.95]}},
              "5": {"standard": {"threshold": 0.6, "review": [0.5, 0.7]}}}
    cfg = _cfg(operating_points=points)
    assert cfg.point(1)[0].threshold == 0.3
    assert cfg.point(2)[0].threshold == 0.3          # largest key <= n
    assert cfg.point(4)[0].threshold == 0.5
    assert cfg.point(4, strict=True) == (cfg.points[3]["strict"], "strict")
    assert cfg.point(5, strict=True)[1] == "standard"  # no strict point for 5: the standard one, said so
    assert cfg.point(12)[0].threshold == 0.6


@pytest.mark.parametrize("bad, words", [
    ({"calibration": {"a": -1.0, "b": 0.0}}, "'a'"),
    ({"calibration": {"a": "x", "b": 0.0}}, "finite number"),
    ({"aggregate": "max"}, "unknown aggregate"),
    ({"operating_points": {}}, "operating_points"),
    ({"operating_points": {"5": {"standard": {"threshold": 0.9, "review": [0.1, 0.5]}}}}, "inside its review band"),
    ({"operating_points": {"five": {"standard": {"threshold": 0.5, "review": [0.1, 0.6]}}}}, "reference count"),
    ({"min_references": 0}, "min_references"),
])
def test_bad_scoring_blocks_are_refused_in_words(bad, words):
    with pytest.raises(PackUnusableError, match=words):
        _cfg(**bad)


def test_verifier_with_a_scoring_pack_end_to_end(tmp_path):
    pack = write_scoring_pack(tmp_path / "packs" / "signature-verify")
    reg = PackRegistry([(pack.parent, "bundled")])
    v = Verifier(reg.get("signature-verify"))
    assert v.svm is None and v.scoring is not None
    refs = [save(tmp_path / f"r{i}.png", draw_signature("loops", shift=3 * i)) for i in range(3)]
    genuine = save(tmp_path / "g.png", draw_signature("loops", shift=5, width=5))
    other = save(tmp_path / "o.png", draw_signature("zigzag"))
    g = v.verify(genuine, refs)
    o = v.verify(other, refs)
    for r in (g, o):
        assert min(r.reference_scores) <= r.score <= max(r.reference_scores)
        assert r.details["registration"]["scale"] > 0
        assert set(r.overlay_counts) >= {"red", "green", "yellow", "iou", "matched"}
        assert r.overlay.shape == (64, 64, 3)
    assert g.score > o.score
    assert g.overlay_counts["matched"] > o.overlay_counts["matched"]
    js = g.to_json_dict()
    assert js["score"] == pytest.approx(g.score, abs=1e-6) and len(js["reference_scores"]) == 3
    strict = v.verify(genuine, refs, strict=True)
    assert strict.operating_point == "strict" and strict.threshold == 0.8


def _head_bytes(w_abs, w_prod, bias) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, w_abs=np.asarray(w_abs, np.float32), w_prod=np.asarray(w_prod, np.float32), bias=np.float32(bias))
    return buf.getvalue()


def test_learned_pair_similarity_generalises_the_cosine():
    from inference.signature.scoring import PairWeights, similarity

    rng = np.random.default_rng(5)
    refs, q = rng.normal(size=(4, 8)), rng.normal(size=8)
    plain = PairWeights.from_bytes(_head_bytes(np.zeros(8), np.ones(8), 0.0))
    assert np.allclose(similarity(q, refs, plain), cosine(q, refs), atol=1e-6)
    head = PairWeights.from_bytes(_head_bytes(-rng.uniform(size=8), rng.uniform(size=8), 0.3))
    s = score(q, refs, _cfg(), head=head)
    assert s.per_reference.min() <= s.overall <= s.per_reference.max()
    assert np.allclose(s.cosines, similarity(q, refs, head))


@pytest.mark.parametrize("data", [b"not an npz", None])
def test_bad_pair_head_is_refused_in_words(data):
    from inference.signature.scoring import PairWeights

    if data is None:
        data = _head_bytes(np.zeros(8), np.ones(7), 0.0)
    with pytest.raises(PackUnusableError, match="pair_head"):
        PairWeights.from_bytes(data, "test")
