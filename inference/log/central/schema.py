"""The central server's schema (PostgreSQL) and its numbered migrations.

The server mirrors every station's evidence rows generically: one ``tilik.evidence`` row per
chained row of a station log, holding the station, the row's chain position (``seq``), its table
name, its id, its hash and its canonical JSON (``doc``, exactly the text the station hashed; see
:mod:`inference.log.chain`). A station migration that adds a nullable column, or a new chained
table, therefore travels without any server change. ``body`` is ``doc`` as ``jsonb`` (generated,
so it cannot be edited apart from ``doc``) for the read commands' filters.

Checked on arrival (a statement trigger over the inserted rows): every new row continues its
station's chain, ``hash = SHA-256(previous hash ‖ doc)`` with the previous row already on the
server (or the genesis hash at seq 1), and ``doc`` names the same table, seq and id as the row.
A row at a position the server already holds is refused by the primary key: a station can never
rewrite what it pushed. Media files are checked against their SHA-256 the same way.

Append-only: stations get the ``tilik_station`` role (SELECT and INSERT only), and triggers refuse
UPDATE, DELETE and TRUNCATE on every evidence table for everyone, the owner included (they stop
honest mistakes; ``tilik log verify --central`` catches the rest).

Since version 2 the server also keeps each station's Ed25519 public keys (``tilik.station_keys``)
and the signed heads it pushed (``tilik.signed_heads``), both append-only the same way; see V2.

Migrations are numbered like the station's and never edited once released; ``tilik.migrations``
records each one applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.log.schema import GENESIS_HASH

STATION_ROLE = "tilik_station"
AUDITOR_ROLE = "tilik_auditor"
# Every migration runs under this advisory lock, so two administrators cannot interleave.
MIGRATION_LOCK = 0x54494C4B


@dataclass(frozen=True)
class CentralMigration:
    version: int
    description: str
    sql: str


def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON tilik.{table}
    FOR EACH ROW EXECUTE FUNCTION tilik.refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON tilik.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION tilik.refuse_change();
"""


V1 = r"""
CREATE SCHEMA IF NOT EXISTS tilik;

CREATE FUNCTION tilik.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tilik.% rows are evidence and cannot be changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- A station is a log file: its name and the hash of its first row tell one log from another.
CREATE TABLE tilik.stations (
    name          text PRIMARY KEY CHECK (name <> '' AND length(name) <= 200),
    genesis_hash  text NOT NULL CHECK (genesis_hash ~ '^[0-9a-f]{64}$'),
    registered_by text NOT NULL DEFAULT current_user
);

CREATE TABLE tilik.evidence (
    station text   NOT NULL,  -- a registered station: checked by evidence_chain, per statement
    seq     bigint NOT NULL CHECK (seq > 0),
    tbl     text   NOT NULL,
    row_id  bigint NOT NULL,
    hash    text   NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    doc     text   NOT NULL,
    body    jsonb  GENERATED ALWAYS AS (doc::jsonb) STORED,
    PRIMARY KEY (station, seq)
);
CREATE UNIQUE INDEX evidence_row ON tilik.evidence (station, tbl, row_id);
CREATE INDEX evidence_customer ON tilik.evidence ((body ->> 'customer_id'))
    WHERE tbl = 'signature_references';
CREATE INDEX evidence_review_of ON tilik.evidence (station, ((body ->> 'inspection_id')::bigint))
    WHERE tbl = 'reviews';
CREATE INDEX evidence_retired ON tilik.evidence (station, ((body ->> 'reference_id')::bigint))
    WHERE tbl = 'reference_retirements';

CREATE FUNCTION tilik.check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    stranger text;
BEGIN
    -- A foreign key would check row by row; one query over the whole statement is far cheaper.
    SELECT DISTINCT n.station INTO stranger FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM tilik.stations s WHERE s.name = n.station) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'refused: station % is not registered on the server', stranger
            USING ERRCODE = 'foreign_key_violation', HINT = 'tilik-chain';
    END IF;
    SELECT n.station, n.seq, n.tbl, n.row_id,
           CASE
             WHEN p.hash IS NULL AND n.seq > 1 THEN 'the row before it (position ' || (n.seq - 1) || ') is not on the server'
             WHEN n.body ->> '_table' IS DISTINCT FROM n.tbl
               OR (n.body ->> 'seq') IS DISTINCT FROM n.seq::text
               OR (n.body ->> 'id') IS DISTINCT FROM n.row_id::text THEN 'its table, position or id differ from its content'
             ELSE 'its hash does not continue the chain the server holds'
           END AS why
      INTO bad
      FROM new_rows n
      LEFT JOIN tilik.evidence p ON p.station = n.station AND p.seq = n.seq - 1
     WHERE (p.hash IS NULL AND n.seq > 1)
        OR n.body ->> '_table' IS DISTINCT FROM n.tbl
        OR (n.body ->> 'seq') IS DISTINCT FROM n.seq::text
        OR (n.body ->> 'id') IS DISTINCT FROM n.row_id::text
        OR n.hash <> encode(sha256(convert_to(
               CASE WHEN n.seq = 1 THEN '""" + GENESIS_HASH + r"""' ELSE p.hash END || n.doc, 'UTF8')), 'hex')
     ORDER BY n.station, n.seq
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'refused: % row % of station % (chain position %): %',
            bad.tbl, bad.row_id, bad.station, bad.seq, bad.why
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'tilik-chain';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER evidence_chain AFTER INSERT ON tilik.evidence
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tilik.check_chain();

CREATE TABLE tilik.media (
    sha256 text  PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data   bytea NOT NULL
);
CREATE FUNCTION tilik.check_media() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT n.sha256 INTO bad FROM new_media n WHERE encode(sha256(n.data), 'hex') <> n.sha256 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'refused: the file sent as % does not have that SHA-256', bad
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'tilik-media';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER media_hash AFTER INSERT ON tilik.media
    REFERENCING NEW TABLE AS new_media FOR EACH STATEMENT EXECUTE FUNCTION tilik.check_media();

-- Pushes the server refused (a station log rewritten after a push): reported, never merged.
CREATE TABLE tilik.refused_pushes (
    id           bigserial PRIMARY KEY,
    station      text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    by_user      text NOT NULL DEFAULT current_user,
    first_differs bigint,
    server_head  text,
    local_head   text,
    reason       text NOT NULL
);

-- Every push that committed, with the head it left: a witness that the newest rows existed, so
-- deleting them on the server later is detected (the chain alone cannot tell a short chain from
-- a cut one).
CREATE TABLE tilik.pushes (
    id        bigserial PRIMARY KEY,
    station   text   NOT NULL REFERENCES tilik.stations (name),
    head_seq  bigint NOT NULL,
    head_hash text   NOT NULL,
    rows      integer NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    by_user   text NOT NULL DEFAULT current_user
);
CREATE INDEX pushes_station ON tilik.pushes (station, head_seq);
""" + "".join(_append_only(t) for t in ("stations", "evidence", "media", "refused_pushes", "pushes")) + r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tilik_station') THEN
        CREATE ROLE tilik_station NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tilik_auditor') THEN
        CREATE ROLE tilik_auditor NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON SCHEMA tilik FROM PUBLIC;
GRANT USAGE ON SCHEMA tilik TO tilik_station, tilik_auditor;
GRANT SELECT, INSERT ON tilik.stations, tilik.evidence, tilik.media, tilik.refused_pushes, tilik.pushes TO tilik_station;
GRANT USAGE ON SEQUENCE tilik.refused_pushes_id_seq, tilik.pushes_id_seq TO tilik_station;
GRANT SELECT ON tilik.stations, tilik.evidence, tilik.media, tilik.refused_pushes, tilik.pushes TO tilik_auditor;
"""

# v2 (issue #27 x #22): the stations' Ed25519 public keys and the signed heads they push. Postgres
# cannot check an Ed25519 signature, so the server checks on arrival what SQL can (a key's id is the
# SHA-256 of its public key; a signed head names an evidence row the station already holds, with
# the same hash, and a key recorded for that station) and ``tilik log verify --central`` checks the
# signatures. ``signer`` is the station name inside the signed text (the station's own label,
# which may differ from the name it pushes under); ``registered`` is when the station recorded the
# key (its own clock, as in its log); ``received`` is the server's.
V2 = r"""
CREATE TABLE tilik.station_keys (
    station      text   NOT NULL REFERENCES tilik.stations (name),
    key_id       text   NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    algorithm    text   NOT NULL CHECK (algorithm = 'ed25519'),
    public_key   text   NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
    signer       text   NOT NULL,
    first_seq    bigint NOT NULL,
    registered   text   NOT NULL,
    received     timestamptz NOT NULL DEFAULT now(),
    received_by  text   NOT NULL DEFAULT current_user,
    PRIMARY KEY (station, key_id)
);

CREATE TABLE tilik.signed_heads (
    station      text   NOT NULL REFERENCES tilik.stations (name),
    seq          bigint NOT NULL CHECK (seq > 0),
    hash         text   NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    key_id       text   NOT NULL,
    signer       text   NOT NULL,
    time_utc     text   NOT NULL,
    signature    text   NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    received     timestamptz NOT NULL DEFAULT now(),
    received_by  text   NOT NULL DEFAULT current_user,
    PRIMARY KEY (station, seq)
);

CREATE FUNCTION tilik.check_station_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.station, n.key_id INTO bad FROM new_keys n
     WHERE left(encode(sha256(decode(n.public_key, 'hex')), 'hex'), 16) <> n.key_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'refused: key % of station % is not the id of the public key sent with it', bad.key_id, bad.station
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'tilik-head';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER station_keys_id AFTER INSERT ON tilik.station_keys
    REFERENCING NEW TABLE AS new_keys FOR EACH STATEMENT EXECUTE FUNCTION tilik.check_station_key();

CREATE FUNCTION tilik.check_signed_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.station, n.seq,
           CASE WHEN e.hash IS NULL THEN 'the server holds no row of that station at that position'
                WHEN e.hash <> n.hash THEN 'its hash is not the hash of the row the server holds there'
                ELSE 'its key ' || n.key_id || ' is not recorded for that station' END AS why
      INTO bad
      FROM new_heads n
      LEFT JOIN tilik.evidence e ON e.station = n.station AND e.seq = n.seq
      LEFT JOIN tilik.station_keys k ON k.station = n.station AND k.key_id = n.key_id
     WHERE e.hash IS NULL OR e.hash <> n.hash OR k.key_id IS NULL
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'refused: the signed head of station % at chain position %: %', bad.station, bad.seq, bad.why
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'tilik-head';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER signed_heads_match AFTER INSERT ON tilik.signed_heads
    REFERENCING NEW TABLE AS new_heads FOR EACH STATEMENT EXECUTE FUNCTION tilik.check_signed_head();
""" + "".join(_append_only(t) for t in ("station_keys", "signed_heads")) + r"""
GRANT SELECT, INSERT ON tilik.station_keys, tilik.signed_heads TO tilik_station;
GRANT SELECT ON tilik.station_keys, tilik.signed_heads TO tilik_auditor;
"""

MIGRATIONS: tuple[CentralMigration, ...] = (
    CentralMigration(1, "stations, evidence (chain checked on arrival), media, refused pushes; roles", V1),
    CentralMigration(2, "station public keys and signed heads (append-only)", V2),
)
CURRENT_VERSION = MIGRATIONS[-1].version

_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS tilik;
CREATE TABLE IF NOT EXISTS tilik.migrations (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text NOT NULL DEFAULT current_user
);
"""


def server_version(conn: Any) -> int:
    """The server schema's version (0: no Tilik schema yet)."""
    row = conn.execute("SELECT to_regclass('tilik.migrations') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM tilik.migrations").fetchone()[0])


def migrate(conn: Any, *, target: int | None = None,
            migrations: tuple[CentralMigration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations the server lacks, each in its own transaction with its bookkeeping row
    (an interrupted upgrade leaves the previous version). ``conn`` is a psycopg connection of the
    schema's owner (an administrator), in autocommit mode. Returns the versions applied."""
    target = migrations[-1].version if target is None else target
    applied: list[int] = []
    for step in migrations:
        if step.version > target:
            break
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(_BOOKKEEPING)
            if server_version(conn) >= step.version:
                continue
            conn.execute(step.sql)
            conn.execute("INSERT INTO tilik.migrations (version, description) VALUES (%s, %s)",
                         (step.version, step.description))
            applied.append(step.version)
    # The station and auditor roles read which version the server has.
    with conn.transaction():
        conn.execute("GRANT USAGE ON SCHEMA tilik TO tilik_station, tilik_auditor")
        conn.execute("GRANT SELECT ON tilik.migrations TO tilik_station, tilik_auditor")
    return applied
