"""The log's SQLite schema and its numbered migrations.

``PRAGMA user_version`` holds the schema version. Each migration runs inside its own
``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so an upgrade
interrupted by a crash leaves the file at the previous version, never half-way.

Past migrations are never edited: a v1 file made by the first release must upgrade the same way
forever, and the tests build one from :data:`MIGRATIONS` [0] to prove it.

Every table holding evidence ("chained" tables) is append-only: triggers refuse UPDATE and
DELETE, and each row carries ``seq`` (its position in the log's single hash chain) and ``hash``
(see :mod:`inference.log.chain`). The triggers stop honest mistakes; the chain catches the rest.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Sequence

from inference.errors import StorageError

# "TILK": lets Tilik tell its own log from any other SQLite file.
APPLICATION_ID = 0x54494C4B
GENESIS_HASH = "0" * 64


def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} rows are evidence and cannot be changed; add a new row instead'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} rows are evidence and cannot be deleted'); END;
"""


V1 = """
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '""" + GENESIS_HASH + """');

CREATE TABLE inspections (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    seq               INTEGER NOT NULL UNIQUE,
    hash              TEXT NOT NULL,
    time_utc          TEXT NOT NULL,
    utc_offset_min    INTEGER NOT NULL,
    operator          TEXT NOT NULL,
    station           TEXT NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('seal', 'signature', 'skin', 'general')),
    app_version       TEXT NOT NULL,
    source            TEXT,
    pack_id           TEXT NOT NULL,
    pack_version      TEXT NOT NULL,
    pack_sha256       TEXT NOT NULL,
    provider          TEXT NOT NULL,
    image_sha256      TEXT NOT NULL,
    image_width       INTEGER,
    image_height      INTEGER,
    image_notes       TEXT NOT NULL,
    image_kind        TEXT NOT NULL CHECK (image_kind IN ('original', 'thumbnail', 'none')),
    image_file        TEXT,
    image_file_sha256 TEXT,
    heatmap_file      TEXT,
    heatmap_sha256    TEXT,
    label             TEXT NOT NULL,
    display_label     TEXT NOT NULL,
    verdict           TEXT NOT NULL,
    alarming          INTEGER NOT NULL,
    confidence        REAL NOT NULL,
    probabilities     TEXT NOT NULL,
    needs_review      INTEGER NOT NULL,
    review_reasons    TEXT NOT NULL,
    guard             TEXT,
    mitigated         TEXT,
    out_of_domain     INTEGER NOT NULL,
    ood_score         REAL,
    timings           TEXT NOT NULL,
    seal_number       TEXT,
    container_number  TEXT,
    container_check   TEXT CHECK (container_check IN ('valid', 'bad-check-digit', 'bad-format')),
    container_check_confirmed INTEGER,
    seal_class        TEXT CHECK (seal_class IN ('indicative', 'security', 'high-security')),
    vvtt_view         INTEGER,
    vvtt_verify       INTEGER,
    vvtt_tug          INTEGER,
    vvtt_twist        INTEGER,
    customer_id       TEXT,
    document_ref      TEXT,
    reference_set     TEXT,
    signature_score   REAL,
    signature_threshold REAL,
    patient_ref       TEXT,
    body_site         TEXT
) STRICT;
-- Single-column indexes are enough: SQLite appends the rowid (= id) to every index entry, so
-- "WHERE mode = ? ORDER BY id DESC LIMIT 100" walks one index in id order without sorting.
CREATE INDEX inspections_time ON inspections (time_utc);
CREATE INDEX inspections_mode ON inspections (mode);
CREATE INDEX inspections_label ON inspections (label);
CREATE INDEX inspections_needs_review ON inspections (needs_review);
CREATE INDEX inspections_operator ON inspections (operator);
CREATE INDEX inspections_seal ON inspections (seal_number) WHERE seal_number IS NOT NULL;
CREATE INDEX inspections_container ON inspections (container_number) WHERE container_number IS NOT NULL;
CREATE INDEX inspections_customer ON inspections (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX inspections_image ON inspections (image_sha256);
""" + _append_only("inspections") + """
CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    seq             INTEGER NOT NULL UNIQUE,
    hash            TEXT NOT NULL,
    inspection_id   INTEGER NOT NULL REFERENCES inspections (id),
    inspection_hash TEXT NOT NULL,
    time_utc        TEXT NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    decision        TEXT NOT NULL CHECK (decision IN ('confirm', 'overturn', 'escalate')),
    reviewer        TEXT NOT NULL,
    note            TEXT NOT NULL,
    corrected_label TEXT,
    app_version     TEXT NOT NULL
) STRICT;
CREATE INDEX reviews_inspection ON reviews (inspection_id, id);
""" + _append_only("reviews") + """
CREATE TABLE settings_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    seq             INTEGER NOT NULL UNIQUE,
    hash            TEXT NOT NULL,
    time_utc        TEXT NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    changed_by      TEXT NOT NULL
) STRICT;
CREATE INDEX settings_key ON settings_log (key, id);
""" + _append_only("settings_log")

V2 = """
CREATE TABLE signature_references (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    seq               INTEGER NOT NULL UNIQUE,
    hash              TEXT NOT NULL,
    time_utc          TEXT NOT NULL,
    utc_offset_min    INTEGER NOT NULL,
    customer_id       TEXT NOT NULL,
    enrolled_by       TEXT NOT NULL,
    source_document   TEXT NOT NULL,
    image_sha256      TEXT NOT NULL,
    image_file        TEXT NOT NULL,
    image_file_sha256 TEXT NOT NULL,
    image_width       INTEGER,
    image_height      INTEGER,
    note              TEXT NOT NULL
) STRICT;
CREATE INDEX signature_references_customer ON signature_references (customer_id);
""" + _append_only("signature_references") + """
CREATE TABLE reference_retirements (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    seq             INTEGER NOT NULL UNIQUE,
    hash            TEXT NOT NULL,
    reference_id    INTEGER NOT NULL UNIQUE REFERENCES signature_references (id),
    time_utc        TEXT NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    retired_by      TEXT NOT NULL,
    why             TEXT NOT NULL
) STRICT;
""" + _append_only("reference_retirements") + """
CREATE INDEX inspections_patient ON inspections (patient_ref) WHERE patient_ref IS NOT NULL;
"""

# Shared references (the central copy): a reference enrolled at another station and pulled here
# names the station it was enrolled at, its id and row hash there; a retirement pulled from
# another station names that station. NULL for everything recorded here (old hashes unchanged).
V_SHARED_REFERENCES = """
ALTER TABLE signature_references ADD COLUMN origin_station TEXT;
ALTER TABLE signature_references ADD COLUMN origin_id INTEGER;
ALTER TABLE signature_references ADD COLUMN origin_hash TEXT;
ALTER TABLE reference_retirements ADD COLUMN origin_station TEXT;
CREATE UNIQUE INDEX signature_references_origin ON signature_references (origin_station, origin_id)
    WHERE origin_station IS NOT NULL;
"""

# v3 (log signing, issue #22): the public keys of the stations that sign this log's head, and the
# head's signature, kept in chain_head beside the head it signs (see inference/log/signing.py).
# station_keys is append-only but not chained: a key proves itself (key_id is the SHA-256 of the
# public key) and chaining it would move every later row's seq.
V3_SIGNING = """
CREATE TABLE station_keys (
    key_id          TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL CHECK (algorithm IN ('ed25519')),
    public_key      TEXT NOT NULL,
    station         TEXT NOT NULL,
    time_utc        TEXT NOT NULL,
    first_seq       INTEGER NOT NULL
) STRICT;
""" + _append_only("station_keys") + """
ALTER TABLE chain_head ADD COLUMN sig_station TEXT;
ALTER TABLE chain_head ADD COLUMN sig_key_id TEXT;
ALTER TABLE chain_head ADD COLUMN sig_time_utc TEXT;
ALTER TABLE chain_head ADD COLUMN sig_value TEXT;
"""

# v6 (issue 20, verdicts): the verdict model as data. ``verdict_outcome`` is decided | review |
# refused; ``verdict_codes`` is the JSON of inference.results.Verdict (reason codes + parameters,
# refusal, how the number is read). A REFUSED row names no class, but ``label``,
# ``display_label`` and ``confidence`` are NOT NULL since v1 and SQLite cannot relax that without
# rebuilding the append-only, hash-chained table: a refused row stores '' / '' / 0.0 there as
# placeholders, and readers take ``verdict_outcome`` as the truth (InspectionRecord.label is None).
# Rows from v5 and earlier keep NULL in both columns, so their hashes are unchanged (NULLs are
# left out of the canonical row); they are read through inference.wording.legacy_reason.
V6_VERDICTS = """
ALTER TABLE inspections ADD COLUMN verdict_outcome TEXT CHECK (verdict_outcome IN ('decided', 'review', 'refused'));
ALTER TABLE inspections ADD COLUMN verdict_codes TEXT;
CREATE INDEX inspections_verdict_outcome ON inspections (verdict_outcome) WHERE verdict_outcome IS NOT NULL;
"""


# Issue 26: what the OCR read off the seal photo, next to what the inspector confirmed (the
# seal_number / container_number columns) and whether the inspector changed it. All nullable:
# rows written before (or without a reading) keep their hashes.
V_OCR_READING = """
ALTER TABLE inspections ADD COLUMN ocr_container_number TEXT;
ALTER TABLE inspections ADD COLUMN ocr_container_check TEXT
    CHECK (ocr_container_check IN ('valid', 'bad-check-digit', 'bad-format'));
ALTER TABLE inspections ADD COLUMN ocr_seal_number TEXT;
ALTER TABLE inspections ADD COLUMN ocr_confirmed INTEGER;
ALTER TABLE inspections ADD COLUMN ocr_container_changed INTEGER;
ALTER TABLE inspections ADD COLUMN ocr_seal_changed INTEGER;
"""


# Issue 25: the seal profile that judged a photo (its uuid and SHA-256, see
# inference.profiles.store) and the photo's anomaly score against it. Nullable: rows written
# before, or without a profile, keep their hashes. A retired profile stays on disk, so a record's
# profile can always be checked (ProfileStore.verify_record).
V_SEAL_PROFILES = """
ALTER TABLE inspections ADD COLUMN profile_id TEXT;
ALTER TABLE inspections ADD COLUMN profile_sha256 TEXT;
ALTER TABLE inspections ADD COLUMN profile_anomaly_score REAL;
"""


@dataclass(frozen=True)
class Migration:
    """Schema version ``version`` is reached by running ``sql`` on version ``version - 1``."""

    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "inspections, reviews, settings and the hash chain", V1),
    Migration(2, "signature references (enrolled, retired never deleted); patient index", V2),
    Migration(3, "station signing keys; the chain head's signature", V3_SIGNING),
    Migration(4, "shared references: the origin of references and retirements pulled from the central server",
              V_SHARED_REFERENCES),
    # Packs that cannot lie (issue 22): the manifest sets the thresholds and words of a verdict, so the
    # record names it beside the model's hash. Nullable: rows before it keep their chain hashes.
    Migration(5, "inspections.manifest_sha256: the pack manifest's SHA-256 beside the model's",
              "ALTER TABLE inspections ADD COLUMN manifest_sha256 TEXT;"),
    Migration(6, "verdicts as data: outcome (decided/review/refused) and reason codes", V6_VERDICTS),
    Migration(7, "seal numbers read off the photo (OCR), confirmed or changed by the inspector", V_OCR_READING),
    Migration(8, "seal profiles: the profile (id, SHA-256) that judged a photo and its anomaly score",
              V_SEAL_PROFILES),
)
CURRENT_VERSION = MIGRATIONS[-1].version

# Chained tables in the order they appeared; verify walks all of those the file's version has.
CHAINED_TABLES_BY_VERSION: dict[int, tuple[str, ...]] = {
    1: ("inspections", "reviews", "settings_log"),
    2: ("inspections", "reviews", "settings_log", "signature_references", "reference_retirements"),
    3: ("inspections", "reviews", "settings_log", "signature_references", "reference_retirements"),
}
# Version from which every head is signed (its keys in station_keys).
SIGNED_FROM_VERSION = 3


def chained_tables(version: int) -> tuple[str, ...]:
    """The chained tables a file of schema ``version`` has: those of the newest entry at or below
    it (a migration that adds no chained table needs no entry)."""
    known = [v for v in CHAINED_TABLES_BY_VERSION if v <= max(version, 1)]
    return CHAINED_TABLES_BY_VERSION[max(known)]


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _split(sql: str) -> list[str]:
    """Split a migration script into statements (``sqlite3.complete_statement`` knows about
    trigger bodies), because ``executescript`` would COMMIT our transaction first."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def migrate(conn: sqlite3.Connection, *, target: int | None = None,
            migrations: Sequence[Migration] = MIGRATIONS,
            on_step: Callable[[Migration], None] | None = None) -> int:
    """Bring the database up to ``target`` (default: the newest version); returns the version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Each step is one transaction:
    its DDL and the ``user_version`` bump commit together or not at all.
    """
    target = migrations[-1].version if target is None else target
    version = user_version(conn)
    if version > migrations[-1].version:
        raise StorageError(
            f"This inspection log was made by a newer version of Tilik (schema {version}; this one "
            f"understands up to {migrations[-1].version}). Update Tilik to open it.")
    for step in migrations:
        if step.version <= version or step.version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if user_version(conn) >= step.version:
                conn.execute("ROLLBACK")
                version = user_version(conn)
                continue
            for statement in _split(step.sql):
                conn.execute(statement)
            if step.version == 1:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            if on_step is not None:
                on_step(step)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = step.version
    return version
