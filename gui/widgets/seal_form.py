"""Seal mode: seal number, container number (ISO 6346 check digit checked as you type), seal class,
and the View–Verify–Tug–Twist checklist. Saved with the inspection.

Numbers read off the photo (issue 26, :mod:`gui.seal_reading`) pre-fill empty fields, marked
"read from photo — check" until the inspector confirms or edits them; a reading one OCR confusion
away from a valid container number is offered on a button, never filled in.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

SEAL_CLASSES = ("indicative", "security", "high-security")
CHECKLIST = ("view", "verify", "tug", "twist")

# ISO 6346 letter values: A=10 … Z=38, skipping multiples of 11.
_LETTER_VALUES: dict[str, int] = {}
_v = 10
for _c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _v % 11 == 0:
        _v += 1
    _LETTER_VALUES[_c] = _v
    _v += 1
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ]\d{7}$")


def normalise_container(text: str) -> str:
    return re.sub(r"[\s\-/]", "", text).upper()


def iso6346_check_digit(first10: str) -> int:
    """The check digit of the owner code, category and serial (10 characters)."""
    total = 0
    for i, ch in enumerate(first10):
        value = _LETTER_VALUES[ch] if ch.isalpha() else int(ch)
        total += value * (2 ** i)
    return total % 11 % 10


def container_number_problem(text: str) -> str | None:
    """None when ``text`` is a valid ISO 6346 container number; else "format" or
    "check digit X should be Y".

    Uses the log's :mod:`inference.log.iso6346` when it is installed, so the form and the log agree.
    """
    number = normalise_container(text)
    try:
        from inference.log import iso6346 as log_iso
    except ImportError:
        log_iso = None
    if log_iso is not None and hasattr(log_iso, "validate"):
        check = log_iso.validate(number)
        if check.ok:
            return None
        if check.expected_digit is None:
            return "format"
        return f"check digit {check.number[-1]} should be {check.expected_digit}"
    if not _CONTAINER.match(number):
        return "format"
    expected = iso6346_check_digit(number[:10])
    if int(number[10]) != expected:
        return f"check digit {number[10]} should be {expected}"
    return None


def format_container(number: str) -> str:
    """``CSQU3054383`` → ``CSQU 305438 3``; anything else as it is."""
    n = normalise_container(number)
    return f"{n[:4]} {n[4:10]} {n[10]}" if len(n) == 11 else number


class ContainerValidator(QValidator):
    """Accepts partial input while typing; Acceptable only with a correct check digit."""

    def validate(self, text: str, pos: int) -> object:  # noqa: D401 - Qt API
        number = normalise_container(text)
        if len(number) > 11 or not re.match(r"^[A-Za-z]{0,4}\d{0,7}$", number):
            return QValidator.State.Invalid, text, pos
        if len(number) < 11:
            return QValidator.State.Intermediate, text.upper(), pos
        state = QValidator.State.Acceptable if container_number_problem(number) is None else \
            QValidator.State.Intermediate
        return state, text.upper(), pos


class SealForm(QGroupBox):
    """The seal details an inspector fills in before opening or capturing the photo."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.seal_number = QLineEdit()
        self.seal_number.setObjectName("sealNumber")
        self.seal_number.setMaxLength(40)
        self.container_number = QLineEdit()
        self.container_number.setObjectName("containerNumber")
        self.container_number.setValidator(ContainerValidator(self.container_number))
        self.container_number.setMaxLength(14)
        self.container_status = QLabel()
        self.container_status.setObjectName("containerStatus")
        self.container_status.setWordWrap(True)
        self.container_confirm = QCheckBox()
        self.container_confirm.setObjectName("containerConfirm")
        self.container_confirm.setVisible(False)
        self.container_confirm.toggled.connect(self.changed)
        self.seal_class = QComboBox()
        self.seal_class.setObjectName("sealClass")
        for _ in SEAL_CLASSES:
            self.seal_class.addItem("")
        self.seal_class.setCurrentIndex(1)
        self.seal_label = QLabel()
        self.container_label = QLabel()
        self.class_label = QLabel()
        self.seal_label.setBuddy(self.seal_number)
        self.container_label.setBuddy(self.container_number)
        self.class_label.setBuddy(self.seal_class)
        self._build_reading_widgets()
        form.addRow(self.seal_label, self.seal_number)
        form.addRow("", self.seal_read_note)
        form.addRow(self.container_label, self.container_number)
        form.addRow("", self.container_read_note)
        form.addRow("", self.container_suggestion)
        form.addRow("", self.container_status)
        form.addRow("", self.container_confirm)
        form.addRow(self.class_label, self.seal_class)
        outer.addLayout(form)
        self.checklist_title = QLabel()
        outer.addWidget(self.checklist_title)
        self.checks: dict[str, ChecklistItem] = {}
        for key in CHECKLIST:
            item = ChecklistItem(key)
            self.checks[key] = item
            outer.addWidget(item)
            item.changed.connect(self.changed)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #607d8b;")
        outer.addWidget(self.hint)
        outer.addWidget(self.confirm_reading)
        self.container_number.textChanged.connect(self._update_container_status)
        self.container_number.textChanged.connect(self.changed)
        self.seal_number.textChanged.connect(self.changed)
        self.seal_class.currentIndexChanged.connect(self.changed)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Seal details"))
        self.seal_label.setText(self.tr("&Seal number:"))
        self.container_label.setText(self.tr("C&ontainer number:"))
        self.class_label.setText(self.tr("Seal c&lass:"))
        self.seal_number.setPlaceholderText(self.tr("as printed on the seal"))
        self.container_number.setPlaceholderText(self.tr("e.g. CSQU 305438 3"))
        self.container_number.setToolTip(self.tr("ISO 6346: owner code, category letter, six-digit serial "
                                                 "number and check digit. Checked as you type."))
        names = (self.tr("Indicative"), self.tr("Security"), self.tr("High security"))
        for i, name in enumerate(names):
            self.seal_class.setItemText(i, name)
        self.seal_class.setToolTip(self.tr("ISO 17712 seal class"))
        self.checklist_title.setText(self.tr("Checklist (View – Verify – Tug – Twist):"))
        texts = {
            "view": (self.tr("Vi&ew: no cuts, glue or repairs"),
                     self.tr("Look at the seal and the locking area of the door for cuts, glue, scratches or "
                             "repairs.")),
            "verify": (self.tr("Ve&rify: number matches the papers"),
                       self.tr("Compare the number on the seal with the shipping documents.")),
            "tug": (self.tr("T&ug: holds when pulled"),
                    self.tr("Pull the seal firmly; it must hold.")),
            "twist": (self.tr("T&wist: does not turn or separate"),
                      self.tr("Twist the seal; the parts must not turn or separate.")),
        }
        for key, (text, tip) in texts.items():
            self.checks[key].set_words(text, tip)
        self.container_confirm.setText(self.tr("I checked: it really is written this way"))
        self.container_confirm.setToolTip(self.tr("Store the number even though it does not pass the ISO 6346 "
                                                  "check"))
        self.hint.setText(self.tr("Fill these in, then open or capture the photo: they are saved with the verdict."))
        self.confirm_reading.setText(self.tr("Confirm and save"))
        self.confirm_reading.setToolTip(self.tr("The numbers are what the photo shows: save the inspection with them"))
        self._update_container_status()
        self._update_read_notes()

    def _update_container_status(self) -> None:
        text = self.container_number.text()
        number = normalise_container(text)
        full = len(number) >= 11 and container_number_problem(number) is not None
        if not full and self.container_confirm.isChecked():
            self.container_confirm.setChecked(False)
        self.container_confirm.setVisible(full)
        if not number:
            self.container_status.setText("")
            self.container_status.setStyleSheet("")
            return
        if len(number) < 11:
            self.container_status.setText(self.tr("{n} of 11 characters").format(n=len(number)))
            self.container_status.setStyleSheet("color: #607d8b;")
            return
        problem = container_number_problem(number)
        if problem is None:
            self.container_status.setText(self.tr("✓ Check digit correct"))
            self.container_status.setStyleSheet("color: #2e7d32;")
        elif problem == "format":
            self.container_status.setText(self.tr("✗ Not a container number: 3 letters, U, J or Z, then 7 digits"))
            self.container_status.setStyleSheet("color: #c62828;")
        else:
            m = re.match(r"check digit (\d) should be (\d)", problem)
            if m:
                msg = self.tr("✗ Check digit {found} is wrong: it should be {expected}. Re-read the number.").format(
                    found=m[1], expected=m[2])
            else:
                msg = "✗ " + problem
            self.container_status.setText(msg)
            self.container_status.setStyleSheet("color: #c62828;")

    def container_ok(self) -> bool:
        """True when the number is empty, valid, or confirmed as written."""
        number = normalise_container(self.container_number.text())
        return not number or container_number_problem(number) is None or self.container_confirm.isChecked()

    def values(self) -> dict[str, Any]:
        """The fields of :class:`inference.log.SealFields` (unticked checklist items are False)."""
        number = normalise_container(self.container_number.text())
        out: dict[str, Any] = {
            "seal_number": self.seal_number.text().strip(),
            "container_number": number,
            "seal_class": SEAL_CLASSES[self.seal_class.currentIndex()],
            "container_check_confirmed": bool(number) and self.container_confirm.isChecked(),
        }
        out.update({key: item.state() for key, item in self.checks.items()})  # None: not done
        return out

    def is_empty(self) -> bool:
        return not (self.seal_number.text().strip() or self.container_number.text().strip()
                    or any(item.state() is not None for item in self.checks.values()))

    def clear(self) -> None:
        self.clear_reading()
        self.seal_number.clear()
        self.container_number.clear()
        self.container_confirm.setChecked(False)
        for item in self.checks.values():
            item.set_state(None)

    def failed_checks(self) -> list[str]:
        """The checklist items marked "fail" (they force a review)."""
        return [key for key, item in self.checks.items() if item.state() is False]

    def clear_item(self) -> None:
        """"Next seal": clear what belongs to one seal (its number, the container, the checklist,
        anything read off its photo); the station's choice of seal class stays."""
        self.clear()

    # -- numbers read off the photo (issue 26) ----------------------------------------------------
    def _build_reading_widgets(self) -> None:
        self._read: dict[str, str | None] = {"seal": None, "container": None}
        self._offer: str | None = None
        self.seal_read_note = QLabel()
        self.seal_read_note.setObjectName("sealReadNote")
        self.seal_read_note.setWordWrap(True)
        self.container_read_note = QLabel()
        self.container_read_note.setObjectName("containerReadNote")
        self.container_read_note.setWordWrap(True)
        self.container_suggestion = QPushButton()
        self.container_suggestion.setObjectName("containerSuggestion")
        self.container_suggestion.clicked.connect(self._use_suggestion)
        self.confirm_reading = QPushButton()
        self.confirm_reading.setObjectName("confirmReading")
        for w in (self.seal_read_note, self.container_read_note, self.container_suggestion, self.confirm_reading):
            w.setVisible(False)
        self.seal_number.textChanged.connect(self._update_read_notes)
        self.container_number.textChanged.connect(self._update_read_notes)

    def prefill(self, container: str | None, suggestion: str | None, seal: str | None) -> None:
        """Show what was read: fill the empty fields (exactly as read, never corrected), mark them
        "read from photo — check", and offer ``suggestion`` on a button."""
        self._read = {"seal": seal or None, "container": container or None}
        self._offer = suggestion or None
        if seal and not self.seal_number.text().strip():
            self.seal_number.setText(seal)
        if container and not normalise_container(self.container_number.text()):
            self.container_number.setText(format_container(container))
        self.confirm_reading.setVisible(bool(seal or container))
        self._update_read_notes()

    def reading(self) -> dict[str, str | None]:
        """What was read off the photo (None: nothing), for the log."""
        return {"read_container_number": self._read["container"], "read_seal_number": self._read["seal"]}

    def has_reading(self) -> bool:
        return any(self._read.values())

    def clear_reading(self) -> None:
        self._read = {"seal": None, "container": None}
        self._offer = None
        self.confirm_reading.setVisible(False)
        self._update_read_notes()

    def _use_suggestion(self) -> None:
        if self._offer:
            self.container_number.setText(format_container(self._offer))  # the inspector chose it

    def _update_read_notes(self) -> None:
        if not hasattr(self, "_read"):
            return
        pairs = ((self.seal_read_note, self.seal_number, self._read["seal"], str.strip),
                 (self.container_read_note, self.container_number, self._read["container"], normalise_container))
        for note, field, read, norm in pairs:
            if not read:
                note.setVisible(False)
                field.setStyleSheet("")
                continue
            if norm(field.text()).upper() == norm(read).upper():
                note.setText(self.tr("⚠ read from photo — check"))
                note.setStyleSheet("color: #8d6e00;")
                field.setStyleSheet("background: #fff8e1;")
            else:
                note.setText(self.tr("edited — the photo reads {text}").format(text=read))
                note.setStyleSheet("color: #607d8b;")
                field.setStyleSheet("")
            note.setVisible(True)
        offer = self._offer if self._offer and normalise_container(self.container_number.text()) != self._offer else None
        self.container_suggestion.setVisible(bool(offer))
        if offer:
            self.container_suggestion.setText(self.tr("Perhaps {number}? (one letter/digit mix-up) Use it").format(
                number=format_container(offer)))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class ChecklistItem(QWidget):
    """One VVTT step with three states: not done, pass or fail (an unticked box could mean either
    "failed" or "not done"; a "fail" forces the inspection to review)."""

    changed = Signal()

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.setObjectName(f"check_{key}")
        for _ in range(3):
            self.choice.addItem("")
        self.label.setBuddy(self.choice)
        row.addWidget(self.label, 1)
        row.addWidget(self.choice)
        self.choice.currentIndexChanged.connect(self._changed)
        self._retranslate_states()

    _STATES = (None, True, False)

    def _changed(self, _index: int) -> None:
        fail = self.state() is False
        self.choice.setStyleSheet("QComboBox { color: #c62828; font-weight: bold; }" if fail else "")
        self.changed.emit()

    def _retranslate_states(self) -> None:
        for i, text in enumerate((self.tr("not done"), self.tr("pass"), self.tr("fail"))):
            self.choice.setItemText(i, text)

    def set_words(self, text: str, tip: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(tip)
        self.choice.setToolTip(tip)
        self._retranslate_states()

    def text(self) -> str:
        return self.label.text()

    def state(self) -> bool | None:
        return self._STATES[max(0, self.choice.currentIndex())]

    def set_state(self, state: bool | None) -> None:
        self.choice.setCurrentIndex(self._STATES.index(state))

    def setChecked(self, on: bool) -> None:  # noqa: N802 - what a checkbox offered: ticked = pass
        self.set_state(True if on else None)

    def isChecked(self) -> bool:  # noqa: N802
        return self.state() is True
