"""``tilik verify --log``: every signature check lands in the inspection log with its customer,
document, the enrolled references it used, score and threshold; references enrol once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("skl2onnx")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))

from sig_fixtures import draw_signature, save, write_verify_pack  # noqa: E402

from inference.log import InspectionLog  # noqa: E402
from tilik.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("verify-log-packs")
    write_verify_pack(root / "signature-verify")
    return root


def test_verify_log_records_customer_references_score_and_threshold(bundled, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(bundled))
    refs = [str(save(tmp_path / f"r{i}.png", draw_signature("loops", shift=s))) for i, s in enumerate((0, 4, -3))]
    gen = str(save(tmp_path / "gen.png", draw_signature("loops", shift=2)))
    forg = str(save(tmp_path / "forg.png", draw_signature("zigzag")))
    db = tmp_path / "log.sqlite3"
    args = ["verify", "--reference", *refs, "--log", str(db), "--customer", "ACC-1001", "--document", "CHQ 77",
            "--json", "--", gen, forg]
    assert main(args) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert main(args[:-2] + [gen]) == 0  # a second run reuses the enrolled references
    capsys.readouterr()
    log = InspectionLog.open(db)
    try:
        refs_enrolled = log.references("ACC-1001")
        assert len(refs_enrolled) == 3
        records = [log.get(i) for i in (1, 2, 3)]
        assert [r.mode for r in records] == ["signature"] * 3
        assert [r.label for r in records] == [rows[0]["label"], rows[1]["label"], rows[0]["label"]]
        for rec, row in zip(records, rows):
            assert rec.signature.customer_id == "ACC-1001" and rec.signature.document_ref == "CHQ 77"
            assert rec.signature.score == pytest.approx(row["score"], abs=1e-5)  # the JSON rounds
            assert rec.signature.threshold == pytest.approx(row["threshold"], abs=1e-5)
            assert rec.manifest_sha256 == row["manifest_sha256"] and len(rec.manifest_sha256) == 64
        assert set(records[0].signature.reference_ids) == {r.id for r in refs_enrolled}
        assert records[2].signature.reference_ids == records[0].signature.reference_ids
    finally:
        log.close()
    assert main(["log", "verify", "--db", str(db)]) == 0


def test_a_query_refused_as_not_a_signature_is_logged_as_refused(monkeypatch, tmp_path, capsys):
    """Issue 20: a refusal names no class, so a refused query can be logged (it could not while the
    label column needed a class): no label, no score, refused in History/CSV, never training data."""
    import numpy as np

    from inference.registry import check_pack
    from inference.signature.verifier import Verifier
    from inference.wording import headline

    refs = [str(save(tmp_path / f"r{i}.png", draw_signature("loops", shift=s))) for i, s in enumerate((0, 4, -3))]
    gen = str(save(tmp_path / "gen.png", draw_signature("loops", shift=2)))
    photo = str(save(tmp_path / "photo.png", (np.random.default_rng(0).random((120, 160)) * 255).astype(np.uint8)))
    plain = Verifier(check_pack(write_verify_pack(tmp_path / "plain" / "signature-verify")))
    ink = [plain.verify(q, refs).details["domain_scores"]["ink_fraction"] for q in (gen, photo)]
    packs = tmp_path / "packs"
    write_verify_pack(packs / "signature-verify", ood={"limits": {"ink_fraction": sum(ink) / 2}})
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(packs))
    db = tmp_path / "log.sqlite3"
    code = main(["verify", "--reference", *refs, "--log", str(db), "--customer", "ACC-7", "--json", "--", gen, photo])
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert code == 1 and "error" in rows[1] and "does not look like a signature" in rows[1]["error"]
    with InspectionLog.open(db) as log:
        recs = log.query()
        assert len(recs) == 2
        refused = next(r for r in recs if r.refused)
        assert refused.label is None and refused.confidence is None and refused.signature.customer_id == "ACC-7"
        assert headline(refused.decision) == "Refused: not a signature"
        assert refused.decision.refusal.code == "not_signature"
        assert refused.decision.refusal.params["scores"]["ink_fraction"] > refused.decision.refusal.params[
            "limits"]["ink_fraction"]
        assert log.verify_chain().ok
