"""Crash handling: the error log file, the internal-error dialog and the exception hooks.

An unexpected error never ends the app: its traceback is appended to ``errors.log`` in the user's
data folder and the inspector sees a dialog in plain words that says where it is. This module
imports no other gui module, so anything may use it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from inference import paths

log = logging.getLogger(__name__)


def error_log_path() -> Path:
    return paths.user_data_dir() / "logs" / "errors.log"


def write_error_log(error: BaseException, trace: str | None = None) -> Path | None:
    """Append an unexpected error with its traceback to the user's error log; returns the file."""
    path = error_log_path()
    if trace is None:
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"\n=== {_dt.datetime.now().isoformat(timespec='seconds')} "
                     f"{type(error).__name__}: {error}\n{trace}")
    except OSError:
        log.exception("could not write the error log")
        return None
    return path


def install_excepthook() -> None:
    """Unhandled exceptions in Qt slots and callbacks: show an internal-error dialog, keep running."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, error, tb)
            return
        trace = "".join(traceback.format_exception(kind, error, tb))
        log.error("unhandled exception:\n%s", trace)
        try:
            from PySide6.QtCore import QThread
            from PySide6.QtWidgets import QApplication

            app = QApplication.instance()
            if app is None or QThread.currentThread() is not app.thread():
                write_error_log(error, trace)
                return
            # The window registers itself by object name: this module imports no window.
            window = next((w for w in QApplication.topLevelWidgets()
                           if w.objectName() == "mainWindow" and hasattr(w, "report_exception")), None)
            if window is not None:
                window.report_exception(error, trace)
            else:
                internal_error_dialog(None, error, write_error_log(error, trace), trace)
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            previous(kind, error, tb)

    sys.excepthook = hook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            write_error_log(args.exc_value, "".join(traceback.format_exception(
                args.exc_type, args.exc_value, args.exc_traceback)))

    threading.excepthook = thread_hook


def internal_error_dialog(parent: Any, error: BaseException, log_file: Path | None, trace: str | None) -> Any:
    """The dialog for an unexpected error: what happened in plain words, where the details went."""
    # Qt loads here, not at import: the error log is written where there is no display too.
    from PySide6.QtCore import QCoreApplication, Qt, QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QMessageBox

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
