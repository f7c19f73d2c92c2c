"""Seal profiles (issue 25): the memory bank, the store, enrol → classify, edited and retired profiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.errors import PackUnusableError
from inference.inspector import Inspector, clear_session_cache
from inference.profiles import ProfileError, ProfileStore
from inference.profiles.bank import build_bank, coreset_indices, fold_scores, nearest_distances, threshold_at
from inference.profiles.enrol import enrol
from inference.registry import check_pack
from tests.profile_fixtures import green_photo, manifest_of, with_red_blob, write_profile_pack


# -- the bank -------------------------------------------------------------------------------------
def test_nearest_distances_equal_brute_force():
    rng = np.random.default_rng(1)
    q, b = rng.normal(size=(300, 20)).astype(np.float32), rng.normal(size=(50, 20)).astype(np.float32)
    brute = np.sqrt(((q[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(q, b), brute, rtol=1e-4, atol=1e-4)


def test_coreset_covers_the_pool_better_than_a_random_subset():
    rng = np.random.default_rng(2)
    # Many near-duplicates plus a few rare patches: k-center keeps the rare ones.
    common = rng.normal(0, 0.1, (2000, 16))
    rare = rng.normal(5, 0.1, (10, 16))
    pool = np.concatenate([common, rare]).astype(np.float32)
    idx = coreset_indices(pool, 0.05, seed=0)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    worst = nearest_distances(pool, pool[idx]).max()
    random_idx = rng.choice(len(pool), 100, replace=False)
    assert worst < nearest_distances(pool, pool[random_idx]).max()
    assert worst < 1.0  # the rare cluster is covered


def test_fold_scores_and_threshold_come_from_the_enrolled_maps():
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(12, 4, 4, 8)).astype(np.float32)
    scores = fold_scores(maps, folds=4)
    assert scores.shape == (12,) and np.all(scores > 0)
    assert threshold_at(scores, 0.02) <= scores.max()
    assert threshold_at(scores, 0.5) == pytest.approx(float(np.median(scores)))
    bank = build_bank(maps)
    assert bank.dtype == np.float32 and bank.shape[1] == 8


# -- enrol → classify on a tiny pack ------------------------------------------------------------------
@pytest.fixture()
def pack(tmp_path, monkeypatch):
    monkeypatch.setenv("TILIK_PROFILES_DIR", str(tmp_path / "profiles"))
    clear_session_cache()
    folder = write_profile_pack(tmp_path / "packs")
    return check_pack(folder, "user")


def _enrolled(pack, name="Gate 3 green seals", n=12):
    rng = np.random.default_rng(7)
    inspector = Inspector(pack)
    photos = [green_photo(rng) for _ in range(n)]
    done = enrol(inspector, name, photos, names=[f"g{i}.png" for i in range(n)])
    return inspector, done


def test_enrol_then_classify_flags_the_departure_and_maps_it(pack):
    inspector, done = _enrolled(pack)
    profile = done.profile
    assert profile.threshold > 0 and len(profile.content["images"]) == 12 and not done.skipped
    assert profile.content["pack"]["model_sha256"] == pack.manifest.model.sha256
    assert len(profile.thumbnails()) == 12
    inspector.use_profile(profile)
    rng = np.random.default_rng(99)
    intact = inspector.classify(green_photo(rng))
    damaged = inspector.classify(with_red_blob(green_photo(rng)))
    assert intact.label == "green" and intact.profile.anomaly_score <= profile.threshold
    assert damaged.label == "red" and damaged.profile.anomaly_score > profile.threshold
    # The heatmap is the anomaly map: hot on the blob, cold elsewhere.
    heat = damaged.heatmap
    assert heat.shape == (32, 32)
    assert heat[20:30, 4:14].mean() > 0.9 and heat[:15, 16:].mean() < 0.5
    # The classifier sees a mostly green photo (no alarm) while the profile does: a person reviews.
    assert damaged.outcome == "review"
    assert [r.code for r in damaged.decision.reasons] == ["profile_disagrees"]
    notes = {n.code: n.params for n in damaged.decision.notes}
    assert notes["profile_judged"]["name"] == "Gate 3 green seals"
    assert notes["profile_judged"]["hash"] == profile.sha256
    assert damaged.decision.basis == "profile" and damaged.decision.threshold == pytest.approx(profile.threshold)
    row = damaged.to_json_dict()
    assert row["label"] == "red" and "red" in row["probabilities"]
    assert row["anomaly_score"] == pytest.approx(damaged.profile.anomaly_score, abs=1e-5)
    assert row["profile"]["name"] == profile.name and row["profile"]["id"] == profile.id
    assert row["profile"]["hash"] == profile.sha256
    assert row["decision"]["notes"][0]["code"] == "profile_judged"


def test_without_a_profile_no_patch_features_are_fetched_and_nothing_changes(pack):
    inspector = Inspector(pack)
    assert "patch_features" not in inspector._roles
    result = inspector.classify(green_photo(np.random.default_rng(0)))
    assert result.profile is None and "anomaly_score" not in result.to_json_dict()


def test_enrolment_needs_ten_usable_photos(pack):
    inspector = Inspector(pack)
    rng = np.random.default_rng(0)
    with pytest.raises(ProfileError, match="at least 10"):
        enrol(inspector, "few", [green_photo(rng) for _ in range(5)])
    blanks = [np.full((32, 32, 3), 128, np.uint8)] * 4
    with pytest.raises(ProfileError, match="Only 8 of the 12"):
        enrol(inspector, "blanks", [green_photo(rng) for _ in range(8)] + blanks)


def test_names_are_unique_among_active_profiles(pack):
    inspector, done = _enrolled(pack, "Dock A")
    rng = np.random.default_rng(1)
    with pytest.raises(ProfileError, match="already exists"):
        enrol(inspector, "dock a", [green_photo(rng) for _ in range(10)])


def test_a_profile_edited_on_disk_is_refused(pack):
    _, done = _enrolled(pack)
    store = ProfileStore()
    path = done.profile.folder / "profile.json"
    doc = json.loads(path.read_text())
    doc["content"]["threshold"] *= 3  # someone makes it quieter
    path.write_text(json.dumps(doc))
    with pytest.raises(ProfileError, match="changed on disk"):
        store.get(done.profile.name)
    listed = store.list()
    assert len(listed) == 1 and isinstance(listed[0], ProfileError)


def test_a_memory_bank_edited_on_disk_is_refused(pack):
    _, done = _enrolled(pack)
    bank = done.profile.folder / "bank.npy"
    data = bytearray(bank.read_bytes())
    data[-1] ^= 0x01
    bank.write_bytes(bytes(data))
    with pytest.raises(ProfileError, match="memory bank .* changed on disk"):
        ProfileStore().get(done.profile.name)


def test_a_retired_profile_judges_nothing_but_still_verifies_records(pack):
    inspector, done = _enrolled(pack)
    store = ProfileStore()
    retired = store.retire(done.profile.name)
    assert retired.retired and retired.sha256 == done.profile.sha256  # retiring does not change the hash
    assert store.list() == []
    assert [p.name for p in store.list(include_retired=True)] == [done.profile.name]
    with pytest.raises(ProfileError, match="no seal profile named"):
        store.get(done.profile.name)
    with pytest.raises(ProfileError, match="retired"):
        inspector.use_profile(retired)
    assert store.verify_record(done.profile.id, done.profile.sha256).name == done.profile.name
    with pytest.raises(ProfileError, match="SHA-256"):
        store.verify_record(done.profile.id, "0" * 64)


def test_a_profile_from_another_model_is_refused(pack, tmp_path):
    _, done = _enrolled(pack)
    other = write_profile_pack(tmp_path / "other", pack_id="colour-profiles")
    doc = manifest_of(other)
    assert doc["model"]["sha256"] == pack.manifest.model.sha256  # same bytes: same features
    done.profile.content["pack"]["model_sha256"] = "f" * 64  # (a copy in memory only)
    with pytest.raises(ProfileError, match="different model"):
        Inspector(pack).use_profile(done.profile)


def test_the_manifest_feature_output_is_validated(tmp_path):
    from tests.tiny_models import build_colour_model, colour_manifest, write_pack

    model = build_colour_model()
    # The probs output (2-D) named as patch features: refused when the pack is loaded.
    manifest = colour_manifest(model, pack_id="badfeat")
    manifest["outputs"]["patch_features"] = "probs"
    pack = check_pack(write_pack(tmp_path / "badfeat", model, manifest), "user")
    with pytest.raises(PackUnusableError, match="patch_features output must be N×H×W×C"):
        Inspector(pack)
    manifest["outputs"]["patch_features"] = "nope"
    pack = check_pack(write_pack(tmp_path / "badfeat2", model, manifest), "user")
    with pytest.raises(PackUnusableError, match="names output 'nope'"):
        Inspector(pack)


def test_profiles_need_a_pack_with_patch_features(pack, tmp_path):
    from tests.tiny_models import write_pack

    _, done = _enrolled(pack)
    plain = check_pack(write_pack(tmp_path / "plain"), "user")
    with pytest.raises(ProfileError, match="no patch features"):
        Inspector(plain).use_profile(done.profile)
