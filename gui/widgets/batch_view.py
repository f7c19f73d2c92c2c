"""Batch tab: progress (count, rate, time left), cancel, and a results table that fills as it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QEvent, QLocale, QModelIndex,
                            QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from gui.widgets.common import ALARM, CALM, REFUSED, REVIEW, icon
from gui.widgets.result_panel import pct, verdict_text
from gui.workers import BatchProgress, BatchRow

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


class BatchModel(QAbstractTableModel):
    COLUMNS = ("#", "File", "Verdict", "Confidence", "Review", "Notes")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[BatchRow] = []
        self.mode = "general"

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()

    def add_rows(self, rows: list[BatchRow]) -> None:
        if not rows:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            names = ("#", self.tr("File"), self.tr("Verdict"), self.tr("Confidence"), self.tr("Review"), self.tr("Notes"))
            return names[section]
        return None

    def refused(self, row: BatchRow) -> bool:
        return row.result is not None and row.result.out_of_domain and self.mode == "skin"

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        r = row.result
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            sort = role == SORT_ROLE
            if col == 0:
                return row.index + 1
            if col == 1:
                return row.source if sort else Path(row.source).name
            if col == 2:
                if r is None:
                    return self.tr("Error")
                return self.tr("Refused (not a skin-lesion photo)") if self.refused(row) else verdict_text(r)
            if col == 3:
                if r is None or self.refused(row):
                    return -1.0 if sort else ""
                return float(r.confidence) if sort else pct(r.confidence)
            if col == 4:
                flag = r is None or r.needs_review
                return int(flag) if sort else (self.tr("needs review") if flag else "")
            if col == 5:
                if r is None:
                    return row.error or ""
                return "; ".join(r.review_reasons)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 1:
                return row.source
            if r is None:
                return row.error
            return "\n".join(r.review_reasons) or None
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            if r is None or self.refused(row):
                return QBrush(QColor(REFUSED))
            if r.needs_review:
                return QBrush(QColor(REVIEW))
            if r.alarming:
                return QBrush(QColor(ALARM))
            return QBrush(QColor(CALM)) if self.mode != "general" else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ReviewFilterProxy(QSortFilterProxyModel):
    """Sortable; optionally only the rows that need review (or failed)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.review_only = False
        self.setSortRole(SORT_ROLE)

    def set_review_only(self, on: bool) -> None:
        self.beginFilterChange() if hasattr(self, "beginFilterChange") else None
        self.review_only = on
        if hasattr(self, "endFilterChange"):
            self.endFilterChange()
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not self.review_only:
            return True
        row = self.sourceModel().rows[source_row]
        return row.result is None or row.result.needs_review


class BatchView(QWidget):
    """Progress, cancel, filter and the results table. ``row_opened`` asks to show a row in full."""

    row_opened = Signal(object)  # BatchRow
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setObjectName("batchStatus")
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("batchCancel")
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        layout.addLayout(top)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        self.review_only = QCheckBox()
        self.review_only.setObjectName("batchReviewOnly")
        row.addWidget(self.review_only)
        layout.addLayout(row)

        self.model = BatchModel(self)
        self.proxy = ReviewFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("batchTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((50, 240, 220, 90, 100)):
            self.table.setColumnWidth(col, width)
        self.table.activated.connect(self._activated)
        layout.addWidget(self.table, 1)
        self.review_only.toggled.connect(self.proxy.set_review_only)

        self.running = False
        self.last: BatchProgress | None = None
        self.finished_info: Any = None
        self.retranslate()

    # -- driven by the window -------------------------------------------------------------------
    def start(self, mode: str, label: str) -> None:
        self.model.clear()
        self.model.mode = mode
        self.running = True
        self.finished_info = None
        self.last = None
        self.label = label
        self.progress.setRange(0, 0)  # busy until the file count is known
        self.cancel_button.setEnabled(True)
        self._update_status()

    def add_progress(self, progress: BatchProgress) -> None:
        self.last = progress
        self.model.add_rows(progress.rows)
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self._update_status()

    def finish(self, info: Any) -> None:
        self.running = False
        self.finished_info = info
        self.cancel_button.setEnabled(False)
        if self.last is not None:
            self.progress.setRange(0, max(1, self.last.total))
            self.progress.setValue(self.last.done)
        else:
            self.progress.setRange(0, 1)
        self._update_status()

    def fail(self, message: str) -> None:
        self.running = False
        self.finished_info = None
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(self.tr("The batch stopped: {reason}").format(reason=message))

    # -- rows -----------------------------------------------------------------------------------
    def _activated(self, index: QModelIndex) -> None:
        row = self.proxy.data(index, ROW_ROLE)
        if row is not None:
            self.row_opened.emit(row)

    def visible_rows(self) -> list[BatchRow]:
        return [self.proxy.data(self.proxy.index(i, 0), ROW_ROLE) for i in range(self.proxy.rowCount())]

    def select_row(self, row: BatchRow) -> int:
        """Select ``row`` in the table; returns its position among visible rows (-1 if hidden)."""
        for i in range(self.proxy.rowCount()):
            if self.proxy.data(self.proxy.index(i, 0), ROW_ROLE) is row:
                self.table.selectRow(i)
                return i
        return -1

    def neighbour(self, row: BatchRow, step: int) -> BatchRow | None:
        rows = self.visible_rows()
        for i, r in enumerate(rows):
            if r is row:
                j = i + step
                return rows[j] if 0 <= j < len(rows) else None
        return rows[0] if rows else None

    # -- text -----------------------------------------------------------------------------------
    def _update_status(self) -> None:
        loc = QLocale()
        p = self.last
        info = self.finished_info
        if p is None and self.running:
            self.status.setText(self.tr("Finding images…"))
            return
        if p is None:
            self.status.setText(self.tr("No batch yet. Open a folder (Ctrl+Shift+O) or several files to "
                                        "inspect them all."))
            return
        errors = sum(1 for r in self.model.rows if r.result is None)
        review = sum(1 for r in self.model.rows if r.result is not None and r.result.needs_review)
        counts = self.tr("{done} of {total} images").format(done=p.done, total=p.total)
        rate = self.tr("{rate} images/s").format(rate=loc.toString(p.rate, "f", 1))
        parts = [counts, rate]
        if self.running:
            left = p.seconds_left
            if left is not None:
                parts.append(self.tr("about {s} s left").format(s=loc.toString(left, "f", 0)))
        elif info is not None:
            parts.insert(0, self.tr("Cancelled") if info.cancelled else self.tr("Done"))
        parts.append(self.tr("{n} need review").format(n=review))
        if errors:
            parts.append(self.tr("{n} could not be read").format(n=errors))
        self.status.setText(" · ".join(parts))

    def retranslate(self) -> None:
        self.cancel_button.setText(self.tr("Cancel batch"))
        self.cancel_button.setToolTip(self.tr("Stop after the images being processed now (Esc)"))
        self.review_only.setText(self.tr("Only show images that need review"))
        self.table.setToolTip(self.tr("Double-click or press Enter to open a result"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(BatchModel.COLUMNS) - 1)
        self._update_status()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if self.model.rows:
                self.model.dataChanged.emit(self.model.index(0, 0),
                                            self.model.index(len(self.model.rows) - 1, len(BatchModel.COLUMNS) - 1))
        super().changeEvent(event)
