"""The inspection log: an append-only, hash-chained SQLite file plus a folder of images.

:class:`InspectionLog` is a thin facade over one module per concern, so a second backend (the
central PostgreSQL copy) is a new module rather than branches through every method:

- :mod:`.db`: opening the file, connections, write transactions, the chain append;
- :mod:`.inspections`: recording inspections (validation, rows, staged commits), row → record;
- :mod:`.queries`: reading inspections (filters, pages, counts, keyset iteration);
- :mod:`.reviews`, :mod:`.settings`, :mod:`.references`: the other record kinds;
- :mod:`.media`: the files rows name.

Durability: WAL journal with ``synchronous=FULL`` (a committed inspection survives a power cut),
images written and fsynced before the row that names them commits, and every append inside
``BEGIN IMMEDIATE`` so two Tilik processes on one machine queue up instead of forking the chain
(a busy timeout makes the second one wait rather than fail).

Nothing is ever updated or deleted: a supervisor's review, a retired reference signature and a
changed setting are new rows. See :mod:`inference.log.chain` for the hash chain and
``docs/log.md`` for the schema.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from inference.log.media import ImageInput, MediaStore
from inference.log.models import (
    ChainStatus,
    InspectionRecord,
    LogQuery,
    RecordNotFoundError,
    Review,
    SealFields,
    SignatureFields,
    SignatureReference,
    SkinFields,
)
from inference.log.staging import MediaStager, StagedInspection
from inference.log.store.db import LogDatabase, connect, media_root_for, storage_error
from inference.log.store.inspections import STAGE_GROUP, InspectionRecorder
from inference.log.store.media import MediaRecords
from inference.log.store.queries import InspectionQueries
from inference.log.store.references import ReferenceRecords
from inference.log.store.reviews import ReviewRecords
from inference.log.store.settings import DEFAULT_SETTINGS, MISSING, SettingsLog
from inference.results import InspectionResult

__all__ = ["DEFAULT_SETTINGS", "STAGE_GROUP", "InspectionLog", "media_root_for", "open_log", "records_by_ids",
           "storage_error"]


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
        self._db = LogDatabase(path, conn, version, read_only)
        self.path = path
        self.read_only = read_only
        self.media = MediaStore(media_root_for(path))
        self._settings = SettingsLog(self._db)
        self._references = ReferenceRecords(self._db, self.media)
        self._inspections = InspectionRecorder(self._db, self.media, self._settings, self._references)
        self._queries = InspectionQueries(self._db)
        self._reviews = ReviewRecords(self._db, self.get)
        self._files = MediaRecords(self._db, self.media)

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
        db, conn, version = connect(path, create=create, read_only=read_only, busy_timeout_s=busy_timeout_s,
                                    schema_version=_schema_version)
        try:
            return cls(db, conn, version, read_only)
        except BaseException:
            conn.close()
            raise

    @property
    def schema_version(self) -> int:
        return self._db.version

    @property
    def media_root(self) -> Path:
        return self.media.root

    @property
    def _conn(self) -> sqlite3.Connection:
        """The writer's connection (tests inspect its pragmas and trace its statements)."""
        return self._db.conn

    def close(self) -> None:
        """Close the database (idempotent)."""
        self._db.close()

    def __enter__(self) -> "InspectionLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and the chain ---------------------------------------------------------------
    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (see :meth:`LogDatabase.write`)."""
        with self._db.write(doing) as conn:
            yield conn

    def head(self) -> tuple[int, str]:
        """The newest row's chain position and hash (write them down to anchor the log)."""
        return self._db.head()

    def verify_chain(self, *, check_files: bool = True, anchor: tuple[int, str] | None = None) -> ChainStatus:
        """Walk the whole hash chain and re-hash every stored file; name the first broken row.

        Uses its own read-only connection and one snapshot, so it sees a consistent log and does
        not hold up inspections being recorded meanwhile.
        """
        return self._db.verify_chain(self.media.root, check_files=check_files, anchor=anchor)

    def integrity_check(self) -> str:
        """SQLite's own page-level check: "ok" or the problems it found."""
        return self._db.integrity_check()

    # -- settings ---------------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = MISSING) -> Any:
        """The current value of a setting: the newest change, else ``default``, else Tilik's
        default (:data:`DEFAULT_SETTINGS`), else None."""
        return self._settings.get(key, default)

    def settings(self) -> dict[str, Any]:
        """Every setting in force (Tilik's defaults overlaid with the changes made)."""
        return self._settings.all()

    def set_setting(self, key: str, value: Any, *, by: str = "") -> None:
        """Change a setting. Changes are chained rows too, so an auditor sees who turned full
        images off for a mode, and when. Known keys are checked (see :data:`DEFAULT_SETTINGS`)."""
        self._settings.set(key, value, by=by)

    def setting_history(self, key: str) -> list[dict[str, Any]]:
        """Every change of one setting, oldest first: time, value, changed_by."""
        return self._settings.history(key)

    # -- recording ----------------------------------------------------------------------------------
    def stager(self, mode: str | None = None, keep_full_image: bool | None = None) -> MediaStager:
        """A :class:`MediaStager` for this log: it writes inspections' files (durably) without
        touching the database, in any thread; :meth:`commit_staged` then writes their rows.
        ``mode`` None records each result under its pack's mode; ``keep_full_image`` None follows
        the ``thumbnails_only_modes`` setting. The storage settings are those in force now."""
        return self._inspections.stager(mode, keep_full_image)

    def commit_staged(self, staged: Sequence[StagedInspection], *, operator: str = "", station: str = "",
                      seal: SealFields | None = None, signature: SignatureFields | None = None,
                      skin: SkinFields | None = None) -> list[int]:
        """Write the rows of staged inspections (see :meth:`stager`), sharing the same details, in
        order and in one transaction; returns their ids. Durable when it returns (one disk flush
        for all). Raises :class:`ValidationError` (nothing stored) for inconsistent details, or
        inspections staged for another log, and :class:`StorageError` (nothing stored) when the
        disk is full or the log read-only."""
        return self._inspections.commit_staged(staged, operator=operator, station=station, seal=seal,
                                               signature=signature, skin=skin)

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
        ids = self._inspections.record(iter([result]), iter([image]), commit_staged=self.commit_staged,
                                       operator=operator, station=station, mode=mode, seal=seal,
                                       signature=signature, skin=skin, keep_full_image=keep_full_image,
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
        return self._inspections.record(iter(results), iter(images) if images is not None else None,
                                        commit_staged=self.commit_staged, operator=operator, station=station,
                                        mode=mode, seal=seal, signature=signature, skin=skin,
                                        keep_full_image=keep_full_image, per_transaction=per_transaction)

    # -- reading inspections ------------------------------------------------------------------------
    def get(self, inspection_id: int) -> InspectionRecord:
        """One inspection with its latest review; :class:`RecordNotFoundError` if there is none."""
        return self._queries.get(inspection_id)

    def query(self, q: LogQuery | None = None) -> list[InspectionRecord]:
        """One page of inspections matching ``q`` (newest first by default)."""
        return self._queries.query(q)

    def count(self, q: LogQuery | None = None) -> int:
        """How many inspections match ``q`` (paging fields ignored)."""
        return self._queries.count(q)

    def iter_records(self, q: LogQuery | None = None, *, page: int = 500) -> Iterator[InspectionRecord]:
        """Every inspection matching ``q`` (ignoring its offset/limit), fetched ``page`` at a time
        by keyset so memory stays flat and deep pages stay fast."""
        return self._queries.iter_records(q, page=page)

    # -- reviews ---------------------------------------------------------------------------------------
    def add_review(self, inspection_id: int, decision: str, by: str, note: str = "",
                   corrected_label: str | None = None) -> Review:
        """Record a supervisor's decision about an inspection (the inspection itself is unchanged).

        ``confirm`` agrees with the machine; ``overturn`` gives the right label (required unless the
        pack has exactly two classes, when it is the other one) and why; ``escalate`` passes it
        up, with why. The newest review is the one in force.
        """
        return self._reviews.add(inspection_id, decision, by, note, corrected_label)

    def reviews(self, inspection_id: int) -> list[Review]:
        """Every review of an inspection, oldest first."""
        return self._reviews.of(inspection_id)

    # -- files ------------------------------------------------------------------------------------------
    def image_path(self, sha256: str) -> Path | None:
        """The stored image for an input SHA-256 (or a stored file's own SHA-256), preferring the
        original over a thumbnail; None when no image of it is kept."""
        return self._files.image_path(sha256)

    def stored_image_path(self, record: InspectionRecord | SignatureReference) -> Path | None:
        """The image kept for this record (original or thumbnail), or None."""
        return self._files.stored_image_path(record)

    def heatmap_path(self, record: InspectionRecord) -> Path | None:
        """The heatmap kept for this record (8-bit grayscale PNG), or None."""
        return self._files.heatmap_path(record)

    def heatmap_array(self, record: InspectionRecord) -> np.ndarray | None:
        """The record's heatmap as float32 in [0, 1], or None."""
        return self._files.heatmap_array(record)

    def image_array(self, record: InspectionRecord | SignatureReference) -> np.ndarray | None:
        """The record's stored image decoded to RGB uint8, or None."""
        return self._files.image_array(record)

    # -- signature references ------------------------------------------------------------------------
    def enrol_reference(self, customer_id: str, image: ImageInput, enrolled_by: str, source_document: str,
                        note: str = "") -> SignatureReference:
        """Enrol one specimen signature of a customer, from a named document (account opening
        form, ID card...). The full image is always kept: it is what later checks compare with."""
        return self._references.enrol(customer_id, image, enrolled_by, source_document, note)

    def references(self, customer_id: str, include_retired: bool = False) -> list[SignatureReference]:
        """A customer's enrolled reference signatures, oldest first (retired ones only if asked)."""
        return self._references.of_customer(customer_id, include_retired)

    def get_reference(self, ref_id: int) -> SignatureReference:
        return self._references.get(ref_id)

    def retire_reference(self, ref_id: int, by: str, why: str) -> SignatureReference:
        """Retire a reference signature (it stays in the log, marked retired, and can no longer be
        used by new checks). Says who and why."""
        return self._references.retire(ref_id, by, why)


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
