"""Desktop app entry point. A placeholder window until the full GUI lands (issue 8)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    from inference.registry import PackRegistry

    app = QApplication.instance() or QApplication(sys.argv[:1] + list(argv or []))
    window = QMainWindow()
    window.setWindowTitle("Tilik")
    packs = PackRegistry().usable()
    text = "Tilik — the desktop window is coming.\n\nUsable packs: " + (", ".join(p.id for p in packs) or "none")
    label = QLabel(text)
    label.setMargin(24)
    window.setCentralWidget(label)
    window.resize(640, 360)
    window.show()
    return app.exec()
