"""Content-addressed files beside the log: input images, thumbnails, heatmaps.

Layout, relative to the media folder (``<db stem>-media/`` next to the database)::

    images/ab/ab12…ef.jpg      the exact input bytes (or a lossless PNG of a camera frame)
    thumbs/cd/cd34…01.jpg      a 256-px JPEG, for modes whose setting keeps thumbnails only
    heatmaps/ef/ef56…23.png    the heatmap as an 8-bit grayscale PNG (0 = cold, 255 = hottest)

Every file is named by the SHA-256 of its own bytes, so one distinct file is stored once however
many inspections use it, and a swapped file can never pass for the original. Files are written
to a temporary name, flushed to disk and renamed into place (``os.replace``) before the database
row that names them commits: after a crash a row never points at a missing or half-written file
(a file without a row is harmless and is simply reused next time).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image

from inference.errors import ImageReadError, StorageError
from inference.imageio import decode_array, load_image
from inference.log.models import ValidationError

ImageInput = Union[bytes, bytearray, np.ndarray, Path, str, None]

_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp",
               "PPM": ".ppm", "ICO": ".ico", "MPO": ".jpg", "DIB": ".bmp", "TGA": ".tga"}
THUMBNAIL_QUALITY = 85


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


def _format_ext(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            return _EXTENSIONS.get(img.format or "", "." + (img.format or "bin").lower())
    except Exception:  # noqa: BLE001 - an unreadable header just means "unknown type"
        return ".bin"


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
        try:
            image = Path(image).read_bytes()
        except OSError as exc:
            raise ValidationError(f"Could not read the image to store ({image}): {exc.strerror or exc}.") from exc
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        sha = hashlib.sha256(data).hexdigest()
        _check_same(sha, expected_sha256)
        if keep_full:
            with_size = _header_size(data)
            return PreparedImage("original", data, _format_ext(data), sha, *with_size)
        try:
            decoded = load_image(data, name="image")
        except ImageReadError as exc:
            raise ValidationError(f"The image to store cannot be decoded for a thumbnail: {exc}") from exc
        rgb = decoded.rgb
    elif isinstance(image, np.ndarray):
        try:
            decoded = decode_array(image, "camera frame")
        except ImageReadError as exc:
            raise ValidationError(str(exc)) from exc
        sha = decoded.sha256
        _check_same(sha, expected_sha256)
        rgb = decoded.rgb
        if keep_full:
            return PreparedImage("original", _encode(rgb, "PNG"), ".png", sha, rgb.shape[1], rgb.shape[0], rgb)
    else:
        raise ValidationError(
            f"The image to store must be file bytes, a numpy RGB array or a file path, not {type(image).__name__}.")
    small = thumbnail_rgb(rgb, thumbnail_px)
    return PreparedImage("thumbnail", _encode(small, "JPEG"), ".jpg", sha, rgb.shape[1], rgb.shape[0], rgb)


def _header_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return int(img.size[0]), int(img.size[1])
    except Exception:  # noqa: BLE001
        return None, None


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
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    img = Image.fromarray((values * 255.0).round().astype(np.uint8), mode="L")
    w, h = img.size
    scale = max_px / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def decode_heatmap(data: bytes) -> np.ndarray:
    """The stored PNG back to a float32 map in [0, 1]."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open folders and does not need it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        sha = hashlib.sha256(data).hexdigest()
        relative = self.relative_for(kind, sha, ext)
        final = self.root / relative
        try:
            if final.is_file() and final.stat().st_size == len(data):
                with open(final, "rb") as fh:
                    if hashlib.sha256(fh.read()).hexdigest() == sha:
                        return StoredFile(relative, sha)
            if not final.parent.is_dir():
                final.parent.mkdir(parents=True, exist_ok=True)
                # A new folder's own entry must reach the disk too, or a power cut could lose it.
                _fsync_dir(final.parent.parent)
                _fsync_dir(self.root)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            _fsync_dir(final.parent)
        except OSError as exc:
            raise storage_error_from_os(exc, what) from exc
        return StoredFile(relative, sha)
