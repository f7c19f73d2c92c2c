"""Shared references: enrolled at branch A, pulled and used at branch B, retirements travelling
both ways, nothing duplicated by pulling twice or through a third station; the local migration
that records a reference's origin upgrades a v2 file with its chain intact."""

from __future__ import annotations

import sqlite3

import pytest

from central_helpers import station_config
from inference.errors import StorageError
from inference.log import InspectionLog, SignatureFields, ValidationError
from inference.log.central.push import push
from inference.log.central.refs import pull_references
from inference.log.central.verify import verify_central
from inference.log.schema import CURRENT_VERSION, MIGRATIONS
from log_helpers import noisy, png_bytes, synthetic_result


def _push(log, central_db, station):
    return push(log.path, log.media_root, station_config(central_db), station)


def _pull(log, central_db, customer, station):
    return pull_references(log, station_config(central_db), customer, station)


def test_references_enrolled_at_one_branch_are_usable_at_another(tmp_path, central_db):
    with InspectionLog.open(tmp_path / "a.sqlite3") as a, InspectionLog.open(tmp_path / "b.sqlite3") as b, \
            InspectionLog.open(tmp_path / "c.sqlite3") as c:
        images = [png_bytes(noisy(s)) for s in (1, 2, 3)]
        refs = [a.enrol_reference("ACC-7", img, "teller ana", "account form") for img in images]
        a.enrol_reference("ACC-8", png_bytes(noisy(9)), "teller ana", "account form")
        a.retire_reference(refs[2].id, by="ana", why="customer's new signature")
        _push(a, central_db, "branch-a")

        got = _pull(b, central_db, "ACC-7", "branch-b")
        assert (got.added, got.retired) == (3, 1)
        here = b.references("ACC-7", include_retired=True)
        assert [r.origin_station for r in here] == ["branch-a"] * 3
        assert [r.origin_id for r in here] == [r.id for r in refs]
        assert [r.image_sha256 for r in here] == [r.image_sha256 for r in refs]
        assert [r.enrolled_by for r in here] == ["teller ana"] * 3
        assert [r.retired for r in here] == [False, False, True] and here[2].retired_why == "customer's new signature"
        assert b.stored_image_path(here[0]).read_bytes() == images[0]
        assert b.references("ACC-8") == []  # only the customer asked for
        # Usable in a check at branch B, like a reference enrolled there.
        rec = b.record_result(synthetic_result(5), mode="signature",
                              signature=SignatureFields(customer_id="ACC-7", reference_ids=(here[0].id, here[1].id)))
        assert rec.signature.reference_ids == (here[0].id, here[1].id)
        with pytest.raises(ValidationError, match="retired"):
            b.record_result(synthetic_result(6), mode="signature",
                            signature=SignatureFields(customer_id="ACC-7", reference_ids=(here[2].id,)))
        assert b.verify_chain().ok

        again = _pull(b, central_db, "ACC-7", "branch-b")
        assert (again.added, again.retired, again.already_here) == (0, 0, 3)

        # B retires one; the retirement travels back to A, naming B.
        b.retire_reference(here[0].id, by="bob", why="forgery reported")
        _push(b, central_db, "branch-b")
        back = _pull(a, central_db, "ACC-7", "branch-a")
        assert (back.added, back.retired) == (0, 1)
        mine = a.get_reference(refs[0].id)
        assert mine.retired and mine.retired_by == "bob" and mine.retired_why == "forgery reported"

        # A third branch sees each reference once (B's copies are the same references).
        third = _pull(c, central_db, "ACC-7", "branch-c")
        assert (third.added, third.retired) == (3, 2)
        assert sorted(r.origin_id for r in c.references("ACC-7", include_retired=True)) == sorted(r.id for r in refs)
    with central_db.admin() as admin:
        assert verify_central(admin).ok


def test_pull_needs_the_server_and_changes_nothing_without_it(tmp_path):
    from inference.log.central.config import resolve
    from inference.log.central.errors import CentralUnavailable
    from pg_cluster import free_port

    with InspectionLog.open(tmp_path / "b.sqlite3") as b:
        b.enrol_reference("ACC-7", png_bytes(noisy(1)), "clerk", "form")
        config = resolve(f"postgresql://x@127.0.0.1:{free_port()}/tilik", env={"TILIK_CENTRAL_PASSWORD": "x"})
        with pytest.raises(CentralUnavailable, match="Cannot reach"):
            pull_references(b, config, "ACC-7", "branch-b")
        assert len(b.references("ACC-7")) == 1 and b.verify_chain().ok  # offline: what it had, intact


def test_a_v2_log_upgrades_to_shared_references_with_its_chain_intact(tmp_path):
    db = tmp_path / "v2.sqlite3"
    with InspectionLog.open(db, _schema_version=2) as old:  # the file as released today (MIGRATIONS[:2])
        assert old.schema_version == MIGRATIONS[1].version
        ref = old.enrol_reference("ACC-1", png_bytes(noisy(3)), "clerk", "form")
        old.retire_reference(ref.id, by="clerk", why="test")
        with pytest.raises(StorageError, match="too old for shared references"):
            old.adopt_reference({}, b"", ".png")
        head = old.head()
    with InspectionLog.open(db) as log:
        assert log.schema_version == CURRENT_VERSION and log.head() == head and log.verify_chain().ok
        assert log.get_reference(ref.id).origin_station is None
    conn = sqlite3.connect(db)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(signature_references)")}
    conn.close()
    assert {"origin_station", "origin_id", "origin_hash"} <= cols
