"""``tilik log push``: send a station log's evidence rows and the files they name to the central
server, idempotently and resumably.

Each round trip is one server transaction, under a per-station advisory lock: read the station's
head on the server, check that the local log still has that exact row (same seq, same hash),
then send the next rows (``COPY``) and the files they name that the server lacks, and record the
new head in ``tilik.pushes``. A push killed at any moment loses at most the transaction in flight,
which the next push sends again; a second push of an unchanged log sends nothing.

The server checks every row on arrival (see :mod:`inference.log.central.schema`): a local log
that was rewritten after a push (a "fork": the row at the server's head, or its first row, no
longer matches) is refused, the refusal is recorded on the server for the auditor, and nothing of
it is merged.

The log's signed head is checked here before anything is sent (a head that does not verify is
never pushed) and travels, with the public keys the server lacks, in the last batch's transaction
(:mod:`inference.log.central.heads`).
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from inference.log import chain
from inference.log.central import heads
from inference.log.central.config import CentralConfig
from inference.log.central.errors import CentralError, ForkError, SchemaTooOld
from inference.log.central.schema import CURRENT_VERSION, server_version
from inference.log.models import TABLE_NOUNS
from inference.log.schema import GENESIS_HASH, chained_tables, user_version
from inference.log.store.db import sqlite_uri, storage_error

DEFAULT_BATCH = 5000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PushResult:
    station: str
    rows_sent: int
    files_sent: int
    server_head_before: int
    head_seq: int
    head_hash: str
    seconds: float
    signed_head_sent: bool = False
    signed_key_id: str | None = None  # the key that signed the log's head (None: an unsigned, older log)

    @property
    def head(self) -> str:
        return f"{self.head_seq}:{self.head_hash}"


class LocalChain:
    """A consistent snapshot of a station log (its own read-only connection, one transaction)."""

    def __init__(self, path: Any) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(f"{sqlite_uri(path)}?mode=ro", uri=True, isolation_level=None,
                                        check_same_thread=False, timeout=30.0)
            self.conn.execute("BEGIN")
            self.version = user_version(self.conn)
            self.tables = chained_tables(self.version)
            seq, h = self.conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            raise storage_error(exc, "reading the log to push it", path) from exc
        self.head_seq, self.head_hash = int(seq), str(h)
        self._lock = threading.Lock()  # the batch being prepared reads while the main thread checks

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def hash_at(self, seq: int) -> str | None:
        sql = " UNION ALL ".join(f"SELECT hash FROM {t} WHERE seq = ?" for t in self.tables)  # noqa: S608
        with self._lock:
            row = self.conn.execute(sql, [seq] * len(self.tables)).fetchone()
        return None if row is None else str(row[0])

    def rows_after(self, seq: int, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The next ``limit`` chained rows after ``seq``, in chain order: (seq, table, row)."""

        def one(table: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
            cur = self.conn.execute(f"SELECT * FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",  # noqa: S608
                                    (seq, limit))
            names = [d[0] for d in cur.description]
            for values in cur:
                row = dict(zip(names, values))
                yield int(row["seq"]), table, row

        out = []
        with self._lock:
            for item in heapq.merge(*(one(t) for t in self.tables), key=lambda x: x[0]):
                out.append(item)
                if len(out) >= limit:
                    break
        return out


def _copy_field(text: str) -> str:
    """A value in COPY's text format (backslash, tab, newline and carriage return escaped)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


@dataclass
class Batch:
    """The next rows to send, prepared (canonical JSON, COPY text) off the main thread."""

    after: int
    rows: list[tuple[int, str, dict[str, Any]]]
    copy_text: bytes


def prepare(local: LocalChain, station: str, after: int, limit: int) -> Batch:
    rows = local.rows_after(after, limit)
    name = _copy_field(station)
    lines = [f"{name}\t{seq}\t{table}\t{row['id']}\t{row['hash']}\t{_copy_field(chain.canonical_json(table, row))}\n"
             for seq, table, row in rows]
    return Batch(after, rows, "".join(lines).encode("utf-8"))


def _noun(table: str, row_id: Any) -> str:
    return f"{TABLE_NOUNS.get(table, table)} {row_id}"


def _server_head(cur: Any, station: str) -> tuple[int, str]:
    row = cur.execute("SELECT seq, hash FROM tilik.evidence WHERE station = %s ORDER BY seq DESC LIMIT 1",
                      (station,)).fetchone()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def _server_hash_at(conn: Any, station: str, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM tilik.evidence WHERE station = %s AND seq = %s", (station, seq)).fetchone()
    return None if row is None else str(row[0])


def first_difference(local: LocalChain, conn: Any, station: str, upto: int) -> int:
    """The first chain position where the local log and the server's copy differ (binary search;
    a hash covers everything before it, so once they differ they differ from there on)."""
    lo, hi = 1, upto  # the answer is in [lo, hi]; they differ at hi
    while lo < hi:
        mid = (lo + hi) // 2
        if local.hash_at(mid) == _server_hash_at(conn, station, mid) and local.hash_at(mid) is not None:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _refuse(conn: Any, station: str, reason: str, first: int | None, server_head: tuple[int, str] | None,
            local: LocalChain) -> ForkError:
    """Record the refusal on the server (for the auditor) and return the error to raise."""
    try:
        with conn.transaction():
            conn.execute("INSERT INTO tilik.refused_pushes (station, first_differs, server_head, local_head, reason) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         (station, first, f"{server_head[0]}:{server_head[1]}" if server_head else None,
                          f"{local.head_seq}:{local.head_hash}", reason))
    except Exception:  # noqa: BLE001 - the refusal stands even if it cannot be recorded
        pass
    return ForkError(f"Push refused for station {station}: {reason} Nothing was merged; the server keeps what "
                     "it had. Keep this log file for investigation.", station=station, first_differs=first)


def _check_continuation(conn: Any, local: LocalChain, station: str, server: tuple[int, str]) -> None:
    seq, h = server
    if seq == 0:
        return
    mine = local.hash_at(seq)
    if mine == h:
        return
    if mine is None and seq > local.head_seq:
        first = first_difference(local, conn, station, min(seq, local.head_seq + 1)) if local.head_seq else 1
        if first > local.head_seq:
            reason = (f"the server already holds {seq} rows of this station but this log ends at "
                      f"{local.head_seq}: it is an older copy (restored from a backup?) or was cut short.")
        else:
            reason = (f"this log differs from what the station pushed before, from chain position {first} on "
                      f"(the server holds {seq} rows, this log {local.head_seq}): it was rewritten after a push.")
        raise _refuse(conn, station, reason, first, server, local)
    first = first_difference(local, conn, station, seq)
    raise _refuse(conn, station, f"this log differs from what the station pushed before, from chain position "
                  f"{first} on: it was rewritten after a push (the server holds {seq} rows).", first, server, local)


def _register(conn: Any, station: str, local: LocalChain) -> None:
    genesis = local.hash_at(1)
    assert genesis is not None
    with conn.transaction():
        conn.execute("INSERT INTO tilik.stations (name, genesis_hash) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                     (station, genesis))
        known = conn.execute("SELECT genesis_hash FROM tilik.stations WHERE name = %s", (station,)).fetchone()[0]
    if known != genesis:
        raise _refuse(conn, station, "the server holds a different log under this station name (its first row "
                      "differs): this log was rewritten from the start, or another log was pushed as this station.",
                      1, None, local)


def _files(rows: list[tuple[int, str, dict[str, Any]]]) -> dict[str, tuple[str, str, str]]:
    """sha256 → (relative file, table, row id) of every file the rows name."""
    out: dict[str, tuple[str, str, str]] = {}
    for _, table, row in rows:
        for file_col, sha_col, _what in chain.FILE_COLUMNS.get(table, ()):
            if row.get(file_col) and row.get(sha_col):
                out.setdefault(row[sha_col], (row[file_col], table, row["id"]))
    return out


MEDIA_CHUNK_BYTES = 32 << 20  # files are sent this much at a time, so memory stays bounded


def _send_files(conn: Any, media_root: Any, wanted: dict[str, tuple[str, str, str]]) -> int:
    """Send the files the server lacks (inside the batch's transaction: a row never arrives
    without its file); returns how many were sent."""
    if not wanted:
        return 0
    have = {r[0] for r in conn.execute("SELECT sha256 FROM tilik.media WHERE sha256 = ANY(%s)", (list(wanted),))}
    sent = 0
    payload: list[tuple[str, bytes]] = []
    size = 0

    def flush() -> None:
        nonlocal payload, size
        if payload:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO tilik.media (sha256, data) VALUES (%s, %s) "
                                "ON CONFLICT (sha256) DO NOTHING", payload)
        payload, size = [], 0

    for sha in (s for s in wanted if s not in have):
        relative, table, row_id = wanted[sha]
        path = chain._resolve(media_root, relative)  # noqa: SLF001 - the same containment rule as verify
        try:
            data = path.read_bytes() if path is not None else None
        except OSError:
            data = None
        if data is None:
            raise CentralError(f"The file {relative} named by {_noun(table, row_id)} is missing from this station's "
                               "media folder; run `tilik log verify` on the station. Nothing more was pushed.")
        payload.append((sha, data))
        size += len(data)
        sent += 1
        if size >= MEDIA_CHUNK_BYTES:
            flush()
    flush()
    return sent


def push(log_path: Any, media_root: Any, config: CentralConfig, station: str, *, batch: int = DEFAULT_BATCH,
         progress: Progress | None = None, conn: Any = None) -> PushResult:
    """Push the log at ``log_path`` as ``station``; returns what was sent. Raises
    :class:`ForkError` for a rewritten log, :class:`CentralUnavailable` when the server cannot be
    reached, :class:`CentralError` for anything else the server refused."""
    import psycopg

    station = (station or "").strip()
    if not station:
        raise CentralError("A push needs the station's name (--station, TILIK_STATION, or the computer's name).")
    started = time.perf_counter()
    local = LocalChain(log_path)
    own = conn is None
    conn = config.connect() if own else conn
    try:
        have = server_version(conn)
        if have < CURRENT_VERSION:
            raise SchemaTooOld(f"The central server {config.shown} has Tilik schema {have}, this Tilik needs "
                               f"{CURRENT_VERSION}: an administrator runs `tilik central migrate` first.")
        if local.head_seq == 0:
            return PushResult(station, 0, 0, 0, 0, GENESIS_HASH, time.perf_counter() - started)
        # Checked before anything travels: a head whose signature fails here is never pushed.
        signing = heads.read_local(local.conn, local.version, local.head_seq, local.head_hash, log_path)
        head_sent = False
        _register(conn, station, local)
        with conn.cursor() as cur:
            before = _server_head(cur, station)
        _check_continuation(conn, local, station, before)
        total = max(0, local.head_seq - before[0])
        sent = files = 0
        if progress is not None:
            progress(0, total)
        head = before
        # The next batch is read and encoded in a helper thread while the server stores this one.
        helper = ThreadPoolExecutor(1, thread_name_prefix="tilik-push")
        ahead: Future[Batch] | None = helper.submit(prepare, local, station, head[0], batch)
        try:
            while True:
                with conn.transaction(), conn.cursor() as cur:
                    # One pusher per station at a time; the head is re-read under the lock.
                    cur.execute("SELECT pg_advisory_xact_lock(hashtext('tilik-push'), hashtext(%s))", (station,))
                    head = _server_head(cur, station)
                    if head[0] >= local.head_seq or (head[0] and local.hash_at(head[0]) != head[1]):
                        break  # done, or another push changed the head meanwhile: checked below
                    work = ahead.result() if ahead is not None else None
                    if work is None or work.after != head[0]:
                        work = prepare(local, station, head[0], batch)  # the head moved: what was prepared is stale
                    rows = work.rows
                    last_seq, _, last = rows[-1]
                    ahead = (helper.submit(prepare, local, station, last_seq, batch)
                             if last_seq < local.head_seq else None)
                    files += _send_files(conn, media_root, _files(rows))
                    with cur.copy("COPY tilik.evidence (station, seq, tbl, row_id, hash, doc) FROM STDIN") as copy:
                        copy.write(work.copy_text)
                    cur.execute("INSERT INTO tilik.pushes (station, head_seq, head_hash, rows) "
                                "VALUES (%s, %s, %s, %s)", (station, last_seq, last["hash"], len(rows)))
                    if last_seq == local.head_seq:  # the last batch: its signed head travels with it
                        head_sent = heads.send(conn, station, signing)
                sent += len(rows)
                head = (last_seq, last["hash"])
                if progress is not None:
                    progress(sent, total)
        finally:
            helper.shutdown(wait=True, cancel_futures=True)
        _check_continuation(conn, local, station, head)  # outside the transaction: a refusal is kept
        if not head_sent and signing.head is not None:
            # Nothing left to send (or rows pushed before the server kept heads): the signed head
            # alone, unless the server has it already.
            with conn.transaction():
                head_sent = heads.send(conn, station, signing)
        return PushResult(station, sent, files, before[0], head[0], head[1], time.perf_counter() - started,
                          head_sent, signing.head.key_id if signing.head is not None else None)
    except psycopg.errors.IntegrityConstraintViolation as exc:
        diag = exc.diag
        text = diag.message_primary or str(exc).splitlines()[0]
        if diag.message_hint == "tilik-head":
            raise CentralError(f"The central server {text}. Nothing of this batch was stored; run `tilik log verify` "
                               "on the station.") from None
        if diag.message_hint in ("tilik-chain", "tilik-media"):
            raise CentralError(f"The central server {text}. This station's log does not hold together there: run "
                               "`tilik log verify` on it; nothing of this batch was stored.") from None
        raise CentralError(f"The central server refused the push: {text}") from None
    except psycopg.OperationalError as exc:
        raise CentralError(f"The connection to the central server {config.shown} failed during the push "
                           f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}); "
                           "run the push again: it resumes where the server stopped.") from None
    except psycopg.Error as exc:
        raise CentralError(f"The central server refused the push: {str(exc).strip().splitlines()[0]}") from None
    finally:
        local.close()
        if own:
            conn.close()
