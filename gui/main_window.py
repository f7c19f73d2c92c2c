"""The main window: modes and packs, inputs, the verdict, batches, history, settings.

Threading: every model run (and pack scan, image load, chain check, export) is a QRunnable on
``self.pool``; results come back through ``self.hub`` in the GUI thread, tagged with a request id.
Answers to superseded requests are dropped. The GUI thread alone decides what goes into the
inspection log, and in which order, but never waits for it: the writes run, in the order asked, on
``self.log_pool`` (one thread). A write flushes files and the database to disk, which takes from
a few ms to a few hundred on a busy disk; a batch's rows go a group at a time (files flushed
together, one transaction per group). The workers prepare everything else that is slow: the
picture converted for display, the heatmap shrunk and coloured.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QSizePolicy, QSlider, QSplitter, QTabWidget, QToolBar, QToolButton,
                               QVBoxLayout, QWidget)

from gui import i18n
from gui.settings import MODES, Settings
from gui.widgets.batch_view import BatchView
from gui.widgets.common import Banner, call_later, elide_middle, icon
from gui.widgets.history_view import HistoryView, mode_name
from gui.widgets.image_view import ImageView
from gui.widgets.input_panel import InputPanel
from gui.widgets.result_panel import ResultPanel
from gui.widgets.signature_view import SignatureView
from gui.workers import (BatchDone, BatchProgress, BatchRow, BatchTask, CallTask, ClassifyTask, Failure, Inspection,
                         InspectorCache, LoadImageTask, WorkerHub, make_pool, record_one, record_rows)
from inference import paths
from inference.errors import TilikError

log = logging.getLogger(__name__)

MODE_ICONS = {"seal": "seal", "signature": "signature", "skin": "skin", "general": "general"}
SESSION_LIMIT = 50        # results kept for previous/next
SESSION_IMAGES = 10       # of which this many keep their picture in memory
LOG_JOB_ROWS = 256        # batch rows handed to the log thread in one job at most
COLORMAP_NAMES = ("turbo", "jet", "gray")


def scan_packs(folders: list[tuple[Path, str]]) -> list[Any]:
    """Every pack in ``folders`` (runs in a worker: it hashes every model file)."""
    from inference.registry import PackRegistry

    return PackRegistry(folders).all()


def no_pack_text(mode: str) -> str:
    return {
        "seal": QCoreApplication.translate("MainWindow", "No seal pack installed"),
        "signature": QCoreApplication.translate("MainWindow", "Signature verification pack not installed"),
        "skin": QCoreApplication.translate("MainWindow", "No skin-lesion pack installed"),
        "general": QCoreApplication.translate("MainWindow", "No general (ImageNet) pack installed"),
    }[mode]


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
        self.hub = WorkerHub(self)
        self.pool = make_pool(2)
        self.log_pool = make_pool(1)  # the log's writes, one at a time, in the order submitted
        self.log_pool.setObjectName("tilik-log")
        self.inspectors = InspectorCache()
        self._ids = itertools.count(1)
        self._handlers: dict[int, tuple[Callable[[Any], None], Callable[[Failure], None]]] = {}
        self._request_seals: dict[int, dict[str, Any]] = {}
        self.answering = 0  # the request whose answer is being handled
        self.hub.finished.connect(self._on_finished)
        self.hub.failed.connect(self._on_failed)
        self.hub.progress.connect(self._on_progress)

        self.all_packs: list[Any] = []
        self.packs_loaded = False
        self.pack_problems: dict[str, str] = {}  # pack folder → why it cannot run (found when loading)
        self.mode: str = self.settings.last_mode or ""
        self.pack: Any = None
        self.log: Any = None
        self.log_problem = ""
        self.chain_status: Any = None
        self._inspect_rid = 0
        self._live_rid = 0
        self._prepare_rid = 0
        self._batch_rid = 0
        self._batch_task: BatchTask | None = None
        self._batch_mode = "general"
        self.session: list[Inspection] = []
        self.session_pos = -1
        self.current: Inspection | None = None
        self._log_queue: deque[tuple[BatchRow, str]] = deque()
        self._log_timer = QTimer(self)
        self._log_timer.setSingleShot(True)
        self._log_timer.setInterval(0)
        self._log_timer.timeout.connect(self._drain_log_queue)
        self._history_dirty = True
        self._closing = False
        self._probe_camera = probe_camera
        self._chain_timer = QTimer(self)
        self._chain_timer.setSingleShot(True)
        self._chain_timer.setInterval(1000)
        self._chain_timer.timeout.connect(lambda: self.verify_chain(check_files=False))
        self._chain_rid = 0
        self._log_opening = False
        self._waiting_for_log: list[tuple[Inspection, str, Any]] = []
        self._chain_time = ""
        self.last_error_dialog: QMessageBox | None = None

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        from gui.signature_controller import SignatureController

        self.signature = SignatureController(self)
        from gui.seal_reading import SealReadingController

        self.seal_reading = SealReadingController(self)  # issue 26: numbers read off seal photos
        self._build_status()
        self.retranslate()
        self._apply_mode_ui()
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1360, 860)
        self._started = False
        if auto_start:
            # Packs and the log load once the window is on screen (first paint), or after 300 ms.
            call_later(self, 300, self.start)

    # ================================================================ building the window
    def _action(self, name: str, slot: Callable[..., Any], shortcut: Any = None, icon_name: str | None = None,
                checkable: bool = False) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("actOpen", self.open_files_dialog, QKeySequence.StandardKey.Open, "open")
        self.act_folder = A("actFolder", self.open_folder_dialog, "Ctrl+Shift+O", "folder")
        self.act_paste = A("actPaste", self.paste, QKeySequence.StandardKey.Paste, "paste")
        self.act_capture = A("actCapture", self.capture, "Space", "capture")
        self.act_camera = A("actCamera", self.toggle_camera, "Ctrl+K", "camera")
        self.act_prev = A("actPrev", self.previous_result, ["Alt+Left", "Ctrl+PgUp"], "prev")
        self.act_next = A("actNext", self.next_result, ["Alt+Right", "Ctrl+PgDown"], "next")
        self.act_heat = A("actHeat", self.set_heatmap_visible, "H", "heatmap", checkable=True)
        self.act_heat.blockSignals(True)
        self.act_heat.setChecked(True)
        self.act_heat.blockSignals(False)
        self.act_side = A("actSide", self.set_side_by_side, "S", "side_by_side", checkable=True)
        self.act_zoom_in = A("actZoomIn", lambda: self.image_view.zoom_in(), QKeySequence.StandardKey.ZoomIn, "zoom_in")
        self.act_zoom_out = A("actZoomOut", lambda: self.image_view.zoom_out(), QKeySequence.StandardKey.ZoomOut,
                              "zoom_out")
        self.act_fit = A("actFit", lambda: self.image_view.fit(), "Ctrl+0", "zoom_fit")
        self.act_actual = A("actActual", lambda: self.image_view.actual_size(), "Ctrl+1", "zoom_100")
        self.act_cancel = A("actCancel", self.cancel_batch, "Esc", "cancel")
        self.act_cancel.setEnabled(False)
        self.act_card = A("actCard", self.show_model_card, "Ctrl+I", "card")
        self.act_settings = A("actSettings", self.show_settings, QKeySequence.StandardKey.Preferences, "settings")
        if self.act_settings.shortcut().isEmpty():
            self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_reload = A("actReload", self.reload_packs, QKeySequence.StandardKey.Refresh)
        self.act_quit = A("actQuit", self.close, QKeySequence.StandardKey.Quit)
        self.act_export_csv = A("actExportCsv", self.export_csv_dialog, "Ctrl+E", "export")
        self.act_export_pdf = A("actExportPdf", self.export_pdf_dialog, "Ctrl+Shift+E", "export")
        self.act_verify = A("actVerify", self.verify_chain, None, "verify")
        self.act_close_shift = A("actCloseShift", self.close_shift, None, "verify")
        self.act_find = A("actFind", self.focus_history_search, QKeySequence.StandardKey.Find)
        self.act_confirm = A("actConfirm", lambda: self._review_shortcut("confirm"), "Alt+C", "confirm")
        self.act_overturn = A("actOverturn", lambda: self._review_shortcut("overturn"), "Alt+X", "overturn")
        self.act_escalate = A("actEscalate", lambda: self._review_shortcut("escalate"), "Alt+E", "escalate")
        self.act_shortcuts = A("actShortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.act_about = A("actAbout", self.show_about)
        self.act_tab_inspect = A("actTabInspect", lambda: self.tabs.setCurrentIndex(0), "F2", "inspect")
        self.act_tab_batch = A("actTabBatch", lambda: self.tabs.setCurrentIndex(1), "F3", "batch")
        self.act_tab_history = A("actTabHistory", lambda: self.tabs.setCurrentIndex(2), "F4", "history")
        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for i, mode in enumerate(MODES):
            act = QAction(icon(MODE_ICONS[mode]), "", self)
            act.setObjectName(f"actMode_{mode}")
            act.setCheckable(True)
            act.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            act.triggered.connect(lambda _c=False, m=mode: self.set_mode(m))
            group.addAction(act)
            self.addAction(act)
            self.mode_actions[mode] = act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = bar.addMenu("")
        for a in (self.act_open, self.act_folder, self.act_paste, None, self.act_export_csv, self.act_export_pdf,
                  None, self.act_quit):
            self.menu_file.addSeparator() if a is None else self.menu_file.addAction(a)
        self.menu_view = bar.addMenu("")
        for a in (self.act_tab_inspect, self.act_tab_batch, self.act_tab_history, None, self.act_heat, self.act_side,
                  None, self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual, None, self.act_prev,
                  self.act_next):
            self.menu_view.addSeparator() if a is None else self.menu_view.addAction(a)
        self.menu_mode = bar.addMenu("")
        for act in self.mode_actions.values():
            self.menu_mode.addAction(act)
        self.menu_mode.addSeparator()
        self.menu_mode.addAction(self.act_card)
        self.menu_mode.addAction(self.act_reload)
        self.menu_inspect = bar.addMenu("")
        for a in (self.act_camera, self.act_capture, self.act_cancel, None, self.act_confirm, self.act_overturn,
                  self.act_escalate, None, self.act_find, self.act_verify, self.act_close_shift, None,
                  self.act_settings):
            self.menu_inspect.addSeparator() if a is None else self.menu_inspect.addAction(a)
        self.menu_help = bar.addMenu("")
        self.menu_help.addAction(self.act_shortcuts)
        self.menu_help.addAction(self.act_card)
        self.menu_help.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar(self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(22, 22))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        self.toolbar = tb
        self.mode_label = QLabel()
        self.mode_label.setContentsMargins(6, 0, 6, 0)
        tb.addWidget(self.mode_label)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode in MODES:
            b = QToolButton()
            b.setObjectName(f"mode_{mode}")
            b.setDefaultAction(self.mode_actions[mode])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.mode_buttons[mode] = b
            tb.addWidget(b)
        tb.addSeparator()
        self.pack_label = QLabel()
        self.pack_label.setContentsMargins(6, 0, 4, 0)
        tb.addWidget(self.pack_label)
        self.pack_combo = QComboBox()
        self.pack_combo.setObjectName("packCombo")
        self.pack_combo.setMinimumWidth(240)
        self.pack_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.pack_combo.currentIndexChanged.connect(self._pack_combo_changed)
        self.pack_label.setBuddy(self.pack_combo)
        tb.addWidget(self.pack_combo)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.act_card)
        tb.addAction(self.act_settings)

    def _build_central(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        # -- Inspect ------------------------------------------------------------------------------
        inspect = QWidget()
        il = QVBoxLayout(inspect)
        il.setContentsMargins(6, 6, 6, 6)
        self.skin_banner = Banner("medical")
        self.skin_banner.setObjectName("skinBanner")
        il.addWidget(self.skin_banner)
        self.mode_banner = Banner("error")
        self.mode_banner.setObjectName("modeBanner")
        il.addWidget(self.mode_banner)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.inspect_splitter = split
        self.input_panel = InputPanel(self.act_open, self.act_folder, self.act_paste)
        self.camera = self.input_panel.camera
        self.seal_form = self.input_panel.seal_form
        self.signature_panel = self.input_panel.signature_panel
        self.camera.captured.connect(self._camera_captured)
        self.camera.live_frame.connect(self._camera_live_frame)
        self.camera.state_changed.connect(self._camera_state_changed)
        split.addWidget(self.input_panel)

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(4)
        heat_bar = QHBoxLayout()
        heat_bar.setSpacing(4)
        self.heat_button = QToolButton()
        self.heat_button.setObjectName("heatToggle")
        self.heat_button.setDefaultAction(self.act_heat)
        self.heat_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        heat_bar.addWidget(self.heat_button)
        self.opacity_label = QLabel()
        heat_bar.addWidget(self.opacity_label)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setMaximumWidth(160)
        self.opacity.setValue(self.settings.opacity)
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.opacity_label.setBuddy(self.opacity)
        heat_bar.addWidget(self.opacity)
        self.colormap = QComboBox()
        self.colormap.setObjectName("colormapCombo")
        for _ in COLORMAP_NAMES:
            self.colormap.addItem("")
        self.colormap.setCurrentIndex(max(0, COLORMAP_NAMES.index(self.settings.colormap)
                                          if self.settings.colormap in COLORMAP_NAMES else 0))
        self.colormap.currentIndexChanged.connect(self._colormap_changed)
        heat_bar.addWidget(self.colormap)
        self.side_button = QToolButton()
        self.side_button.setObjectName("sideBySide")
        self.side_button.setDefaultAction(self.act_side)
        heat_bar.addWidget(self.side_button)
        heat_bar.addSpacing(12)
        self.zoom_buttons = []
        for act in (self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_actual):
            b = QToolButton()
            b.setDefaultAction(act)
            heat_bar.addWidget(b)
            self.zoom_buttons.append(b)
        heat_bar.addStretch(1)
        self.prev_button = QToolButton()
        self.prev_button.setDefaultAction(self.act_prev)
        self.next_button = QToolButton()
        self.next_button.setDefaultAction(self.act_next)
        self.nav_label = QLabel()
        self.nav_label.setObjectName("navLabel")
        self.nav_label.setMinimumWidth(60)
        self.nav_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heat_bar.addWidget(self.prev_button)
        heat_bar.addWidget(self.nav_label)
        heat_bar.addWidget(self.next_button)
        cl.addLayout(heat_bar)
        self.caption = QLabel()
        self.caption.setObjectName("caption")
        self.caption.setStyleSheet("color: #546e7a;")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long path or note must not widen the window and push the result panel off screen: the
        # label is clipped instead (the full text is in its tooltip).
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        cl.addWidget(self.caption)
        self.image_view = ImageView()
        self.image_view.setObjectName("imageView")
        self.image_view.set_opacity(self.settings.opacity / 100)
        self.image_view.set_colormap(self.colormap_name())
        cl.addWidget(self.image_view, 1)
        split.addWidget(center)
        self.inspect_center = center

        self.result_panel = ResultPanel()
        self.result_panel.setObjectName("resultPanel")
        split.addWidget(self.result_panel)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        self.signature_view = SignatureView()  # replaces the centre and the result panel in Signature mode
        self.signature_view.setObjectName("signatureView")
        self.signature_view.hide()
        split.addWidget(self.signature_view)
        split.setStretchFactor(3, 1)
        split.setSizes([300, 720, 340, 1060])
        il.addWidget(split, 1)
        self.tabs.addTab(inspect, icon("inspect"), "")

        # -- Batch --------------------------------------------------------------------------------
        self.batch_view = BatchView()
        self.batch_view.setObjectName("batchView")
        self.batch_view.row_opened.connect(self.open_batch_row)
        self.batch_view.cancel_requested.connect(self.cancel_batch)
        self.tabs.addTab(self.batch_view, icon("batch"), "")

        # -- History ------------------------------------------------------------------------------
        self.history = HistoryView()
        self.history.setObjectName("historyView")
        self.history.reviewer = self.reviewer_name
        self.history.load_image = self._load_image_async
        self.history.report_error = self.report_exception
        self.history.labels_for_pack = self._labels_for_pack
        self.history.export_csv_requested.connect(self.export_csv_dialog)
        self.history.export_pdf_requested.connect(self.export_pdf_dialog)
        self.history.verify_requested.connect(self.verify_chain)
        self.history.reviewed.connect(self._review_saved)
        self.tabs.addTab(self.history, icon("history"), "")
        self.tabs.currentChanged.connect(self._tab_changed)

        QWidget.setTabOrder(self.input_panel, self.heat_button)
        QWidget.setTabOrder(self.heat_button, self.opacity)
        QWidget.setTabOrder(self.opacity, self.colormap)
        QWidget.setTabOrder(self.colormap, self.side_button)
        QWidget.setTabOrder(self.side_button, self.image_view)
        QWidget.setTabOrder(self.image_view, self.result_panel)

    def _build_status(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("statusBar")
        self.status_pack = QLabel()
        self.status_pack.setObjectName("statusPack")
        self.status_provider = QLabel()
        self.status_provider.setObjectName("statusProvider")
        self.status_chain = QLabel()
        self.status_chain.setObjectName("statusChain")
        self.status_operator = QLabel()
        self.status_operator.setObjectName("statusOperator")
        for w in (self.status_operator, self.status_pack, self.status_provider, self.status_chain):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self._provider_text = ""

    # ================================================================ text (English + translations)
    @staticmethod
    def _pack_title(pack: Any) -> str:
        """The pack's name in the app's language (the manifest's words) and its version."""
        from gui import wording

        return f"{wording.pack_word(pack.id, 'name', '', pack.manifest.name)} — {pack.version}"

    def retranslate(self) -> None:
        combo = getattr(self, "pack_combo", None)
        for i in range(combo.count() if combo is not None and hasattr(self, "all_packs") else 0):
            # pack names are per-language data in the manifest
            pack = next((p for p in self.usable_packs(self.mode) if p.id == self.pack_combo.itemData(i)), None)
            if pack is not None:
                self.pack_combo.setItemText(i, self._pack_title(pack))
        self.setWindowTitle(self.tr("Tilik — offline inspection"))
        texts = {
            self.act_open: (self.tr("&Open images…"), self.tr("Open one image to inspect, or several for a batch (Ctrl+O)")),
            self.act_folder: (self.tr("Open &folder…"), self.tr("Inspect every image in a folder (Ctrl+Shift+O)")),
            self.act_paste: (self.tr("&Paste image"), self.tr("Inspect the image on the clipboard (Ctrl+V)")),
            self.act_capture: (self.tr("&Capture"), self.tr("Inspect the current camera picture (Space)")),
            self.act_camera: (self.tr("Start/stop &camera"), self.tr("Turn the camera on or off (Ctrl+K)")),
            self.act_prev: (self.tr("&Previous result"), self.tr("Previous result (Alt+Left)")),
            self.act_next: (self.tr("&Next result"), self.tr("Next result (Alt+Right)")),
            self.act_heat: (self.tr("&Heatmap"), self.tr("Show where the model looked (H)")),
            self.act_side: (self.tr("&Side by side"), self.tr("Show the photo and the heatmap next to each other (S)")),
            self.act_zoom_in: (self.tr("Zoom &in"), self.tr("Zoom in (Ctrl++, or the mouse wheel)")),
            self.act_zoom_out: (self.tr("Zoom &out"), self.tr("Zoom out (Ctrl+-, or the mouse wheel)")),
            self.act_fit: (self.tr("&Fit to window"), self.tr("Fit the image to the window (Ctrl+0)")),
            self.act_actual: (self.tr("&Actual size"), self.tr("Show the image at 100% (Ctrl+1)")),
            self.act_cancel: (self.tr("Cancel &batch"), self.tr("Stop the running batch (Esc)")),
            self.act_card: (self.tr("&Model card…"), self.tr("What this model is, how well it works and its limits "
                                                    "(Ctrl+I)")),
            self.act_settings: (self.tr("&Settings…"), self.tr("Your name, language, storage, packs (Ctrl+,)")),
            self.act_reload: (self.tr("&Reload packs"), self.tr("Look for new or changed model packs (F5)")),
            self.act_quit: (self.tr("&Quit"), self.tr("Close Tilik (Ctrl+Q)")),
            self.act_export_csv: (self.tr("Export history as &CSV…"), self.tr("Export the inspections matching the "
                                                                     "history filter (Ctrl+E)")),
            self.act_export_pdf: (self.tr("Export history as P&DF…"), self.tr("A PDF report of the inspections "
                                                                      "matching the history filter")),
            self.act_verify: (self.tr("&Verify log chain"), self.tr("Check that no record in the log was changed")),
            self.act_close_shift: (self.tr("C&lose shift…"), self.tr("Verify the log and note its signed head, to "
                                                                 "print or send elsewhere")),
            self.act_find: (self.tr("&Search history"), self.tr("Search the inspection log (Ctrl+F)")),
            self.act_confirm: (self.tr("Review: c&onfirm"), self.tr("The selected verdict is right (Alt+C)")),
            self.act_overturn: (self.tr("Review: o&verturn"), self.tr("The selected verdict is wrong (Alt+X)")),
            self.act_escalate: (self.tr("Review: &escalate"), self.tr("Pass the selected inspection on (Alt+E)")),
            self.act_shortcuts: (self.tr("&Keyboard shortcuts"), self.tr("Every shortcut (F1)")),
            self.act_about: (self.tr("&About Tilik"), ""),
            self.act_tab_inspect: (self.tr("&Inspect"), self.tr("Inspect tab (F2)")),
            self.act_tab_batch: (self.tr("&Batch"), self.tr("Batch tab (F3)")),
            self.act_tab_history: (self.tr("Hi&story"), self.tr("History tab (F4)")),
        }
        for action, (text, tip) in texts.items():
            action.setText(text)
            action.setToolTip(tip or text.replace("&", ""))
            action.setStatusTip(tip)
        for i, mode in enumerate(MODES):
            act = self.mode_actions[mode]
            act.setText(mode_name(mode))
            act.setToolTip(self.tr("{mode} mode (Alt+{n})").format(mode=mode_name(mode), n=i + 1))
        self.menu_file.setTitle(self.tr("&File"))
        self.menu_view.setTitle(self.tr("&View"))
        self.menu_mode.setTitle(self.tr("&Mode"))
        self.menu_inspect.setTitle(self.tr("&Tools"))
        self.menu_help.setTitle(self.tr("&Help"))
        self.mode_label.setText(self.tr("Mode:"))
        self.pack_label.setText(self.tr("&Pack:"))
        self.pack_combo.setToolTip(self.tr("The model pack used for this mode"))
        self.tabs.setTabText(0, self.tr("Inspect"))
        self.tabs.setTabText(1, self.tr("Batch"))
        self.tabs.setTabText(2, self.tr("History"))
        self.tabs.setTabToolTip(0, self.tr("One image at a time (F2)"))
        self.tabs.setTabToolTip(1, self.tr("Many images at once (F3)"))
        self.tabs.setTabToolTip(2, self.tr("The inspection log (F4)"))
        self.opacity_label.setText(self.tr("&Opacity"))
        self.opacity.setToolTip(self.tr("Heatmap opacity: {n}%").format(n=self.opacity.value()))
        for i, text in enumerate((self.tr("Turbo colours"), self.tr("Jet colours"), self.tr("Grey"))):
            self.colormap.setItemText(i, text)
        self.colormap.setToolTip(self.tr("Heatmap colours"))
        self.skin_banner.set_text(self.tr("Decision support only — not a diagnosis. Tilik can be wrong; a doctor "
                                      "must examine any lesion that worries you or the patient."))
        self.image_view.placeholder = self.tr("Drop images or folders here, press Ctrl+O to open, Ctrl+V to paste, "
                                          "or start the camera.")
        self.image_view.setToolTip(self.tr("Mouse wheel or +/− to zoom, drag to pan, 0 to fit"))
        self.image_view.viewport().update()
        self._update_status_labels()
        self._apply_mode_ui()
        self._update_nav()
        self._update_caption()
        if self.current is not None:
            self._show_record_note(self.current)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ================================================================ start-up, packs and the log
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._started and hasattr(self, "_started"):
            call_later(self, 0, self.start)
        return super().event(event)

    def start(self) -> None:
        """Scan the packs (in a worker) and open the inspection log. Called once after showing."""
        if self._started:
            return
        self._started = True
        self.reload_packs()
        self.open_log()
        if self._probe_camera:
            call_later(self.camera, 1500, self.camera.probe)

    def pack_folders(self) -> list[tuple[Path, str]]:
        user = Path(self.settings.packs_dir) if self.settings.packs_dir else paths.user_packs_dir()
        return [(paths.bundled_models_dir(), "bundled"), (user, "user")]

    def reload_packs(self) -> None:
        self.status_pack.setText(self.tr("Looking for model packs…"))
        self._submit(CallTask, scan_packs, self.pack_folders(), on_ok=self._packs_scanned,
                     on_fail=self._packs_scan_failed)

    def _packs_scanned(self, packs: list[Any]) -> None:
        self.all_packs = packs
        self.packs_loaded = True
        self.inspectors.clear()
        self.signature.verifiers.clear()
        if not self.mode:  # first start: the first mode that has a pack (a remembered mode stays, and says why)
            self.mode = next((m for m in (self.mode, "seal", "skin", "general", "signature")
                              if m and self.usable_packs(m) and self._classifiable(m)), self.mode or "general")
        self.set_mode(self.mode, force=True)
        self.packs_changed.emit()

    def _packs_scan_failed(self, failure: Failure) -> None:
        self.packs_loaded = True
        self.report_failure(failure)
        self.set_mode(self.mode or "general", force=True)

    def usable_packs(self, mode: str) -> list[Any]:
        """Usable packs of ``mode``, one per id, chosen as the CLI chooses them (a user pack replaces
        a bundled one only with a strictly higher release: inference.registry.preferred)."""
        from inference.registry import preferred

        return [p for p in preferred(p for p in self.all_packs if str(p.folder) not in self.pack_problems)
                if p.manifest.mode == mode]

    def _classifiable(self, mode: str) -> bool:
        return True  # signature mode verifies (gui/signature_controller.py) instead of classifying

    def unusable_reason(self, mode: str) -> str | None:
        """Why ``mode`` cannot be used now, in words (None when it can)."""
        if not self.packs_loaded:
            return None
        usable = self.usable_packs(mode)
        if usable:
            return None
        broken = []
        for pack in self.all_packs:
            guess = pack.manifest.mode if pack.manifest is not None else (
                mode if mode in pack.folder.name or (mode == "general" and "imagenet" in pack.folder.name) else None)
            if guess != mode:
                continue
            problem = self.pack_problems.get(str(pack.folder)) or pack.problem
            if problem:
                broken.append(self.tr("The pack '{id}' cannot be used: {reason}").format(id=pack.id, reason=problem))
        if broken:
            return no_pack_text(mode) + ". " + " ".join(broken)
        return no_pack_text(mode)

    def open_log(self) -> None:
        """Open (create, upgrade) the inspection log in a worker; results wait for it meanwhile."""
        if self.log is not None:
            self.log_pool.waitForDone()  # what was asked of the old log is written to it first
            self.history.set_log(None)
            try:
                self.log.close()
            except Exception:  # noqa: BLE001
                pass
            self.log = None
        self._log_opening = True
        self._submit(CallTask, _open_log, self.settings.db_path or None, on_ok=self._log_opened,
                     on_fail=self._log_open_failed)

    def _log_open_failed(self, failure: Failure) -> None:
        self._log_opening = False
        self.log = None
        self.log_problem = self.tr("The inspection log cannot be opened: {reason}").format(reason=failure.message)
        self.statusBar().showMessage(self.log_problem, 15000)
        if failure.trace:
            self.report_failure(failure)
        self._log_ready()

    def _log_opened(self, opened: Any) -> None:
        self._log_opening = False
        self.log = opened
        self.log_problem = ""
        self._log_ready()

    def _log_ready(self) -> None:
        for insp, mode, seal in self._waiting_for_log:
            self._record_single(insp, mode, seal)
            if insp is self.current:
                self._show_record_note(insp)
        self._waiting_for_log.clear()
        if self._log_queue and not self._log_timer.isActive():
            self._log_timer.start()
        self.history.set_log(self.log, self.log_problem)
        self._history_dirty = False
        self.chain_status = None
        self._update_status_labels()
        if self.log is not None:
            self.verify_chain()

    def verify_chain(self, check_files: bool = True) -> None:
        """Check the log's hash chain in a worker (it uses its own read-only connection)."""
        if self.log is None:
            return
        if self._chain_rid in self._handlers:
            self._chain_timer.start()  # one check at a time: try again a little later
            return
        if check_files:
            self.status_chain.setText(self.tr("Log: checking chain…"))
        self._chain_rid = self._submit(CallTask, self.log.verify_chain, check_files=check_files,
                                       on_ok=self._chain_checked, on_fail=self._chain_failed)

    def close_shift(self) -> int:
        """Verify the log and note its signed head as a close-shift anchor (in a worker); the head
        is then shown to be printed or copied (issue #22). Returns the request id (0: no log)."""
        if self.log is None:
            self.statusBar().showMessage(self.log_problem or self.tr("The inspection log is not open."), 8000)
            return 0
        from inference.log.anchors import close_shift

        self.statusBar().showMessage(self.tr("Closing the shift: checking the log…"))
        return self._submit(CallTask, close_shift, self.log, self.reviewer_name(),
                            on_ok=self._shift_closed, on_fail=self.report_failure)

    def _shift_closed(self, closure: Any) -> None:
        self.statusBar().clearMessage()
        if not closure.ok:
            self.show_error_dialog(RuntimeError(self.tr("The shift was NOT closed: the log is broken at {problem}. "
                                                        "Nothing was noted; report it.").format(problem=closure.problem)))
            return
        head = closure.head
        box = self.show_message(self.tr("Shift closed"), self.tr(
            "The log was checked ({n} chained rows) and its signed head noted. Print this or send it "
            "elsewhere; `tilik log verify --anchor SEQ:HASH` proves it later.").format(n=closure.checked))
        box.setObjectName("closeShiftDialog")
        box.setDetailedText(head.text())
        box.setInformativeText(f"{head.seq}:{head.hash}")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_shift_closure = closure

    def _chain_checked(self, status: Any) -> None:
        self.chain_status = status
        self._chain_time = time.strftime("%H:%M:%S")
        self._update_status_labels()

    def _chain_failed(self, failure: Failure) -> None:
        self.chain_status = None
        self.status_chain.setText(self.tr("Log: chain check failed — {reason}").format(reason=failure.message))
        self.history.set_chain_status(None, self.status_chain.text())

    def chain_text(self) -> str:
        s = self.chain_status
        if self.log is None and self._log_opening:
            return self.tr("Log: opening…")
        if self.log is None:
            return self.tr("Log: not available")
        if s is None:
            return self.tr("Log: chain not checked yet")
        if s.ok:
            sig = getattr(s, "signature", None)
            if sig is not None and sig.state not in ("this-station", "unsigned"):
                # Intact, but the head was signed elsewhere (a log copied from another station).
                return self.tr("Log: chain intact ✓ · signed by key {key}, not this station's").format(key=sig.key_id)
            return self.tr("Log: chain intact ✓")
        where = getattr(s, "where", "") or str(s.first_broken_id)
        return self.tr("Log: chain BROKEN at {where} — {reason}").format(where=where, reason=s.reason)

    def _update_status_labels(self) -> None:
        if self.pack is not None:
            self.status_pack.setText(self.tr("Pack: {name} {version}").format(name=self.pack.id,
                                                                          version=self.pack.version))
            self.status_pack.setToolTip(str(self.pack.folder))
        elif self.packs_loaded:
            self.status_pack.setText(self.tr("Pack: none"))
        self.status_provider.setText(self.tr("Runs on: {p}").format(p=self._provider_text) if self._provider_text
                                     else "")
        self.status_provider.setToolTip(self.tr("The onnxruntime execution provider really in use"))
        text = self.chain_text()
        self.status_chain.setText(text)
        self.status_chain.setStyleSheet("color: #c62828; font-weight: bold;"
                                        if self.chain_status is not None and not self.chain_status.ok else "")
        if self.log is None:
            self.status_chain.setToolTip(self.log_problem)
        elif self.chain_status is not None:
            self.status_chain.setToolTip(self.tr("{path}\n{n} chained records checked at {time}; head {seq}:{hash}").format(
                path=self.log.path, n=self.chain_status.checked, time=self._chain_time,
                seq=self.chain_status.head_seq, hash=self.chain_status.head_hash[:16]))
        else:
            self.status_chain.setToolTip(str(self.log.path))
        self.history.set_chain_status(self.chain_status, text)
        who = self.settings.operator or self.tr("(set your name in Settings)")
        station = self.settings.station
        self.status_operator.setText(self.tr("Operator: {name}").format(name=who) + (f" · {station}" if station else ""))

    # ================================================================ modes and packs
    def set_mode(self, mode: str, force: bool = False) -> None:
        if mode not in MODES:
            return
        if mode == self.mode and not force:
            return
        self.mode = mode
        self.settings.last_mode = mode
        self.mode_actions[mode].setChecked(True)  # the action group unchecks the others
        packs = self.usable_packs(mode) if self._classifiable(mode) else []
        self.pack_combo.blockSignals(True)
        self.pack_combo.clear()
        for pack in packs:
            self.pack_combo.addItem(icon(MODE_ICONS[mode]), self._pack_title(pack), pack.id)
        default = self.settings.default_pack(mode)
        idx = self.pack_combo.findData(default) if default else -1
        self.pack_combo.setCurrentIndex(idx if idx >= 0 else (0 if packs else -1))
        self.pack_combo.setEnabled(bool(packs))
        self.pack_combo.blockSignals(False)
        self._select_pack(packs[self.pack_combo.currentIndex()] if packs else None)
        if self.current is not None and self.current.result is not None and \
                self._mode_of_pack(self.current.pack_id) != mode:
            self.clear_display()  # a verdict of another mode must not sit under this mode's banner
        self._apply_mode_ui()

    def clear_display(self) -> None:
        self.current = None
        self.image_view.clear()
        self.result_panel.show_empty()
        self.caption.setText("")
        self.session_pos = len(self.session)
        self._update_nav()

    def _pack_combo_changed(self, index: int) -> None:
        packs = self.usable_packs(self.mode)
        if 0 <= index < len(packs):
            self._select_pack(packs[index])

    def _select_pack(self, pack: Any) -> None:
        self.pack = pack
        self._provider_text = ""
        self._update_status_labels()
        if pack is not None:
            getter = self.signature.verifiers.get if pack.manifest.task == "verify" else self.inspectors.get
            self._prepare_rid = self._submit(CallTask, getter, pack, self.settings.provider_argument(),
                                             on_ok=self._inspector_ready, on_fail=self._inspector_failed(pack))
        self._apply_mode_ui()

    def _inspector_ready(self, inspector: Any) -> None:
        if self.pack is not None and inspector.pack.folder == self.pack.folder:
            self._provider_text = inspector.provider
            self._update_status_labels()

    def _inspector_failed(self, pack: Any) -> Callable[[Failure], None]:
        def failed(failure: Failure) -> None:
            self.pack_problems[str(pack.folder)] = failure.message
            if failure.trace:
                self.report_failure(failure)
            if self.pack is pack:
                self.set_mode(self.mode, force=True)
        return failed

    def mode_available(self) -> bool:
        return self.pack is not None and self._classifiable(self.mode)

    def _apply_mode_ui(self) -> None:
        if not hasattr(self, "input_panel"):
            return
        mode = self.mode or "general"
        self.input_panel.set_mode(mode)
        self.skin_banner.setVisible(mode == "skin")
        reason = self.unusable_reason(mode) if self.packs_loaded else None
        self.mode_banner.setVisible(bool(reason))
        if reason:
            self.mode_banner.set_text(reason)
        signature = mode == "signature"
        self.inspect_center.setVisible(not signature)
        self.result_panel.setVisible(not signature)
        self.signature_view.setVisible(signature)
        if signature:
            self.signature.apply_mode(reason)
        available = self.mode_available()
        for act in (self.act_open, self.act_folder, self.act_paste):
            act.setEnabled(available and not (signature and act is self.act_folder))
        self.act_card.setEnabled(self.pack is not None)
        self._camera_state_changed()

    def colormap_name(self) -> str:
        return COLORMAP_NAMES[max(0, self.colormap.currentIndex())]

    # ================================================================ requests to the pool
    def _submit(self, task_cls: type, *args: Any, on_ok: Callable[[Any], None],
                on_fail: Callable[[Failure], None] | None = None, pool: Any = None, **kwargs: Any) -> int:
        rid = next(self._ids)
        self._handlers[rid] = (on_ok, on_fail or self.report_failure)
        task = task_cls(self.hub, rid, *args, **kwargs)
        if isinstance(task, BatchTask):
            self._batch_task = task
        (pool or self.pool).start(task)
        return rid

    def _write_log(self, fn: Callable[..., Any], *args: Any, on_ok: Callable[[Any], None],
                   on_fail: Callable[[Failure], None], **kwargs: Any) -> int:
        """Run a write to the log (``fn(*args, **kwargs)``) on the log's own thread, after every
        write asked before it; ``on_ok``/``on_fail`` are called here with its outcome."""
        return self._submit(CallTask, fn, *args, on_ok=on_ok, on_fail=on_fail, pool=self.log_pool, **kwargs)

    def _on_finished(self, rid: int, payload: Any) -> None:
        handler = self._handlers.pop(rid, None)
        if handler is not None and not self._closing:
            self.answering = rid
            handler[0](payload)

    def _on_failed(self, rid: int, failure: Failure) -> None:
        handler = self._handlers.pop(rid, None)
        if handler is not None and not self._closing:
            self.answering = rid
            handler[1](failure)

    def is_ready(self) -> bool:
        """Packs scanned, the current pack's model loaded (or refused) and the log opened (or refused)."""
        pack_ready = self.pack is None or bool(self._provider_text) or str(self.pack.folder) in self.pack_problems
        return self._started and self.packs_loaded and pack_ready and not self._log_opening

    def is_busy(self) -> bool:
        """True while any request is out (tests and measurements wait on this)."""
        return bool(self._handlers) or bool(self._log_queue) or bool(self._waiting_for_log)

    # ================================================================ opening images
    def open_files_dialog(self) -> None:
        if not self.mode_available():
            return
        exts = " ".join(f"*{e}" for e in sorted(_image_extensions()))
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Open images"), self.settings.last_dir,
                                                self.tr("Images ({exts});;All files (*)").format(exts=exts))
        if files:
            self.settings.last_dir = str(Path(files[0]).parent)
            self.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        if not self.mode_available():
            return
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open a folder of images"), self.settings.last_dir)
        if folder:
            self.settings.last_dir = folder
            self.open_paths([Path(folder)])

    def open_paths(self, items: list[Path]) -> None:
        """One file → Inspect; several files or any folder → Batch."""
        items = [Path(p) for p in items]
        if not items:
            return
        if not self.mode_available():
            self.statusBar().showMessage(self.unusable_reason(self.mode) or no_pack_text(self.mode), 8000)
            return
        if len(items) == 1 and not items[0].is_dir():
            self.inspect_source(items[0], str(items[0]), "file")
        elif self.mode == "signature":
            self.statusBar().showMessage(self.tr("Signature mode checks one signature at a time: open or drop a "
                                                 "single image."), 8000)
        else:
            self.start_batch(items)

    def paste(self) -> None:
        if not self.mode_available():
            return
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.inspect_source(image, self.tr("pasted image"), "paste")
                return
        if data is not None and data.hasUrls():
            local = [Path(u.toLocalFile()) for u in data.urls() if u.isLocalFile()]
            if local:
                self.open_paths(local)
                return
        self.statusBar().showMessage(self.tr("The clipboard holds no image."), 6000)

    def inspect_source(self, source: Any, name: str, origin: str) -> int:
        """Classify one image (path, bytes, RGB array or QImage) for the Inspect tab."""
        if not self.mode_available():
            return 0
        if self.mode == "signature":
            return self.signature.verify_source(source, name, origin)
        if origin != "live" and self.mode == "seal" and not self.seal_form.container_ok():
            self.statusBar().showMessage(self.tr("The container number does not pass the ISO 6346 check. Correct it, "
                                             "or tick “I checked” if it really is written that way."), 10000)
            self.seal_form.container_number.setFocus()
            self.tabs.setCurrentIndex(0)
            return 0
        if origin == "camera":
            self.camera.live.setChecked(False)  # keep the captured verdict on screen
        live = origin == "live"
        rid = self._submit(ClassifyTask, self.inspectors, self.pack, self.settings.provider_argument(), source,
                           name, origin, keep_pixels_for_log=origin in ("paste", "camera"),
                           colormap=self.colormap_name(),
                           on_ok=self._inspection_done, on_fail=self._live_failed if live else self._inspection_failed)
        if live:
            self._live_rid = rid
            return rid
        self._inspect_rid = rid
        if self.mode == "seal" and not self.seal_form.is_empty():
            self._request_seals[rid] = self.seal_form.values()
        if self.mode == "seal":
            self.seal_reading.start(source, name, rid)
        else:
            self.seal_reading.release()  # a seal inspection awaiting confirmation is recorded, unconfirmed
        self.tabs.setCurrentIndex(0)
        self.result_panel.show_busy(Path(name).name if origin == "file" else name)
        self.caption.setText(elide_middle(name, 90))
        return rid

    def _inspection_done(self, insp: Inspection) -> None:
        rid = self.answering
        seal = self._request_seals.pop(rid, None)
        if insp.origin == "live":
            self.camera.set_busy(False)
            # A live frame is shown only when nothing the user asked for is pending.
            if self._inspect_rid in self._handlers or not self.camera.live_enabled():
                return
            self._display(insp)
            return
        if rid != self._inspect_rid:
            return  # the user has asked for something else since: this answer is superseded
        mode = self._mode_of_pack(insp.pack_id)
        held = self.seal_reading.hold(insp, mode, seal)  # recorded once the inspector confirms
        if not held:
            self._record_single(insp, mode, seal)
        self._push_session(insp)
        self._display(insp)
        if held:
            self.seal_reading.shown()

    def _live_failed(self, failure: Failure) -> None:
        self.camera.set_busy(False)
        self.statusBar().showMessage(failure.message, 5000)

    def _inspection_failed(self, failure: Failure) -> None:
        self._request_seals.pop(self.answering, None)
        if self.answering != self._inspect_rid:
            return  # superseded
        self.current = None
        self.image_view.clear()
        self.result_panel.show_error(failure.message)
        self.caption.setText(elide_middle(failure.source, 90))
        self.statusBar().showMessage(failure.message, 10000)
        self.report_failure(failure)

    def _manifest_of(self, pack_id: str | None):
        """The manifest of the first found pack with ``pack_id`` (None when there is none)."""
        return next((p.manifest for p in self.all_packs if p.id == pack_id and p.manifest is not None), None)

    def _mode_of_pack(self, pack_id: str) -> str:
        m = self._manifest_of(pack_id)
        return m.mode if m is not None else self.mode

    def reviewer_name(self) -> str:
        if self.settings.operator:
            return self.settings.operator
        from inference.log.recording import default_operator

        return default_operator()

    def _log_kwargs(self, mode: str) -> dict[str, Any]:
        from inference.log.recording import default_station

        return {"operator": self.reviewer_name(), "station": self.settings.station or default_station(),
                "mode": mode, "keep_full_image": self.settings.keep_full_image()}

    def _record_single(self, insp: Inspection, mode: str, seal: dict[str, Any] | None = None) -> None:
        """Have one interactive inspection written to the log (on the log's thread)."""
        if self.log is None and self._log_opening:
            self._waiting_for_log.append((insp, mode, seal))  # written as soon as the log is open
            return
        if self.log is None:
            insp.record_id = None
            insp.log_error = self.log_problem or self.tr("the inspection log is not open")
            return
        kwargs = self._log_kwargs(mode)
        if mode == "seal" and seal:
            from inference.log import SealFields

            kwargs["seal"] = SealFields(**seal)
        self._write_log(record_one, self.log, insp.result, insp.log_image,
                        on_ok=lambda record: self._single_recorded(insp, record),
                        on_fail=lambda failure: self._single_not_recorded(insp, failure), **kwargs)

    def _single_recorded(self, insp: Inspection, record: Any) -> None:
        insp.record_id = record.id
        insp.log_error = None
        insp.log_image = None  # the log has it now; do not keep a second copy in memory
        if insp is self.current:
            self._show_record_note(insp)
        self._history_dirty = True
        self._chain_timer.start()
        if self.tabs.currentIndex() == 2:
            self._refresh_history()
        self.log_written.emit(record)

    def _single_not_recorded(self, insp: Inspection, failure: Failure) -> None:
        insp.record_id = None
        insp.log_error = failure.message
        if insp is self.current:
            self._show_record_note(insp)
        if failure.known:
            self.statusBar().showMessage(self.tr("Not saved to the log: {reason}").format(reason=failure.message),
                                         15000)
        else:  # a bug in saving must not lose the verdict on screen
            self.report_exception(failure.error, failure.trace)

    def _show_record_note(self, insp: Inspection) -> None:
        if insp.origin == "live":
            note = self.tr("Live preview — not saved to the log")
        elif insp.record_id is not None:
            note = self.tr("Saved to the log as inspection #{id}").format(id=insp.record_id)
        elif insp.log_error:
            note = self.tr("Not saved to the log: {reason}").format(reason=insp.log_error)
        else:
            note = ""
        self.result_panel.set_record_note(note)

    # ================================================================ showing a result
    def _display(self, insp: Inspection) -> None:
        self.current = insp
        mode = self._mode_of_pack(insp.pack_id) if insp.pack_id else self.mode
        refused = self.result_panel.is_refused(insp.result, mode)
        if insp.image is not None:
            self.image_view.set_image(insp.image, None if refused else insp.heat, keep_view=insp.origin == "live",
                                      heat_coloured=None if refused else insp.heat_image)
            self.image_view.set_overlay_visible(self.act_heat.isChecked())
        else:
            self.image_view.clear()
        self.result_panel.show_result(insp.result, mode)
        self._show_record_note(insp)
        self._update_caption()
        self._update_nav()
        self.inspection_shown.emit(insp)

    def _update_caption(self) -> None:
        insp = self.current
        if insp is None:
            return
        origin = {"file": self.tr("file"), "paste": self.tr("pasted"), "camera": self.tr("camera"), "live": self.tr("live camera"),
                  "batch": self.tr("batch"), "history": self.tr("log")}.get(insp.origin, insp.origin)
        heat_for = self._heatmap_class_label(insp.pack_id) if insp.heat is not None else None
        text = f"{elide_middle(insp.source, 40 if heat_for else 90)}  ·  {origin}"
        if heat_for:
            # The pack's heatmap is not "where the model looked for its verdict" but the evidence
            # for one class (e.g. damaged) whatever the verdict: say so next to the picture, in the
            # same words as the PDF (inference.wording "heatmap_of").
            from gui import wording

            text += "  ·  " + wording.heatmap_caption(insp.pack_id, heat_for[0], heat_for[1])
        self.caption.setText(text)
        self.caption.setToolTip(text)

    def _heatmap_class_label(self, pack_id: str | None) -> tuple[str, str] | None:
        """(name, label) of the class a pack's heatmap shows evidence for, when it is a fixed one."""
        m = self._manifest_of(pack_id)
        name = m.decision.heatmap_class if m is not None else None
        return (name, next((c.label for c in m.classes if c.name == name), name)) if name else None

    def _push_session(self, insp: Inspection) -> None:
        self.session.append(insp)
        if len(self.session) > SESSION_LIMIT:
            del self.session[0]
        for old in self.session[:-SESSION_IMAGES]:
            old.image = None  # reloaded from the file, or from the log's copy, when shown again
            old.heat_image = None  # recoloured from old.heat if shown again
        self.session_pos = len(self.session) - 1

    def _update_nav(self) -> None:
        n = len(self.session)
        if self.current is not None and self.current.batch_row is not None:
            rows = self.batch_view.visible_rows()
            pos = next((i for i, r in enumerate(rows) if r is self.current.batch_row), -1)
            self.nav_label.setText(self.tr("{i} of {n} (batch)").format(i=pos + 1, n=len(rows)) if pos >= 0 else "")
            self.act_prev.setEnabled(pos > 0)
            self.act_next.setEnabled(0 <= pos < len(rows) - 1)
            return
        shown = 0 <= self.session_pos < n and self.current is not None
        self.nav_label.setText(self.tr("{i} of {n}").format(i=self.session_pos + 1, n=n) if shown else "")
        self.act_prev.setEnabled(self.session_pos > 0 and n > 0)
        self.act_next.setEnabled(0 <= self.session_pos < n - 1)

    def previous_result(self) -> None:
        self._step(-1)

    def next_result(self) -> None:
        self._step(+1)

    def _step(self, step: int) -> None:
        if self.current is not None and self.current.batch_row is not None:
            row = self.batch_view.neighbour(self.current.batch_row, step)
            if row is not None:
                self.open_batch_row(row)
            return
        pos = self.session_pos + step
        if 0 <= pos < len(self.session):
            self.session_pos = pos
            insp = self.session[pos]
            source = self._image_source_of(insp) if insp.image is None else None
            if source is not None:
                self._reload_and_show(insp, source)
            else:
                self._display(insp)

    def _image_source_of(self, insp: Inspection) -> Path | None:
        """Where to reload a result's picture from: its file, else the log's stored copy."""
        if insp.origin == "file" and Path(insp.source).is_file():
            return Path(insp.source)
        if insp.record_id is not None and self.log is not None:
            try:
                return self.log.stored_image_path(self.log.get(insp.record_id))
            except TilikError:
                return None
        return None

    def _reload_and_show(self, insp: Inspection, source: Path) -> None:
        def loaded(payload: tuple[QImage, Any]) -> None:
            insp.image = payload[0]
            self._display(insp)

        def failed(_failure: Failure) -> None:
            self._display(insp)  # the verdict without its picture

        self._inspect_rid = self._submit(LoadImageTask, source, insp.source, on_ok=loaded, on_fail=failed)

    # ---- heatmap controls
    def set_heatmap_visible(self, on: bool) -> None:
        self.image_view.set_overlay_visible(on)

    def set_side_by_side(self, on: bool) -> None:
        self.image_view.set_side_by_side(on)

    def _opacity_changed(self, value: int) -> None:
        self.image_view.set_opacity(value / 100)
        self.settings.opacity = value
        self.opacity.setToolTip(self.tr("Heatmap opacity: {n}%").format(n=value))

    def _colormap_changed(self, _index: int) -> None:
        self.image_view.set_colormap(self.colormap_name())
        self.settings.colormap = self.colormap_name()

    # ================================================================ camera
    def toggle_camera(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.camera.toggle()

    def capture(self) -> None:
        if self.camera.is_running():
            self.camera.capture()

    def _camera_captured(self, image: QImage) -> None:
        self.inspect_source(image, self.tr("camera capture"), "camera")

    def _camera_live_frame(self, image: QImage) -> None:
        if not self.mode_available():
            self.camera.set_busy(False)
            return
        self.inspect_source(image, self.tr("live camera"), "live")

    def _camera_state_changed(self) -> None:
        self.act_capture.setEnabled(self.camera.is_running() and self.mode_available())

    # ================================================================ batch
    def start_batch(self, items: list[Path]) -> None:
        if not self.mode_available():
            return
        if self._batch_task is not None and self.batch_view.running:
            self._batch_task.cancel()
            self.statusBar().showMessage(self.tr("The previous batch was cancelled."), 5000)
        self._batch_mode = self.mode
        self.batch_view.start(self.mode, ", ".join(p.name for p in items[:3]))
        self.tabs.setCurrentIndex(1)
        self.act_cancel.setEnabled(True)
        self._batch_errors = 0
        self._batch_rid = self._submit(BatchTask, self.inspectors, self.pack, self.settings.provider_argument(),
                                       items, on_ok=self._batch_done, on_fail=self._batch_failed)

    def _on_progress(self, rid: int, progress: BatchProgress) -> None:
        if rid != self._batch_rid or self._closing:
            return
        self.batch_view.add_progress(progress)
        errors = [r for r in progress.rows if r.result is None]
        if errors:
            self._batch_errors += len(errors)
            self.statusBar().showMessage(
                self.tr("{n} image(s) in the batch could not be read — see the table. Last: {reason}").format(
                    n=self._batch_errors, reason=errors[-1].error), 10000)
        for row in progress.rows:
            if row.result is not None:
                self._log_queue.append((row, self._batch_mode))
        if self._log_queue and not self._log_timer.isActive():
            self._log_timer.start()

    def _drain_log_queue(self) -> None:
        """Hand every queued batch row to the log's thread (a job per mode, at most LOG_JOB_ROWS
        rows each). The window waits for none of it."""
        if self.log is None and self._log_opening:
            return  # resumed by _log_ready
        while self._log_queue:
            rows: list[BatchRow] = []
            mode = self._log_queue[0][1]
            while self._log_queue and len(rows) < LOG_JOB_ROWS and self._log_queue[0][1] == mode:
                rows.append(self._log_queue.popleft()[0])
            if self.log is None:
                for row in rows:
                    row.log_error = self.log_problem or self.tr("the inspection log is not open")
                    row.shrink()
                continue
            self._write_log(record_rows, self.log, [(r.result, Path(r.source)) for r in rows],
                            **self._log_kwargs(mode), on_ok=self._rows_recorded(rows),
                            on_fail=self._rows_not_recorded(rows))

    def _rows_recorded(self, rows: list[BatchRow]) -> Callable[[list[Any]], None]:
        def done(outcomes: list[Any]) -> None:
            failed = None
            for row, (outcome, heat_u8) in zip(rows, outcomes):
                if isinstance(outcome, BaseException):
                    row.log_error = failed = str(outcome)
                else:
                    row.record_id = outcome
                row.shrink(heat_u8)
            if failed:
                self.statusBar().showMessage(self.tr("Not saved to the log: {reason}").format(reason=failed), 10000)
            self._logged_some()
        return done

    def _rows_not_recorded(self, rows: list[BatchRow]) -> Callable[[Failure], None]:
        def failed(failure: Failure) -> None:  # nothing of the group was stored
            for row in rows:
                row.log_error = failure.message
                row.shrink()
            if failure.known:
                self.statusBar().showMessage(self.tr("Not saved to the log: {reason}").format(reason=failure.message),
                                             10000)
            else:
                log.error("recording batch rows failed:\n%s", failure.trace)
            self._logged_some()
        return failed

    def _logged_some(self) -> None:
        self._history_dirty = True
        self._chain_timer.start()
        if self.tabs.currentIndex() == 2 and not (self._batch_task and self.batch_view.running) \
                and not self._log_queue:
            self._refresh_history()

    def _batch_done(self, done: BatchDone) -> None:
        self._batch_task = None
        self.act_cancel.setEnabled(False)
        self.batch_view.finish(done)
        loc = QLocale()
        if done.cancelled:
            msg = self.tr("Batch cancelled after {done} of {total} images.").format(done=done.done, total=done.total)
        else:
            msg = self.tr("Batch done: {done} images in {s} s.").format(done=done.done,
                                                                    s=loc.toString(done.elapsed_s, "f", 1))
        if done.errors:
            msg += " " + self.tr("{n} could not be read — see the table.").format(n=done.errors)
        self.statusBar().showMessage(msg, 10000)
        self.batch_finished.emit(done)

    def _batch_failed(self, failure: Failure) -> None:
        self._batch_task = None
        self.act_cancel.setEnabled(False)
        self.batch_view.fail(failure.message)
        self.report_failure(failure)

    def cancel_batch(self) -> None:
        if self._batch_task is not None:
            self._batch_task.cancel()
            self.statusBar().showMessage(self.tr("Cancelling the batch…"), 5000)

    def open_batch_row(self, row: BatchRow) -> None:
        """Show one batch row in full on the Inspect tab."""
        self.batch_view.select_row(row)
        if row.result is None:
            self.tabs.setCurrentIndex(0)
            self.current = Inspection(result=None, image=None, heat=None, source=row.source, origin="batch",
                                      batch_row=row)
            self.image_view.clear()
            self.result_panel.show_error(row.error or "")
            self.caption.setText(elide_middle(row.source, 90))
            self._update_nav()
            return

        def loaded(payload: tuple[QImage, Any]) -> None:
            insp = Inspection(result=row.result, image=payload[0], heat=row.heat(), source=row.source,
                              origin="batch", pack_id=row.result.pack_id, record_id=row.record_id, batch_row=row)
            insp.log_error = row.log_error
            self._display(insp)

        def failed(failure: Failure) -> None:
            insp = Inspection(result=row.result, image=None, heat=None, source=row.source, origin="batch",
                              pack_id=row.result.pack_id, record_id=row.record_id, batch_row=row)
            self._display(insp)
            self.statusBar().showMessage(failure.message, 8000)

        self.tabs.setCurrentIndex(0)
        self._inspect_rid = self._submit(LoadImageTask, row.source, row.source, on_ok=loaded, on_fail=failed)

    # ================================================================ history, export, review
    def _tab_changed(self, index: int) -> None:
        if index == 2 and self._history_dirty:
            self._refresh_history()

    def _refresh_history(self) -> None:
        self._history_dirty = False
        self.history.refresh()

    def _load_image_async(self, source: Any, heat: Any, done: Callable[[QImage, Any], None]) -> None:
        self._submit(LoadImageTask, source, str(source), heat, on_ok=lambda p: done(p[0], p[1]),
                     on_fail=lambda f: self.statusBar().showMessage(f.message, 8000))

    def _labels_for_pack(self, pack_id: str) -> list[tuple[str, str]]:
        m = self._manifest_of(pack_id)
        return [(c.name, c.label) for c in m.classes] if m is not None else []

    def _review_saved(self, _inspection_id: int) -> None:
        self.statusBar().showMessage(self.tr("Review saved."), 5000)
        self._chain_timer.start()

    def focus_history_search(self) -> None:
        self.tabs.setCurrentIndex(2)
        self.history.search.setFocus()
        self.history.search.selectAll()

    def _review_shortcut(self, decision: str) -> None:
        if self.tabs.currentIndex() != 2:
            self.statusBar().showMessage(self.tr("Reviews are made in the History tab (F4): select an inspection "
                                             "first."), 6000)
            return
        self.history.review(decision)

    def export_csv_dialog(self) -> None:
        if self.log is None:
            self.statusBar().showMessage(self.log_problem or self.tr("The inspection log is not open."), 8000)
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export inspections as CSV"),
                                              str(Path(self.settings.last_dir or Path.home()) / "inspections.csv"),
                                              self.tr("CSV files (*.csv)"))
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> int:
        """Export the history filter to ``path`` (in a worker); returns the request id."""
        from inference.log.csv_export import export_csv

        query = self.history.current_query()
        self.statusBar().showMessage(self.tr("Exporting…"))
        return self._submit(CallTask, export_csv, self.log, path, query,
                            on_ok=lambda n: self._exported(path, n), on_fail=self.report_failure)

    def export_pdf_dialog(self) -> None:
        if self.log is None:
            self.statusBar().showMessage(self.log_problem or self.tr("The inspection log is not open."), 8000)
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export inspections as PDF"),
                                              str(Path(self.settings.last_dir or Path.home()) / "inspections.pdf"),
                                              self.tr("PDF files (*.pdf)"))
        if path:
            self.export_pdf(Path(path))

    def export_pdf(self, path: Path) -> int:
        """The PDF report of the history filter (``gui/report_pdf.py``), written in a worker."""
        try:
            from gui.report_pdf import export_pdf
        except ImportError:
            self.show_message(self.tr("PDF export is not available"),
                              self.tr("This build of Tilik has no PDF report writer. Export as CSV instead."))
            return 0
        query = self.history.current_query()
        self.statusBar().showMessage(self.tr("Exporting…"))
        return self._submit(CallTask, export_pdf, self.log, query, path,
                            on_ok=lambda n: self._exported(path, n), on_fail=self.report_failure)

    def _exported(self, path: Path, n: Any) -> None:
        if isinstance(n, int):
            msg = self.tr("Exported {n} inspections to {path}").format(n=n, path=path)
        else:
            msg = self.tr("Exported to {path}").format(path=path)
        self.statusBar().showMessage(msg, 10000)
        self.last_export = (path, n)

    # ================================================================ dialogs
    def show_model_card(self) -> None:
        if self.pack is None:
            return
        from gui.widgets.model_card import ModelCardDialog

        dialog = ModelCardDialog(self.pack, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.model_card_dialog = dialog

    def show_settings(self) -> Any:
        from gui.widgets.settings_dialog import SettingsDialog

        try:
            import onnxruntime as ort
            from inference.providers import display_name

            available = [display_name(p) for p in ort.get_available_providers() if "Azure" not in p]
        except Exception:  # noqa: BLE001
            available = ["CPU"]
        packs_by_mode = {m: self.usable_packs(m) for m in MODES}
        dialog = SettingsDialog(self.settings, packs_by_mode, available, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.apply()))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def apply_settings(self, changed: dict[str, Any]) -> None:
        """React to what the settings dialog changed."""
        if "language" in changed:
            i18n.manager().install(changed["language"])
        if "threads" in changed:
            from inference.providers import set_threads

            set_threads(changed["threads"] or None)  # sessions are keyed by it: new ones get it
        if "provider" in changed or "threads" in changed:
            self.inspectors.clear()
            self.signature.verifiers.clear()
            from inference.inspector import clear_session_cache

            clear_session_cache()
        if "packs_dir" in changed:
            self.reload_packs()
        elif "provider" in changed or "threads" in changed or any(k.startswith("default_") for k in changed):
            self.set_mode(self.mode, force=True)
        if "db_path" in changed:
            self.open_log()
        self._update_status_labels()

    def show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+O", self.tr("Open images")), ("Ctrl+Shift+O", self.tr("Open a folder (batch)")),
            ("Ctrl+V", self.tr("Paste an image")), ("Ctrl+K", self.tr("Start or stop the camera")),
            ("Space", self.tr("Capture from the camera")), ("Alt+Left / Alt+Right", self.tr("Previous / next result")),
            ("H", self.tr("Heatmap on/off")), ("S", self.tr("Side by side")),
            ("Ctrl+0 / Ctrl+1", self.tr("Fit / actual size")), ("+ / −, wheel", self.tr("Zoom")),
            ("Alt+1 … Alt+4", self.tr("Seal, Signature, Skin lesion, General mode")),
            ("F2 / F3 / F4", self.tr("Inspect, Batch, History tab")), ("Esc", self.tr("Cancel the batch")),
            ("Ctrl+F", self.tr("Search the history")),
            ("Alt+C / Alt+X / Alt+E", self.tr("Review: confirm / overturn / escalate")),
            ("Ctrl+E", self.tr("Export the history as CSV")), ("Ctrl+I", self.tr("Model card")),
            ("Ctrl+,", self.tr("Settings")), ("F5", self.tr("Reload packs")),
        ]
        body = "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + \
               "</table>"
        self.show_message(self.tr("Keyboard shortcuts"), body, rich=True)

    def show_about(self) -> None:
        try:
            from importlib.metadata import version

            v = version("tilik")
        except Exception:  # noqa: BLE001
            v = "?"
        self.show_message(self.tr("About Tilik"), self.tr("Tilik {version} — offline inspection with local models. "
                                                  "No image ever leaves this computer.").format(version=v))

    def show_message(self, title: str, text: str, rich: bool = False) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        box.button(QMessageBox.StandardButton.Ok).setText(self.tr("OK"))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message_box = box
        return box

    # ================================================================ errors
    def report_failure(self, failure: Failure) -> None:
        if failure.known:
            self.show_error_dialog(failure.error)
        else:
            self.report_exception(failure.error, failure.trace)

    def show_error_dialog(self, error: BaseException) -> QMessageBox:
        """A known problem (TilikError): plain words, no traceback. Window-modal but non-blocking."""
        from gui.wording import error_message  # in the app's language, by the error's code

        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Tilik"), error_message(error),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.button(QMessageBox.StandardButton.Ok).setText(self.tr("OK"))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.last_error_dialog = box
        return box

    def report_exception(self, error: BaseException, trace: str | None = None) -> QMessageBox:
        """An unexpected error: an internal-error dialog; the traceback goes to the error log file."""
        if isinstance(error, TilikError):
            return self.show_error_dialog(error)
        from gui.app import write_error_log

        log_file = write_error_log(error, trace)
        return internal_error_dialog(self, error, log_file, trace)

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
        md = event.mimeData()
        local = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()]
        if local:
            event.acceptProposedAction()
            self.open_paths(local)
        elif md.hasImage():
            event.acceptProposedAction()
            image = QImage(md.imageData())
            if not image.isNull():
                self.inspect_source(image, self.tr("dropped image"), "paste")

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the camera, cancel the batch, wait for running work, write what is queued, close the log."""
        if self._closing:
            return
        self.camera.stop()
        self._chain_timer.stop()
        if self._batch_task is not None:
            self._batch_task.cancel()
        self.pool.clear()  # work not started yet is dropped
        self.pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()  # deliver the last batch rows so they are logged
        self.seal_reading.release()  # a seal inspection awaiting confirmation is recorded, unconfirmed
        self._closing = True
        self._drain_log_queue()
        self.log_pool.waitForDone(timeout_ms)  # every row asked for is written before the log closes
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        if self.log is not None:
            self.history.set_log(None)
            self.log.close()
            self.log = None
        for w in QApplication.topLevelWidgets():
            if w is not self and w.parent() is self and w.isVisible():
                w.close()


def _open_log(path: str | None) -> Any:
    from inference.log import InspectionLog
    from inference.log.recording import default_station

    default_station()  # imports what recording needs here, not later in the GUI thread
    return InspectionLog.open(path)


def _image_extensions() -> frozenset[str]:
    from inference.imageio import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


def internal_error_dialog(parent: QWidget | None, error: BaseException, log_file: Path | None,
                          trace: str | None) -> QMessageBox:
    text = QCoreApplication.translate("MainWindow", "Something went wrong inside Tilik ({kind}). Your work so far is safe; you can keep "
                            "working.").format(kind=type(error).__name__)
    if log_file is not None:
        text += "\n\n" + QCoreApplication.translate("MainWindow", "The details were saved to {path}. Please send that file to your "
                                          "support contact.").format(path=log_file)
    box = QMessageBox(QMessageBox.Icon.Critical, QCoreApplication.translate("MainWindow", "Internal error"), text,
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("internalErrorDialog")
    box.button(QMessageBox.StandardButton.Ok).setText(QCoreApplication.translate("MainWindow", "OK"))
    if trace:
        box.setDetailedText(trace)
    if log_file is not None:
        open_button = box.addButton(QCoreApplication.translate("MainWindow", "Open folder"), QMessageBox.ButtonRole.ActionRole)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file.parent))))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    if parent is not None:
        parent.last_error_dialog = box  # type: ignore[attr-defined]
    return box
