"""The packaging helpers (no PyInstaller build here: `make package-selftest` builds and tests the bundle)."""

from __future__ import annotations

import ast
import importlib.util
import os
import runpy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sizes = _load(REPO / "packaging" / "sizes.py", "tilik_packaging_sizes")


def _fake_bundle(root: Path, files: dict[str, int]) -> Path:
    bundle = root / "tilik"
    for rel, size in files.items():
        path = bundle / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    return bundle


def test_sizes_names_each_part(tmp_path):
    bundle = _fake_bundle(tmp_path, {"tilik": 10, "_internal/models/p/model.onnx": 300,
                                     "_internal/PySide6/Qt/lib/libicudata.so.73": 200,
                                     "_internal/PySide6/Qt/lib/libQt6Core.so.6": 100,
                                     "_internal/onnxruntime/capi/x.so": 50, "_internal/libfoo.so": 5})
    (bundle / "_internal" / "link.so").symlink_to(bundle / "_internal" / "libfoo.so")
    parts = sizes.measure(bundle)
    assert parts == {"launcher executable": 10, "model packs": 300, "Qt: ICU (Unicode data)": 200,
                     "Qt: libraries": 100, "onnxruntime": 50, "other (system libraries, small modules)": 5}


def test_sizes_budgets_and_contents(tmp_path, monkeypatch, capsys):
    bundle = _fake_bundle(tmp_path, {"tilik": 10, "_internal/models/p/model.onnx": 1000})
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"\0" * 500)
    assert sizes.main(["sizes.py", str(bundle), str(archive)]) == 0
    monkeypatch.setattr(sizes, "BUDGET_ARCHIVE_MB", 0.0001)
    assert sizes.main(["sizes.py", str(bundle), str(archive)]) == 1
    assert "EXCEEDED" in capsys.readouterr().out
    monkeypatch.setattr(sizes, "BUDGET_ARCHIVE_MB", 200)
    for bad in ("_internal/tensorflow/__init__.pyc", "_internal/onnxruntime/transformers/x.py",
                "_internal/cv2/cv2.so"):
        (bundle / bad).parent.mkdir(parents=True, exist_ok=True)
        (bundle / bad).write_bytes(b"x")
    found, _ = sizes.forbidden_contents(bundle)
    assert len(found) == 3
    assert sizes.main(["sizes.py", str(bundle), str(archive)]) == 1


def test_spec_excludes_training_only_modules():
    tree = ast.parse((REPO / "packaging" / "tilik.spec").read_text(encoding="utf-8"))
    excludes = next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXCLUDES")
    for name in ("tensorflow", "keras", "training", "cv2", "onnxruntime.transformers", "onnxruntime.tools"):
        assert name in excludes


def test_frozen_entry_forces_offscreen_without_a_display(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.setenv(name, "x")  # recorded, so teardown restores the real value
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "argv", ["tilik", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / "packaging" / "entry.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    assert capsys.readouterr().out.startswith("tilik ")


def test_paths_resolve_to_the_bundle_when_frozen(monkeypatch, tmp_path):
    from inference import paths

    assert paths.app_root() == REPO
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv("TILIK_BUNDLED_PACKS_DIR", raising=False)
    assert paths.bundled_models_dir() == tmp_path / "models"
    assert paths.samples_dir() == tmp_path / "resources" / "samples"


def test_ci_runs_only_what_the_readme_documents():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert commands[:2] == ["make test", "make package-selftest"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in commands:
        assert f"`{command}`" in readme or f"\n{command} " in readme, command
