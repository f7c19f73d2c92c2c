"""A log of 100,000 inspections: counts, filters and paging to the very end stay correct (and
use the indexes). Speed itself is for benchmarks; the timings here are generous sanity bounds."""

from __future__ import annotations

import time

import pytest

from inference.log import InspectionLog, LogQuery
from log_helpers import bulk_fill, synthetic_result

N = 100_000


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    db = tmp_path_factory.mktemp("big") / "big.sqlite3"
    InspectionLog.open(db).close()
    bulk_fill(db, N)
    with InspectionLog.open(db) as log:
        extra = log.record_results([synthetic_result(i, "green") for i in range(3)], operator="late", mode="seal")
        log.add_review(extra[0], "confirm", by="sup")
        log.add_review(50, "overturn", by="sup", note="wrong", corrected_label="red")
        yield log


def test_counts_and_filters(big_log):
    assert big_log.count() == N + 3
    assert big_log.count(LogQuery(mode="seal")) == N // 4 + 3
    assert big_log.count(LogQuery(operator="op3")) == N // 5
    assert big_log.count(LogQuery(customer_id="ACC-2")) == 1000
    assert big_log.count(LogQuery(needs_review=True)) == N // 7
    assert big_log.count(LogQuery(reviewed=True)) == 2
    assert big_log.count(LogQuery(decision="overturn")) == 1
    assert big_log.count(LogQuery(start="2025-01-01T00:00:00+00:00", end="2025-01-02T00:00:00+00:00")) == 24 * 60 - 1


def test_offset_paging_reaches_the_end(big_log):
    total = big_log.count()
    t0 = time.perf_counter()
    last = big_log.query(LogQuery(offset=total - 10, limit=100))
    deep_ms = (time.perf_counter() - t0) * 1e3
    assert [r.id for r in last] == list(range(10, 0, -1))
    assert big_log.query(LogQuery(offset=total, limit=100)) == []
    assert deep_ms < 2000, f"deepest page took {deep_ms:.0f} ms"
    print(f"\ndeepest OFFSET page of {total} rows: {deep_ms:.1f} ms")


def test_keyset_paging_walks_a_filter_to_the_end(big_log):
    t0 = time.perf_counter()
    seen = [r.id for r in big_log.iter_records(LogQuery(customer_id="ACC-2"), page=100)]
    walk_s = time.perf_counter() - t0
    expected = [i for i in range(N, 0, -1) if i % 4 == 2 and i % 100 == 2]
    assert seen == expected  # every match once, in order, to the last page
    # Keyset pages stay cheap however deep: the last page of the whole table by cursor.
    t0 = time.perf_counter()
    page = big_log.query(LogQuery(mode="seal", after_id=8, limit=100))
    deep_ms = (time.perf_counter() - t0) * 1e3
    assert [r.id for r in page] == [4]
    print(f"\nkeyset walk over {len(seen)} matches: {walk_s:.2f} s; deepest keyset page {deep_ms:.1f} ms")


def test_filtered_queries_use_indexes(big_log):
    for where, index in (("mode = 'seal'", "inspections_mode"), ("customer_id = 'ACC-2'", "inspections_customer"),
                         ("container_number = 'X'", "inspections_container")):
        plan = " ".join(r[3] for r in big_log._conn.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM inspections WHERE {where} ORDER BY id DESC LIMIT 100"))
        assert index in plan, plan


def test_rows_recorded_after_the_bulk_chain_on(big_log):
    late = big_log.query(LogQuery(operator="late", newest_first=False))
    assert [r.seq for r in late] == [N + 1, N + 2, N + 3]
    assert late[0].latest_review.decision == "confirm"
    assert big_log.get(50).final_label == "red"
