"""``tilik log verify --central``: re-check every station's chain as the server holds it, with the
same canonical hashing as :mod:`inference.log.chain`, and name the first broken row.

Per station: positions 1, 2, 3… with no gap; each ``doc`` is canonical JSON of a row of the table,
position and id the row claims, and ``hash = SHA-256(previous hash ‖ doc)``; the station's
registered first-row hash matches; every push's recorded head is still in the chain (so deleting
the newest rows is caught); every file a row names is on the server with that SHA-256; every signed
head the station pushed verifies with the public key recorded for it and names the evidence row at
its position (:mod:`inference.log.central.heads`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from inference.log import chain
from inference.log.central.heads import HeadReport, check_station
from inference.log.models import TABLE_NOUNS
from inference.log.schema import GENESIS_HASH

FETCH = 5000


@dataclass
class StationStatus:
    name: str
    ok: bool = True
    rows: int = 0
    inspections: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    first_broken: dict[str, Any] | None = None
    refused_pushes: list[dict[str, Any]] = field(default_factory=list)
    files_checked: int = 0
    signed_head: HeadReport = field(default_factory=HeadReport)

    def broken(self, seq: int | None, table: str | None, row_id: Any, reason: str) -> None:
        if self.first_broken is None or (seq is not None and (self.first_broken["seq"] or 0) > seq):
            self.ok = False
            self.first_broken = {"seq": seq, "table": table, "id": row_id, "reason": reason}

    @property
    def where(self) -> str:
        fb = self.first_broken or {}
        if fb.get("table"):
            return f"{TABLE_NOUNS.get(fb['table'], fb['table'])} {fb['id']} (chain position {fb['seq']})"
        if fb.get("seq") is None:
            return "its signing keys and signed heads"
        return f"chain position {fb.get('seq')}"

    def as_json(self) -> dict[str, Any]:
        return {"inspections": self.inspections, "rows": self.rows, "ok": self.ok,
                "head": f"{self.head_seq}:{self.head_hash}", "first_broken": self.first_broken,
                "refused_pushes": self.refused_pushes, "signed_head": self.signed_head.as_json()}


@dataclass
class CentralStatus:
    stations: dict[str, StationStatus]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stations.values())

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "stations": {n: s.as_json() for n, s in self.stations.items()}}


def _noun(table: str, row_id: Any) -> str:
    return f"{TABLE_NOUNS.get(table, table)} {row_id}"


def _check_row(status: StationStatus, prev: str, seq: int, table: str, row_id: int, stored: str, doc: str,
               consistent: bool | None, deep: bool) -> bool:
    """One row: its columns agree with its content, and ``hash = SHA-256(prev ‖ doc)`` — the
    chain's formula (:func:`inference.log.chain.row_hash`) over the exact text the station hashed.
    ``deep`` also re-encodes the content with :func:`inference.log.chain.canonical_json` (proving
    it is canonical, as the station's own verifier needs)."""
    noun = f"{_noun(table, row_id)} of station {status.name}"
    if not deep:
        if not consistent:
            status.broken(seq, table, row_id, f"{noun} (chain position {seq}): its table, position or id column no "
                          "longer matches its content: it was edited on the server.")
            return False
        if hashlib.sha256((prev + doc).encode("utf-8")).hexdigest() != stored:
            status.broken(seq, table, row_id, f"{noun} (chain position {seq}) does not match its hash: it was edited "
                          "on the server, or the row before it was rewritten or removed.")
            return False
        return True
    try:
        row = json.loads(doc)
    except ValueError:
        status.broken(seq, table, row_id, f"{noun} (chain position {seq}): its content is no longer valid JSON: "
                      "it was edited on the server.")
        return False
    if not isinstance(row, dict) or row.get("_table") != table or row.get("seq") != seq or row.get("id") != row_id:
        status.broken(seq, table, row_id, f"{noun} (chain position {seq}): its table, position or id column no longer "
                      "matches its content: it was edited on the server.")
        return False
    table_name = row.pop("_table")
    try:
        canonical = chain.canonical_json(table_name, row)
    except (TypeError, ValueError) as exc:
        status.broken(seq, table, row_id, f"{noun} (chain position {seq}) holds a value that cannot be part of the log ({exc}).")
        return False
    if canonical != doc or chain.row_hash(prev, table_name, row) != stored:
        status.broken(seq, table, row_id, f"{noun} (chain position {seq}) does not match its hash: it was edited on "
                      "the server, or the row before it was rewritten or removed.")
        return False
    return True


# Every (file column, SHA-256 column) pair the chained tables have, read from the jsonb copy.
_FILE_PAIRS = sorted({(f, h) for cols in chain.FILE_COLUMNS.values() for f, h, _ in cols})
_FILE_SELECT = "".join(f", body ->> '{f}', body ->> '{h}'" for f, h in _FILE_PAIRS)


def verify_station(conn: Any, name: str, genesis: str, *, check_files: bool = True, deep: bool = False) -> StationStatus:
    """Walk one station's chain on the server (streamed; memory stays flat)."""
    status = StationStatus(name)
    prev, expected = GENESIS_HASH, 1
    files: dict[str, tuple[int, str, int, str]] = {}  # sha256 -> first (seq, table, id, what)
    # Each push recorded the head it left: the chain must still have those exact rows.
    pushed = dict(conn.execute("SELECT head_seq, head_hash FROM tilik.pushes WHERE station = %s", (name,)).fetchall())
    with conn.transaction(), conn.cursor(name="tilik_verify") as cur:
        cur.itersize = FETCH
        cur.execute("SELECT seq, tbl, row_id, hash, doc, (body ->> '_table' = tbl AND body ->> 'seq' = seq::text "
                    f"AND body ->> 'id' = row_id::text){_FILE_SELECT} FROM tilik.evidence WHERE station = %s "
                    "ORDER BY seq", (name,))
        for seq, table, row_id, stored, doc, consistent, *file_values in cur:
            if seq != expected:
                status.broken(seq, table, row_id, f"chain position {expected} of station {name} is missing: a row was "
                              f"deleted on the server just before {_noun(table, row_id)}.")
                break
            if not _check_row(status, prev, seq, table, row_id, stored, doc, consistent, deep):
                break
            if seq == 1 and stored != genesis:
                status.broken(1, table, row_id, f"station {name}'s registered first row no longer matches its chain: "
                              "the station record was edited on the server.")
                break
            if seq in pushed and pushed[seq] != stored:
                status.broken(seq, table, row_id, f"{_noun(table, row_id)} of station {name} (chain position {seq}) is "
                              "not the row the station pushed there (a push recorded another hash): the chain was "
                              "rewritten on the server.")
                break
            if check_files and table in chain.FILE_COLUMNS:
                row = dict(zip((c for pair in _FILE_PAIRS for c in pair), file_values))
                for file_col, sha_col, what in chain.FILE_COLUMNS[table]:
                    if row.get(file_col) and row.get(sha_col):
                        files.setdefault(row[sha_col], (seq, table, row_id, what))
            prev, expected = stored, seq + 1
            status.rows += 1
            status.inspections += table == "inspections"
    status.head_seq, status.head_hash = expected - 1, prev
    if status.ok and pushed:
        top = max(pushed)
        if top > status.head_seq:
            status.broken(status.head_seq + 1, None, None,
                          f"a push recorded station {name} up to chain position {top}, but the server's chain ends "
                          f"at {status.head_seq}: the newest rows were deleted on the server.")
    if check_files and files:
        shas = list(files)
        present: dict[str, bool] = {}
        for start in range(0, len(shas), 1000):
            chunk = shas[start:start + 1000]
            for sha, good in conn.execute("SELECT sha256, encode(sha256(data), 'hex') = sha256 FROM tilik.media "
                                          "WHERE sha256 = ANY(%s)", (chunk,)):
                present[sha] = bool(good)
        status.files_checked = len(present)
        for sha, (seq, table, row_id, what) in sorted(files.items(), key=lambda kv: kv[1][0]):
            if sha not in present:
                status.broken(seq, table, row_id, f"the {what} of {_noun(table, row_id)} of station {name} is not on "
                              "the server.")
                break
            if not present[sha]:
                status.broken(seq, table, row_id, f"the {what} of {_noun(table, row_id)} of station {name} was "
                              "replaced or damaged on the server: its SHA-256 no longer matches.")
                break
    status.signed_head = check_station(conn, name)
    if not status.signed_head.ok:
        status.broken(status.signed_head.problem_seq, None, None, status.signed_head.problem or "")
    for rid, at, by_user, first, server_head, local_head, reason in conn.execute(
            "SELECT id, at, by_user, first_differs, server_head, local_head, reason FROM tilik.refused_pushes "
            "WHERE station = %s ORDER BY id", (name,)):
        status.refused_pushes.append({"id": rid, "at": at.isoformat(), "by": by_user, "first_differs": first,
                                      "server_head": server_head, "local_head": local_head, "reason": reason})
    return status


def verify_central(conn: Any, station: str | None = None, *, check_files: bool = True,
                   deep: bool = False) -> CentralStatus:
    """Verify every station (or one) on the server. Raises :class:`CentralError` for an unknown station."""
    from inference.log.central.errors import CentralError

    rows = conn.execute("SELECT name, genesis_hash FROM tilik.stations ORDER BY name").fetchall()
    if station is not None:
        rows = [r for r in rows if r[0] == station]
        if not rows:
            raise CentralError(f"The central server holds no station named {station!r}.")
    return CentralStatus({name: verify_station(conn, name, genesis, check_files=check_files, deep=deep)
                          for name, genesis in rows})
