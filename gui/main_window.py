"""The main window: a shell of actions, menus, the toolbar, tabs, the status bar and drag and drop.

Everything it shows is driven by controllers (:mod:`gui.controllers`, :mod:`gui.signature_controller`,
:mod:`gui.seal_reading`) that depend on the application state (:mod:`gui.state`) and the task
runner (:mod:`gui.tasks`), never on this window: every model run, image load, log query and log
write goes through the runner, off the GUI thread. Modes come from the registry (:mod:`gui.modes`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget

from gui import actions as window_actions
from gui import dialogs, i18n, modes
from gui.controllers.batch import BatchController
from gui.controllers.history import HistoryController
from gui.controllers.inputs import InputRouter
from gui.controllers.inspect import InspectController
from gui.controllers.logbook import LogController
from gui.controllers.packs import PacksController
from gui.controllers import seal_profiles
from gui.settings import Settings
from gui.state import TAB_HISTORY, TAB_INSPECT, AppState
from gui.tasks import TaskRunner
from gui.widgets.batch_view import BatchView
from gui.widgets.common import call_later, icon
from gui.widgets.history_view import HistoryView
from gui.widgets.inspect_page import InspectPage
from gui.widgets.status_labels import StatusLabels
from gui.widgets.toolbar import ModeToolbar
from gui.workers import Failure

log = logging.getLogger(__name__)


def no_pack_text(mode: str) -> str:
    return modes.no_pack_text(mode)


class MainWindow(QMainWindow):
    """The window an inspector lives in all day."""

    packs_changed = Signal()
    inspection_shown = Signal(object)   # Inspection
    batch_finished = Signal(object)     # BatchDone
    log_written = Signal(object)        # InspectionRecord

    def __init__(self, settings: Settings | None = None, *, auto_start: bool = True,
                 probe_camera: bool = True) -> None:
        super().__init__()
        self.settings = settings or Settings()
        if self.settings.threads:  # onnxruntime loads lazily: only a set count imports it now
            from inference.providers import set_threads

            set_threads(self.settings.threads)
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon("tilik"))
        self.setAcceptDrops(True)
        self.state = AppState(self.settings, self)
        self.runner = TaskRunner(self)
        self.runner.fallback_failure = self.report_failure
        self._started = False
        self._closing = False
        self._probe_camera = probe_camera
        self.last_error_dialog: Any = None

        self.act = window_actions.build(self, self._slots())
        for key, action in self.act.items():
            setattr(self, "act_" + key, action)  # act_open, act_heat, … (menus, tests)
        self.act_heat.blockSignals(True)
        self.act_heat.setChecked(True)
        self.act_heat.blockSignals(False)
        self.act_cancel.setEnabled(False)
        self.mode_actions = window_actions.build_modes(self, self.set_mode)
        self._build_menus()
        self._build_toolbar()
        self._build_tabs()
        self._build_controllers()
        self._build_status()
        self.retranslate()
        self._apply_mode_ui()
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1360, 860)
        if auto_start:
            # Packs and the log load once the window is on screen (first paint), or after 300 ms.
            call_later(self, 300, self.start)

    # ================================================================ building the window
    def _slots(self) -> dict[str, Any]:
        view = lambda: self.image_view  # noqa: E731 - built after the actions
        tab = lambda i: self.tabs.setCurrentIndex(i)  # noqa: E731
        return {
            "open": lambda: self.inputs.open_files_dialog(), "folder": lambda: self.inputs.open_folder_dialog(),
            "paste": self.paste, "capture": lambda: self.inputs.capture(),
            "camera": lambda: self.inputs.toggle_camera(),
            "prev": lambda: self.inspect.step(-1), "next": lambda: self.inspect.step(+1),
            "heat": lambda on: self.image_view.set_overlay_visible(on),
            "side": lambda on: self.image_view.set_side_by_side(on),
            "zoom_in": lambda: view().zoom_in(), "zoom_out": lambda: view().zoom_out(),
            "fit": lambda: view().fit(), "actual": lambda: view().actual_size(),
            "cancel": lambda: self.batch.cancel(), "card": self.show_model_card, "settings": self.show_settings,
            "reload": lambda: self.reload_packs(), "quit": self.close, "export_csv": self.export_csv_dialog,
            "export_pdf": self.export_pdf_dialog, "verify": self.verify_chain, "close_shift": self.close_shift,
            "find": lambda: self.history_ctl.focus_search(), "next_item": self.next_item,
            "confirm": lambda: self.history_ctl.review_shortcut("confirm"),
            "overturn": lambda: self.history_ctl.review_shortcut("overturn"),
            "escalate": lambda: self.history_ctl.review_shortcut("escalate"),
            "shortcuts": lambda: dialogs.shortcuts(self), "about": lambda: dialogs.about(self),
            "tab_inspect": lambda: tab(TAB_INSPECT), "tab_batch": lambda: tab(1), "tab_history": lambda: tab(2),
        }

    def _build_menus(self) -> None:
        bar = self.menuBar()
        a = self.act

        def menu(keys: list[str | None]) -> Any:
            m = bar.addMenu("")
            for k in keys:
                m.addSeparator() if k is None else m.addAction(a[k])
            return m

        self.menu_file = menu(["open", "folder", "paste", None, "export_csv", "export_pdf", None, "quit"])
        self.menu_view = menu(["tab_inspect", "tab_batch", "tab_history", None, "heat", "side", None, "zoom_in",
                               "zoom_out", "fit", "actual", None, "prev", "next"])
        self.menu_mode = bar.addMenu("")
        for act in self.mode_actions.values():
            self.menu_mode.addAction(act)
        self.menu_mode.addSeparator()
        self.menu_mode.addAction(a["card"])
        self.menu_mode.addAction(a["reload"])
        self.menu_inspect = menu(["next_item", "camera", "capture", "cancel", None, "confirm", "overturn", "escalate",
                                  None, "find", "verify", "close_shift", None, "settings"])
        self.menu_help = menu(["shortcuts", "card", "about"])

    def _build_toolbar(self) -> None:
        self.toolbar = ModeToolbar(self.mode_actions, [self.act_card, self.act_settings], self)
        self.addToolBar(self.toolbar)
        self.mode_label, self.mode_buttons = self.toolbar.mode_label, self.toolbar.mode_buttons
        self.pack_label, self.pack_combo = self.toolbar.pack_label, self.toolbar.pack_combo

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        page = InspectPage(self.act, self.settings.opacity, self.settings.colormap)
        self.inspect_page = page
        for name in ("skin_banner", "mode_banner", "input_panel", "heat_button", "opacity_label", "opacity",
                     "colormap", "side_button", "zoom_buttons", "prev_button", "next_button", "nav_label", "caption",
                     "image_view", "result_panel", "signature_view"):
            setattr(self, name, getattr(page, name))  # the widgets tests and screenshots look at
        self.inspect_splitter, self.inspect_center = page.splitter, page.center
        self.camera = page.input_panel.camera
        self.seal_form = page.input_panel.seal_form
        self.signature_panel = page.input_panel.signature_panel
        page.opacity.valueChanged.connect(self._opacity_changed)
        page.colormap.currentIndexChanged.connect(self._colormap_changed)
        self.camera.state_changed.connect(self._camera_state_changed)
        self.tabs.addTab(page, icon("inspect"), "")
        self.batch_view = BatchView()
        self.batch_view.setObjectName("batchView")
        self.tabs.addTab(self.batch_view, icon("batch"), "")
        self.history = HistoryView()
        self.history.setObjectName("historyView")
        self.history.export_csv_requested.connect(self.export_csv_dialog)
        self.history.export_pdf_requested.connect(self.export_pdf_dialog)
        self.tabs.addTab(self.history, icon("history"), "")
        self.tabs.currentChanged.connect(lambda i: self.history_ctl.tab_shown() if i == TAB_HISTORY else None)

    def _build_controllers(self) -> None:
        s, r = self.state, self.runner
        self.logbook = LogController(s, r, self)
        self.inspect = InspectController(s, r, self.logbook, self.inspect_page, self.act_heat.isChecked, self)
        self.inspectors = self.inspect.inspectors
        self.batch = BatchController(s, r, self.logbook, self.batch_view, self.inspect, self)
        self.history_ctl = HistoryController(s, r, self.logbook, self.history, self.inspect,
                                             lambda: self.tabs.currentIndex() == TAB_HISTORY, self)
        from gui.seal_reading import SealReadingController
        from gui.signature_controller import SignatureController

        self.signature = SignatureController(s, r, self.logbook, self.signature_panel, self.signature_view,
                                             self.camera, self.act_heat.toggled, self, self)
        self.seal_reading = SealReadingController(s, r, self.seal_form, self.result_panel, self.image_view,
                                                  self.inspect.record, self)  # issue 26: numbers off seal photos
        self.inspect.seal_reading = self.seal_reading
        self.packs = PacksController(s, r, self.pack_combo, lambda: (self.inspectors, self.signature.verifiers), self)
        self.packs.mode_applied.connect(self._mode_applied)
        self.packs.scanned.connect(self.packs_changed.emit)
        self.inputs = InputRouter(s, self.inspect, self.signature, self.batch, self.camera, self, self)
        s.inspectors, s.camera = self.inspectors, self.camera  # what side panels' controllers may use
        seal_profiles.register()  # issue 25: Seal mode's profiles panel (gui/controllers/seal_profiles.py)
        self.side_controllers: dict[str, Any] = {}
        for mode in modes.ids():
            for panel in modes.spec(mode).side_panels:  # e.g. seal profiles: a panel and its controller
                widget = panel.make_widget()
                self.inspect_page.add_side_panel(panel.key, mode, widget, panel.title)
                if panel.make_controller is not None:
                    self.side_controllers[panel.key] = panel.make_controller(s, r, widget)
        s.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        s.failure.connect(self.report_failure)
        s.show_tab.connect(self.tabs.setCurrentIndex)
        s.log_changed.connect(lambda _log: self._update_status_labels())
        s.provider_changed.connect(lambda _p: self._update_status_labels())
        s.chain_changed.connect(lambda _s: self._update_status_labels())
        s.log_written.connect(lambda record: self.log_written.emit(record) if record is not None else None)
        self.inspect.inspection_shown.connect(self.inspection_shown.emit)
        self.inspect.nav_changed.connect(self._nav_changed)
        self.batch.finished.connect(self.batch_finished.emit)
        self.batch.running_changed.connect(self.act_cancel.setEnabled)
        self.logbook.shift_closed.connect(self._shift_closed)

    def _build_status(self) -> None:
        self.status = StatusLabels(self.statusBar())
        self.status_operator, self.status_pack = self.status.operator, self.status.pack
        self.status_provider, self.status_chain = self.status.provider, self.status.chain

    # ================================================================ state, as tests and tools read it
    log = property(lambda self: self.state.log)
    pack = property(lambda self: self.state.pack)
    mode = property(lambda self: self.state.mode)
    packs_loaded = property(lambda self: self.state.packs_loaded)
    chain_status = property(lambda self: self.state.chain_status)
    log_problem = property(lambda self: self.state.log_problem)
    current = property(lambda self: self.inspect.current)
    session = property(lambda self: self.inspect.session)
    _provider_text = property(lambda self: self.state.provider_text)

    @property
    def session_pos(self) -> int:
        return self.inspect.session_pos

    @session_pos.setter
    def session_pos(self, pos: int) -> None:
        self.inspect.session_pos = pos
        self.inspect.update_nav()

    def usable_packs(self, mode: str) -> list[Any]:
        return self.state.usable_packs(mode)

    def unusable_reason(self, mode: str) -> str | None:
        return self.state.unusable_reason(mode)

    def reviewer_name(self) -> str:
        return self.state.operator()

    def mode_available(self) -> bool:
        return self.state.mode_available()

    # ================================================================ text
    def retranslate(self) -> None:
        if hasattr(self, "packs"):
            self.packs.retranslate()
        self.setWindowTitle(self.tr("Tilik — offline inspection"))
        window_actions.retranslate(self.act, self.mode_actions, self._next_item_text())
        for menu, title in ((self.menu_file, self.tr("&File")), (self.menu_view, self.tr("&View")),
                            (self.menu_mode, self.tr("&Mode")), (self.menu_inspect, self.tr("&Tools")),
                            (self.menu_help, self.tr("&Help"))):
            menu.setTitle(title)
        self.toolbar.retranslate()
        for i, (name, tip) in enumerate(((self.tr("Inspect"), self.tr("One image at a time (F2)")),
                                         (self.tr("Batch"), self.tr("Many images at once (F3)")),
                                         (self.tr("History"), self.tr("The inspection log (F4)")))):
            self.tabs.setTabText(i, name)
            self.tabs.setTabToolTip(i, tip)
        self.inspect_page.retranslate()
        for mode in modes.ids():
            for panel in modes.spec(mode).side_panels:
                self.inspect_page.set_side_title(panel.key, panel.title)
        self._update_status_labels()
        self._apply_mode_ui()
        self.inspect.update_nav()
        self.inspect.update_caption()
        if self.inspect.current is not None:
            self.inspect.show_record_note(self.inspect.current)

    def _next_item_text(self) -> str:
        form = modes.spec(self.mode).form
        if form == "seal":
            return self.tr("Ne&xt seal")
        if form == "signature":
            return self.tr("Ne&xt document")
        return self.tr("Ne&xt item")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ================================================================ start-up, packs and the log
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not getattr(self, "_started", True):
            call_later(self, 0, self.start)
        return super().event(event)

    def start(self) -> None:
        """Scan the packs (in a worker) and open the inspection log. Called once after showing."""
        if self._started:
            return
        self._started = True
        self.reload_packs()
        self.logbook.open_log()
        self._update_status_labels()
        if self._probe_camera:
            call_later(self.camera, 1500, self.camera.probe)

    def reload_packs(self) -> None:
        self.status_pack.setText(self.tr("Looking for model packs…"))
        self.packs.reload()

    def verify_chain(self, check_files: bool = True) -> None:
        self.logbook.verify_chain(check_files)

    def close_shift(self) -> bool:
        return self.logbook.close_shift()

    def _shift_closed(self, closure: Any) -> None:
        self.statusBar().clearMessage()
        box = dialogs.shift_closed(self, closure)
        if box is not None:
            self.last_shift_closure = closure

    def _update_status_labels(self) -> None:
        text = self.logbook.chain_text()
        self.status.update(self.state, text, self.logbook.chain_tooltip())
        self.history.set_chain_status(self.state.chain_status, text)

    # ================================================================ modes and packs
    def set_mode(self, mode: str, force: bool = False) -> None:
        self.packs.set_mode(mode, force)

    def _mode_applied(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)  # the action group unchecks the others
        self.inspect.mode_changed(mode)
        self.act_next_item.setText(self._next_item_text())
        self._update_status_labels()
        self._apply_mode_ui()

    def _apply_mode_ui(self) -> None:
        if not hasattr(self, "signature"):
            return
        spec = modes.spec(self.mode or "general")
        reason = self.unusable_reason(spec.id) if self.packs_loaded else None
        signature = spec.controller == "signature"
        self.inspect_page.apply_mode(spec.id, spec.banner, reason, signature)
        if signature:
            self.signature.apply_mode(reason)
        available = self.mode_available()
        for act in (self.act_open, self.act_folder, self.act_paste):
            act.setEnabled(available and not (act is self.act_folder and not spec.batch))
        self.act_card.setEnabled(self.pack is not None)
        self.act_next_item.setEnabled(bool(spec.form))
        self._camera_state_changed()

    def _nav_changed(self) -> None:
        self.act_prev.setEnabled(self.inspect.can_prev)
        self.act_next.setEnabled(self.inspect.can_next)

    def is_ready(self) -> bool:
        """Packs scanned, the current pack's model loaded (or refused) and the log opened (or refused)."""
        s = self.state
        pack_ready = s.pack is None or bool(s.provider_text) or str(s.pack.folder) in s.pack_problems
        return self._started and s.packs_loaded and pack_ready and not s.log_opening

    def is_busy(self) -> bool:
        """True while any request is out (tests and measurements wait on this)."""
        return self.runner.busy() or self.batch.queued() or self.logbook.waiting() or self.history.pending()

    # ================================================================ inputs
    def open_paths(self, items: list[Path]) -> None:
        self.inputs.open_paths(items)

    def paste(self) -> None:
        self.inputs.paste()

    def inspect_source(self, source: Any, name: str, origin: str) -> Any:
        return self.inputs.inspect_source(source, name, origin)

    def next_item(self) -> None:
        """Next seal / next document: clear the per-item fields, keep the station's."""
        form = modes.spec(self.mode).form
        if form == "seal":
            self.seal_reading.release()
            self.seal_form.clear_item()
        elif form == "signature":
            self.signature_panel.clear_item()
        elif form == "skin":
            self.input_panel.skin_form.clear_item()
        self.inspect.clear_display()
        self.statusBar().showMessage(self.tr("Ready for the next one: the per-item fields are cleared."), 5000)

    def _camera_captured(self, image: QImage) -> None:
        self.inputs.inspect_source(image, self.tr("camera capture"), "camera")

    def _camera_state_changed(self) -> None:
        self.act_capture.setEnabled(self.camera.is_running() and self.mode_available())

    def _opacity_changed(self, value: int) -> None:
        self.image_view.set_opacity(value / 100)
        self.settings.opacity = value
        self.opacity.setToolTip(self.tr("Heatmap opacity: {n}%").format(n=value))

    def _colormap_changed(self, _index: int) -> None:
        self.image_view.set_colormap(self.inspect_page.colormap_name())
        self.settings.colormap = self.inspect_page.colormap_name()

    # ================================================================ export and dialogs
    def export_csv_dialog(self) -> None:
        self.history_ctl.export_dialog("csv")

    def export_pdf_dialog(self) -> None:
        self.history_ctl.export_dialog("pdf")

    def export_csv(self, path: Path) -> Any:
        return self.history_ctl.export_csv(path)

    def export_pdf(self, path: Path) -> Any:
        return self.history_ctl.export_pdf(path)

    def show_model_card(self) -> None:
        if self.pack is not None:
            self.model_card_dialog = dialogs.model_card(self, self.pack)

    def show_settings(self) -> Any:
        dialog = dialogs.settings_dialog(self, self.state)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.apply()))
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def apply_settings(self, changed: dict[str, Any]) -> None:
        """React to what the settings dialog changed."""
        if "language" in changed:
            i18n.manager().install(changed["language"])
        self.packs.apply_settings(changed)
        if "db_path" in changed:
            self.logbook.open_log()
        self._update_status_labels()

    def report_failure(self, failure: Failure) -> Any:
        return dialogs.report_failure(self, failure)

    def report_exception(self, error: BaseException, trace: str | None = None) -> Any:
        return dialogs.report_exception(self, error, trace)

    # ================================================================ drag and drop
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        md = event.mimeData()
        if self.mode_available() and (md.hasImage() or any(u.isLocalFile() for u in md.urls())):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self.inputs.drop(event.mimeData()):
            event.acceptProposedAction()

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the camera, cancel the batch, wait for running work, write what is queued, close the log."""
        if self._closing:
            return
        self.camera.stop()
        self.batch.stop()
        self.runner.shutdown(timeout_ms)
        QCoreApplication.processEvents()  # deliver the last batch rows so they are logged
        self.seal_reading.release()  # a seal inspection awaiting confirmation is recorded, unconfirmed
        self._closing = True
        self.runner.closing = True
        self.batch.drain()
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.logbook.close(timeout_ms)  # every row asked for is written before the log closes
        for w in QApplication.topLevelWidgets():
            if w is not self and w.parent() is self and w.isVisible():
                w.close()
