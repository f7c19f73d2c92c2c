"""Measured reliability: SIGKILL mid-batch, two writers at once, a full disk, a read-only log.

Every check opens the real SQLite file the way an auditor would afterwards: SQLite's integrity
check, every id the writer reported as committed still there, and the hash chain (with every
stored file re-hashed) intact.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from inference.errors import StorageError
from inference.log import InspectionLog, LogQuery
from log_helpers import synthetic_result, writer_command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def _env(packs_dir) -> dict[str, str]:
    env = dict(os.environ)
    env["TILIK_BUNDLED_PACKS_DIR"] = str(packs_dir)
    return env


def _ids(text: str) -> list[int]:
    # Only complete lines: a line cut by the kill was never fully reported.
    return [int(line) for line in text.split("\n")[:-1] if line.strip().isdigit()]


def _check_log(db, reported: list[int]) -> int:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        present = {r[0] for r in conn.execute("SELECT id FROM inspections")}
    finally:
        conn.close()
    missing = sorted(set(reported) - present)
    assert not missing, f"committed inspections lost: {missing[:10]}"
    with InspectionLog.open(db) as log:
        status = log.verify_chain()
    assert status.ok, status.reason
    return len(present)


def _kill_after_first_commit(command, packs_dir, rng) -> tuple[int, str]:
    """Start a writer and SIGKILL it 0.2-1 s after its first commit (timed from the first commit, so
    the kill always lands among writes in progress); returns that first id and what it printed."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(packs_dir), text=True)
    try:
        first = proc.stdout.readline()
        assert first.strip() == "ready", first + proc.stderr.read()
        first_id = proc.stdout.readline()
        assert first_id.strip().isdigit(), first_id + proc.stderr.read()
        time.sleep(rng.uniform(0.2, 1.0))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return int(first_id), out


def test_sigkill_mid_batch_loses_nothing_committed(packs_dir, tmp_path):
    db = tmp_path / "crash.sqlite3"
    rng = random.Random(6346)
    reported: list[int] = []
    kills = 0
    for round_no in range(4):
        first_id, out = _kill_after_first_commit(writer_command(db, 100_000, f"round{round_no}"), packs_dir, rng)
        reported.append(first_id)
        kills += 1
        reported.extend(_ids(out))
        rows = _check_log(db, reported)
        # At most one row can be committed but not yet printed when the kill lands.
        assert len(reported) <= rows <= len(reported) + round_no + 1
    assert kills == 4
    print(f"\n4 SIGKILLs survived, {len(reported)} committed inspections all present, chain intact")


def test_sigkill_mid_batched_record_keeps_whole_groups_and_the_chain(packs_dir, tmp_path):
    """The batched path (record_results: a group's files flushed together, then one transaction):
    killed at random moments, every group reported committed is there, no group is there in part,
    every stored file is whole (verify_chain re-hashes them) and the chain is intact."""
    db = tmp_path / "crash-batched.sqlite3"
    rng = random.Random(1717)
    group = 8
    reported: list[int] = []
    for round_no in range(3):
        tag = f"batch{round_no}"
        first_id, out = _kill_after_first_commit(writer_command(db, 100_000, tag, group=group), packs_dir, rng)
        reported.append(first_id)  # the first group has committed
        reported.extend(_ids(out))
        _check_log(db, reported)
        with InspectionLog.open(db, read_only=True) as log:
            stored = log.count(LogQuery(operator=tag))
            assert stored % group == 0, f"a group of {group} was stored in part ({stored} rows)"
            assert stored >= group
    print(f"\n3 SIGKILLs during batched writes: {len(reported)} reported rows present, whole groups only")


def test_two_processes_writing_at_once_lose_nothing(packs_dir, tmp_path):
    db = tmp_path / "shared.sqlite3"
    InspectionLog.open(db).close()  # created and migrated once, as the app would have done
    n = 40
    go = tmp_path / "go"
    procs = [subprocess.Popen(writer_command(db, n, tag, go), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=_env(packs_dir), text=True) for tag in ("alpha", "beta")]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()  # both start writing at the same instant
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(_ids(out))
    a, b = outputs
    assert len(a) == len(b) == n and not set(a) & set(b)
    assert _check_log(db, a + b) == 2 * n
    with InspectionLog.open(db) as log:
        assert log.count(LogQuery(operator="alpha")) == n and log.count(LogQuery(operator="beta")) == n
        # Interleaved, not one after the other: both really wrote at the same time.
        order = [r.operator for r in log.query(LogQuery(newest_first=False, limit=None))]
        switches = sum(1 for x, y in zip(order, order[1:]) if x != y)
    assert switches >= 2, "the two writers never overlapped"


def test_disk_full_is_a_clear_error_and_nothing_partial(log, inspect):
    first = inspect(1)
    conn = log._conn  # the connection the log writes with: limit its size like a full disk would
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    before = log.count()
    with pytest.raises(StorageError) as info:
        for i in range(2000):  # rows of a few hundred bytes: the page fills within a handful
            log.record_results([synthetic_result(i) for _ in range(50)], mode="general", per_transaction=50)
    assert "disk" in str(info.value).lower() and "full" in str(info.value).lower()
    after = log.count()
    assert (after - before) % 50 == 0, "a batch was partly stored"
    # Still usable for reading, and the chain is whole.
    assert log.get(first.id).label == first.label
    assert log.verify_chain().ok
    assert log.integrity_check() == "ok"
    # Space comes back: writing works again on the same object.
    conn.execute("PRAGMA max_page_count = 1073741823")
    again = log.record_result(synthetic_result(99_999), mode="general")
    assert log.get(again.id).id == again.id and log.verify_chain().ok


def test_read_only_log_is_a_clear_error_and_reads_still_work(log, log_path, inspect, tmp_path):
    rec = inspect(1)
    inspect(2)
    log.close()
    copy = tmp_path / "copy" / "inspections.sqlite3"
    shutil.copytree(log_path.parent, copy.parent)
    with InspectionLog.open(copy, read_only=True) as ro:
        with pytest.raises(StorageError, match="read-only"):
            ro.record_result(synthetic_result(5), mode="general")
        with pytest.raises(StorageError, match="read-only"):
            ro.add_review(rec.id, "confirm", by="sup")
        assert ro.count() == 2 and ro.get(rec.id).hash == rec.hash
        assert ro.verify_chain().ok
    # SQLite itself refusing the write (as for a file without write permission) maps the same way.
    with InspectionLog.open(copy) as rw:
        rw._conn.execute("PRAGMA query_only = ON")
        with pytest.raises(StorageError, match="read-only"):
            rw.record_result(synthetic_result(6), mode="general")
        assert rw.count() == 2 and rw.verify_chain().ok


def test_media_folder_unwritable_stores_no_row(log, inspect):
    inspect(1)
    shutil.rmtree(log.media.root)
    log.media.root.write_text("not a folder")  # any write under it now fails like a broken disk
    with pytest.raises(StorageError):
        inspect(2)
    assert log.count() == 1
    log.media.root.unlink()
    status = log.verify_chain()  # the first row's image went with the folder: verify must say so
    assert not status.ok and status.first_broken_id == 1 and "missing" in status.reason
