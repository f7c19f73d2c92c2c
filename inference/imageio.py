"""Turn files, bytes and camera frames into one thing: an 8-bit RGB numpy array.

Every odd input is handled deliberately and either decoded correctly or refused with an
:class:`ImageReadError` a person can understand:

- EXIF orientation is applied, so a phone photo taken sideways is classified upright;
- grayscale, 1-bit, palette, CMYK, YCbCr/LAB, 16-bit and 32-bit integer/float images are converted to RGB;
- transparency (RGBA, LA, palette with a transparent colour) is composited on white, the way a
  person sees a scanned signature or a product photo with a cut-out background;
- multi-frame files (GIF, TIFF, WebP animations) use the first frame and say so in ``notes``;
- a pixel limit refuses decompression bombs before the pixels are decoded;
- empty, truncated, non-image and unsupported files raise with the reason.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from inference.errors import ImageReadError

# Large enough for a 50-megapixel camera, small enough that a crafted file cannot exhaust memory.
DEFAULT_MAX_PIXELS = int(os.environ.get("TILIK_MAX_PIXELS", 60_000_000))
MAX_FILE_BYTES = 200 * 1024 * 1024
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm",
     ".jfif", ".jpe", ".dib", ".tga", ".ico"}
)

# Refuse truncated files instead of silently filling them with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

ImageSource = Union[str, os.PathLike, bytes, bytearray, np.ndarray, "DecodedImage"]


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for preprocessing.

    ``rgb`` is ``uint8`` with shape (H, W, 3). ``sha256`` is of the input bytes (file contents) or,
    for arrays, of the decoded pixels, so the log can tie a verdict to the exact input.
    """

    rgb: np.ndarray
    source: str
    sha256: str
    original_mode: str
    original_format: str | None = None
    frames: int = 1
    notes: tuple[str, ...] = field(default=())

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


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


def _composite_on_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer or float images: stretch the used range to 0..255 (a linear display)."""
    arr = np.asarray(img, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        raise ImageReadError("The image holds no valid pixel values (all NaN or infinite).")
    lo, hi = float(finite.min()), float(finite.max())
    if img.mode.startswith("I;16") or (img.mode == "I" and lo >= 0 and hi <= 65535 and hi > 255):
        scaled = arr / 65535.0 * 255.0 if hi > 255 else arr
    elif img.mode == "F" and lo >= 0 and hi <= 1.0:
        scaled = arr * 255.0
    elif hi > lo:
        scaled = (arr - lo) / (hi - lo) * 255.0
    else:
        scaled = np.zeros_like(arr)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")


def pil_to_rgb(img: Image.Image) -> tuple[np.ndarray, list[str]]:
    """Convert any Pillow image to an RGB uint8 array; returns notes on what was done."""
    notes: list[str] = []
    mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        out = _composite_on_white(img)
        notes.append("transparent areas shown on white")
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        out = _high_depth_to_8bit(img).convert("RGB")
        notes.append(f"{mode} pixels reduced to 8 bits")
    elif mode == "CMYK":
        out = img.convert("RGB")
        notes.append("CMYK converted to RGB")
    elif mode == "RGB":
        out = img
    else:  # L, 1, P, YCbCr, LAB, HSV
        out = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8)), notes


def _open_pil(data: bytes, source: str, max_pixels: int) -> DecodedImage:
    if not data:
        raise ImageReadError(f"{source}: the file is empty.", code="image_empty", params={"source": source})
    digest = hashlib.sha256(data).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
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
        try:
            if frames > 1:
                img.seek(0)
                notes.append(f"first of {frames} frames used")
            img.load()
            mode = img.mode
            img = ImageOps.exif_transpose(img) or img
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
            rgb, more = pil_to_rgb(img)
        except ImageReadError:
            raise
        except Exception as exc:
            raise ImageReadError(f"{source}: the image uses a pixel format Tilik cannot convert ({mode}).") from exc
    return DecodedImage(rgb, source, digest, mode, fmt, frames, tuple(notes + more))


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


def load_image(source: ImageSource, *, max_pixels: int | None = None, name: str | None = None) -> DecodedImage:
    """Decode a path, raw bytes, a numpy array or an already decoded image into RGB."""
    limit = max_pixels or DEFAULT_MAX_PIXELS
    if isinstance(source, DecodedImage):
        return source
    if isinstance(source, np.ndarray):
        return decode_array(source, name or "camera frame")
    if isinstance(source, (bytes, bytearray)):
        return _open_pil(bytes(source), name or "image", limit)
    path = Path(source)
    label = name or str(path)
    try:
        if path.is_dir():
            raise ImageReadError(f"{label}: this is a folder, not an image file.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageReadError(f"{label}: the file is {size / 2**20:.0f} MB, too large to be an inspection photo.")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{label}: no such file.") from None
    except PermissionError:
        raise ImageReadError(f"{label}: permission denied; Tilik may not read this file.") from None
    except IsADirectoryError:
        raise ImageReadError(f"{label}: this is a folder, not an image file.") from None
    except OSError as exc:
        raise ImageReadError(f"{label}: the file could not be read ({exc.strerror or exc}).") from exc
    return _open_pil(data, label, limit)


def iter_image_paths(paths: list[Path | str]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into the list of files to inspect.

    Every non-hidden file inside a folder is taken, whatever its extension, so that a file that
    is not an image gets its own clear error instead of being skipped without a word.
    """
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    out.append(child)
        else:
            out.append(path)
    return out
