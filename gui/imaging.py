"""Image conversion between numpy arrays and Qt images, and heatmap shrinking and colouring.

Safe in any thread (QImage, never QPixmap). Used by the workers, which prepare everything a
result needs before the GUI thread shows it, and by the widgets; it imports no other gui module,
so neither side depends on the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage

if TYPE_CHECKING:
    import numpy as np

HEAT_DISPLAY_SIDE = 512  # heatmaps are smooth: a 512-px copy looks the same
# Pictures are shown from a copy in the pixmap format (QPixmap.fromImage is then a cheap share, not
# a conversion in the GUI thread) of at most this many pixels a side: full detail for any phone
# photo, while a huge scan does not cost the window a long conversion and a few hundred MB.
DISPLAY_MAX_SIDE = 4096


def heat_rgba(heat: np.ndarray, colormap: str) -> QImage:
    """Colour a [0, 1] heatmap; alpha = √heat so cold areas leave the picture untouched."""
    import numpy as np

    from inference.heatmap import colorize
    heat = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0, 1)
    rgb = colorize(heat, colormap)
    # √heat as in inference.heatmap.overlay, faded to nothing below 10 % so cold areas (and the
    # edges of a centre crop) leave the photo untouched.
    fade = np.clip((heat - 0.05) / 0.15, 0, 1)
    alpha = (np.sqrt(heat) * fade * 255).round().astype(np.uint8)
    # Premultiplied ARGB is what a pixmap holds: QPixmap.fromImage then converts nothing.
    return rgb_to_qimage(np.dstack([rgb, alpha])).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB uint8 array as a QImage that owns its pixels."""
    import numpy as np

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    h, w = rgb.shape[:2]
    if rgb.shape[2] == 4:
        return QImage(rgb.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def display_qimage(rgb: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> QImage:
    """A picture ready to show: at most ``max_side`` pixels a side, in the pixmap format (RGB32),
    so the GUI thread's ``QPixmap.fromImage`` shares it instead of converting it."""
    import numpy as np

    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    if max(h, w) > max_side:
        from PIL import Image

        scale = max_side / max(h, w)
        rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR))
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    h, w = rgb.shape[:2]
    if rgb.shape[2] == 4:
        src = QImage(rgb.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        return src.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    src = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return src.convertToFormat(QImage.Format.Format_RGB32)  # a new image: it owns its pixels


def colour_heat(heat: np.ndarray | None, colormap: str | None) -> tuple[str, QImage] | None:
    """The display heatmap coloured with ``colormap`` (done in a worker; see ImageView.set_image)."""
    if heat is None or not colormap:
        return None
    return colormap, heat_rgba(heat, colormap)


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage (any format) as an RGB uint8 array (copied)."""
    import numpy as np

    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def small_heatmap(heatmap: np.ndarray | None, side: int = HEAT_DISPLAY_SIDE) -> np.ndarray | None:
    """A copy of a heatmap at most ``side`` pixels a side (heatmaps are smooth: nothing is lost)."""
    if heatmap is None:
        return None
    import numpy as np

    from inference.preprocess import resize_float

    heatmap = np.asarray(heatmap, dtype=np.float32)
    h, w = heatmap.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return heatmap
    return resize_float(heatmap, max(1, round(w * scale)), max(1, round(h * scale)))


def result_heat(result: Any, side: int = HEAT_DISPLAY_SIDE) -> np.ndarray | None:
    """A result's heatmap laid on its image, at most ``side`` px a side (float32 [0, 1]), made
    from the model-size map and its geometry (InspectionResult.heatmap_image), or shrunk from an
    image-sized map (a signature verification's)."""
    if result is None or getattr(result, "heatmap", None) is None:
        return None
    on_image = getattr(result, "heatmap_image", None)
    return on_image(side) if on_image is not None else small_heatmap(result.heatmap, side)


def slim_result(result: Any, side: int = 256) -> Any:
    """The same result with a heatmap of at most ``side`` px, so a batch of thousands stays small in
    memory. A model-size map (with its geometry) is already that small and is kept as it is."""
    if result is None or result.heatmap is None:
        return result
    if getattr(result, "heatmap_geometry", None) is not None and max(result.heatmap.shape[:2]) <= side:
        return result
    if hasattr(result, "heatmap_geometry"):
        return replace(result, heatmap=result_heat(result, side), heatmap_geometry=None)
    return replace(result, heatmap=small_heatmap(result.heatmap, side))


# -- writing the log (run on the window's log thread, never in the GUI thread) ------------------------
