"""``tilik classify --read-numbers``: the container and seal number fields on each JSON line."""

from __future__ import annotations

import io
import json

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
