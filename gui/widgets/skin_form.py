"""Skin mode's form: a pseudonymous patient reference and the body site, saved with the
inspection (``inference.log.SkinFields``: the log, CSV, PDF and History filters know them)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

# Common sites; the field also takes free text.
BODY_SITES = ("", "face", "scalp", "neck", "chest", "back", "abdomen", "upper arm", "forearm", "hand", "thigh",
              "lower leg", "foot", "other")


class SkinForm(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.patient_ref = QLineEdit()
        self.patient_ref.setObjectName("patientRef")
        self.patient_ref.setMaxLength(40)
        self.patient_label = QLabel()
        self.patient_label.setBuddy(self.patient_ref)
        self.patient_note = QLabel()
        self.patient_note.setWordWrap(True)
        self.patient_note.setStyleSheet("color: #607d8b;")
        self.body_site = QComboBox()
        self.body_site.setObjectName("bodySite")
        self.body_site.setEditable(True)
        self.body_site.addItems(list(BODY_SITES))
        self.site_label = QLabel()
        self.site_label.setBuddy(self.body_site)
        form.addRow(self.patient_label, self.patient_ref)
        form.addRow("", self.patient_note)
        form.addRow(self.site_label, self.body_site)
        self.patient_ref.textChanged.connect(self.changed)
        self.body_site.currentTextChanged.connect(self.changed)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Patient"))
        self.patient_label.setText(self.tr("Patient &ref.:"))
        self.patient_ref.setPlaceholderText(self.tr("clinic number — never a name"))
        self.patient_ref.setToolTip(self.tr("A pseudonymous reference such as the clinic's patient number. Never "
                                            "type a name: the log keeps this field."))
        self.patient_note.setText(self.tr("Pseudonymous: a clinic number, never a name."))
        self.site_label.setText(self.tr("&Body site:"))

    def values(self) -> dict[str, Any]:
        """The fields of :class:`inference.log.SkinFields`."""
        return {"patient_ref": self.patient_ref.text().strip(), "body_site": self.body_site.currentText().strip()}

    def is_empty(self) -> bool:
        values = self.values()
        return not (values["patient_ref"] or values["body_site"])

    def clear_item(self) -> None:
        """"Next patient": both fields belong to one photo's patient."""
        self.patient_ref.clear()
        self.body_site.setCurrentIndex(0)
        self.body_site.setEditText("")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
