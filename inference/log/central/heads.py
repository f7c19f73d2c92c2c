"""The stations' signed heads on the central server: what a push sends, and what
``tilik log verify --central`` checks.

A station signs its chain head with its own Ed25519 key (:mod:`inference.log.signing`); its public
keys are in its log's ``station_keys`` table. A push sends the keys the server lacks and the signed
head covering the rows it pushed, in the same transaction as the last batch, after checking the
signature locally (a head that does not verify is never sent: the push stops). The server checks on
arrival what SQL can (see ``V2`` in :mod:`inference.log.central.schema`); this module's
:func:`check_station` checks the rest: every stored head's signature against the key recorded for
that station, with the exact signed text of :func:`inference.log.signing.head_message`, and that
the signed (seq, hash) is the evidence row the server holds at that position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.log.central.errors import CentralError
from inference.log.signing import SignedHead, key_id_of
from inference.log.trust import KEYS_TABLE, check_head, read_signed_head


@dataclass(frozen=True)
class LocalKey:
    key_id: str
    algorithm: str
    public_key: str
    signer: str
    first_seq: int
    registered: str


@dataclass(frozen=True)
class LocalSigning:
    """A station log's signed head (None for a log made before Tilik signed its logs) and keys."""

    head: SignedHead | None
    keys: tuple[LocalKey, ...]


def read_local(conn: Any, version: int, head_seq: int, head_hash: str, path: Any) -> LocalSigning:
    """The log's signed head and public keys, read in the push's snapshot. Raises
    :class:`CentralError` when the head's signature does not verify here: such a head is never
    pushed (it would vouch for rows changed outside Tilik)."""
    check = check_head(conn, version, head_seq, head_hash, local_key_id=None)
    if check.state == "invalid":
        raise CentralError(f"This log's head does not verify on this computer, so nothing was pushed: {check.text} "
                           f"Run `tilik log verify --db {path}` and keep the file for investigation.")
    _, _, signed = read_signed_head(conn)
    keys: list[LocalKey] = []
    if KEYS_TABLE in {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
        for key_id, algorithm, public_key, signer, registered, first_seq in conn.execute(
                f"SELECT key_id, algorithm, public_key, station, time_utc, first_seq FROM {KEYS_TABLE} ORDER BY first_seq"):
            try:
                genuine = key_id_of(bytes.fromhex(public_key)) == key_id
            except (ValueError, TypeError):
                genuine = False
            if genuine:  # a row whose id is not its key's would be refused by the server anyway
                keys.append(LocalKey(key_id, algorithm, public_key, signer, int(first_seq), registered))
    return LocalSigning(signed if check.state != "unsigned" else None, tuple(keys))


def send(conn: Any, station: str, local: LocalSigning) -> bool:
    """Inside the caller's transaction: send the keys the server lacks for ``station`` and the
    signed head, unless the server has one at that position. True when the head was sent."""
    if local.head is None:
        return False
    head = local.head
    have = {r[0] for r in conn.execute("SELECT key_id FROM tilik.station_keys WHERE station = %s", (station,))}
    missing = [k for k in local.keys if k.key_id not in have]
    if missing:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO tilik.station_keys (station, key_id, algorithm, public_key, signer, first_seq, "
                            "registered) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            [(station, k.key_id, k.algorithm, k.public_key, k.signer, k.first_seq, k.registered)
                             for k in missing])
    if conn.execute("SELECT 1 FROM tilik.signed_heads WHERE station = %s AND seq = %s",
                    (station, head.seq)).fetchone() is not None:
        return False
    conn.execute("INSERT INTO tilik.signed_heads (station, seq, hash, key_id, signer, time_utc, signature) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (station, head.seq, head.hash, head.key_id, head.station, head.time_utc, head.signature))
    return True


@dataclass
class HeadReport:
    """What ``verify --central`` says about one station's signed heads."""

    seq: int | None = None  # the newest signed head's position
    key_id: str | None = None
    ok: bool = True
    checked: int = 0
    problem: str | None = None
    problem_seq: int | None = None

    def fail(self, seq: int | None, text: str) -> None:
        if self.ok:
            self.ok, self.problem, self.problem_seq = False, text, seq

    def as_json(self) -> dict[str, Any] | None:
        if self.checked == 0 and self.ok:
            return None
        return {"seq": self.seq, "key_id": self.key_id, "ok": self.ok, "heads_checked": self.checked,
                "problem": self.problem}


def check_station(conn: Any, name: str) -> HeadReport:
    """Every signed head the server holds for station ``name``: signed by a key recorded for that
    station, the signature valid over the station's signed text, and the signed (seq, hash) the
    evidence row the server holds there. Names the first problem."""
    report = HeadReport()
    keys: dict[str, str] = {}
    for key_id, public_key in conn.execute("SELECT key_id, public_key FROM tilik.station_keys WHERE station = %s "
                                           "ORDER BY first_seq, key_id", (name,)):
        try:
            genuine = key_id_of(bytes.fromhex(public_key)) == key_id
        except (ValueError, TypeError):
            genuine = False
        if not genuine:
            report.fail(None, f"station {name}'s public key {key_id} was edited on the server: the key recorded "
                        "under that id is no longer the key with that id.")
        keys[key_id] = public_key
    heads = conn.execute("SELECT h.seq, h.hash, h.key_id, h.signer, h.time_utc, h.signature, e.hash "
                         "FROM tilik.signed_heads h LEFT JOIN tilik.evidence e ON e.station = h.station "
                         "AND e.seq = h.seq WHERE h.station = %s ORDER BY h.seq", (name,)).fetchall()
    if keys and not heads:
        report.fail(None, f"the server records station {name}'s signing keys but none of its signed heads: they "
                    "travel together, so the signed heads were deleted on the server.")
    for seq, digest, key_id, signer, time_utc, signature, row_hash in heads:
        report.checked += 1
        report.seq, report.key_id = int(seq), key_id
        where = f"the signed head of station {name} at chain position {seq}"
        public_key = keys.get(key_id)
        if public_key is None:
            report.fail(seq, f"{where} is signed by key {key_id}, which is not recorded for station {name}: the "
                        "signature is forged or another station's, or the key record was deleted on the server.")
            continue
        signed = SignedHead(int(seq), digest, signer, key_id, time_utc, signature)
        if not signed.verify(public_key):
            report.fail(seq, f"{where} does not verify with the station's key {key_id}: the signed head (or that "
                        "key) was edited on the server by someone without the station's key.")
        elif row_hash is None:
            report.fail(seq, f"{where} names a row the server no longer holds: the rows it covered were deleted on "
                        "the server.")
        elif row_hash != digest:
            report.fail(seq, f"the row at chain position {seq} of station {name} is not the row the station signed "
                        "(the signed hash differs): the chain was rewritten on the server.")
    return report
