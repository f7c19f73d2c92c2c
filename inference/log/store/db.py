"""The log's database layer: opening the SQLite file, its two connections, write transactions
and appending rows at the end of the hash chain. The record modules (inspections, reviews,
settings, references, media, queries) speak to the file only through :class:`LogDatabase`.

Durability: WAL journal with ``synchronous=FULL`` (a committed inspection survives a power cut),
and every append inside ``BEGIN IMMEDIATE`` so two Tilik processes on one machine queue up instead
of forking the chain (a busy timeout makes the second one wait rather than fail).

Trust (issue #22): from schema 3 every append checks the signed head it finds and signs the new
one with this station's key (:mod:`inference.log.trust`); new files are private (0600/0700); a file
that is not a Tilik log is never written to; logs on read-only media are still readable.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import quote

from inference import paths
from inference.errors import StorageError
from inference.log import chain
from inference.log.models import ChainStatus
from inference.log.schema import (
    APPLICATION_ID,
    CURRENT_VERSION,
    SIGNED_FROM_VERSION,
    Migration,
    chained_tables,
    migrate,
    user_version,
)

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


@dataclass
class Opened:
    """What :func:`connect` opened: the log's path (its media folder sits beside it), the writer's
    connection, the schema version, the URI every further connection uses, and a note for the
    person reading when the file had to be opened in a special way (read-only media)."""

    path: Path
    conn: sqlite3.Connection
    version: int
    uri: str
    note: str = ""
    signed_at_open: Any = None  # the head signed while upgrading to a signed schema (an anchor is noted)
    private_copy: Path | None = None  # a temporary folder to remove on close


def connect(path: Path | str | None = None, *, create: bool = True, read_only: bool = False,
            busy_timeout_s: float = 30.0, schema_version: int | None = None) -> Opened:
    """Open (and when needed create and upgrade) the SQLite file. See :meth:`InspectionLog.open`.

    A new log is created 0600 in a folder made 0700 (SQLite gives its -wal and -shm files the
    database's permissions). A read-only open of a log whose folder cannot be written (a copy on
    read-only media) falls back to SQLite's ``immutable`` mode when no ``-wal`` file lies beside it,
    else to a private copy of the database and its ``-wal``; :attr:`Opened.note` says which.
    """
    db = Path(path) if path is not None else paths.default_db_path()
    db = db.expanduser().absolute()
    if not db.exists() and (read_only or not create):
        raise StorageError(f"There is no inspection log at {db}.")
    if not read_only:
        try:
            _create_private(db)
        except OSError as exc:
            raise storage_error(exc, "the inspection log", db) from exc
    base = sqlite_uri(db)
    uri = f"{base}?mode={'ro' if read_only else 'rwc'}"
    note, copy = "", None
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout_s)
        if read_only:
            conn, uri, note, copy = _readable(conn, db, uri, busy_timeout_s)
    except sqlite3.Error as exc:
        raise storage_error(exc, "opening the inspection log", db) from exc
    signed: list[Any] = []
    try:
        version = _prepare(conn, db, read_only, schema_version, signed)
    except BaseException:
        conn.close()
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
        raise
    ro_uri = uri if read_only else f"{base}?mode=ro"
    return Opened(db, conn, version, ro_uri, note, signed[0] if signed else None, copy)


def _create_private(db: Path) -> None:
    """Make the log's folder (0700 when we create it) and an empty log file 0600, so health data
    and customer ids are never readable by other local users, whatever the umask."""
    if not db.parent.is_dir():
        db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(db, 0o600)  # O_CREAT's mode is filtered by the umask: be exact


def _readable(conn: sqlite3.Connection, db: Path, uri: str,
              timeout: float) -> tuple[sqlite3.Connection, str, str, Path | None]:
    """A read-only connection that can actually read ``db``: as opened, or (read-only media)
    immutable, or on a private copy. Returns the connection, its URI, a note for the user and the
    private copy's folder (None when there is none)."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn, uri, "", None
    except sqlite3.Error as exc:
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
            raise
    conn.close()
    wal = db.with_name(db.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        # No -wal beside it: everything committed is in the file itself, and nothing on read-only
        # media can change it while we read, which is exactly what immutable=1 promises SQLite.
        uri = f"{sqlite_uri(db)}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=timeout)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn, uri, (f"Note: {db.parent} cannot be written (read-only media?), so the log was opened "
                           "as an unchangeable file (SQLite immutable mode); it is read exactly as it is."), None
    # Committed rows may still be in the -wal: read both from a private copy (SQLite needs a
    # writable folder for the -shm index to read a -wal).
    folder = Path(tempfile.mkdtemp(prefix="tilik-log-copy-"))
    copy = folder / db.name
    try:
        shutil.copyfile(db, copy)
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        uri = f"{sqlite_uri(copy)}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=timeout)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (OSError, sqlite3.Error) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, sqlite3.Error):
            raise
        raise StorageError(f"The log {db} is on media that cannot be written and could not be copied to read "
                           f"it ({exc.strerror}).") from exc
    return conn, uri, (f"Note: {db.parent} cannot be written, so the log and its -wal file were read from a "
                       f"private copy in {folder} (the original is untouched; the copy is removed afterwards)."), folder


def _refuse_foreign(conn: sqlite3.Connection, db: Path) -> None:
    """A file Tilik did not make is never changed: only an empty database becomes a log."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                         "ORDER BY name LIMIT 6")]
    if tables or user_version(conn) != 0:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise StorageError(f"{db} is an SQLite database but not a Tilik inspection log"
                           + (f" (it holds {listed})" if tables else "")
                           + ". Tilik did not change it; choose another file for the log.")


def _prepare(conn: sqlite3.Connection, db: Path, read_only: bool, target: int | None, signed: list[Any]) -> int:
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if app_id not in (0, APPLICATION_ID):
            raise StorageError(f"{db} is an SQLite database but not a Tilik inspection log. "
                               "Tilik did not change it.")
        if app_id == 0 and not read_only:
            _refuse_foreign(conn, db)  # before anything (WAL mode included) writes to the file
        conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # Network shares cannot do WAL; the rollback journal is slower but as safe.
                log.warning("inspection log %s: WAL unavailable, using journal mode %s", db, mode)
        conn.execute("PRAGMA synchronous = FULL")
        version = user_version(conn)
        if not read_only:
            version = migrate(conn, target=target, on_step=lambda step: _sign_on_upgrade(conn, db, step, signed))
        elif version == 0:
            raise StorageError(f"{db} is empty or not a Tilik inspection log.")
        elif version > CURRENT_VERSION:
            raise StorageError(f"{db} was made by a newer version of Tilik; update Tilik to read it.")
        return version
    except StorageError:
        raise
    except sqlite3.Error as exc:
        raise storage_error(exc, "opening the inspection log", db) from exc


def _sign_on_upgrade(conn: sqlite3.Connection, db: Path, step: Migration, signed: list[Any]) -> None:
    """Inside the migration to the first signed schema: record this station's key and sign the
    head as it is (the empty head of a new log), in the same transaction, so a signed-schema log
    never has an unsigned head."""
    if step.version != SIGNED_FROM_VERSION:
        return
    from inference.log.store.values import now

    signer = station_signer()
    seq, digest = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    when = now()[0]
    signer.register_key(conn, int(seq), when)
    head = signer.sign(conn, int(seq), str(digest), when)
    if head.seq > 0:
        signed.append(head)  # an upgraded log with rows: worth an anchor


def station_signer() -> Any:
    """A head signer with this station's key (created at first use) and name."""
    from inference.log.recording import default_station
    from inference.log.signing import StationKey
    from inference.log.trust import HeadSigner

    return HeadSigner(StationKey.load_or_create(), default_station())


def coerce(types: Mapping[str, str], table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Give each value its column's type now, so the hash we compute is the hash of what
    SQLite will hand back (an int in a REAL column reads back as a float). Absent columns
    become NULL, so the record built from the row has them all."""
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


def append_rows(conn: sqlite3.Connection, column_types: Mapping[str, Mapping[str, str]], table: str,
                values_list: Sequence[Mapping[str, Any]], head_seq: int, head_hash: str) -> list[dict[str, Any]]:
    """Insert rows chained after (head_seq, head_hash); the caller updates ``chain_head``."""
    last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    top = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    next_id = max(last[0] if last else 0, top or 0) + 1
    seq = int(head_seq)
    rows = []
    for values in values_list:
        seq += 1
        row = coerce(column_types[table], table, {**values, "id": next_id, "seq": seq})
        row["hash"] = head_hash = chain.row_hash(head_hash, table, row)
        rows.append(row)
        next_id += 1
    if rows:
        columns = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        conn.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
    return rows


class LogDatabase:
    """One open log file: the writer's connection, a reader's connection, write transactions
    and the chain append. Thread-safe.

    Writes are serialized on one connection; reads use a second one, so a read (a window showing
    the history) never waits for a write that is waiting on the disk (WAL lets it read the last
    committed state meanwhile).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int, read_only: bool, *,
                 ro_uri: str | None = None, note: str = "", private_copy: Path | None = None) -> None:
        self.path = path
        self.conn = conn
        self.version = version
        self.read_only = read_only
        self.lock = threading.RLock()
        self._reader: sqlite3.Connection | None = conn if read_only else None
        self._read_lock = self.lock if read_only else threading.RLock()
        self._closed = False
        self.column_types = {t: self._types(t) for t in chained_tables(version)}
        # Where read-only connections (verify) look: the file itself, or how connect() managed to read it.
        self.ro_uri = ro_uri or f"{sqlite_uri(path)}?mode=ro"
        self.note = note
        self._private_copy = private_copy
        self._signer: Any = None  # this station's head signer, loaded at the first write

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
        if self._private_copy is not None:
            shutil.rmtree(self._private_copy, ignore_errors=True)
            self._private_copy = None

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
                if self._signer is not None:
                    self._signer.forget()  # what it cached from this transaction is gone
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(exc, doing, self.path) from exc
                raise
            if self._signer is not None and self._signer.just_registered:
                self._signer.just_registered = False
                if self._signer.last is not None and self._signer.last.seq > 0:
                    self.note_key_registration(self._signer.last)

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
        """See :func:`coerce`."""
        return coerce(self.column_types[table], table, row)

    def append(self, conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Add one row at the end of the chain (call inside :meth:`write`); returns the full row."""
        return self.append_many(conn, table, [values])[0]

    def append_many(self, conn: sqlite3.Connection, table: str,
                    values_list: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add rows at the end of the chain, in order (inside :meth:`write`, whose
        ``BEGIN IMMEDIATE`` guarantees nobody else moves the head meanwhile). From the signed
        schema on, the head found is checked against its signature first, this station's key is
        recorded when it is new to the log, and the new head is signed, all in this transaction."""
        if not values_list:
            return []
        if self.version < SIGNED_FROM_VERSION:
            head_seq, head_hash = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
            rows = append_rows(conn, self.column_types, table, values_list, int(head_seq), str(head_hash))
            conn.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (rows[-1]["seq"], rows[-1]["hash"]))
            return rows
        from inference.log.store.values import now

        signer = self.signer()
        head_seq, head_hash = signer.check_previous_head(conn, self.path)
        when = now()[0]
        signer.register_key(conn, head_seq, when)
        rows = append_rows(conn, self.column_types, table, values_list, head_seq, head_hash)
        signer.sign(conn, rows[-1]["seq"], rows[-1]["hash"], when)
        return rows

    def signer(self) -> Any:
        """This station's :class:`~inference.log.trust.HeadSigner` (its key created at first use)."""
        if self._signer is None:
            self._signer = station_signer()
        return self._signer

    def note_key_registration(self, signed: Any) -> None:
        """Note in the station's anchors file that its key now signs this log (after the commit)."""
        if signed is None:
            return
        try:
            from inference.log import anchors
            from inference.log.trust import log_id

            with self.read("noting the log's head") as conn:
                first = log_id(conn, self.tables)
            anchors.record("key-registered", db=self.path, log_id=first, seq=signed.seq, head_hash=signed.hash,
                           signed=signed)
        except Exception as exc:  # noqa: BLE001 - the log is committed and signed; the note is extra
            log.warning("could not note the key registration of %s in the anchors file: %s", self.path, exc)

    def head(self) -> tuple[int, str]:
        """The newest row's chain position and hash (write them down to anchor the log)."""
        with self.read("reading the log's head") as conn:
            seq, h = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return int(seq), str(h)

    def verify_chain(self, media_root: Path, *, check_files: bool = True,
                     anchor: tuple[int, str] | None = None, trusted_keys: Sequence[str] = (),
                     use_anchors: bool = True) -> ChainStatus:
        """Walk the whole hash chain and re-hash every stored file; name the first broken row;
        check the anchors recorded for this log and who signed its head.

        Uses its own read-only connection and one snapshot, so it sees a consistent log and does
        not hold up inspections being recorded meanwhile. Never creates a signing key.
        """
        from inference.log import anchors as anchor_file
        from inference.log.signing import StationKey
        from inference.log.trust import verify_log

        local = StationKey.load()
        recorded = anchor_file.load()[0] if use_anchors else []
        try:
            conn = sqlite3.connect(self.ro_uri, uri=True, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        try:
            conn.execute("BEGIN")
            return verify_log(conn, self.tables, self.version, media_root, check_files=check_files, anchor=anchor,
                              anchors=recorded, local_key_id=local.key_id if local else None,
                              trusted=trusted_keys)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        finally:
            conn.close()

    def integrity_check(self) -> str:
        """SQLite's own page-level check: "ok" or the problems it found."""
        with self.read("checking the database") as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)
