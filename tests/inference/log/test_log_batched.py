"""Recording in groups: staging files (MediaStager), committing many rows at once (commit_staged,
record_results), storing many files together (MediaStore.put_many), and the heatmap PNGs."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import threading

import numpy as np
import pytest
from PIL import Image

from inference.errors import StorageError
from inference.log import InspectionLog, LogQuery, SealFields, StagedInspection, ValidationError
from inference.log.media import MediaStore, PendingFile, decode_heatmap, encode_heatmap
from inference.log.recording import Recorder
from log_helpers import noisy, png_bytes, synthetic_result


def _classified(inspector, seeds):
    """(result, image bytes) for distinct real classifications."""
    out = []
    for seed in seeds:
        data = png_bytes(noisy(seed))
        out.append((inspector.classify(data, name=f"img{seed}.png"), data))
    return out


def _commits(log):
    """Count the COMMITs the log's write connection runs from now on."""
    seen: list[str] = []
    log._conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None)
    return seen


def test_a_staged_group_commits_in_one_transaction_with_all_its_files(inspector, log):
    items = _classified(inspector, range(10))
    staged = log.stager(mode="seal").stage_many(items)
    assert all(isinstance(s, StagedInspection) for s in staged)
    assert log.count() == 0  # staging writes files only
    for s in staged:  # ... and they are on disk, whole, before any row names them
        assert log.media.path(s.image_file.relative).read_bytes() == items[staged.index(s)][1]
        assert hashlib.sha256(log.media.path(s.heatmap_file.relative).read_bytes()).hexdigest() == s.heatmap_file.sha256
    commits = _commits(log)
    ids = log.commit_staged(staged, operator="ana", station="dock 3",
                            seal=SealFields(seal_number="S1", container_number="CSQU3054383"))
    assert len(commits) == 1
    assert ids == list(range(ids[0], ids[0] + 10))
    records = log.query(LogQuery(newest_first=False, limit=None))
    assert [r.id for r in records] == ids
    for rec, (result, data) in zip(records, items):
        assert rec.image_sha256 == result.image_sha256 and rec.label == result.label
        assert rec.operator == "ana" and rec.seal.container_number == "CSQU3054383"
        assert log.stored_image_path(rec).read_bytes() == data
        assert log.heatmap_array(rec).shape == result.heatmap_image().shape  # the image's shape, ≤ 1024 px
    assert log.verify_chain().ok


def test_a_bad_image_fails_alone_and_the_rest_of_the_group_is_recorded(inspector, log):
    items = _classified(inspector, range(4))
    items[2] = (items[2][0], png_bytes(noisy(99)))  # not the image that was classified
    staged = log.stager(mode="general").stage_many(items)
    assert isinstance(staged[2], ValidationError) and "not the image that was inspected" in str(staged[2])
    good = [s for s in staged if isinstance(s, StagedInspection)]
    assert len(log.commit_staged(good)) == 3
    assert log.count() == 3 and log.verify_chain().ok
    with pytest.raises(ValidationError):
        log.stager(mode="general").stage_many(items, stop_at_error=True)


def test_files_staged_but_never_committed_leave_the_log_intact(inspector, log):
    """A crash between the two steps: files without rows, which are harmless and reused."""
    (result, data), = _classified(inspector, [7])
    first = log.stager(mode="general").stage(result, data)
    assert log.count() == 0 and log.verify_chain().ok
    again = log.stager(mode="general").stage(result, data)  # the same files, not rewritten
    assert again.image_file == first.image_file and again.heatmap_file == first.heatmap_file
    (rec_id,) = log.commit_staged([again])
    assert log.get(rec_id).image_file == first.image_file.relative
    assert log.verify_chain().ok


def test_commit_refuses_what_was_staged_for_another_log(inspector, log, tmp_path):
    (result, data), = _classified(inspector, [3])
    with InspectionLog.open(tmp_path / "other" / "log.sqlite3") as other:
        staged = other.stager(mode="general").stage(result, data)
    with pytest.raises(ValidationError, match="another inspection log"):
        log.commit_staged([staged])
    assert log.count() == 0


def test_wrong_details_store_nothing(inspector, log):
    (result, data), = _classified(inspector, [5])
    staged = log.stager(mode="seal").stage(result, data)
    with pytest.raises(ValidationError, match="does not add up"):
        log.commit_staged([staged], seal=SealFields(container_number="CSQU3054384"))
    assert log.count() == 0
    with pytest.raises(ValidationError):  # record_results refuses before writing any file
        log.record_results([result], images=[data], mode="seal", seal=SealFields(container_number="CSQU3054384"))
    assert log.count() == 0 and log.verify_chain().ok


def test_record_results_commits_per_transaction_and_keeps_order(inspector, log):
    items = _classified(inspector, range(7))
    commits = _commits(log)
    ids = log.record_results([r for r, _ in items], images=[d for _, d in items], mode="general", per_transaction=3)
    assert len(commits) == 3  # 3 + 3 + 1
    assert [log.get(i).image_sha256 for i in ids] == [r.image_sha256 for r, _ in items]
    assert log.verify_chain().ok


def test_reads_do_not_wait_for_a_write_in_progress(log):
    log.record_result(synthetic_result(1), mode="general")
    writing, release = threading.Event(), threading.Event()

    def hold_a_write() -> None:
        with log._write("a slow write"):
            writing.set()
            release.wait(30)

    writer = threading.Thread(target=hold_a_write)
    writer.start()
    try:
        assert writing.wait(10)
        got: list[int] = []
        reader = threading.Thread(target=lambda: got.append(log.count()))
        reader.start()
        reader.join(10)
        assert got == [1], "a read waited for the write transaction"
    finally:
        release.set()
        writer.join(10)


def test_recorder_records_a_group_and_reports_each_outcome(inspector, log, tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"{i}.png"
        path.write_bytes(png_bytes(noisy(i)))
        files.append(path)
    results = [inspector.classify(f, name=str(f)) for f in files]
    files[1].write_bytes(png_bytes(noisy(50)))  # changed since it was classified
    recorder = Recorder(log, "general", "ana", "bench")
    outcomes = recorder.record_many(results)
    assert isinstance(outcomes[1], ValidationError)
    assert [isinstance(o, int) for o in outcomes] == [True, False, True, True]
    assert recorder.recorded == [o for o in outcomes if isinstance(o, int)]
    assert log.count() == 3 and log.verify_chain().ok


def test_put_many_stores_each_file_once_and_leaves_no_temporary_files(tmp_path):
    store = MediaStore(tmp_path / "media")
    a, b = b"first file" * 100, b"second file" * 100
    stored = store.put_many([PendingFile("images", a, ".bin"), PendingFile("heatmaps", b, ".png"),
                             PendingFile("images", a, ".bin")])
    assert stored[0] == stored[2] and stored[0].sha256 == hashlib.sha256(a).hexdigest()
    assert store.path(stored[0].relative).read_bytes() == a and store.path(stored[1].relative).read_bytes() == b
    before = store.path(stored[0].relative).stat().st_mtime_ns
    assert store.put_many([PendingFile("images", a, ".bin")]) == [stored[0]]
    assert store.path(stored[0].relative).stat().st_mtime_ns == before  # not rewritten
    assert not [p for p in store.root.rglob(".tmp-*")]


def test_put_many_on_a_full_disk_says_so_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    store = MediaStore(tmp_path / "media")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="disk is full"):
        store.put_many([PendingFile("images", bytes([i]) * 500, ".bin") for i in range(5)])
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def test_heatmap_png_is_a_standard_grayscale_png_at_most_max_px():
    heat = np.random.default_rng(0).random((48, 64)).astype(np.float32)
    heat[0, 0], heat[0, 1], heat[1, 0] = np.nan, -3.0, 7.0
    data = encode_heatmap(heat, 1024)
    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.mode == "L" and img.size == (64, 48)
    expected = np.rint(np.clip(np.nan_to_num(heat, nan=0.0), 0, 1) * 255) / 255
    assert np.abs(decode_heatmap(data) - expected).max() < 1e-6
    big = encode_heatmap(np.ones((1500, 3000), dtype=np.float32), 1024)
    assert decode_heatmap(big).shape == (512, 1024)


def test_classify_log_records_each_model_batch_as_a_group_in_order(packs_dir, tmp_path, monkeypatch):
    import json

    from tilik.cli import main

    monkeypatch.setenv("TILIK_OPERATOR", "night shift")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.png").write_bytes(png_bytes(noisy(i)))
    (folder / "3b.png").write_bytes(b"not an image at all")
    db = tmp_path / "cli.sqlite3"
    out = io.StringIO()
    assert main(["classify", "--pack", "colour", "--json", "--batch-size", "2", "--log", str(db), str(folder)],
                out=out) == 1  # one input failed
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [os.path.basename(x["path"]) for x in lines] == ["0.png", "1.png", "2.png", "3.png", "3b.png", "4.png"]
    assert "error" in lines[4] and all("label" in x for i, x in enumerate(lines) if i != 4)
    with InspectionLog.open(db, read_only=True) as log:
        records = log.query(LogQuery(newest_first=False, limit=None))
        assert [os.path.basename(r.source) for r in records] == ["0.png", "1.png", "2.png", "3.png", "4.png"]
        assert {r.operator for r in records} == {"night shift"}
        assert [r.image_sha256 for r in records] == [x["image_sha256"] for i, x in enumerate(lines) if i != 4]
        assert log.verify_chain().ok
