"""The window's small dialogs: messages, known errors in plain words, unexpected errors, settings,
shortcuts, about and the model card. Each is window-modal but non-blocking (``open()``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from gui import modes
from gui.crash import internal_error_dialog, write_error_log
from gui.workers import Failure
from inference.errors import TilikError



def show_message(parent: QWidget, title: str, text: str, rich: bool = False) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    box.button(QMessageBox.StandardButton.Ok).setText(QCoreApplication.translate("MainWindow", "OK"))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    parent.last_message_box = box  # type: ignore[attr-defined]
    return box


def show_error(parent: QWidget, error: BaseException) -> QMessageBox:
    """A known problem (TilikError): plain words, no traceback."""
    from gui.wording import error_message  # in the app's language, by the error's code

    box = QMessageBox(QMessageBox.Icon.Warning, QCoreApplication.translate("MainWindow", "Tilik"), error_message(error), QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("errorDialog")
    box.button(QMessageBox.StandardButton.Ok).setText(QCoreApplication.translate("MainWindow", "OK"))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    parent.last_error_dialog = box  # type: ignore[attr-defined]
    return box


def report_exception(parent: QWidget, error: BaseException, trace: str | None = None) -> QMessageBox:
    """An unexpected error: an internal-error dialog; the traceback goes to the error log file."""
    if isinstance(error, TilikError) or (trace is None and not isinstance(error, Exception)):
        return show_error(parent, error)
    return internal_error_dialog(parent, error, write_error_log(error, trace), trace)


def report_failure(parent: QWidget, failure: Failure) -> QMessageBox:
    if failure.known or failure.trace is None:
        return show_error(parent, failure.error)
    return report_exception(parent, failure.error, failure.trace)


def shortcuts(parent: QWidget) -> QMessageBox:
    from gui import actions

    body = "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>"
                               for k, v in actions.shortcut_rows()) + "</table>"
    return show_message(parent, QCoreApplication.translate("MainWindow", "Keyboard shortcuts"), body, rich=True)


def about(parent: QWidget) -> QMessageBox:
    try:
        from importlib.metadata import version

        v = version("tilik")
    except Exception:  # noqa: BLE001
        v = "?"
    return show_message(parent, QCoreApplication.translate("MainWindow", "About Tilik"), QCoreApplication.translate("MainWindow", "Tilik {version} — offline inspection with local models. "
                                                       "No image ever leaves this computer.").format(version=v))


def settings_dialog(parent: QWidget, state: Any) -> Any:
    from gui.widgets.settings_dialog import SettingsDialog

    try:
        import onnxruntime as ort

        from inference.providers import display_name

        available = [display_name(p) for p in ort.get_available_providers() if "Azure" not in p]
    except Exception:  # noqa: BLE001
        available = ["CPU"]
    packs_by_mode = {m: state.usable_packs(m) for m in modes.ids()}
    dialog = SettingsDialog(state.settings, packs_by_mode, available, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    return dialog


def model_card(parent: QWidget, pack: Any) -> Any:
    from gui.widgets.model_card import ModelCardDialog

    dialog = ModelCardDialog(pack, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def shift_closed(parent: QWidget, closure: Any) -> QMessageBox:
    """The outcome of closing a shift: the signed head to print or copy, or why it was not closed."""
    if not closure.ok:
        return show_error(parent, RuntimeError(QCoreApplication.translate("MainWindow", "The shift was NOT closed: the log is broken at {problem}. "
                                                   "Nothing was noted; report it.").format(problem=closure.problem)))
    head = closure.head
    box = show_message(parent, QCoreApplication.translate("MainWindow", "Shift closed"), QCoreApplication.translate("MainWindow", 
        "The log was checked ({n} chained rows) and its signed head noted. Print this or send it "
        "elsewhere; `tilik log verify --anchor SEQ:HASH` proves it later.").format(n=closure.checked))
    box.setObjectName("closeShiftDialog")
    box.setDetailedText(head.text())
    box.setInformativeText(f"{head.seq}:{head.hash}")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box
