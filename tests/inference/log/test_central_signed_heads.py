"""The central copy keeps and verifies the stations' signed heads (issue #27 x #22), against a real
PostgreSQL server: a push sends the station's public keys and the signed head with its last batch
(idempotently; a head that does not verify locally is never sent); ``verify --central`` checks every
signature with the recorded key and names a server-side edit of a head, a key or the chain under
them; both tables are append-only for every role."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central_helpers import fill_station, station_config
from inference.log import InspectionLog, chain
from inference.log.central import push as push_module
from inference.log.central.errors import CentralError
from inference.log.central.push import push
from inference.log.central.schema import MIGRATIONS, migrate, server_version
from inference.log.central.verify import verify_central
from inference.log.schema import GENESIS_HASH
from inference.log.signing import StationKey, key_id_of
from log_helpers import synthetic_result


def _push(log: InspectionLog, central_db, station: str = "gate-1", **kwargs):
    return push(log.path, log.media_root, station_config(central_db), station, **kwargs)


def _heads(admin, station: str = "gate-1") -> list[tuple]:
    return [tuple(r) for r in admin.execute("SELECT seq, hash, key_id, signer, time_utc, signature FROM tilik.signed_heads "
                                            "WHERE station = %s ORDER BY seq", (station,))]


def _local_head(path) -> tuple:
    conn = sqlite3.connect(path)
    try:
        return tuple(conn.execute("SELECT seq, hash, sig_key_id, sig_station, sig_time_utc, sig_value FROM chain_head"
                                  ).fetchone())
    finally:
        conn.close()


def test_push_sends_the_keys_and_the_signed_head_once_and_verify_checks_them(log, central_db):
    fill_station(log, 6)
    key = StationKey.load()
    assert key is not None
    first = _push(log, central_db)
    assert first.signed_head_sent and first.signed_key_id == key.key_id
    with central_db.admin() as admin:
        assert _heads(admin) == [_local_head(log.path)]
        keys = admin.execute("SELECT key_id, algorithm, public_key FROM tilik.station_keys WHERE station = 'gate-1'"
                             ).fetchall()
        assert [tuple(k) for k in keys] == [(key.key_id, "ed25519", key.public_key_hex)]
        counts = admin.execute("SELECT (SELECT count(*) FROM tilik.signed_heads), (SELECT count(*) FROM "
                               "tilik.station_keys), (SELECT count(*) FROM tilik.pushes)").fetchone()
        again = _push(log, central_db)
        assert again.rows_sent == 0 and not again.signed_head_sent
        assert admin.execute("SELECT (SELECT count(*) FROM tilik.signed_heads), (SELECT count(*) FROM "
                             "tilik.station_keys), (SELECT count(*) FROM tilik.pushes)").fetchone() == counts
        log.record_result(synthetic_result(77), mode="general")
        more = _push(log, central_db)
        assert more.rows_sent == 1 and more.signed_head_sent
        assert [h[0] for h in _heads(admin)] == [first.head_seq, log.head()[0]]
        assert admin.execute("SELECT count(*) FROM tilik.station_keys").fetchone()[0] == 1  # known keys not resent
        status = verify_central(admin)
    st = status.stations["gate-1"]
    assert status.ok and st.signed_head.ok and st.signed_head.checked == 2
    assert status.as_json()["stations"]["gate-1"]["signed_head"] == {
        "seq": log.head()[0], "key_id": key.key_id, "ok": True, "heads_checked": 2, "problem": None}


def test_the_signed_head_travels_in_the_same_transaction_as_the_last_batch(log, central_db):
    fill_station(log, 30)

    def stop_after_one_batch(sent: int, total: int) -> None:
        if sent >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _push(log, central_db, batch=10, progress=stop_after_one_batch)
    with central_db.admin() as admin:
        assert _heads(admin) == []  # a partial push carries no head: the head covers rows not yet there
        result = _push(log, central_db, batch=10)
        assert result.signed_head_sent and _heads(admin)[0][0] == log.head()[0]
        # Same transaction id: the head arrived with the rows it covers, never without them.
        head_xmin = admin.execute("SELECT xmin::text FROM tilik.signed_heads").fetchone()[0]
        last_push_xmin = admin.execute("SELECT xmin::text FROM tilik.pushes ORDER BY id DESC LIMIT 1").fetchone()[0]
        assert head_xmin == last_push_xmin
        assert verify_central(admin).ok


def test_a_head_whose_signature_does_not_verify_locally_is_not_pushed(log, central_db):
    fill_station(log, 4)
    log.close()
    conn = sqlite3.connect(log.path, isolation_level=None)
    sig = conn.execute("SELECT sig_value FROM chain_head").fetchone()[0]
    conn.execute("UPDATE chain_head SET sig_value = ?", (("0" if sig[0] != "0" else "1") + sig[1:],))
    conn.close()
    with pytest.raises(CentralError, match="does not verify on this computer, so nothing was pushed"):
        push(log.path, log.media_root, station_config(central_db), "gate-1")
    with central_db.admin() as admin:
        assert admin.execute("SELECT count(*) FROM tilik.evidence").fetchone()[0] == 0
        assert admin.execute("SELECT count(*) FROM tilik.stations").fetchone()[0] == 0


def test_a_log_made_before_signing_pushes_its_rows_without_a_head(tmp_path, central_db):
    with InspectionLog.open(tmp_path / "old.sqlite3", _schema_version=2) as old:  # released today (MIGRATIONS[:2])
        old.record_results([synthetic_result(i) for i in range(3)], mode="general")
        result = _push(old, central_db, "old-gate")
    assert result.rows_sent == 3 and result.signed_key_id is None and not result.signed_head_sent
    with central_db.admin() as admin:
        status = verify_central(admin)
    assert status.ok and status.as_json()["stations"]["old-gate"]["signed_head"] is None


def test_a_server_upgraded_from_v1_receives_the_head_of_rows_pushed_before(log, central_db, monkeypatch):
    """Rows pushed to a version-1 server (which kept no heads); after `central migrate` the next
    push, with no rows left to send, sends the keys and the signed head."""
    fill_station(log, 5)
    fresh = "tilik_censig_v1"
    with central_db.admin() as admin:
        admin.execute(f'CREATE DATABASE "{fresh}"')
    url = central_db.admin_url.replace(f"/{central_db.dbname}?", f"/{fresh}?")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            assert migrate(conn, target=1) == [1] and server_version(conn) == 1
            with monkeypatch.context() as m:  # what a Tilik of the v1 server's time did: rows only
                m.setattr(push_module, "CURRENT_VERSION", 1)
                m.setattr(push_module.heads, "send", lambda *args: False)
                before = push(log.path, log.media_root, station_config(central_db), "gate-1", conn=conn)
            assert before.rows_sent == log.head()[0]
            assert migrate(conn) == [m.version for m in MIGRATIONS[1:]]
            assert verify_central(conn).as_json()["stations"]["gate-1"]["signed_head"] is None
            after = push(log.path, log.media_root, station_config(central_db), "gate-1", conn=conn)
            assert after.rows_sent == 0 and after.signed_head_sent
            status = verify_central(conn)
            assert status.ok and status.stations["gate-1"].signed_head.seq == log.head()[0]
    finally:
        with central_db.admin() as admin:
            admin.execute(f'DROP DATABASE "{fresh}" WITH (FORCE)')


# -- edits made on the server ----------------------------------------------------------------------
@pytest.fixture
def pushed(log, central_db):
    fill_station(log, 8)
    _push(log, central_db)
    log.record_result(synthetic_result(50), mode="general")
    _push(log, central_db)
    with central_db.admin() as admin:
        assert verify_central(admin).ok
        admin.execute("SET session_replication_role = replica")  # a hostile administrator: triggers off
        yield log, admin


def _broken(admin, deep: bool = False):
    admin.execute("SET session_replication_role = origin")
    status = verify_central(admin, deep=deep)
    st = status.stations["gate-1"]
    assert not status.ok and not st.ok and not st.signed_head.ok
    assert status.as_json()["stations"]["gate-1"]["signed_head"]["ok"] is False
    return st


@pytest.mark.parametrize("column, value", [("hash", "repeat('e', 64)"), ("time_utc", "'2030-01-01T00:00:00Z'"),
                                           ("signer", "'gate 9'"), ("signature", "repeat('0', 128)")])
def test_an_edited_signed_head_is_named(pushed, column, value):
    log, admin = pushed
    seq = _heads(admin)[0][0]
    admin.execute(f"UPDATE tilik.signed_heads SET {column} = {value} WHERE seq = %s", (seq,))
    st = _broken(admin)
    assert st.signed_head.problem_seq == seq
    assert f"signed head of station gate-1 at chain position {seq} does not verify" in st.signed_head.problem
    assert "edited on the server" in st.first_broken["reason"]


def test_an_edited_public_key_is_named(pushed):
    log, admin = pushed
    other = StationKey(Ed25519PrivateKey.generate(), None)
    admin.execute("UPDATE tilik.station_keys SET public_key = %s", (other.public_key_hex,))
    st = _broken(admin)
    assert "public key" in st.signed_head.problem and "edited on the server" in st.signed_head.problem


def test_a_head_signed_by_a_key_not_recorded_for_the_station_is_flagged(pushed, tmp_path):
    """An administrator replaces the newest head with one signed by a key of their own, which is
    not the key recorded for that station (the trigger would refuse it; triggers are off)."""
    log, admin = pushed
    intruder = StationKey.load_or_create(tmp_path / "intruder")
    seq, digest = _heads(admin)[-1][:2]
    forged = intruder.sign_head(seq, digest, "gate 1", "2030-01-01T00:00:00Z")
    admin.execute("UPDATE tilik.signed_heads SET key_id = %s, time_utc = %s, signature = %s WHERE seq = %s",
                  (forged.key_id, forged.time_utc, forged.signature, seq))
    st = _broken(admin)
    assert f"signed by key {intruder.key_id}, which is not recorded for station gate-1" in st.signed_head.problem


def test_a_chain_recomputed_on_the_server_with_its_push_records_is_caught_by_the_signature(pushed):
    """The push records alone cannot catch an administrator who recomputes the chain AND rewrites
    tilik.pushes; the station's signature over its head can: only the station could re-sign it."""
    log, admin = pushed
    rows = admin.execute("SELECT seq, tbl, doc FROM tilik.evidence WHERE station = 'gate-1' ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    new_hash = {}
    for seq, tbl, doc in rows:
        row = json.loads(doc)
        row.pop("_table")
        if tbl == "inspections" and row["id"] == 2:
            row["label"] = "blue"
        prev = new_hash[seq] = chain.row_hash(prev, tbl, row)
        admin.execute("UPDATE tilik.evidence SET doc = %s, hash = %s WHERE seq = %s",
                      (chain.canonical_json(tbl, row), prev, seq))
    for seq, h in new_hash.items():
        admin.execute("UPDATE tilik.pushes SET head_hash = %s WHERE head_seq = %s", (h, seq))
    st = _broken(admin)
    assert st.signed_head.problem_seq == _heads(admin)[0][0]
    assert "is not the row the station signed" in st.signed_head.problem
    assert "chain was rewritten on the server" in st.first_broken["reason"]
    # Re-pointing the signed heads at the new hashes breaks their signatures instead.
    for seq, *_ in _heads(admin):
        admin.execute("SET session_replication_role = replica")
        admin.execute("UPDATE tilik.signed_heads SET hash = %s WHERE seq = %s", (new_hash[seq], seq))
    st = _broken(admin, deep=True)
    assert "does not verify with the station's key" in st.signed_head.problem


def test_deleted_signed_heads_are_flagged(pushed):
    log, admin = pushed
    admin.execute("DELETE FROM tilik.signed_heads")
    st = _broken(admin)
    assert "signed heads were deleted on the server" in st.signed_head.problem


# -- append-only, checked on arrival ---------------------------------------------------------------
def test_keys_and_signed_heads_are_append_only_for_every_role_and_checked_on_arrival(log, central_db):
    fill_station(log, 3)
    _push(log, central_db)
    with psycopg.connect(central_db.station_url, password=central_db.station_password, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tilik.signed_heads").fetchone()[0] == 1
        for table in ("station_keys", "signed_heads"):
            for sql in (f"UPDATE tilik.{table} SET key_id = key_id", f"DELETE FROM tilik.{table}",
                        f"TRUNCATE tilik.{table}"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(sql)
        head = _heads(conn)[0]
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="not the hash of the row"):
            conn.execute("INSERT INTO tilik.signed_heads (station, seq, hash, key_id, signer, time_utc, signature) "
                         "VALUES ('gate-1', %s, repeat('a', 64), %s, 'x', 'now', repeat('0', 128))",
                         (head[0] - 1, head[2]))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="no row of that station"):
            conn.execute("INSERT INTO tilik.signed_heads (station, seq, hash, key_id, signer, time_utc, signature) "
                         "VALUES ('gate-1', 9999, repeat('a', 64), %s, 'x', 'now', repeat('0', 128))", (head[2],))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="is not recorded for that station"):
            conn.execute("INSERT INTO tilik.signed_heads (station, seq, hash, key_id, signer, time_utc, signature) "
                         "SELECT station, seq, hash, 'ffffffffffffffff', 'x', 'now', repeat('0', 128) "
                         "FROM tilik.evidence WHERE station = 'gate-1' AND seq = %s", (head[0] - 1,))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="not the id of the public key"):
            conn.execute("INSERT INTO tilik.station_keys (station, key_id, algorithm, public_key, signer, first_seq, "
                         "registered) VALUES ('gate-1', '0123456789abcdef', 'ed25519', repeat('1', 64), 'x', 1, 'now')")
    with central_db.admin() as admin:  # the owner too: the triggers refuse
        for table in ("station_keys", "signed_heads"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="evidence"):
                admin.execute(f"DELETE FROM tilik.{table}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                admin.execute(f"UPDATE tilik.{table} SET station = station")
        pub = admin.execute("SELECT public_key FROM tilik.station_keys").fetchone()[0]
        assert key_id_of(bytes.fromhex(pub)) == StationKey.load().key_id
