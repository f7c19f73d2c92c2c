"""Left column of the Inspect tab: open/folder/paste buttons, the camera, and the mode's form."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from gui.widgets.camera import CameraPanel
from gui.widgets.common import Banner, call_later
from gui.widgets.seal_form import SealForm
from gui.widgets.skin_form import SkinForm

THUMB_SIZE = (100, 50)  # as gui.signature_worker.THUMB_SIZE (signatures are wide)


class ReferenceGallery(QListWidget):
    """Thumbnails of a customer's reference signatures; image files dropped here are enrolled."""

    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(*THUMB_SIZE))
        self.setGridSize(QSize(THUMB_SIZE[0] + 12, THUMB_SIZE[1] + 40))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWrapping(True)
        self.setWordWrap(True)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QListWidget.DragDropMode.DropOnly)
        self.setMinimumHeight(2 * (THUMB_SIZE[1] + 40) + 8)  # two rows of references without scrolling
        self.setMaximumHeight(3 * (THUMB_SIZE[1] + 40) + 8)

    def _files(self, event: Any) -> list[str]:
        md = event.mimeData()
        return [u.toLocalFile() for u in md.urls() if u.isLocalFile()] if md is not None and md.hasUrls() else []

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self.isEnabled() and self._files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        files = self._files(event)
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
        else:
            event.ignore()


class SignaturePanel(QGroupBox):
    """The signature workflow's form: find or enrol a customer, their reference signatures
    (gallery, add, retire), and the document being checked. The controller
    (``gui/signature_controller.py``) does the work; this panel only shows and asks."""

    find_requested = Signal()
    enrol_requested = Signal()
    retire_requested = Signal(int)      # a reference id
    files_dropped = Signal(list)        # paths dropped on the gallery: enrol them
    show_retired_changed = Signal(bool)
    customer_edited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.notice = Banner("info")
        self.notice.setObjectName("signatureNotice")
        layout.addWidget(self.notice)
        self.customer_label = QLabel()
        self.customer_label.setWordWrap(True)
        layout.addWidget(self.customer_label)
        row = QHBoxLayout()
        self.customer = QLineEdit()
        self.customer.setObjectName("customerId")
        self.customer.setClearButtonEnabled(True)
        self.customer_label.setBuddy(self.customer)
        self.find_button = QPushButton()
        self.find_button.setObjectName("findCustomer")
        row.addWidget(self.customer, 1)
        row.addWidget(self.find_button)
        layout.addLayout(row)
        self.customer_status = QLabel()
        self.customer_status.setObjectName("customerStatus")
        self.customer_status.setWordWrap(True)
        self.customer_status.setStyleSheet("color: #455a64;")
        layout.addWidget(self.customer_status)
        self.few_banner = Banner("warning")
        self.few_banner.setObjectName("panelFewReferences")
        layout.addWidget(self.few_banner)
        self.gallery_title = QLabel()
        self.gallery_title.setWordWrap(True)
        layout.addWidget(self.gallery_title)
        self.gallery = ReferenceGallery()
        self.gallery.setObjectName("referenceGallery")
        layout.addWidget(self.gallery)
        buttons = QHBoxLayout()
        self.enrol_button = QPushButton()
        self.enrol_button.setObjectName("enrolReferences")
        self.retire_button = QPushButton()
        self.retire_button.setObjectName("retireReference")
        buttons.addWidget(self.enrol_button, 1)
        buttons.addWidget(self.retire_button)
        layout.addLayout(buttons)
        self.show_retired = QCheckBox()
        self.show_retired.setObjectName("showRetired")
        layout.addWidget(self.show_retired)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.document_label = QLabel()
        self.document_label.setWordWrap(True)
        layout.addWidget(self.document_label)
        self.document = QLineEdit()
        self.document.setObjectName("documentRef")
        self.document.setClearButtonEnabled(True)
        self.document_label.setBuddy(self.document)
        layout.addWidget(self.document)
        self.strict = QCheckBox()
        self.strict.setObjectName("strictThreshold")
        layout.addWidget(self.strict)
        self.strict_note = QLabel()
        self.strict_note.setObjectName("strictNote")
        self.strict_note.setWordWrap(True)
        self.strict_note.setStyleSheet("color: #607d8b;")
        self.strict_note.setContentsMargins(22, 0, 0, 0)
        layout.addWidget(self.strict_note)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #607d8b;")
        layout.addWidget(self.hint)

        self.find_button.clicked.connect(self.find_requested)
        self.customer.returnPressed.connect(self.find_requested)
        self.customer.textChanged.connect(self.customer_edited)
        self.enrol_button.clicked.connect(self.enrol_requested)
        self.retire_button.clicked.connect(self._retire_clicked)
        self.gallery.files_dropped.connect(self.files_dropped)
        self.gallery.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.show_retired.toggled.connect(self.show_retired_changed)

        self.available = False
        self.reason = ""
        self.loaded: str | None = None     # the customer whose references are shown
        self.active = 0
        self.retired = 0
        self.min_references = 1
        self.strict_threshold: str | None = None
        self.status_override = ""
        self.set_available(False)

    # -- state ----------------------------------------------------------------------------------
    def set_available(self, available: bool, reason: str = "") -> None:
        self.available = available
        self.reason = reason
        for w in (self.customer, self.find_button, self.gallery, self.document, self.show_retired):
            w.setEnabled(available)
        self.retranslate()

    def clear_item(self) -> None:
        """"Next document": the document checked and the high-value choice belong to one
        document; the customer and their references stay on screen."""
        self.document.clear()
        self.strict.setChecked(False)

    def customer_id(self) -> str:
        return " ".join(self.customer.text().split())

    def document_ref(self) -> str:
        return self.document.text().strip()

    def set_strict_threshold(self, text: str | None) -> None:
        """``text``: the strict threshold in words, or None when the pack has none."""
        self.strict_threshold = text
        if text is None:
            self.strict.setChecked(False)
        self.retranslate()

    def set_customer(self, customer: str | None, refs: list[Any], min_references: int, message: str = "") -> None:
        """Show ``customer``'s references (``refs`` as the log returns them, retired included)."""
        self.loaded = customer
        self.status_override = message
        self.min_references = min_references
        self.active = sum(1 for r in refs if not r.retired)
        self.retired = sum(1 for r in refs if r.retired)
        current = self.selected_reference_id()
        self.gallery.clear()
        show_retired = self.show_retired.isChecked()
        for ref in refs:
            if ref.retired and not show_retired:
                continue
            when = ref.time_utc.astimezone().strftime("%Y-%m-%d") if ref.time_utc is not None else ""
            item = QListWidgetItem(f"#{ref.id}\n{when}")
            item.setData(Qt.ItemDataRole.UserRole, ref.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, bool(ref.retired))
            item.setSizeHint(self.gallery.gridSize() - QSize(6, 6))
            tip = [self.tr("Reference #{id}").format(id=ref.id),
                   self.tr("From: {document}").format(document=ref.source_document),
                   self.tr("Enrolled by {who} on {when}").format(
                       who=ref.enrolled_by, when=ref.time_utc.astimezone().strftime("%Y-%m-%d %H:%M"))]
            if getattr(ref, "origin_station", None):
                tip.append(self.tr("Enrolled at station {station} (its reference #{id}), from the central server")
                           .format(station=ref.origin_station, id=ref.origin_id))
            if ref.note:
                tip.append(self.tr("Note: {note}").format(note=ref.note))
            if ref.retired:
                item.setText(self.tr("#{id} retired").format(id=ref.id) + "\n" + when)
                item.setForeground(QBrush(QColor("#90a4ae")))
                tip.append(self.tr("Retired by {who} on {when}: {why}").format(
                    who=ref.retired_by or "?", why=ref.retired_why or "",
                    when=ref.retired_at.astimezone().strftime("%Y-%m-%d %H:%M") if ref.retired_at else "?"))
            item.setToolTip("\n".join(tip))
            item.setIcon(QIcon(self._blank_pixmap()))
            self.gallery.addItem(item)
            if ref.id == current:
                self.gallery.setCurrentItem(item)
        self.retranslate()

    def _blank_pixmap(self) -> QPixmap:
        pix = QPixmap(*THUMB_SIZE)
        pix.fill(QColor("#f5f5f5"))
        return pix

    def set_thumbnail(self, ref_id: int, image: QImage | None) -> None:
        for i in range(self.gallery.count()):
            item = self.gallery.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == ref_id and image is not None and not image.isNull():
                pix = QPixmap(*THUMB_SIZE)
                pix.fill(QColor("white"))
                painter = QPainter(pix)
                if item.data(Qt.ItemDataRole.UserRole + 1):
                    painter.setOpacity(0.35)  # retired: greyed out
                scaled = QPixmap.fromImage(image)
                painter.drawPixmap((pix.width() - scaled.width()) // 2, (pix.height() - scaled.height()) // 2, scaled)
                painter.end()
                item.setIcon(QIcon(pix))

    def gallery_ids(self) -> list[int]:
        return [self.gallery.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.gallery.count())]

    def select_reference(self, ref_id: int) -> None:
        for i in range(self.gallery.count()):
            if self.gallery.item(i).data(Qt.ItemDataRole.UserRole) == ref_id:
                self.gallery.setCurrentRow(i)
                return

    def selected_reference_id(self) -> int | None:
        item = self.gallery.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _selected_is_retired(self) -> bool:
        item = self.gallery.currentItem()
        return bool(item is not None and item.data(Qt.ItemDataRole.UserRole + 1))

    def _retire_clicked(self) -> None:
        ref_id = self.selected_reference_id()
        if ref_id is not None and not self._selected_is_retired():
            self.retire_requested.emit(ref_id)

    def _update_buttons(self) -> None:
        typed = bool(self.customer_id())
        self.find_button.setEnabled(self.available and typed)
        self.enrol_button.setEnabled(self.available and self.loaded is not None)
        self.retire_button.setEnabled(self.available and self.loaded is not None and
                                      self.selected_reference_id() is not None and not self._selected_is_retired())
        self.strict.setEnabled(self.available and self.strict_threshold is not None)

    # -- text -----------------------------------------------------------------------------------
    def status_text(self) -> str:
        if self.status_override:
            return self.status_override
        if self.loaded is None:
            if self.customer_id():
                return self.tr("Press Enter or Find to load this customer's reference signatures.")
            return self.tr("Type the customer or account id and press Find.")
        if self.active == 0 and self.retired == 0:
            return self.tr("New customer “{id}”: no reference signatures yet. Add their specimen signatures to "
                           "enrol them.").format(id=self.loaded)
        text = self.tr("Customer “{id}”: {n} active reference signature(s)").format(id=self.loaded, n=self.active)
        if self.retired:
            text += " " + self.tr("({n} retired)").format(n=self.retired)
        return text + "."

    def retranslate(self) -> None:
        self.setTitle(self.tr("Signature verification"))
        self.notice.set_text(self.reason or self.tr("Signature verification pack not installed"))
        self.notice.setVisible(not self.available)
        self.customer_label.setText(self.tr("&Customer or account id:"))
        self.customer.setPlaceholderText(self.tr("e.g. 0012-3456-78"))
        self.find_button.setText(self.tr("Find"))
        self.find_button.setToolTip(self.tr("Load this customer's reference signatures (Enter)"))
        self.customer_status.setText(self.status_text() if self.available else "")
        few = self.available and self.loaded is not None and 0 < self.active < self.min_references
        if few:
            self.few_banner.set_text(self.tr("Fewer than {m} references: verification is less reliable with {n}. "
                                             "Enrol more specimen signatures.").format(m=self.min_references,
                                                                                         n=self.active))
        self.few_banner.setVisible(few)
        self.gallery_title.setText(self.tr("Reference signatures (drop image files here to add):"))
        self.gallery.setToolTip(self.tr("The customer's specimen signatures. Hover for who enrolled each, when "
                                        "and from which document."))
        self.enrol_button.setText(self.tr("Add references…"))
        self.enrol_button.setToolTip(self.tr("Enrol specimen signatures of this customer from image files"))
        self.retire_button.setText(self.tr("Retire…"))
        self.retire_button.setToolTip(self.tr("Stop using the selected reference (it stays in the log, marked "
                                              "retired)"))
        self.show_retired.setText(self.tr("Show retired references"))
        self.document_label.setText(self.tr("&Document checked:"))
        self.document.setPlaceholderText(self.tr("cheque, slip or form number"))
        self.document.setToolTip(self.tr("Saved with the verdict in the inspection log"))
        self.strict.setText(self.tr("Hi&gh-value document"))
        if self.strict_threshold is not None:
            self.strict_note.setText(self.tr("Strict threshold {t}: fewer forgeries accepted, more genuine "
                                             "signatures sent to review.").format(t=self.strict_threshold))
        else:
            self.strict_note.setText(self.tr("This pack has no strict threshold for high-value documents."))
        self.strict.setToolTip(self.strict_note.text())
        self.hint.setText(self.tr("Then open, drop, paste or capture the signature to check."))
        self._update_buttons()

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
        self.skin_form = SkinForm()
        layout.addWidget(self.skin_form)
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
        self.skin_form.setVisible(mode == "skin")
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
