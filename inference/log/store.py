"""The inspection log: an append-only, hash-chained SQLite file plus a folder of images.

Durability: WAL journal with ``synchronous=FULL`` (a committed inspection survives a power cut),
images written and fsynced before the row that names them commits, and every append inside
``BEGIN IMMEDIATE`` so two Tilik processes on one machine queue up instead of forking the chain
(a busy timeout makes the second one wait rather than fail).

Nothing is ever updated or deleted: a supervisor's review, a retired reference signature and a
changed setting are new rows. See :mod:`inference.log.chain` for the hash chain and
``docs/log.md`` for the schema.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time as dtime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

import numpy as np

from inference import paths
from inference.errors import StorageError, TilikError
from inference.imageio import display_text
from inference.log import chain, iso6346
from inference.log.media import ImageInput, MediaStore, decode_heatmap, prepare_image
from inference.log.models import (
    DECISIONS,
    MODES,
    SEAL_CLASSES,
    ChainStatus,
    InspectionRecord,
    LogQuery,
    RecordNotFoundError,
    Review,
    SealFields,
    SignatureFields,
    SignatureReference,
    SkinFields,
    ValidationError,
)
from inference.log.schema import APPLICATION_ID, CURRENT_VERSION, chained_tables, migrate, user_version
from inference.log.staging import MediaStager, StagedInspection
from inference.results import InspectionResult

log = logging.getLogger(__name__)

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_MISSING = object()
STAGE_GROUP = 32  # inspections whose files are written and flushed together by record_results

DEFAULT_SETTINGS: dict[str, Any] = {
    # Skin photos are health data: by default only a 256-px thumbnail is kept (enough for a
    # reviewer to see what was inspected, too small to be a clinical photograph) and the source
    # path (which often holds a patient's name) is not stored. The input's SHA-256 is always kept,
    # so the verdict stays tied to the exact image the clinic holds in its own records.
    "thumbnails_only_modes": ["skin"],
    "omit_source_modes": ["skin"],
    "thumbnail_px": 256,
    "store_heatmaps": True,
    "heatmap_max_px": 1024,
}


def _check_modes(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or any(v not in MODES for v in value):
        raise ValidationError(f"Expected a list of modes drawn from {', '.join(MODES)}; got {value!r}.")
    return sorted(set(value))


def _check_px(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 4096:
        raise ValidationError(f"Expected a size in pixels between 32 and 4096; got {value!r}.")
    return value


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"Expected true or false; got {value!r}.")
    return value


_SETTING_CHECKS = {
    "thumbnails_only_modes": _check_modes,
    "omit_source_modes": _check_modes,
    "thumbnail_px": _check_px,
    "heatmap_max_px": _check_px,
    "store_heatmaps": _check_bool,
}


# -- small helpers --------------------------------------------------------------------------------
def _now() -> tuple[str, int]:
    """The time now as stored: UTC text and the local offset in minutes."""
    now = datetime.now(timezone.utc)
    offset = now.astimezone().utcoffset() or timedelta(0)
    return now.strftime(_TIME_FORMAT), int(offset.total_seconds() // 60)


def _parse_time(text: str) -> datetime:
    # fromisoformat is C code, ~20x faster than strptime: it matters when paging 100k rows.
    return datetime.fromisoformat(text[:-1] if text.endswith("Z") else text).replace(tzinfo=timezone.utc)


def _time_bound(value: datetime | date | str | None) -> str | None:
    """A query bound as stored text. Naive datetimes and plain dates are local time."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"'{value}' is not a date or time (use e.g. 2025-03-01 or 2025-03-01T14:30).") from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, dtime())
    if value.tzinfo is None:
        value = value.astimezone()  # interpret as local time
    return value.astimezone(timezone.utc).strftime(_TIME_FORMAT)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _bool_or_none(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


@lru_cache(maxsize=1)
def _app_version() -> str:
    try:
        from importlib.metadata import version

        return f"tilik {version('tilik')}"
    except Exception:  # noqa: BLE001 - running from a source tree that was never installed
        return "tilik (unknown version)"


def _uri(path: Path) -> str:
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


# -- the log ----------------------------------------------------------------------------------------
class InspectionLog:
    """An open inspection log. Thread-safe; one instance per process is enough.

    Writes are serialized on one connection; reads use a second one, so a read (a window showing
    the history) never waits for a write that is waiting on the disk (WAL lets it read the last
    committed state meanwhile).

    >>> with InspectionLog.open() as log:                       # doctest: +SKIP
    ...     rec = log.record_result(result, image=Path(result.source), operator="ana")
    ...     log.add_review(rec.id, "confirm", by="supervisor")
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int, read_only: bool) -> None:
        self.path = path
        self._conn = conn
        self._version = version
        self.read_only = read_only
        self.media = MediaStore(media_root_for(path))
        self._lock = threading.RLock()
        self._reader: sqlite3.Connection | None = conn if read_only else None
        self._read_lock = self._lock if read_only else threading.RLock()
        self._closed = False
        self._column_types = {t: self._types(t) for t in chained_tables(version)}
        self._pack_modes: dict[str, str] = {}

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True, read_only: bool = False,
             busy_timeout_s: float = 30.0, _schema_version: int | None = None) -> "InspectionLog":
        """Open (and when needed create and upgrade) the log at ``path`` (default:
        :func:`inference.paths.default_db_path`, which ``TILIK_DB`` overrides).

        ``create=False`` refuses to make a new empty log (the CLI's read commands use it, so a
        typo in ``--db`` is an error, not an empty but "intact" log). ``read_only`` opens with
        SQLite's ``mode=ro``: every write then raises :class:`StorageError`.
        """
        db = Path(path) if path is not None else paths.default_db_path()
        db = db.expanduser().absolute()
        if not db.exists() and (read_only or not create):
            raise StorageError(f"There is no inspection log at {db}.")
        if not read_only:
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise storage_error(exc, "the inspection log", db) from exc
        uri = f"{_uri(db)}?mode={'ro' if read_only else 'rwc'}"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_s)
        except sqlite3.Error as exc:
            raise storage_error(exc, "opening the inspection log", db) from exc
        try:
            version = cls._prepare(conn, db, read_only, _schema_version)
            return cls(db, conn, version, read_only)
        except BaseException:
            conn.close()
            raise

    @staticmethod
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

    def _types(self, table: str) -> dict[str, str]:
        rows = self._conn.execute(f"PRAGMA table_info({table})").fetchall()
        return {r[1]: str(r[2]).upper() for r in rows}

    @property
    def schema_version(self) -> int:
        return self._version

    @property
    def media_root(self) -> Path:
        return self.media.root

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._read_lock:
            self._closed = True
            if self._reader is not None and self._reader is not self._conn:
                try:
                    self._reader.close()
                except sqlite3.Error:
                    pass
            self._reader = None
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> "InspectionLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and the chain ---------------------------------------------------------------
    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialized across processes by ``BEGIN IMMEDIATE``; any failure
        rolls back completely and is raised as :class:`StorageError` (or the validation error)."""
        if self.read_only:
            raise StorageError(f"The inspection log {self.path} was opened read-only: {doing} was not saved.")
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(exc, doing, self.path) from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite already rolled back (e.g. after SQLITE_FULL)
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(exc, doing, self.path) from exc
                raise

    @contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
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
                return self._conn  # closed: let SQLite say so ("Cannot operate on a closed database")
            conn = sqlite3.connect(f"{_uri(self.path)}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA query_only = ON")
            self._reader = conn
        return self._reader

    def _coerce(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Give each value its column's type now, so the hash we compute is the hash of what
        SQLite will hand back (an int in a REAL column reads back as a float). Absent columns
        become NULL, so the record built from the row has them all."""
        types = self._column_types[table]
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

    def _append(self, conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Add one row at the end of the chain (call inside :meth:`_write`); returns the full row."""
        return self._append_many(conn, table, [values])[0]

    def _append_many(self, conn: sqlite3.Connection, table: str,
                     values_list: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add rows at the end of the chain, in order (inside :meth:`_write`, whose
        ``BEGIN IMMEDIATE`` guarantees nobody else moves the head meanwhile)."""
        head_seq, head_hash = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
        next_id = max(last[0] if last else 0, top or 0) + 1
        seq = int(head_seq)
        rows = []
        for values in values_list:
            seq += 1
            row = self._coerce(table, {**values, "id": next_id, "seq": seq})
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
        with self._read("reading the log's head") as conn:
            seq, h = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return int(seq), str(h)

    def verify_chain(self, *, check_files: bool = True, anchor: tuple[int, str] | None = None) -> ChainStatus:
        """Walk the whole hash chain and re-hash every stored file; name the first broken row.

        Uses its own read-only connection and one snapshot, so it sees a consistent log and does
        not hold up inspections being recorded meanwhile.
        """
        uri = f"{_uri(self.path)}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        try:
            conn.execute("BEGIN")
            return chain.verify(conn, chained_tables(self._version), self.media.root,
                                check_files=check_files, anchor=anchor)
        except sqlite3.Error as exc:
            raise storage_error(exc, "verifying the log", self.path) from exc
        finally:
            conn.close()

    def integrity_check(self) -> str:
        """SQLite's own page-level check: "ok" or the problems it found."""
        with self._read("checking the database") as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)

    # -- settings ---------------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = _MISSING) -> Any:
        """The current value of a setting: the newest change, else ``default``, else Tilik's
        default (:data:`DEFAULT_SETTINGS`), else None."""
        with self._read("reading a setting") as conn:
            row = conn.execute("SELECT value FROM settings_log WHERE key = ? ORDER BY id DESC LIMIT 1",
                               (key,)).fetchone()
        if row is not None:
            return json.loads(row[0])
        if default is not _MISSING:
            return default
        value = DEFAULT_SETTINGS.get(key)
        return list(value) if isinstance(value, list) else value

    def settings(self) -> dict[str, Any]:
        """Every setting in force (Tilik's defaults overlaid with the changes made)."""
        out = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULT_SETTINGS.items()}
        with self._read("reading settings") as conn:
            for key, value in conn.execute(
                    "SELECT key, value FROM settings_log WHERE id IN (SELECT max(id) FROM settings_log GROUP BY key)"):
                out[key] = json.loads(value)
        return out

    def set_setting(self, key: str, value: Any, *, by: str = "") -> None:
        """Change a setting. Changes are chained rows too, so an auditor sees who turned full
        images off for a mode, and when. Known keys are checked (see :data:`DEFAULT_SETTINGS`)."""
        if not isinstance(key, str) or not key.strip():
            raise ValidationError("A setting needs a name.")
        check = _SETTING_CHECKS.get(key)
        if check is not None:
            value = check(value)
        try:
            text = _dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Setting '{key}' must be plain data (text, numbers, lists): {exc}") from exc
        if _dumps(self.get_setting(key)) == text:
            return  # unchanged: no row, so the history shows real changes only
        t, off = _now()
        with self._write(f"the setting '{key}'") as conn:
            self._append(conn, "settings_log", {"time_utc": t, "utc_offset_min": off, "key": key,
                                                "value": text, "changed_by": (by or "").strip()})

    def setting_history(self, key: str) -> list[dict[str, Any]]:
        """Every change of one setting, oldest first: time, value, changed_by."""
        with self._read("reading settings") as conn:
            rows = conn.execute("SELECT time_utc, utc_offset_min, value, changed_by FROM settings_log "
                                "WHERE key = ? ORDER BY id", (key,)).fetchall()
        return [{"time_utc": _parse_time(r[0]), "utc_offset_min": r[1], "value": json.loads(r[2]),
                 "changed_by": r[3]} for r in rows]

    # -- recording ----------------------------------------------------------------------------------
    def _mode_of_pack(self, pack_id: str) -> str:
        if pack_id not in self._pack_modes:
            mode = "general"
            try:
                from inference.registry import PackRegistry

                manifest = PackRegistry().get(pack_id).manifest
                if manifest is not None and manifest.mode in MODES:
                    mode = manifest.mode
            except TilikError:
                pass
            self._pack_modes[pack_id] = mode
        return self._pack_modes[pack_id]

    def _domain_values(self, mode: str, seal: SealFields | None, signature: SignatureFields | None,
                       skin: SkinFields | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for given, needed in ((seal, "seal"), (signature, "signature"), (skin, "skin")):
            if given is not None and mode != needed:
                raise ValidationError(f"{needed.capitalize()} details were given for a '{mode}' inspection; "
                                      f"they belong to '{needed}' inspections only.")
        if seal is not None:
            if seal.seal_class is not None and seal.seal_class not in SEAL_CLASSES:
                raise ValidationError(f"Seal class '{seal.seal_class}' is not one of {', '.join(SEAL_CLASSES)}.")
            number = _clean(seal.container_number)
            check = None
            if number:
                result = iso6346.validate(number)
                if not result.ok and not seal.container_check_confirmed:
                    raise ValidationError(result.explain())
                number, check = result.number, result.status
            seal_no = _clean(seal.seal_number)
            out.update(seal_number=seal_no.upper() if seal_no else None, container_number=number,
                       container_check=check,
                       container_check_confirmed=None if number is None else int(bool(seal.container_check_confirmed)),
                       seal_class=seal.seal_class, vvtt_view=_bool_or_none(seal.view),
                       vvtt_verify=_bool_or_none(seal.verify), vvtt_tug=_bool_or_none(seal.tug),
                       vvtt_twist=_bool_or_none(seal.twist))
        if signature is not None:
            customer = _clean(signature.customer_id)
            if not customer:
                raise ValidationError("A signature check needs the customer or account id it was checked for.")
            ids = tuple(int(i) for i in signature.reference_ids)
            if ids:
                self._check_references(customer, ids)
            for name, value in (("score", signature.score), ("threshold", signature.threshold)):
                if value is not None and not math.isfinite(float(value)):
                    raise ValidationError(f"The signature {name} must be a number, not {value}.")
            out.update(customer_id=customer, document_ref=_clean(signature.document_ref),
                       reference_set=_dumps(list(ids)) if ids else None,
                       signature_score=signature.score, signature_threshold=signature.threshold)
        if skin is not None:
            out.update(patient_ref=_clean(skin.patient_ref), body_site=_clean(skin.body_site))
        return out

    def _check_references(self, customer: str, ids: tuple[int, ...]) -> None:
        if self._version < 2:
            raise ValidationError("This log has no signature references yet (schema too old).")
        refs = {r.id: r for r in self.references(customer, include_retired=True)}
        for ref_id in ids:
            ref = refs.get(ref_id)
            if ref is None:
                raise ValidationError(f"Reference signature {ref_id} is not enrolled for customer {customer}.")
            if ref.retired:
                raise ValidationError(f"Reference signature {ref_id} of customer {customer} was retired "
                                      f"({ref.retired_why}); it cannot be used any more.")

    def _inspection_values(self, staged: StagedInspection, *, operator: str, station: str, omit_source: bool,
                           domain: Mapping[str, Any], now: tuple[str, int]) -> dict[str, Any]:
        t, off = now
        result, image_file, heatmap_file = staged.result, staged.image_file, staged.heatmap_file
        values: dict[str, Any] = {
            "time_utc": t, "utc_offset_min": off,
            "operator": (operator or "").strip(), "station": (station or "").strip(), "mode": staged.mode,
            "app_version": _app_version(),
            "source": None if omit_source else (display_text(result.source) or None),  # file names may not be UTF-8
            "pack_id": result.pack_id, "pack_version": result.pack_version, "pack_sha256": result.pack_sha256,
            "provider": result.provider,
            "image_sha256": result.image_sha256, "image_width": staged.width, "image_height": staged.height,
            "image_notes": _dumps(list(result.image_notes)),
            "image_kind": staged.image_kind,
            "image_file": image_file.relative if image_file is not None else None,
            "image_file_sha256": image_file.sha256 if image_file is not None else None,
            "heatmap_file": heatmap_file.relative if heatmap_file is not None else None,
            "heatmap_sha256": heatmap_file.sha256 if heatmap_file is not None else None,
            "label": result.label, "display_label": result.display_label, "verdict": result.verdict,
            "alarming": bool(result.alarming), "confidence": float(result.confidence),
            "probabilities": _dumps({k: float(v) for k, v in result.probabilities.items()}),
            "needs_review": bool(result.needs_review), "review_reasons": _dumps(list(result.review_reasons)),
            "guard": _dumps(result.guard.as_dict()) if result.guard is not None else None,
            "mitigated": _dumps(result.mitigated.as_dict()) if result.mitigated is not None else None,
            "out_of_domain": bool(result.out_of_domain), "ood_score": _finite(result.ood_score),
            "timings": _dumps(result.timings.as_dict()),
        }
        values.update(domain)
        return values

    def stager(self, mode: str | None = None, keep_full_image: bool | None = None) -> MediaStager:
        """A :class:`MediaStager` for this log: it writes inspections' files (durably) without
        touching the database, in any thread; :meth:`commit_staged` then writes their rows.
        ``mode`` None records each result under its pack's mode; ``keep_full_image`` None follows
        the ``thumbnails_only_modes`` setting. The storage settings are those in force now."""
        if self.read_only:
            raise StorageError(f"The inspection log {self.path} was opened read-only: the inspection was not saved.")
        return MediaStager(self.media, self.settings(), mode, keep_full_image, self._mode_of_pack)

    def commit_staged(self, staged: Sequence[StagedInspection], *, operator: str = "", station: str = "",
                      seal: SealFields | None = None, signature: SignatureFields | None = None,
                      skin: SkinFields | None = None) -> list[int]:
        """Write the rows of staged inspections (see :meth:`stager`), sharing the same details, in
        order and in one transaction; returns their ids. Durable when it returns (one disk flush
        for all). Raises :class:`ValidationError` (nothing stored) for inconsistent details, or
        inspections staged for another log, and :class:`StorageError` (nothing stored) when the
        disk is full or the log read-only."""
        staged = list(staged)
        if not staged:
            return []
        if self.read_only:
            raise StorageError(f"The inspection log {self.path} was opened read-only: the inspection was not saved.")
        for s in staged:
            if not isinstance(s, StagedInspection):
                raise ValidationError(f"Expected staged inspections, got {type(s).__name__}.")
            if Path(s.media_root) != self.media.root:
                raise ValidationError("These inspections were staged for another inspection log "
                                      f"({s.media_root}); stage them again for {self.path}.")
        omit = set(self.settings()["omit_source_modes"])
        domains: dict[str, dict[str, Any]] = {}
        rows = []
        for s in staged:
            if s.mode not in domains:
                domains[s.mode] = self._domain_values(s.mode, seal, signature, skin)
            rows.append(self._inspection_values(s, operator=operator, station=station, omit_source=s.mode in omit,
                                                domain=domains[s.mode], now=_now()))
        what = "the inspection" if len(rows) == 1 else f"{len(rows)} inspections"
        with self._write(what) as conn:
            return [row["id"] for row in self._append_many(conn, "inspections", rows)]

    def record_result(self, result: InspectionResult, *, image: ImageInput = None, operator: str = "",
                      station: str = "", mode: str | None = None, seal: SealFields | None = None,
                      signature: SignatureFields | None = None, skin: SkinFields | None = None,
                      keep_full_image: bool | None = None) -> InspectionRecord:
        """Record one inspection and return it as stored. Commits (durably) before returning.

        ``image`` is what was inspected: the file bytes, the file path, or the RGB camera frame
        (it must hash to ``result.image_sha256``). ``mode`` defaults to the pack's mode.
        ``keep_full_image`` None follows the ``thumbnails_only_modes`` setting. Raises
        :class:`ValidationError` (nothing stored) for inconsistent details, such as a container
        number whose check digit is wrong and not confirmed, and :class:`StorageError` (nothing
        stored) when the disk is full or the log is read-only.
        """
        ids = self._record(iter([result]), iter([image]), operator=operator, station=station, mode=mode,
                           seal=seal, signature=signature, skin=skin, keep_full_image=keep_full_image,
                           per_transaction=1)
        return self.get(ids[0])

    def record_results(self, results: Iterable[InspectionResult], *, images: Iterable[ImageInput] | None = None,
                       operator: str = "", station: str = "", mode: str | None = None,
                       seal: SealFields | None = None, signature: SignatureFields | None = None,
                       skin: SkinFields | None = None, keep_full_image: bool | None = None,
                       per_transaction: int = 500) -> list[int]:
        """Record many inspections sharing the same details, ``per_transaction`` per commit (bulk
        imports, batch runs); returns their ids. ``images`` pairs up with ``results`` (None: no
        images kept). Files are written and flushed a group at a time, each commit after all the
        files of its rows are durable. A failure stops the run: batches committed before it stay,
        the failing batch is not stored at all.
        """
        return self._record(iter(results), iter(images) if images is not None else None, operator=operator,
                            station=station, mode=mode, seal=seal, signature=signature, skin=skin,
                            keep_full_image=keep_full_image, per_transaction=per_transaction)

    def _record(self, results: Iterator[InspectionResult], images: Iterator[ImageInput] | None, *,
                operator: str, station: str, mode: str | None, seal: SealFields | None,
                signature: SignatureFields | None, skin: SkinFields | None, keep_full_image: bool | None,
                per_transaction: int) -> list[int]:
        stager = self.stager(mode, keep_full_image)
        per_transaction = max(1, per_transaction)
        done: list[int] = []
        staged: list[StagedInspection] = []
        pending: list[tuple[InspectionResult, ImageInput]] = []
        checked: set[str] = set()

        def stage() -> None:
            if pending:
                staged.extend(stager.stage_many(pending, stop_at_error=True))  # type: ignore[arg-type]
                pending.clear()

        def commit() -> None:
            stage()
            done.extend(self.commit_staged(staged, operator=operator, station=station, seal=seal,
                                           signature=signature, skin=skin))
            staged.clear()

        for result in results:
            image = next(images, None) if images is not None else None
            chosen = stager.mode_for(result)
            if chosen not in checked:  # refuse wrong details before writing any file
                self._domain_values(chosen, seal, signature, skin)
                checked.add(chosen)
            pending.append((result, image))
            if len(staged) + len(pending) >= per_transaction:
                commit()
            elif len(pending) >= STAGE_GROUP:
                stage()
        commit()
        return done

    # -- reading inspections ------------------------------------------------------------------------
    def _record_from_row(self, row: Mapping[str, Any], latest: Review | None = None, count: int = 0) -> InspectionRecord:
        seal = None
        if row["mode"] == "seal" and any(row.get(k) is not None for k in (
                "seal_number", "container_number", "seal_class", "vvtt_view", "vvtt_verify", "vvtt_tug", "vvtt_twist")):
            seal = SealFields(
                seal_number=row["seal_number"] or "", container_number=row["container_number"] or "",
                seal_class=row["seal_class"],
                view=None if row["vvtt_view"] is None else bool(row["vvtt_view"]),
                verify=None if row["vvtt_verify"] is None else bool(row["vvtt_verify"]),
                tug=None if row["vvtt_tug"] is None else bool(row["vvtt_tug"]),
                twist=None if row["vvtt_twist"] is None else bool(row["vvtt_twist"]),
                container_check_confirmed=bool(row["container_check_confirmed"]))
        signature = None
        if row["customer_id"] is not None:
            signature = SignatureFields(
                customer_id=row["customer_id"], document_ref=row["document_ref"] or "",
                reference_ids=tuple(json.loads(row["reference_set"])) if row["reference_set"] else (),
                score=row["signature_score"], threshold=row["signature_threshold"])
        skin = None
        if row["patient_ref"] is not None or row["body_site"] is not None:
            skin = SkinFields(patient_ref=row["patient_ref"] or "", body_site=row["body_site"] or "")
        return InspectionRecord(
            id=row["id"], time_utc=_parse_time(row["time_utc"]), utc_offset_min=row["utc_offset_min"],
            operator=row["operator"], station=row["station"], mode=row["mode"], app_version=row["app_version"],
            source=row["source"], pack_id=row["pack_id"], pack_version=row["pack_version"],
            pack_sha256=row["pack_sha256"], provider=row["provider"], image_sha256=row["image_sha256"],
            image_width=row["image_width"], image_height=row["image_height"],
            image_notes=tuple(json.loads(row["image_notes"])), image_kind=row["image_kind"],
            image_file=row["image_file"], image_file_sha256=row["image_file_sha256"],
            heatmap_file=row["heatmap_file"], heatmap_sha256=row["heatmap_sha256"], label=row["label"],
            display_label=row["display_label"], verdict=row["verdict"], alarming=bool(row["alarming"]),
            confidence=row["confidence"], probabilities=json.loads(row["probabilities"]),
            needs_review=bool(row["needs_review"]), review_reasons=tuple(json.loads(row["review_reasons"])),
            guard=json.loads(row["guard"]) if row["guard"] else None,
            mitigated=json.loads(row["mitigated"]) if row["mitigated"] else None,
            out_of_domain=bool(row["out_of_domain"]), ood_score=row["ood_score"],
            timings=json.loads(row["timings"]), seal=seal, container_check=row["container_check"],
            signature=signature, skin=skin, seq=row["seq"], hash=row["hash"], latest_review=latest,
            review_count=count)

    @staticmethod
    def _review_from_row(row: Mapping[str, Any]) -> Review:
        return Review(id=row["id"], inspection_id=row["inspection_id"], time_utc=_parse_time(row["time_utc"]),
                      utc_offset_min=row["utc_offset_min"], decision=row["decision"], by=row["reviewer"],
                      note=row["note"], corrected_label=row["corrected_label"], seq=row["seq"], hash=row["hash"])

    @staticmethod
    def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, values)) for values in cur.fetchall()]

    def _records(self, conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[InspectionRecord]:
        latest_ids = [r["_latest_review"] for r in rows if r.get("_latest_review")]
        reviews: dict[int, Review] = {}
        for start in range(0, len(latest_ids), 500):
            chunk = latest_ids[start:start + 500]
            cur = conn.execute(f"SELECT * FROM reviews WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            for rrow in self._dicts(cur):
                reviews[rrow["inspection_id"]] = self._review_from_row(rrow)
        return [self._record_from_row(r, reviews.get(r["id"]), r.get("_review_count", 0)) for r in rows]

    _SELECT = ("SELECT i.*, (SELECT count(*) FROM reviews r WHERE r.inspection_id = i.id) AS _review_count, "
               "(SELECT max(r.id) FROM reviews r WHERE r.inspection_id = i.id) AS _latest_review FROM inspections i")

    def get(self, inspection_id: int) -> InspectionRecord:
        """One inspection with its latest review; :class:`RecordNotFoundError` if there is none."""
        with self._read("reading an inspection") as conn:
            rows = self._dicts(conn.execute(self._SELECT + " WHERE i.id = ?", (int(inspection_id),)))
            if not rows:
                raise RecordNotFoundError(f"There is no inspection {inspection_id} in the log.")
            return self._records(conn, rows)[0]

    def _where(self, q: LogQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        start, end = _time_bound(q.start), _time_bound(q.end)
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
            cols = ("source", "label", "display_label", "verdict", "operator", "station", "pack_id", "seal_number",
                    "container_number", "customer_id", "document_ref", "patient_ref", "body_site", "image_sha256")
            parts = [f"i.{c} LIKE ? ESCAPE '\\'" for c in cols]
            parts.append("EXISTS (SELECT 1 FROM reviews r WHERE r.inspection_id = i.id AND "
                         "(r.note LIKE ? ESCAPE '\\' OR r.reviewer LIKE ? ESCAPE '\\'))")
            clauses.append("(" + " OR ".join(parts) + ")")
            args.extend([pattern] * (len(cols) + 2))
        if q.ids is not None:
            ids = [int(i) for i in q.ids] or [-1]
            clauses.append(f"i.id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        if q.after_id is not None:
            clauses.append("i.id < ?" if q.newest_first else "i.id > ?")
            args.append(int(q.after_id))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(self, q: LogQuery | None = None) -> list[InspectionRecord]:
        """One page of inspections matching ``q`` (newest first by default)."""
        q = q or LogQuery()
        where, args = self._where(q)
        order = "DESC" if q.newest_first else "ASC"
        limit = -1 if q.limit is None else max(0, int(q.limit))
        sql = f"{self._SELECT}{where} ORDER BY i.id {order} LIMIT ? OFFSET ?"
        with self._read("searching the log") as conn:
            rows = self._dicts(conn.execute(sql, [*args, limit, max(0, int(q.offset))]))
            return self._records(conn, rows)

    def count(self, q: LogQuery | None = None) -> int:
        """How many inspections match ``q`` (paging fields ignored)."""
        q = replace(q or LogQuery(), after_id=None)
        where, args = self._where(q)
        with self._read("counting inspections") as conn:
            return int(conn.execute(f"SELECT count(*) FROM inspections i{where}", args).fetchone()[0])

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

    # -- reviews ---------------------------------------------------------------------------------------
    def add_review(self, inspection_id: int, decision: str, by: str, note: str = "",
                   corrected_label: str | None = None) -> Review:
        """Record a supervisor's decision about an inspection (the inspection itself is unchanged).

        ``confirm`` agrees with the machine; ``overturn`` gives the right label (required unless the
        pack has exactly two classes, when it is the other one) and why; ``escalate`` passes it
        up, with why. The newest review is the one in force.
        """
        if decision not in DECISIONS:
            raise ValidationError(f"Decision '{decision}' is not one of {', '.join(DECISIONS)}.")
        who = (by or "").strip()
        if not who:
            raise ValidationError("A review must say who made it.")
        note = (note or "").strip()
        corrected = _clean(corrected_label)
        record = self.get(inspection_id)
        classes = list(record.probabilities)
        if decision == "confirm":
            if corrected is not None and corrected != record.label:
                raise ValidationError(f"Confirming agrees with the machine's '{record.label}'; to give "
                                      f"'{corrected}' instead, overturn it.")
            corrected = None
        elif decision == "overturn":
            if corrected is None:
                others = [c for c in classes if c != record.label]
                if len(others) != 1:
                    raise ValidationError(f"Overturning needs the right label, one of: {', '.join(others)}.")
                corrected = others[0]
            if corrected not in classes:
                raise ValidationError(f"'{corrected}' is not a class of pack {record.pack_id} "
                                      f"({', '.join(classes)}).")
            if corrected == record.label:
                raise ValidationError(f"'{corrected}' is what the machine said; confirm it instead of overturning.")
            if not note:
                raise ValidationError("Overturning the machine needs a note saying why.")
        else:
            if corrected is not None:
                raise ValidationError("An escalation passes the decision up; it carries no corrected label.")
            if not note:
                raise ValidationError("An escalation needs a note saying why.")
        t, off = _now()
        with self._write("the review") as conn:
            row = self._append(conn, "reviews", {
                "inspection_id": record.id, "inspection_hash": record.hash, "time_utc": t,
                "utc_offset_min": off, "decision": decision, "reviewer": who, "note": note,
                "corrected_label": corrected, "app_version": _app_version()})
        return self._review_from_row(row)

    def reviews(self, inspection_id: int) -> list[Review]:
        """Every review of an inspection, oldest first."""
        with self._read("reading reviews") as conn:
            rows = self._dicts(conn.execute("SELECT * FROM reviews WHERE inspection_id = ? ORDER BY id",
                                            (int(inspection_id),)))
        return [self._review_from_row(r) for r in rows]

    # -- files ------------------------------------------------------------------------------------------
    def image_path(self, sha256: str) -> Path | None:
        """The stored image for an input SHA-256 (or a stored file's own SHA-256), preferring the
        original over a thumbnail; None when no image of it is kept."""
        with self._read("finding an image") as conn:
            rows = conn.execute(
                "SELECT image_file FROM inspections WHERE image_sha256 = ? AND image_file IS NOT NULL "
                "ORDER BY image_kind = 'original' DESC, id DESC LIMIT 1", (sha256,)).fetchall()
            if not rows:
                rows = conn.execute("SELECT image_file FROM inspections WHERE image_file_sha256 = ? LIMIT 1",
                                    (sha256,)).fetchall()
            if not rows and self._version >= 2:
                rows = conn.execute("SELECT image_file FROM signature_references WHERE image_sha256 = ? "
                                    "OR image_file_sha256 = ? LIMIT 1", (sha256, sha256)).fetchall()
        return self.media.path(rows[0][0]) if rows else None

    def stored_image_path(self, record: InspectionRecord | SignatureReference) -> Path | None:
        """The image kept for this record (original or thumbnail), or None."""
        return self.media.path(record.image_file)

    def heatmap_path(self, record: InspectionRecord) -> Path | None:
        """The heatmap kept for this record (8-bit grayscale PNG), or None."""
        return self.media.path(record.heatmap_file)

    def heatmap_array(self, record: InspectionRecord) -> np.ndarray | None:
        """The record's heatmap as float32 in [0, 1], or None."""
        path = self.heatmap_path(record)
        return decode_heatmap(path.read_bytes()) if path is not None else None

    def image_array(self, record: InspectionRecord | SignatureReference) -> np.ndarray | None:
        """The record's stored image decoded to RGB uint8, or None."""
        from inference.imageio import load_image

        path = self.stored_image_path(record)
        return load_image(path.read_bytes(), name=str(path)).rgb if path is not None else None

    # -- signature references ------------------------------------------------------------------------
    def _require_v2(self) -> None:
        if self._version < 2:
            raise StorageError("This log is too old for signature references; open it with write access once to upgrade it.")

    def enrol_reference(self, customer_id: str, image: ImageInput, enrolled_by: str, source_document: str,
                        note: str = "") -> SignatureReference:
        """Enrol one specimen signature of a customer, from a named document (account opening
        form, ID card...). The full image is always kept: it is what later checks compare with."""
        self._require_v2()
        customer, who, document = _clean(customer_id), _clean(enrolled_by), _clean(source_document)
        if not customer:
            raise ValidationError("Enrolling a reference signature needs the customer or account id.")
        if not who:
            raise ValidationError("Enrolling a reference signature must say who enrolled it.")
        if not document:
            raise ValidationError("Say which document the reference signature comes from.")
        if image is None:
            raise ValidationError("Enrolling a reference signature needs the signature image.")
        prepared = prepare_image(image, expected_sha256=None, keep_full=True, thumbnail_px=256)
        assert prepared.data is not None and prepared.input_sha256 is not None
        stored = self.media.put("images", prepared.data, prepared.ext, "the reference signature")
        t, off = _now()
        with self._write("the reference signature") as conn:
            row = self._append(conn, "signature_references", {
                "time_utc": t, "utc_offset_min": off, "customer_id": customer, "enrolled_by": who,
                "source_document": document, "image_sha256": prepared.input_sha256, "image_file": stored.relative,
                "image_file_sha256": stored.sha256, "image_width": prepared.width,
                "image_height": prepared.height, "note": (note or "").strip()})
        return self._reference_from_row(row)

    def _reference_from_row(self, row: Mapping[str, Any]) -> SignatureReference:
        return SignatureReference(
            id=row["id"], customer_id=row["customer_id"], time_utc=_parse_time(row["time_utc"]),
            utc_offset_min=row["utc_offset_min"], enrolled_by=row["enrolled_by"],
            source_document=row["source_document"], image_sha256=row["image_sha256"],
            image_file=row["image_file"], image_file_sha256=row["image_file_sha256"], note=row["note"],
            seq=row["seq"], hash=row["hash"], retired=row.get("_retired_at") is not None,
            retired_at=_parse_time(row["_retired_at"]) if row.get("_retired_at") else None,
            retired_by=row.get("_retired_by"), retired_why=row.get("_retired_why"))

    _REF_SELECT = ("SELECT s.*, x.time_utc AS _retired_at, x.retired_by AS _retired_by, x.why AS _retired_why "
                   "FROM signature_references s LEFT JOIN reference_retirements x ON x.reference_id = s.id")

    def references(self, customer_id: str, include_retired: bool = False) -> list[SignatureReference]:
        """A customer's enrolled reference signatures, oldest first (retired ones only if asked)."""
        self._require_v2()
        sql = self._REF_SELECT + " WHERE s.customer_id = ?" + ("" if include_retired else " AND x.id IS NULL")
        with self._read("reading reference signatures") as conn:
            rows = self._dicts(conn.execute(sql + " ORDER BY s.id", (str(customer_id).strip(),)))
        return [self._reference_from_row(r) for r in rows]

    def get_reference(self, ref_id: int) -> SignatureReference:
        self._require_v2()
        with self._read("reading a reference signature") as conn:
            rows = self._dicts(conn.execute(self._REF_SELECT + " WHERE s.id = ?", (int(ref_id),)))
        if not rows:
            raise RecordNotFoundError(f"There is no reference signature {ref_id}.")
        return self._reference_from_row(rows[0])

    def retire_reference(self, ref_id: int, by: str, why: str) -> SignatureReference:
        """Retire a reference signature (it stays in the log, marked retired, and can no longer be
        used by new checks). Says who and why."""
        ref = self.get_reference(ref_id)
        who, reason = _clean(by), _clean(why)
        if not who or not reason:
            raise ValidationError("Retiring a reference signature must say who retires it and why.")
        if ref.retired:
            raise ValidationError(f"Reference signature {ref_id} was already retired by {ref.retired_by}.")
        t, off = _now()
        with self._write("retiring the reference signature") as conn:
            self._append(conn, "reference_retirements", {"reference_id": ref.id, "time_utc": t,
                                                          "utc_offset_min": off, "retired_by": who, "why": reason})
        return self.get_reference(ref_id)


def open_log(path: Path | str | None = None, **kwargs: Any) -> InspectionLog:
    """Same as :meth:`InspectionLog.open`."""
    return InspectionLog.open(path, **kwargs)


def records_by_ids(log: InspectionLog, ids: Sequence[int]) -> list[InspectionRecord]:
    """Records for the given ids, in the order given (missing ids raise)."""
    found = {r.id: r for r in log.query(LogQuery(ids=tuple(ids), limit=None))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise RecordNotFoundError(f"There is no inspection {missing[0]} in the log.")
    return [found[i] for i in ids]
