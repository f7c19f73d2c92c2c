"""Command-line defects from issue #21, each checked the way a user meets it: ``--log`` never takes
an image as its database, ``log export`` infers the format and never creates folders, an empty
folder is not a success, tables stream row by row, ``verify --log`` needs ``--customer`` up front,
the provider warning is said once, class labels instead of WordNet-style ids, no display → exit 2,
and folder scans skip the files that live beside photos."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from inference.log import InspectionLog
from tilik.cli import main, normalise_log_option
from tiny_models import solid

REPO = Path(__file__).resolve().parents[2]


def _images(folder: Path, colours=("red", "green", "blue")) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for colour in colours:
        path = folder / f"{colour}.png"
        Image.fromarray(solid(colour)).save(path)
        paths.append(path)
    return paths


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _logged(db: Path) -> list[str]:
    with InspectionLog.open(db, read_only=True) as log:
        return [Path(r.source).name for r in log.query()][::-1]


# -- --log ----------------------------------------------------------------------------------------
def test_log_never_takes_an_image_as_its_database(packs_dir, tmp_path, capsys):
    a, b = _images(tmp_path / "imgs", ("red", "green"))
    code, out, _ = _run(capsys, "classify", "--pack", "colour", "--log", str(a), str(b))
    assert code == 0 and a.name in out and b.name in out  # both classified ...
    assert _logged(Path(os.environ["TILIK_DB"])) == ["red.png", "green.png"]  # ... into the default log
    assert a.read_bytes()[:4] == b"\x89PNG"  # and the image is still an image, not a database


def test_log_takes_a_database_by_its_extension_or_by_log_db(packs_dir, tmp_path, capsys):
    a, b = _images(tmp_path / "imgs", ("red", "green"))
    named = tmp_path / "station.sqlite3"
    assert _run(capsys, "classify", "--pack", "colour", "--log", str(named), str(a))[0] == 0
    other = tmp_path / "any-name.log"
    assert _run(capsys, "classify", "--pack", "colour", "--log-db", str(other), str(b))[0] == 0
    assert _logged(named) == ["red.png"] and _logged(other) == ["green.png"]
    assert normalise_log_option(["classify", "--log=x.db", "a.jpg"]) == ["classify", "--log-db", "x.db", "a.jpg"]
    # after "--" everything is an input, and other commands are left alone
    assert normalise_log_option(["verify", "--", "--log", "q.db"]) == ["verify", "--", "--log", "q.db"]
    assert normalise_log_option(["log", "list", "--log", "a.db"]) == ["log", "list", "--log", "a.db"]


def test_verify_log_without_customer_is_a_usage_error_before_any_work(tmp_path, capsys):
    db = tmp_path / "log.sqlite3"
    code, out, err = _run(capsys, "verify", "--pack", "no-such-pack", "--reference", str(tmp_path / "r.png"),
                          "--log", str(db), "--", str(tmp_path / "q.png"))
    assert code == 2 and "--log needs --customer" in err and out == ""
    assert not db.exists()  # no pack loaded, no log opened


# -- log export -----------------------------------------------------------------------------------
@pytest.fixture
def small_log(packs_dir, tmp_path, capsys):
    paths = _images(tmp_path / "imgs")
    db = tmp_path / "log.sqlite3"
    assert _run(capsys, "classify", "--pack", "colour", "--log", str(db), *map(str, paths))[0] == 0
    return db


def test_export_takes_the_format_from_the_file_name(small_log, tmp_path, capsys):
    code, out, _ = _run(capsys, "log", "export", "--db", str(small_log), str(tmp_path / "out.csv"))
    assert code == 0 and out.startswith("3 inspections written")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("id,")
    code, out, _ = _run(capsys, "log", "export", "--db", str(small_log), str(tmp_path / "out.PDF"))
    assert code == 0 and (tmp_path / "out.PDF").read_bytes().startswith(b"%PDF-")
    code, _, err = _run(capsys, "log", "export", "--db", str(small_log), str(tmp_path / "out.txt"))
    assert code == 2 and "Cannot tell the format of out.txt" in err and not (tmp_path / "out.txt").exists()
    code, _, _ = _run(capsys, "log", "export", "--db", str(small_log), "--format", "csv", str(tmp_path / "plain"))
    assert code == 0 and (tmp_path / "plain").read_text(encoding="utf-8-sig").startswith("id,")
    code, _, err = _run(capsys, "log", "export", "--db", str(small_log), "--format", "pdf", str(tmp_path / "x.csv"))
    assert code == 2 and "make them agree" in err


def test_export_never_creates_a_missing_folder_and_says_tilik_once(small_log, tmp_path, capsys):
    for name in ("out.csv", "out.pdf"):
        target = tmp_path / "typo" / "deeper" / name
        code, out, err = _run(capsys, "log", "export", "--db", str(small_log), str(target))
        assert code == 2 and "does not exist" in err and out == ""
        assert not (tmp_path / "typo").exists()
    code, _, err = _run(capsys, "log", "export", "--db", str(small_log))
    assert code == 2 and "tilik: tilik" not in err and err.startswith("tilik log export: ")


# -- classify --------------------------------------------------------------------------------------
def test_an_empty_folder_is_not_a_success(packs_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.csv").write_text("file,label\n")  # nothing in it is an image
    for extra in ([], ["--json"]):
        code, out, err = _run(capsys, "classify", "--pack", "colour", *extra, str(empty))
        assert code == 1 and "No images found in" in err and out == ""


class _InterruptAfterRows(io.StringIO):
    """A terminal that the user interrupts (Ctrl-C) as soon as ``rows`` result rows were shown."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def flush(self) -> None:
        super().flush()
        if sum(1 for line in self.getvalue().splitlines() if ".png" in line) >= self.rows:
            raise KeyboardInterrupt


def test_table_rows_stream_so_an_interrupt_keeps_what_was_printed(packs_dir, tmp_path, capsys):
    paths = _images(tmp_path / "imgs")
    out = _InterruptAfterRows(1)
    code = main(["classify", "--pack", "colour", "--batch-size", "1", *map(str, paths)], out=out)
    assert code == 130 and "interrupted" in capsys.readouterr().err
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["image", "verdict", "number"]
    assert "red.png" in lines[1] and "Red" in lines[1]  # the finished row is there, in words


def test_the_provider_fallback_warning_is_said_once(packs_dir, tmp_path, caplog):
    from inference import providers

    if "CUDAExecutionProvider" in providers.ort.get_available_providers():
        pytest.skip("CUDA is available here: nothing falls back")
    providers._WARNED.clear()
    paths = _images(tmp_path / "imgs")
    with caplog.at_level(logging.WARNING, logger="inference.providers"):
        assert main(["classify", "--pack", "colour", "--provider", "cuda", *map(str, paths)],
                    out=io.StringIO()) == 0
    said = [r for r in caplog.records if "is not available here" in r.getMessage()]
    assert len(said) == 1


# -- class labels ----------------------------------------------------------------------------------
def test_packs_and_log_list_show_class_labels_not_ids(tmp_path, monkeypatch, capsys):
    """A pack whose class names are WordNet-style ids shows its labels in `packs` and `log list`."""
    from tiny_models import build_colour_model, colour_manifest, write_pack

    classes = ("n01440764", "n01443537", "n01484850")
    model = build_colour_model(classes=classes)
    manifest = colour_manifest(model, classes=classes)
    labels = {"n01440764": "tench", "n01443537": "goldfish", "n01484850": "great white shark"}
    for entry in manifest["classes"]:
        entry["label"] = labels[entry["name"]]
    write_pack(tmp_path / "models" / "colour", model, manifest)
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(tmp_path / "models"))
    code, out, _ = _run(capsys, "packs")
    assert code == 0 and "classes: tench, goldfish, great white shark" in out and "n01440764" not in out
    paths = _images(tmp_path / "imgs")
    db = tmp_path / "log.sqlite3"
    assert _run(capsys, "classify", "--pack", "colour", "--log", str(db), *map(str, paths))[0] == 0
    code, out, _ = _run(capsys, "log", "review", "1", "--db", str(db), "--decision", "overturn", "--by", "chief",
                        "--note", "it is a goldfish", "--label", "n01443537")
    assert code == 0 and "→ goldfish" in out
    code, out, _ = _run(capsys, "log", "list", "--db", str(db))
    assert code == 0 and "tench" in out and "→ goldfish" in out and "n0144" not in out
    # --label also takes the label the card shows, whatever its case; a wrong one is refused in words.
    code, out, _ = _run(capsys, "log", "review", "2", "--db", str(db), "--decision", "overturn", "--by", "chief",
                        "--note", "a shark", "--label", "Great White Shark")
    assert code == 0 and "→ great white shark" in out
    code, _out, err = _run(capsys, "log", "review", "3", "--db", str(db), "--decision", "overturn", "--by", "chief",
                           "--note", "x", "--label", "salmon")
    assert code != 0 and "'salmon' is not a class of pack colour" in err


# -- no display ------------------------------------------------------------------------------------
def test_starting_the_window_without_a_display_exits_2_in_plain_words(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "tilik"], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "no display" in proc.stderr and "tilik classify" in proc.stderr
    assert "einstall" not in proc.stderr and "core dumped" not in proc.stderr


def test_display_check_rules():
    from tilik.display import display_problem

    linux = "linux"
    assert display_problem({}, linux) is not None
    assert display_problem({"DISPLAY": ":0"}, linux) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, linux) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, linux) is None
    assert display_problem({"QT_QPA_PLATFORM": "minimal"}, linux) is None
    assert "DISPLAY is not set" in display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, linux)
    assert display_problem({"QT_QPA_PLATFORM": "wayland"}, linux) is not None
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None


# -- folder scans ----------------------------------------------------------------------------------
def test_a_folder_scan_skips_companion_files_but_reports_broken_images(packs_dir, tmp_path, capsys):
    import json

    from inference.imageio import iter_image_paths

    folder = tmp_path / "photos"
    _images(folder / "day1", ("red", "green"))
    for name in ("labels.csv", "Thumbs.db", "desktop.ini", ".DS_Store", "._red.png", ".hidden.png",
                 "README.md", "day1/metadata.json", "day1/IMG_0001.xmp"):
        (folder / name).write_bytes(b"not an image")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")  # a real photo that fails to decode
    (folder / "mystery.heic").write_bytes(b"????ftypheic")  # an unknown kind is still reported
    found = sorted(p.relative_to(folder).as_posix() for p in iter_image_paths([folder]))
    assert found == ["broken.jpg", "day1/green.png", "day1/red.png", "mystery.heic"]
    code, out, _ = _run(capsys, "classify", "--pack", "colour", "--json", str(folder))
    rows = [json.loads(line) for line in out.splitlines()]
    failed = sorted(Path(r["path"]).name for r in rows if "error" in r)
    assert code == 1 and failed == ["broken.jpg", "mystery.heic"]
    assert sorted(Path(r["path"]).name for r in rows if "error" not in r) == ["green.png", "red.png"]
    # a file named on the command line is always inspected, whatever its name
    code, out, _ = _run(capsys, "classify", "--pack", "colour", "--json", str(folder / "labels.csv"))
    assert code == 1 and "error" in json.loads(out)
