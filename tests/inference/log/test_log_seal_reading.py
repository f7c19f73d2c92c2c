"""Issue 26 in the log: what was read off a seal photo, what the inspector confirmed, whether
they changed it; and a log of today's release (v2) upgrades with its rows' hashes unchanged."""

from __future__ import annotations

import sqlite3

from inference.log import InspectionLog, SealFields
from inference.log.schema import MIGRATIONS
from log_helpers import noisy, png_bytes


def _columns(path, record_id):
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM inspections WHERE id = ?", (record_id,)).fetchone())
    finally:
        conn.close()


def test_reading_confirmed_unchanged(inspect, log, log_path):
    seal = SealFields(seal_number="0048213", container_number="CSQU 305438 3", read_container_number="CSQU3054383",
                      read_seal_number="0048213", read_confirmed=True)
    rec = inspect(1, mode="seal", seal=seal)
    row = _columns(log_path, rec.id)
    assert (row["ocr_container_number"], row["ocr_container_check"], row["ocr_seal_number"]) == \
        ("CSQU3054383", "valid", "0048213")
    assert (row["ocr_confirmed"], row["ocr_container_changed"], row["ocr_seal_changed"]) == (1, 0, 0)
    got = log.get(rec.id).seal
    assert (got.read_container_number, got.read_seal_number, got.read_confirmed) == ("CSQU3054383", "0048213", True)
    assert log.verify_chain().ok


def test_inspector_changed_what_was_read(inspect, log_path):
    # Read with a wrong check digit (never corrected); the inspector typed the right number and a
    # different seal number: both recorded as changed, the reading kept as it was read.
    seal = SealFields(seal_number="0048218", container_number="CSQU3054383", read_container_number="CSQU3054384",
                      read_seal_number="0048213", read_confirmed=True)
    row = _columns(log_path, inspect(2, mode="seal", seal=seal).id)
    assert (row["ocr_container_number"], row["ocr_container_check"]) == ("CSQU3054384", "bad-check-digit")
    assert (row["container_number"], row["container_check"]) == ("CSQU3054383", "valid")
    assert (row["ocr_container_changed"], row["ocr_seal_changed"]) == (1, 1)


def test_unconfirmed_reading_and_nothing_read(inspect, log_path):
    row = _columns(log_path, inspect(3, mode="seal", seal=SealFields(
        read_seal_number="77120", read_confirmed=False)).id)
    assert row["ocr_confirmed"] == 0 and row["ocr_seal_number"] == "77120" and row["ocr_seal_changed"] == 1
    assert row["ocr_container_number"] is None and row["ocr_container_changed"] is None
    plain = _columns(log_path, inspect(4, mode="seal", seal=SealFields(seal_number="123456")).id)
    assert all(plain[c] is None for c in ("ocr_container_number", "ocr_seal_number", "ocr_confirmed",
                                          "ocr_container_changed", "ocr_seal_changed"))


def test_v2_log_upgrades_with_hashes_unchanged(inspector, tmp_path):
    db = tmp_path / "v2.sqlite3"
    v2 = MIGRATIONS[1].version
    with InspectionLog.open(db, _schema_version=v2) as old:
        data = png_bytes(noisy(9))
        rec = old.record_result(inspector.classify(data), image=data, mode="seal",
                                seal=SealFields(seal_number="123456", container_number="CSQU3054383"))
    with InspectionLog.open(db) as log:
        assert log.schema_version == MIGRATIONS[-1].version > v2
        again = log.get(rec.id)
        assert again.hash == rec.hash and again.seal.read_container_number is None
        assert log.verify_chain().ok
        data = png_bytes(noisy(10))
        new = log.record_result(inspector.classify(data), image=data, mode="seal",
                                seal=SealFields(read_container_number="CSQU3054383", read_confirmed=True,
                                                container_number="CSQU3054383"))
        assert log.get(new.id).seal.read_confirmed is True
        assert log.verify_chain().ok


def test_csv_export_has_the_reading_columns(inspect, log):
    import csv
    import io

    from inference.log.csv_export import COLUMNS, write_csv

    edited = inspect(5, mode="seal", seal=SealFields(
        seal_number="0048218", container_number="CSQU3054383", read_container_number="CSQU3054384",
        read_seal_number="0048213", read_confirmed=True))
    batch = inspect(6, mode="seal", seal=SealFields(read_container_number="CSQU3054383", read_seal_number="77120"))
    plain = inspect(7, mode="seal", seal=SealFields(seal_number="123456"))
    out = io.StringIO()
    write_csv([log.get(r.id) for r in (edited, batch, plain)], out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {"ocr_container_number", "ocr_container_check", "ocr_seal_number", "ocr_confirmed",
            "ocr_container_changed", "ocr_seal_changed"} <= set(COLUMNS) == set(rows[0])
    cells = [(r["ocr_container_number"], r["ocr_container_check"], r["ocr_seal_number"], r["ocr_confirmed"],
              r["ocr_container_changed"], r["ocr_seal_changed"]) for r in rows]
    # Read with a wrong check digit and edited by the inspector; read in a batch run, shown to
    # nobody (confirmed and changed unknown); nothing read.
    assert cells == [("CSQU3054384", "bad-check-digit", "0048213", "yes", "yes", "yes"),
                     ("CSQU3054383", "valid", "77120", "", "", ""),
                     ("", "", "", "", "", "")]
    assert (rows[1]["container_number"], rows[1]["seal_number"]) == ("", "")  # never stored as the number
