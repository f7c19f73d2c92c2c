"""The log's database layer: opening the SQLite file, its two connections, write transactions
and appending rows at the end of the hash chain. The record modules (inspections, reviews,
settings, references, media, queries) speak to the file only through :class:`LogDatabase`.

Durability: WAL journal with ``synchronous=FULL`` (a committed inspection survives a power cut),
and every append inside ``BEGIN IMMEDIATE`` so two Tilik processes on one machine queue up instead
of forking the chain (a busy timeout makes the second one wait rather than fail).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import quote

from inference import paths
from inference.errors import StorageError
from inference.log import chain
from inference.log.models import ChainStatus
from inference.log.schema import APPLICATION_ID, CURRENT_VERSION, chained_tables, migrate, user_version

log = logging.getLogger("inference.log.store")


def sqlite_uri(path: Path) -> str:
    """An SQLite URI for an absolute path: file:///tmp/x.db, file:///C:/Users/x.db (characters
    such as ? and # in folder names are escaped so they are not read as URI syntax)."""
    return "file:///" + quote(path.as_posix().lstrip("/"), safe="/:")


def media_root_for(db_path: Path) -> Path:
    """The media folder that belongs to a database file."""
    return db_path.with_name(db_path.stem + "-media")


def storage_error(exc: BaseException, doing: str, db_path: Path) -> StorageError:
    """A database or file error, in words a user can act on."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        from inference.log.media import storage_error_from_os

        return storage_error_from_os(exc, doing)
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc).lower()
    detail = f"{type(exc).__name__}: {exc}"
    if code == sqlite3.SQLITE_FULL or "full" in text:
        msg = (f"The disk holding the inspection log is full: {doing} was not saved. "
               "Free some space and try again.")
    elif code == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
        msg = (f"The inspection log {db_path} is read-only: {doing} was not saved. "
               "Check the file's permissions, or open a log you can write to.")
    elif code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        msg = (f"The inspection log is busy (another Tilik window or process has held it too long): "
               f"{doing} was not saved. Try again.")
    elif code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "not a database" in text or "malformed" in text:
        msg = (f"The inspection log {db_path} is damaged or is not a Tilik log: {doing} failed. "
               "Keep the file for investigation and start a new log.")
    elif code == sqlite3.SQLITE_CANTOPEN:
        msg = f"The inspection log {db_path} cannot be opened (missing folder or no permission)."
    elif code == sqlite3.SQLITE_IOERR:
        msg = f"The disk reported an input/output error: {doing} was not saved. Check the disk."
    else:
        msg = f"The inspection log failed: {doing} was not saved ({exc})."
    return StorageError(msg, detail=detail)


def connect(path: Path | str | None = None, *, create: bool = True, read_only: bool = False,
            busy_timeout_s: float = 30.0, schema_version: int | None = None
            ) -> tuple[Path, sqlite3.Connection, int]:
    """Open (and when needed create and upgrade) the SQLite file; returns its absolute path, the
    writer's connection and the schema version. See :meth:`InspectionLog.open`."""
    db = Path(path) if path is not None else paths.default_db_path()
    db = db.expanduser().absolute()
    if not db.exists() and (read_only or not create):
        raise StorageError(f"There is no inspection log at {db}.")
    if not read_only:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, "the inspection log", db) from exc
    uri = f"{sqlite_uri(db)}?mode={'ro' if read_only else 'rwc'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise storage_error(exc, "opening the inspection log", db) from exc
    try:
        version = _prepare(conn, db, read_only, schema_version)
    except BaseException:
        conn.close()
        raise
    return db, conn, version


def _prepare(conn: sqlite3.Connection, db: Path, read_only: bool, target: int | None) -> int:
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if app_id not in (0, APPLICATION_ID):
            raise StorageError(f"{db} is an SQLite database but not a Tilik inspection log.")
        conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # Network shares cannot do WAL; the rollback journal is slower but as safe.
                log.warning("inspection log %s: WAL unavailable, using journal mode %s", db, mode)
        conn.execute("PRAGMA synchronous = FULL")
        version = user_version(conn)
        if not read_only:
            version = migrate(conn, target=target)
        elif version == 0:
            raise StorageError(f"{db} is empty or not a Tilik inspection log.")
        elif version > CURRENT_VERSION:
            raise StorageError(f"{db} was made by a newer version of Tilik; update Tilik to read it.")
        return version
    except StorageError:
        raise
    except sqlite3.Error as exc:
        raise storage_error(exc, "opening the inspection log", db) from exc


class LogDatabase:
    """One open log file: the writer's connection, a reader's connection, write transactions
    and the chain append. Thread-safe.

    Writes are serialized on one connection; reads use a second one, so a read (a window showing
    the history) never waits for a write that is waiting on the disk (WAL lets it read the last
    committed state meanwhile).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int, read_only: bool) -> None:
        self.path = path
        self.conn = conn
        self.version = version
        self.read_only = read_only
        self.lock = threading.RLock()
        self._reader: sqlite3.Connection | None = conn if read_only else None
        self._read_lock = self.lock if read_only else threading.RLock()
        self._closed = False
        self.column_types = {t: self._types(t) for t in chained_tables(version)}

    def _types(self, table: str) -> dict[str, str]:
        rows = self.conn.execute(f"PRAGMA table_info({table})").fetchall()
        return {r[1]: str(r[2]).upper() for r in rows}

    @property
    def tables(self) -> tuple[str, ...]:
        """The chained (evidence) tables this file's schema version has."""
        return chained_tables(self.version)

    def close(self) -> None:
        """Close both connections (idempotent)."""
        with self._read_lock:
            self._closed = True
            if self._reader is not None and self._reader is not self.conn:
                try:
                    self._reader.close()
                except sqlite3.Error:
                    pass
            self._reader = None
        with self.lock:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialized across processes by ``BEGIN IMMEDIATE``; any failure
        rolls back completely and is raised as :class:`StorageError` (or the validation error)."""
        if self.read_only:
            raise StorageError(f"The inspection log {self.path} was opened read-only: {doing} was not saved.")
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(exc, doing, self.path) from exc
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite already rolled back (e.g. after SQLITE_FULL)
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(exc, doing, self.path) from exc
                raise

    @contextmanager
    def read(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The reader's connection, for one read; errors come out as :class:`StorageError`."""
        with self._read_lock:
            try:
                yield self._read_connection()
            except sqlite3.Error as exc:
                raise storage_error(exc, doing, self.path) from exc

    def _read_connection(self) -> sqlite3.Connection:
        """The connection reads use (opened on first use; the same as the writer's for a
        read-only log). Call with ``_read_lock`` held."""
        if self._reader is None:
            if self._closed:
                return self.conn  # closed: let SQLite say so ("Cannot operate on a closed database")
            conn = sqlite3.connect(f"{sqlite_uri(self.path)}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA query_only = ON")
            self._reader = conn
        return self._reader

    # -- the chain ---------------------------------------------------------------------------------
    def coerce(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Give each value its column's type now, so the hash we compute is the hash of what
        SQLite will hand back (an int in a REAL column reads back as a float). Absent columns
        become NULL, so the record built from the row has them all."""
        types = self.column_types[table]
        out: dict[str, Any] = {}
        for key, kind in types.items():
            if key == "hash":
                continue
            value = row.get(key)
            if value is not None:
                if kind == "INTEGER":
                    if type(value) is not int:
                        value = int(value)
                elif kind == "REAL":
                    if type(value) is not float:
                        value = float(value)
                elif type(value) is not str:
                    raise ValueError(f"{table}.{key} expects text, got {type(value).__name__}")
            out[key] = value
        unknown = row.keys() - types.keys()
        if unknown:
            raise ValueError(f"{table} has no column {sorted(unknown)[0]}")
        return out

    def append(self, conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Add one row at the end of the chain (call inside :meth:`write`); returns the full row."""
        return self.append_many(conn, table, [values])[0]

    def append_many(self, conn: sqlite3.Connection, table: str,
                    values_list: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add rows at the end of the chain, in order (inside :meth:`write`, whose
        ``BEGIN IMMEDIATE`` guarantees nobody else moves the head meanwhile)."""
        head_seq, head_hash = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
        next_id = max(last[0] if last else 0, top or 0) + 1
        seq = int(head_seq)
        rows = []
        for values in values_list:
            seq += 1
            row = self.coerce(table, {**values, "id": next_id, "seq": seq})
            row["hash"] = head_hash = chain.row_hash(head_hash, table, row)
            rows.append(row)
            next_id += 1
        if rows:
            columns = list(rows[0])
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            conn.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
            conn.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, head_hash))
        return rows

    def head(self) -> tuple[int, str]:
        """The newest row's chain position and hash (write them down to anchor the log)."""
        with self.read("reading the log's head") as conn:
            seq, h = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return int(seq), str(h)

    def verify_chain(self, media_root: Path, *, check_files: bool = True,
                     anchor: tuple[int, str] | None = None) -> ChainStatus:
        """Walk the whole hash chain and re-hash every stored file; name the first broken row.

        Uses its own read-only connection and one snapshot, so it sees a consistent log and does
        not hold up inspections being recorded meanwhile.
        """
        uri = f"{sqlite_uri(self.path)}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        try:
            conn.execute("BEGIN")
            return chain.verify(conn, self.tables, media_root, check_files=check_files, anchor=anchor)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        finally:
            conn.close()

    def integrity_check(self) -> str:
        """SQLite's own page-level check: "ok" or the problems it found."""
        with self.read("checking the database") as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)
