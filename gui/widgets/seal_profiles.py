"""The "Seal profiles" panel of Seal mode (issue 25): enrol a site's intact seals, see each profile's
photos and threshold, choose the profile that judges, retire one.

Self-contained: the panel does no disk or model work on the GUI thread. Everything that reads or
writes profiles or runs the model goes through ``run(job, on_done, on_error)``, the callable the
host passes in (the window's background-task runner: ``job()`` runs off the GUI thread, the
callbacks on it). Without one, jobs run at once (tests, a quick look). The model comes from
``inspector()``, a callable giving the Seal-mode pack's :class:`~inference.inspector.Inspector`
(called inside the job, so loading it is off the GUI thread too).

Signals for the host: ``activeProfileChanged(object)`` (a :class:`~inference.profiles.Profile` or
None: pass it to ``Inspector.use_profile``), ``profilesChanged()``, ``busyChanged(bool)``.
Slots: :meth:`refresh`, :meth:`add_camera_frame` (a captured frame, QImage or RGB array),
:meth:`clear_camera_frames`, :meth:`enrol_files`, :meth:`enrol_camera_frames`, :meth:`set_active`,
:meth:`retire_selected`.

Its words are in English and Bahasa Indonesia (:data:`WORDS`, by the app's language), kept here so
the panel needs nothing from the shared translation file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout, QWidget)

Runner = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Seal profiles",
        "intro": "A profile learns what your site's intact seals look like from 10–50 photos of one seal type, "
                 "and flags photos that depart from them.",
        "name": "Name of a new profile, e.g. Gate 3 bolt seals",
        "from_files": "Enrol from files…",
        "from_camera": "Enrol from {n} camera frames",
        "use": "Judge with this profile",
        "none": "Judge without a profile",
        "retire": "Retire…",
        "row": "{name} — {n} photos · threshold {threshold:.2f} at {far:g}% false alarms",
        "active": "Judging with: {name}",
        "no_active": "Judging with the pack's classifier alone (no profile).",
        "empty": "No profiles yet: enrol photos of intact seals of one type.",
        "working": "Working…",
        "need_name": "Give the new profile a name first.",
        "enrolled": "Enrolled “{name}” from {n} photos in {s:.1f} s.",
        "left_out": " Left out: {list}.",
        "retired": "Retired “{name}”: it judges no more photos; records made with it can still be checked.",
        "confirm": "Retire the profile “{name}”? It will judge no more photos. It stays on disk so that records "
                   "made with it can still be checked.",
        "unusable": "Unusable profile: {error}",
        "pick": "Photos of intact seals (10–50)",
    },
    "id": {
        "title": "Profil segel",
        "intro": "Profil mempelajari rupa segel utuh di lokasi Anda dari 10–50 foto satu jenis segel, lalu menandai "
                 "foto yang menyimpang darinya.",
        "name": "Nama profil baru, mis. Segel baut Gerbang 3",
        "from_files": "Daftarkan dari berkas…",
        "from_camera": "Daftarkan dari {n} bingkai kamera",
        "use": "Nilai dengan profil ini",
        "none": "Nilai tanpa profil",
        "retire": "Pensiunkan…",
        "row": "{name} — {n} foto · ambang {threshold:.2f} pada {far:g}% alarm palsu",
        "active": "Dinilai dengan: {name}",
        "no_active": "Dinilai dengan pengklasifikasi paket saja (tanpa profil).",
        "empty": "Belum ada profil: daftarkan foto segel utuh dari satu jenis.",
        "working": "Sedang bekerja…",
        "need_name": "Beri nama profil baru terlebih dahulu.",
        "enrolled": "“{name}” didaftarkan dari {n} foto dalam {s:.1f} dtk.",
        "left_out": " Tidak dipakai: {list}.",
        "retired": "“{name}” dipensiunkan: tidak lagi menilai foto; catatan yang dibuat dengannya tetap dapat diperiksa.",
        "confirm": "Pensiunkan profil “{name}”? Profil ini tidak akan menilai foto lagi. Profil tetap tersimpan agar "
                   "catatan yang dibuat dengannya tetap dapat diperiksa.",
        "unusable": "Profil tidak dapat dipakai: {error}",
        "pick": "Foto segel utuh (10–50)",
    },
}


def _language() -> str:
    try:
        from gui.wording import current_language

        return current_language()
    except Exception:  # noqa: BLE001 - no language manager yet (a bare test): English
        return "en"


def _run_now(job: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> None:
    try:
        result = job()
    except Exception as exc:  # noqa: BLE001 - handed to the panel's error display
        on_error(exc)
        return
    on_done(result)


def _rgb_of(frame: Any) -> np.ndarray:
    if isinstance(frame, QImage):
        img = frame.convertToFormat(QImage.Format.Format_RGB888)
        w, h, stride = img.width(), img.height(), img.bytesPerLine()
        return np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)[:, :w * 3] \
            .reshape(h, w, 3).copy()
    return np.ascontiguousarray(frame, dtype=np.uint8)


class SealProfilesPanel(QGroupBox):
    activeProfileChanged = Signal(object)
    profilesChanged = Signal()
    busyChanged = Signal(bool)

    def __init__(self, inspector: Callable[[], Any], run: Runner | None = None, *, store: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sealProfiles")
        self._inspector = inspector
        self._run = run or _run_now
        self._store = store
        self._profiles: list[Any] = []
        self._active: Any = None
        self._frames: list[np.ndarray] = []
        self._busy = False
        self.words = WORDS.get(_language(), WORDS["en"])
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.list = QListWidget()
        self.list.setObjectName("profileList")
        self.list.setIconSize(QSize(40, 40))
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._show_selected)
        layout.addWidget(self.list, 2)
        self.thumbs = QListWidget()
        self.thumbs.setObjectName("profileThumbs")
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(64, 64))
        self.thumbs.setFlow(QListWidget.Flow.LeftToRight)
        self.thumbs.setWrapping(False)
        self.thumbs.setFixedHeight(100)
        self.thumbs.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.thumbs)
        self.use_button = QPushButton(objectName="profileUse")
        self.use_button.clicked.connect(lambda: self.set_active(self._selected()))
        self.none_button = QPushButton(objectName="profileNone")
        self.none_button.clicked.connect(lambda: self.set_active(None))
        self.retire_button = QPushButton(objectName="profileRetire")
        self.retire_button.clicked.connect(lambda: self.retire_selected(confirm=True))
        # One button per line: the panel sits in a narrow column beside the verdict (≤ 320 px), and
        # the Indonesian labels are longer still; side by side they were cut off.
        for b in (self.use_button, self.none_button, self.retire_button):
            layout.addWidget(b)
        self.name = QLineEdit(objectName="profileName")
        layout.addWidget(self.name)
        self.files_button = QPushButton(objectName="profileFromFiles")
        self.files_button.clicked.connect(self._pick_files)
        self.camera_button = QPushButton(objectName="profileFromCamera")
        self.camera_button.clicked.connect(self.enrol_camera_frames)
        layout.addWidget(self.files_button)
        layout.addWidget(self.camera_button)
        self.active_label = QLabel(objectName="profileActive")
        self.active_label.setWordWrap(True)
        layout.addWidget(self.active_label)
        self.status = QLabel(objectName="profileStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.retranslate()
        self.refresh()

    def bind(self, inspector: Callable[[], Any], run: Runner) -> None:
        """Attach the host's seal Inspector getter and task runner (the app's Seal controller does this
        once the panel exists), then read the profiles through it."""
        self._inspector = inspector
        self._run = run
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        # The app switched language (Settings): the panel's words follow, like every Qt-translated widget.
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if not self._busy:
                self._listed([p for p in self._profiles if p is not None])
        super().changeEvent(event)

    # -- words --------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.words = w = WORDS.get(_language(), WORDS["en"])
        self.setTitle(w["title"])
        self.intro.setText(w["intro"])
        self.name.setPlaceholderText(w["name"])
        self.files_button.setText(w["from_files"])
        self.use_button.setText(w["use"])
        self.none_button.setText(w["none"])
        self.retire_button.setText(w["retire"])
        self._update()

    # -- state --------------------------------------------------------------------------------------
    @property
    def active_profile(self) -> Any:
        return self._active

    @property
    def busy(self) -> bool:
        return self._busy

    def _selected(self) -> Any:
        row = self.list.currentRow()
        item = self._profiles[row] if 0 <= row < len(self._profiles) else None
        return item if item is not None and not isinstance(item, Exception) else None

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self.status.setText(self.words["working"])
        self._update()
        self.busyChanged.emit(busy)

    def _update(self) -> None:
        w = self.words
        selected = self._selected()
        idle = not self._busy
        self.use_button.setEnabled(idle and selected is not None and selected is not self._active)
        self.none_button.setEnabled(idle and self._active is not None)
        self.retire_button.setEnabled(idle and selected is not None)
        self.files_button.setEnabled(idle)
        self.camera_button.setText(w["from_camera"].format(n=len(self._frames)))
        self.camera_button.setEnabled(idle and len(self._frames) >= 10)
        self.active_label.setText(w["active"].format(name=self._active.name) if self._active is not None
                                  else w["no_active"])

    def _store_now(self) -> Any:
        if self._store is None:
            from inference.profiles import ProfileStore

            self._store = ProfileStore()
        return self._store

    def show_error(self, exc: BaseException) -> None:
        """Say in the panel why the last action failed (in the app's language)."""
        self._error(exc)

    def _error(self, exc: BaseException) -> None:
        from gui.wording import error_message

        self._set_busy(False)
        self.status.setText(error_message(exc))

    # -- slots ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the profiles again (off the GUI thread through the runner)."""
        self._set_busy(True)
        self._run(lambda: self._store_now().list(), self._listed, self._error)

    def _relist(self, message: str) -> None:
        """Read the profiles again, then say ``message``."""
        store = self._store_now()

        def listed(profiles: list[Any]) -> None:
            self._listed(profiles)
            self.status.setText(message)

        self._set_busy(True)
        self._run(lambda: store.list(), listed, self._error)

    def _listed(self, profiles: list[Any]) -> None:
        self._profiles = list(profiles)
        keep = self._active.id if self._active is not None else None
        self.list.clear()
        w = self.words
        for p in self._profiles:
            if isinstance(p, Exception):
                item = QListWidgetItem(w["unusable"].format(error=p))
                item.setForeground(Qt.GlobalColor.darkRed)
            else:
                item = QListWidgetItem(w["row"].format(name=p.name, n=len(p.content["images"]),
                                                       threshold=p.threshold,
                                                       far=100 * float(p.content["false_alarm_rate"])))
                thumbs = p.thumbnails()
                if thumbs:
                    item.setIcon(QIcon(str(thumbs[0])))
                if p.id == keep:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
            self.list.addItem(item)
        if not self._profiles:
            self.list.addItem(QListWidgetItem(w["empty"]))
            self._profiles = [None]
        if keep is not None and not any(getattr(p, "id", None) == keep for p in self._profiles):
            self.set_active(None)  # retired or edited meanwhile
        self._set_busy(False)
        self.status.setText("")
        if self.list.currentRow() < 0 and self._profiles and self._profiles[0] is not None:
            self.list.setCurrentRow(0)
        self.profilesChanged.emit()

    def _show_selected(self, _row: int) -> None:
        self.thumbs.clear()
        p = self._selected()
        if p is not None:
            for path in p.thumbnails():
                item = QListWidgetItem(QIcon(QPixmap(str(path))), "")
                item.setToolTip(Path(path).name)
                self.thumbs.addItem(item)
        self._update()

    def set_active(self, profile: Any) -> None:
        """Judge with ``profile`` (None: the classifier alone); the host hears activeProfileChanged."""
        self._active = profile
        self._listed_bold()
        self._update()
        self.activeProfileChanged.emit(profile)

    def _listed_bold(self) -> None:
        for row, p in enumerate(self._profiles):
            item = self.list.item(row)
            if item is None or p is None or isinstance(p, Exception):
                continue
            font = QFont(item.font())
            font.setBold(self._active is not None and p.id == self._active.id)
            item.setFont(font)

    def add_camera_frame(self, frame: Any) -> None:
        """Keep a captured camera frame (QImage or RGB array) for enrolling."""
        self._frames.append(_rgb_of(frame))
        self._update()

    def clear_camera_frames(self) -> None:
        self._frames.clear()
        self._update()

    def _pick_files(self) -> None:
        if not self.name.text().strip():
            self.status.setText(self.words["need_name"])
            return
        paths, _ = QFileDialog.getOpenFileNames(self, self.words["pick"], "",
                                                "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp)")
        if paths:
            self.enrol_files(paths)

    def enrol_files(self, paths: Sequence[str | Path], name: str | None = None) -> None:
        self._enrol([Path(p) for p in paths], [str(p) for p in paths], name)

    def enrol_camera_frames(self, name: str | None = None) -> None:
        frames = list(self._frames)
        self._enrol(frames, [f"camera frame {i + 1}" for i in range(len(frames))], name, clear_frames=True)

    def _enrol(self, images: list[Any], names: list[str], name: str | None, clear_frames: bool = False) -> None:
        name = (name if name is not None else self.name.text()).strip()
        if not name:
            self.status.setText(self.words["need_name"])
            return
        store = self._store_now()

        def job() -> Any:
            from inference.profiles.enrol import enrol

            return enrol(self._inspector(), name, images, names=names, store=store)

        def done(enrolment: Any) -> None:
            if clear_frames:
                self._frames.clear()
            self.name.clear()
            self._active = enrolment.profile  # a new profile is the one wanted now
            self.activeProfileChanged.emit(enrolment.profile)
            w = self.words
            text = w["enrolled"].format(name=enrolment.profile.name, n=len(enrolment.profile.content["images"]),
                                        s=enrolment.seconds)
            if enrolment.skipped:
                text += w["left_out"].format(list=", ".join(Path(s.source).name for s in enrolment.skipped))
            self._relist(text)

        self._set_busy(True)
        self._run(job, done, self._error)

    def retire_selected(self, confirm: bool = True) -> None:
        p = self._selected()
        if p is None:
            return
        if confirm and QMessageBox.question(self, self.words["retire"], self.words["confirm"].format(name=p.name)) \
                != QMessageBox.StandardButton.Yes:
            return
        store = self._store_now()

        def done(retired: Any) -> None:
            if self._active is not None and self._active.id == retired.id:
                self.set_active(None)
            self._relist(self.words["retired"].format(name=retired.name))

        self._set_busy(True)
        self._run(lambda: store.retire(p.id), done, self._error)
