"""The application's state: packs, the current mode and pack, the inspection log and its chain.

One :class:`AppState` per window. Controllers read it and change it through its methods; the
window and the views follow its signals. It also carries the controllers' notices to whoever
shows them (status messages, failures, "show this tab"), so no controller needs the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from gui import modes
from gui.settings import Settings
from gui.workers import Failure

TAB_INSPECT, TAB_BATCH, TAB_HISTORY = 0, 1, 2


class AppState(QObject):
    packs_changed = Signal()
    mode_changed = Signal(str)
    pack_changed = Signal(object)       # Pack or None
    provider_changed = Signal(str)
    log_changed = Signal(object)        # InspectionLog or None
    chain_changed = Signal(object)      # ChainStatus or None
    log_written = Signal(object)        # InspectionRecord: an inspection is in the log
    log_grew = Signal()                 # rows were added (a batch's, a review): History is out of date
    # notices for the window
    message = Signal(str, int)          # status bar text, milliseconds (0: until replaced)
    failure = Signal(object)            # Failure: an error dialog
    show_tab = Signal(int)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.all_packs: list[Any] = []
        self.packs_loaded = False
        self.pack_problems: dict[str, str] = {}  # pack folder → why it cannot run (found when loading)
        self.mode: str = settings.last_mode or ""
        self.pack: Any = None
        self.provider_text = ""
        self.log: Any = None
        self.log_problem = ""
        self.log_opening = False
        self.chain_status: Any = None
        self.chain_text_override = ""  # a failed chain check, in words
        self.inspectors: Any = None   # the shared InspectorCache (set by the window; side panels use it)
        self.camera: Any = None       # the camera widget (set by the window): side panels may take frames

    # -- notices ---------------------------------------------------------------------------------
    def say(self, text: str, ms: int = 0) -> None:
        self.message.emit(text, ms)

    def fail(self, failure: Failure) -> None:
        self.failure.emit(failure)

    # -- packs -----------------------------------------------------------------------------------
    def set_packs(self, packs: list[Any]) -> None:
        self.all_packs = list(packs)
        self.packs_loaded = True
        self.packs_changed.emit()

    def usable_packs(self, mode: str) -> list[Any]:
        """Usable packs of ``mode``, one per id, chosen as the CLI chooses them (a user pack replaces
        a bundled one only with a strictly higher release: inference.registry.preferred)."""
        from inference.registry import preferred

        return [p for p in preferred(p for p in self.all_packs if str(p.folder) not in self.pack_problems)
                if p.manifest.mode == mode]

    def unusable_reason(self, mode: str) -> str | None:
        """Why ``mode`` cannot be used now, in words (None when it can)."""
        if not self.packs_loaded or self.usable_packs(mode):
            return None
        broken = []
        for pack in self.all_packs:
            guess = pack.manifest.mode if pack.manifest is not None else (
                mode if mode in pack.folder.name or (mode == "general" and "imagenet" in pack.folder.name) else None)
            if guess != mode:
                continue
            problem = self.pack_problems.get(str(pack.folder)) or pack.problem
            if problem:
                broken.append(QCoreApplication.translate("MainWindow", "The pack '{id}' cannot be used: {reason}")
                              .format(id=pack.id, reason=problem))
        text = modes.no_pack_text(mode)
        return text + ". " + " ".join(broken) if broken else text

    def manifest_of(self, pack_id: str | None) -> Any:
        """The manifest of the first found pack with ``pack_id`` (None when there is none)."""
        return next((p.manifest for p in self.all_packs if p.id == pack_id and p.manifest is not None), None)

    def mode_of_pack(self, pack_id: str | None) -> str:
        m = self.manifest_of(pack_id)
        return m.mode if m is not None else self.mode

    def labels_for_pack(self, pack_id: str) -> list[tuple[str, str]]:
        m = self.manifest_of(pack_id)
        return [(c.name, c.label) for c in m.classes] if m is not None else []

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.settings.last_mode = mode
        self.mode_changed.emit(mode)

    def set_pack(self, pack: Any) -> None:
        self.pack = pack
        self.provider_text = ""
        self.pack_changed.emit(pack)

    def set_provider(self, text: str) -> None:
        self.provider_text = text
        self.provider_changed.emit(text)

    def mode_available(self) -> bool:
        return self.pack is not None

    def pack_folders(self) -> list[tuple[Path, str]]:
        from inference import paths

        user = Path(self.settings.packs_dir) if self.settings.packs_dir else paths.user_packs_dir()
        return [(paths.bundled_models_dir(), "bundled"), (user, "user")]

    # -- the log ---------------------------------------------------------------------------------
    def set_log(self, log: Any, problem: str = "") -> None:
        self.log = log
        self.log_problem = problem
        self.log_opening = False
        self.chain_status = None
        self.chain_text_override = ""
        self.log_changed.emit(log)

    def set_chain(self, status: Any, failed_text: str = "") -> None:
        self.chain_status = status
        self.chain_text_override = failed_text
        self.chain_changed.emit(status)

    def not_open_text(self) -> str:
        return self.log_problem or QCoreApplication.translate("MainWindow", "the inspection log is not open")

    # -- who and where ---------------------------------------------------------------------------
    def operator(self) -> str:
        if self.settings.operator:
            return self.settings.operator
        from inference.log.recording import default_operator

        return default_operator()

    def log_kwargs(self, mode: str) -> dict[str, Any]:
        """What every log write of ``mode`` carries: who, where, and the image storage policy."""
        from inference.log.recording import default_station

        return {"operator": self.operator(), "station": self.settings.station or default_station(),
                "mode": mode, "keep_full_image": self.settings.keep_full_image()}
