"""Enrolment copies of a seal profile (issue 25): the enrolled photos mirrored, turned and zoomed join
the bank (same bank size, so judging costs the same); profiles written before copies existed still
load, judge and verify records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.inspector import Inspector, clear_session_cache
from inference.profiles import ProfileStore
from inference.profiles.augment import check, copy_of
from inference.profiles.bank import build_bank, fold_scores
from inference.profiles.enrol import ENROL_COPIES, enrol
from inference.profiles.store import content_hash
from inference.registry import check_pack
from tests.profile_fixtures import green_photo, with_red_blob, write_profile_pack


def _scene() -> np.ndarray:
    img = np.zeros((64, 64, 3), np.uint8)
    img[:, :] = (40, 90, 160)
    img[10:20, 5:15] = (250, 250, 250)       # a white square up and left
    return img


def test_mirror_and_turns_keep_the_size_and_leave_no_empty_corner():
    img = _scene()
    np.testing.assert_array_equal(copy_of(img, "mirror"), img[:, ::-1])
    flat = np.full((48, 64, 3), (40, 90, 160), np.uint8)
    for spec in ("rotate:15", "rotate:-30", "zoom:1.15", "mirror+rotate:15"):
        out = copy_of(flat, spec)
        assert out.shape == flat.shape and out.dtype == np.uint8
        # a turned photo is cut inside its own frame: every pixel is still the photo's colour
        assert np.abs(out.astype(int) - flat.astype(int)).max() <= 1, spec
    turned = copy_of(img, "rotate:30")
    assert not np.array_equal(turned, img) and turned.max() > 200     # the white square is still in view


def test_zoom_magnifies_about_the_centre():
    img = np.zeros((60, 60, 3), np.uint8)
    img[25:35, 25:35] = 255
    assert (copy_of(img, "zoom:2") > 128).sum() > 3 * (img > 128).sum()


def test_copies_are_applied_left_to_right():
    img = _scene()
    np.testing.assert_array_equal(copy_of(img, "mirror+rotate:15"), copy_of(copy_of(img, "mirror"), "rotate:15"))


@pytest.mark.parametrize("bad", ["flip", "rotate", "rotate:90", "zoom:0.5", "mirror:2", "rotate:x", ""])
def test_an_unknown_copy_is_refused(bad):
    with pytest.raises(ValueError, match="not an enrolment copy"):
        check([bad])


def test_copies_change_which_patches_the_bank_keeps_not_how_many():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(10, 4, 4, 8)).astype(np.float32)
    copies = rng.normal(size=(3, 10, 4, 4, 8)).astype(np.float32) + 6.0   # far from every original
    plain, with_copies = build_bank(maps, 0.5), build_bank(maps, 0.5, copies=copies)
    assert plain.shape == with_copies.shape == (80, 8)
    # k-center keeps patches of the far cluster (copies) too
    assert (with_copies.mean(axis=1) > 3.0).any() and not (plain.mean(axis=1) > 3.0).any()


def test_a_held_out_photo_leaves_the_bank_with_its_copies():
    rng = np.random.default_rng(5)
    maps = rng.normal(size=(10, 3, 3, 8)).astype(np.float32)
    twins = maps[None].copy()                   # a copy identical to its photo
    scores = fold_scores(maps, folds=5, ratio=1.0, copies=twins)
    # had a photo's own copy stayed in the bank, its score would be 0
    assert np.all(scores > 0.1)
    np.testing.assert_allclose(scores, fold_scores(maps, folds=5, ratio=1.0), rtol=1e-5)


@pytest.fixture()
def pack(tmp_path, monkeypatch):
    monkeypatch.setenv("TILIK_PROFILES_DIR", str(tmp_path / "profiles"))
    clear_session_cache()
    return check_pack(write_profile_pack(tmp_path / "packs"), "user")


def _photos(n=12, seed=7):
    rng = np.random.default_rng(seed)
    return [green_photo(rng) for _ in range(n)]


def test_enrol_with_copies_records_them_and_still_flags_the_departure(pack):
    inspector = Inspector(pack)
    copies = ("mirror", "rotate:15", "rotate:-15")
    done = enrol(inspector, "with copies", _photos(), copies=copies)
    plain = enrol(inspector, "without copies", _photos(), copies=())
    c = done.profile.content
    assert c["enrol_copies"] == list(copies) and plain.profile.content["enrol_copies"] == []
    assert done.profile.summary()["enrol_copies"] == list(copies)        # tilik profile show
    assert done.profile.bank.shape == plain.profile.bank.shape
    assert len(c["images"]) == len(c["enrol_scores"]) == 12      # copies are not enrolled photos
    inspector.use_profile(done.profile)
    rng = np.random.default_rng(99)
    assert not inspector.classify(green_photo(rng)).profile.damaged
    assert inspector.classify(with_red_blob(green_photo(rng))).profile.damaged


def test_the_default_copies_are_valid_codes():
    assert check(ENROL_COPIES) == tuple(ENROL_COPIES)


def test_a_profile_written_before_copies_existed_still_judges_and_verifies(pack):
    """A format-2 profile without ``enrol_copies`` (as Tilik wrote it before) loads with its own hash,
    judges exactly as before, and records made with it still verify after it is retired."""
    inspector = Inspector(pack)
    profile = enrol(inspector, "old gate", _photos(), copies=()).profile
    path = profile.folder / "profile.json"
    doc = json.loads(path.read_text())
    del doc["content"]["enrol_copies"]
    doc["sha256"] = content_hash(doc["content"])
    path.write_text(json.dumps(doc))
    store = ProfileStore()
    old = store.get("old gate")
    assert "enrol_copies" not in old.content and old.sha256 == doc["sha256"] != profile.sha256
    assert old.summary()["enrol_copies"] == []
    rng = np.random.default_rng(3)
    photo = with_red_blob(green_photo(rng))
    inspector.use_profile(profile)
    before = inspector.classify(photo).profile
    inspector.use_profile(old)
    after = inspector.classify(photo).profile
    assert after.anomaly_score == pytest.approx(before.anomaly_score) and after.damaged == before.damaged
    retired = store.retire(old.name)
    assert store.verify_record(retired.id, old.sha256).name == "old gate"
