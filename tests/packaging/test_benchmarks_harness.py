"""The benchmark harness's helpers (the benchmark itself is `make bench`, never a timed test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("tilik_benchmarks_run", REPO / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_and_checks():
    bench = _bench()
    calls = []
    medians = bench.compare_ms({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeat=4, warmup=1)
    assert set(medians) == {"a", "b"} and all(v >= 0 for v in medians.values())
    assert calls[2:6] == ["a", "b", "a", "b"]  # round-robin after the warm-up
    checks = bench.Checks()
    assert checks.add("ratio", 1.2, 1.3, "1.20×") == " ✓"
    assert checks.add("speed-up", 5.0, 10.0, "5×", higher_is_better=True) == " ✗"
    assert checks.add("absent", None, 1.0, "") == ""
    assert [ok for *_, ok in checks.rows] == [True, False, None]
    assert isinstance(bench.guard_supported(), bool)


def test_run_measured_reports_peak_memory():
    bench = _bench()
    rc, out, wall, peak = bench.run_measured([sys.executable, "-c", "import time; b = b'x' * (64 << 20); print('ok'); time.sleep(0.3)"])
    assert rc == 0 and out.strip() == "ok" and wall > 0
    assert 64 <= peak < 400  # the child's own peak, not this (larger) process's


def test_unique_images_differ(tmp_path):
    bench = _bench()
    pack = next(p.parent.name for p in sorted((REPO / "resources" / "samples").glob("*/samples.json")))
    files = bench.unique_images(pack, 3, tmp_path)
    assert len({f.read_bytes() for f in files}) == 3
    assert all(Image.open(f).size for f in files)
