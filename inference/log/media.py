"""Content-addressed files beside the log: input images, thumbnails, heatmaps.

Layout, relative to the media folder (``<db stem>-media/`` next to the database)::

    images/ab/ab12…ef.jpg      the exact input bytes (or a lossless PNG of a camera frame)
    thumbs/cd/cd34…01.jpg      a 256-px JPEG, for modes whose setting keeps thumbnails only
    heatmaps/ef/ef56…23.png    the heatmap as an 8-bit grayscale PNG (0 = cold, 255 = hottest)

Every file is named by the SHA-256 of its own bytes, so one distinct file is stored once however
many inspections use it, and a swapped file can never pass for the original. Files are written
to a temporary name, flushed to disk and renamed into place (``os.replace``), and the folders
holding them are flushed too, before the database row that names them commits: after a crash a
row never points at a missing or half-written file (a file without a row is harmless and is
simply reused next time).

:meth:`MediaStore.put_many` stores a group of files (a batch's images and heatmaps) at once: it
writes them all, then flushes every file and then every folder concurrently. Each ``fsync`` waits
for the disk's journal; issued together they share one journal commit instead of queueing for one
each, which makes a batch several times faster to make durable without weakening any guarantee.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
import tempfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, Union

import numpy as np
from PIL import Image

from inference.errors import ImageReadError, StorageError
from inference.fsync import fsync_dir as _fsync_dir
from inference.imageio import decode_array, load_image, open_image, read_file_bytes
from inference.log.models import ValidationError

ImageInput = Union[bytes, bytearray, np.ndarray, Path, str, None]

_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp",
               "PPM": ".ppm", "ICO": ".ico", "MPO": ".jpg", "DIB": ".bmp", "TGA": ".tga"}
THUMBNAIL_QUALITY = 85
HEATMAP_PNG_LEVEL = 1  # zlib level of heatmap PNGs (see png_gray8)
FSYNC_THREADS = 16
FSYNC_WINDOW = 64  # files written and flushed together (each holds a descriptor meanwhile)


@dataclass(frozen=True)
class StoredFile:
    """A file in the media folder: its path relative to the folder and its SHA-256."""

    relative: str
    sha256: str


@dataclass(frozen=True)
class PreparedImage:
    """What will be stored for one input image (nothing is written yet)."""

    kind: str  # "original" | "thumbnail" | "none"
    data: bytes | None
    ext: str
    input_sha256: str | None
    width: int | None
    height: int | None
    rgb: np.ndarray | None = None  # decoded pixels, when decoding was needed anyway


def storage_error_from_os(exc: OSError, what: str) -> StorageError:
    """An OSError from writing a file, in words a user can act on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        msg = f"The disk is full: {what} could not be saved. Free some space and try again."
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        msg = (f"The inspection log's folder is read-only or not yours to write: {what} could not be "
               "saved. Check the folder's permissions or choose another log.")
    else:
        msg = f"Could not save {what}: {exc.strerror or exc}."
    return StorageError(msg, detail=f"{type(exc).__name__}: {exc}")


def _encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(rgb))
    if fmt == "JPEG":
        img.save(buf, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
    else:
        img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def thumbnail_rgb(rgb: np.ndarray, max_px: int) -> np.ndarray:
    """Shrink so the longer side is at most ``max_px`` (never enlarges)."""
    h, w = rgb.shape[:2]
    scale = max_px / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def prepare_image(image: ImageInput, *, expected_sha256: str | None, keep_full: bool,
                  thumbnail_px: int) -> PreparedImage:
    """Turn the caller's image into the bytes to store, checking it is the inspected image.

    ``expected_sha256`` is the inspection's input hash (file bytes, or decoded pixels for arrays,
    exactly as :mod:`inference.imageio` computes it). A different image is refused: storing it
    would tie the verdict to a picture the model never saw.
    """
    if image is None:
        return PreparedImage("none", None, "", expected_sha256, None, None)
    if isinstance(image, (str, os.PathLike)):
        try:  # regular files only, within the byte budget (a path swapped for a FIFO must not hang)
            image = read_file_bytes(image)
        except ImageReadError as exc:
            raise ValidationError(f"Could not read the image to store: {exc}") from exc
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        sha = hashlib.sha256(data).hexdigest()
        _check_same(sha, expected_sha256)
        if keep_full:
            ext, width, height = _header(data)
            return PreparedImage("original", data, ext, sha, width, height)
        try:  # decoded no larger than twice the thumbnail: a 12-MP photo never exists in full here
            decoded = load_image(data, name="image",
                                 shrink=lambda w, h: max(1, max(w, h) // (2 * max(1, thumbnail_px))))
        except ImageReadError as exc:
            raise ValidationError(f"The image to store cannot be decoded for a thumbnail: {exc}") from exc
        rgb = decoded.rgb
        width, height = decoded.original_size
    elif isinstance(image, np.ndarray):
        try:
            decoded = decode_array(image, "camera frame")
        except ImageReadError as exc:
            raise ValidationError(str(exc)) from exc
        sha = decoded.sha256
        _check_same(sha, expected_sha256)
        rgb = decoded.rgb
        width, height = rgb.shape[1], rgb.shape[0]
        if keep_full:
            return PreparedImage("original", _encode(rgb, "PNG"), ".png", sha, width, height, rgb)
    else:
        raise ValidationError(
            f"The image to store must be file bytes, a numpy RGB array or a file path, not {type(image).__name__}.")
    small = thumbnail_rgb(rgb, thumbnail_px)
    return PreparedImage("thumbnail", _encode(small, "JPEG"), ".jpg", sha, width, height, rgb)


def _header(data: bytes) -> tuple[str, int | None, int | None]:
    """The file's extension (from its format) and size, from its header alone (one parse)."""
    try:
        with open_image(data) as img:  # the formats Tilik decodes, by content: never EPS or PDF
            ext = _EXTENSIONS.get(img.format or "", "." + (img.format or "bin").lower())
            return ext, int(img.size[0]), int(img.size[1])
    except Exception:  # noqa: BLE001 - an unreadable header just means "unknown type", no size
        return ".bin", None, None


def _check_same(sha: str, expected: str | None) -> None:
    if expected is not None and sha != expected:
        raise ValidationError(
            "The image given to the log is not the image that was inspected (its SHA-256 differs). "
            "Pass the same file bytes or camera frame that was classified.")


def encode_heatmap(heatmap: np.ndarray, max_px: int) -> bytes:
    """A float heatmap in [0, 1] as an 8-bit grayscale PNG, longer side at most ``max_px``.

    The map is upsampled from a coarse activation map, so halving a large one loses nothing a
    person could see, and keeps the folder small.
    """
    values = np.nan_to_num(np.asarray(heatmap, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    gray = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    h, w = gray.shape[:2]
    scale = max_px / max(w, h)
    if scale < 1:
        img = Image.fromarray(gray, mode="L")
        gray = np.asarray(img.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                     Image.Resampling.BILINEAR))
    return png_gray8(gray)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_gray8(gray: np.ndarray, level: int = HEATMAP_PNG_LEVEL) -> bytes:
    """An 8-bit grayscale image as a standard PNG, every row "Sub"-filtered (PNG filter 1).

    Heatmaps are smooth, so the difference to the left neighbour is nearly always tiny: with it,
    zlib at level 1 makes files smaller than Pillow's adaptive filtering at its default level 6,
    about ten times faster (the filter is one numpy subtraction). Any PNG reader reads them.
    """
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    h, w = gray.shape
    rows = np.empty((h, w + 1), dtype=np.uint8)
    rows[:, 0] = 1  # filter type Sub
    rows[:, 1:2] = gray[:, :1]
    np.subtract(gray[:, 1:], gray[:, :-1], out=rows[:, 2:])  # wraps modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit, grayscale, deflate, adaptive, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + _png_chunk(b"IEND", b""))


def decode_heatmap(data: bytes) -> np.ndarray:
    """The stored PNG back to a float32 map in [0, 1]."""
    with open_image(data, ("PNG",)) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0




_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _run_all(fn: Callable[[Any], None], items: Sequence[Any]) -> None:
    """``fn`` on every item, concurrently when there are several (``fsync`` releases the GIL, and
    concurrent flushes of one file system share a journal commit). Raises the first error."""
    global _pool
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="tilik-fsync")
        pool = _pool
    futures = [pool.submit(fn, item) for item in items]
    wait(futures)  # all of them, even after a failure: nobody may still hold a descriptor we close
    for future in futures:
        future.result()


@dataclass(frozen=True)
class PendingFile:
    """One file to store: which folder (``images``, ``thumbs``, ``heatmaps``), its bytes, its extension."""

    kind: str
    data: bytes
    ext: str
    what: str = "the image"


class MediaStore:
    """The media folder of one log."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relative_for(self, kind: str, sha256: str, ext: str) -> str:
        return f"{kind}/{sha256[:2]}/{sha256}{ext}"

    def path(self, relative: str | None) -> Path | None:
        """Absolute path of a stored file, or None when there is none (or it is missing)."""
        if not relative:
            return None
        root = self.root.resolve()
        path = (root / relative).resolve()
        try:
            path.relative_to(root)
        except ValueError:
            return None
        return path if path.is_file() else None

    def put(self, kind: str, data: bytes, ext: str, what: str = "the image") -> StoredFile:
        """Store ``data`` under its SHA-256 (atomically, durably); returns where it is."""
        return self.put_many([PendingFile(kind, data, ext, what)])[0]

    def put_many(self, files: Iterable[PendingFile]) -> list[StoredFile]:
        """Store every file under its SHA-256, atomically and durably; returns where each is, in order.

        When this returns, every file and every folder entry naming it is on disk: the rows naming
        them may commit. A file already stored (same name, same bytes) is not rewritten, but its
        folder is flushed all the same (its writer may have been killed just after the rename).
        On an error nothing is half-written (temporary files are removed; files already renamed
        into place are complete and harmless) and :class:`StorageError` says why.
        """
        files = list(files)
        out: list[StoredFile] = []
        folders: dict[Path, None] = {}  # ordered set: every folder whose entries must reach the disk
        what = files[0].what if files else "the image"
        try:
            for start in range(0, len(files), FSYNC_WINDOW):  # bounded: a few dozen files open at once
                window = files[start:start + FSYNC_WINDOW]
                what = window[0].what
                out.extend(self._put_window(window, folders))
            _run_all(_fsync_dir, list(folders))
        except OSError as exc:
            raise storage_error_from_os(exc, what) from exc
        return out

    def _put_window(self, files: Sequence[PendingFile], folders: dict[Path, None]) -> list[StoredFile]:
        out: list[StoredFile] = []
        fresh: dict[Path, Path] = {}  # final path -> temporary path
        handles: list[tuple[Path, io.BufferedWriter]] = []
        try:
            for item in files:
                sha = hashlib.sha256(item.data).hexdigest()
                relative = self.relative_for(item.kind, sha, item.ext)
                out.append(StoredFile(relative, sha))
                final = self.root / relative
                folders[final.parent] = None
                if final in fresh or self._already_stored(final, item.data, sha):
                    continue
                if not final.parent.is_dir():
                    if not self.root.is_dir():
                        # Private like the database (issue #22): images of customers and patients.
                        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
                        os.chmod(self.root, 0o700)
                    final.parent.mkdir(parents=True, exist_ok=True)
                    # A new folder's own entry must reach the disk too, or a power cut could lose it.
                    folders[final.parent.parent] = None
                    folders[self.root] = None
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
                fh = os.fdopen(fd, "wb")
                handles.append((Path(tmp), fh))
                fh.write(item.data)
                fh.flush()
                fresh[final] = Path(tmp)
            # Every file's bytes first; only once they are safe, the renames.
            _run_all(lambda h: os.fsync(h[1].fileno()), handles)
            for _, fh in handles:
                fh.close()
            for final, tmp in fresh.items():
                os.replace(tmp, final)
        except BaseException:
            for tmp, fh in handles:
                try:
                    fh.close()
                except OSError:
                    pass
                try:
                    os.unlink(tmp)  # gone already when it was renamed into place
                except OSError:
                    pass
            raise
        return out

    @staticmethod
    def _already_stored(final: Path, data: bytes, sha: str) -> bool:
        if not (final.is_file() and final.stat().st_size == len(data)):
            return False
        with open(final, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest() == sha
