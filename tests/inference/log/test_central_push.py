"""``tilik log push`` against a real PostgreSQL server: idempotent, resumable, checked on arrival,
forks refused and reported; the station role can only add rows."""

from __future__ import annotations

import psycopg
import pytest

from central_helpers import fill_station, local_rows, rewrite_local, server_rows, station_config
from inference.log import InspectionLog
from inference.log.central.errors import CentralError, ForkError
from inference.log.central.push import push
from inference.log.central.verify import verify_central


def _push(log: InspectionLog, central_db, station: str = "gate-1", **kwargs):
    return push(log.path, log.media_root, station_config(central_db), station, **kwargs)


def test_push_sends_every_row_once_and_a_second_push_is_a_no_op(log, central_db):
    fill_station(log, 25)
    first = _push(log, central_db, batch=10)
    assert first.rows_sent == log.head()[0] == len(local_rows(log.path)) and first.files_sent == 1
    assert (first.head_seq, first.head_hash) == log.head()
    with central_db.admin() as admin:
        assert server_rows(admin, "gate-1") == local_rows(log.path)
        pushes = admin.execute("SELECT count(*) FROM tilik.pushes").fetchone()[0]
        again = _push(log, central_db)
        assert again.rows_sent == 0 and again.files_sent == 0
        assert admin.execute("SELECT count(*) FROM tilik.pushes").fetchone()[0] == pushes  # nothing at all
        # New rows later: only they travel.
        fill_station(log, 3, start=100)
        more = _push(log, central_db)
        assert more.rows_sent == 3 + 4 and more.server_head_before == first.head_seq
        assert server_rows(admin, "gate-1") == local_rows(log.path)
        status = verify_central(admin)
    assert status.ok and status.stations["gate-1"].inspections == 25 + 1 + 3 + 1


def test_push_interrupted_between_batches_resumes_without_gaps_or_duplicates(log, central_db):
    fill_station(log, 40)

    def stop_after_two_batches(sent: int, total: int) -> None:
        if sent >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _push(log, central_db, batch=10, progress=stop_after_two_batches)
    with central_db.admin() as admin:
        assert [r[0] for r in server_rows(admin, "gate-1")] == list(range(1, 21))
        result = _push(log, central_db, batch=10)
        assert result.server_head_before == 20 and result.rows_sent == log.head()[0] - 20
        assert server_rows(admin, "gate-1") == local_rows(log.path)
        assert verify_central(admin).ok


def test_a_station_log_rewritten_after_a_push_is_refused_named_and_reported(log, central_db):
    fill_station(log, 12)
    _push(log, central_db)
    with central_db.admin() as admin:
        before = server_rows(admin, "gate-1")
    log.close()
    edited_seq = rewrite_local(log.path, "inspections", 5, "label", "blue")
    with InspectionLog.open(log.path) as again:
        assert again.verify_chain().ok  # the local chain was recomputed: it looks intact on its own
        again.record_result(__import__("log_helpers").synthetic_result(999), mode="general")
        with pytest.raises(ForkError) as err:
            _push(again, central_db)
    assert err.value.first_differs == edited_seq and "rewritten after a push" in str(err.value)
    assert f"chain position {edited_seq}" in str(err.value)
    with central_db.admin() as admin:
        assert server_rows(admin, "gate-1") == before  # nothing merged
        status = verify_central(admin).stations["gate-1"]
    assert status.ok  # the server's copy is intact; the refusal is on record for the auditor
    assert len(status.refused_pushes) == 1 and status.refused_pushes[0]["first_differs"] == edited_seq


def test_another_log_pushed_under_a_known_station_name_is_refused(log, central_db, tmp_path):
    fill_station(log, 3)
    _push(log, central_db)
    with InspectionLog.open(tmp_path / "other.sqlite3") as other:
        fill_station(other, 3, start=50)
        with pytest.raises(ForkError, match="different log under this station name"):
            _push(other, central_db)


def test_two_stations_share_the_server_and_are_verified_separately(log, central_db, tmp_path):
    fill_station(log, 5)
    with InspectionLog.open(tmp_path / "b.sqlite3") as other:
        fill_station(other, 7, start=20)
        _push(log, central_db, "gate-1")
        _push(other, central_db, "gate-2")
    with central_db.admin() as admin:
        status = verify_central(admin)
    assert status.ok and set(status.stations) == {"gate-1", "gate-2"}
    assert status.stations["gate-2"].inspections == 8


def test_the_station_role_can_insert_and_select_but_never_update_or_delete(log, central_db):
    fill_station(log, 3)
    _push(log, central_db)
    with psycopg.connect(central_db.station_url, password=central_db.station_password, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tilik.evidence").fetchone()[0] == log.head()[0]
        for sql in ("UPDATE tilik.evidence SET doc = doc", "DELETE FROM tilik.evidence",
                    "TRUNCATE tilik.evidence", "UPDATE tilik.media SET data = ''::bytea",
                    "DELETE FROM tilik.pushes", "UPDATE tilik.stations SET genesis_hash = genesis_hash"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        # Inserting by hand is allowed, but only rows that continue the chain: checked on arrival.
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="does not continue the chain"):
            conn.execute("INSERT INTO tilik.evidence (station, seq, tbl, row_id, hash, doc) VALUES "
                         "('gate-1', %s, 'reviews', 99, repeat('a', 64), "
                         "'{\"_table\":\"reviews\",\"id\":99,\"seq\":' || %s || '}')",
                         (log.head()[0] + 1, log.head()[0] + 1))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="not on the server"):
            conn.execute("INSERT INTO tilik.evidence (station, seq, tbl, row_id, hash, doc) VALUES "
                         "('gate-1', 1000, 'reviews', 99, repeat('a', 64), '{\"_table\":\"reviews\",\"id\":99,\"seq\":1000}')")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="SHA-256"):
            conn.execute("INSERT INTO tilik.media (sha256, data) VALUES (repeat('b', 64), 'not that'::bytea)")
    # Even the owner cannot change evidence by accident: the triggers refuse.
    with central_db.admin() as admin:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="evidence"):
            admin.execute("UPDATE tilik.evidence SET doc = doc WHERE seq = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            admin.execute("DELETE FROM tilik.media")


def test_a_locally_damaged_log_is_refused_by_the_server_on_arrival(log, central_db):
    fill_station(log, 6)
    log.close()
    conn = __import__("sqlite3").connect(log.path, isolation_level=None)
    conn.execute("DROP TRIGGER inspections_no_update")
    conn.execute("UPDATE inspections SET label = 'blue' WHERE id = 3")  # no hashes recomputed
    conn.close()
    with InspectionLog.open(log.path) as damaged:
        with pytest.raises(CentralError, match="inspections row 3 .* does not continue the chain"):
            _push(damaged, central_db)
    with central_db.admin() as admin:
        assert server_rows(admin, "gate-1") == []  # the whole batch was refused


def test_awkward_text_travels_byte_for_byte(log, central_db):
    """Tabs, newlines, backslashes, quotes and non-ASCII in a row and in the station's name."""
    rec = log.record_result(__import__("log_helpers").synthetic_result(1), mode="general", operator="Ñoño\\x")
    log.add_review(rec.id, "escalate", by="chief \"Q\"", note="line one\nline\ttwo \\ back ☃ \u00e9")
    station = "Gate\\3\tü"
    _push(log, central_db, station)
    with central_db.admin() as admin:
        assert server_rows(admin, station) == local_rows(log.path)
        status = verify_central(admin, deep=True)
    assert status.ok and station in status.stations


def test_images_and_heatmaps_travel_in_bounded_chunks(log, inspect, central_db, monkeypatch):
    import inference.log.central.push as push_module

    records = [inspect(i) for i in range(6)]
    assert all(r.image_file and r.heatmap_file for r in records)
    monkeypatch.setattr(push_module, "MEDIA_CHUNK_BYTES", 1)  # one file per round trip
    result = _push(log, central_db)
    with central_db.admin() as admin:
        stored = {sha: bytes(data) for sha, data in admin.execute("SELECT sha256, data FROM tilik.media")}
        status = verify_central(admin)
    assert result.files_sent == len(stored) == 12
    for rec in records:
        assert stored[rec.image_file_sha256] == log.stored_image_path(rec).read_bytes()
        assert stored[rec.heatmap_sha256] == log.heatmap_path(rec).read_bytes()
    assert status.ok and status.stations["gate-1"].files_checked == 12
