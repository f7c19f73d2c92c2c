"""The second seal renderer (training/seals_alt): independent of the first, deterministic, every kind
and defect renders with a mask, and profile sets hold one seal model per kind."""

from __future__ import annotations

import ast
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.seals_alt import DEFECTS_BY_KIND, KINDS, export_profile_photos, render, write_dataset

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "training" / "seals_alt"


def test_source_never_imports_the_first_renderer():
    for f in sorted(PKG.glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for n in names:
                assert not n.startswith("training.seals.") and n != "training.seals", f"{f.name} imports {n}"


def test_importing_it_loads_nothing_of_the_first_renderer():
    code = ("import sys, training.seals_alt as a, numpy as np; a.render(np.random.default_rng(1), 'bolt', size=64); "
            "print(sorted(m for m in sys.modules if m == 'training.seals' or m.startswith('training.seals.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_and_defect_renders_with_a_mask(kind):
    for j, defect in enumerate(("none",) + DEFECTS_BY_KIND[kind]):
        img, mask, meta = render(np.random.default_rng([3, j]), kind, defect, size=96)
        assert img.shape == (96, 96, 3) and img.dtype == np.uint8 and img.std() > 5
        assert meta["kind"] == kind and meta["defect"] == defect
        if defect == "none":
            assert mask is None
        else:
            assert mask is not None and 0 < (mask > 0).mean() < 0.9, (kind, defect)


def test_bad_requests_are_refused_in_words():
    with pytest.raises(ValueError, match="choose from"):
        render(np.random.default_rng(0), "padlock")
    with pytest.raises(ValueError, match="no defect"):
        render(np.random.default_rng(0), "label", "cut_shank")


def test_dataset_is_deterministic_and_balanced(tmp_path):
    a = write_dataset(tmp_path / "a", 8, seed=4, size=64)
    b = write_dataset(tmp_path / "b", 8, seed=4, size=64)
    assert a == b
    for r in a:
        assert (tmp_path / "a" / r["file"]).read_bytes() == (tmp_path / "b" / r["file"]).read_bytes()
    assert sum(r["label"] == "damaged" for r in a) == 4
    rows = list(csv.DictReader(open(tmp_path / "a" / "labels.csv", encoding="utf-8")))
    assert [r["file"] for r in rows] == [r["file"] for r in a]


def test_profile_sets_use_one_seal_model_per_kind(tmp_path):
    counts = export_profile_photos(tmp_path, seed=1, intact=3, damaged=2, size=64)
    assert counts == {k: {"intact": 3, "damaged": 2} for k in KINDS}
    for kind in KINDS:
        rows = list(csv.DictReader(open(tmp_path / kind / "labels.csv", encoding="utf-8")))
        assert len(rows) == 5 and all((tmp_path / kind / r["file"]).is_file() for r in rows)
    # the style comes from style_seed alone: every photo of a kind shows the same seal model
    s1 = render(np.random.default_rng(1), "bolt", size=64, style_seed=9)[2]
    s2 = render(np.random.default_rng(2), "bolt", size=64, style_seed=9)[2]
    assert s1["colour"] == s2["colour"] and s1["serial"] == s2["serial"]
