"""Batch tab: progress (count, rate, time left), cancel, and a results table that fills as it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QLocale, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QTableView, QVBoxLayout, QWidget

from gui.widgets.common import ALARM, CALM, REFUSED, REVIEW, icon, row_table
from gui import wording
from gui.widgets.result_panel import pct
from gui.workers import BatchProgress, BatchRow
from inference.wording import NOT_REASSURANCE

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


class BatchModel(QStandardItemModel):
    """The table's rows. Each cell's text, sort key, tooltip and colour are set once, when its row
    arrives, in Qt's own items: a repaint (dozens of cells, each asked for a dozen roles) then runs
    entirely in C++ instead of calling into Python thousands of times."""

    COLUMNS = ("#", "File", "Verdict", "Confidence", "Review", "Notes")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.rows: list[BatchRow] = []
        self.mode = "general"
        self.errors = 0   # rows that could not be read
        self.review = 0   # rows whose result needs review (counted as rows arrive, not per update)
        self.retranslate()

    def clear(self) -> None:  # keeps the columns and their titles (QStandardItemModel.clear would not)
        self.setRowCount(0)
        self.rows = []
        self.errors = self.review = 0

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels(["#", self.tr("File"), self.tr("Verdict"), self.tr("Confidence"),
                                        self.tr("Review"), self.tr("Notes")])
        for i, row in enumerate(self.rows):
            for col, item in enumerate(self._items(row)):
                self.setItem(i, col, item)

    def add_rows(self, rows: list[BatchRow]) -> None:
        for row in rows:
            self.rows.append(row)
            self.appendRow(self._items(row))
        self.errors += sum(1 for r in rows if r.result is None)
        self.review += sum(1 for r in rows if r.result is not None and r.result.needs_review)

    def refused(self, row: BatchRow) -> bool:
        return row.result is not None and wording.verdict_of(row.result).refused

    def _items(self, row: BatchRow) -> list[QStandardItem]:
        r = row.result
        refused = self.refused(row)
        if r is None:
            verdict, conf, conf_key = self.tr("Error"), "", -1.0
        elif refused:
            verdict, conf, conf_key = wording.headline(r), "", -1.0
        else:
            verdict, conf, conf_key = wording.headline(r), pct(r.confidence), float(r.confidence)
        flag = r is None or r.needs_review
        reasons = [] if r is None else wording.reasons(r)
        if refused and any(n.code == NOT_REASSURANCE for n in wording.verdict_of(r).notes):
            # The row must not read as the calm answer: its note is the refusal's number line.
            reasons.append(wording.number_line(r))
        notes = (row.error or "") if r is None else "; ".join(reasons)
        tip = row.error if r is None else ("\n".join(reasons) or None)
        cells = ((row.index + 1, row.index + 1, tip), (Path(row.source).name, row.source, row.source),
                 (verdict, verdict, tip), (conf, conf_key, tip),
                 (self.tr("needs review") if flag else "", int(flag), tip), (notes, notes, tip))
        items = []
        for col, (shown, key, cell_tip) in enumerate(cells):
            item = QStandardItem()
            item.setData(shown, Qt.ItemDataRole.DisplayRole)
            item.setData(key, SORT_ROLE)
            if cell_tip:
                item.setToolTip(cell_tip)
            item.setEditable(False)
            if col in (0, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            items.append(item)
        items[0].setData(row, ROW_ROLE)
        colour = None
        if r is None or refused:
            colour = REFUSED
        elif r.needs_review:
            colour = REVIEW
        elif r.alarming:
            colour = ALARM
        elif self.mode != "general":
            colour = CALM
        if colour is not None:
            items[2].setForeground(QBrush(QColor(colour)))
        return items


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
        row_table(self.table)
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
        # Double-click or Enter on any cell opens the row (the row is kept on its first column).
        row = self.proxy.data(self.proxy.index(index.row(), 0), ROW_ROLE)
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
        errors, review = self.model.errors, self.model.review
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
        self._update_status()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.model.retranslate()
            self.retranslate()
        super().changeEvent(event)
