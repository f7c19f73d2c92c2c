"""``verify`` does the reference set's work once (issue #28): references are looked up by the
SHA-256 of their files without being decoded again, and their agreement is kept per set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("sklearn")

import inference.signature.verifier as verifier_module  # noqa: E402
from inference.imageio import DecodedImage  # noqa: E402
from inference.registry import check_pack  # noqa: E402
from inference.signature.verifier import Verifier  # noqa: E402
from sig_fixtures import draw_signature, save, write_verify_pack  # noqa: E402


@pytest.fixture()
def setup(tmp_path):
    write_verify_pack(tmp_path / "signature-verify")
    refs = [save(tmp_path / f"r{i}.png", draw_signature("loops", shift=2 * i - 4, width=4 + i % 2))
            for i in range(5)]
    queries = [save(tmp_path / "gen.png", draw_signature("loops", shift=1, background=250, ink=40)),
               save(tmp_path / "forg.png", draw_signature("zigzag"))]
    return Verifier(check_pack(tmp_path / "signature-verify")), refs, queries


def _count(monkeypatch, obj, name):
    calls = []
    real = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def test_references_are_decoded_once_and_their_agreement_computed_once(setup, monkeypatch):
    verifier, refs, queries = setup
    fresh = Verifier(verifier.pack)  # the answers without any cache, for comparison
    expected = [fresh.verify(q, refs) for q in queries]
    calls = _count(monkeypatch, verifier_module, "load_image")

    def decodes():  # a DecodedImage passed along is no decoding
        return [c for c in calls if not isinstance(c[0], DecodedImage)]
    agreement_runs = _count(monkeypatch, verifier, "_svm_probs")
    verifier.load_references(refs)
    assert len(decodes()) == 5
    for _ in range(3):
        got = [verifier.verify(q, refs) for q in queries]
    assert len(decodes()) == 5 + 6  # the queries only: each reference was decoded once
    # one SVM run per query (its 5 pairs), and one for the references' 20 pairs, ever
    assert len(agreement_runs) == 6 + 1
    assert sorted(len(run[0]) for run in agreement_runs) == [5] * 6 + [5 * 4]
    for g, e in zip(got, expected):
        assert g.label == e.label and g.score == pytest.approx(e.score, abs=1e-12)
        assert g.reference_scores == pytest.approx(e.reference_scores, abs=1e-12)
        assert g.details["reference_agreement"] == e.details["reference_agreement"]
        assert g.reference_sources == tuple(str(r) for r in refs)


def test_a_changed_reference_file_is_a_new_reference_and_a_new_set(setup, tmp_path):
    verifier, refs, queries = setup
    first = verifier.verify(queries[0], refs)
    save(refs[0], draw_signature("zigzag"))  # the same path, other bytes: looked up by its hash
    second = verifier.verify(queries[0], refs)
    assert second.details["reference_agreement"] != first.details["reference_agreement"]
    assert len(verifier._agreements) == 2
    fresh = Verifier(verifier.pack).verify(queries[0], refs)
    assert second.score == pytest.approx(fresh.score, abs=1e-12)


def test_the_order_and_the_names_of_the_references_are_kept(setup):
    verifier, refs, queries = setup
    data = [Path(r).read_bytes() for r in refs]
    by_bytes = verifier.verify(queries[1], data, reference_names=[f"#{i}" for i in range(5)])
    assert by_bytes.reference_sources == tuple(f"#{i}" for i in range(5))
    backwards = verifier.verify(queries[1], refs[::-1])
    assert backwards.reference_sources == tuple(str(r) for r in refs[::-1])
    assert backwards.score == pytest.approx(by_bytes.score, abs=1e-9)
    assert np.allclose(backwards.reference_scores, by_bytes.reference_scores[::-1])


def test_an_unreadable_reference_still_says_why(setup, tmp_path):
    from inference.errors import ImageReadError

    verifier, refs, queries = setup
    with pytest.raises(ImageReadError, match="no such file"):
        verifier.verify(queries[0], [*refs[:2], tmp_path / "gone.png"])
