"""Tests for the synthetic security-seal dataset generator (training/seals).

Kept small (tiny counts, small images) so the whole file runs in seconds on a 2-core machine.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.seals import (BACKGROUND_NAMES, CSV_COLUMNS, DEFECTS, DEFECTS_BY_FAMILY, FAMILY_NAMES,
                            LIGHTING_NAMES, generate_dataset, render_sample, sample_spec)

SIZE = 96


def _read_rows(out: Path) -> list[dict]:
    with open(out / "labels.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seals") / "a"
    generate_dataset(out, 8, seed=3, size=SIZE)
    return out


def test_same_seed_gives_identical_bytes_and_other_seed_differs(dataset, tmp_path):
    again = tmp_path / "again"
    generate_dataset(again, 8, seed=3, size=SIZE)
    assert _files(again) == _files(dataset)
    other = tmp_path / "other"
    generate_dataset(other, 8, seed=4, size=SIZE)
    a, b = _files(dataset), _files(other)
    images = [k for k in a if k.endswith(".jpg")]
    assert images
    assert sum(a[k] != b.get(k) for k in images) == len(images)


def test_prefix_of_a_larger_run_is_the_smaller_run(dataset, tmp_path):
    small = tmp_path / "small"
    generate_dataset(small, 4, seed=3, size=SIZE)
    big = _files(dataset)
    for name, data in _files(small).items():
        if name.endswith((".jpg", ".png")):
            assert big[name] == data


def test_parallel_workers_match_serial(tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    generate_dataset(serial, 4, seed=11, size=64, workers=1)
    generate_dataset(parallel, 4, seed=11, size=64, workers=2)
    assert _files(serial) == _files(parallel)


def test_classes_are_balanced_and_labels_csv_matches_files(dataset):
    rows = _read_rows(dataset)
    assert len(rows) == 8
    assert Counter(r["label"] for r in rows) == {"intact": 4, "damaged": 4}
    listed = {r["file"] for r in rows} | {r["mask"] for r in rows if r["mask"]}
    on_disk = {str(p.relative_to(dataset)) for p in dataset.rglob("*") if p.suffix in (".jpg", ".png")}
    assert listed == on_disk
    for r in rows:
        assert r["file"].startswith(r["label"] + "/") and r["file"].endswith(".jpg")
        assert r["family"] in FAMILY_NAMES
        assert r["background"] in BACKGROUND_NAMES and r["lighting"] in LIGHTING_NAMES
        assert r["serial"] and int(r["seed"]) >= 0
        if r["label"] == "intact":
            assert r["defect"] == "none" and r["mask"] == ""
        else:
            assert r["defect"] in DEFECTS_BY_FAMILY[r["family"]]
            assert r["mask"] == f"masks/{Path(r['file']).stem}.png"
        img = cv2.imread(str(dataset / r["file"]), cv2.IMREAD_COLOR)
        assert img.shape == (SIZE, SIZE, 3)


def test_masks_are_binary_nonempty_and_not_the_whole_image(dataset):
    rows = [r for r in _read_rows(dataset) if r["label"] == "damaged"]
    assert rows
    for r in rows:
        m = cv2.imread(str(dataset / r["mask"]), cv2.IMREAD_UNCHANGED)
        assert m.shape == (SIZE, SIZE) and m.dtype == np.uint8
        assert set(np.unique(m)) <= {0, 255}
        area = int((m == 255).sum())
        assert area > 0
        if r["defect"] != "missing":  # a missing tape may span the frame; a local defect never does
            assert area < 0.5 * SIZE * SIZE


def test_csv_seed_reproduces_the_image(dataset):
    row = _read_rows(dataset)[1]
    img, mask, meta = render_sample(np.random.default_rng(int(row["seed"])), row["label"], row["family"],
                                    row["defect"], row["background"], row["lighting"], SIZE)
    assert meta["serial"] == row["serial"]
    on_disk = cv2.imread(str(dataset / row["file"]), cv2.IMREAD_COLOR)[..., ::-1]
    # the file is the same render saved as JPEG (quality 95)
    assert np.abs(on_disk.astype(int) - img.astype(int)).mean() < 4.0
    disk_mask = cv2.imread(str(dataset / row["mask"]), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(disk_mask, mask)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_and_defect_renders(family):
    bgs = BACKGROUND_NAMES
    for k, defect in enumerate(("none",) + DEFECTS_BY_FAMILY[family]):
        label = "intact" if defect == "none" else "damaged"
        img, mask, meta = render_sample(np.random.default_rng(100 + k), label, family, defect, bgs[k % len(bgs)],
                                        LIGHTING_NAMES[k % len(LIGHTING_NAMES)], 64)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert img.std() > 5  # a real picture, not a flat fill
        assert meta["family"] == family and meta["defect"] == defect and meta["label"] == label
        if label == "intact":
            assert mask is None
        else:
            assert mask.shape == (64, 64) and mask.dtype == np.uint8
            assert (mask == 255).sum() > 0 and set(np.unique(mask)) <= {0, 255}


def test_all_defect_names_are_covered_by_some_family():
    covered = {d for ds in DEFECTS_BY_FAMILY.values() for d in ds}
    assert covered == set(DEFECTS) - {"none"}
    assert len(FAMILY_NAMES) >= 3


@pytest.mark.parametrize("family,defect", [("plastic_strip", "cut"), ("plastic_strip", "crack"),
                                           ("bolt", "cut"), ("bolt", "prised"), ("cable", "frayed"),
                                           ("cable", "cut"), ("adhesive_label", "lifted_void"),
                                           ("adhesive_label", "cut")])
def test_defect_is_a_local_edit_inside_its_mask(family, defect):
    """Intact and damaged renders of one seed are the same photo except where the defect is."""
    size = 128
    seed = 7 + len(defect) + len(family)
    intact, _, _ = render_sample(np.random.default_rng(seed), "intact", family, None, "steel_door_grey",
                                 "overcast", size)
    damaged, mask, _ = render_sample(np.random.default_rng(seed), "damaged", family, defect, "steel_door_grey",
                                     "overcast", size)
    diff = np.abs(intact.astype(int) - damaged.astype(int)).max(axis=2)
    changed = diff > 48
    assert changed.sum() >= 3, "the defect must be visible"
    near = cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0
    assert (changed & near).sum() / changed.sum() > 0.85
    assert (mask > 0).sum() < 0.25 * size * size


def test_missing_seal_mask_covers_where_the_seal_was():
    size = 96
    intact, _, _ = render_sample(np.random.default_rng(5), "intact", "bolt", None, "hasp_grey", "daylight", size)
    missing, mask, _ = render_sample(np.random.default_rng(5), "damaged", "bolt", "missing", "hasp_grey",
                                     "daylight", size)
    changed = np.abs(intact.astype(int) - missing.astype(int)).max(axis=2) > 48
    assert changed.sum() > 20
    near = cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0
    assert (changed & near).sum() / changed.sum() > 0.9


def test_held_out_backgrounds_and_lighting_are_respected(tmp_path):
    out = tmp_path / "heldout"
    rows = generate_dataset(out, 6, seed=5, size=64, backgrounds=["cardboard_white"], lighting="dim,flash",
                            families=["bolt", "adhesive_label"])
    assert {r["background"] for r in rows} == {"cardboard_white"}
    assert {r["lighting"] for r in rows} <= {"dim", "flash"}
    assert {r["family"] for r in rows} <= {"bolt", "adhesive_label"}
    held_out = [b for b in BACKGROUND_NAMES if b != "cardboard_white"]
    specs = [sample_spec(5, i, list(FAMILY_NAMES), held_out, ["daylight"]) for i in range(200)]
    assert {s["background"] for s in specs} == set(held_out)
    rows = generate_dataset(tmp_path / "glob", 2, seed=5, size=64, backgrounds="steel_door_*", lighting="sunlight")
    assert all(r["background"].startswith("steel_door_") and r["lighting"] == "sunlight" for r in rows)
    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "bad", 2, seed=5, backgrounds=["not_a_background"])
    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "bad2", 2, seed=5, lighting=["moonlight"])


def test_defect_filter_and_invalid_requests():
    specs = [sample_spec(1, i, list(FAMILY_NAMES), list(BACKGROUND_NAMES), list(LIGHTING_NAMES),
                         ["cut", "missing"]) for i in range(60)]
    assert {s["defect"] for s in specs if s["label"] == "damaged"} <= {"cut", "missing"}
    with pytest.raises(ValueError):
        render_sample(np.random.default_rng(0), "damaged", "bolt", "lifted_void", "hasp_grey", "daylight", 64)
    with pytest.raises(ValueError):
        render_sample(np.random.default_rng(0), "intact", "bolt", "cut", "hasp_grey", "daylight", 64)
    with pytest.raises(ValueError):
        render_sample(np.random.default_rng(0), "intact", "padlock", None, "hasp_grey", "daylight", 64)


def test_both_classes_share_one_distribution_of_everything_but_the_defect():
    specs = [sample_spec(9, i, list(FAMILY_NAMES), list(BACKGROUND_NAMES), list(LIGHTING_NAMES))
             for i in range(2000)]
    for key, names in (("family", FAMILY_NAMES), ("background", BACKGROUND_NAMES), ("lighting", LIGHTING_NAMES)):
        by = {lab: Counter(s[key] for s in specs if s["label"] == lab) for lab in ("intact", "damaged")}
        for name in names:
            p_i, p_d = by["intact"][name] / 1000, by["damaged"][name] / 1000
            assert abs(p_i - p_d) < 0.06, (key, name, p_i, p_d)
            assert p_i > 0.5 / len(names)


def test_cli_generate_and_list(tmp_path, capsys):
    from training.cli import main

    out = tmp_path / "cli"
    rc = main(["seals", "generate", "--out", str(out), "--count", "4", "--seed", "2", "--size", "64",
               "--families", "plastic_strip,cable", "--quiet"])
    assert rc == 0
    rows = _read_rows(out)
    assert len(rows) == 4 and {r["family"] for r in rows} <= {"plastic_strip", "cable"}
    assert main(["seals", "list"]) == 0
    assert "plastic_strip" in capsys.readouterr().out
    assert main(["seals", "generate", "--out", str(out), "--count", "2", "--seed", "2",
                 "--lighting", "moonlight"]) == 2


def test_defect_masks_lie_inside_the_image_and_match_the_recorded_box():
    """The mask is image-sized, its box is the recorded defect_bbox, and (but for a missing tape,
    which may run off the frame) it does not hug the border: the defect is in the picture."""
    size = 96
    for k, family in enumerate(FAMILY_NAMES):
        for j, defect in enumerate(DEFECTS_BY_FAMILY[family]):
            seed = 200 + 10 * k + j
            _, mask, meta = render_sample(np.random.default_rng(seed), "damaged", family, defect,
                                          BACKGROUND_NAMES[seed % len(BACKGROUND_NAMES)],
                                          LIGHTING_NAMES[seed % len(LIGHTING_NAMES)], size)
            assert mask.shape == (size, size)
            ys, xs = np.nonzero(mask)
            assert len(xs) == meta["defect_area"] > 0
            x0, y0, x1, y1 = meta["defect_bbox"]
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max(), ys.max())
            assert 0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size
            if defect != "missing":
                assert (x1 - x0 + 1) * (y1 - y0 + 1) < size * size


def test_a_damaged_image_and_its_mask_share_the_stem(dataset):
    for r in _read_rows(dataset):
        if r["mask"]:
            assert Path(r["mask"]).stem == Path(r["file"]).stem
            m = cv2.imread(str(dataset / r["mask"]), cv2.IMREAD_GRAYSCALE)
            img = cv2.imread(str(dataset / r["file"]), cv2.IMREAD_COLOR)
            assert m.shape == img.shape[:2]


def test_paired_scenes_differ_only_by_the_defect(tmp_path):
    out = tmp_path / "paired"
    rows = generate_dataset(out, 6, seed=8, size=96, paired=True)
    assert [int(r["scene"]) for r in rows] == [0, 0, 1, 1, 2, 2]
    for a, b in zip(rows[0::2], rows[1::2]):
        assert (a["label"], b["label"]) == ("intact", "damaged")
        assert all(a[k] == b[k] for k in ("family", "background", "lighting", "seed", "serial"))
        ia = cv2.imread(str(out / a["file"]), cv2.IMREAD_COLOR).astype(int)
        ib = cv2.imread(str(out / b["file"]), cv2.IMREAD_COLOR).astype(int)
        changed = np.abs(ia - ib).max(axis=2) > 48
        near = cv2.dilate(cv2.imread(str(out / b["mask"]), cv2.IMREAD_GRAYSCALE), np.ones((9, 9), np.uint8)) > 0
        assert changed.sum() > 0 and (changed & near).sum() / changed.sum() > 0.85
    # unpaired datasets are unchanged by the option's existence: scene is the index
    plain = generate_dataset(tmp_path / "plain", 4, seed=8, size=64)
    assert [int(r["scene"]) for r in plain] == [0, 1, 2, 3]
