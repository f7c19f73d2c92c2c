"""Packs and modes: scanning the pack folders (in a worker), the mode's pack list in the toolbar's
combo box, the chosen pack's model loaded ahead of the first image (in a worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox

from gui import modes
from gui.state import AppState
from gui.tasks import Latest, TaskRunner
from gui.widgets.common import icon
from gui.workers import Failure


def scan_packs(folders: list[tuple[Path, str]]) -> list[Any]:
    """Every pack in ``folders`` (runs in a worker: it hashes every model file)."""
    from inference.registry import PackRegistry

    return PackRegistry(folders).all()


def pack_title(pack: Any) -> str:
    """The pack's name in the app's language (the manifest's words) and its version."""
    from gui import wording

    return f"{wording.pack_word(pack.id, 'name', '', pack.manifest.name)} — {pack.version}"


class PacksController(QObject):
    mode_applied = Signal(str)  # the mode (and its pack) changed: the window updates what it shows
    scanned = Signal()

    def __init__(self, state: AppState, runner: TaskRunner, combo: QComboBox,
                 caches: Callable[[], list[Any]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.combo = state, runner, combo
        self.caches = caches  # (inspectors, verifiers): the model caches, cleared when the packs change
        self._prepare = Latest()
        combo.currentIndexChanged.connect(self._combo_changed)

    def reload(self) -> None:
        self.runner.read(scan_packs, self.state.pack_folders(), on_ok=self._scanned, on_fail=self._scan_failed)

    def _scanned(self, packs: list[Any]) -> None:
        for cache in self.caches():
            cache.clear()
        self.state.all_packs, self.state.packs_loaded = list(packs), True
        if not self.state.mode:  # first start: the first mode that has a pack (a remembered mode stays, and says why)
            self.state.mode = next((m for m in ("seal", "skin", "general", "signature")
                                    if self.state.usable_packs(m)), "general")
        self.set_mode(self.state.mode, force=True)
        self.state.packs_changed.emit()
        self.scanned.emit()

    def _scan_failed(self, failure: Failure) -> None:
        self.state.packs_loaded = True
        self.state.fail(failure)
        self.set_mode(self.state.mode or "general", force=True)

    def set_mode(self, mode: str, force: bool = False) -> None:
        if not modes.known(mode) or (mode == self.state.mode and not force):
            return
        self.state.set_mode(mode)
        packs = self.state.usable_packs(mode)
        self.combo.blockSignals(True)
        self.combo.clear()
        for pack in packs:
            self.combo.addItem(icon(modes.spec(mode).icon), pack_title(pack), pack.id)
        default = self.state.settings.default_pack(mode)
        idx = self.combo.findData(default) if default else -1
        self.combo.setCurrentIndex(idx if idx >= 0 else (0 if packs else -1))
        self.combo.setEnabled(bool(packs))
        self.combo.blockSignals(False)
        self._select(packs[self.combo.currentIndex()] if packs else None)

    def retranslate(self) -> None:
        for i in range(self.combo.count()):  # pack names are per-language data in the manifest
            pack = next((p for p in self.state.usable_packs(self.state.mode) if p.id == self.combo.itemData(i)), None)
            if pack is not None:
                self.combo.setItemText(i, pack_title(pack))

    def _combo_changed(self, index: int) -> None:
        packs = self.state.usable_packs(self.state.mode)
        if 0 <= index < len(packs):
            self._select(packs[index])

    def _select(self, pack: Any) -> None:
        state = self.state
        state.set_pack(pack)
        if pack is not None:
            inspectors, verifiers = self.caches()
            getter = verifiers.get if pack.manifest.task == "verify" else inspectors.get

            def ready(inspector: Any) -> None:
                if state.pack is not None and inspector.pack.folder == state.pack.folder:
                    state.set_provider(inspector.provider)

            def failed(failure: Failure) -> None:
                state.pack_problems[str(pack.folder)] = failure.message
                if failure.trace:
                    state.fail(failure)
                if state.pack is pack:
                    self.set_mode(state.mode, force=True)

            self._prepare.set(self.runner.read(getter, pack, state.settings.provider_argument(), on_ok=ready,
                                               on_fail=failed))
        self.mode_applied.emit(state.mode)

    def apply_settings(self, changed: dict[str, Any]) -> None:
        """What the settings dialog changed about packs and where models run."""
        if "threads" in changed:
            from inference.providers import set_threads

            set_threads(changed["threads"] or None)  # sessions are keyed by it: new ones get it
        if "provider" in changed or "threads" in changed:
            for cache in self.caches():
                cache.clear()
            from inference.inspector import clear_session_cache

            clear_session_cache()
        if "packs_dir" in changed:
            self.reload()
        elif "provider" in changed or "threads" in changed or any(k.startswith("default_") for k in changed):
            self.set_mode(self.state.mode, force=True)
