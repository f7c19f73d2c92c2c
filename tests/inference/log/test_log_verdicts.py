"""The verdict model in the log (issue 20): refused rows name no class, cannot be overturned into
one and are never training data; reason codes round-trip; a v2 file upgrades with its chain intact
and its English reasons read back as codes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from inference.log.dataset import export_dataset
from inference.log.models import SkinFields, ValidationError
from inference.log.schema import MIGRATIONS, migrate, user_version
from inference.log.store import InspectionLog
from inference.results import REFUSED, REVIEW, ReviewReason
from inference.wording import headline
from log_helpers import noisy, png_bytes, synthetic_result


def _blank(value: int) -> bytes:
    return png_bytes(np.full((24, 32, 3), value, np.uint8))


def test_a_refused_result_is_stored_as_refused(inspector, log):
    data = _blank(40)
    result = inspector.classify(data, name="lens-cap.png")
    assert result.refused and result.label is None
    rec = log.record_result(result, image=data, mode="skin", skin=SkinFields("P-1", "arm"))
    assert rec.refused and rec.outcome == REFUSED
    assert rec.label is None and rec.confidence is None and rec.display_label == "" and rec.final_label is None
    assert rec.decision.refusal == ReviewReason("blank_image")
    assert rec.verdict == headline(rec.decision) == "Refused: the image is blank"
    raw = sqlite3.connect(log.path).execute(
        "SELECT label, confidence, verdict_outcome, verdict_codes FROM inspections WHERE id = ?", (rec.id,)).fetchone()
    assert raw[:3] == ("", 0.0, "refused") and json.loads(raw[3])["label"] is None
    assert log.verify_chain().ok
    # Reviews can confirm the refusal or escalate it, never turn it into a class.
    with pytest.raises(ValidationError, match="refused"):
        log.add_review(rec.id, "overturn", by="sup", note="it is a mole", corrected_label="red")
    with pytest.raises(ValidationError):
        log.add_review(rec.id, "confirm", by="sup", corrected_label="red")
    log.add_review(rec.id, "confirm", by="sup")
    assert log.get(rec.id).final_label is None


def test_refused_records_are_never_exported_as_training_data(inspector, log, tmp_path):
    kept = inspector.classify(png_bytes(noisy(3)), name="ok.png")
    good = log.record_result(kept, image=png_bytes(noisy(3)))
    bad = log.record_result(inspector.classify(_blank(200)), image=_blank(200))
    for rec in (good, bad):
        log.add_review(rec.id, "confirm", by="sup")
    summary = export_dataset(log, tmp_path / "ds", include_unreviewed=True)
    assert summary.written == 1 and sum(summary.skipped.values()) == 1
    assert any("refused" in why for why in summary.skipped)


def test_reason_codes_round_trip_through_the_log(inspector, log):
    # Red and blue about equal: inside the colour pack's review band, and below its min confidence.
    img = np.zeros((30, 30, 3), np.uint8)
    img[..., 0] = img[..., 2] = 128
    img[..., 1] = np.linspace(0, 30, 30, dtype=np.uint8)[None, :]  # a smooth gradient: a picture, not noise
    data = png_bytes(img)
    result = inspector.classify(data)
    assert result.outcome == REVIEW and result.decision.reasons
    rec = log.record_result(result, image=data)
    assert rec.decision.as_dict() == result.decision.as_dict()  # stored at 6 decimals
    assert rec.review_reasons == result.review_reasons  # the English words, also kept for SQL readers
    again = log.get(rec.id)
    assert [r.as_dict() for r in again.decision.reasons] == [r.as_dict() for r in result.decision.reasons]


def test_v2_file_upgrades_and_reads_old_english_reasons_as_codes(inspector, tmp_path):
    db = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, migrations=MIGRATIONS[:2])  # the schema released today
    conn.close()
    old_reasons = ("uncertain: Malignant probability 17% is inside the review band 3%–32%",
                   "the image does not look like the images this pack was trained on")
    with InspectionLog.open(db, _schema_version=2) as old:
        assert old.schema_version == 2
        # What v2 wrote for a fish photo in skin mode: a class, English reasons, out of domain.
        fish = replace(synthetic_result(1, "malignant", classes=("benign", "malignant"), needs_review=True),
                       pack_id="skin-binary", verdict="Suspicious: refer to a dermatologist — review",
                       review_reasons=old_reasons, out_of_domain=True)
        seal = replace(synthetic_result(2, "damaged", classes=("intact", "damaged")), pack_id="seal-integrity",
                       verdict="Seal looks damaged or tampered: inspect it", review_reasons=())
        recs = [old.record_result(fish, mode="skin", skin=SkinFields("P-9", "leg")),
                old.record_result(seal, mode="seal")]
        old.add_review(recs[1].id, "confirm", by="sup")
    conn = sqlite3.connect(db)
    assert user_version(conn) == 2
    conn.close()

    with InspectionLog.open(db) as log:
        assert log.schema_version == MIGRATIONS[-1].version
        assert [log.get(r.id).hash for r in recs] == [r.hash for r in recs]  # old rows unchanged
        assert log.verify_chain().ok
        fish_rec, seal_rec = log.get(recs[0].id), log.get(recs[1].id)
        # The old fish row reads as the refusal the screen showed, with its reasons as codes.
        assert fish_rec.refused and fish_rec.label is None and fish_rec.final_label is None
        assert headline(fish_rec.decision) == "Refused: not a skin-lesion photo"
        assert [r.code for r in fish_rec.decision.reasons] == ["review_band", "out_of_domain"]
        assert fish_rec.decision.reasons[0].params["p"] == pytest.approx(0.17)
        with pytest.raises(ValidationError):
            log.add_review(fish_rec.id, "overturn", by="sup", note="x", corrected_label="benign")
        assert seal_rec.outcome == "decided" and seal_rec.label == "damaged"
        assert headline(seal_rec.decision) == "Seal looks damaged or tampered: inspect it"
        # New rows chain on after the old ones.
        data = png_bytes(noisy(7))
        log.record_result(inspector.classify(data), image=data)
        assert log.verify_chain().ok
