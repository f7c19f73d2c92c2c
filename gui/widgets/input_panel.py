"""Left column of the Inspect tab: open/folder/paste buttons, the camera, and the mode's form."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton,
                               QScrollArea, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from gui.widgets.camera import CameraPanel
from gui.widgets.common import Banner, call_later
from gui.widgets.seal_form import SealForm


class SignaturePanel(QGroupBox):
    """Skeleton of the signature workflow: find/enrol a customer, their references, the query.

    Disabled with a plain notice until a signature verification pack is installed.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.notice = Banner("info")
        self.notice.setObjectName("signatureNotice")
        layout.addWidget(self.notice)
        row = QHBoxLayout()
        self.customer = QLineEdit()
        self.customer.setObjectName("customerId")
        self.find_button = QPushButton()
        row.addWidget(self.customer, 1)
        row.addWidget(self.find_button)
        layout.addLayout(row)
        self.gallery_title = QLabel()
        layout.addWidget(self.gallery_title)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setMinimumHeight(80)
        self.gallery.setMaximumHeight(120)
        layout.addWidget(self.gallery)
        self.enrol_button = QPushButton()
        layout.addWidget(self.enrol_button)
        self.score = QLabel()
        self.score.setWordWrap(True)
        layout.addWidget(self.score)
        self.available = False
        self.set_available(False)
        self.retranslate()

    def set_available(self, available: bool, reason: str = "") -> None:
        self.available = available
        self.reason = reason
        for w in (self.customer, self.find_button, self.gallery, self.enrol_button):
            w.setEnabled(available)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Signature verification"))
        if self.available:
            self.notice.set_text(self.tr("Signature verification is not available in this version yet."))
        else:
            self.notice.set_text(self.reason or self.tr("Signature verification pack not installed"))
        self.customer.setPlaceholderText(self.tr("Customer ID or name"))
        self.find_button.setText(self.tr("Find"))
        self.gallery_title.setText(self.tr("Reference signatures:"))
        self.enrol_button.setText(self.tr("Enrol references…"))
        self.score.setText(self.tr("Score against threshold: —"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class InputPanel(QScrollArea):
    """Where images come from. The buttons share the window's actions (text, shortcut, enabled)."""

    def __init__(self, open_action: QAction, folder_action: QAction, paste_action: QAction,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(280)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)

        self.open_box = QGroupBox()
        box = QVBoxLayout(self.open_box)
        self.buttons: list[QToolButton] = []
        for action in (open_action, folder_action, paste_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            box.addWidget(button)
            self.buttons.append(button)
        self.drop_hint = QLabel()
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setStyleSheet("color: #607d8b;")
        box.addWidget(self.drop_hint)
        layout.addWidget(self.open_box)

        self.seal_form = SealForm()
        layout.addWidget(self.seal_form)
        self.signature_panel = SignaturePanel()
        layout.addWidget(self.signature_panel)
        self.camera = CameraPanel()
        layout.addWidget(self.camera)
        layout.addStretch(1)
        self._fit_pending = False
        body.installEventFilter(self)
        self.set_mode("general")
        self.retranslate()

    def eventFilter(self, watched: object, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            if not self._fit_pending:
                self._fit_pending = True
                call_later(self, 0, self._fit_width)
        return super().eventFilter(watched, event)

    def set_mode(self, mode: str) -> None:
        self.seal_form.setVisible(mode == "seal")
        self.signature_panel.setVisible(mode == "signature")
        self._fit_width()

    def _fit_width(self) -> None:
        """Never clip the form: at least as wide as its content (which changes with the language)."""
        self._fit_pending = False
        body = self.widget()
        needed = body.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 4
        if needed != self.minimumWidth() and needed > 280:
            self.setMinimumWidth(needed)

    def retranslate(self) -> None:
        self.open_box.setTitle(self.tr("Images"))
        self.drop_hint.setText(self.tr("Or drop image files or folders anywhere on this window."))
        self._fit_width()
        call_later(self, 0, self._fit_width)  # again once the forms inside have retranslated

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
