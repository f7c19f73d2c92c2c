"""Settings: operator and station, language, storage policy, default pack per mode, execution
provider, and where packs and the log live."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from gui.i18n import LANGUAGES
from gui.settings import MAX_THREADS, MODES, PROVIDERS, STORAGE_POLICIES, Settings
from gui.modes import mode_name


class SettingsDialog(QDialog):
    """Edits a :class:`Settings`; ``apply()`` writes them (called on OK)."""

    def __init__(self, settings: Settings, packs_by_mode: dict[str, list[Any]], available_providers: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.available_providers = available_providers
        layout = QVBoxLayout(self)

        self.who_box = QGroupBox()
        who = QFormLayout(self.who_box)
        self.operator = QLineEdit(settings.operator)
        self.operator.setObjectName("settingsOperator")
        self.station = QLineEdit(settings.station)
        self.station.setObjectName("settingsStation")
        self.operator_label, self.station_label = QLabel(), QLabel()
        self.operator_label.setBuddy(self.operator)
        self.station_label.setBuddy(self.station)
        who.addRow(self.operator_label, self.operator)
        who.addRow(self.station_label, self.station)
        self.central = QLineEdit(settings.central_url)
        self.central.setObjectName("settingsCentral")
        self.central_label = QLabel()
        self.central_label.setBuddy(self.central)
        who.addRow(self.central_label, self.central)
        self.central_error = QLabel()
        self.central_error.setObjectName("settingsCentralError")
        self.central_error.setWordWrap(True)
        self.central_error.setStyleSheet("color: #c62828;")
        self.central_error.hide()
        who.addRow("", self.central_error)
        # Four eyes by default: a supervisor may let an operator review their own inspections
        # (a one-person station); each such review says so in the log.
        self.self_review = QCheckBox()
        self.self_review.setObjectName("settingsSelfReview")
        self.self_review.setChecked(settings.allow_self_review)
        who.addRow("", self.self_review)
        layout.addWidget(self.who_box)

        self.app_box = QGroupBox()
        app = QFormLayout(self.app_box)
        self.language = QComboBox()
        self.language.setObjectName("settingsLanguage")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.storage = QComboBox()
        self.storage.setObjectName("settingsStorage")
        for code in STORAGE_POLICIES:
            self.storage.addItem("", code)
        self.storage.setCurrentIndex(max(0, self.storage.findData(settings.storage_policy)))
        self.provider = QComboBox()
        self.provider.setObjectName("settingsProvider")
        for code in PROVIDERS:
            self.provider.addItem("", code)
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider)))
        self.language_label, self.storage_label, self.provider_label = QLabel(), QLabel(), QLabel()
        self.language_label.setBuddy(self.language)
        self.storage_label.setBuddy(self.storage)
        self.provider_label.setBuddy(self.provider)
        app.addRow(self.language_label, self.language)
        app.addRow(self.storage_label, self.storage)
        app.addRow(self.provider_label, self.provider)
        self.provider_note = QLabel()
        self.provider_note.setWordWrap(True)
        self.provider_note.setStyleSheet("color: #607d8b;")
        app.addRow("", self.provider_note)
        self.threads = QSpinBox()
        self.threads.setObjectName("settingsThreads")
        self.threads.setRange(0, MAX_THREADS)
        self.threads.setValue(settings.threads)
        self.threads_label = QLabel()
        self.threads_label.setBuddy(self.threads)
        app.addRow(self.threads_label, self.threads)
        layout.addWidget(self.app_box)

        self.packs_box = QGroupBox()
        packs = QFormLayout(self.packs_box)
        self.default_packs: dict[str, QComboBox] = {}
        self.pack_labels: dict[str, QLabel] = {}
        for mode in MODES:
            combo = QComboBox()
            combo.setObjectName(f"settingsPack_{mode}")
            combo.addItem("", "")
            for pack in packs_by_mode.get(mode, []):
                from gui import wording

                combo.addItem(f"{wording.pack_word(pack.id, 'name', '', pack.manifest.name)} ({pack.id} {pack.version})",
                              pack.id)
            combo.setCurrentIndex(max(0, combo.findData(settings.default_pack(mode))))
            combo.setEnabled(combo.count() > 1)
            label = QLabel()
            label.setBuddy(combo)
            self.default_packs[mode] = combo
            self.pack_labels[mode] = label
            packs.addRow(label, combo)
        layout.addWidget(self.packs_box)

        self.paths_box = QGroupBox()
        paths = QFormLayout(self.paths_box)
        self.packs_dir = QLineEdit(settings.packs_dir)
        self.packs_dir.setObjectName("settingsPacksDir")
        self.db_path = QLineEdit(settings.db_path)
        self.db_path.setObjectName("settingsDbPath")
        self.packs_browse, self.db_browse = QPushButton(), QPushButton()
        self.packs_browse.clicked.connect(self._browse_packs)
        self.db_browse.clicked.connect(self._browse_db)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.packs_dir, 1)
        row1.addWidget(self.packs_browse)
        row2.addWidget(self.db_path, 1)
        row2.addWidget(self.db_browse)
        self.packs_dir_label, self.db_label = QLabel(), QLabel()
        self.packs_dir_label.setBuddy(self.packs_dir)
        self.db_label.setBuddy(self.db_path)
        paths.addRow(self.packs_dir_label, row1)
        paths.addRow(self.db_label, row2)
        layout.addWidget(self.paths_box)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.retranslate()

    def _browse_packs(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Packs folder"), self.packs_dir.text())
        if folder:
            self.packs_dir.setText(folder)

    def _browse_db(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Inspection log file"), self.db_path.text(),
                                              self.tr("Inspection log (*.sqlite3 *.db)"),
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.db_path.setText(path)

    def accept(self) -> None:
        """Refuse a central server address that is not a postgresql:// URL or holds a password."""
        url = self.central.text().strip()
        if url:
            from inference.errors import TilikError
            from inference.log.central.config import check_url

            try:
                check_url(url)
            except TilikError as exc:
                self.central_error.setText(str(exc))
                self.central_error.show()
                # A wrapped label's height is not in the form's size hint: give it room explicitly.
                self.central_error.setMinimumHeight(self.central_error.heightForWidth(self.central.width()))
                self.adjustSize()
                self.central.setFocus()
                return
        self.central_error.hide()
        super().accept()

    def apply(self) -> dict[str, Any]:
        """Write the dialog's values; returns what changed (key → new value)."""
        s = self.settings
        new = {
            "operator": self.operator.text().strip(),
            "station": self.station.text().strip(),
            "central_url": self.central.text().strip(),
            "language": self.language.currentData(),
            "storage_policy": self.storage.currentData(),
            "provider": self.provider.currentData(),
            "threads": self.threads.value(),
            "packs_dir": self.packs_dir.text().strip(),
            "db_path": self.db_path.text().strip(),
            "allow_self_review": self.self_review.isChecked(),
        }
        changed = {k: v for k, v in new.items() if getattr(s, k) != v}
        for k, v in new.items():
            setattr(s, k, v)
        for mode, combo in self.default_packs.items():
            value = combo.currentData() or ""
            if s.default_pack(mode) != value:
                changed[f"default_{mode}"] = value
                s.set_default_pack(mode, value)
        s.sync()
        return changed

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Settings"))
        self.who_box.setTitle(self.tr("Who and where"))
        self.operator_label.setText(self.tr("&Operator name:"))
        self.operator.setToolTip(self.tr("Saved with every inspection and review"))
        self.station_label.setText(self.tr("S&tation:"))
        self.station.setPlaceholderText(self.tr("e.g. Gate 3, Counter 2, Room B"))
        self.self_review.setText(self.tr("Allow reviewing your own inspections (one-person station)"))
        self.self_review.setToolTip(self.tr("Off: a review needs someone other than the operator who made the "
                                            "inspection. On: allowed, and each such review says so in the log."))
        self.central_label.setText(self.tr("&Central server:"))
        self.central.setPlaceholderText(self.tr("optional: postgresql://station@server/tilik"))
        self.central.setToolTip(self.tr("Where \"Find customer\" also looks for references enrolled at other "
                                        "stations. The password goes in TILIK_CENTRAL_PASSWORD or a private "
                                        "password file, never here."))
        self.app_box.setTitle(self.tr("Application"))
        self.language_label.setText(self.tr("&Language:"))
        self.storage_label.setText(self.tr("&Images in the log:"))
        self.storage.setItemText(0, self.tr("As the log's policy says (skin photos: thumbnails)"))
        self.storage.setItemText(1, self.tr("Thumbnails only (privacy)"))
        self.storage.setItemText(2, self.tr("Full images"))
        self.provider_label.setText(self.tr("&Run models on:"))
        names = {"auto": self.tr("Automatic (best available)"), "cpu": "CPU", "cuda": "CUDA (NVIDIA)",
                 "directml": "DirectML (Windows)", "coreml": "CoreML (macOS)"}
        for i, code in enumerate(PROVIDERS):
            self.provider.setItemText(i, names[code])
        self.provider_note.setText(self.tr("Available on this computer: {names}").format(
            names=", ".join(self.available_providers) or "CPU"))
        self.threads_label.setText(self.tr("&Model threads:"))
        self.threads.setSpecialValueText(self.tr("Automatic"))
        self.threads.setToolTip(self.tr("Threads each model run may use. Automatic: one per processor core "
                                        "(or TILIK_THREADS). Fewer can be faster when other programs are busy."))
        self.packs_box.setTitle(self.tr("Default pack per mode"))
        for mode, label in self.pack_labels.items():
            label.setText(mode_name(mode) + ":")
            combo = self.default_packs[mode]
            combo.setItemText(0, self.tr("(first available)") if combo.count() > 1 else self.tr("(none installed)"))
        self.paths_box.setTitle(self.tr("Folders"))
        self.packs_dir_label.setText(self.tr("&Packs folder:"))
        self.packs_dir.setPlaceholderText(self.tr("default"))
        self.db_label.setText(self.tr("Inspection lo&g:"))
        self.db_path.setPlaceholderText(self.tr("default"))
        self.packs_browse.setText(self.tr("Browse…"))
        self.db_browse.setText(self.tr("Browse…"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("OK"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
