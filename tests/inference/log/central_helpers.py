"""Helpers for the central-copy tests: station logs with every kind of row, a hostile rewrite of
a local log (self-consistent chain), and the server's rows as a station sees them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inference.log import InspectionLog, SignatureFields, chain
from inference.log.central.config import resolve
from inference.log.schema import GENESIS_HASH, chained_tables, user_version
from log_helpers import noisy, png_bytes, synthetic_result


def fill_station(log: InspectionLog, n: int, *, start: int = 0, customer: str = "ACC-1") -> None:
    """``n`` inspections plus a setting change, a reference (with its image), a signature check
    and a review: every chained table gets rows."""
    log.record_results([synthetic_result(start + i, "red" if i % 2 else "green") for i in range(n)],
                       operator="ana", station="gate 1", mode="general")
    log.set_setting("thumbnail_px", 200 + start, by="admin")
    ref = log.enrol_reference(customer, png_bytes(noisy(1000 + start)), "clerk", "account form")
    rec = log.record_result(synthetic_result(start + n), mode="signature",
                            signature=SignatureFields(customer_id=customer, reference_ids=(ref.id,), score=0.4,
                                                      threshold=0.5))
    log.add_review(rec.id, "confirm", by="chief")


def local_rows(path: Path) -> list[tuple[int, str, int, str]]:
    conn = sqlite3.connect(path)
    try:
        tables = chained_tables(user_version(conn))
        rows = [r for t in tables for r in conn.execute(f"SELECT seq, '{t}', id, hash FROM {t}")]
    finally:
        conn.close()
    return sorted(rows)


def server_rows(admin, station: str) -> list[tuple[int, str, int, str]]:
    return [tuple(r) for r in admin.execute(
        "SELECT seq, tbl, row_id, hash FROM tilik.evidence WHERE station = %s ORDER BY seq", (station,))]


def rewrite_local(path: Path, table: str, row_id: int, column: str, value) -> int:
    """What a dishonest station would do: edit a row and recompute every hash after it, so the
    local chain verifies again. Returns the edited row's seq."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        tables = chained_tables(user_version(conn))
        for t in tables:
            conn.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))
        edited = conn.execute(f"SELECT seq FROM {table} WHERE id = ?", (row_id,)).fetchone()[0]
        rows = []
        for t in tables:
            cur = conn.execute(f"SELECT * FROM {t}")
            names = [d[0] for d in cur.description]
            rows += [(dict(zip(names, v))["seq"], t, dict(zip(names, v))) for v in cur]
        prev = GENESIS_HASH
        for seq, t, row in sorted(rows, key=lambda x: x[0]):
            h = chain.row_hash(prev, t, row)
            conn.execute(f"UPDATE {t} SET hash = ? WHERE id = ?", (h, row["id"]))
            prev = h
        conn.execute("UPDATE chain_head SET hash = ? WHERE id = 1", (prev,))
        if "sig_value" in {r[1] for r in conn.execute("PRAGMA table_info(chain_head)")}:
            # The dishonest station holds its own signing key: it re-signs the rewritten head, so
            # only the central copy can tell (the gap docs/log.md says the server closes).
            from inference.log.store.db import station_signer

            head_seq = conn.execute("SELECT seq FROM chain_head WHERE id = 1").fetchone()[0]
            station_signer().sign(conn, head_seq, prev, "2025-01-01T00:00:00.000000Z")
    finally:
        conn.close()
    return edited


def station_config(central_db):
    return resolve(central_db.station_url, env=central_db.station_env)
