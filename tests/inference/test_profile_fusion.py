"""Seal profiles of format 2 (issue 25): the fused score (patch distance + the pack's classifier, both
standardised on the enrolled photos), and format-1 profiles, made before it, still read and judged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.inspector import Inspector, clear_session_cache
from inference.profiles import ProfileError, ProfileStore
from inference.profiles.bank import alarm_logits, fuse, spread
from inference.profiles.enrol import enrol
from inference.profiles.store import FORMAT, content_hash
from inference.registry import check_pack
from tests.profile_fixtures import green_photo, with_red_blob, write_profile_pack


def test_fuse_standardises_both_parts_on_the_enrolled_values():
    distances = np.array([1.0, 1.2, 0.8, 1.1, 0.9])
    p = np.array([0.1, 0.2, 0.05, 0.15, 0.1])
    stats = {"distance": spread(distances, "distance"), "classifier": spread(alarm_logits(p), "classifier")}
    z = fuse(distances, p, stats, 0.0)
    assert z.mean() == pytest.approx(0.0, abs=1e-9) and z.std(ddof=1) == pytest.approx(1.0)
    both = fuse(distances, p, stats, 1.0)
    zc = (alarm_logits(p) - alarm_logits(p).mean()) / alarm_logits(p).std(ddof=1)
    np.testing.assert_allclose(both, z + zc, atol=1e-9)
    # A photo far from the enrolled ones on either part scores high.
    assert fuse(np.array([2.0]), np.array([0.1]), stats, 1.0)[0] > both.max()
    assert fuse(np.array([1.0]), np.array([0.99]), stats, 1.0)[0] > both.max()


def test_a_spread_never_collapses_to_zero():
    same = spread(np.full(20, 0.5), "distance")
    assert same["std"] == pytest.approx(0.5e-3)
    sure = spread(alarm_logits(np.full(20, 1e-9)), "classifier")  # a classifier certain of every photo
    assert sure["std"] == pytest.approx(0.25) and sure["mean"] == pytest.approx(float(alarm_logits(np.array([1e-6]))[0]))


@pytest.fixture()
def pack(tmp_path, monkeypatch):
    monkeypatch.setenv("TILIK_PROFILES_DIR", str(tmp_path / "profiles"))
    clear_session_cache()
    return check_pack(write_profile_pack(tmp_path / "packs"), "user")


def _enrol(pack, name="Gate 7"):
    rng = np.random.default_rng(11)
    inspector = Inspector(pack)
    return inspector, enrol(inspector, name, [green_photo(rng) for _ in range(12)]).profile


def test_a_new_profile_is_fused_and_records_how(pack):
    inspector, profile = _enrol(pack)
    c = profile.content
    assert json.loads((profile.folder / "profile.json").read_text())["format"] == FORMAT == "tilik-seal-profile/2"
    assert c["score"]["method"] == "fused" and c["score"]["weight"] == 1.0
    assert c["score"]["alarming"] == ["red"] and c["score"]["classifier_output"] == "probs"
    assert len(c["enrol_scores"]) == len(c["enrol_distances"]) == 12
    # The threshold is the 98th percentile of the enrolled photos' fused fold scores.
    assert profile.threshold == pytest.approx(float(np.quantile(c["enrol_scores"], 0.98)), abs=1e-5)
    assert c["distance_threshold"] == pytest.approx(float(np.quantile(c["enrol_distances"], 0.98)), abs=1e-5)
    inspector.use_profile(profile)
    rng = np.random.default_rng(5)
    intact = inspector.classify(green_photo(rng))
    damaged = inspector.classify(with_red_blob(green_photo(rng)))
    assert not intact.profile.damaged and damaged.profile.damaged
    assert damaged.profile.distance > c["distance_threshold"] > intact.profile.distance
    row = damaged.to_json_dict()
    assert row["anomaly_score"] == pytest.approx(damaged.profile.anomaly_score, abs=1e-5)
    assert row["profile"]["patch_distance"] == pytest.approx(damaged.profile.distance, abs=1e-5)
    # The fused score is the profile's z-score plus the classifier's, recomputed here from the result.
    s = c["score"]
    expected = fuse(np.array([damaged.profile.distance]), np.array([damaged.probabilities["red"]]), s, s["weight"])[0]
    assert damaged.profile.anomaly_score == pytest.approx(expected, rel=1e-4)


def _as_format_1(profile) -> None:
    """Rewrite a profile on disk as Tilik wrote format 1 (distance alone), with a valid hash."""
    path = profile.folder / "profile.json"
    doc = json.loads(path.read_text())
    c = doc["content"]
    c["threshold"] = c.pop("distance_threshold")
    c["enrol_scores"] = c.pop("enrol_distances")
    del c["score"]
    doc.update(format="tilik-seal-profile/1", sha256=content_hash(c))
    path.write_text(json.dumps(doc))


def test_a_format_1_profile_still_judges_by_distance_and_verifies_records(pack):
    inspector, profile = _enrol(pack)
    _as_format_1(profile)
    store = ProfileStore()
    old = store.get(profile.name)
    assert "score" not in old.content and old.sha256 != profile.sha256
    inspector.use_profile(old)
    rng = np.random.default_rng(5)
    damaged = inspector.classify(with_red_blob(green_photo(rng)))
    assert damaged.profile.distance is None and damaged.profile.anomaly_score > old.threshold
    assert "patch_distance" not in damaged.to_json_dict()["profile"]
    assert damaged.decision.threshold == pytest.approx(old.threshold)
    retired = store.retire(old.name)
    assert store.verify_record(retired.id, old.sha256).name == old.name


def test_a_profile_of_an_unknown_format_is_refused_plainly(pack):
    _, profile = _enrol(pack)
    path = profile.folder / "profile.json"
    doc = json.loads(path.read_text())
    doc["format"] = "tilik-seal-profile/9"
    path.write_text(json.dumps(doc))
    with pytest.raises(ProfileError, match="uses format 'tilik-seal-profile/9', which this Tilik does not read"):
        ProfileStore().get(profile.name)
