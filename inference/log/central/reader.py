"""The central copy read like a local log: ``tilik log list/show/export --central URL``.

:class:`CentralLog` offers the read side of :class:`~inference.log.InspectionLog` (``query``,
``count``, ``iter_records``, ``get``, ``reviews``, ``image_array``, ``heatmap_array``,
``verify_chain``), so the CSV and PDF exports work on it unchanged. Rows are rebuilt from the
canonical JSON the stations pushed (NULL columns were left out of it, so they come back as None;
columns added by later station migrations come along unchanged).

Inspection ids are per station: ``LogQuery.station`` selects the station a log was pushed from,
and :meth:`get` needs it when two stations have an inspection with the same id.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from inference.log import iso6346
from inference.log.central.config import CentralConfig
from inference.log.central.errors import CentralError, SchemaTooOld
from inference.log.central.schema import CURRENT_VERSION, server_version
from inference.log.central.verify import verify_central
from inference.log.media import decode_heatmap
from inference.log.models import (
    DECISIONS,
    MODES,
    ChainStatus,
    InspectionRecord,
    LogQuery,
    RecordNotFoundError,
    Review,
    ValidationError,
)
from inference.log.store.inspections import record_from_row
from inference.log.store.queries import TEXT_COLUMNS
from inference.log.store.reviews import review_from_row
from inference.log.store.values import time_bound

PAGE = 2000


class _Row(dict):
    """A row rebuilt from canonical JSON: columns that were NULL (left out) read as None."""

    def __missing__(self, key: str) -> None:
        return None


def _row(doc: str, row_hash: str) -> _Row:
    """A row as the station holds it: its canonical JSON plus its hash (which the JSON leaves out)."""
    row = _Row(json.loads(doc))
    row.pop("_table", None)
    row["hash"] = row_hash
    return row


def _where(q: LogQuery) -> tuple[str, list[Any]]:
    clauses = ["e.tbl = 'inspections'"]
    args: list[Any] = []
    start, end = time_bound(q.start), time_bound(q.end)
    if start is not None:
        clauses.append("e.body ->> 'time_utc' >= %s")
        args.append(start)
    if end is not None:
        clauses.append("e.body ->> 'time_utc' < %s")
        args.append(end)
    if q.mode is not None and q.mode not in MODES:
        raise ValidationError(f"Mode '{q.mode}' is not one of {', '.join(MODES)}.")
    if q.station is not None:
        clauses.append("e.station = %s")
        args.append(q.station)
    seal_number = q.seal_number.strip().upper() if q.seal_number else q.seal_number
    container = iso6346.normalize(q.container_number) if q.container_number else q.container_number
    for column, value in (("mode", q.mode), ("label", q.label), ("operator", q.operator), ("pack_id", q.pack_id),
                          ("seal_number", seal_number), ("container_number", container),
                          ("customer_id", q.customer_id), ("patient_ref", q.patient_ref),
                          ("image_sha256", q.image_sha256)):
        if value is not None:
            clauses.append(f"e.body ->> '{column}' = %s")
            args.append(value)
    if q.needs_review is not None:
        clauses.append("(e.body ->> 'needs_review')::int = %s")
        args.append(int(q.needs_review))
    reviews_of = ("FROM tilik.evidence r WHERE r.tbl = 'reviews' AND r.station = e.station "
                  "AND (r.body ->> 'inspection_id')::bigint = e.row_id")
    if q.reviewed is not None:
        clauses.append(("" if q.reviewed else "NOT ") + f"EXISTS (SELECT 1 {reviews_of})")
    if q.decision is not None:
        if q.decision == "unreviewed":
            clauses.append(f"NOT EXISTS (SELECT 1 {reviews_of})")
        elif q.decision in DECISIONS:
            clauses.append(f"(SELECT r.body ->> 'decision' {reviews_of} ORDER BY r.row_id DESC LIMIT 1) = %s")
            args.append(q.decision)
        else:
            raise ValidationError(f"Decision '{q.decision}' is not one of {', '.join(DECISIONS)} or unreviewed.")
    if q.text:
        pattern = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        parts = [f"e.body ->> '{c}' ILIKE %s" for c in TEXT_COLUMNS]
        parts.append(f"EXISTS (SELECT 1 {reviews_of} AND (r.body ->> 'note' ILIKE %s OR r.body ->> 'reviewer' ILIKE %s))")
        clauses.append("(" + " OR ".join(parts) + ")")
        args.extend([pattern] * (len(TEXT_COLUMNS) + 2))
    if q.ids is not None:
        clauses.append("e.row_id = ANY(%s)")
        args.append([int(i) for i in q.ids])
    return " WHERE " + " AND ".join(clauses), args


class CentralLog:
    """The central server's copy of every station's log, read-only."""

    def __init__(self, config: CentralConfig, station: str | None = None, *, conn: Any = None) -> None:
        self.config = config
        self.station = station
        self.read_only = True
        self._own = conn is None
        self.conn = config.connect() if conn is None else conn
        have = server_version(self.conn)
        if have < CURRENT_VERSION:
            self.close()
            raise SchemaTooOld(f"The central server {config.shown} has no Tilik schema, or an older one ({have}); "
                               "an administrator runs `tilik central migrate` first.")
        self.path = Path(f"the central copy ({station or 'all stations'})")

    def close(self) -> None:
        if self._own:
            self.conn.close()

    def __enter__(self) -> "CentralLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stations(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM tilik.stations ORDER BY name")]

    # -- records ------------------------------------------------------------------------------------
    def _records(self, rows: list[tuple[str, str, str]]) -> list[InspectionRecord]:
        parsed = [(station, _row(doc, h)) for station, h, doc in rows]
        latest: dict[tuple[str, int], Review] = {}
        counts: dict[tuple[str, int], int] = {}
        if parsed:
            stations = [s for s, _ in parsed]
            ids = [r["id"] for _, r in parsed]
            for station, h, doc in self.conn.execute(
                    "SELECT r.station, r.hash, r.doc FROM tilik.evidence r JOIN unnest(%s::text[], %s::bigint[]) AS k(station, id) "
                    "ON r.station = k.station AND (r.body ->> 'inspection_id')::bigint = k.id "
                    "WHERE r.tbl = 'reviews' ORDER BY r.row_id", (stations, ids)):
                review = review_from_row(_row(doc, h))
                key = (station, review.inspection_id)
                latest[key] = review
                counts[key] = counts.get(key, 0) + 1
        return [record_from_row(row, latest.get((s, row["id"])), counts.get((s, row["id"]), 0)) for s, row in parsed]

    def _station_filter(self, q: LogQuery) -> LogQuery:
        return q if self.station is None or q.station is not None else replace(q, station=self.station)

    def query(self, q: LogQuery | None = None) -> list[InspectionRecord]:
        """One page of inspections matching ``q`` (newest first by default), every station."""
        return [rec for _, rec in self.query_with_stations(q)]

    def query_with_stations(self, q: LogQuery | None = None) -> list[tuple[str, InspectionRecord]]:
        """As :meth:`query`, each record with the name of the station whose log it was pushed from
        (the name ``--station`` selects; the record's own ``station`` field is what was typed there)."""
        q = self._station_filter(q or LogQuery())
        where, args = _where(q)
        order = "DESC" if q.newest_first else "ASC"
        sql = (f"SELECT e.station, e.hash, e.doc FROM tilik.evidence e{where} "
               f"ORDER BY e.body ->> 'time_utc' {order}, e.station {order}, e.row_id {order} LIMIT %s OFFSET %s")
        limit = None if q.limit is None else max(0, int(q.limit))
        rows = self.conn.execute(sql, [*args, limit, max(0, int(q.offset))]).fetchall()
        return list(zip([station for station, _, _ in rows], self._records(rows)))

    def count(self, q: LogQuery | None = None) -> int:
        where, args = _where(self._station_filter(q or LogQuery()))
        return int(self.conn.execute(f"SELECT count(*) FROM tilik.evidence e{where}", args).fetchone()[0])

    def iter_records(self, q: LogQuery | None = None, *, page: int = PAGE) -> Iterator[InspectionRecord]:
        """Every inspection matching ``q``, streamed from a server-side cursor (memory stays flat)."""
        q = self._station_filter(q or LogQuery())
        where, args = _where(q)
        order = "DESC" if q.newest_first else "ASC"
        sql = (f"SELECT e.station, e.hash, e.doc FROM tilik.evidence e{where} "
               f"ORDER BY e.body ->> 'time_utc' {order}, e.station {order}, e.row_id {order}")
        with self.conn.transaction(), self.conn.cursor(name="tilik_records") as cur:
            cur.itersize = page
            cur.execute(sql, args)
            while True:
                rows = cur.fetchmany(page)
                if not rows:
                    return
                yield from self._records(rows)

    def _which_station(self, inspection_id: int) -> str:
        if self.station is not None:
            return self.station
        found = [r[0] for r in self.conn.execute(
            "SELECT station FROM tilik.evidence WHERE tbl = 'inspections' AND row_id = %s ORDER BY station",
            (int(inspection_id),))]
        if not found:
            raise RecordNotFoundError(f"There is no inspection {inspection_id} on the central server.")
        if len(found) > 1:
            raise ValidationError(f"Inspection {inspection_id} exists at several stations ({', '.join(found)}): "
                                  "say which with --station.")
        return found[0]

    def get(self, inspection_id: int) -> InspectionRecord:
        station = self._which_station(inspection_id)
        rows = self.conn.execute("SELECT station, hash, doc FROM tilik.evidence WHERE station = %s AND tbl = 'inspections' "
                                 "AND row_id = %s", (station, int(inspection_id))).fetchall()
        if not rows:
            raise RecordNotFoundError(f"There is no inspection {inspection_id} from station {station} on the central server.")
        return self._records(rows)[0]

    def reviews(self, inspection_id: int) -> list[Review]:
        station = self._which_station(inspection_id)
        return [review_from_row(_row(doc, h)) for h, doc in self.conn.execute(
            "SELECT hash, doc FROM tilik.evidence WHERE station = %s AND tbl = 'reviews' "
            "AND (body ->> 'inspection_id')::bigint = %s ORDER BY row_id", (station, int(inspection_id)))]

    # -- files ----------------------------------------------------------------------------------------
    def file_bytes(self, sha256: str | None) -> bytes | None:
        if not sha256:
            return None
        row = self.conn.execute("SELECT data FROM tilik.media WHERE sha256 = %s", (sha256,)).fetchone()
        return None if row is None else bytes(row[0])

    def image_array(self, record: Any) -> np.ndarray | None:
        from inference.imageio import load_image

        data = self.file_bytes(record.image_file_sha256)
        return load_image(data, name=record.image_file or "image").rgb if data is not None else None

    def heatmap_array(self, record: InspectionRecord) -> np.ndarray | None:
        data = self.file_bytes(record.heatmap_sha256)
        return decode_heatmap(data) if data is not None else None

    # -- the chain ------------------------------------------------------------------------------------
    def verify_chain(self, *, check_files: bool = True, anchor: tuple[int, str] | None = None) -> ChainStatus:
        """The server's verification as a :class:`ChainStatus` (for report footers): the head is
        the chosen station's; with every station, the first broken one is named."""
        if anchor is not None:
            raise CentralError("An anchor belongs to one station's log; verify it on the station.")
        status = verify_central(self.conn, self.station, check_files=check_files)
        checked = sum(s.rows for s in status.stations.values())
        one = status.stations.get(self.station) if self.station else None
        head = (one.head_seq, one.head_hash) if one is not None else (0, "")
        for st in status.stations.values():
            if not st.ok:
                fb = st.first_broken or {}
                return ChainStatus(ok=False, checked=checked, first_broken_id=fb.get("id"), reason=fb.get("reason", ""),
                                   first_broken_table=fb.get("table"), first_broken_seq=fb.get("seq"),
                                   head_seq=head[0], head_hash=head[1])
        return ChainStatus(ok=True, checked=checked, head_seq=head[0], head_hash=head[1],
                           files_checked=sum(s.files_checked for s in status.stations.values()))
