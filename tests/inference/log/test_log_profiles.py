"""Records made with a seal profile (issue 25): its id, hash and anomaly score in the log; a retired
profile still verifies them; an old log upgrades with its chain intact."""

from __future__ import annotations

import sqlite3

import numpy as np

from inference.inspector import Inspector, clear_session_cache
from inference.log import InspectionLog
from inference.log.schema import CURRENT_VERSION, MIGRATIONS, user_version
from inference.profiles import ProfileStore
from inference.profiles.enrol import enrol
from inference.registry import check_pack
from tests.profile_fixtures import green_photo, with_red_blob, write_profile_pack

PROFILE_MIGRATION = next(m.version for m in MIGRATIONS if "profile_id" in m.sql)


def _setup(tmp_path):
    clear_session_cache()
    pack = check_pack(write_profile_pack(tmp_path / "packs"), "user")
    store = ProfileStore(tmp_path / "profiles")
    rng = np.random.default_rng(3)
    inspector = Inspector(pack)
    done = enrol(inspector, "Gate 3", [green_photo(rng) for _ in range(10)], store=store)
    return inspector, store, done.profile, rng


def test_records_carry_the_profile_and_a_retired_profile_still_verifies_them(tmp_path):
    inspector, store, profile, rng = _setup(tmp_path)
    with InspectionLog.open(tmp_path / "log.sqlite3") as log:
        plain = log.record_result(inspector.classify(green_photo(rng)))
        assert plain.profile is None
        inspector.use_profile(profile)
        result = inspector.classify(with_red_blob(green_photo(rng)))
        rec = log.record_result(result)
        got = log.get(rec.id)
        assert got.profile == {"id": profile.id, "sha256": profile.sha256,
                               "anomaly_score": result.profile.anomaly_score}
        assert got.decision.basis == "profile" and got.decision.notes[0].code == "profile_judged"
        assert store.verify_record(got.profile["id"], got.profile["sha256"]).name == "Gate 3"
        store.retire(profile.id)
        # retired: judges nothing, but the record still checks against it, and the log still verifies
        assert store.verify_record(got.profile["id"], got.profile["sha256"]).retired
        assert log.verify_chain().ok


def test_a_log_from_before_profiles_upgrades_and_keeps_its_chain(tmp_path):
    inspector, _, profile, rng = _setup(tmp_path)
    db = tmp_path / "old.sqlite3"
    with InspectionLog.open(db, _schema_version=PROFILE_MIGRATION - 1) as old:
        before = old.record_result(inspector.classify(green_photo(rng)))
    with InspectionLog.open(db) as log:
        assert log.schema_version == CURRENT_VERSION
        assert log.get(before.id).hash == before.hash and log.get(before.id).profile is None
        inspector.use_profile(profile)
        after = log.record_result(inspector.classify(green_photo(rng)))
        assert log.get(after.id).profile["id"] == profile.id
        status = log.verify_chain()
        assert status.ok and status.checked == 2
    conn = sqlite3.connect(db)
    assert user_version(conn) == CURRENT_VERSION
    conn.close()
