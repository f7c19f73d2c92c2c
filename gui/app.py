"""Desktop app entry point: QApplication set-up, translator, error handling, the main window.

``tilik`` (no arguments) calls :func:`main`. Environment knobs for tests and measurements:

- ``TILIK_EXIT_AFTER_SHOWN=1`` (or ``TILIK_GUI_EXIT_AFTER_SHOW=1``): quit as soon as the main
  window has been painted, printing ``TILIK_WINDOW_SHOWN <seconds since process start>`` on
  stdout (used by ``gui/measure.py`` and ``benchmarks/run.py``); with ``TILIK_EXIT_AFTER_READY=1``
  it waits until the packs are loaded and the model is ready, and also prints
  ``TILIK_WINDOW_READY <seconds>``;
- ``TILIK_SETTINGS``: the settings file (see :mod:`gui.settings`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from inference.privacy import disable_telemetry

disable_telemetry()  # before onnxruntime is imported (inference/privacy.py)

from gui.crash import error_log_path, install_excepthook, write_error_log  # noqa: E402,F401 - the app's hooks

log = logging.getLogger(__name__)

_T0 = time.perf_counter()


def create_application(argv: list[str] | None = None) -> Any:
    """The QApplication with Tilik's name, icon and style (reuses an existing one)."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    # The GUI thread shares the interpreter lock with the workers (decoding, the log's writes):
    # hand it over every 1 ms instead of 5, so the window answers between the workers' steps
    # (benchmarks/gui_stall.py).
    sys.setswitchinterval(0.001)
    QCoreApplication.setOrganizationName("Tilik")
    QCoreApplication.setApplicationName("Tilik")
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1] + list(argv or []))
    app.setStyle("Fusion")
    from gui.widgets.common import icon

    app.setWindowIcon(icon("tilik"))
    app.setApplicationDisplayName("Tilik")
    return app


def main(argv: list[str] | None = None) -> int:
    """Start the desktop app; returns the exit code."""
    app = create_application(argv)
    from gui import i18n
    from gui.main_window import MainWindow
    from gui.settings import Settings

    settings = Settings()
    i18n.manager().install(settings.language)
    install_excepthook()
    window = MainWindow(settings)
    if os.environ.get("TILIK_EXIT_AFTER_SHOWN") or os.environ.get("TILIK_GUI_EXIT_AFTER_SHOW") or \
            os.environ.get("TILIK_EXIT_AFTER_READY"):
        _exit_after_shown(app, window, wait_ready=bool(os.environ.get("TILIK_EXIT_AFTER_READY")))
    window.show()
    return int(app.exec())


def seconds_since_start() -> float:
    start = _process_start()
    return time.time() - start if start is not None else time.perf_counter() - _T0


def _exit_after_shown(app: Any, window: Any, wait_ready: bool) -> None:
    """Measurement hook: print when the window is first painted (and ready), then quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__(window)
            self.shown = False

        def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt API
            if not self.shown and event.type() == QEvent.Type.Paint:
                self.shown = True
                print(f"TILIK_WINDOW_SHOWN {seconds_since_start():.3f}", flush=True)
                QTimer.singleShot(0, self.check)
            return False

        def check(self) -> None:
            if wait_ready and not window.is_ready():
                QTimer.singleShot(5, self.check)
                return
            if wait_ready:
                print(f"TILIK_WINDOW_READY {seconds_since_start():.3f}", flush=True)
            window.close()
            app.quit()

    window.installEventFilter(FirstPaint())


def _process_start() -> float | None:
    """Wall-clock time this process started (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        hz = os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + ticks / hz
    except (OSError, ValueError, IndexError):
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
