"""GUI test fixtures: a real MainWindow over tiny packs, with settings and log in tmp_path."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

pytest.importorskip("PySide6.QtWidgets")
pytest.importorskip("pytestqt")

from gui_packs import build_gui_packs  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_the_test_s_garbage():
    """Collect each GUI test's dead windows and widgets at its end (set up first, so torn down after
    qtbot's own teardown), when no worker thread is running, instead of whenever Python's cyclic
    collector happens to run in a later test. A collected PySide receiver disconnects its signals on
    the GUI thread and may need the GIL while holding one of Qt's signal-slot mutexes; a worker of
    that later test (a PDF export building QTextDocuments, which holds the GIL while it takes such
    a mutex) then deadlocked with it once in a clean-clone run."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path, monkeypatch):
    """Even code that builds QSettings() without a file lands in tmp_path, never the user's."""
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("TILIK_SETTINGS", str(tmp_path / "settings.ini"))
    yield


@pytest.fixture
def gui_packs(tmp_path, monkeypatch) -> Path:
    folder = build_gui_packs(tmp_path / "models")
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(folder))
    return folder


@pytest.fixture
def settings(tmp_path):
    from gui.settings import Settings

    s = Settings(tmp_path / "settings.ini")
    s.operator = "Ana"
    s.station = "Gate 3"
    return s


@pytest.fixture
def make_window(qtbot, settings):
    """Build a started MainWindow (packs scanned, log open); closed and the language reset after."""
    from gui import i18n
    from gui.app import create_application
    from gui.main_window import MainWindow

    create_application([])
    windows = []

    def make(mode: str | None = None, *, probe_camera: bool = False, wait_pack: bool = True) -> MainWindow:
        if mode:
            settings.last_mode = mode
        w = MainWindow(settings, probe_camera=probe_camera)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(w.is_ready if wait_pack else (lambda: w.packs_loaded), timeout=10000)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()
    i18n.manager().install("en")


@pytest.fixture
def window(make_window, gui_packs):
    return make_window("general")

