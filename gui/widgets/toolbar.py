"""The main toolbar: the mode buttons (from the mode registry's actions) and the pack chooser."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolBar, QToolButton, QWidget


class ModeToolbar(QToolBar):
    def __init__(self, mode_actions: dict[str, QAction], trailing: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self.setIconSize(QSize(22, 22))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.mode_label = QLabel()
        self.mode_label.setContentsMargins(6, 0, 6, 0)
        self.addWidget(self.mode_label)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, action in mode_actions.items():
            b = QToolButton()
            b.setObjectName(f"mode_{mode}")
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.mode_buttons[mode] = b
            self.addWidget(b)
        self.addSeparator()
        self.pack_label = QLabel()
        self.pack_label.setContentsMargins(6, 0, 4, 0)
        self.addWidget(self.pack_label)
        self.pack_combo = QComboBox()
        self.pack_combo.setObjectName("packCombo")
        self.pack_combo.setMinimumWidth(240)
        self.pack_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.pack_label.setBuddy(self.pack_combo)
        self.addWidget(self.pack_combo)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        for action in trailing:
            self.addAction(action)

    def retranslate(self) -> None:
        self.mode_label.setText(QCoreApplication.translate("MainWindow", "Mode:"))
        self.pack_label.setText(QCoreApplication.translate("MainWindow", "&Pack:"))
        self.pack_combo.setToolTip(QCoreApplication.translate("MainWindow", "The model pack used for this mode"))
