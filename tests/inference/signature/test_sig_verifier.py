"""The Verifier on a tiny real pack (ONNX CNN + skl2onnx SVM built here), and the verify self-test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("sklearn")

from inference.errors import ImageReadError, PackUnusableError, UsageError  # noqa: E402
from inference.registry import PackRegistry, check_pack  # noqa: E402
from inference.signature.preprocess import NoInkError  # noqa: E402
from inference.signature.verifier import Verifier  # noqa: E402
from sig_fixtures import draw_signature, save, write_verify_pack  # noqa: E402


@pytest.fixture(scope="module")
def pack_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sigpacks")
    write_verify_pack(root / "signature-verify")
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sigimgs")
    return {
        "r1": save(d / "r1.png", draw_signature("loops")),
        "r2": save(d / "r2.png", draw_signature("loops", shift=4, width=5)),
        "r3": save(d / "r3.png", draw_signature("loops", shift=-3, background=245)),
        "gen": save(d / "gen.png", draw_signature("loops", shift=2, background=250, ink=40)),
        "forg": save(d / "forg.png", draw_signature("zigzag")),
        "blank": save(d / "blank.png", np.full((80, 160), 250, np.uint8)),
    }


@pytest.fixture(scope="module")
def verifier(pack_root) -> Verifier:
    return Verifier(check_pack(pack_root / "signature-verify"))


def test_genuine_and_forged(verifier, images):
    refs = [images["r1"], images["r2"], images["r3"]]
    g = verifier.verify(images["gen"], refs)
    f = verifier.verify(images["forg"], refs)
    assert g.label == "genuine" and f.label == "forged"
    assert 0.0 <= f.score < g.threshold <= g.score <= 1.0
    assert len(g.reference_scores) == 3 and all(0 <= s <= 1 for s in g.reference_scores)
    assert g.overlay.shape == (64, 64, 3) and g.overlay.dtype == np.uint8
    assert g.heatmap is not None and g.heatmap.shape == (120, 240)  # query image size
    assert g.canvas_heatmap.shape == (64, 64)
    assert set(g.single_image) == {"genuine", "forged"}
    assert g.pack_id == "signature-verify" and g.pack_sha256 and g.provider
    assert g.timings.total_ms > 0 and g.operating_point == "standard"
    row = g.to_json_dict(overlay_path="x.png")
    for key in ("path", "label", "score", "threshold", "reference_scores", "needs_review", "review_reasons",
                "overlay", "timings_ms"):
        assert key in row
    json.dumps(row)


def test_one_reference_needs_review_and_strict_raises_the_bar(verifier, images):
    one = verifier.verify(images["gen"], [images["r1"]])
    assert one.needs_review and any("only 1 reference" in r for r in one.review_reasons)
    assert "20.0%" in one.review_reasons[-1]  # validation EER with 1 vs 3 refs from the manifest
    strict = verifier.verify(images["gen"], [images["r1"], images["r2"], images["r3"]], strict=True)
    assert strict.threshold == 0.8 and strict.operating_point == "strict"


def test_references_that_disagree_are_flagged(verifier, images):
    res = verifier.verify(images["gen"], [images["r1"], images["r2"], images["forg"]])
    assert res.needs_review
    assert any("disagree" in r for r in res.review_reasons)


def test_bad_inputs(verifier, images, tmp_path):
    with pytest.raises(NoInkError):
        verifier.verify(images["blank"], [images["r1"]])
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ImageReadError):
        verifier.verify(bad, [images["r1"]])
    with pytest.raises(UsageError):
        verifier.verify(images["gen"], [])


def test_arrays_and_cache(verifier, images):
    from PIL import Image

    arr = np.asarray(Image.open(images["gen"]).convert("RGB"))
    a = verifier.verify(arr, [images["r1"], images["r2"], images["r3"]])
    b = verifier.verify(images["gen"], [images["r1"], images["r2"], images["r3"]])
    assert a.score == pytest.approx(b.score, abs=1e-6)


def test_for_pack_through_the_registry_and_unusable_packs(pack_root, tmp_path, images):
    v = Verifier.for_pack("signature-verify", registry=PackRegistry([(pack_root, "bundled")]))
    assert v.manifest.task == "verify"
    broken = tmp_path / "packs" / "signature-verify"
    shutil.copytree(pack_root / "signature-verify", broken)
    (broken / "svm.onnx").write_bytes(b"tampered")
    with pytest.raises(PackUnusableError, match="SHA-256"):
        Verifier.for_pack("signature-verify", registry=PackRegistry([(tmp_path / "packs", "bundled")]))
    classify = tmp_path / "classify" / "colour"
    from tiny_models import write_pack

    write_pack(classify)
    with pytest.raises(PackUnusableError, match="not a signature verifier"):
        Verifier(check_pack(classify))


def test_self_test_checker_for_verify_packs(pack_root, images, tmp_path):
    from inference.selftest import CHECKERS, run_self_test

    assert "verify" in CHECKERS
    samples = tmp_path / "samples" / "signature-verify"
    samples.mkdir(parents=True)
    for k in ("r1", "r2", "r3", "gen", "forg"):
        shutil.copy(images[k], samples / images[k].name)
    entries = [{"file": "gen.png", "references": ["r1.png", "r2.png", "r3.png"], "expected": "genuine"},
               {"file": "forg.png", "references": ["r1.png", "r2.png", "r3.png"], "expected": "forged"}]
    (samples / "samples.json").write_text(json.dumps(entries))
    report = run_self_test(models_dir=pack_root, samples_root=tmp_path / "samples")
    assert report.ok, report.text()
    assert report.checks[0].passed == 2


def test_domain_check_refuses_a_photo_and_scores_signatures(tmp_path, images):
    """verify.ood: an image that is mostly "ink" after normalisation (a photo) or whose embedding
    is far from the signatures is refused with a plain reason, as query and as reference; without
    the block nothing is refused, and every result reports its domain scores."""
    from inference.signature.verifier import NotASignatureError

    rng = np.random.default_rng(0)
    photo = save(tmp_path / "photo.png", (rng.random((120, 160)) * 255).astype(np.uint8))
    refs = [images["r1"], images["r2"], images["r3"]]
    plain = Verifier(check_pack(write_verify_pack(tmp_path / "plain")))
    ok = plain.verify(images["gen"], refs)
    scores = ok.details["domain_scores"]
    assert set(scores) == {"ink_fraction", "embedding_norm2"} and 0 < scores["ink_fraction"] < 0.5
    assert ok.to_json_dict()["domain_scores"] == scores
    photo_scores = plain.verify(photo, refs).details["domain_scores"]  # no limits: scored, not refused
    assert photo_scores["ink_fraction"] > 2 * scores["ink_fraction"]

    limit = (scores["ink_fraction"] + photo_scores["ink_fraction"]) / 2
    checked = Verifier(check_pack(write_verify_pack(tmp_path / "checked", ood={"limits": {"ink_fraction": limit}})))
    assert checked.verify(images["gen"], refs).label == ok.label
    with pytest.raises(NotASignatureError, match="query does not look like a signature scan: ink would cover"):
        checked.verify(photo, refs)
    with pytest.raises(NotASignatureError, match="reference does not look like a signature"):
        checked.verify(images["gen"], [photo] + refs)
    with pytest.raises(NotASignatureError):
        checked.load_references([photo])
    assert issubclass(NotASignatureError, ImageReadError)  # the CLI's and the GUI's "bad image" path
    far = Verifier(check_pack(write_verify_pack(
        tmp_path / "far", ood={"limits": {"embedding_norm2": scores["embedding_norm2"] / 2}})))
    with pytest.raises(NotASignatureError, match="far from every signature"):
        far.verify(images["gen"], refs)
    typo = check_pack(write_verify_pack(tmp_path / "typo", ood={"limits": {"ink_share": 0.1}}))
    with pytest.raises(PackUnusableError, match="unknown scores"):
        Verifier(typo)
