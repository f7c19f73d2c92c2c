"""Shared signature references: enrolled once at one station, usable at every station.

References and their retirements are evidence rows, so they reach the server with the station's
log (``tilik refs push`` is a push of the log). ``tilik refs pull --customer ID`` brings a
customer's references from the server into this station's log as new chained rows that name the
station they were enrolled at, their id and row hash there (``origin_*`` columns), with the
image; a retirement made anywhere is brought along too (who, when, why, and where). Pulling again
adds nothing new. Offline, the station keeps working with the references it already has.

A reference's identity across stations is (station it was enrolled at, its id there): a copy
pulled to station B and pulled again from B by C is still the same reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from inference.log.central.config import CentralConfig
from inference.log.central.errors import CentralError, SchemaTooOld
from inference.log.central.schema import CURRENT_VERSION, server_version

Identity = tuple[str, int]


@dataclass(frozen=True)
class PullResult:
    customer_id: str
    added: int
    retired: int
    already_here: int

    def text(self) -> str:
        return (f"Customer {self.customer_id}: {self.added} reference(s) added from the central server, "
                f"{self.retired} retirement(s) applied, {self.already_here} already here.")


def _identity(station: str, row: dict[str, Any]) -> Identity:
    if row.get("origin_station"):
        return str(row["origin_station"]), int(row["origin_id"])
    return station, int(row["id"])


@dataclass(frozen=True)
class SharedReferences:
    """What the server holds about one customer's references (fetched; nothing written yet)."""

    customer_id: str
    refs: dict[Identity, tuple[str, str, dict[str, Any], bytes | None]]  # -> (station, row hash, row, image)
    retirements: dict[Identity, tuple[str, dict[str, Any]]]  # -> (station it was retired at, row)


def fetch_shared(config: CentralConfig, customer_id: str, *, conn: Any = None) -> SharedReferences:
    """Read a customer's references, their images and retirements from the server (read only;
    safe on any thread). :class:`CentralUnavailable` when the server cannot be reached."""
    customer = (customer_id or "").strip()
    if not customer:
        raise CentralError("Say which customer's references to pull (--customer ID).")
    own = conn is None
    conn = config.connect(connect_timeout=5) if own else conn
    try:
        if server_version(conn) < CURRENT_VERSION:
            raise SchemaTooOld(f"The central server {config.shown} has no Tilik schema yet.")
        remote = conn.execute(
            "SELECT station, row_id, hash, doc FROM tilik.evidence WHERE tbl = 'signature_references' "
            "AND body ->> 'customer_id' = %s ORDER BY station, row_id", (customer,)).fetchall()
        refs: dict[Identity, tuple[str, str, dict[str, Any], bytes | None]] = {}
        where: dict[tuple[str, int], Identity] = {}
        for st, row_id, h, doc in remote:
            row = json.loads(doc)
            ident = _identity(st, row)
            where[(st, row_id)] = ident
            # Prefer the row at the station that enrolled it (the original), else any copy.
            if ident not in refs or st == ident[0]:
                refs[ident] = (st, h, row, None)
        for ident, (st, h, row, _) in list(refs.items()):
            image = conn.execute("SELECT data FROM tilik.media WHERE sha256 = %s", (row["image_file_sha256"],)).fetchone()
            refs[ident] = (st, h, row, None if image is None else bytes(image[0]))
        retirements: dict[Identity, tuple[str, dict[str, Any]]] = {}
        if where:
            keys = list(where)
            for st, doc in conn.execute(
                    "SELECT e.station, e.doc FROM tilik.evidence e JOIN unnest(%s::text[], %s::bigint[]) AS k(station, id) "
                    "ON e.station = k.station AND (e.body ->> 'reference_id')::bigint = k.id "
                    "WHERE e.tbl = 'reference_retirements' ORDER BY e.station, e.row_id",
                    ([k[0] for k in keys], [k[1] for k in keys])):
                row = json.loads(doc)
                ident = where[(st, int(row["reference_id"]))]
                # The retirement made first anywhere is the one recorded.
                if ident not in retirements or row["time_utc"] < retirements[ident][1]["time_utc"]:
                    retirements[ident] = (row.get("origin_station") or st, row)
        return SharedReferences(customer, refs, retirements)
    finally:
        if own:
            conn.close()


def apply_shared(log: Any, shared: SharedReferences, station: str) -> PullResult:
    """Add to ``log`` (this station is ``station``) the references and retirements it lacks.
    Pulling the same thing again adds nothing."""
    mine = {}
    for ref in log.references(shared.customer_id, include_retired=True):
        ident = (ref.origin_station, ref.origin_id) if ref.origin_station else (station, ref.id)
        mine[ident] = ref
    added = retired = 0
    for ident, (st, h, row, image) in sorted(shared.refs.items()):
        if ident in mine or ident[0] == station:
            continue
        if image is None:
            raise CentralError(f"The image of reference {ident[1]} from station {ident[0]} is not on the central "
                               "server; it was not added.")
        values = dict(row)
        values.update(origin_station=ident[0], origin_id=ident[1], origin_hash=row.get("origin_hash") or h)
        ext = PurePosixPath(str(row.get("image_file") or "x.png")).suffix or ".png"
        mine[ident] = log.adopt_reference(values, image, ext)
        added += 1
    for ident, (origin, row) in sorted(shared.retirements.items()):
        ref = mine.get(ident)
        if ref is None or ref.retired:
            continue
        log.adopt_retirement(ref.id, time_utc=row["time_utc"], utc_offset_min=row["utc_offset_min"],
                             retired_by=row["retired_by"], why=row["why"], origin_station=origin)
        retired += 1
    return PullResult(shared.customer_id, added, retired, len(shared.refs) - added)


def pull_references(log: Any, config: CentralConfig, customer_id: str, station: str, *, conn: Any = None) -> PullResult:
    """Bring customer ``customer_id``'s references (and retirements) from the server into ``log``
    (this station is ``station``: its own rows on the server are already here)."""
    return apply_shared(log, fetch_shared(config, customer_id, conn=conn), station)
