"""The record stores the manifest's SHA-256 beside the model's (issue 22 item 3): in the log, in
``tilik log show`` (text and JSON) and in the CSV export; a log from before keeps its chain."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3

from inference.log import InspectionLog
from inference.log.schema import CURRENT_VERSION, MIGRATIONS, user_version
from log_helpers import noisy, png_bytes
from tilik.cli import main


def _manifest_sha(packs_dir) -> str:
    return hashlib.sha256((packs_dir / "colour" / "manifest.json").read_bytes()).hexdigest()


def test_result_log_show_and_csv_carry_the_manifest_hash(inspector, packs_dir, log, log_path, tmp_path, capsys):
    expected = _manifest_sha(packs_dir)
    data = png_bytes(noisy(1))
    result = inspector.classify(data)
    assert result.manifest_sha256 == expected and result.to_json_dict()["manifest_sha256"] == expected
    rec = log.record_result(result, image=data)
    assert rec.manifest_sha256 == expected and log.get(rec.id).manifest_sha256 == expected
    assert log.verify_chain().ok
    log.close()
    db = str(log_path)
    assert main(["log", "show", str(rec.id), "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"manifest    sha256 {expected}" in out and f"sha256 {result.pack_sha256}" in out
    assert main(["log", "show", str(rec.id), "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["manifest_sha256"] == expected
    assert main(["log", "export", "--db", db, "--format", "csv", str(tmp_path / "all.csv")]) == 0
    with open(tmp_path / "all.csv", newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["manifest_sha256"] == expected and row["pack_sha256"] == result.pack_sha256


def test_a_v2_log_upgrades_keeps_its_chain_and_old_rows_say_they_have_no_manifest_hash(
        inspector, packs_dir, tmp_path, capsys):
    db = tmp_path / "v2.sqlite3"
    with InspectionLog.open(db, _schema_version=2) as old:  # the schema released today (MIGRATIONS[:2])
        assert old.schema_version == MIGRATIONS[1].version == 2
        data = png_bytes(noisy(2))
        before = old.record_result(inspector.classify(data), image=data)
        assert before.manifest_sha256 is None
    with InspectionLog.open(db) as log:
        assert log.schema_version == CURRENT_VERSION
        assert log.get(before.id).hash == before.hash and log.get(before.id).manifest_sha256 is None
        data = png_bytes(noisy(3))
        after = log.record_result(inspector.classify(data), image=data)
        assert after.manifest_sha256 == _manifest_sha(packs_dir)
        status = log.verify_chain()
        assert status.ok and status.checked == 2
    conn = sqlite3.connect(db)
    assert user_version(conn) == CURRENT_VERSION
    conn.close()
    assert main(["log", "show", str(before.id), "--db", str(db)]) == 0
    assert "recorded before manifests were hashed" in capsys.readouterr().out
