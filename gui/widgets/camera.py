"""Live camera (QtMultimedia): device picker, preview, capture, and live classification.

QtMultimedia is imported only when the camera is first wanted (it is slow to load and needs
system libraries such as libpulse). Without it, or without a camera, the panel says so in plain
words and everything else keeps working.

Live mode classifies the preview a few times a second; a frame is offered only when the previous
one has come back (``set_busy``), so slow models drop frames instead of queueing them.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from gui.widgets.common import icon

log = logging.getLogger(__name__)

LIVE_INTERVAL_MS = 333  # about three classifications a second at most


def load_multimedia() -> tuple[Any, Any] | str:
    """(QtMultimedia, QtMultimediaWidgets) modules, or the reason they cannot be loaded."""
    try:
        from PySide6 import QtMultimedia, QtMultimediaWidgets
    except ImportError as exc:
        return str(exc)
    return QtMultimedia, QtMultimediaWidgets


class CameraPanel(QGroupBox):
    """Camera controls and preview. Emits ``captured`` (Space) and, in live mode, ``live_frame``."""

    captured = Signal(QImage)
    live_frame = Signal(QImage)
    state_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mm: Any = None
        self._mmw: Any = None
        self._problem: str | None = None
        self._probed = False
        self._devices: list[Any] = []
        self._camera: Any = None
        self._session: Any = None
        self._video: Any = None
        self._busy = False
        self._no_camera = False
        self._error: str | None = None

        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.device = QComboBox()
        self.device.setObjectName("cameraDevice")
        self.device.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.start_button = QPushButton()
        self.start_button.setObjectName("cameraStart")
        self.start_button.setIcon(icon("camera"))
        self.start_button.clicked.connect(self.toggle)
        row.addWidget(self.device, 1)
        row.addWidget(self.start_button)
        layout.addLayout(row)

        self.stack = QStackedWidget()
        self.message = QLabel()
        self.message.setObjectName("cameraMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(60)
        self.message.setStyleSheet("color: #607d8b;")
        self.stack.addWidget(self.message)
        layout.addWidget(self.stack)

        row2 = QHBoxLayout()
        self.capture_button = QPushButton()
        self.capture_button.setObjectName("cameraCapture")
        self.capture_button.setIcon(icon("capture"))
        self.capture_button.clicked.connect(self.capture)
        self.live = QCheckBox()
        self.live.setObjectName("cameraLive")
        self.live.toggled.connect(self._live_toggled)
        row2.addWidget(self.capture_button, 1)
        row2.addWidget(self.live)
        layout.addLayout(row2)

        self._timer = QTimer(self)
        self._timer.setInterval(LIVE_INTERVAL_MS)
        self._timer.timeout.connect(self._live_tick)
        self.retranslate()
        self._update_controls()

    # -- state ----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._camera is not None and bool(self._camera.isActive())

    def no_camera(self) -> bool:
        return self._no_camera

    def message_text(self) -> str:
        return self.message.text()

    def set_busy(self, busy: bool) -> None:
        """The window says whether a live frame is still being classified (frames are dropped meanwhile)."""
        self._busy = busy

    # -- devices --------------------------------------------------------------------------------
    def probe(self) -> None:
        """Find the cameras (loads QtMultimedia on first use)."""
        if self._mm is None and self._problem is None:
            loaded = load_multimedia()
            if isinstance(loaded, str):
                self._problem = loaded
            else:
                self._mm, self._mmw = loaded
                try:
                    self._media_devices = self._mm.QMediaDevices(self)
                    self._media_devices.videoInputsChanged.connect(self.probe)
                except Exception:  # noqa: BLE001 - older Qt: no change notifications
                    self._media_devices = None
        self._probed = True
        self._devices = list(self._mm.QMediaDevices.videoInputs()) if self._mm is not None else []
        self._no_camera = not self._devices
        current = self.device.currentText()
        self.device.blockSignals(True)
        self.device.clear()
        for dev in self._devices:
            self.device.addItem(dev.description())
        if current:
            idx = self.device.findText(current)
            if idx >= 0:
                self.device.setCurrentIndex(idx)
        self.device.blockSignals(False)
        self._update_controls()
        self.retranslate()

    # -- start / stop ---------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.is_running():
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        if not self._probed:
            self.probe()
        if not self._devices or self._mm is None:
            self._update_controls()
            return
        self.stop()
        self._error = None
        dev = self._devices[max(0, self.device.currentIndex())]
        try:
            self._camera = self._mm.QCamera(dev, self)
            self._session = self._mm.QMediaCaptureSession(self)
            self._session.setCamera(self._camera)
            if self._video is None:
                self._video = self._mmw.QVideoWidget()
                self._video.setMinimumHeight(160)
                self.stack.addWidget(self._video)
            self._session.setVideoOutput(self._video)
            self._camera.errorOccurred.connect(self._camera_error)
            self._camera.activeChanged.connect(lambda _active: self._update_controls())
            self._camera.start()
        except Exception as exc:  # noqa: BLE001 - a camera driver problem must not end the app
            log.warning("camera start failed: %s", exc)
            self._camera_error(None, str(exc))
            return
        self.stack.setCurrentWidget(self._video)
        self._update_controls()

    def stop(self) -> None:
        self._timer.stop()
        if self._camera is not None:
            try:
                self._camera.stop()
            except Exception:  # noqa: BLE001
                pass
            self._camera.deleteLater()
            self._camera = None
        if self._session is not None:
            self._session.deleteLater()
            self._session = None
        self.stack.setCurrentWidget(self.message)
        self._busy = False
        self._update_controls()

    def _camera_error(self, _error: Any, text: str) -> None:
        self._error = text or "?"
        self.stop()

    # -- frames ---------------------------------------------------------------------------------
    def current_frame(self) -> QImage | None:
        if not self.is_running() or self._video is None:
            return None
        frame = self._video.videoSink().videoFrame()
        if not frame.isValid():
            return None
        image = frame.toImage()
        return None if image.isNull() else image

    def capture(self) -> None:
        image = self.current_frame()
        if image is not None:
            self.captured.emit(image)

    def _live_toggled(self, on: bool) -> None:
        if on and self.is_running():
            self._timer.start()
        else:
            self._timer.stop()
        self.state_changed.emit()

    def _live_tick(self) -> None:
        if self._busy:
            return  # the previous frame is still being classified: drop this one
        image = self.current_frame()
        if image is not None:
            self._busy = True
            self.live_frame.emit(image)

    def live_enabled(self) -> bool:
        return self.live.isChecked() and self.is_running()

    # -- text -----------------------------------------------------------------------------------
    def _update_controls(self) -> None:
        running = self.is_running()
        self.device.setEnabled(bool(self._devices) and not running)
        self.start_button.setEnabled(self._problem is None and (not self._probed or bool(self._devices)))
        self.capture_button.setEnabled(running)
        self.live.setEnabled(running)
        if running and self.live.isChecked():
            self._timer.start()
        self.retranslate()
        self.state_changed.emit()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Camera"))
        running = self.is_running()
        self.start_button.setText(self.tr("Stop camera") if running else self.tr("Start camera"))
        self.start_button.setToolTip(self.tr("Show the live camera picture"))
        self.capture_button.setText(self.tr("Capture (Space)"))
        self.capture_button.setToolTip(self.tr("Inspect the current camera picture"))
        self.live.setText(self.tr("Live"))
        self.live.setToolTip(self.tr("Classify the camera picture a few times a second (not saved to the log)"))
        self.device.setToolTip(self.tr("Which camera to use"))
        if self._problem is not None:
            self.message.setText(self.tr("Camera support is not available on this computer ({reason}). "
                                         "Open or paste images instead.").format(reason=self._problem))
        elif self._probed and not self._devices:
            self.message.setText(self.tr("No camera found"))
        elif not running and self._error:
            self.message.setText(self.tr("The camera stopped: {reason}").format(reason=self._error))
        elif not running:
            self.message.setText(self.tr("Camera off"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
