"""The History tab's workflow: keeping it up to date with the log, exports (CSV, PDF) in a worker,
and supervisors' reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

from gui.controllers.inspect import InspectController
from gui.controllers.logbook import LogController
from gui.state import TAB_HISTORY, AppState
from gui.tasks import TaskRunner
from gui.widgets.history_view import HistoryView



class HistoryController(QObject):
    exported = Signal(object, object)  # path, count (or None)

    def __init__(self, state: AppState, runner: TaskRunner, logbook: LogController, view: HistoryView,
                 inspect: InspectController, visible: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.logbook, self.view = state, runner, logbook, view
        self.visible = visible  # () -> bool: is the History tab the one shown
        view.reviewer = state.operator
        view.load_image = inspect.load_image
        view.report_error = lambda exc: state.fail(_failure(exc))
        view.labels_for_pack = state.labels_for_pack
        view.model.run = self._read
        view.write = self._write
        view.confirm_review = self._confirm_review
        view.allow_self_review = lambda: state.settings.allow_self_review
        view.verify_requested.connect(logbook.verify_chain)
        view.reviewed.connect(self._review_saved)
        state.log_changed.connect(lambda log: view.set_log(log, state.log_problem))
        state.chain_changed.connect(self._chain_changed)
        state.log_written.connect(lambda _r: self._log_grew())
        state.log_grew.connect(self._log_grew)
        self.last_export: tuple[Path, Any] | None = None

    # -- the view's log access, off the GUI thread ------------------------------------------------
    def _read(self, fn: Any, on_ok: Any, on_fail: Any) -> None:
        self.runner.read(fn, on_ok=on_ok, on_fail=lambda failure: on_fail(failure.error))

    def _write(self, fn: Any, on_ok: Any, on_fail: Any) -> None:
        self.runner.write(fn, on_ok=on_ok, on_fail=lambda failure: on_fail(failure.error))

    def _confirm_review(self, decision: str, rec: Any, go: Any) -> None:
        """A review is permanent: ask first (a window-modal box, non-blocking)."""
        from PySide6.QtWidgets import QMessageBox

        from gui.widgets.history_model import decision_name, record_verdict

        box = QMessageBox(QMessageBox.Icon.Question, QCoreApplication.translate("MainWindow", "Record a review"), QCoreApplication.translate("MainWindow", 
            "Record “{decision}” for inspection #{id} ({verdict}), signed by {by}? A review cannot be "
            "changed or removed afterwards.").format(decision=decision_name(decision), id=rec.id,
                                                     verdict=record_verdict(rec), by=self.state.operator()),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.view)
        box.setObjectName("confirmReviewDialog")
        box.button(QMessageBox.StandardButton.Yes).setText(QCoreApplication.translate("MainWindow", "Record review"))
        box.button(QMessageBox.StandardButton.Cancel).setText(QCoreApplication.translate("MainWindow", "Cancel"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(go)
        box.open()
        self.confirm_box = box

    def _chain_changed(self, _status: Any) -> None:
        status = self.state.chain_status
        self.view.set_chain_status(status, self.logbook.chain_text())
        broken = None
        if status is not None and not status.ok and getattr(status, "first_broken_table", None) in (None, "inspections"):
            broken = status.first_broken_id  # an inspection's row (a broken review marks its inspection below)
        self.view.mark_broken(broken)

    def _log_grew(self) -> None:
        self.logbook.history_dirty = True
        if self.visible():
            self.refresh()

    def tab_shown(self) -> None:
        if self.logbook.history_dirty:
            self.refresh()

    def refresh(self) -> None:
        self.logbook.history_dirty = False
        self.view.refresh()

    def focus_search(self) -> None:
        self.state.show_tab.emit(TAB_HISTORY)
        self.view.search.setFocus()
        self.view.search.selectAll()

    # -- reviews ---------------------------------------------------------------------------------
    def review_shortcut(self, decision: str) -> None:
        if not self.visible():
            self.state.say(QCoreApplication.translate("MainWindow", "Reviews are made in the History tab (F4): select an inspection first."), 6000)
            return
        self.view.review(decision)

    def _review_saved(self, _inspection_id: int) -> None:
        self.state.say(QCoreApplication.translate("MainWindow", "Review saved."), 5000)
        self.logbook.chain_timer.start()

    # -- exports ---------------------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        """Ask where to export the history filter (CSV or PDF), then export it in a worker."""
        from PySide6.QtWidgets import QFileDialog

        if self.state.log is None:
            self.state.say(self.state.log_problem or QCoreApplication.translate("MainWindow", "The inspection log is not open."), 8000)
            return
        csv = kind == "csv"
        base = Path(self.state.settings.last_dir or Path.home())
        path, _ = QFileDialog.getSaveFileName(
            self.view, QCoreApplication.translate("MainWindow", "Export inspections as CSV") if csv else QCoreApplication.translate("MainWindow", "Export inspections as PDF"),
            str(base / ("inspections.csv" if csv else "inspections.pdf")),
            QCoreApplication.translate("MainWindow", "CSV files (*.csv)") if csv else QCoreApplication.translate("MainWindow", "PDF files (*.pdf)"))
        if path:
            (self.export_csv if csv else self.export_pdf)(Path(path))

    def export_csv(self, path: Path) -> Any:
        """Export the history filter to ``path`` (in a worker); returns the operation."""
        from inference.log.csv_export import export_csv

        if self.state.log is None:
            self.state.say(self.state.log_problem or QCoreApplication.translate("MainWindow", "The inspection log is not open."), 8000)
            return None
        query = self.view.current_query()
        self.state.say(QCoreApplication.translate("MainWindow", "Exporting…"))
        return self.runner.read(export_csv, self.state.log, path, query, on_ok=lambda n: self._exported(path, n),
                                on_fail=self.state.fail)

    def export_pdf(self, path: Path) -> Any:
        """The PDF report of the history filter (``gui/report_pdf.py``), written in a worker."""
        from gui.report_pdf import export_pdf

        if self.state.log is None:
            self.state.say(self.state.log_problem or QCoreApplication.translate("MainWindow", "The inspection log is not open."), 8000)
            return None
        query = self.view.current_query()
        self.state.say(QCoreApplication.translate("MainWindow", "Exporting…"))
        return self.runner.read(export_pdf, self.state.log, query, path, on_ok=lambda n: self._exported(path, n, pages=True),
                                on_fail=self.state.fail)

    def _exported(self, path: Path, n: Any, *, pages: bool = False) -> None:
        # The PDF report counts pages (summary, sign-off and detail pages), not inspections.
        if isinstance(n, int) and pages:
            msg = QCoreApplication.translate("MainWindow", "Exported a {n}-page report to {path}").format(n=n, path=path)
        elif isinstance(n, int):
            msg = QCoreApplication.translate("MainWindow", "Exported {n} inspections to {path}").format(n=n, path=path)
        else:
            msg = QCoreApplication.translate("MainWindow", "Exported to {path}").format(path=path)
        self.state.say(msg, 10000)
        self.last_export = (path, n)
        self.exported.emit(path, n)


def _failure(exc: BaseException) -> Any:
    from gui.workers import Failure

    import traceback

    return Failure(exc, None if _known(exc) else "".join(traceback.format_exception(exc)))


def _known(exc: BaseException) -> bool:
    from inference.errors import TilikError

    return isinstance(exc, TilikError)
