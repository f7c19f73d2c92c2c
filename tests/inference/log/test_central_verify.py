"""``verify --central``: an edit made directly on the server (any column of any evidence row), a
deleted row, deleted newest rows, a consistently recomputed chain and a damaged file are each
detected and named."""

from __future__ import annotations

import json

import pytest

from central_helpers import fill_station, station_config
from inference.log import chain
from inference.log.central.push import push
from inference.log.central.verify import verify_central
from inference.log.schema import GENESIS_HASH


@pytest.fixture
def pushed(log, central_db):
    """A station log pushed to the server; yields (log, admin connection with triggers off)."""
    fill_station(log, 10)
    push(log.path, log.media_root, station_config(central_db), "gate-1")
    with central_db.admin() as admin:
        assert verify_central(admin).ok
        admin.execute("SET session_replication_role = replica")  # what a hostile administrator does
        yield log, admin


def _seq_of(admin, table: str, row_id: int) -> int:
    return admin.execute("SELECT seq FROM tilik.evidence WHERE tbl = %s AND row_id = %s", (table, row_id)).fetchone()[0]


def _status(admin):
    """Both ways of verifying (hash over the stored text; and re-encoding every row canonically)
    must name the same first broken row."""
    admin.execute("SET session_replication_role = origin")
    status = verify_central(admin)
    deep = verify_central(admin, deep=True)
    fast_fb, deep_fb = status.stations["gate-1"].first_broken, deep.stations["gate-1"].first_broken
    assert (fast_fb or {}).get("seq") == (deep_fb or {}).get("seq") and status.ok == deep.ok
    return status, status.stations["gate-1"]


def test_an_edited_column_inside_a_row_is_named(pushed):
    log, admin = pushed
    seq = _seq_of(admin, "inspections", 4)
    doc = json.loads(admin.execute("SELECT doc FROM tilik.evidence WHERE seq = %s", (seq,)).fetchone()[0])
    doc["label"] = "blue"
    admin.execute("UPDATE tilik.evidence SET doc = %s WHERE seq = %s",
                  (chain.canonical_json(doc.pop("_table"), doc), seq))
    status, st = _status(admin)
    assert not status.ok and not st.ok
    assert st.first_broken["seq"] == seq and st.first_broken["table"] == "inspections" and st.first_broken["id"] == 4
    assert "inspection 4 of station gate-1" in st.first_broken["reason"] and "edited on the server" in st.first_broken["reason"]
    assert status.as_json()["stations"]["gate-1"]["head"] == f"{st.head_seq}:{st.head_hash}"


@pytest.mark.parametrize("column, value", [("tbl", "'reference_retirements'"), ("station", "'gate-9'"), ("row_id", "row_id + 100"),
                                           ("hash", "repeat('f', 64)"), ("doc", "doc || ' '")])
def test_every_evidence_column_is_covered(pushed, column, value):
    log, admin = pushed
    seq = _seq_of(admin, "reviews", 1)
    admin.execute(f"UPDATE tilik.evidence SET {column} = {value} WHERE seq = %s", (seq,))
    _, st = _status(admin)
    assert not st.ok and st.first_broken["seq"] == seq, st.first_broken


def test_a_changed_position_is_named(pushed):
    log, admin = pushed
    admin.execute("UPDATE tilik.evidence SET seq = 1000 WHERE seq = 3")
    _, st = _status(admin)
    assert not st.ok and st.first_broken["seq"] in (3, 4) and "position 3" in st.first_broken["reason"]


def test_a_deleted_row_is_named(pushed):
    log, admin = pushed
    seq = _seq_of(admin, "inspections", 6)
    admin.execute("DELETE FROM tilik.evidence WHERE seq = %s", (seq,))
    _, st = _status(admin)
    assert not st.ok and f"chain position {seq} of station gate-1 is missing" in st.first_broken["reason"]
    assert st.first_broken["seq"] == seq + 1


def test_deleted_newest_rows_are_caught_by_the_push_record(pushed):
    log, admin = pushed
    head = log.head()[0]
    admin.execute("DELETE FROM tilik.evidence WHERE seq > %s", (head - 2,))
    _, st = _status(admin)
    assert not st.ok and st.first_broken["seq"] == head - 1 and "newest rows were deleted" in st.first_broken["reason"]


def test_a_chain_recomputed_on_the_server_is_caught_by_the_push_record(pushed):
    """An administrator who edits a row and recomputes every later hash makes a chain that holds
    together; the heads recorded at push time no longer match it."""
    log, admin = pushed
    rows = admin.execute("SELECT seq, tbl, doc FROM tilik.evidence WHERE station = 'gate-1' ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    for seq, tbl, doc in rows:
        row = json.loads(doc)
        row.pop("_table")
        if tbl == "inspections" and row["id"] == 2:
            row["label"] = "blue"
        h = chain.row_hash(prev, tbl, row)
        admin.execute("UPDATE tilik.evidence SET doc = %s, hash = %s WHERE seq = %s",
                      (chain.canonical_json(tbl, row), h, seq))
        prev = h
    _, st = _status(admin)
    assert not st.ok and "a push recorded another hash" in st.first_broken["reason"]


def test_a_damaged_file_on_the_server_is_named(pushed):
    log, admin = pushed
    admin.execute("UPDATE tilik.media SET data = data || '\\x00'::bytea")
    _, st = _status(admin)
    assert not st.ok and st.first_broken["table"] == "signature_references"
    assert "replaced or damaged on the server" in st.first_broken["reason"]
    admin.execute("SET session_replication_role = replica")
    admin.execute("DELETE FROM tilik.media")
    _, st = _status(admin)
    assert "is not on the server" in st.first_broken["reason"]


def test_an_edited_station_record_is_named(pushed):
    log, admin = pushed
    admin.execute("UPDATE tilik.stations SET genesis_hash = repeat('0', 64)")
    _, st = _status(admin)
    assert not st.ok and "registered first row" in st.first_broken["reason"]
