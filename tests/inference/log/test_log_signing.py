"""Issue #22 item 4: "the chain has no key". Each attack from the issue is replayed the way a
person who can write the database but does not hold the station's key would do it: with a plain
SQLite connection (dropping the append-only triggers), recomputing every hash with the published
algorithm. Each one passed ``tilik log verify`` before the head was signed (the chain-only check
below still passes them) and is caught now."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from inference.log import InspectionLog, anchors, chain
from inference.log.schema import GENESIS_HASH, chained_tables
from inference.log.signing import KEY_FILE, StationKey, head_message, key_id_of, station_dir, verify_signature
from inference.log.trust import LogTamperedError, read_signed_head, recorded_keys
from log_helpers import noisy, png_bytes, raw
from tilik.cli import main
from tiny_models import write_pack


@pytest.fixture
def station_log(tmp_path):
    """A log of 5 real inspections (the 4th keeps only a thumbnail), one review, one setting change,
    written by this test's station key."""
    from inference.inspector import Inspector
    from inference.registry import check_pack

    inspector = Inspector(check_pack(write_pack(tmp_path / "packs" / "colour")))
    db = tmp_path / "log" / "inspections.sqlite3"
    with InspectionLog.open(db) as log:
        recs = []
        for i in range(1, 6):
            data = png_bytes(noisy(i))
            recs.append(log.record_result(inspector.classify(data), image=data, operator="ana",
                                          keep_full_image=i != 4))
        log.add_review(recs[1].id, "confirm", by="sup", note="fine")
        log.set_setting("thumbnail_px", 300, by="admin")
    return db, recs


# The edit a forger makes to a verdict: whatever the machine said, the other colour.
FLIP = "CASE label WHEN 'green' THEN 'red' ELSE 'green' END"


def verify(db, *extra: str, capsys) -> tuple[int, str]:
    code = main(["log", "verify", "--db", str(db), *extra])
    return code, capsys.readouterr().out


def untrigger(conn, *tables: str) -> None:
    for table in tables or ("inspections", "reviews", "settings_log"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def rechain(conn) -> None:
    """What a forger without the key does: recompute every hash in seq order and move the head.
    The head's signature is left as it was (they cannot make a new one)."""
    rows = []
    for table in chained_tables(3):
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        rows += [(table, dict(zip(names, r))) for r in cur]
    prev, seq = GENESIS_HASH, 0
    for table, row in sorted(rows, key=lambda tr: tr[1]["seq"]):
        prev = chain.row_hash(prev, table, row)
        seq = row["seq"]
        conn.execute(f"UPDATE {table} SET hash = ? WHERE id = ?", (prev, row["id"]))
    conn.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq, prev))


def chain_only_ok(db: Path) -> bool:
    """The check that existed before signing: the hash chain, files and chain_head."""
    conn = sqlite3.connect(db)
    try:
        return chain.verify(conn, chained_tables(3), db.with_name(db.stem + "-media")).ok
    finally:
        conn.close()


def assert_caught(db, capsys, *words: str) -> str:
    code, out = verify(db, "--no-anchors", capsys=capsys)  # the signature alone, no anchor needed
    assert code == 1, out
    assert "LOG BROKEN" in out
    for word in words:
        assert word in out, out
    return out


# -- the six attacks of item 4, and the truncation through chain_head --------------------------------
def test_edited_verdict_with_chain_recomputed_is_caught(station_log, capsys):
    db, recs = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute(f"UPDATE inspections SET label = {FLIP}, display_label = {FLIP}, verdict = {FLIP} WHERE id = 2")
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)  # passed `tilik log verify` before the head was signed
    assert_caught(db, capsys, "signature does not match the head")


def test_edited_review_with_chain_recomputed_is_caught(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute("UPDATE reviews SET decision = 'escalate', note = 'never confirmed' WHERE id = 1")
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_deleted_and_renumbered_middle_row_is_caught(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    gone = conn.execute("SELECT seq FROM inspections WHERE id = 3").fetchone()[0]
    conn.execute("DELETE FROM inspections WHERE id = 3")
    for table in chained_tables(3):
        conn.execute(f"UPDATE {table} SET seq = seq - 1 WHERE seq > ?", (gone,))
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_forged_overturn_by_chief_is_caught(station_log, capsys):
    db, recs = station_log
    conn = raw(db)
    untrigger(conn)
    head_seq, _ = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
    inspection_hash = conn.execute("SELECT hash FROM inspections WHERE id = 1").fetchone()[0]
    conn.execute("INSERT INTO reviews (id, seq, hash, inspection_id, inspection_hash, time_utc, utc_offset_min, "
                 "decision, reviewer, note, corrected_label, app_version) VALUES (99, ?, '', 1, ?, "
                 "'2026-12-07T10:00:00.000000Z', 0, 'overturn', 'chief', 'tamper mark', 'green', 'tilik 1')",
                 (head_seq + 1, inspection_hash))
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_swapped_thumbnail_with_its_hash_fixed_is_caught(station_log, capsys):
    db, recs = station_log
    conn = raw(db)
    untrigger(conn)
    kind, relative = conn.execute("SELECT image_kind, image_file FROM inspections WHERE id = 4").fetchone()
    assert kind == "thumbnail"
    fake = png_bytes(noisy(77))
    import hashlib

    sha = hashlib.sha256(fake).hexdigest()
    new_relative = str(Path(relative).with_name(sha + Path(relative).suffix))
    (db.with_name(db.stem + "-media") / new_relative).write_bytes(fake)
    conn.execute("UPDATE inspections SET image_file = ?, image_file_sha256 = ? WHERE id = 4", (new_relative, sha))
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_newest_rows_dropped_with_chain_recomputed_is_caught(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute("DELETE FROM settings_log")  # the two newest rows: a setting change and a review
    conn.execute("DELETE FROM reviews")
    rechain(conn)
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_truncation_through_chain_head_alone_is_caught_without_an_anchor(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    seq, _ = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
    conn.execute("DELETE FROM settings_log WHERE seq = ?", (seq,))
    prev = conn.execute("SELECT hash FROM reviews WHERE seq = ?", (seq - 1,)).fetchone()[0]
    conn.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq - 1, prev))  # no hashing at all
    conn.close()
    assert chain_only_ok(db)
    assert_caught(db, capsys, "signature does not match the head")


def test_removing_the_signature_is_caught(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute(f"UPDATE inspections SET label = {FLIP} WHERE id = 1")
    rechain(conn)
    conn.execute("UPDATE chain_head SET sig_value = NULL, sig_key_id = NULL")
    conn.close()
    assert_caught(db, capsys, "NOT signed")


def test_a_forgers_own_key_is_named_on_the_station(station_log, capsys):
    """Recomputing everything and signing with a key of one's own still does not pass on the
    station: its own key is registered in the log, the head is signed by another."""
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute(f"UPDATE inspections SET label = {FLIP} WHERE id = 1")
    rechain(conn)
    forger = StationKey.load_or_create(db.parent / "forger")
    seq, digest = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
    conn.execute("INSERT INTO station_keys VALUES (?, 'ed25519', ?, 'dock 3', '2026-12-07T00:00:00.000000Z', ?)",
                 (forger.key_id, forger.public_key_hex, seq))
    signed = forger.sign_head(seq, digest, "dock 3", "2026-12-07T00:00:00.000000Z")
    conn.execute("UPDATE chain_head SET sig_station = ?, sig_key_id = ?, sig_time_utc = ?, sig_value = ?",
                 (signed.station, signed.key_id, signed.time_utc, signed.signature))
    conn.close()
    out = assert_caught(db, capsys, "NOT by this station's key", forger.key_id)
    assert "--trust-key" in out


# -- what the station does with a tampered log, and the key itself ------------------------------------
def test_a_tampered_log_refuses_new_rows_instead_of_signing_over_them(station_log, tmp_path):
    db, recs = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute(f"UPDATE inspections SET label = {FLIP} WHERE id = 2")
    rechain(conn)
    before = conn.execute("SELECT seq, hash, sig_value FROM chain_head").fetchone()
    conn.close()
    with InspectionLog.open(db) as log:
        with pytest.raises(LogTamperedError, match="changed outside Tilik"):
            log.add_review(recs[0].id, "confirm", by="sup")
        with pytest.raises(LogTamperedError):
            log.set_setting("thumbnail_px", 320, by="admin")
    conn = raw(db)
    assert conn.execute("SELECT seq, hash, sig_value FROM chain_head").fetchone() == before  # nothing stored
    conn.close()


def test_key_is_created_private_at_first_write_and_recorded_in_the_log(tmp_path, capsys):
    folder = station_dir()
    assert not folder.exists()
    db = tmp_path / "log.sqlite3"
    assert main(["log", "list", "--db", str(db)]) != 0  # a read command creates neither log nor key
    assert not folder.exists()
    InspectionLog.open(db).close()
    key = StationKey.load()
    assert key is not None and key.path == folder / KEY_FILE
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    secret = key._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert secret not in db.read_bytes() and secret.hex().encode() not in db.read_bytes()  # kept outside
    conn = sqlite3.connect(db)
    keys = recorded_keys(conn)
    seq, digest, signed = read_signed_head(conn)
    conn.close()
    # What a verifier elsewhere needs is all in the log, in the documented format:
    public_hex, station = keys[key.key_id]
    assert key_id_of(bytes.fromhex(public_hex)) == key.key_id and signed.key_id == key.key_id
    assert verify_signature(public_hex, head_message(seq, digest, signed.station, key.key_id, signed.time_utc),
                            signed.signature)
    assert json.loads(head_message(0, GENESIS_HASH, "s", "k", "t")) == {
        "v": "tilik-head-1", "seq": 0, "hash": GENESIS_HASH, "station": "s", "key_id": "k", "time_utc": "t"}
    capsys.readouterr()
    code, out = verify(db, capsys=capsys)
    assert code == 0 and "THIS station's key" in out and key.key_id in out
    assert main(["log", "key", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["key_id"] == key.key_id and shown["public_key"] == key.public_key_hex


def test_a_key_readable_by_others_is_made_private_again(tmp_path):
    key = StationKey.load_or_create(tmp_path / "k")
    os.chmod(key.path, 0o644)
    again = StationKey.load_or_create(tmp_path / "k")
    assert again.key_id == key.key_id and stat.S_IMODE(key.path.stat().st_mode) == 0o600


def test_another_station_sees_a_recorded_key_and_can_trust_it(station_log, tmp_path, monkeypatch, capsys):
    db, _ = station_log
    mine = StationKey.load()
    monkeypatch.setenv("TILIK_KEY_DIR", str(tmp_path / "auditor"))  # an auditor's computer: no key
    code, out = verify(db, capsys=capsys)
    assert code == 0 and "this computer does not hold it" in out and mine.key_id in out
    code, out = verify(db, "--trust-key", mine.key_id, capsys=capsys)
    assert code == 0 and "a key you trust" in out
    assert not (tmp_path / "auditor").exists()  # verifying never makes a key


def test_a_second_station_writing_the_log_registers_its_key(station_log, tmp_path, monkeypatch, capsys):
    db, recs = station_log
    first = StationKey.load()
    monkeypatch.setenv("TILIK_KEY_DIR", str(tmp_path / "second"))
    with InspectionLog.open(db) as log:
        log.add_review(recs[0].id, "confirm", by="sup")
    second = StationKey.load()
    conn = sqlite3.connect(db)
    assert set(recorded_keys(conn)) == {first.key_id, second.key_id}
    conn.close()
    assert verify(db, capsys=capsys)[0] == 0  # on the second station: its own key
    monkeypatch.setenv("TILIK_KEY_DIR", str(first.path.parent))
    code, out = verify(db, capsys=capsys)  # back on the first: another key took over
    assert code == 1 and "NOT by this station's key" in out
    assert verify(db, "--trust-key", second.key_id, capsys=capsys)[0] == 0


# -- anchors -------------------------------------------------------------------------------------------
def test_close_shift_notes_the_signed_head_and_an_older_copy_is_caught(station_log, tmp_path, capsys):
    db, recs = station_log
    backup = tmp_path / "backup"
    shutil.copytree(db.parent, backup)  # e.g. yesterday's copy, validly signed back then
    with InspectionLog.open(db) as log:
        log.add_review(recs[2].id, "confirm", by="sup")
    out_file = tmp_path / "shift.json"
    assert main(["log", "close-shift", "--db", str(db), "--by", "ana", "--out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads(out_file.read_text())
    assert f"Log head: {saved['seq']}:{saved['hash']}" in printed and saved["signed"]["signature"] in printed
    noted = anchors.load()[0][-1]
    assert noted.kind == "close-shift" and noted.by == "ana" and noted.seq == saved["seq"]
    code, out = verify(db, capsys=capsys)
    assert code == 0 and "recorded anchors checked" in out
    # The attacker puts the older (validly signed) copy back in place of the log:
    shutil.rmtree(db.parent)
    shutil.copytree(backup, db.parent)
    code, out = verify(db, "--no-anchors", capsys=capsys)
    assert code == 0  # the signature alone cannot tell an older signed state...
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "the shift closed by ana" in out and "older copy" in out  # ...the anchor does


def test_close_shift_refuses_a_broken_log_and_notes_nothing(station_log, capsys):
    db, _ = station_log
    conn = raw(db)
    untrigger(conn)
    conn.execute(f"UPDATE inspections SET label = {FLIP} WHERE id = 2")
    conn.close()
    before = anchors.load()[0]
    assert main(["log", "close-shift", "--db", str(db)]) == 1
    assert "NOT CLOSED" in capsys.readouterr().out and anchors.load()[0] == before


def test_exports_carry_and_note_the_signed_head(station_log, tmp_path, capsys):
    db, recs = station_log
    with InspectionLog.open(db) as log:
        log.add_review(recs[0].id, "confirm", by="sup")
    csv_out = tmp_path / "out.csv"
    assert main(["log", "export", "--db", str(db), "--format", "csv", str(csv_out)]) == 0
    head = json.loads((tmp_path / "out.csv.head.json").read_text())
    assert main(["log", "dataset", "--db", str(db), "--out", str(tmp_path / "ds")]) == 0
    assert "noted as an anchor" in capsys.readouterr().out
    ds_head = json.loads((tmp_path / "ds" / "log-head.json").read_text())
    assert head["seq"] == ds_head["seq"] and head["signed"]["key_id"] == StationKey.load().key_id
    kinds = [a.kind for a in anchors.load()[0]]
    assert kinds[-2:] == ["csv", "dataset"]
    # An exported head that the log no longer has is named with the export that noted it:
    conn = raw(db)
    untrigger(conn)
    conn.execute("UPDATE reviews SET note = 'x' WHERE seq = ?", (head["seq"],))
    rechain(conn)
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "the CSV export" in out


def test_upgrading_a_v2_log_signs_it_in_the_same_step(tmp_path, capsys):
    from inference.log.schema import MIGRATIONS, migrate

    db = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, migrations=MIGRATIONS[:2])  # the file the released version makes
    conn.close()
    with InspectionLog.open(db, _schema_version=2) as old:
        old.set_setting("thumbnail_px", 300, by="admin")
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "made before Tilik signed its logs" in out  # unsigned: said plainly
    assert main(["log", "close-shift", "--db", str(db)]) == 0  # opening it for writing upgrades and signs
    capsys.readouterr()
    code, out = verify(db, capsys=capsys)
    assert code == 0 and "THIS station's key" in out
    assert [a.kind for a in anchors.load()[0]] == ["key-registered", "close-shift"]


# -- reviewer names ------------------------------------------------------------------------------------
def test_reviewer_names_are_normalised_and_cannot_hide_characters(station_log):
    from inference.log import ValidationError

    db, recs = station_log
    with InspectionLog.open(db) as log:
        review = log.add_review(recs[0].id, "confirm", by="  Budi\u00a0 Santoso \t")
        assert review.by == "Budi Santoso"
        assert log.add_review(recs[0].id, "confirm", by="Jose\u0301").by == "Jos\u00e9"  # one spelling (NFC)
        for bad in ("chief\u202e", "ch\u200bief", "sup\x07", "---", "x" * 81, "   "):
            with pytest.raises(ValidationError):
                log.add_review(recs[0].id, "confirm", by=bad)
        assert len(log.reviews(recs[0].id)) == 2


def test_a_pdf_report_prints_and_notes_the_signed_head(station_log, tmp_path):
    from gui.report_pdf import _signed_words, export_pdf
    from inference.log import LogQuery

    db, _ = station_log
    out = tmp_path / "report.pdf"
    with InspectionLog.open(db, read_only=True) as log:  # an auditor's read-only export notes it too
        assert export_pdf(log, LogQuery(), out) == 6  # summary + 5
        head = anchors.current_head(log)
    assert out.read_bytes()[:4] == b"%PDF"
    noted = anchors.load()[0][-1]
    assert noted.kind == "pdf" and noted.target == str(out) and (noted.seq, noted.hash) == (head.seq, head.hash)
    assert noted.signed == head.signed and head.signed.key_id == StationKey.load().key_id
    words = _signed_words(head)  # the footer line printed on every page
    assert head.signed.key_id in words and head.signed.signature in words


def test_other_names_in_the_log_are_normalised_too(station_log):
    from inference.log import ValidationError

    db, _ = station_log
    with InspectionLog.open(db) as log:
        log.set_setting("thumbnail_px", 320, by=" Ana \n Admin ")
        assert log.setting_history("thumbnail_px")[-1]["changed_by"] == "Ana Admin"
        ref = log.enrol_reference("ACC-1", png_bytes(noisy(9)), enrolled_by="Teller\u00a0 Ana", source_document="form")
        assert ref.enrolled_by == "Teller Ana"
        with pytest.raises(ValidationError):
            log.retire_reference(ref.id, by="chief\u202e", why="replaced")
