"""Dialogs of Signature mode: enrolling reference signatures, retiring one."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QListWidget, QVBoxLayout,
                               QWidget)


class EnrolDialog(QDialog):
    """Which document the specimen signatures come from (required), and a note; who and when are
    recorded by the log (the operator from Settings, now)."""

    def __init__(self, customer: str, paths: Sequence[str | Path], enrolled_by: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enrolDialog")
        self.paths = [str(p) for p in paths]
        self.setWindowTitle(self.tr("Enrol reference signatures"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Enrol {n} specimen signature(s) of customer “{id}”. They stay in the inspection "
                               "log; a reference is retired, never deleted.").format(n=len(self.paths), id=customer))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.files = QListWidget()
        self.files.setObjectName("enrolFiles")
        for p in self.paths:
            self.files.addItem(Path(p).name)
            self.files.item(self.files.count() - 1).setToolTip(p)
        self.files.setMaximumHeight(110)
        layout.addWidget(self.files)
        form = QFormLayout()
        self.document = QLineEdit()
        self.document.setObjectName("enrolDocument")
        self.document.setPlaceholderText(self.tr("e.g. account opening form 2024-117, ID card"))
        self.note = QLineEdit()
        self.note.setObjectName("enrolNote")
        self.note.setPlaceholderText(self.tr("optional"))
        doc_label = QLabel(self.tr("From &document:"))
        doc_label.setBuddy(self.document)
        note_label = QLabel(self.tr("&Note:"))
        note_label.setBuddy(self.note)
        form.addRow(doc_label, self.document)
        form.addRow(note_label, self.note)
        form.addRow(QLabel(self.tr("Enrolled by:")), QLabel(enrolled_by or self.tr("(set your name in Settings)")))
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Enrol"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.document.textChanged.connect(self._update)
        self._update()
        self.resize(480, self.sizeHint().height())

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.document.text().strip()))

    def values(self) -> tuple[list[str], str, str]:
        return self.paths, self.document.text().strip(), self.note.text().strip()


class RetireDialog(QDialog):
    """Why a reference is retired (required): it stays in the log, marked retired."""

    def __init__(self, ref_id: int, customer: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("retireDialog")
        self.ref_id = ref_id
        self.setWindowTitle(self.tr("Retire reference signature"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Retire reference #{id} of customer “{customer}”? New checks will not use it; the "
                               "log keeps it, marked retired, with your name and reason.").format(
                                   id=ref_id, customer=customer))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.why = QLineEdit()
        self.why.setObjectName("retireWhy")
        self.why.setPlaceholderText(self.tr("e.g. signature changed, poor scan, not the customer's"))
        label = QLabel(self.tr("&Reason:"))
        label.setBuddy(self.why)
        form.addRow(label, self.why)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Retire"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.why.textChanged.connect(self._update)
        self._update()
        self.resize(440, self.sizeHint().height())

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.why.text().strip()))

    def reason(self) -> str:
        return self.why.text().strip()
