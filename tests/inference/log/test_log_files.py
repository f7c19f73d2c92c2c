"""Issue #22 item 8, the log's files: a log copied alone to read-only media can be read; a plain
SQLite file is never turned into a log; a new log, its WAL/SHM and its media folder are private."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from inference.errors import StorageError
from inference.log import InspectionLog
from log_helpers import noisy, png_bytes
from tilik.cli import main

REPO = Path(__file__).resolve().parents[3]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def plain_sqlite(tmp_path) -> Path:
    db = tmp_path / "customers.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ana')")
    conn.commit()
    conn.close()
    return db


def test_a_plain_sqlite_file_is_refused_and_left_unchanged(plain_sqlite):
    before = _digest(plain_sqlite)
    with pytest.raises(StorageError, match="not a Tilik inspection log .*customers.*did not change it"):
        InspectionLog.open(plain_sqlite)
    assert _digest(plain_sqlite) == before
    assert not plain_sqlite.with_name(plain_sqlite.name + "-wal").exists()
    conn = sqlite3.connect(plain_sqlite)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["customers"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_classify_log_refuses_a_plain_sqlite_file(plain_sqlite, packs_dir, capsys):
    before = _digest(plain_sqlite)
    image = plain_sqlite.with_name("x.png")
    image.write_bytes(png_bytes(noisy(1)))
    code = main(["classify", "--pack", "colour", "--log", str(plain_sqlite), str(image)])
    err = capsys.readouterr().err
    assert code != 0 and "not a Tilik inspection log" in err
    assert _digest(plain_sqlite) == before


def test_an_empty_file_still_becomes_a_log(tmp_path):
    db = tmp_path / "empty.sqlite3"
    db.touch()
    with InspectionLog.open(db) as log:
        assert log.verify_chain().ok


def test_a_new_log_its_wal_shm_and_media_are_private(tmp_path, inspector):
    old = os.umask(0o022)  # a typical umask, which used to leave the log readable by everyone
    try:
        db = tmp_path / "new" / "folder" / "inspections.sqlite3"
        with InspectionLog.open(db) as log:
            data = png_bytes(noisy(3))
            log.record_result(inspector.classify(data), image=data, operator="ana")
            wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
            assert wal.exists() and shm.exists()
            assert (_mode(db), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
            assert _mode(db.parent) == 0o700
            assert _mode(log.media_root) == 0o700
            stored = [p for p in log.media_root.rglob("*") if p.is_file()]
            assert stored and all(_mode(p) == 0o600 for p in stored)
    finally:
        os.umask(old)


# -- read-only media -------------------------------------------------------------------------------
def _read_only_mount_works() -> str | None:
    if not shutil.which("unshare") or sys.platform != "linux":
        return "needs Linux `unshare` to mount a folder read-only without privileges"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount --bind -o ro /tmp /tmp && "
                            "mount -o remount,ro,bind /tmp && ! touch /tmp/.tilik-ro-probe"],
                           capture_output=True, timeout=30)
    return None if probe.returncode == 0 else f"cannot make a read-only mount here: {probe.stderr[:200]!r}"


def _on_read_only_media(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``tilik ARGS`` with ``folder`` mounted read-only (a private mount namespace)."""
    command = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
               f"exec {sys.executable} -m tilik " + " ".join(f"'{a}'" for a in args))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120,
                          env=env, cwd=REPO)


@pytest.fixture
def recorded(tmp_path, inspector):
    db = tmp_path / "station" / "inspections.sqlite3"
    log = InspectionLog.open(db)
    for i in range(3):
        data = png_bytes(noisy(i))
        log.record_result(inspector.classify(data), image=data, operator="ana")
    return db, log


def test_a_log_copied_alone_to_read_only_media_opens_immutable(recorded, tmp_path):
    why = _read_only_mount_works()
    if why:
        pytest.skip(why)
    db, log = recorded
    log.close()  # checkpointed: everything is in the .sqlite3 file
    media = tmp_path / "usb"
    media.mkdir()
    shutil.copy(db, media / db.name)  # the database alone: no -wal, no -shm, no media folder
    before = _digest(media / db.name)
    done = _on_read_only_media(media, "log", "list", "--db", str(media / db.name))
    assert done.returncode == 0, done.stderr
    assert "immutable" in done.stderr and "3 of 3 matching inspections" in done.stdout
    done = _on_read_only_media(media, "log", "verify", "--no-files", "--db", str(media / db.name))
    assert "immutable" in done.stderr and "3 chained rows verified" in done.stdout, done.stdout + done.stderr
    assert _digest(media / db.name) == before and sorted(p.name for p in media.iterdir()) == [db.name]


def test_a_log_copied_with_its_wal_to_read_only_media_is_read_from_a_private_copy(recorded, tmp_path):
    why = _read_only_mount_works()
    if why:
        pytest.skip(why)
    db, log = recorded
    media = tmp_path / "usb"
    media.mkdir()
    # Copied while the station had it open: the newest rows are still in the -wal file.
    shutil.copy(db, media / db.name)
    shutil.copy(db.with_name(db.name + "-wal"), media / (db.name + "-wal"))
    log.close()
    done = _on_read_only_media(media, "log", "list", "--db", str(media / db.name))
    assert done.returncode == 0, done.stderr
    assert "private copy" in done.stderr and "3 of 3 matching inspections" in done.stdout
    assert sorted(p.name for p in media.iterdir()) == [db.name, db.name + "-wal"]
