"""Schema migrations: a file made by the first schema upgrades with its evidence intact; a failed
migration leaves the file exactly as it was; a newer file is refused rather than damaged."""

from __future__ import annotations

import sqlite3

import pytest

from inference.errors import StorageError
from inference.log import InspectionLog, SignatureFields
from inference.log.schema import MIGRATIONS, V1, Migration, migrate, user_version
from log_helpers import noisy, png_bytes


def _tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_v1_file_upgrades_with_its_chain_intact(inspector, tmp_path):
    db = tmp_path / "old.sqlite3"
    # A log exactly as the first schema made it (V1 DDL), holding real inspections and a review.
    with InspectionLog.open(db, _schema_version=1) as old:
        assert old.schema_version == 1
        recs = []
        for i in range(3):
            data = png_bytes(noisy(i))
            recs.append(old.record_result(inspector.classify(data), image=data, operator="v1"))
        old.add_review(recs[0].id, "confirm", by="sup")
    assert "signature_references" not in _tables(db)
    conn = sqlite3.connect(db)
    assert user_version(conn) == 1
    conn.close()

    with InspectionLog.open(db) as log:
        assert log.schema_version == MIGRATIONS[-1].version
        assert [log.get(r.id).hash for r in recs] == [r.hash for r in recs]
        assert log.verify_chain().ok
        ref = log.enrol_reference("ACC-9", noisy(50), enrolled_by="teller", source_document="form A")
        data = png_bytes(noisy(60))
        rec = log.record_result(inspector.classify(data), image=data, mode="signature",
                                signature=SignatureFields(customer_id="ACC-9", reference_ids=(ref.id,)))
        status = log.verify_chain()
        assert status.ok and status.checked == 6 and rec.seq == 6
    assert {"signature_references", "reference_retirements"} <= _tables(db)


def test_read_only_open_does_not_upgrade(inspector, tmp_path):
    db = tmp_path / "old.sqlite3"
    InspectionLog.open(db, _schema_version=1).close()
    with InspectionLog.open(db, read_only=True) as log:
        assert log.schema_version == 1 and log.verify_chain().ok
        with pytest.raises(StorageError, match="too old"):
            log.references("ACC-1")
    conn = sqlite3.connect(db)
    assert user_version(conn) == 1
    conn.close()


def test_a_failing_migration_changes_nothing(tmp_path):
    db = tmp_path / "log.sqlite3"
    InspectionLog.open(db).close()
    broken = Migration(len(MIGRATIONS) + 1, "half-written", "CREATE TABLE extra (x INTEGER);\nCREATE TABLE oops (;\n")
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(sqlite3.Error):
        migrate(conn, migrations=(*MIGRATIONS, broken))
    assert user_version(conn) == MIGRATIONS[-1].version
    assert "extra" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    with InspectionLog.open(db) as log:
        assert log.verify_chain().ok


def test_a_newer_log_is_refused_not_damaged(tmp_path):
    db = tmp_path / "future.sqlite3"
    InspectionLog.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer version of Tilik"):
        InspectionLog.open(db)


def test_v1_ddl_is_kept_verbatim():
    # Editing a released migration would make old files upgrade differently from new ones.
    assert MIGRATIONS[0].sql is V1 and MIGRATIONS[0].version == 1
    assert "CREATE TABLE inspections" in V1 and "signature_references" not in V1
