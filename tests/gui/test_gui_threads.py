"""The settings dialog's model-thread count (issue #28): saved, applied to new sessions, and
inspections go on with it."""

from __future__ import annotations

import pytest

from gui_helpers import open_and_wait
from gui_packs import image, save


@pytest.fixture(autouse=True)
def _reset_threads():
    from inference.providers import set_threads

    yield
    set_threads(None)


def test_model_threads_are_saved_and_used_by_new_sessions(qtbot, make_window, gui_packs, tmp_path):
    from gui.settings import Settings
    from inference.providers import intra_op_threads

    w = make_window("general")
    dialog = w.show_settings()
    assert dialog.threads.value() == 0 and dialog.threads.specialValueText() == "Automatic"
    dialog.threads.setValue(1)
    dialog.accept()
    assert Settings(tmp_path / "settings.ini").threads == 1
    assert intra_op_threads() == 1
    qtbot.waitUntil(lambda: w.status_provider.text() == "Runs on: CPU")
    open_and_wait(qtbot, w, save(tmp_path / "b.png", image("blue")))
    assert w.current.result.label == "blue"
    session = w.inspectors.get(w.pack, w.settings.provider_argument()).loaded.session
    assert session.get_session_options().intra_op_num_threads == 1
    dialog = w.show_settings()
    dialog.threads.setValue(0)  # back to automatic
    dialog.accept()
    assert intra_op_threads() == 0
