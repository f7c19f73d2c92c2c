"""Signing the log's head at every commit, and checking it (with the anchors) when verifying.

The store calls :func:`check_previous_head` and :func:`sign_head` inside every write transaction:

1. the head found in ``chain_head`` must carry a valid signature by a key recorded in the log
   (else the log was changed outside Tilik since its last commit, and signing a new head on top
   of it would vouch for the change: the write is refused with an error saying so);
2. this station's key is recorded in ``station_keys`` (a chained row) the first time it writes;
3. the new head is signed (:mod:`inference.log.signing`) in the same transaction.

:func:`verify_log` is the full check behind ``tilik log verify``: the hash chain, the stored files,
every anchor recorded for this log, and who signed the head.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

from inference.errors import StorageError
from inference.log import chain
from inference.log.anchors import Anchor
from inference.log.models import ChainStatus, HeadCheck
from inference.log.schema import GENESIS_HASH, SIGNED_FROM_VERSION
from inference.log.signing import SignedHead, StationKey, key_id_of

KEYS_TABLE = "station_keys"


class LogTamperedError(StorageError):
    """The log's head is not signed as it should be: it was changed outside Tilik."""


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def has_signing(conn: sqlite3.Connection) -> bool:
    """True when the file has the signing tables (schema v3 or later, even if user_version lies)."""
    return "sig_value" in _columns(conn, "chain_head")


def read_signed_head(conn: sqlite3.Connection) -> tuple[int, str, SignedHead | None]:
    """The head (seq, hash) and its signature, None when unsigned or the file predates signing."""
    if not has_signing(conn):
        row = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1]), None) if row else (0, GENESIS_HASH, None)
    row = conn.execute("SELECT seq, hash, sig_station, sig_key_id, sig_time_utc, sig_value "
                       "FROM chain_head WHERE id = 1").fetchone()
    if row is None:
        return 0, GENESIS_HASH, None
    seq, digest, station, key_id, when, sig = row
    signed = None
    if sig is not None:
        signed = SignedHead(int(seq), str(digest), str(station or ""), str(key_id or ""), str(when or ""), str(sig))
    return int(seq), str(digest), signed


def recorded_keys(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """key_id → (public key hex, station) for every key recorded in the log."""
    if KEYS_TABLE not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for key_id, public_key, station in conn.execute(f"SELECT key_id, public_key, station FROM {KEYS_TABLE}"):
        # A row whose id does not match its key would let a forged key borrow a real id.
        try:
            if key_id_of(bytes.fromhex(public_key)) == key_id:
                out[key_id] = (public_key, station)
        except (ValueError, TypeError):
            continue
    return out


def log_id(conn: sqlite3.Connection, tables: Iterable[str]) -> str:
    """The hash of the log's first chained row ("" for an empty log): what anchors are filed under."""
    for table in tables:
        row = conn.execute(f"SELECT hash FROM {table} WHERE seq = 1").fetchone()  # noqa: S608 - our names
        if row is not None:
            return str(row[0])
    return ""


# -- writing ---------------------------------------------------------------------------------------
class HeadSigner:
    """Signs heads for one open log with this station's key; remembers the last head it signed so
    the check of the previous head costs nothing when nobody else wrote in between."""

    def __init__(self, key: StationKey, station: str) -> None:
        self.key = key
        self.station = station
        self._keys: dict[str, tuple[str, str]] | None = None
        self._last: SignedHead | None = None
        self.just_registered = False  # set when a transaction recorded the key; the store notes an anchor

    @property
    def last(self) -> SignedHead | None:
        """The head this signer signed last."""
        return self._last

    def forget(self) -> None:
        """Drop what was cached from a transaction that rolled back."""
        self._keys = None
        self._last = None
        self.just_registered = False

    def check_previous_head(self, conn: sqlite3.Connection, db: Path) -> tuple[int, str]:
        """The current head, after checking its signature (inside the write transaction)."""
        seq, digest, signed = read_signed_head(conn)
        if signed is not None and signed == self._last:
            return seq, digest
        problem = None
        if signed is None:
            problem = "its newest row is not signed"
        elif (signed.seq, signed.hash) != (seq, digest):
            problem = "its head record does not match the signature made when it was last written"
        else:
            if self._keys is None or signed.key_id not in self._keys:
                self._keys = recorded_keys(conn)
            known = self._keys.get(signed.key_id)
            if known is None:
                problem = f"its head is signed by key {signed.key_id}, which the log does not record"
            elif not signed.verify(known[0]):
                problem = "its head's signature is not valid"
        if problem:
            raise LogTamperedError(
                f"The inspection log {db} was changed outside Tilik since it was last written ({problem}). "
                "Nothing was saved, so that Tilik does not sign over the change. Run `tilik log verify` to see "
                "what changed, keep this file for investigation and start a new log.")
        self._last = signed
        return seq, digest

    def register_key(self, conn: sqlite3.Connection, head_seq: int, time_utc: str) -> bool:
        """Record this station's public key in the log (inside the write transaction) unless it is
        there already; True when it was added."""
        if self._keys is None or self.key.key_id not in self._keys:
            self._keys = recorded_keys(conn)
        if self.key.key_id in self._keys:
            return False
        conn.execute(f"INSERT INTO {KEYS_TABLE} (key_id, algorithm, public_key, station, time_utc, first_seq) "
                     "VALUES (?, 'ed25519', ?, ?, ?, ?)",
                     (self.key.key_id, self.key.public_key_hex, self.station, time_utc, int(head_seq)))
        self._keys[self.key.key_id] = (self.key.public_key_hex, self.station)
        self.just_registered = True
        return True

    def sign(self, conn: sqlite3.Connection, seq: int, digest: str, time_utc: str) -> SignedHead:
        """Sign the new head and store it in ``chain_head`` (inside the write transaction)."""
        signed = self.key.sign_head(seq, digest, self.station, time_utc)
        conn.execute("UPDATE chain_head SET seq = ?, hash = ?, sig_station = ?, sig_key_id = ?, sig_time_utc = ?, "
                     "sig_value = ? WHERE id = 1",
                     (seq, digest, signed.station, signed.key_id, signed.time_utc, signed.signature))
        self._last = signed
        return signed


# -- verifying -------------------------------------------------------------------------------------
def check_head(conn: sqlite3.Connection, version: int, head_seq: int, head_hash: str, *,
               local_key_id: str | None, trusted: Iterable[str] = ()) -> HeadCheck:
    """Who signed the head, and whether that is acceptable, in plain words."""
    _, _, signed = read_signed_head(conn)
    keys = recorded_keys(conn)
    signing_file = has_signing(conn)
    if signed is None:
        if version >= SIGNED_FROM_VERSION or signing_file or keys:
            return HeadCheck("invalid", False,
                             "The head is NOT signed, though this log signs every change: its signature was "
                             "removed, i.e. the log was changed by someone without the station's key.")
        return HeadCheck("unsigned", False,
                         f"The head is not signed: this log was made before Tilik signed its logs (schema "
                         f"{version}), or it was rewritten in that older form. Nothing proves who wrote it. If it "
                         "is an old log of yours, open it once with this Tilik (`tilik log close-shift --db DB`) "
                         "to sign it from now on.")
    base = dict(key_id=signed.key_id, station=signed.station, time_utc=signed.time_utc)
    known = keys.get(signed.key_id)
    if known is None:
        return HeadCheck("invalid", False, f"The head is signed by key {signed.key_id}, which this log does not "
                         "record: the signature was forged or copied from another log.", **base)
    if (signed.seq, signed.hash) != (head_seq, head_hash) or not signed.verify(known[0]):
        return HeadCheck("invalid", False,
                         "The head's signature does not match the head: the log was changed by someone without "
                         "the station's key (rows edited, removed or re-hashed, or the head record rewritten).",
                         **base)
    who = f"key {signed.key_id} (station {signed.station or '?'}), signed {signed.time_utc[:19].replace('T', ' ')} UTC"
    if local_key_id and signed.key_id == local_key_id:
        return HeadCheck("this-station", True, f"Head signed by THIS station's key: {who}.", **base)
    if signed.key_id in set(trusted):
        return HeadCheck("trusted", True, f"Head signed by a key you trust: {who}.", **base)
    if local_key_id and local_key_id in keys:
        return HeadCheck("foreign", False,
                         f"Head signed by {who}, NOT by this station's key {local_key_id}, though this station "
                         "wrote to this log before: another key has taken the log over. If that station is "
                         f"legitimate, run again with --trust-key {signed.key_id}.", **base)
    return HeadCheck("recorded", True,
                     f"Head signed by {who}. That key is recorded in this log but this computer does not hold "
                     f"it: compare {signed.key_id} with the station's key id (`tilik log key` on that station, "
                     "or a close-shift printout), or pass --trust-key.", **base)


def verify_log(conn: sqlite3.Connection, tables: tuple[str, ...], version: int, media_root: Path, *,
               check_files: bool = True, anchor: tuple[int, str] | None = None,
               anchors: Iterable[Anchor] = (), local_key_id: str | None = None,
               trusted: Iterable[str] = ()) -> ChainStatus:
    """The chain, files and anchors (:func:`chain.verify`), then the head's signature."""
    this_log = log_id(conn, tables)
    mine = [a for a in anchors if this_log and a.log_id == this_log]
    status = chain.verify(conn, tables, media_root, check_files=check_files, anchor=anchor,
                          anchors=[(a.seq, a.hash, "noted by " + a.describe()) for a in mine])
    head = check_head(conn, version, status.head_seq, status.head_hash, local_key_id=local_key_id, trusted=trusted)
    extra = {"signature": head, "anchors_checked": len(mine), "log_id": this_log}
    if status.ok and not head.ok:
        return ChainStatus(ok=False, checked=status.checked, reason=head.text, first_broken_seq=status.head_seq,
                           head_seq=status.head_seq, head_hash=status.head_hash,
                           files_checked=status.files_checked, **extra)
    from dataclasses import replace

    return replace(status, **extra)
