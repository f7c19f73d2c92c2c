"""signature-verify 3.1 ``writer_fused`` scoring: the per-customer kernel classifier shifts every
per-reference similarity by one β·d(q); the scores stay coherent and deterministic, the classifier is
fitted once per reference set, and the manifest block is typed and validated."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from inference.errors import PackUnusableError
from inference.registry import PackRegistry
from inference.signature.scoring import ScoringConfig, cosine, score
from inference.signature.scoring_wd import WriterClassifier, WriterClassifierConfig, krr_fit, krr_score, load_cohort
from inference.signature.verifier import Verifier
from tests.inference.signature.sig_fixtures import EMB, SCORING, draw_signature, save, write_scoring_pack

WC = {"kind": "rbf_least_squares", "cohort": "cohort", "gamma": "scale", "ridge": 1.0, "beta": 0.8,
      "min_references": 3, "calibration": {"a": 7.0, "b": -5.0}}


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a, np.float32))
    return buf.getvalue()


def write_fused_pack(folder: Path, cohort_embeddings: np.ndarray | None = None, **wc) -> Path:
    """The 3.0-style fixture pack switched to ``writer_fused``, its cohort the tiny CNN's embeddings of
    other hands (zigzags of several shifts and widths)."""
    pack = write_scoring_pack(folder)
    cohort = cohort_embeddings
    if cohort is None:
        v = Verifier(PackRegistry([(pack.parent, "bundled")]).get("signature-verify"))
        imgs = [draw_signature("zigzag", shift=s, width=w) for s in (-12, -6, 0, 6, 12) for w in (3, 4, 6)]
        cohort = np.stack([d.descriptor.embedding for d in v._describe_many(imgs, [None] * len(imgs), False)])
    data = _npy(cohort)
    (pack / "cohort.npy").write_bytes(data)
    m = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    m["version"] = "3.1.0"
    m["extra_files"] = {"cohort": {"file": "cohort.npy", "sha256": hashlib.sha256(data).hexdigest()}}
    m["verify"]["scoring"].update({"mode": "writer_fused", "writer_classifier": {**WC, **wc}})
    (pack / "manifest.json").write_text(json.dumps(m, indent=2), encoding="utf-8")
    return pack


def _writers(dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, dim))
    emb = {w: c + 0.35 * rng.normal(size=(10, dim)) for w, c in enumerate(centres)}
    return emb


def test_the_classifier_tells_the_customer_from_other_hands():
    emb = _writers()
    refs = emb[0][:5]
    cohort = np.concatenate([emb[w] for w in range(2, 8)])
    clf = WriterClassifier(WriterClassifierConfig.from_mapping(WC, "t"), cohort)
    mine = [clf.shift(q, refs) for q in emb[0][5:]]
    other = [clf.shift(q, refs) for q in emb[1]]       # a hand the cohort never saw
    assert min(mine) > max(other)
    # and it is a real fit: with almost no ridge it reproduces its training labels
    X = np.concatenate([refs, cohort])
    y = np.concatenate([np.ones(5), -np.ones(len(cohort))])
    assert np.allclose(krr_score(krr_fit(X, y, 1e-9), X), y, atol=1e-3)


@pytest.mark.parametrize("n", [1, 3, 5, 10])
def test_fused_scores_stay_coherent(n):
    """One shift for every reference: the per-reference scores keep the cosines' order, the overall
    score lies within their range, and a forger never scores above their best reference."""
    rng = np.random.default_rng(n)
    emb = _writers(seed=n)
    cfg = ScoringConfig.from_mapping({**SCORING, "aggregate": "trimmed_mean", "mode": "writer_fused",
                                      "writer_classifier": {**WC, "min_references": 1}}, "t")
    clf = WriterClassifier(cfg.writer, np.concatenate([emb[w] for w in range(2, 8)]))
    for _ in range(30):
        refs = emb[0][rng.choice(10, size=min(n, 9), replace=False)] if n < 10 else emb[0] + 0.05
        q = emb[0][rng.integers(10)] + 0.2 * rng.normal(size=16) if rng.random() < 0.5 else emb[1][rng.integers(10)]
        shift = clf.shift(q, refs)
        s = score(q, refs, cfg, shift=shift)
        plain = score(q, refs, cfg)
        assert s.per_reference.min() - 1e-12 <= s.overall <= s.per_reference.max() + 1e-12
        assert np.argsort(cosine(q, refs), kind="stable").tolist() == np.argsort(s.per_reference, kind="stable").tolist()
        # the fused calibration applied to the plain similarity plus the one shift
        logit = lambda p: np.log(p / (1 - p))  # noqa: E731
        s_plain = (logit(plain.per_reference) - cfg.b) / cfg.a
        assert np.allclose(logit(s.per_reference), cfg.writer.a * (s_plain + shift) + cfg.writer.b, atol=1e-6)
        assert s.shift == shift


def test_below_its_minimum_the_classifier_is_off_and_the_score_is_3_0s():
    emb = _writers()
    cfg = ScoringConfig.from_mapping({**SCORING, "mode": "writer_fused", "writer_classifier": WC}, "t")
    clf = WriterClassifier(cfg.writer, np.concatenate([emb[w] for w in range(2, 8)]))
    q, two = emb[0][5], emb[0][:2]
    assert clf.shift(q, two) is None
    assert clf.shift(q, emb[0][:3]) is not None
    three_0 = ScoringConfig.from_mapping(SCORING, "t")   # the same block without the classifier
    assert np.array_equal(score(q, two, cfg, shift=clf.shift(q, two)).per_reference, score(q, two, three_0).per_reference)


def test_fitted_once_per_reference_set():
    emb = _writers()
    clf = WriterClassifier(WriterClassifierConfig.from_mapping(WC, "t"), np.concatenate([emb[w] for w in range(2, 8)]))
    refs, key = emb[0][:5], ("a", "b", "c", "d", "e")
    m1 = clf.model_for(refs, key)
    assert clf.model_for(refs, key) is m1
    assert clf.model_for(refs[::-1], key[::-1]) is not m1   # another order is another key
    fresh = clf.model_for(refs)                                 # no key: fitted again, same numbers
    assert fresh is not m1 and np.array_equal(fresh.alpha, m1.alpha)


def test_verifier_with_a_fused_pack_is_coherent_and_deterministic(tmp_path):
    pack = write_fused_pack(tmp_path / "packs" / "signature-verify")
    reg = PackRegistry([(pack.parent, "bundled")])
    v = Verifier(reg.get("signature-verify"))
    assert v.writer is not None and v.scoring.mode == "writer_fused"
    refs = [save(tmp_path / f"r{i}.png", draw_signature("loops", shift=3 * i)) for i in range(5)]
    genuine = save(tmp_path / "g.png", draw_signature("loops", shift=5, width=5))
    other = save(tmp_path / "o.png", draw_signature("zigzag", shift=3))
    g, o = v.verify(genuine, refs, overlay=False), v.verify(other, refs, overlay=False)
    for r in (g, o):
        assert min(r.reference_scores) <= r.score <= max(r.reference_scores)
    assert g.details["writer_shift"] > o.details["writer_shift"]
    assert g.score > o.score
    # the same query and references give the same score: again (cached classifier) and in a fresh verifier
    again = v.verify(genuine, refs, overlay=False)
    fresh = Verifier(PackRegistry([(pack.parent, "bundled")]).get("signature-verify")).verify(genuine, refs, overlay=False)
    for r in (again, fresh):
        assert r.score == g.score and r.reference_scores == g.reference_scores
        assert r.details["writer_shift"] == g.details["writer_shift"]
    assert len(v.writer._models) == 1


def test_3_0_packs_score_as_before(tmp_path):
    """A pack without the mode (3.0.0) gets no classifier and no shift."""
    pack = write_scoring_pack(tmp_path / "packs" / "signature-verify")
    v = Verifier(PackRegistry([(pack.parent, "bundled")]).get("signature-verify"))
    assert v.writer is None and v.scoring.mode == "reference_normalized"
    refs = [save(tmp_path / f"r{i}.png", draw_signature("loops", shift=3 * i)) for i in range(3)]
    r = v.verify(save(tmp_path / "g.png", draw_signature("loops", shift=5)), refs, overlay=False)
    assert r.details["writer_shift"] is None


@pytest.mark.parametrize("bad, words", [
    ({"mode": "fancy"}, "unknown mode"),
    ({"mode": "writer_fused"}, "needs a 'writer_classifier'"),
    ({"writer_classifier": WC}, "only used with mode"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "kind": "svm"}}, "unknown kind"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "beta": -1}}, "'beta'"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "ridge": 0}}, "'ridge'"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "gamma": 0.5}}, "gamma"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "cohort": ""}}, "cohort"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "min_references": 0}}, "min_references"),
    ({"mode": "writer_fused", "writer_classifier": {k: v for k, v in WC.items() if k != "calibration"}}, "calibration"),
    ({"mode": "writer_fused", "writer_classifier": {**WC, "calibration": {"a": -1, "b": 0}}}, "'a'"),
])
def test_bad_writer_blocks_are_refused_in_words(bad, words):
    with pytest.raises(PackUnusableError, match=words):
        ScoringConfig.from_mapping({**SCORING, **bad}, "test")


def test_a_cohort_that_does_not_fit_is_refused(tmp_path):
    with pytest.raises(PackUnusableError, match="cannot be read"):
        load_cohort(b"junk", "t")
    with pytest.raises(PackUnusableError, match="dims"):
        load_cohort(_npy(np.ones((4, 8))), "t", dims=16)
    with pytest.raises(PackUnusableError, match="non-finite"):
        load_cohort(_npy(np.full((4, 8), np.nan)), "t")
    pack = write_fused_pack(tmp_path / "packs" / "signature-verify", cohort_embeddings=np.ones((6, EMB)),
                            cohort="elsewhere")
    with pytest.raises(PackUnusableError, match="not in extra_files"):
        Verifier(PackRegistry([(pack.parent, "bundled")]).get("signature-verify"))
