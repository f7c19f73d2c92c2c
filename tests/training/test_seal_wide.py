"""Generator 1.2: the plastic padlock family, wide mode (photo textures, camera effects, hands) and the
leave-one-out split helpers. Small images and counts: seconds on 2 cores."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import shared_data
from training.seals import ALL_BACKGROUND_NAMES, DEFECTS_BY_FAMILY, FAMILY_NAMES, generate_dataset, render_sample
from training.seals.holdout import HoldoutError, leave_one_out
from training.seals.wide import PHOTO_BACKGROUNDS, occlude, occluder_mask, wide_camera

SIZE = 96


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Texture photos: the real ImageNet samples when present; the tests skip without them."""
    folder = shared_data("imagenet-samples") / "images"
    mp = pytest.MonkeyPatch()
    mp.setenv("TILIK_SEAL_PHOTOS", str(folder))
    yield folder
    mp.undo()


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_padlock_family_renders_every_defect_inside_its_mask():
    assert "plastic_padlock" in FAMILY_NAMES
    assert set(DEFECTS_BY_FAMILY["plastic_padlock"]) == {"cut", "crack", "missing"}
    seed = 11
    intact, _, _ = render_sample(np.random.default_rng(seed), "intact", "plastic_padlock", None, "hasp_grey",
                                 "daylight", SIZE)
    for defect in DEFECTS_BY_FAMILY["plastic_padlock"]:
        img, mask, meta = render_sample(np.random.default_rng(seed), "damaged", "plastic_padlock", defect,
                                        "hasp_grey", "daylight", SIZE)
        assert img.shape == (SIZE, SIZE, 3) and meta["defect"] == defect
        assert mask is not None and 0 < (mask > 0).mean() < 0.9
        # a defect is a local edit: outside its (slightly grown) mask the twin is nearly unchanged
        import cv2
        grown = cv2.dilate(mask, np.ones((9, 9), np.uint8)) > 0
        diff = np.abs(img.astype(int) - intact.astype(int)).max(axis=2)
        assert diff[grown].mean() > diff[~grown].mean()


def test_wide_mode_is_deterministic_and_differs_from_narrow(photos, tmp_path):
    a, b, n = tmp_path / "a", tmp_path / "b", tmp_path / "n"
    generate_dataset(a, 12, seed=5, size=SIZE, wide=True)
    generate_dataset(b, 12, seed=5, size=SIZE, wide=True, workers=2)
    generate_dataset(n, 12, seed=5, size=SIZE)
    fa = _files(a)
    assert fa == _files(b)
    assert fa["intact/seal_000000.jpg"] != _files(n)["intact/seal_000000.jpg"]
    rows = list(csv.DictReader(open(a / "labels.csv", encoding="utf-8")))
    assert {r["occluded"] for r in rows} <= {"0", "1"}


def test_photo_backgrounds_render_only_in_wide_mode(photos, tmp_path):
    assert set(PHOTO_BACKGROUNDS) <= set(ALL_BACKGROUND_NAMES)
    for bg in PHOTO_BACKGROUNDS:
        img, _, meta = render_sample(np.random.default_rng(2), "intact", "bolt", None, bg, "overcast", SIZE, wide=True)
        assert meta["background"] == bg and img.std() > 5
        with pytest.raises(ValueError, match="wide"):
            render_sample(np.random.default_rng(2), "intact", "bolt", None, bg, "overcast", SIZE)
    with pytest.raises(ValueError, match="wide"):
        generate_dataset(tmp_path / "x", 2, seed=1, size=SIZE, backgrounds="photo_surface")


def test_missing_photo_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TILIK_SEAL_PHOTOS", str(tmp_path / "nothing-here"))
    with pytest.raises(ValueError, match="TILIK_SEAL_PHOTOS"):
        render_sample(np.random.default_rng(1), "intact", "bolt", None, "photo_surface", "overcast", SIZE, wide=True)


def test_wide_camera_adds_its_effects_over_many_draws():
    seen = {"glare": 0, "low_jpeg": 0, "motion": 0, "defocus": 0}
    for i in range(200):
        p = dict(gain=np.ones(3), motion=False, defocus=False, jpeg=90)
        wide_camera(np.random.default_rng(i), p)
        seen["glare"] += "glare" in p
        seen["low_jpeg"] += p["jpeg"] <= 50
        seen["motion"] += p["motion"]
        seen["defocus"] += p["defocus"]
        assert not np.allclose(p["gain"], 1.0)   # white balance always moves
    assert all(20 <= v <= 80 for v in seen.values()), seen


def test_occluder_keeps_off_the_defect():
    S = 96
    frame = np.full((S, S, 3), 0.5, np.float32)
    mask = np.zeros((S, S), np.uint8)
    mask[40:56, 40:56] = 255
    drawn = 0
    for i in range(40):
        f = frame.copy()
        if occlude(f, np.random.default_rng(i), mask):
            drawn += 1
            assert np.allclose(f[40:56, 40:56], 0.5, atol=1e-3)   # the defect is still visible
            assert not np.allclose(f, 0.5)
    assert drawn > 10
    m, col = occluder_mask(np.random.default_rng(0), S)
    assert m.dtype == np.uint8 and 0 < (m > 0).mean() < 0.6 and len(col) == 3


def _rows():
    rows = []
    for scene in range(24):
        fam = ["strip", "bolt", "label"][scene % 3]
        bg = ["steel", "wood"][scene % 2]
        for label in ("intact", "damaged"):
            rows.append(dict(family=fam, background=bg, scene=str(scene), label=label))
    return rows


def test_leave_one_family_out_never_puts_a_family_or_scene_on_both_sides():
    rows = _rows()
    splits = leave_one_out(rows, "family", min_test=4)
    assert [v for v, _, _ in splits] == ["bolt", "label", "strip"]
    for value, train, test in splits:
        assert set(train).isdisjoint(test) and len(train) + len(test) == len(rows)
        assert {rows[i]["family"] for i in test} == {value}
        assert value not in {rows[i]["family"] for i in train}
        assert {rows[i]["scene"] for i in train}.isdisjoint({rows[i]["scene"] for i in test})


def test_leave_one_out_refuses_what_it_cannot_split_honestly():
    rows = _rows()
    rows[1]["family"] = "other"    # scene 0's damaged twin now has another family: it would straddle
    with pytest.raises(HoldoutError, match="both sides"):
        leave_one_out(rows, "family")
    with pytest.raises(HoldoutError, match="no 'colour' column"):
        leave_one_out(_rows(), "colour")
    one = [dict(r, family="strip") for r in _rows()]
    with pytest.raises(HoldoutError, match="only one"):
        leave_one_out(one, "family")
    single_class = [r for r in _rows() if not (r["family"] == "bolt" and r["label"] == "damaged")]
    assert "bolt" not in [v for v, _, _ in leave_one_out(single_class, "family", min_test=4)]
