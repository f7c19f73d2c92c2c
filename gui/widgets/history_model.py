"""The History table's model: a paged view of the inspection log's query, read off the GUI thread.

The model pages through :meth:`InspectionLog.query` (``canFetchMore``/``fetchMore``), so a log of
a million inspections opens as fast as one of ten; every read runs through ``run`` (the task
runner, from the History controller), never in the GUI thread.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from gui import wording
from gui.modes import mode_name
from gui.widgets.common import ALARM, CALM, REFUSED, REVIEW, pct


def _run_now(fn: Callable[[], Any], on_ok: Callable[[Any], None], on_fail: Callable[[BaseException], None]) -> None:
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        on_fail(exc)
        return
    on_ok(result)


PAGE_SIZE = 100
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1


def decision_name(decision: str) -> str:
    names = {
        "confirm": QCoreApplication.translate("HistoryModel", "confirmed"),
        "overturn": QCoreApplication.translate("HistoryModel", "overturned"),
        "escalate": QCoreApplication.translate("HistoryModel", "escalated"),
        "unreviewed": QCoreApplication.translate("HistoryModel", "not reviewed"),
    }
    return names.get(decision, decision)


def record_verdict(rec: Any) -> str:
    """The record's verdict in the same words as the screen, the PDF, the CSV and the CLI."""
    return wording.headline(rec)


def fmt_time(rec: Any) -> str:
    t = getattr(rec, "time_local", None) or getattr(rec, "time_utc", None)
    if t is None:
        return ""
    return t.strftime("%Y-%m-%d %H:%M:%S")


class HistoryModel(QAbstractTableModel):
    """A paged view of ``log.query(query)``."""

    COLUMNS = ("id", "time", "mode", "verdict", "confidence", "review", "operator", "seal", "source")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.log: Any = None
        self.query: Any = None
        self.records: list[Any] = []
        self.total = 0
        self.broken_id: int | None = None  # the first row the chain check found changed
        # How the log is read: run(fn, on_ok, on_fail) calls fn off the GUI thread (the History
        # controller gives it the task runner); alone (tests of this widget) it calls fn now.
        self.run: Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None] = \
            _run_now
        self.failed: Callable[[BaseException], None] = lambda exc: None
        self.loaded: Callable[[], None] = lambda: None  # after each (re)load: the view updates its count
        self._generation = 0
        self._fetching = False

    def set_log(self, log: Any) -> None:
        self.log = log
        self.reload()

    def set_query(self, query: Any) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        """Count the matches and read the first page (off the GUI thread); the table shows them
        when they are back. A reload asked meanwhile supersedes this one."""
        self._generation += 1
        generation, log, query = self._generation, self.log, self.query
        self._fetching = False
        if log is None or query is None:
            self._reset([], 0)
            return

        def read() -> tuple[list[Any], int]:
            return list(log.query(dataclasses.replace(query, offset=0, limit=PAGE_SIZE))), int(log.count(query))

        def done(result: tuple[list[Any], int]) -> None:
            if generation == self._generation:
                self._reset(*result)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self._reset([], 0)
                self.failed(exc)

        self.run(read, done, failed)

    def _reset(self, records: list[Any], total: int) -> None:
        self.beginResetModel()
        self.records, self.total = list(records), total
        self.endResetModel()
        self.loaded()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and self.log is not None and len(self.records) < self.total \
            and not self._fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: N802
        if not self.canFetchMore(parent):
            return
        q, log, generation = self.query, self.log, self._generation
        if hasattr(q, "after_id") and self.records:
            page_q = dataclasses.replace(q, offset=0, limit=PAGE_SIZE, after_id=self.records[-1].id)
        else:
            page_q = dataclasses.replace(q, offset=len(self.records), limit=PAGE_SIZE)
        self._fetching = True

        def done(page: list[Any]) -> None:
            if generation != self._generation:
                return
            self._fetching = False
            if not page:
                self.total = len(self.records)
                return
            first = len(self.records)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self.records.extend(page)
            self.endInsertRows()

        def failed(_exc: BaseException) -> None:  # a storage error: stop paging; a refresh reports it
            if generation == self._generation:
                self._fetching = False
                self.total = len(self.records)

        self.run(lambda: list(log.query(page_q)), done, failed)

    def replace_record(self, record: Any) -> None:
        for i, rec in enumerate(self.records):
            if rec.id == record.id:
                self.records[i] = record
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))
                return

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            names = ("#", self.tr("Time"), self.tr("Mode"), self.tr("Verdict"), self.tr("Confidence"), self.tr("Review"),
                     self.tr("Operator"), self.tr("Seal / customer"), self.tr("Image"))
            return names[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        rec = self.records[index.row()]
        col = self.COLUMNS[index.column()]
        if role == RECORD_ROLE:
            return rec
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "id":
                return rec.id
            if col == "time":
                return fmt_time(rec)
            if col == "mode":
                return mode_name(rec.mode)
            if col == "verdict":
                return record_verdict(rec)
            if col == "confidence":
                return "—" if rec.confidence is None else pct(rec.confidence)
            if col == "review":
                state = getattr(rec, "review_state", "unreviewed")
                if state == "unreviewed":
                    return self.tr("needs review") if rec.needs_review else ""
                return decision_name(state)
            if col == "operator":
                return rec.operator
            if col == "seal":
                seal = getattr(rec, "seal", None)
                sig = getattr(rec, "signature", None)
                if sig is not None:
                    return sig.customer_id
                if seal is None:
                    return ""
                return " / ".join(x for x in (seal.seal_number, seal.container_number) if x)
            if col == "source":
                return Path(rec.source).name if rec.source else ""
        if role == Qt.ItemDataRole.ToolTipRole and col == "source":
            return rec.source
        if role == Qt.ItemDataRole.ToolTipRole and col in ("confidence", "verdict"):
            sig = getattr(rec, "signature", None)
            if sig is not None and sig.score is not None:
                return self.tr("Signature score {score} (threshold {threshold})").format(
                    score=pct(sig.score), threshold="—" if sig.threshold is None else pct(sig.threshold))
        if self.broken_id is not None and rec.id == self.broken_id:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor("#ffcdd2"))
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tr("The log's chain is broken here: this record was changed or removed after it "
                               "was written.")
        if role == Qt.ItemDataRole.ForegroundRole and col == "verdict":
            if wording.verdict_of(rec).refused:
                return QBrush(QColor(REFUSED))
            if rec.needs_review:
                return QBrush(QColor(REVIEW))
            if rec.alarming:
                return QBrush(QColor(ALARM))
            return QBrush(QColor(CALM)) if rec.mode != "general" else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("id", "confidence"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
