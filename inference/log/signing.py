"""The station's signing key and the signed chain head.

The hash chain (:mod:`inference.log.chain`) proves that rows were not changed *by someone who does
not recompute it*. Anyone who can write the database can recompute it, so Tilik also signs the
chain's head with a key that is kept **outside** the database:

- one Ed25519 key per station (per user account), created at first use in
  ``<user data dir>/station/signing-key.pem`` (PKCS#8 PEM, file 0600, folder 0700;
  ``TILIK_KEY_DIR`` moves the folder). It is not put in an OS keyring.
- its public key is recorded in the log itself (the chained table ``station_keys``), so a copy of
  the log can be checked anywhere: ``public_key`` is the raw 32-byte Ed25519 key in hex and
  ``key_id`` the first 16 hex digits of its SHA-256.
- every write transaction stores in ``chain_head`` a signature over this exact text (UTF-8)::

      {"hash":"<head hash>","key_id":"<key id>","seq":<head seq>,"station":"<station>","time_utc":"<when>","v":"tilik-head-1"}

  i.e. JSON with sorted keys, separators ``,``/``:`` and non-ASCII kept as UTF-8; the signature is
  the 64-byte Ed25519 signature in hex (``chain_head.sig_value``).

A person who edits, deletes or reorders rows without the key cannot make a new valid signature for
the new head, so ``tilik log verify`` catches it even when every hash was recomputed. A person who
holds the key *and* the database can still rewrite both; see ``docs/log.md`` (threat model).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from inference import paths
from inference.fsync import fsync_dir
from inference.errors import StorageError

log = logging.getLogger(__name__)

ALGORITHM = "ed25519"
HEAD_FORMAT = "tilik-head-1"
KEY_FILE = "signing-key.pem"


def station_dir() -> Path:
    """The folder holding this station's signing key and its anchors file (``TILIK_KEY_DIR``
    overrides; default ``<user data dir>/station``)."""
    override = os.environ.get("TILIK_KEY_DIR")
    return Path(override) if override else paths.user_data_dir() / "station"


def key_id_of(public_key: bytes) -> str:
    """The short id of a raw 32-byte Ed25519 public key: first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def head_message(seq: int, head_hash: str, station: str, key_id: str, time_utc: str) -> bytes:
    """The exact bytes signed for a chain head (see the module docstring)."""
    doc = {"v": HEAD_FORMAT, "seq": int(seq), "hash": str(head_hash), "station": str(station),
           "key_id": str(key_id), "time_utc": str(time_utc)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify_signature(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid Ed25519 signature of ``message`` by that key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


@dataclass(frozen=True)
class SignedHead:
    """A chain head and the signature over it (what ``chain_head`` holds and anchors copy)."""

    seq: int
    hash: str
    station: str
    key_id: str
    time_utc: str
    signature: str

    def message(self) -> bytes:
        return head_message(self.seq, self.hash, self.station, self.key_id, self.time_utc)

    def verify(self, public_key_hex: str) -> bool:
        return key_id_of(bytes.fromhex(public_key_hex)) == self.key_id and \
            verify_signature(public_key_hex, self.message(), self.signature)

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "station": self.station, "key_id": self.key_id,
                "time_utc": self.time_utc, "signature": self.signature}

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> "SignedHead":
        return cls(seq=int(data["seq"]), hash=str(data["hash"]), station=str(data["station"]),  # type: ignore[call-overload]
                   key_id=str(data["key_id"]), time_utc=str(data["time_utc"]), signature=str(data["signature"]))


class StationKey:
    """This station's Ed25519 private key (load with :meth:`load_or_create` or :meth:`load`)."""

    def __init__(self, private_key: object, path: Path | None) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = private_key
        self.path = path
        self.public_key: bytes = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # type: ignore[attr-defined]
        self.key_id = key_id_of(self.public_key)

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()

    def sign_head(self, seq: int, head_hash: str, station: str, time_utc: str) -> SignedHead:
        msg = head_message(seq, head_hash, station, self.key_id, time_utc)
        sig = self._key.sign(msg).hex()  # type: ignore[attr-defined]
        return SignedHead(int(seq), head_hash, station, self.key_id, time_utc, sig)

    # -- storage -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path | None = None) -> "StationKey | None":
        """This station's key if it exists (never creates one); None when there is none yet."""
        path = (folder or station_dir()) / KEY_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"This station's signing key {path} cannot be read ({exc.strerror}).") from exc
        return cls(_parse(data, path), path)

    @classmethod
    def load_or_create(cls, folder: Path | None = None) -> "StationKey":
        """This station's key, created (0600, in a 0700 folder) when there is none yet. Two
        processes creating it at once end up with the same key: the file appears atomically and
        only the first one's is kept."""
        folder = folder or station_dir()
        existing = cls.load(folder)
        if existing is not None:
            _tighten(existing.path)  # type: ignore[arg-type]
            return existing
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        path = folder / KEY_FILE
        try:
            make_private_dir(folder)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            tmp = folder / f".{KEY_FILE}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, pem)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # fails if another process made the key meanwhile: keep theirs
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
            fsync_dir(folder)
        except OSError as exc:
            raise StorageError(f"This station's signing key cannot be created in {folder} ({exc.strerror}). "
                               "The inspection log needs it to sign what it records; check that folder's "
                               "permissions (or set TILIK_KEY_DIR).") from exc
        loaded = cls.load(folder)
        assert loaded is not None
        log.info("created station signing key %s at %s", loaded.key_id, path)
        return loaded


def _parse(data: bytes, path: Path) -> object:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise StorageError(f"This station's signing key {path} is damaged or not an Ed25519 key; "
                           "move it aside to make a new one (logs it signed stay verifiable by its "
                           "recorded public key).") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise StorageError(f"{path} is not an Ed25519 signing key.")
    return key


def make_private_dir(folder: Path) -> None:
    existed = folder.is_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not existed:
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask; be exact


def _tighten(path: Path) -> None:
    """A key readable by others is made private again (as ssh insists), with a warning."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("signing key %s was readable by other users (mode %o); made it 0600", path, mode)
    except OSError:
        pass


