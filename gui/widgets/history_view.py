"""History tab: the inspection log as a paged table, filters, the full record, supervisor review,
export of the current filter, and the chain verification result.

The table model pages through :meth:`InspectionLog.query` (``canFetchMore``/``fetchMore``), so a
log of a million inspections opens as fast as one of ten. Everything here runs in the GUI thread,
which is the only thread that talks to the log.
"""

from __future__ import annotations

import dataclasses
import html
from datetime import datetime, time as dtime, timedelta
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QDate, QEvent, QLocale, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSplitter, QTableView, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from gui import wording
from gui.modes import mode_name  # noqa: F401 - where it used to live
from gui.widgets.common import icon, pct, row_table
from gui.widgets.history_model import (PAGE_SIZE, RECORD_ROLE, HistoryModel, _run_now, decision_name,  # noqa: F401
                                       fmt_time, record_verdict)
from gui.widgets.image_view import ImageView

class HistoryView(QWidget):
    """Filters, the table, and the selected record with its review controls."""

    export_csv_requested = Signal()
    export_pdf_requested = Signal()
    verify_requested = Signal()
    reviewed = Signal(int)  # an inspection id that got a new review

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log: Any = None
        self.reviewer: Callable[[], str] = lambda: ""
        self.load_image: Callable[[Any, Any, Callable[[QImage, Any], None]], None] | None = None
        self.report_error: Callable[[BaseException], None] = lambda exc: None
        self.labels_for_pack: Callable[[str], list[tuple[str, str]]] = lambda pack_id: []
        # Log writes (reviews): write(fn, on_ok, on_fail) runs fn on the log's thread (the History
        # controller's task runner); alone (tests of this widget) it runs fn now. Reads go through
        # the model's ``run``.
        self.write: Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None] = \
            _run_now
        # Asked before a review is written: confirm_review(decision, record, go) calls go() to write
        # it (the controller asks the reviewer in a dialog first; alone, it goes ahead).
        self.confirm_review: Callable[[str, Any, Callable[[], None]], None] = lambda decision, rec, go: go()
        self.operator_of: Callable[[Any], str] = lambda rec: getattr(rec, "operator", "") or ""
        self.allow_self_review: Callable[[], bool] = lambda: False
        outer = QVBoxLayout(self)

        # -- filters ------------------------------------------------------------------------------
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("historySearch")
        self.search.setClearButtonEnabled(True)
        self.mode_filter = QComboBox()
        self.mode_filter.setObjectName("historyMode")
        for _text, mode in self._mode_choices():
            self.mode_filter.addItem("", mode)
        self.review_filter = QComboBox()
        self.review_filter.setObjectName("historyReview")
        for _ in range(4):
            self.review_filter.addItem("")
        self.use_dates = QCheckBox()
        self.date_from = QDateEdit(QDate.currentDate().addDays(-30))
        self.date_to = QDateEdit(QDate.currentDate())
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
        self.operator_filter = QLineEdit()
        self.operator_filter.setObjectName("historyOperator")
        self.operator_filter.setMaximumWidth(140)
        filters.addWidget(self.search, 2)
        filters.addWidget(self.mode_filter)
        filters.addWidget(self.review_filter)
        filters.addWidget(self.operator_filter)
        filters.addWidget(self.use_dates)
        filters.addWidget(self.date_from)
        filters.addWidget(self.date_to)
        outer.addLayout(filters)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(self._debounce.start)
        self.operator_filter.textChanged.connect(self._debounce.start)
        self.mode_filter.currentIndexChanged.connect(self.apply_filters)
        self.review_filter.currentIndexChanged.connect(self.apply_filters)
        self.use_dates.toggled.connect(self._dates_toggled)
        self.date_from.dateChanged.connect(self._debounce.start)
        self.date_to.dateChanged.connect(self._debounce.start)

        # -- table and detail ---------------------------------------------------------------------
        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = HistoryModel(self)
        self.table = QTableView()
        self.table.setObjectName("historyTable")
        self.table.setModel(self.model)
        row_table(self.table)
        for col, width in enumerate((50, 150, 90, 200, 80, 100, 90, 150)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        split.addWidget(self.table)

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(6, 0, 0, 0)
        self.image = ImageView()
        self.image.setObjectName("historyImage")
        self.image.setMinimumHeight(180)
        dl.addWidget(self.image, 3)
        hrow = QHBoxLayout()
        self.heat_toggle = QCheckBox()
        self.heat_toggle.setChecked(True)
        self.heat_toggle.toggled.connect(self.image.set_overlay_visible)
        hrow.addWidget(self.heat_toggle)
        hrow.addStretch(1)
        dl.addLayout(hrow)
        self.record_text = QTextBrowser()
        self.record_text.setObjectName("historyRecord")
        self.record_text.setOpenLinks(False)
        dl.addWidget(self.record_text, 3)

        self.review_box = QGroupBox()
        rl = QVBoxLayout(self.review_box)
        form = QFormLayout()
        self.note = QLineEdit()
        self.note.setObjectName("reviewNote")
        self.corrected = QComboBox()
        self.corrected.setObjectName("reviewCorrected")
        self.note_label = QLabel()
        self.note_label.setBuddy(self.note)
        self.corrected_label = QLabel()
        self.corrected_label.setBuddy(self.corrected)
        form.addRow(self.note_label, self.note)
        form.addRow(self.corrected_label, self.corrected)
        rl.addLayout(form)
        brow = QHBoxLayout()
        self.confirm_button = QPushButton(icon("confirm"), "")
        self.confirm_button.setObjectName("reviewConfirm")
        self.overturn_button = QPushButton(icon("overturn"), "")
        self.overturn_button.setObjectName("reviewOverturn")
        self.escalate_button = QPushButton(icon("escalate"), "")
        self.escalate_button.setObjectName("reviewEscalate")
        self.confirm_button.clicked.connect(lambda: self.review("confirm"))
        self.overturn_button.clicked.connect(lambda: self.review("overturn"))
        self.escalate_button.clicked.connect(lambda: self.review("escalate"))
        for b in (self.confirm_button, self.overturn_button, self.escalate_button):
            brow.addWidget(b)
        rl.addLayout(brow)
        self.review_status = QLabel()
        self.review_status.setObjectName("reviewStatus")
        self.review_status.setWordWrap(True)
        rl.addWidget(self.review_status)
        dl.addWidget(self.review_box)
        split.addWidget(detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        outer.addWidget(split, 1)

        # -- bottom bar ---------------------------------------------------------------------------
        bottom = QHBoxLayout()
        self.count_label = QLabel()
        self.count_label.setObjectName("historyCount")
        self.export_csv_button = QToolButton()
        self.export_csv_button.setIcon(icon("export"))
        self.export_csv_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_csv_button.clicked.connect(self.export_csv_requested)
        self.export_pdf_button = QToolButton()
        self.export_pdf_button.setIcon(icon("export"))
        self.export_pdf_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_pdf_button.clicked.connect(self.export_pdf_requested)
        self.verify_button = QToolButton()
        self.verify_button.setIcon(icon("verify"))
        self.verify_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.verify_button.clicked.connect(self.verify_requested)
        self.chain_label = QLabel()
        self.chain_label.setObjectName("chainLabel")
        self.chain_label.setWordWrap(True)  # a broken chain's reason wraps instead of widening the window
        self.chain_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom.addWidget(self.count_label)
        bottom.addStretch(1)
        bottom.addWidget(self.chain_label, 3)
        bottom.addWidget(self.verify_button)
        bottom.addWidget(self.export_csv_button)
        bottom.addWidget(self.export_pdf_button)
        outer.addLayout(bottom)

        self._chain: Any = None
        self._chain_text = ""
        self._current: Any = None
        self._unavailable = ""
        self._reviews: dict[int, list[Any]] = {}
        self._keep: int | None = None
        self.retranslate()
        self._show_record(None)

    # -- log and query --------------------------------------------------------------------------
    def set_log(self, log: Any, unavailable_reason: str = "") -> None:
        self.log = log
        self._unavailable = unavailable_reason
        self.apply_filters()

    def current_query(self) -> Any:
        from inference.log import LogQuery

        mode = self.mode_filter.currentData()
        review_idx = self.review_filter.currentIndex()
        kwargs: dict[str, Any] = {
            "mode": mode,
            "text": self.search.text().strip() or None,
            "operator": self.operator_filter.text().strip() or None,
            "limit": PAGE_SIZE,
        }
        if review_idx == 1:
            kwargs.update(needs_review=True, reviewed=False)
        elif review_idx == 2:
            kwargs.update(needs_review=True)
        elif review_idx == 3:
            kwargs.update(reviewed=True)
        if self.use_dates.isChecked():
            start = self.date_from.date().toPython()
            end = self.date_to.date().toPython() + timedelta(days=1)
            kwargs.update(start=datetime.combine(start, dtime.min), end=datetime.combine(end, dtime.min))
        fields = {f.name for f in dataclasses.fields(LogQuery)}
        return LogQuery(**{k: v for k, v in kwargs.items() if k in fields})

    def apply_filters(self) -> None:
        if self.log is None:
            self.model.set_log(None)
            self._update_count()
            self._show_record(None)
            return
        self._keep = self._current.id if self._current is not None else None
        self.model.query = self.current_query()
        self.model.failed = self.report_error  # a storage error is shown, the app goes on
        self.model.loaded = self._loaded
        self.model.set_log(self.log)

    def _loaded(self) -> None:
        """The first page is back (off the GUI thread): count, and keep the selection."""
        self._update_count()
        keep, self._keep = getattr(self, "_keep", None), None
        if keep is not None:
            self.select_id(keep)
        elif self.model.rowCount() == 0:
            self._show_record(None)

    def refresh(self) -> None:
        self.apply_filters()

    def select_id(self, inspection_id: int) -> bool:
        for i, rec in enumerate(self.model.records):
            if rec.id == inspection_id:
                self.table.selectRow(i)
                self.table.scrollTo(self.model.index(i, 0))
                return True
        self._show_record(None)
        return False

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.apply_filters()

    def _update_count(self) -> None:
        if self.log is None:
            self.count_label.setText(self._unavailable or self.tr("The inspection log is not available."))
        else:
            self.count_label.setText(self.tr("{n} inspections match").format(n=self.model.total))

    # -- the selected record --------------------------------------------------------------------
    def current_record(self) -> Any:
        return self._current

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rec = self.model.data(self.model.index(current.row(), 0), RECORD_ROLE) if current.isValid() else None
        self._show_record(rec)

    def pending(self) -> bool:
        """A filter change is waiting to be applied (typing is debounced)."""
        return self._debounce.isActive()

    def _show_record(self, rec: Any) -> None:
        # The same record shown again (the table refreshed under it) keeps its review status line.
        same = rec is not None and self._current is not None and rec.id == self._current.id
        self._current = rec
        enabled = rec is not None and self.log is not None
        for w in (self.confirm_button, self.overturn_button, self.escalate_button, self.note, self.corrected):
            w.setEnabled(enabled)
        if not same:
            self.review_status.setText("")
        if rec is None:
            self.record_text.setHtml("<p style='color:#607d8b'>%s</p>" % html.escape(
                self.tr("Select an inspection to see the full record.")))
            self.image.clear()
            self.corrected.clear()
            return
        self.record_text.setHtml(self.record_html(rec))
        self.corrected.clear()
        self.corrected.addItem(self.tr("(keep the machine's label)"), None)
        refused = wording.verdict_of(rec).refused
        if not refused:
            for name, label in self.labels_for_pack(rec.pack_id) or [(n, n) for n in rec.probabilities]:
                self.corrected.addItem(wording.class_word(rec.pack_id, name, label), name)
        # A refusal names no class: it can be confirmed or escalated, never overturned into one.
        self.overturn_button.setEnabled(enabled and not refused)
        self.corrected.setEnabled(enabled and not refused)
        self.image.clear()
        if self.log is not None:
            log = self.log
            self.model.run(lambda: (self._stored_image(log, rec), self._heatmap(log, rec), list(log.reviews(rec.id))),
                           self._details_read(rec), lambda exc: None)

    def _details_read(self, rec: Any) -> Callable[[tuple[Any, Any, list[Any]]], None]:
        def done(details: tuple[Any, Any, list[Any]]) -> None:
            if self._current is None or self._current.id != rec.id:
                return  # another record was chosen meanwhile
            image_path, heat_path, reviews = details
            self._reviews[rec.id] = reviews
            self.record_text.setHtml(self.record_html(rec))
            if image_path is not None and self.load_image is not None:
                self.load_image(image_path, heat_path, self._image_loaded(rec.id))
        return done

    @staticmethod
    def _stored_image(log: Any, rec: Any) -> Path | None:
        for name in ("stored_image_path", "image_path"):
            fn = getattr(log, name, None)
            if fn is None:
                continue
            try:
                path = fn(rec) if name == "stored_image_path" else fn(rec.image_sha256)
            except Exception:  # noqa: BLE001 - a missing file just means no picture
                continue
            if path is not None and Path(path).is_file():
                return Path(path)
        return None

    @staticmethod
    def _heatmap(log: Any, rec: Any) -> Path | None:
        fn = getattr(log, "heatmap_path", None)
        if fn is None:
            return None
        try:
            path = fn(rec)
        except Exception:  # noqa: BLE001
            return None
        return Path(path) if path is not None and Path(path).is_file() else None

    def _image_loaded(self, record_id: int) -> Callable[[QImage, Any], None]:
        def done(image: QImage, heat: Any, coloured: Any = None) -> None:
            if self._current is not None and self._current.id == record_id:
                self.image.set_image(image, heat, heat_coloured=coloured)  # coloured in the worker
                self.image.set_overlay_visible(self.heat_toggle.isChecked())
        return done

    def _reading_rows(self, seal: Any) -> list[tuple[str, str]]:
        """What was read off the photo (log v7), what the inspector did with it."""
        read_c, read_s = getattr(seal, "read_container_number", None), getattr(seal, "read_seal_number", None)
        if read_c is None and read_s is None:
            return []
        confirmed = getattr(seal, "read_confirmed", None)
        edited = (read_c is not None and read_c != seal.container_number) or \
            (read_s is not None and read_s != seal.seal_number)
        if confirmed and edited:
            outcome = self.tr("confirmed after editing")
        elif confirmed:
            outcome = self.tr("confirmed as read")
        else:
            outcome = self.tr("not confirmed")
        read = " / ".join(x for x in (read_s, read_c) if x) or "—"
        return [(self.tr("Read from the photo"), read), (self.tr("Reading"), outcome)]

    def record_html(self, rec: Any) -> str:
        e = html.escape
        rows: list[tuple[str, str]] = []
        rows.append((self.tr("Verdict"), record_verdict(rec)))
        sig = getattr(rec, "signature", None)
        v = wording.verdict_of(rec)
        if sig is not None and sig.score is not None and v.basis != "match":
            threshold = "—" if sig.threshold is None else pct(sig.threshold)
            rows.append((self.tr("Score"), self.tr("{score} (threshold {threshold})").format(
                score=pct(sig.score), threshold=threshold)))
        else:
            rows.append((self.tr("Number"), wording.number_line(rec)))
        labels = dict(self.labels_for_pack(rec.pack_id))
        final = getattr(rec, "final_label", rec.label)
        if final != rec.label and final is not None:
            rows.append((self.tr("Label after review"), wording.class_word(rec.pack_id, final, labels.get(final, final))))
        rows.append((self.tr("Time"), fmt_time(rec)))
        rows.append((self.tr("Mode"), mode_name(rec.mode)))
        rows.append((self.tr("Operator"), rec.operator or "—"))
        rows.append((self.tr("Station"), rec.station or "—"))
        rows.append((self.tr("Image"), rec.source or "—"))
        rows.append((self.tr("Pack"), f"{rec.pack_id} {rec.pack_version} ({rec.provider})"))
        reasons = wording.reasons(rec)
        if reasons and not v.refused:
            rows.append((self.tr("Why review"), "; ".join(reasons)))
        guard = getattr(rec, "guard", None)
        if guard:
            rows.append((self.tr("Input check"), self.tr("flagged") if guard.get("flagged") else self.tr("passed")))
        seal = getattr(rec, "seal", None)
        if seal is not None:
            rows.append((self.tr("Seal number"), seal.seal_number or "—"))
            rows.append((self.tr("Container number"), seal.container_number or "—"))
            if seal.seal_class:
                classes = {"indicative": self.tr("Indicative"), "security": self.tr("Security"),
                           "high-security": self.tr("High security")}
                rows.append((self.tr("Seal class"), classes.get(seal.seal_class, seal.seal_class)))
            marks = {True: "✓", False: "✗", None: "–"}
            steps = ((self.tr("View"), seal.view), (self.tr("Verify"), seal.verify), (self.tr("Tug"), seal.tug),
                     (self.tr("Twist"), seal.twist))
            rows.append((self.tr("Checklist"), "  ".join(f"{name} {marks[v]}" for name, v in steps)))
            rows += self._reading_rows(seal)
        if sig is not None:
            rows.append((self.tr("Customer or account"), sig.customer_id))
            rows.append((self.tr("Document checked"), sig.document_ref or "—"))
            rows.append((self.tr("References used"), ", ".join(f"#{i}" for i in sig.reference_ids) or "—"))
        skin = getattr(rec, "skin", None)
        if skin is not None and (skin.patient_ref or skin.body_site):
            rows.append((self.tr("Patient reference"), skin.patient_ref or "—"))
        probs = sorted(rec.probabilities.items(), key=lambda kv: -kv[1])[:5]
        if sig is None and not v.refused:
            rows.append((self.tr("Probabilities"), ", ".join(
                f"{wording.class_word(rec.pack_id, k, labels.get(k, k))} {pct(p)}" for k, p in probs)))
        rows.append((self.tr("Record hash"), rec.hash[:16] + "…"))
        body = "".join(f"<tr><td style='color:#546e7a; padding-right:8px'>{e(k)}</td><td>{e(v)}</td></tr>"
                       for k, v in rows)
        reviews_html = ""
        reviews = self._reviews.get(rec.id, [])  # read off the GUI thread with the record's picture
        if reviews:
            items = "".join(
                "<li>{}</li>".format(e(self.tr("{time}: {decision} by {by}{label}{note}").format(
                    time=r.time_local.strftime("%Y-%m-%d %H:%M"), decision=decision_name(r.decision),
                    by=r.by or "?", label=f" → {wording.class_word(rec.pack_id, r.corrected_label, labels.get(r.corrected_label, r.corrected_label))}" if r.corrected_label else "",
                    note=f" — “{r.note}”" if r.note else "")))
                for r in reviews)
            reviews_title = self.tr("Reviews")
            reviews_html = f"<p><b>{e(reviews_title)}</b></p><ul>{items}</ul>"
        title = self.tr("Inspection #{id}").format(id=rec.id)
        return (f"<h3>{e(title)}</h3>"
                f"<table>{body}</table>{reviews_html}")

    # -- review ---------------------------------------------------------------------------------
    def review(self, decision: str) -> bool:
        """Record a supervisor's decision on the selected inspection (on the log's thread, once
        confirmed). Returns True when the review was sent to be written."""
        rec = self._current
        if rec is None or self.log is None:
            return False
        by = self.reviewer().strip()
        if not by:
            return self._review_problem(self.tr("Set your name in Settings first: reviews are signed."))
        own = by.casefold() == self.operator_of(rec).strip().casefold()
        if own and not self.allow_self_review():
            return self._review_problem(self.tr(
                "{by} made this inspection: a review needs a second person. (A supervisor can allow "
                "self-review in Settings; the log records it.)").format(by=by))
        corrected = self.corrected.currentData() if decision == "overturn" else None
        note = self.note.text().strip()
        if decision == "overturn" and corrected is None and not note:
            return self._review_problem(self.tr("To overturn, choose the correct label or write a note."))
        if own:  # allowed by the setting: the log says so with the review
            note = (note + " " if note else "") + self.tr("[self-review: allowed by the station's setting]")
        log = self.log

        def write() -> tuple[Any, Any, list[Any]]:
            review = log.add_review(rec.id, decision, by, note=note, corrected_label=corrected)
            try:
                updated = log.get(rec.id)
            except Exception:  # noqa: BLE001
                updated = rec
            return review, updated, list(log.reviews(rec.id))

        def written(result: tuple[Any, Any, list[Any]]) -> None:
            _review, updated, reviews = result
            self._reviews[rec.id] = reviews
            self.note.clear()
            self.model.replace_record(updated)
            if self._current is not None and self._current.id == rec.id:
                self._show_record(updated)
            self.review_status.setText(self.tr("Saved: {decision} by {by}.").format(
                decision=decision_name(decision), by=by))
            self.review_status.setStyleSheet("color: #2e7d32;")
            self.reviewed.emit(rec.id)

        def go() -> None:
            self.review_status.setText(self.tr("Saving…"))
            self.review_status.setStyleSheet("")
            self.write(write, written, self.report_error)

        self.confirm_review(decision, rec, go)
        return True

    def _mode_choices(self) -> list[tuple[str, str | None]]:
        from gui import modes

        return [(self.tr("All modes"), None)] + [(modes.mode_name(m), m) for m in modes.ids()]

    def _review_problem(self, text: str) -> bool:
        self.review_status.setText(text)
        self.review_status.setStyleSheet("color: #c62828;")
        return False

    # -- chain ----------------------------------------------------------------------------------
    def set_chain_status(self, status: Any, text: str) -> None:
        self._chain = status
        self._chain_text = text
        self.chain_label.setText(text)
        ok = status is not None and getattr(status, "ok", False)
        self.chain_label.setStyleSheet("color: #2e7d32;" if ok else ("color: #c62828;" if status is not None else ""))

    def mark_broken(self, record_id: int | None) -> None:
        """Mark the row where the log's chain breaks (red, with a tooltip saying why)."""
        self.model.broken_id = record_id
        if self.model.rowCount():
            self.model.dataChanged.emit(self.model.index(0, 0),
                                        self.model.index(self.model.rowCount() - 1, len(self.model.COLUMNS) - 1))

    # -- text -----------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.search.setPlaceholderText(self.tr("Search source, labels, people, numbers, notes…"))
        self.search.setToolTip(self.tr("Filter the log (Ctrl+F)"))
        for i, (text, _mode) in enumerate(self._mode_choices()):
            self.mode_filter.setItemText(i, text)
        for i, text in enumerate((self.tr("All"), self.tr("Review queue"), self.tr("Flagged for review"),
                                  self.tr("Reviewed"))):
            self.review_filter.setItemText(i, text)
        self.review_filter.setToolTip(self.tr("Review queue: flagged and not reviewed yet"))
        self.operator_filter.setPlaceholderText(self.tr("Operator"))
        self.use_dates.setText(self.tr("Dates:"))
        self.heat_toggle.setText(self.tr("Heatmap"))
        self.review_box.setTitle(self.tr("Supervisor review"))
        self.note_label.setText(self.tr("&Note:"))
        self.note.setPlaceholderText(self.tr("why (saved with the review)"))
        self.corrected_label.setText(self.tr("Correct &label:"))
        self.confirm_button.setText(self.tr("Confirm… (Alt+Shift+C)"))
        self.confirm_button.setToolTip(self.tr("The verdict is right"))
        self.overturn_button.setText(self.tr("Overturn… (Alt+Shift+X)"))
        self.overturn_button.setToolTip(self.tr("The verdict is wrong; choose the correct label"))
        self.escalate_button.setText(self.tr("Escalate… (Alt+Shift+E)"))
        self.escalate_button.setToolTip(self.tr("Pass it on to someone more senior"))
        self.export_csv_button.setText(self.tr("Export CSV…"))
        self.export_csv_button.setToolTip(self.tr("Save the inspections matching the filter as a spreadsheet"))
        self.export_pdf_button.setText(self.tr("Export PDF…"))
        self.export_pdf_button.setToolTip(self.tr("Save the inspections matching the filter as a PDF report"))
        self.verify_button.setText(self.tr("Verify chain"))
        self.verify_button.setToolTip(self.tr("Check that no record was changed or deleted"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HistoryModel.COLUMNS) - 1)
        self._update_count()
        if self._current is not None:
            self.record_text.setHtml(self.record_html(self._current))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


def locale_number(value: float, decimals: int = 0) -> str:
    return QLocale().toString(float(value), "f", decimals)
