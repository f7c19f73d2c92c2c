"""The log's API on real files: recording, domain fields, reviews, queries, storage policy,
signature references, and the ``tilik classify --log`` hook."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image

from inference.errors import StorageError
from inference.log import (
    InspectionLog,
    LogQuery,
    RecordNotFoundError,
    SealFields,
    SignatureFields,
    SkinFields,
    ValidationError,
)
from inference.log.schema import CURRENT_VERSION
from log_helpers import noisy, png_bytes, synthetic_result


def test_open_sets_up_a_durable_database(log, log_path):
    conn = sqlite3.connect(log_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
    conn.close()
    assert log._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert log._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert log._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_default_path_comes_from_tilik_db(monkeypatch, tmp_path):
    monkeypatch.setenv("TILIK_DB", str(tmp_path / "elsewhere.sqlite3"))
    with InspectionLog.open() as log:
        assert log.path == tmp_path / "elsewhere.sqlite3"
    assert (tmp_path / "elsewhere.sqlite3").exists()


def test_record_keeps_everything_needed_to_trace_a_verdict(inspector, log):
    data = png_bytes(noisy(7))
    result = inspector.classify(data, name="door7.png")
    rec = log.record_result(result, image=data, operator="ana", station="dock 3")
    assert rec.id == 1 and rec.seq == 1 and len(rec.hash) == 64
    assert rec.mode == "general"  # the colour pack's mode, found from its manifest
    assert (rec.label, rec.confidence, dict(rec.probabilities)) == (
        result.label, pytest.approx(result.confidence), pytest.approx(dict(result.probabilities)))
    assert rec.pack_sha256 == result.pack_sha256 and rec.provider == "CPU"
    assert rec.image_sha256 == hashlib.sha256(data).hexdigest() == rec.image_file_sha256
    assert rec.image_kind == "original" and log.stored_image_path(rec).read_bytes() == data
    assert log.image_path(rec.image_sha256) == log.stored_image_path(rec)
    heat = log.heatmap_array(rec)
    assert heat is not None and heat.shape == (24, 32) and 0.0 <= heat.min() <= heat.max() <= 1.0
    assert rec.time_utc.tzinfo is not None and abs(rec.time_utc - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert rec.time_local.utcoffset() == timedelta(minutes=rec.utc_offset_min)
    again = log.get(rec.id)
    assert again == rec


def test_one_file_per_distinct_image(inspector, log):
    data = png_bytes(noisy(3))
    result = inspector.classify(data)
    a = log.record_result(result, image=data)
    b = log.record_result(result, image=data)
    assert a.image_file == b.image_file and a.id != b.id
    assert len(list((log.media_root / "images").rglob("*.png"))) == 1


def test_camera_frames_are_stored_losslessly(inspector, log):
    frame = noisy(11)
    rec = log.record_result(inspector.classify(frame), image=frame)
    assert rec.image_file.endswith(".png")
    assert np.array_equal(log.image_array(rec), frame)
    assert log.image_path(rec.image_sha256) == log.stored_image_path(rec)


def test_the_image_must_be_the_inspected_one(inspector, log):
    result = inspector.classify(png_bytes(noisy(1)))
    with pytest.raises(ValidationError, match="not the image that was inspected"):
        log.record_result(result, image=png_bytes(noisy(2)))
    assert log.count() == 0


def test_skin_keeps_only_a_thumbnail_and_no_source_by_default(inspector, log):
    big = np.asarray(Image.fromarray(noisy(5)).resize((800, 600)))
    data = png_bytes(big)
    rec = log.record_result(inspector.classify(data, name="/clinic/Jane Doe/lesion.png"), image=data,
                            mode="skin", skin=SkinFields(patient_ref="P-0042", body_site="left forearm"))
    assert rec.image_kind == "thumbnail" and rec.source is None
    with Image.open(log.stored_image_path(rec)) as thumb:
        assert max(thumb.size) == 256
    assert rec.image_sha256 == hashlib.sha256(data).hexdigest()  # still tied to the exact input
    assert rec.skin == SkinFields("P-0042", "left forearm")
    assert max(log.heatmap_array(rec).shape) <= 256
    # The policy is a setting; changing it is itself recorded.
    log.set_setting("thumbnails_only_modes", [], by="dpo")
    full = log.record_result(inspector.classify(data), image=data, mode="skin")
    assert full.image_kind == "original"
    assert log.setting_history("thumbnails_only_modes")[-1]["changed_by"] == "dpo"
    assert log.verify_chain().ok


def test_settings_are_checked(log):
    assert log.get_setting("thumbnail_px") == 256
    assert log.get_setting("nothing-here", "fallback") == "fallback"
    with pytest.raises(ValidationError):
        log.set_setting("thumbnails_only_modes", ["faces"])
    with pytest.raises(ValidationError):
        log.set_setting("thumbnail_px", 5)
    log.set_setting("thumbnail_px", 320)
    log.set_setting("thumbnail_px", 320)  # unchanged: no new row
    assert log.get_setting("thumbnail_px") == 320 and len(log.setting_history("thumbnail_px")) == 1


def test_seal_fields_and_container_check_digit(inspect, log):
    seal = SealFields(seal_number=" ab123456 ", container_number="csqu 305438 3", seal_class="high-security",
                      view=True, verify=True, tug=True, twist=False)
    rec = inspect(1, mode="seal", seal=seal)
    assert rec.seal.container_number == "CSQU3054383" and rec.container_check == "valid"
    assert rec.seal.seal_number == "AB123456" and rec.seal.twist is False and rec.seal.seal_class == "high-security"
    with pytest.raises(ValidationError, match="should be 3"):
        inspect(2, mode="seal", seal=SealFields(container_number="CSQU3054384"))
    assert log.count() == 1
    confirmed = inspect(3, mode="seal", seal=SealFields(container_number="CSQU3054384", container_check_confirmed=True))
    assert confirmed.container_check == "bad-check-digit" and confirmed.seal.container_check_confirmed
    with pytest.raises(ValidationError, match="Seal class"):
        inspect(4, mode="seal", seal=SealFields(seal_class="sticker"))
    with pytest.raises(ValidationError, match="belong to 'seal'"):
        inspect(5, mode="general", seal=SealFields(seal_number="X1"))
    assert log.query(LogQuery(container_number="CSQU 305438 3"))[0].id == rec.id
    assert log.query(LogQuery(seal_number="ab123456"))[0].id == rec.id


def test_reviews_sit_beside_the_verdict_never_over_it(inspect, log):
    rec = inspect(1, colour="red")
    assert rec.label == "red"
    with pytest.raises(ValidationError, match="needs a note"):
        log.add_review(rec.id, "overturn", by="sup", corrected_label="green")
    with pytest.raises(ValidationError, match="not a class"):
        log.add_review(rec.id, "overturn", by="sup", note="x", corrected_label="purple")
    with pytest.raises(ValidationError, match="who"):
        log.add_review(rec.id, "confirm", by=" ")
    with pytest.raises(RecordNotFoundError):
        log.add_review(999, "confirm", by="sup")
    first = log.add_review(rec.id, "escalate", by="sup", note="cannot tell from this photo")
    second = log.add_review(rec.id, "overturn", by="chief", note="it is green on site", corrected_label="green")
    now = log.get(rec.id)
    assert now.label == "red" and now.hash == rec.hash  # the machine's answer is untouched
    assert now.final_label == "green" and now.latest_review == second and now.review_count == 2
    assert [r.id for r in log.reviews(rec.id)] == [first.id, second.id]
    assert log.query(LogQuery(decision="overturn"))[0].id == rec.id
    assert log.count(LogQuery(reviewed=False)) == 0
    # The review records the exact verdict it judged.
    conn = sqlite3.connect(log.path)
    assert conn.execute("SELECT inspection_hash FROM reviews WHERE id = ?", (second.id,)).fetchone()[0] == rec.hash
    conn.close()
    with pytest.raises(StorageError):  # the database itself refuses edits too
        with log._write("an edit") as conn:
            conn.execute("UPDATE inspections SET label = 'green' WHERE id = ?", (rec.id,))


def test_query_filters(log):
    log.record_results([synthetic_result(i, "red") for i in range(5)], operator="ana", mode="seal")
    log.record_results([synthetic_result(i, "green", needs_review=True) for i in range(5, 8)], operator="bob",
                       mode="general")
    log.record_result(synthetic_result(8, "blue"), operator="cy", mode="signature",
                      signature=SignatureFields(customer_id="ACC-77", document_ref="cheque 001"))
    assert log.count() == 9
    assert log.count(LogQuery(mode="seal")) == 5
    assert log.count(LogQuery(label="green", needs_review=True)) == 3
    assert log.count(LogQuery(operator="bob")) == 3
    assert log.count(LogQuery(customer_id="ACC-77")) == 1
    assert log.count(LogQuery(text="cheque")) == 1
    assert log.count(LogQuery(text="100%_")) == 0  # LIKE wildcards are literal
    assert log.count(LogQuery(reviewed=False, needs_review=True)) == 3  # the review queue
    newest = log.query(LogQuery(limit=2))
    assert [r.id for r in newest] == [9, 8]
    assert [r.id for r in log.query(LogQuery(limit=2, after_id=8))] == [7, 6]
    assert [r.id for r in log.query(LogQuery(limit=3, offset=1, newest_first=False))] == [2, 3, 4]
    now = datetime.now(timezone.utc)
    assert log.count(LogQuery(start=now - timedelta(hours=1), end=now + timedelta(hours=1))) == 9
    assert log.count(LogQuery(start=now + timedelta(hours=1))) == 0
    assert log.count(LogQuery(end=(now - timedelta(days=1)).date())) == 0
    with pytest.raises(ValidationError):
        log.query(LogQuery(mode="faces"))


def test_signature_references_are_retired_not_deleted(inspector, log):
    sig = png_bytes(noisy(40))
    ref = log.enrol_reference("ACC-1", sig, enrolled_by="teller 4", source_document="account opening form 2019")
    other = log.enrol_reference("ACC-1", noisy(41), enrolled_by="teller 4", source_document="ID card")
    assert [r.id for r in log.references("ACC-1")] == [ref.id, other.id]
    assert log.stored_image_path(ref).read_bytes() == sig
    with pytest.raises(ValidationError, match="why"):
        log.retire_reference(ref.id, by="manager", why="")
    retired = log.retire_reference(ref.id, by="manager", why="customer signs differently since 2023")
    assert retired.retired and retired.retired_by == "manager"
    with pytest.raises(ValidationError, match="already retired"):
        log.retire_reference(ref.id, by="manager", why="again")
    assert [r.id for r in log.references("ACC-1")] == [other.id]
    assert [r.id for r in log.references("ACC-1", include_retired=True)] == [ref.id, other.id]
    data = png_bytes(noisy(42))
    result = inspector.classify(data)
    with pytest.raises(ValidationError, match="retired"):
        log.record_result(result, image=data, mode="signature",
                          signature=SignatureFields(customer_id="ACC-1", reference_ids=(ref.id,)))
    rec = log.record_result(result, image=data, mode="signature",
                            signature=SignatureFields(customer_id="ACC-1", document_ref="cheque 17",
                                                      reference_ids=(other.id,), score=0.83, threshold=0.7))
    assert rec.signature.reference_ids == (other.id,) and rec.signature.score == pytest.approx(0.83)
    assert log.verify_chain().ok


def test_read_commands_never_create_a_log(tmp_path):
    with pytest.raises(StorageError, match="no inspection log"):
        InspectionLog.open(tmp_path / "typo.sqlite3", create=False)
    with pytest.raises(StorageError, match="no inspection log"):
        InspectionLog.open(tmp_path / "typo.sqlite3", read_only=True)
    assert not (tmp_path / "typo.sqlite3").exists()


def test_not_a_log_is_refused_in_plain_words(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match="damaged or is not a Tilik log"):
        InspectionLog.open(junk)
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA application_id = 12345")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="not a Tilik inspection log"):
        InspectionLog.open(other)


def test_classify_log_records_every_image(packs_dir, tmp_path, monkeypatch):
    from tilik.cli import main

    monkeypatch.setenv("TILIK_OPERATOR", "night shift")
    folder = tmp_path / "imgs"
    folder.mkdir()
    files = []
    for i in range(3):
        path = folder / f"{i}.png"
        path.write_bytes(png_bytes(noisy(i)))
        files.append(path)
    db = tmp_path / "cli.sqlite3"
    assert main(["classify", "--pack", "colour", "--json", "--log", str(db), str(folder)], out=io.StringIO()) == 0
    with InspectionLog.open(db, read_only=True) as log:
        records = log.query(LogQuery(newest_first=False))
        assert len(records) == 3 and {r.operator for r in records} == {"night shift"}
        assert {log.stored_image_path(r).read_bytes() for r in records} == {f.read_bytes() for f in files}
        assert log.verify_chain().ok


def test_a_wrong_label_on_a_pack_with_many_classes_names_the_likeliest_not_all(log):
    """An ImageNet pack has 1,000 classes: the error names the record's five likeliest, not every id."""
    from inference.log.store.reviews import _choices

    class Rec:
        probabilities = {f"n{i:08d}": (0.5 if i == 7 else 0.1 if i == 3 else 0.0001) for i in range(1000)}

    text = _choices(Rec(), list(Rec.probabilities))
    assert text.startswith("one of the pack's 1000 classes") and text.count("n0") == 5
    assert "n00000007, n00000003" in text and len(text) < 200
    assert _choices(Rec(), ["red", "green"]) == "one of: red, green"
