"""The image with its heatmap: zoom and pan (QGraphicsView), overlay toggle, opacity, side by side.

The heatmap is a separate RGBA layer over the picture: its colour comes from the colormap, its
alpha from the heat (√heat, as :func:`inference.heatmap.overlay` does) and the slider sets the
layer's opacity, so moving the slider costs nothing. The layer is coloured at ≤512 px and scaled
up smoothly (heatmaps are smooth), so a 50-megapixel photo changes colormap instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF, QTransform, QWheelEvent
from PySide6.QtWidgets import (QFrame, QGraphicsPixmapItem, QGraphicsPolygonItem, QGraphicsScene, QGraphicsView,
                               QWidget)

from gui.imaging import heat_rgba  # noqa: F401 - where it used to live

if TYPE_CHECKING:
    import numpy as np

GAP = 16.0
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


class ImageView(QGraphicsView):
    """Shows one image, optionally with a heatmap layer, and lets the user zoom and pan."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor("#263238"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Image")
        # Left: the plain picture (side by side only). Right/only: the picture with the heat layer.
        self._plain = QGraphicsPixmapItem()
        self._base = QGraphicsPixmapItem()
        self._heat = QGraphicsPixmapItem(self._base)
        for item in (self._plain, self._base, self._heat):
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._plain)
        self.scene().addItem(self._base)
        self._plain.setVisible(False)
        self._heat_data: np.ndarray | None = None
        self._heat_image: QImage | None = None  # an already coloured heatmap (from the log)
        self._heat_coloured: tuple[str, QImage] | None = None  # _heat_data coloured in a worker
        self._colormap = "turbo"
        self._opacity = 0.55
        self._overlay_on = True
        self._side_by_side = False
        self._fit = True
        self._has_image = False
        self._marks: list[QGraphicsPolygonItem] = []
        self.placeholder = ""

    # -- content --------------------------------------------------------------------------------
    def has_image(self) -> bool:
        return self._has_image

    def clear(self) -> None:
        self.set_marks([])
        self._plain.setPixmap(QPixmap())
        self._base.setPixmap(QPixmap())
        self._heat.setPixmap(QPixmap())
        self._heat_data = None
        self._heat_image = None
        self._heat_coloured = None
        self._has_image = False
        self.scene().setSceneRect(QRectF())
        self.viewport().update()

    def set_image(self, image: QImage, heat: np.ndarray | None = None, *, heat_image: QImage | None = None,
                  keep_view: bool = False, heat_coloured: tuple[str, QImage] | None = None) -> None:
        """Show ``image``; ``heat`` is a float [0, 1] map of any size (scaled to cover the image).

        ``heat_coloured`` is ``heat`` already coloured (:func:`heat_rgba`, in a worker) with the
        named colormap: used as it is while that colormap is chosen. ``image`` in Format_RGB32
        (see ``gui.workers.display_qimage``) is shown without any conversion in this thread.
        """
        self.set_marks([])
        pixmap = QPixmap.fromImage(image)
        self._plain.setPixmap(pixmap)
        self._base.setPixmap(pixmap)
        self._has_image = not pixmap.isNull()
        self._heat_data = heat
        self._heat_image = heat_image
        self._heat_coloured = heat_coloured if heat is not None else None
        self._render_heat()
        self._layout_items()
        if not keep_view or self._fit:
            self.fit()

    def set_marks(self, marks: list[tuple[list[tuple[float, float]], str, str]]) -> None:
        """Outline regions of the picture (e.g. text read off it): ``(corners in picture pixels,
        colour, tooltip)``; replaced by the next call, cleared with the picture."""
        for item in self._marks:
            self.scene().removeItem(item)
        self._marks = []
        for corners, colour, tip in marks:
            item = QGraphicsPolygonItem(QPolygonF([QPointF(x, y) for x, y in corners]), self._base)
            pen = QPen(QColor(colour))
            pen.setWidthF(3.0)
            pen.setCosmetic(True)  # the same width at any zoom
            item.setPen(pen)
            item.setToolTip(tip)
            item.setZValue(2)
            self._marks.append(item)

    def marks(self) -> list[QGraphicsPolygonItem]:
        return list(self._marks)

    def has_heatmap(self) -> bool:
        return self._heat_data is not None or self._heat_image is not None

    def image_size(self) -> tuple[int, int]:
        p = self._base.pixmap()
        return p.width(), p.height()

    # -- heatmap controls -----------------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        if name != self._colormap:
            self._colormap = name
            self._render_heat()

    def colormap(self) -> str:
        return self._colormap

    def set_opacity(self, value: float) -> None:
        self._opacity = float(min(1.0, max(0.0, value)))
        self._heat.setOpacity(self._opacity)

    def opacity(self) -> float:
        return self._opacity

    def set_overlay_visible(self, on: bool) -> None:
        self._overlay_on = bool(on)
        self._heat.setVisible(self._overlay_on and self.has_heatmap())

    def overlay_visible(self) -> bool:
        """True when a heatmap is really drawn over the picture."""
        return self._heat.isVisible() and not self._heat.pixmap().isNull()

    def set_side_by_side(self, on: bool) -> None:
        self._side_by_side = bool(on)
        self._layout_items()
        if self._fit:
            self.fit()

    def side_by_side(self) -> bool:
        return self._side_by_side

    def _render_heat(self) -> None:
        if self._heat_data is not None:
            ready = self._heat_coloured
            img = ready[1] if ready is not None and ready[0] == self._colormap else heat_rgba(self._heat_data,
                                                                                              self._colormap)
        elif self._heat_image is not None:
            img = self._heat_image
        else:
            self._heat.setPixmap(QPixmap())
            self._heat.setVisible(False)
            return
        pix = QPixmap.fromImage(img)
        self._heat.setPixmap(pix)
        w, h = self.image_size()
        if pix.width() and pix.height():
            self._heat.setTransform(QTransform.fromScale(w / pix.width(), h / pix.height()))
        self._heat.setOpacity(self._opacity if self._heat_data is not None else max(self._opacity, 0.0))
        self._heat.setVisible(self._overlay_on)

    def _layout_items(self) -> None:
        w, h = self.image_size()
        if self._side_by_side and self._has_image:
            self._plain.setVisible(True)
            self._plain.setPos(0, 0)
            self._base.setPos(w + GAP, 0)
            rect = QRectF(0, 0, 2 * w + GAP, h)
        else:
            self._plain.setVisible(False)
            self._base.setPos(0, 0)
            rect = QRectF(0, 0, w, h)
        self.scene().setSceneRect(rect)

    # -- zoom and pan ---------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit = True
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 4.0:  # a tiny image: do not blow it up into mush
            self.resetTransform()
            self.scale(4.0, 4.0)
        self.zoom_changed.emit(self.zoom())

    def actual_size(self) -> None:
        self._fit = False
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        if not self._has_image:
            return
        current = self.zoom()
        target = min(MAX_ZOOM, max(MIN_ZOOM, current * factor))
        if abs(target - current) < 1e-9:
            return
        self._fit = False
        self.scale(target / current, target / current)
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(1.25)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def zoom_out(self) -> None:
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(0.8)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        delta = event.angleDelta().y()
        if delta == 0 or not self._has_image:
            super().wheelEvent(event)
            return
        self.zoom_by(1.0015 ** delta)
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_size()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt API
        super().drawForeground(painter, rect)
        if self._has_image or not self.placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("#b0bec5"))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.placeholder)
        painter.restore()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.LanguageChange:
            self.viewport().update()
        return super().event(event)
