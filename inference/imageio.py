"""Turn files, bytes and camera frames into one thing: an 8-bit RGB numpy array.

Every odd input is handled deliberately and either decoded correctly or refused with an
:class:`ImageReadError` a person can understand:

- only the formats Tilik supports are decoded (:data:`ALLOWED_FORMATS`), chosen by the file's
  content, never by its name: PostScript, EPS and PDF are never opened, and Ghostscript is never
  run (an EPS file named ``.jpg`` is "not an image");
- only regular files are read (a FIFO, a device or a socket is refused before any read), and a
  byte budget (:data:`MAX_FILE_BYTES`) holds for files, bytes and camera/paste arrays alike;
- a pixel limit refuses decompression bombs before the pixels are decoded;
- ``shrink`` decodes at reduced size (JPEG DCT scaling, ``Image.reduce``) when the caller needs
  far fewer pixels than the file has: a 12-MP photo for a 224-px model never exists in full;
- EXIF orientation is applied (on the final array, without copying an image that needs none);
- grayscale, 1-bit, palette, CMYK, YCbCr/LAB, 16-bit and 32-bit integer/float images are converted
  to RGB; high-depth images strip by strip, never as one full-size float array;
- transparency (RGBA, LA, palette with a transparent colour) is composited on white, the way a
  person sees a scanned signature or a product photo with a cut-out background;
- multi-frame files (GIF, TIFF, WebP animations) use the first frame and say so in ``notes``;
- empty, truncated, non-image and unsupported files raise with the reason.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Union

import numpy as np
from PIL import EpsImagePlugin, Image, ImageFile, UnidentifiedImageError

from inference.errors import ImageReadError

# Large enough for a 50-megapixel camera, small enough that a crafted file cannot exhaust memory.
DEFAULT_MAX_PIXELS = int(os.environ.get("TILIK_MAX_PIXELS", 60_000_000))
MAX_FILE_BYTES = 200 * 1024 * 1024
# Camera frames and pasted images arrive as arrays: an RGBA uint8 frame at the pixel limit.
MAX_ARRAY_BYTES = DEFAULT_MAX_PIXELS * 4
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm",
     ".jfif", ".jpe", ".dib", ".tga", ".ico"}
)
# The Pillow formats Tilik decodes, tried in this order on the file's content (JPEG includes MPO,
# the multi-picture JPEG of phones). TGA has no magic
# number, so it comes last. Everything else Pillow knows (EPS/PS and PDF above all: EPS runs
# Ghostscript) is never opened.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "ICO", "TGA")
_STRIP_PIXELS = 1 << 20  # rows converted at a time for large images: bounded temporary memory
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

# Refuse truncated files instead of silently filling them with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Belt and braces: even a Pillow call elsewhere without a format list can never find Ghostscript.
EpsImagePlugin.gs_binary = False
EpsImagePlugin.gs_windows_binary = False

ImageSource = Union[str, os.PathLike, bytes, bytearray, np.ndarray, "DecodedImage"]
# (oriented width, oriented height) -> integer reduction factor the caller can afford (1: none).
Shrink = Callable[[int, int], int]


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for preprocessing.

    ``rgb`` is ``uint8`` with shape (H, W, 3). ``sha256`` is of the input bytes (file contents) or,
    for arrays, of the decoded pixels, so the log can tie a verdict to the exact input. When the
    image was decoded at reduced size (``reduced`` > 1), ``full_size`` is the file's own (width,
    height) after EXIF orientation; ``original_size`` is that size in every case.
    """

    rgb: np.ndarray
    source: str
    sha256: str
    original_mode: str
    original_format: str | None = None
    frames: int = 1
    notes: tuple[str, ...] = field(default=())
    full_size: tuple[int, int] | None = None
    reduced: int = 1

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def original_size(self) -> tuple[int, int]:
        return self.full_size or (self.width, self.height)


_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def sniff_format(data: bytes) -> str | None:
    """The image format a file's first bytes announce, or None (used to explain damaged files)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    return None


def open_image(fp: io.BytesIO | bytes, formats: tuple[str, ...] = ALLOWED_FORMATS) -> Image.Image:
    """``Image.open`` restricted to ``formats`` (by content): the one way Tilik opens image bytes."""
    return Image.open(io.BytesIO(fp) if isinstance(fp, (bytes, bytearray)) else fp, formats=list(formats))


def read_file_bytes(path: Path | str, label: str | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit`` of them, or :class:`ImageReadError` saying why not.

    FIFOs, devices and sockets are refused before anything is read (a FIFO would wait forever,
    ``/dev/zero`` never ends); the budget is counted on what is read, not on what ``stat`` says.
    """
    path = Path(path)
    label = label or str(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError(f"{label}: this is a folder, not an image file.")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(f"{label}: not a regular file (a device, pipe or socket); Tilik reads image files only.")
        if info.st_size > limit:
            raise ImageReadError(f"{label}: the file is {info.st_size / 2**20:.0f} MB, too large to be an inspection photo.")
        # Non-blocking: if the path became a FIFO since stat, open must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ImageReadError(f"{label}: not a regular file (a device, pipe or socket); Tilik reads image files only.")
            chunks: list[bytes] = []
            total = 0
            while True:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise ImageReadError(f"{label}: the file is larger than {limit / 2**20:.0f} MB, too large to be "
                                         "an inspection photo.")
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise ImageReadError(f"{label}: no such file.") from None
    except PermissionError:
        raise ImageReadError(f"{label}: permission denied; Tilik may not read this file.") from None
    except IsADirectoryError:
        raise ImageReadError(f"{label}: this is a folder, not an image file.") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise ImageReadError(f"{label[:80]}…: the path is longer than this system allows; move or rename "
                                 "the file.") from None
        raise ImageReadError(f"{label}: the file could not be read ({exc.strerror or exc}).") from exc
    return b"".join(chunks)


# -- pixels -------------------------------------------------------------------------------------
def _to_array(img: Image.Image) -> np.ndarray:
    """Pillow image → numpy, one copy: large images go strip by strip into one preallocated array
    (``np.asarray`` alone goes through ``tobytes``, which holds the pixels twice more)."""
    w, h = img.size
    if w * h <= _STRIP_PIXELS:
        return np.asarray(img)
    first = np.asarray(img.crop((0, 0, w, 1)))
    out = np.empty((h,) + first.shape[1:], dtype=first.dtype)
    rows = max(1, _STRIP_PIXELS // w)
    for y in range(0, h, rows):
        out[y:y + rows] = np.asarray(img.crop((0, y, w, min(h, y + rows))))
    return out


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return a.astype(np.float32, copy=False)
    h, w = a.shape[0] // k * k, a.shape[1] // k * k  # callers pass k <= both sides: never empty
    return a[:h, :w].astype(np.float32).reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def _high_depth_strips(img: Image.Image, k: int):
    """The image as float32 strips, each already averaged over k×k blocks (one pass, bounded memory)."""
    w, h = img.size
    rows = max(k, (_STRIP_PIXELS // max(1, w)) // k * k)
    for y in range(0, h, rows):
        strip = np.asarray(img.crop((0, y, w, min(h, y + rows))))
        if strip.shape[0] < k and y > 0:
            continue  # a last partial block row is dropped, as Image.reduce would round it away
        yield _block_mean(strip, min(k, strip.shape[0], strip.shape[1]) if k > 1 else 1)


def _high_depth_to_gray(img: Image.Image, k: int) -> np.ndarray:
    """16/32-bit integer or float images → uint8 gray: the used range stretched to 0..255 (a linear
    display), in two strip passes (range, then scale) so no full-size float copy ever exists."""
    mode = img.mode
    lo, hi = np.inf, -np.inf
    for block in _high_depth_strips(img, k):
        finite = block[np.isfinite(block)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    if not np.isfinite(lo):
        raise ImageReadError("The image holds no valid pixel values (all NaN or infinite).")
    if mode.startswith("I;16") or (mode == "I" and lo >= 0 and hi <= 65535 and hi > 255):
        a, b = (255.0 / 65535.0, 0.0) if hi > 255 else (1.0, 0.0)
    elif mode == "F" and lo >= 0 and hi <= 1.0:
        a, b = 255.0, 0.0
    elif hi > lo:
        a, b = 255.0 / (hi - lo), -lo * 255.0 / (hi - lo)
    else:
        a, b = 0.0, 0.0
    parts = []
    for block in _high_depth_strips(img, k):
        scaled = np.nan_to_num(block * np.float32(a) + np.float32(b), nan=0.0, posinf=255.0, neginf=0.0)
        parts.append(np.clip(scaled, 0, 255).astype(np.uint8))
    return np.concatenate(parts, axis=0)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    out = np.empty(gray.shape + (3,), dtype=np.uint8)
    out[...] = gray[:, :, None]
    return out


def _composite_on_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _reduce(img: Image.Image, k: int) -> Image.Image:
    """Box-average by k (8-bit modes); palette and 1-bit images are expanded first."""
    if k <= 1:
        return img
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("PA", "RGBa", "La"):
        img = img.convert("RGBA")
    elif img.mode not in ("L", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "I", "F"):
        img = img.convert("RGB")
    return img.reduce(k)


def pil_to_rgb(img: Image.Image, reduce: int = 1) -> tuple[np.ndarray, list[str]]:
    """Convert any Pillow image to an RGB uint8 array (box-reduced by ``reduce``); returns notes on
    what was done."""
    notes: list[str] = []
    mode = img.mode
    if mode in _HIGH_DEPTH:
        gray = _high_depth_to_gray(img, reduce)
        notes.append(f"{mode} pixels reduced to 8 bits")
        return _gray_to_rgb(gray), notes
    transparent = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info)
    img = _reduce(img, reduce)
    if transparent:
        out = _composite_on_white(img)
        notes.append("transparent areas shown on white")
    elif img.mode == "CMYK":
        out = img.convert("RGB")
        notes.append("CMYK converted to RGB")
    elif img.mode == "RGB":
        out = img
    else:  # L, 1, P, YCbCr, LAB, HSV
        out = img.convert("RGB")
    return np.ascontiguousarray(_to_array(out), dtype=np.uint8), notes


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation on the array: views, and one copy of the (already small) result at most."""
    ops = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return rgb if op is None else np.ascontiguousarray(op(rgb))


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block only loses the rotation hint
        return 1
    return value if 1 <= value <= 8 else 1


def _open_pil(data: bytes, source: str, max_pixels: int, shrink: Shrink | None = None) -> DecodedImage:
    if not data:
        raise ImageReadError(f"{source}: the file is empty.", code="image_empty", params={"source": source})
    if len(data) > MAX_FILE_BYTES:
        raise ImageReadError(f"{source}: the data is {len(data) / 2**20:.0f} MB, too large to be an inspection photo.")
    digest = hashlib.sha256(data).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = open_image(data)
        except UnidentifiedImageError:
            kind = sniff_format(data)
            if kind:
                raise ImageReadError(
                    f"{source}: the file starts like a {kind} image but is truncated or damaged; "
                    "re-save or re-export it.", code="image_truncated", params={"source": source}
                ) from None
            raise ImageReadError(
                f"{source}: not an image, or an image format Tilik cannot read "
                "(use JPEG, PNG, BMP, TIFF, WebP or GIF).", code="image_unknown_format", params={"source": source}
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageReadError(f"{source}: the image is too large to open safely.", code="image_too_large",
                                 params={"source": source}) from None
        except Exception as exc:  # malformed headers raise many exception types inside Pillow
            if "truncat" in str(exc).lower():
                raise ImageReadError(f"{source}: the file is truncated or damaged; re-save or re-export it.",
                                     code="image_truncated", params={"source": source}) from exc
            raise ImageReadError(f"{source}: the image header is damaged ({exc}).") from exc
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageReadError(f"{source}: the image has no pixels ({width}×{height}).")
        if width * height > max_pixels:
            raise ImageReadError(
                f"{source}: the image is {width}×{height} pixels ({width * height / 1e6:.0f} MP), more than "
                f"the {max_pixels / 1e6:.0f} MP Tilik opens safely. Resize it first.", code="image_too_many_pixels",
                params={"source": source, "width": width, "height": height, "mp": f"{width * height / 1e6:.0f}",
                        "limit": f"{max_pixels / 1e6:.0f}"}
            )
        fmt = img.format
        frames = int(getattr(img, "n_frames", 1) or 1)
        notes: list[str] = []
        reduce = 1
        try:
            if frames > 1:
                img.seek(0)
                notes.append(f"first of {frames} frames used")
            jpeg = fmt in ("JPEG", "MPO")
            # A JPEG's EXIF is in its header; other formats may keep it after the pixels, so
            # theirs is read once the pixels are (reading it first would swallow a decode error).
            orientation = _orientation(img) if jpeg and shrink is not None else 1
            if shrink is not None and jpeg:
                ow, oh = (height, width) if orientation >= 5 else (width, height)
                reduce = max(1, int(shrink(ow, oh)))
                if reduce > 1:
                    # DCT scaling: the decoder itself makes 1/2, 1/4 or 1/8 of the pixels.
                    img.draft(img.mode, (max(1, width // reduce), max(1, height // reduce)))
                    reduce = max(1, reduce // max(1, round(width / img.size[0])))
            img.load()
            mode = img.mode
            if not (jpeg and shrink is not None):
                orientation = _orientation(img)
                if shrink is not None:
                    ow, oh = (height, width) if orientation >= 5 else (width, height)
                    reduce = max(1, int(shrink(ow, oh)))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageReadError(f"{source}: the image is too large to open safely.") from None
        except OSError as exc:
            text = str(exc).lower()
            if any(w in text for w in ("truncated", "broken data stream", "premature", "crc", "decoder error")):
                raise ImageReadError(f"{source}: the file is truncated or damaged; re-save or re-export it.",
                                     code="image_truncated", params={"source": source}) from exc
            raise ImageReadError(f"{source}: the image data could not be decoded ({exc}).") from exc
        except (ValueError, SyntaxError, EOFError, IndexError, MemoryError) as exc:
            raise ImageReadError(f"{source}: the image data could not be decoded ({exc}).") from exc
        try:
            rgb, more = pil_to_rgb(img, reduce)
        except ImageReadError as exc:
            raise ImageReadError(f"{source}: {exc}") from None
        except Exception as exc:
            raise ImageReadError(f"{source}: the image uses a pixel format Tilik cannot convert ({mode}).") from exc
        rgb = _orient(rgb, orientation)
    full = (height, width) if orientation >= 5 else (width, height)
    scaled = (rgb.shape[1], rgb.shape[0]) != full
    return DecodedImage(rgb, source, digest, mode, fmt, frames, tuple(notes + more),
                        full if scaled else None, round(full[0] / rgb.shape[1]) if scaled else 1)


def decode_array(array: np.ndarray, source: str = "camera frame") -> DecodedImage:
    """Accept a numpy image (camera frame, test array) as RGB.

    Shapes (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) are accepted; 3 channels are taken as RGB
    (the GUI converts Qt's frames to RGB first). uint8 is used as is; uint16 is scaled; floats are
    taken as 0..1 when they fit, else stretched.
    """
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageReadError(f"{source}: expected an image array of shape (H, W) or (H, W, 3|4), got {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"{source}: the image has no pixels ({arr.shape[1]}×{arr.shape[0]}).")
    if arr.shape[0] * arr.shape[1] > DEFAULT_MAX_PIXELS:
        raise ImageReadError(f"{source}: the image is too large ({arr.shape[1]}×{arr.shape[0]}).")
    if arr.nbytes > MAX_ARRAY_BYTES:  # e.g. a float64 RGBA frame: 32 bytes a pixel before conversion
        raise ImageReadError(f"{source}: the image data is {arr.nbytes / 2**20:.0f} MB, more than the "
                             f"{MAX_ARRAY_BYTES / 2**20:.0f} MB Tilik accepts for one picture.")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint16:
        arr = (arr.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        finite = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        if finite.min() >= 0 and finite.max() <= 1.0:
            arr = (finite * 255.0).round().astype(np.uint8)
        else:
            lo, hi = finite.min(), finite.max()
            arr = ((finite - lo) / (hi - lo) * 255.0 if hi > lo else finite * 0).round().astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    notes: list[str] = []
    if arr.ndim == 2:
        rgb = np.repeat(arr[:, :, None], 3, axis=2)
        mode = "L"
    elif arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        rgb = (arr[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
        notes.append("transparent areas shown on white")
        mode = "RGBA"
    else:
        rgb = arr
        mode = "RGB"
    rgb = np.ascontiguousarray(rgb)
    return DecodedImage(rgb, source, hashlib.sha256(rgb.tobytes()).hexdigest(), mode, None, 1, tuple(notes))


def load_image(source: ImageSource, *, max_pixels: int | None = None, name: str | None = None,
               shrink: Shrink | None = None) -> DecodedImage:
    """Decode a path, raw bytes, a numpy array or an already decoded image into RGB.

    ``shrink(width, height)`` (oriented size) returns the integer factor by which the caller can
    afford to have the file decoded smaller (see :func:`inference.preprocess.reduction_factor`);
    arrays and already decoded images are returned at their own size.
    """
    limit = max_pixels or DEFAULT_MAX_PIXELS
    if isinstance(source, DecodedImage):
        return source
    if isinstance(source, np.ndarray):
        return decode_array(source, display_text(name or "camera frame"))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _open_pil(bytes(source), display_text(name or "image"), limit, shrink)
    # Messages name the file in printable text; ``source`` keeps the name as given (it may hold
    # undecodable file-name bytes), so the log can still find and store the file itself.
    raw = name or os.fspath(source)
    label = display_text(raw)
    decoded = _open_pil(read_file_bytes(source, label), label, limit, shrink)
    return decoded if raw == label else replace(decoded, source=raw)


def _display_path(path: str | os.PathLike) -> str:
    """A path as text that can always be printed and stored: bytes that are not UTF-8 in a file
    name (kept by Python as lone surrogates) are shown as ``\\xNN`` escapes."""
    return display_text(os.fspath(path))


def display_text(text: str) -> str:
    """``text`` with any lone surrogates (undecodable file-name bytes) replaced by ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FolderListingError(ImageReadError):
    """A folder (or one inside it) could not be listed: its images would be silently missing."""


# Files that live beside photos and are never photos: skipped when a folder is expanded, not
# reported as failed images. By name (case-insensitive; Windows' and macOS's folder files) and by
# extension (labels, metadata sidecars, databases, shortcuts). ``.txt`` is not among them: a text
# file among photos is reported (it may be a photo saved with the wrong name).
SKIPPED_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "icon\r"})
SKIPPED_EXTENSIONS = frozenset({
    ".csv", ".tsv", ".json", ".jsonl", ".xml", ".yaml", ".yml", ".ini", ".cfg", ".md", ".log",
    ".db", ".sqlite", ".sqlite3", ".xmp", ".thm", ".aae", ".lnk", ".url", ".html", ".htm", ".sha256", ".md5",
})


def is_companion_file(name: str) -> bool:
    """True for a file found in a folder that is not meant as an image: hidden files (``.DS_Store``,
    macOS's ``._*`` AppleDouble files), ``Thumbs.db``, ``desktop.ini``, ``labels.csv`` and other
    data/sidecar files by extension. Anything else (an image extension, an unknown or no
    extension) is inspected, so a photo in a format Tilik cannot read still gets its own error."""
    lowered = name.lower()
    return (lowered.startswith(".") or lowered in SKIPPED_NAMES
            or os.path.splitext(lowered)[1] in SKIPPED_EXTENSIONS)


def iter_image_paths(paths: list[Path | str], errors: list[tuple[str, str]] | None = None) -> list[Path]:
    """Expand files and folders (recursively, sorted) into the list of files to inspect.

    Inside a folder, hidden folders and the files :func:`is_companion_file` names (labels.csv,
    Thumbs.db, .DS_Store, ...) are skipped; every other entry that is not a folder is taken, whatever
    its extension or type, so that a file that is not an image (or a pipe, a device) gets its own
    clear error instead of being skipped without a word. A file named on its own is always taken.
    A folder that cannot be listed raises
    :class:`FolderListingError` (a batch that silently missed a folder would look complete), or,
    when ``errors`` is given, is appended to it as (folder, message) and the rest is still listed.
    """
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if _is_dir(path):
            problems: list[OSError] = []
            found: list[Path] = []
            for root, dirs, files in os.walk(path, onerror=problems.append):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in files if not is_companion_file(f))
            for problem in problems:
                where = os.fspath(problem.filename or path)
                message = (f"{display_text(where)}: the folder cannot be listed ({problem.strerror or problem}); "
                           "its images were not inspected. Check its permissions.")
                if errors is None:
                    raise FolderListingError(message)
                errors.append((where, message))
            out.extend(sorted(found))
        else:
            out.append(path)
    return out


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:  # missing, name too long, ...: the file is reported on its own later
        return False
