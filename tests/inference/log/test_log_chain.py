"""Tamper evidence: every kind of after-the-fact edit is caught by ``tilik log verify``, which
exits 1 and names the first broken row. The tampering is done the way a person would: with a plain
SQLite connection (dropping the append-only triggers first) or by replacing a file."""

from __future__ import annotations

import json
import shutil

import pytest

from inference.log import InspectionLog
from inference.log.chain import canonical_json, row_hash
from inference.log.schema import GENESIS_HASH
from log_helpers import noisy, png_bytes, raw
from tilik.cli import main
from tiny_models import write_pack


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A log of 5 real inspections, one review and one setting change, built once."""
    from inference.inspector import Inspector
    from inference.registry import check_pack

    root = tmp_path_factory.mktemp("template")
    inspector = Inspector(check_pack(write_pack(root / "packs" / "colour")))
    db = root / "log" / "inspections.sqlite3"
    with InspectionLog.open(db) as log:
        recs = []
        for i in range(1, 6):
            data = png_bytes(noisy(i))
            recs.append(log.record_result(inspector.classify(data), image=data, operator="ana"))
        log.add_review(recs[1].id, "confirm", by="sup", note="fine")
        log.set_setting("thumbnail_px", 300, by="admin")
    return db, recs


@pytest.fixture
def sealed(template, tmp_path):
    """A fresh copy of the template log (database and media folder), ready to tamper with."""
    db, recs = template
    shutil.copytree(db.parent, tmp_path / "log")
    return tmp_path / "log" / db.name, recs


def verify(db, *extra: str, capsys) -> tuple[int, str]:
    code = main(["log", "verify", "--db", str(db), *extra])
    return code, capsys.readouterr().out


def untrigger(conn, table: str = "inspections") -> None:
    conn.execute(f"DROP TRIGGER {table}_no_update")
    conn.execute(f"DROP TRIGGER {table}_no_delete")


def test_intact_log_verifies_and_prints_its_head(sealed, capsys):
    db, _ = sealed
    code, out = verify(db, capsys=capsys)
    assert code == 0 and "Log intact: 7 chained rows" in out and "stored files re-hashed" in out
    head = out.split("Head: ")[1].split()[0]
    assert verify(db, "--anchor", head, capsys=capsys)[0] == 0
    code, out = verify(db, "--json", capsys=capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["checked"] == 7 and data["integrity"] == "ok"


def test_edited_row_is_named(sealed, capsys):
    db, recs = sealed
    conn = raw(db)
    untrigger(conn)
    conn.execute("UPDATE inspections SET label = 'blue', confidence = 0.99 WHERE id = 3")
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "inspection 3" in out and "edited" in out


def test_deleted_row_is_detected(sealed, capsys):
    db, _ = sealed
    conn = raw(db)
    untrigger(conn)
    conn.execute("DELETE FROM inspections WHERE id = 3")
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "deleted just before inspection 4" in out


def test_deleting_the_newest_rows_is_detected(sealed, capsys):
    db, _ = sealed
    conn = raw(db)
    untrigger(conn, "settings_log")
    conn.execute("DELETE FROM settings_log")
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "newest rows were deleted" in out


def test_reordered_rows_are_detected(sealed, capsys):
    db, _ = sealed
    conn = raw(db)
    untrigger(conn)
    conn.execute("UPDATE inspections SET seq = -2 WHERE id = 2")
    conn.execute("UPDATE inspections SET seq = 2 WHERE id = 3")
    conn.execute("UPDATE inspections SET seq = 3 WHERE id = 2")
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "inspection 3" in out


def test_swapped_image_is_detected(sealed, capsys):
    db, recs = sealed
    with InspectionLog.open(db, read_only=True) as log:
        path = log.stored_image_path(recs[3])
    path.chmod(0o644)
    path.write_bytes(png_bytes(noisy(999)))  # a perfectly good image, just not the one inspected
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "inspection 4" in out and "replaced" in out
    assert verify(db, "--no-files", capsys=capsys)[0] == 0  # the rows themselves are intact


def test_edited_review_is_named(sealed, capsys):
    db, _ = sealed
    conn = raw(db)
    untrigger(conn, "reviews")
    conn.execute("UPDATE reviews SET decision = 'overturn', corrected_label = 'blue'")
    conn.close()
    code, out = verify(db, capsys=capsys)
    assert code == 1 and "review 1" in out


def test_rewriting_the_whole_chain_is_caught_by_an_anchor(sealed, capsys):
    """Someone who recomputes every hash after an edit fools the chain alone, not a noted head."""
    db, _ = sealed
    _, out = verify(db, capsys=capsys)
    anchor = out.split("Head: ")[1].split()[0]
    conn = raw(db)
    untrigger(conn)
    for table in ("reviews", "settings_log"):
        untrigger(conn, table)
    conn.execute("UPDATE inspections SET label = 'blue' WHERE id = 2")
    rows = []
    for table in ("inspections", "reviews", "settings_log"):
        cur = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        rows += [(table, dict(zip(names, r))) for r in cur]
    prev = GENESIS_HASH
    for table, row in sorted(rows, key=lambda tr: tr[1]["seq"]):
        prev = row_hash(prev, table, row)
        conn.execute(f"UPDATE {table} SET hash = ? WHERE id = ?", (prev, row["id"]))
    conn.execute("UPDATE chain_head SET hash = ?", (prev,))
    conn.close()
    # The forger's chain is self-consistent, but they could not sign its new head (issue #22)...
    code, out = verify(db, "--no-anchors", capsys=capsys)
    assert code == 1 and "signature does not match the head" in out
    code, out = verify(db, "--anchor", anchor, capsys=capsys)
    assert code == 1 and "no longer has the hash you noted" in out  # ...nor fake the noted head


def test_canonical_json_is_deterministic():
    row = {"b": 0.1, "a": 1, "c": None, "d": "é", "hash": "ignored", "e": True}
    text = canonical_json("t", row)
    assert text == '{"_table":"t","a":1,"b":0.1,"d":"é","e":1}'
    assert canonical_json("t", dict(reversed(list(row.items())))) == text
    assert row_hash(GENESIS_HASH, "t", row) == row_hash(GENESIS_HASH, "t", {**row, "hash": "other"})
    with pytest.raises(ValueError):
        canonical_json("t", {"x": float("nan")})


def test_missing_database_is_an_error_not_an_empty_intact_log(tmp_path, capsys):
    code = main(["log", "verify", "--db", str(tmp_path / "nope.sqlite3")])
    assert code == 1 and "no inspection log" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite3").exists()
