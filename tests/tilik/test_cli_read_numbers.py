"""``tilik classify --read-numbers``: the container and seal number fields on each JSON line."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tilik.cli import main
from training.ocr_doors import make_door

NUMBER_KEYS = {"container_number", "container_check", "seal_number", "text_lines"}


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def _door(tmp_path, seed=9, bad=False):
    rgb, truth = make_door(seed, width=1200, height=900, bad_check_rate=1.0 if bad else 0.0)
    path = tmp_path / f"door_{seed}.jpg"
    Image.fromarray(rgb).save(path, quality=92)
    return path, truth


def test_read_numbers_json_fields(packs_dir, tmp_path):
    door, truth = _door(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    code, out = run(["classify", "--pack", "colour", "--json", "--read-numbers", str(door), str(broken)])
    assert code == 1  # one input failed
    rows = {json.loads(line)["path"]: json.loads(line) for line in out.splitlines()}
    row = rows[str(door)]
    assert NUMBER_KEYS <= row.keys()
    assert (row["container_number"], row["container_check"], row["seal_number"]) == \
        (truth.container_number, "valid", truth.seal_number)
    assert all({"text", "confidence", "box"} == set(t) for t in row["text_lines"])
    assert "error" in rows[str(broken)]

    code, out = run(["classify", "--pack", "colour", "--json", str(door)])
    assert code == 0 and not (NUMBER_KEYS & json.loads(out).keys())  # only when asked for


def test_read_numbers_table_and_no_text(packs_dir, tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (200, 200), (200, 30, 30)).save(plain)
    code, out = run(["classify", "--pack", "colour", "--json", "--read-numbers", str(plain)])
    row = json.loads(out)
    assert code == 0 and row["container_number"] is None and row["container_check"] is None
    assert row["seal_number"] is None and row["text_lines"] == []
    code, out = run(["classify", "--pack", "colour", "--read-numbers", str(plain)])
    assert "no container number read" in out and "no seal number read" in out


@pytest.mark.slow
def test_seal_integrity_pack_with_a_wrong_check_digit(tmp_path):
    # The shipped seal pack, a door painted with a wrong check digit: flagged, never corrected.
    for seed in range(100, 140):
        door, truth = _door(tmp_path, seed, bad=True)
        code, out = run(["classify", "--pack", "seal-integrity", "--json", "--read-numbers", str(door)])
        row = json.loads(out)
        assert code == 0 and row["pack"] == "seal-integrity"
        if row["container_number"] == truth.container_number:
            assert row["container_check"] == "bad-check-digit"
            return
    pytest.fail("no door with a wrong check digit was read")


def test_log_records_what_was_read_and_the_csv_shows_it(packs_dir, tmp_path):
    import csv
    import sqlite3

    from tiny_models import write_pack

    write_pack(packs_dir / "seal-colour", mode="seal")
    door, truth = _door(tmp_path, seed=11)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (200, 200), (200, 30, 30)).save(plain)
    db = tmp_path / "log.sqlite3"
    code, out = run(["classify", "--pack", "seal-colour", "--json", "--read-numbers", "--log", str(db),
                     str(door), str(plain)])
    assert code == 0, out
    printed = {json.loads(line)["path"]: json.loads(line) for line in out.splitlines()}
    assert printed[str(door)]["container_number"] == truth.container_number
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {r["source"]: dict(r) for r in conn.execute("SELECT * FROM inspections")}
    conn.close()
    row = rows[str(door)]
    assert (row["ocr_container_number"], row["ocr_container_check"], row["ocr_seal_number"]) == \
        (truth.container_number, "valid", truth.seal_number)
    # A batch run shows the reading to nobody: not confirmed, not changed, never stored as the number.
    assert (row["ocr_confirmed"], row["ocr_container_changed"], row["ocr_seal_changed"]) == (None, None, None)
    assert row["container_number"] is None and row["seal_number"] is None
    assert rows[str(plain)]["ocr_container_number"] is None and rows[str(plain)]["ocr_seal_number"] is None

    csv_path = tmp_path / "log.csv"
    code, _ = run(["log", "export", "--db", str(db), "--format", "csv", str(csv_path)])
    assert code == 0
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        exported = {r["source"]: r for r in csv.DictReader(fh)}
    assert (exported[str(door)]["ocr_container_number"], exported[str(door)]["ocr_seal_number"]) == \
        (truth.container_number, truth.seal_number)
    assert exported[str(door)]["ocr_container_check"] == "valid" and exported[str(plain)]["ocr_seal_number"] == ""


def test_read_numbers_with_log_needs_a_seal_pack(packs_dir, tmp_path):
    door, _ = _door(tmp_path)
    db = tmp_path / "log.sqlite3"
    code, _ = run(["classify", "--pack", "colour", "--read-numbers", "--log", str(db), str(door)])
    assert code == 2 and not db.exists()  # refused before anything ran or was recorded


def test_boxes_in_photo_pixels_from_a_reduced_decode(tmp_path):
    # A photo more than twice the reading size is decoded at reduced size; the boxes still come
    # back in the photo's own pixels, and the numbers are the same.
    from inference.ocr.reading import read_numbers, read_numbers_fields, work_factor

    rgb, truth = make_door(5, width=3600, height=2700, bad_check_rate=0.0)
    path = tmp_path / "big.jpg"
    Image.fromarray(rgb).save(path, quality=92)
    assert work_factor(3600, 2700) == 2
    fields = read_numbers_fields(path)
    assert (fields["container_number"], fields["seal_number"]) == (truth.container_number, truth.seal_number)
    # The same lines as read from the full-size array (reduced in memory): same photo-pixel boxes.
    full = read_numbers(rgb).to_json()
    assert [t["text"] for t in fields["text_lines"]] == [t["text"] for t in full["text_lines"]]
    for a, b in zip(fields["text_lines"], full["text_lines"]):
        assert np.abs(np.array(a["box"]) - np.array(b["box"])).max() < 12
    # ... which are twice those read off a half-size copy handed over as it is (no photo size).
    half = read_numbers(np.asarray(Image.fromarray(rgb).reduce(2))).to_json()
    assert [t["text"] for t in half["text_lines"]] == [t["text"] for t in fields["text_lines"]]
    for a, b in zip(fields["text_lines"], half["text_lines"]):
        assert np.abs(np.array(a["box"]) - 2 * np.array(b["box"])).max() < 4  # not 1x: hundreds off
