"""Batches with the next images prepared in a worker thread (TILIK_PREFETCH) give what serial batches give.

Same results, order and per-item errors on a real folder with a corrupt file in the middle; the look-ahead
is one batch at most; closing early stops the worker; an unexpected exception still propagates.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from PIL import Image

from inference.batching import PREFETCH_ENV, iter_prefetched, iter_serial, prefetch_enabled, prefetch_workers
from inference.errors import ImageReadError, TilikError
from inference.inspector import Inspector
from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, solid, write_pack


def _inspector(tmp_path) -> Inspector:
    model = build_colour_model()
    return Inspector(check_pack(write_pack(tmp_path / "colour", model, manifest=colour_manifest(model))))


def _folder(tmp_path, n=11, corrupt_at=5):
    rng = np.random.default_rng(3)
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for i in range(n):
        path = folder / f"{i:02d}.jpg"
        if i == corrupt_at:
            path.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG after its first bytes")
        else:
            Image.fromarray(rng.integers(0, 256, (40 + 3 * i, 52, 3), dtype=np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def _prepare_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tilik-prepare") and t.is_alive()]


def test_the_switch_reads_the_environment(monkeypatch):
    monkeypatch.delenv(PREFETCH_ENV, raising=False)
    assert prefetch_enabled()
    for off in ("0", "off", "false", "No"):
        monkeypatch.setenv(PREFETCH_ENV, off)
        assert not prefetch_enabled()
    monkeypatch.setenv(PREFETCH_ENV, "1")
    assert prefetch_enabled() and prefetch_workers() == 1


def test_the_worker_count(monkeypatch):
    """Unset or "on": two workers where there are two cores (decoding two photos at once), one on a
    single core; a number is that many workers, at most 8."""
    import os

    two = 2 if (os.cpu_count() or 1) >= 2 else 1
    monkeypatch.delenv(PREFETCH_ENV, raising=False)
    assert prefetch_workers() == two
    for value, want in (("on", two), ("yes", two), ("3", 3), ("64", 8), ("0", 0)):
        monkeypatch.setenv(PREFETCH_ENV, value)
        assert prefetch_workers() == want
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.delenv(PREFETCH_ENV, raising=False)
    assert prefetch_workers() == 1


@pytest.mark.parametrize("as_generator", [False, True])
def test_prefetch_on_and_off_give_identical_items(tmp_path, monkeypatch, as_generator):
    inspector = _inspector(tmp_path)
    paths = _folder(tmp_path)
    runs = {}
    for mode in ("0", "1", "2", "3"):  # serial; one, two and three workers
        monkeypatch.setenv(PREFETCH_ENV, mode)
        images = (p for p in paths) if as_generator else paths
        runs[mode] = inspector.classify_batch(images, batch_size=3)
    serial = runs["0"]
    assert [i.ok for i in serial] == [i != 5 for i in range(len(paths))]
    for a, b in ((a, b) for mode in ("1", "2", "3") for a, b in zip(serial, runs[mode])):
        if a.ok:
            assert b.ok and b.result.label == a.result.label
            assert b.result.probabilities == a.result.probabilities  # equal, not close
            np.testing.assert_array_equal(b.result.heatmap, a.result.heatmap)
        else:
            assert type(b.error) is type(a.error) is ImageReadError and str(b.error) == str(a.error)
    for mode in ("1", "2", "3"):
        assert [i.source for i in runs[mode]] == [i.source for i in serial] == [str(p) for p in paths]
    assert not _prepare_threads()


def _counting(images, pulled):
    for image in images:
        pulled.append(1)
        yield image


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_look_ahead_is_one_batch(tmp_path, monkeypatch, workers):
    inspector = _inspector(tmp_path)
    pulled: list[int] = []
    monkeypatch.setenv(PREFETCH_ENV, workers)
    items = inspector.iter_batch(_counting(itertools.repeat(solid("red"), 50), pulled), batch_size=4)
    first = next(items)
    assert first.ok and first.result.label == "red"
    # The first batch of 4 was run; at most the next 4 have been drawn to prepare meanwhile.
    assert 4 <= len(pulled) <= 8
    items.close()
    assert len(pulled) <= 8 and not _prepare_threads()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_closing_early_stops_the_worker(tmp_path, monkeypatch, workers):
    inspector = _inspector(tmp_path)
    monkeypatch.setenv(PREFETCH_ENV, workers)
    pulled: list[int] = []
    endless = _counting(itertools.cycle([solid("red"), solid("blue")]), pulled)
    seen = []
    for item in inspector.iter_batch(endless, batch_size=2):
        seen.append(item.result.label)
        if len(seen) == 3:
            break  # the for loop drops the generator: it closes, and its worker goes
    assert seen == ["red", "blue", "red"]
    assert not _prepare_threads()
    drawn = len(pulled)
    assert drawn <= 6
    assert next(endless) is not None and len(pulled) == drawn + 1  # nothing else draws from it now


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_exception_in_the_consumer_stops_the_worker(tmp_path, monkeypatch, workers):
    inspector = _inspector(tmp_path)
    monkeypatch.setenv(PREFETCH_ENV, workers)
    items = inspector.iter_batch(itertools.repeat(solid("green"), 100), batch_size=3)
    with pytest.raises(RuntimeError, match="consumer"):
        for item in items:
            raise RuntimeError("the consumer failed")
    items.close()  # what `with closing(...)` does in the CLI and the GUI's batch task
    assert not _prepare_threads()


# -- the iterators alone, with plain functions ------------------------------------------------------

def _prepare(image, label):
    if image == "bad":
        raise ImageReadError(f"{label} is bad")
    if image == "boom":
        raise ValueError("an unexpected failure")
    return image * 10


def _flush(pending, done):
    batch = [p for _, _, p in pending]
    for index, label, p in pending:
        done[index] = (label, p, len(batch))  # the batch size shows that batches are the same
    pending.clear()


def _fail(label, exc: TilikError):
    return (label, None, str(exc))


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_same_batches_and_errors_for_any_size(size):
    images = [1, 2, "bad", 3, 4, "bad", "bad", 5, 6, 7]
    names = [f"n{i}" for i in range(len(images))]
    serial = list(iter_serial(images, size, names, _prepare, _flush, _fail))
    for workers in (1, 2, 3):
        assert list(iter_prefetched(iter(images), size, names, _prepare, _flush, _fail, workers)) == serial
    assert [s[0] for s in serial] == names


def test_an_unexpected_exception_propagates_after_the_same_items():
    images = [1, 2, 3, 4, "boom", 5, 6]
    for run in (iter_serial, iter_prefetched):
        got = []
        with pytest.raises(ValueError, match="unexpected"):
            for item in run(images, 2, None, _prepare, _flush, _fail):
                got.append(item)
        assert [g[1] for g in got] == [10, 20, 30, 40], run.__name__
    assert not _prepare_threads()
