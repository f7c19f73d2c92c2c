"""Reading a pack's files as an attacker's files: regular files only, size-limited, hashed as read.

Every file a pack brings (its manifest, ONNX models and their external data, a projection, its
model card) is opened here. The rules:

- only a regular file is read: a FIFO, a device or a socket is refused before a byte is read
  (it is opened non-blocking and checked with ``fstat`` on the open descriptor, so a file swapped
  for a FIFO after a check cannot hang the app);
- never more than a stated limit is read, whatever the file's size says (``/dev/zero`` reports 0);
- a file that is loaded is read ONCE into memory, hashed, compared with the SHA-256 its manifest
  gives, and those same bytes are handed on (to onnxruntime, numpy): a file swapped between the
  listing and the loading cannot run under the old hash.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from inference.errors import PackError, PackUnusableError

MANIFEST_MAX_BYTES = 2 << 20     # the largest bundled manifest (1,000 classes) is 80 KB
CARD_MAX_BYTES = 1 << 20         # the largest bundled card is 24 KB
CARD_IMAGE_MAX_BYTES = 16 << 20  # a plot the card shows; the largest bundled one is 1.2 MB
MODEL_MAX_BYTES = 2 << 30        # protobuf's own limit for one ONNX file
EXTERNAL_DATA_MAX_BYTES = 8 << 30
_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _open_regular(path: Path, what: str, error: type[PackError], nofollow: bool = False,
                  missing: str | None = None) -> tuple[int, int]:
    """Open ``path`` for reading; return (descriptor, size) when it is a regular file."""
    try:
        fd = os.open(path, _OPEN_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0))
    except FileNotFoundError:
        raise error(missing or f"{what} is missing.") from None
    except OSError as exc:
        raise error(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise error(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise error(f"{what} is not a regular file (a device, pipe or folder is never read).")
    return fd, info.st_size


def _too_big(what: str, limit: int) -> str:
    return f"{what} is larger than the {limit:,} bytes Tilik reads for it."


def read_limited(path: Path, limit: int, what: str, error: type[PackError] = PackUnusableError, *,
                 nofollow: bool = False, missing: str | None = None) -> bytes:
    """The whole content of the regular file ``path``; refuses more than ``limit`` bytes
    (``nofollow``: refuse a symlink in place of the file; ``missing``: the message when it is absent)."""
    fd, size = _open_regular(Path(path), what, error, nofollow, missing)
    with os.fdopen(fd, "rb") as fh:
        if size > limit:
            raise error(_too_big(what, limit))
        try:
            # Ask for what fstat reported (+1 to notice growth), never for ``limit``: a read of n
            # bytes reserves n bytes first, and the limit may be gigabytes.
            data = fh.read(size + 1)
            if len(data) > size and len(data) <= limit:
                data += fh.read(limit + 1 - len(data))  # it grew after fstat: read on, still bounded
        except OSError as exc:
            raise error(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    if len(data) > limit:  # grew after fstat
        raise error(_too_big(what, limit))
    return data


def require_regular(path: Path, limit: int, what: str) -> None:
    """Refuse (PackUnusableError) unless ``path`` is a regular file of at most ``limit`` bytes."""
    fd, size = _open_regular(Path(path), what, PackUnusableError)
    os.close(fd)
    if size > limit:
        raise PackUnusableError(_too_big(what, limit))


def hash_file(path: Path, limit: int, what: str) -> str:
    """SHA-256 of the regular file ``path``, streamed (for listing; loading uses :func:`read_verified`)."""
    fd, size = _open_regular(Path(path), what, PackUnusableError)
    if size > limit:
        os.close(fd)
        raise PackUnusableError(_too_big(what, limit))
    digest = hashlib.sha256()
    read = 0
    with os.fdopen(fd, "rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                read += len(chunk)
                if read > limit:
                    raise PackUnusableError(_too_big(what, limit))
                digest.update(chunk)
        except OSError as exc:
            raise PackUnusableError(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    return digest.hexdigest()


def mismatch(what: str, expected: str, actual: str) -> str:
    return (f"{what} does not match the manifest's SHA-256 (expected {expected[:12]}…, found {actual[:12]}…); "
            f"it may be damaged or altered.")


def read_verified(path: Path, sha256: str, what: str, limit: int = MODEL_MAX_BYTES) -> bytes:
    """Read ``path`` once, check its SHA-256 against ``sha256``, and return exactly those bytes."""
    data = read_limited(path, limit, what)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PackUnusableError(mismatch(what, sha256, actual))
    return data


def card_problem(name: object) -> str | None:
    """Why the manifest's ``card`` value cannot name a file inside the pack (None when it can)."""
    if not isinstance(name, str) or not name.strip():
        return "it must be a file name inside the pack"
    if "\\" in name or "\0" in name or ":" in name:
        return f"'{name}' must be a plain relative path inside the pack (no '\\', ':' or NUL)"
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts:
        return f"'{name}' must be a relative path inside the pack, not an absolute path or one with '..'"
    return None


def inside_path(folder: Path, name: str, what: str, limit: int, *, missing_ok: bool = False) -> Path | None:
    """``folder/name`` as a regular file of at most ``limit`` bytes inside ``folder``.

    Symlinks are followed, but where they lead must still be inside the folder. Raises
    :class:`PackUnusableError` naming the problem (``what`` names the file); a missing file gives
    None when ``missing_ok``.
    """
    problem = card_problem(name)
    if problem:
        raise PackUnusableError(f"{what} is not allowed: {problem}.")
    root = Path(folder).resolve()
    try:
        target = (root / name).resolve(strict=True)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise PackUnusableError(f"{what} is missing.") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise PackUnusableError(f"{what} cannot be read ({exc}).") from exc
    if not target.is_relative_to(root):
        raise PackUnusableError(f"{what} leads outside the pack folder (to {target}); it is never read.")
    try:
        info = target.stat()
    except OSError as exc:
        raise PackUnusableError(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    if not stat.S_ISREG(info.st_mode):
        raise PackUnusableError(f"{what} is not a regular file (a device, pipe or folder is never read).")
    if info.st_size > limit:
        raise PackUnusableError(_too_big(what, limit))
    return target


def read_inside(folder: Path, name: str, what: str, limit: int) -> bytes:
    """The bytes of :func:`inside_path`, read with the same limit."""
    path = inside_path(folder, name, what, limit)
    assert path is not None
    # The resolved path is no symlink: one put there since the check is refused, not followed.
    return read_limited(path, limit, what, nofollow=True)


def card_path(folder: Path, name: str, *, missing_ok: bool = False) -> Path | None:
    """The model card ``name`` of the pack in ``folder``: a regular file inside the folder (None
    when it is missing and ``missing_ok``: a pack without its card still runs)."""
    return inside_path(folder, name, f"its model card '{name}'", CARD_MAX_BYTES, missing_ok=missing_ok)


def read_card(folder: Path, name: str) -> str:
    """The model card's text, checked as :func:`card_path` says and read with the size limit."""
    data = read_inside(folder, name, f"its model card '{name}'", CARD_MAX_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackUnusableError(f"its model card '{name}' is not UTF-8 text ({exc.reason}).") from exc
