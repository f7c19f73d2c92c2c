"""Anchors: signed log heads noted outside the database, checked by ``tilik log verify``.

An anchor says "on <date> this log's chain ended at row SEQ with hash HASH (signed by key K)". It
is written, one JSON object per line, to ``<station folder>/anchors.jsonl`` (the folder of the
signing key, 0700; the file 0600) every time

- the station registers its signing key in a log (``kind`` ``key-registered``),
- a PDF report, a CSV export or a training-set export is made (``pdf``, ``csv``, ``dataset``; the
  export carries the same signed head: the PDF's footer, ``<out>.head.json`` beside a CSV,
  ``log-head.json`` inside a dataset folder),
- a shift is closed (``tilik log close-shift`` or the app's *History → Close shift*; ``close-shift``).

``tilik log verify`` checks every anchor of the log it verifies: the row at SEQ must still have
HASH, and the log must not end before SEQ (so a log cut back to an older state, or replaced by an
older copy, is caught even when that older state was validly signed). Anchors belong to a log by
its ``log_id``, the hash of the log's first chained row.

Each line::

    {"kind": "pdf", "recorded_utc": "...Z", "db": "/abs/path.sqlite3", "log_id": "<64 hex>",
     "seq": 41, "hash": "<64 hex>", "signed": {"seq":..,"hash":..,"station":..,"key_id":..,
     "time_utc":..,"signature":..} or null, "target": "/abs/report.pdf", "by": "ana"}
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from inference.errors import StorageError
from inference.log.signing import SignedHead, fsync_dir, make_private_dir, station_dir

log = logging.getLogger(__name__)

ANCHORS_FILE = "anchors.jsonl"
KINDS = ("key-registered", "pdf", "csv", "dataset", "close-shift")


@dataclass(frozen=True)
class Anchor:
    """One noted head of one log."""

    kind: str
    recorded_utc: str
    db: str
    log_id: str
    seq: int
    hash: str
    signed: SignedHead | None = None
    target: str = ""
    by: str = ""

    def describe(self) -> str:
        what = {"key-registered": "the station key's registration", "pdf": "the PDF report",
                "csv": "the CSV export", "dataset": "the training-set export",
                "close-shift": "the shift closed"}.get(self.kind, self.kind)
        where = f" {self.target}" if self.target and self.kind in ("pdf", "csv", "dataset") else ""
        by = f" by {self.by}" if self.by else ""
        return f"{what}{where}{by} at {self.recorded_utc[:19].replace('T', ' ')} UTC"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "recorded_utc": self.recorded_utc, "db": self.db, "log_id": self.log_id,
                "seq": self.seq, "hash": self.hash, "signed": self.signed.as_dict() if self.signed else None,
                "target": self.target, "by": self.by}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Anchor":
        signed = data.get("signed")
        return cls(kind=str(data["kind"]), recorded_utc=str(data["recorded_utc"]), db=str(data.get("db", "")),
                   log_id=str(data["log_id"]), seq=int(data["seq"]), hash=str(data["hash"]),
                   signed=SignedHead.from_mapping(signed) if isinstance(signed, dict) else None,
                   target=str(data.get("target", "")), by=str(data.get("by", "")))


def anchors_path(folder: Path | None = None) -> Path:
    return (folder or station_dir()) / ANCHORS_FILE


def record(kind: str, *, db: Path | str, log_id: str, seq: int, head_hash: str, signed: SignedHead | None,
           target: Path | str = "", by: str = "", folder: Path | None = None) -> Anchor:
    """Append one anchor to the station's anchors file (durably) and return it."""
    if kind not in KINDS:
        raise ValueError(f"unknown anchor kind {kind!r}")
    anchor = Anchor(kind=kind, recorded_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    db=str(Path(db).absolute()), log_id=log_id, seq=int(seq), hash=head_hash, signed=signed,
                    target=str(Path(target).absolute()) if target else "", by=by.strip())
    path = anchors_path(folder)
    line = json.dumps(anchor.as_dict(), sort_keys=True, ensure_ascii=False) + "\n"
    try:
        make_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))  # one write with O_APPEND: lines never interleave
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"The log head could not be noted in {path} ({exc.strerror}).") from exc
    return anchor


def load(folder: Path | None = None) -> tuple[list[Anchor], int]:
    """Every anchor in the station's anchors file, and how many lines could not be read."""
    path = anchors_path(folder)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise StorageError(f"The anchors file {path} cannot be read ({exc.strerror}).") from exc
    out: list[Anchor] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(Anchor.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            bad += 1  # e.g. a line cut short by a crash: reported, never fatal
    return out, bad


def for_log(anchors: Iterable[Anchor], log_id: str | None) -> list[Anchor]:
    """The anchors that belong to the log whose first row has hash ``log_id``."""
    if not log_id:
        return []
    return [a for a in anchors if a.log_id == log_id]


# -- noting an open log's head -------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentHead:
    """An open log's head as it is now: what an export or a shift closure notes."""

    db: Path
    log_id: str
    seq: int
    hash: str
    signed: SignedHead | None

    def text(self) -> str:
        """The head in a few lines a person can print, copy or read out."""
        lines = [f"Log head: {self.seq}:{self.hash}"]
        if self.signed is not None:
            lines.append(f"Signed by key {self.signed.key_id} (station {self.signed.station or '?'}) at "
                         f"{self.signed.time_utc} UTC")
            lines.append(f"Signature: {self.signed.signature}")
        else:
            lines.append("Not signed (the log predates signing).")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"db": str(self.db), "log_id": self.log_id, "seq": self.seq, "hash": self.hash,
                "signed": self.signed.as_dict() if self.signed else None}


def current_head(log: Any) -> CurrentHead:
    """The head of an open :class:`~inference.log.store.InspectionLog`, with its signature."""
    from inference.log.schema import chained_tables
    from inference.log.trust import log_id, read_signed_head

    with log._db.read("reading the log's head") as conn:  # noqa: SLF001 - same package
        conn.execute("BEGIN")  # one snapshot: the head and the first row agree
        try:
            seq, digest, signed = read_signed_head(conn)
            first = log_id(conn, chained_tables(log.schema_version))
        finally:
            conn.execute("COMMIT")
    return CurrentHead(Path(log.path), first, seq, digest, signed)


def local_head(log: Any) -> CurrentHead | None:
    """:func:`current_head` for a station's own log; ``None`` for a reader of another copy (the
    central server's, whose own append-only tables and verification are its anchor)."""
    from inference.log.store import InspectionLog

    return current_head(log) if isinstance(log, InspectionLog) else None


def note_head(log: Any, kind: str, *, target: Path | str = "", by: str = "",
              head: CurrentHead | None = None) -> Anchor:
    """Record an anchor for an open log's head (or for ``head``, read before an export began)."""
    head = head or current_head(log)
    return record(kind, db=head.db, log_id=head.log_id, seq=head.seq, head_hash=head.hash, signed=head.signed,
                  target=target, by=by)


def write_head_file(path: Path, head: CurrentHead, *, what: str) -> None:
    """The signed head as a small JSON file that travels with an export (``<csv>.head.json``,
    ``<dataset>/log-head.json``)."""
    doc = {"what": what, **head.as_dict(),
           "check": "tilik log verify --db LOG --anchor SEQ:HASH proves the log still has this row"}
    try:
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        from inference.log.media import storage_error_from_os

        raise storage_error_from_os(exc, f"the head file {path}") from exc


@dataclass(frozen=True)
class ShiftClosure:
    """What closing a shift did: the log verified (rows, no files) and its signed head noted."""

    ok: bool
    head: CurrentHead
    checked: int
    anchor: Anchor | None = None
    problem: str = ""


def close_shift(log: Any, by: str = "") -> ShiftClosure:
    """Verify the log (hash chain and head signature; stored files are not re-hashed, to stay
    quick) and, when it is intact, note its signed head as a ``close-shift`` anchor. A broken log
    notes nothing: the problem is returned for the person to report."""
    status = log.verify_chain(check_files=False)
    head = current_head(log)
    if status.ok and (status.head_seq, status.head_hash) != (head.seq, head.hash):
        status = log.verify_chain(check_files=False)  # rows came in meanwhile: check the newer head
        head = current_head(log)
    if not status.ok or (status.head_seq, status.head_hash) != (head.seq, head.hash):
        where = status.where or "the head"
        return ShiftClosure(False, head, status.checked, problem=f"{where}: {status.reason or 'the log is busy'}")
    return ShiftClosure(True, head, status.checked, note_head(log, "close-shift", by=by, head=head))
