"""Small helpers for driving the window in tests."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMessageBox


def wait_idle(qtbot, w, timeout: int = 10000) -> None:
    """Until every request (model runs, loads, exports, queued log writes) has come back."""
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=timeout)


def open_and_wait(qtbot, w, path, timeout: int = 10000) -> None:
    w.open_paths([path])
    wait_idle(qtbot, w, timeout)


def visible_message_boxes() -> list[QMessageBox]:
    return [b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox) and b.isVisible()]


def close_message_boxes() -> None:
    for b in visible_message_boxes():
        b.close()


def confirm_review(qtbot, w, timeout: int = 10000) -> None:
    """Press "Record review" in the confirmation a review asks for, then wait for the write."""
    qtbot.waitUntil(lambda: any(b.objectName() == "confirmReviewDialog" for b in visible_message_boxes()),
                    timeout=timeout)
    box = next(b for b in visible_message_boxes() if b.objectName() == "confirmReviewDialog")
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_idle(qtbot, w, timeout)
