"""Small shared pieces: icons, the verdict colours, a banner label, Qt ↔ numpy helpers."""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from PySide6.QtCore import QLocale, QObject, Qt, QTimer
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel, QScrollArea, QSizePolicy,
                               QTableView, QVBoxLayout, QWidget)

from inference import paths

# Verdict colours: always shown with words, never colour alone.
CALM = "#2e7d32"      # green: the harmless class (seal intact, benign, genuine)
ALARM = "#c62828"     # red: an alarming class (damaged, malignant, forged)
REVIEW = "#b26a00"    # amber: a person must look
REFUSED = "#546e7a"   # grey: not a valid verdict (out of domain, error)
NEUTRAL = "#1e5f74"   # teal: general mode (no alarming class)
BANNER_STYLES = {
    "info": ("#e3f2fd", "#0d47a1", "#90caf9"),
    "warning": ("#fff8e1", "#6d4c00", "#ffca28"),
    "error": ("#ffebee", "#8e0000", "#ef9a9a"),
    "medical": ("#ede7f6", "#311b92", "#b39ddb"),
}


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """An SVG icon from resources/icons (crisp at any DPI); an empty icon when missing."""
    path = paths.resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


class Banner(QFrame):
    """A coloured strip with a message; ``kind`` is info, warning, error or medical."""

    def __init__(self, kind: str = "info", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.set_kind(kind)

    def set_kind(self, kind: str) -> None:
        bg, fg, border = BANNER_STYLES.get(kind, BANNER_STYLES["info"])
        self.kind = kind
        # Styled through the frame's own palette-independent sheet: "*" is this frame only, the
        # label gets its colour separately (objectName may be set by users of the banner).
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"Banner {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}")
        self.label.setStyleSheet(f"color: {fg}; background: transparent; border: none;")

    def set_text(self, text: str, rich: bool = False) -> None:
        self.label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.label.setText(text)

    def text(self) -> str:
        return self.label.text()


def call_later(owner: QObject, msec: int, fn: Callable[[], object]) -> QTimer:
    """Run ``fn`` once after ``msec`` ms, unless ``owner`` is gone by then (the timer dies with it)."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.timeout.connect(fn)
    timer.timeout.connect(timer.deleteLater)
    timer.start(msec)
    return timer


from gui.wording import pct  # noqa: E402,F401 - the views' percentages, in the words' module


def scroll_body(area: QScrollArea, min_width: int, margins: tuple[int, int, int, int]) -> QVBoxLayout:
    """Make ``area`` a frameless, vertically scrolling panel and return the layout of its body."""
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setMinimumWidth(min_width)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    body = QWidget()
    area.setWidget(body)
    layout = QVBoxLayout(body)
    layout.setContentsMargins(*margins)
    layout.setSpacing(10)
    return layout


def headline(name: str, like: QWidget, scale: float, min_points: float = 0.0, *, verdict: bool = False) -> QLabel:
    """A centred, wrapping label whose font is ``scale`` times ``like``'s (at least ``min_points``).

    ``verdict``: bold, selectable and at least 72 px high, as the big verdict line of a result.
    """
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    font = QFont(like.font())
    font.setPointSizeF(max(min_points, font.pointSizeF() * scale))
    if verdict:
        label.setMinimumHeight(72)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font.setBold(True)
    label.setFont(font)
    return label


def elide_middle(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width // 2 - 1] + "…" + text[-(width // 2):]


def caption_label(name: str) -> QLabel:
    """The grey, selectable line under a picture (file, origin, what its heatmap shows). Clipped,
    never widening the window past 1366 px: a long path or note stays in its tooltip."""
    label = QLabel()
    label.setObjectName(name)
    label.setStyleSheet("color: #546e7a;")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def row_table(table: QTableView) -> None:
    """A read-only table of one selectable row per item (Batch, History): alternating colours, no
    row numbers, rows one line of text high, columns the user can resize, the last one stretched."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
