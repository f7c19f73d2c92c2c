"""Where an image goes: files, folders, the clipboard, drops and the camera are routed to the
mode's controller (inspect, signature) or to a batch; folders are listed by the core
(:func:`inference.imageio.iter_image_paths`, which skips labels.csv, Thumbs.db and the like)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from gui import modes
from gui.state import TAB_INSPECT, AppState



def image_filter() -> str:
    from inference.imageio import IMAGE_EXTENSIONS

    exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
    return QCoreApplication.translate("MainWindow", "Images ({exts});;All files (*)").format(exts=exts)


class InputRouter(QObject):
    def __init__(self, state: AppState, inspect: Any, signature: Any, batch: Any, camera: Any,
                 dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.inspect, self.signature, self.batch, self.camera = state, inspect, signature, batch, camera
        self.dialog_parent = dialog_parent
        camera.captured.connect(lambda image: self.inspect_source(image, QCoreApplication.translate("MainWindow", "camera capture"), "camera"))
        camera.live_frame.connect(self._live_frame)

    def open_files_dialog(self) -> None:
        if not self.state.mode_available():
            return
        s = self.state.settings
        files, _ = QFileDialog.getOpenFileNames(self.dialog_parent, QCoreApplication.translate("MainWindow", "Open images"), s.last_dir, image_filter())
        if files:
            s.last_dir = str(Path(files[0]).parent)
            self.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        if not self.state.mode_available():
            return
        s = self.state.settings
        folder = QFileDialog.getExistingDirectory(self.dialog_parent, QCoreApplication.translate("MainWindow", "Open a folder of images"), s.last_dir)
        if folder:
            s.last_dir = folder
            self.open_paths([Path(folder)])

    def open_paths(self, items: list[Path]) -> None:
        """One file → Inspect; several files or any folder → Batch (the core lists folders)."""
        items = [Path(p) for p in items]
        if not items:
            return
        state = self.state
        if not state.mode_available():
            state.say(state.unusable_reason(state.mode) or modes.no_pack_text(state.mode), 8000)
            return
        if len(items) == 1 and not items[0].is_dir():
            self.inspect_source(items[0], str(items[0]), "file")
        elif not modes.spec(state.mode).batch:
            state.say(QCoreApplication.translate("MainWindow", "Signature mode checks one signature at a time: open or drop a single image."), 8000)
        else:
            self.batch.start(items)

    def paste(self) -> None:
        if not self.state.mode_available():
            return
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.inspect_source(image, QCoreApplication.translate("MainWindow", "pasted image"), "paste")
                return
        if data is not None and data.hasUrls():
            local = [Path(u.toLocalFile()) for u in data.urls() if u.isLocalFile()]
            if local:
                self.open_paths(local)
                return
        self.state.say(QCoreApplication.translate("MainWindow", "The clipboard holds no image."), 6000)

    def drop(self, mime: Any) -> bool:
        local = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if local:
            self.open_paths(local)
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.inspect_source(image, QCoreApplication.translate("MainWindow", "dropped image"), "paste")
            return True
        return False

    def inspect_source(self, source: Any, name: str, origin: str) -> Any:
        """Classify (or, in Signature mode, verify) one image (path, bytes, RGB array or QImage)."""
        if not self.state.mode_available():
            return None
        if modes.spec(self.state.mode).controller == "signature":
            return self.signature.verify_source(source, name, origin)
        return self.inspect.inspect_source(source, name, origin)

    def _live_frame(self, image: QImage) -> None:
        if not self.state.mode_available():
            self.camera.set_busy(False)
            return
        self.inspect_source(image, QCoreApplication.translate("MainWindow", "live camera"), "live")

    def toggle_camera(self) -> None:
        self.state.show_tab.emit(TAB_INSPECT)
        self.camera.toggle()

    def capture(self) -> None:
        if self.camera.is_running():
            self.camera.capture()
