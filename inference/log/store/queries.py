"""Reading inspections: one by id, a filtered page (:class:`LogQuery` → SQL), counts, and keyset
iteration over any number of rows. Each record carries its latest review."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any, Iterator

from inference.log import iso6346
from inference.log.models import DECISIONS, MODES, InspectionRecord, LogQuery, RecordNotFoundError, Review, ValidationError
from inference.log.store.db import LogDatabase
from inference.log.store.inspections import record_from_row
from inference.log.store.reviews import review_from_row
from inference.log.store.values import dicts, time_bound

SELECT = ("SELECT i.*, (SELECT count(*) FROM reviews r WHERE r.inspection_id = i.id) AS _review_count, "
          "(SELECT max(r.id) FROM reviews r WHERE r.inspection_id = i.id) AS _latest_review FROM inspections i")

# Columns a free-text search looks in.
TEXT_COLUMNS = ("source", "label", "display_label", "verdict", "operator", "station", "pack_id", "seal_number",
                "container_number", "customer_id", "document_ref", "patient_ref", "body_site", "image_sha256")


def where(q: LogQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (on ``inspections i``) and its arguments for a query."""
    clauses: list[str] = []
    args: list[Any] = []
    start, end = time_bound(q.start), time_bound(q.end)
    if start is not None:
        clauses.append("i.time_utc >= ?")
        args.append(start)
    if end is not None:
        clauses.append("i.time_utc < ?")
        args.append(end)
    if q.mode is not None and q.mode not in MODES:
        raise ValidationError(f"Mode '{q.mode}' is not one of {', '.join(MODES)}.")
    seal_number = q.seal_number.strip().upper() if q.seal_number else q.seal_number
    container = iso6346.normalize(q.container_number) if q.container_number else q.container_number
    for column, value in (("mode", q.mode), ("label", q.label), ("operator", q.operator),
                          ("station", q.station), ("pack_id", q.pack_id), ("seal_number", seal_number),
                          ("container_number", container), ("customer_id", q.customer_id),
                          ("patient_ref", q.patient_ref), ("image_sha256", q.image_sha256)):
        if value is not None:
            clauses.append(f"i.{column} = ?")
            args.append(value)
    if q.needs_review is not None:
        clauses.append("i.needs_review = ?")
        args.append(int(q.needs_review))
    if q.reviewed is not None:
        clauses.append(("" if q.reviewed else "NOT ") + "EXISTS (SELECT 1 FROM reviews r WHERE r.inspection_id = i.id)")
    if q.decision is not None:
        if q.decision == "unreviewed":
            clauses.append("NOT EXISTS (SELECT 1 FROM reviews r WHERE r.inspection_id = i.id)")
        elif q.decision in DECISIONS:
            clauses.append("(SELECT r.decision FROM reviews r WHERE r.inspection_id = i.id "
                           "ORDER BY r.id DESC LIMIT 1) = ?")
            args.append(q.decision)
        else:
            raise ValidationError(f"Decision '{q.decision}' is not one of {', '.join(DECISIONS)} or unreviewed.")
    if q.text:
        pattern = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        parts = [f"i.{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS]
        parts.append("EXISTS (SELECT 1 FROM reviews r WHERE r.inspection_id = i.id AND "
                     "(r.note LIKE ? ESCAPE '\\' OR r.reviewer LIKE ? ESCAPE '\\'))")
        clauses.append("(" + " OR ".join(parts) + ")")
        args.extend([pattern] * (len(TEXT_COLUMNS) + 2))
    if q.ids is not None:
        ids = [int(i) for i in q.ids] or [-1]
        clauses.append(f"i.id IN ({','.join('?' * len(ids))})")
        args.extend(ids)
    if q.after_id is not None:
        clauses.append("i.id < ?" if q.newest_first else "i.id > ?")
        args.append(int(q.after_id))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def records(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[InspectionRecord]:
    """Records for inspection rows selected with :data:`SELECT` (their latest reviews fetched in
    chunks)."""
    latest_ids = [r["_latest_review"] for r in rows if r.get("_latest_review")]
    reviews: dict[int, Review] = {}
    for start in range(0, len(latest_ids), 500):
        chunk = latest_ids[start:start + 500]
        cur = conn.execute(f"SELECT * FROM reviews WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        for rrow in dicts(cur):
            reviews[rrow["inspection_id"]] = review_from_row(rrow)
    return [record_from_row(r, reviews.get(r["id"]), r.get("_review_count", 0)) for r in rows]


class InspectionQueries:
    """Reads inspections from one log."""

    def __init__(self, db: LogDatabase) -> None:
        self.db = db

    def get(self, inspection_id: int) -> InspectionRecord:
        """One inspection with its latest review; :class:`RecordNotFoundError` if there is none."""
        with self.db.read("reading an inspection") as conn:
            rows = dicts(conn.execute(SELECT + " WHERE i.id = ?", (int(inspection_id),)))
            if not rows:
                raise RecordNotFoundError(f"There is no inspection {inspection_id} in the log.")
            return records(conn, rows)[0]

    def query(self, q: LogQuery | None = None) -> list[InspectionRecord]:
        """One page of inspections matching ``q`` (newest first by default)."""
        q = q or LogQuery()
        clause, args = where(q)
        order = "DESC" if q.newest_first else "ASC"
        limit = -1 if q.limit is None else max(0, int(q.limit))
        sql = f"{SELECT}{clause} ORDER BY i.id {order} LIMIT ? OFFSET ?"
        with self.db.read("searching the log") as conn:
            rows = dicts(conn.execute(sql, [*args, limit, max(0, int(q.offset))]))
            return records(conn, rows)

    def count(self, q: LogQuery | None = None) -> int:
        """How many inspections match ``q`` (paging fields ignored)."""
        q = replace(q or LogQuery(), after_id=None)
        clause, args = where(q)
        with self.db.read("counting inspections") as conn:
            return int(conn.execute(f"SELECT count(*) FROM inspections i{clause}", args).fetchone()[0])

    def iter_records(self, q: LogQuery | None = None, *, page: int = 500) -> Iterator[InspectionRecord]:
        """Every inspection matching ``q`` (ignoring its offset/limit), fetched ``page`` at a time
        by keyset so memory stays flat and deep pages stay fast."""
        q = replace(q or LogQuery(), offset=0, limit=page)
        while True:
            batch = self.query(q)
            yield from batch
            if len(batch) < page:
                return
            q = replace(q, after_id=batch[-1].id)
