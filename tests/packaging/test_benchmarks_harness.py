"""The benchmark harness's helpers (the benchmark itself is `make bench`, never a timed test)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
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


def test_section_8_is_merged_into_the_full_results_and_replaced_next_time(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    results = tmp_path / "results.md"
    results.write_text("# Tilik benchmark results\n\n## 1. Latency\n\nold 1\n\n## Targets\n\n| a | b |\n", encoding="utf-8")
    photos.merge_into(results, ["", "## 8. Photos", "", "first"], [("12-MP", "6.1×", "≤ 1.3×", False)], "run A")
    photos.merge_into(results, ["", "## 8. Photos", "", "second"], [("12-MP", "1.2×", "≤ 1.3×", True)], "run B")
    text = results.read_text(encoding="utf-8")
    assert text.count("## 8. Photos") == 1 and "second" in text and "first" not in text and "run A" not in text
    assert text.index("## 1. Latency") < text.index("## 8. Photos") < text.index("## Targets")
    assert "| 12-MP | 1.2× | ≤ 1.3× | yes |" in text and "old 1" in text


def test_photo_fixtures_are_distinct_12_mp_jpegs(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    samples = sorted((REPO / "resources" / "samples" / "skin-binary").glob("*.jpg"))[:2]
    files = photos.make_photos(samples, 3, tmp_path, size=(400, 300))
    assert len({f.read_bytes() for f in files}) == 3 and Image.open(files[0]).size == (400, 300)
    # each photo from its own source (the third cycles back to the first)
    small = [np.asarray(Image.open(f).convert("RGB").resize((40, 30)), np.float64) for f in files]
    assert np.abs(small[0] - small[1]).mean() > 2 * np.abs(small[0] - small[2]).mean()


def test_distinct_sources_say_why_when_there_are_none(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    fake_repo = tmp_path / "repo"  # no ../shared beside it
    fake_repo.mkdir()
    for pack_id in ("skin-binary", "imagenet-lite0", "no-such-pack"):
        files, why = photos.distinct_sources(pack_id, 10, fake_repo)
        assert files is None and why


def test_distinct_sources_from_shared_data():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    if not (REPO.parent / "shared" / "data" / "skin-ham10000" / "images").is_dir():
        pytest.skip("../shared/data/skin-ham10000 is not in this checkout")
    files, what = photos.distinct_sources("skin-ham7", 20, REPO)
    assert len(files) == len(set(files)) == 20 and "HAM10000" in what
    assert len({f.read_bytes() for f in files}) == 20


def test_model_images_per_image_counts_the_squeezed_copies():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    from inference.registry import PackRegistry

    registry = PackRegistry([(REPO / "models", "bundled")])
    packs = {p.id: p for p in registry.usable()}
    if "skin-binary" in packs:
        assert photos.model_images_per_image(packs["skin-binary"]) == 1  # noise detector only
    seal = packs.get("seal-integrity")
    guard = (seal.manifest.raw.get("guard") or {}) if seal is not None else {}
    if "squeeze" in (guard.get("detectors") or {}):
        if guard.get("screen") is None:
            assert photos.model_images_per_image(seal) == 2  # and a median-squeezed copy of every image
            assert photos.squeezers_of(seal) == 0
        else:  # screened (1.3.2): the copies are counted in the app's rows, one per squeezer
            assert photos.model_images_per_image(seal) == 1 and photos.squeezers_of(seal) == 1
    counter = photos._GuardCount()
    rows = [{"guard": {"flagged": True, "detectors": {"squeeze": 0.1, "noise": 0.0}}, "mitigated": {"label": "x"}},
            {"guard": {"flagged": False, "detectors": {"noise": 0.0}}, "mitigated": None}]
    counter("tilik", 0, "\n".join(json.dumps(r) for r in rows))
    assert counter.result() == {"flagged": 1, "reformed": 1, "squeezed": 1}


def test_bare_loops_app_scale_decode_is_the_apps(tmp_path):
    """The bare loop's ``app-scale`` mode decodes each photo to the very pixels the app's decoder
    makes for the pack (imagenet-lite0's centre crop: 1/4 of a 12-MP photo; a stretch pack: 1/8),
    and its plain mode to the smallest DCT scale still at least the input size."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import photos

    from inference.imageio import load_image
    from inference.preprocess import reduction_factor
    from inference.registry import PackRegistry

    registry = PackRegistry([(REPO / "models", "bundled")])
    sample = sorted((REPO / "resources" / "samples" / "skin-binary").glob("*.jpg"))[:1]
    (photo,) = photos.make_photos(sample, 1, tmp_path, size=(4000, 3000))
    sizes = {}
    for pack_id in ("imagenet-lite0", "skin-binary"):
        spec = registry.get(pack_id).manifest.input
        app = load_image(photo, shrink=lambda w, h: reduction_factor(w, h, spec)).rgb
        assert np.array_equal(photos.app_scale_load(photo, spec), app)
        sizes[pack_id] = (app.shape[1], photos.bare_load(photo, spec).shape[1])
    assert sizes == {"imagenet-lite0": (1000, 500), "skin-binary": (500, 500)}
