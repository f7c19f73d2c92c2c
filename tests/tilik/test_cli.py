"""The ``tilik`` command line: JSON schema, exit codes, tables, heatmaps, packs, self-test."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tilik.cli import main
from tiny_models import solid, write_pack

BAD = Path(__file__).resolve().parent.parent / "data" / "bad_images"
EXPECTED = json.loads((BAD.parent / "bad_images_expected.json").read_text())
RESULT_KEYS = {"path", "pack", "pack_version", "label", "confidence", "probabilities", "top_k", "needs_review",
               "review_reasons", "out_of_domain", "heatmap", "timings_ms"}


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def _images(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for colour in ("red", "green", "blue"):
        path = folder / f"{colour}.png"
        Image.fromarray(solid(colour)).save(path)
        paths.append(path)
    return paths


def test_classify_json_schema_and_success_exit_code(packs_dir, tmp_path):
    paths = _images(tmp_path / "imgs")
    code, out = run(["classify", "--pack", "colour", "--json", *map(str, paths)])
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in rows] == ["red", "green", "blue"]
    for row in rows:
        assert RESULT_KEYS <= set(row)
        assert isinstance(row["confidence"], float) and 0 <= row["confidence"] <= 1
        assert set(row["probabilities"]) == {"red", "green", "blue"}
        assert row["top_k"][0]["class"] == row["label"]
        assert row["heatmap"] is None and row["pack"] == "colour"


def test_folder_is_recursed_and_heatmaps_written(packs_dir, tmp_path):
    _images(tmp_path / "imgs" / "sub")
    code, out = run(["classify", "--pack", "colour", "--json", "--heatmap-dir", str(tmp_path / "heat"),
                     str(tmp_path / "imgs")])
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    for row in rows:
        heat = Path(row["heatmap"])
        assert heat.is_file() and Image.open(heat).size == (60, 40)


def test_some_failures_give_exit_1_with_error_objects(packs_dir, tmp_path):
    good = _images(tmp_path / "imgs")[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    code, out = run(["classify", "--pack", "colour", "--json", str(good), str(broken), str(tmp_path / "missing.png")])
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    errors = {r["path"]: r["error"] for r in rows if "error" in r}
    assert set(errors) == {str(broken), str(tmp_path / "missing.png")}
    assert "truncated or damaged" in errors[str(broken)]
    assert "no such file" in errors[str(tmp_path / "missing.png")]
    assert [r["label"] for r in rows if "label" in r] == ["red"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["classify", "--pack", "nope", "x.png"], "No pack called 'nope'"),
        (["classify", "x.png"], "required: --pack"),
        (["frobnicate"], "invalid choice"),
        (["classify", "--pack", "colour", "--batch-size", "0", "x.png"], "at least 1"),
        (["classify", "--pack", "colour", "--provider", "tpu", "x.png"], "Unknown execution provider"),
    ],
)
def test_usage_errors_exit_2(packs_dir, capsys, argv, words):
    code, _ = run(argv)
    assert code == 2
    assert words in capsys.readouterr().err


def test_unusable_pack_exits_2_with_reason(packs_dir, capsys):
    (packs_dir / "colour" / "model.onnx").write_bytes(b"tampered")
    code, _ = run(["classify", "--pack", "colour", "x.png"])
    assert code == 2
    assert "SHA-256" in capsys.readouterr().err


def test_readable_table_without_json(packs_dir, tmp_path):
    paths = _images(tmp_path / "imgs")
    code, out = run(["classify", "--pack", "colour", *map(str, paths)])
    assert code == 0
    assert "verdict" in out.splitlines()[0]
    assert "Blue" in out and "3 of 3 images classified with colour 1.0.0 on CPU" in out


def test_bad_image_corpus_gives_clear_error_or_result_for_each_file(packs_dir):
    code, out = run(["classify", "--pack", "colour", "--json", str(BAD)])
    assert code == 1
    rows = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    committed = {n: e for n, e in EXPECTED.items() if not e.get("special")}  # FIFOs etc.: test_cli_hostile
    assert set(rows) == set(committed)
    for name, expected in committed.items():
        row = rows[name]
        if expected["ok"]:
            assert "label" in row and "error" not in row, name
            assert row["image_size"] == expected["size"], name
        else:
            assert expected["error"] in row["error"], name
            assert "Traceback" not in row["error"]


def test_packs_lists_usable_and_unusable(packs_dir):
    broken = write_pack(packs_dir / "broken")
    (broken / "model.onnx").unlink()
    code, out = run(["packs", "--json"])
    assert code == 0
    rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert rows["colour"]["usable"] and rows["colour"]["provider"] == "CPU"
    assert rows["colour"]["classes"] == ["red", "green", "blue"] and rows["colour"]["task"] == "classify"
    assert not rows["broken"]["usable"] and "missing" in rows["broken"]["reason"]
    code, text = run(["packs"])
    assert "UNUSABLE" in text and "usable on CPU" in text


def test_self_test_passes_and_fails_on_wrong_sample(packs_dir, tmp_path, monkeypatch):
    samples = tmp_path / "resources" / "samples" / "colour"
    samples.mkdir(parents=True)
    Image.fromarray(solid("blue")).save(samples / "b.png")
    Image.fromarray(solid("red")).save(samples / "r.png")
    (samples / "samples.json").write_text(json.dumps([{"file": "b.png", "expected": "blue"},
                                                      {"file": "r.png", "expected": "red"}]))
    monkeypatch.setattr("inference.paths.samples_dir", lambda: tmp_path / "resources" / "samples")
    code, out = run(["self-test"])
    assert code == 0, out
    assert "2/2 samples correct" in out and "Self-test passed" in out
    (samples / "samples.json").write_text(json.dumps([{"file": "b.png", "expected": "red"}]))
    code, out = run(["self-test"])
    assert code == 1 and "expected red, got blue" in out


def test_self_test_fails_without_packs(tmp_path, monkeypatch):
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(tmp_path / "none"))
    code, out = run(["self-test"])
    assert code == 1 and "no bundled model packs" in out


@pytest.mark.skipif(shutil.which("tilik", path=str(Path(sys.executable).parent)) is None,
                    reason="the tilik console script is not installed in this environment")
def test_installed_console_script_runs(packs_dir, tmp_path):
    path = _images(tmp_path / "imgs")[2]
    exe = shutil.which("tilik", path=str(Path(sys.executable).parent))
    proc = subprocess.run([exe, "classify", "--pack", "colour", "--json", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["label"] == "blue"
