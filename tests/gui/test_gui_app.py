"""The application around the verdict: packs, camera, settings, language, dialogs, errors, start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from gui_helpers import close_message_boxes, open_and_wait, visible_message_boxes, wait_idle
from gui_packs import break_pack, build_gui_packs, image, save

REPO = Path(__file__).resolve().parents[2]


def test_unusable_and_missing_packs_say_why(qtbot, make_window, tmp_path, monkeypatch):
    folder = build_gui_packs(tmp_path / "models", modes=("general", "seal"))
    break_pack(folder / "seal-test")
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(folder))
    w = make_window("seal")
    assert w.mode == "seal" and w.pack is None
    text = w.mode_banner.text()
    assert w.mode_banner.isVisible()
    assert text.startswith("No seal pack installed")
    assert "seal-test" in text and "does not match the manifest's SHA-256" in text
    assert not w.act_open.isEnabled() and not w.act_folder.isEnabled()
    assert w.status_pack.text() == "Pack: none"
    w.set_mode("skin")
    assert w.mode_banner.text() == "No skin-lesion pack installed"
    w.set_mode("general")
    assert not w.mode_banner.isVisible() and w.act_open.isEnabled()
    open_and_wait(qtbot, w, save(tmp_path / "b.png", image("blue")))
    assert w.result_panel.verdict.text() == "Blue"


def test_no_camera_is_plain_and_the_rest_works(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("general")
    cam = w.camera
    cam.start_button.click()  # finds the cameras (there are none here) on first use
    message = cam.message_text()
    assert message == "No camera found" or message.startswith("Camera support is not available")
    assert cam.isVisible() and cam.message.isVisible()
    assert not cam.is_running()
    assert not cam.capture_button.isEnabled() and not w.act_capture.isEnabled()
    assert not cam.start_button.isEnabled()
    open_and_wait(qtbot, w, save(tmp_path / "g.png", image("green")))
    assert w.result_panel.verdict.text() == "Green"


def test_language_switch_to_indonesian_and_back(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    open_and_wait(qtbot, w, save(tmp_path / "r.png", image("red")))
    assert w.tabs.tabText(2) == "History"
    dialog = w.show_settings()
    dialog.language.setCurrentIndex(dialog.language.findData("id"))
    dialog.accept()
    qtbot.waitUntil(lambda: w.tabs.tabText(2) == "Riwayat")
    assert w.tabs.tabText(0) == "Periksa"
    assert w.mode_actions["seal"].text() == "Segel"
    assert w.seal_form.title() == "Detail segel"
    assert w.result_panel.verdict.text() == "Segel rusak"
    assert w.result_panel.confidence.text().startswith("Keyakinan ")
    assert "," in w.result_panel.confidence.text()  # Indonesian decimal comma
    assert w.settings.language == "id"
    dialog = w.show_settings()
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.accept()
    qtbot.waitUntil(lambda: w.tabs.tabText(2) == "History")
    assert w.result_panel.verdict.text() == "Seal damaged"


def test_settings_persist_in_the_given_file(qtbot, make_window, gui_packs, tmp_path):
    from gui.settings import Settings

    w = make_window("general")
    dialog = w.show_settings()
    dialog.operator.setText("Budi Santoso")
    dialog.station.setText("Counter 2")
    dialog.storage.setCurrentIndex(dialog.storage.findData("full"))
    dialog.provider.setCurrentIndex(dialog.provider.findData("cpu"))
    dialog.accept()
    assert "Budi Santoso" in w.status_operator.text() and "Counter 2" in w.status_operator.text()
    again = Settings(tmp_path / "settings.ini")
    assert (again.operator, again.station, again.storage_policy, again.provider) == (
        "Budi Santoso", "Counter 2", "full", "cpu")
    assert Path(w.settings.file_name) == tmp_path / "settings.ini"
    qtbot.waitUntil(lambda: w.status_provider.text() == "Runs on: CPU")
    open_and_wait(qtbot, w, save(tmp_path / "b.png", image("blue")))
    rec = w.log.query()[0]
    assert rec.operator == "Budi Santoso" and rec.image_kind == "original"


def test_model_card_dialog(qtbot, make_window, gui_packs):
    w = make_window("seal")
    w.act_card.trigger()
    dialog = w.model_card_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.windowTitle() == "Model card — Seal test pack 1.0.0"
    assert "Seal test pack" in dialog.card.toPlainText() and "Limitations" in dialog.card.toPlainText()
    from PySide6.QtGui import QTextDocument

    plot = dialog.card.document().resource(QTextDocument.ResourceType.ImageResource, QUrl("plots/confusion.png"))
    assert plot is not None and not plot.isNull()  # the card's plots resolve next to it
    facts = dialog.facts.toPlainText()
    assert "recall_damaged" in facts and "0.95" in facts and "test fixture" in facts
    dialog.close()


def test_drop_files_and_folders(qtbot, window, tmp_path):
    w = window
    one = save(tmp_path / "drop" / "one.png", image("red"))
    save(tmp_path / "drop" / "two.png", image("blue"))

    def drop(paths):
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        w.dropEvent(event)

    drop([one])
    wait_idle(qtbot, w)
    assert w.tabs.currentIndex() == 0 and w.result_panel.verdict.text() == "Red"
    with qtbot.waitSignal(w.batch_finished, timeout=10000):
        drop([tmp_path / "drop"])
    assert w.tabs.currentIndex() == 1 and w.batch_view.model.rowCount() == 2


def test_unexpected_error_gets_internal_error_dialog_and_log_file(qtbot, window, monkeypatch):
    from gui import app as gui_app

    gui_app.install_excepthook()
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    boxes = visible_message_boxes()
    assert boxes and boxes[0].objectName() == "internalErrorDialog"
    assert "RuntimeError" in boxes[0].text() and "errors.log" in boxes[0].text()
    log_file = gui_app.error_log_path()
    assert Path(os.environ["TILIK_DATA_DIR"]) in log_file.parents
    assert "boom in a slot" in log_file.read_text(encoding="utf-8")
    assert "Traceback" in boxes[0].detailedText()
    close_message_boxes()
    assert window.isVisible()


def test_tab_order_and_tooltips(window):
    w = window
    order = []
    widget = w.input_panel
    for _ in range(6):
        order.append(widget)
        widget = widget.nextInFocusChain()
    chain = [w.heat_button, w.opacity, w.colormap, w.side_button, w.image_view]
    seen = []
    widget = w.heat_button
    for _ in range(5):
        seen.append(widget)
        widget = widget.nextInFocusChain()
    assert seen == chain
    for action in (w.act_open, w.act_folder, w.act_paste, w.act_heat, w.act_card, w.act_settings):
        assert action.toolTip() and action.shortcut().toString()
    assert w.act_open.shortcut().toString() == "Ctrl+O"
    assert w.act_folder.shortcut().toString() == "Ctrl+Shift+O"
    assert w.act_capture.shortcut().toString() == "Space"


def test_tilik_starts_and_shows_the_window(tmp_path, gui_packs):
    env = dict(os.environ, TILIK_EXIT_AFTER_READY="1", QT_QPA_PLATFORM="offscreen",
               TILIK_SETTINGS=str(tmp_path / "s.ini"))
    proc = subprocess.run([sys.executable, "-c", "import sys; from tilik.cli import main; sys.exit(main([]))"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    shown = [x for x in proc.stdout.splitlines() if x.startswith("TILIK_WINDOW_SHOWN ")]
    ready = [x for x in proc.stdout.splitlines() if x.startswith("TILIK_WINDOW_READY ")]
    assert shown and ready, proc.stdout + proc.stderr
    print("window shown after", shown[0].split()[1], "s; ready after", ready[0].split()[1], "s")


def test_live_camera_frames_are_shown_not_logged_and_dropped_while_busy(qtbot, window, monkeypatch):
    from gui.workers import rgb_to_qimage

    w = window
    cam = w.camera
    monkeypatch.setattr(cam, "live_enabled", lambda: True)
    monkeypatch.setattr(cam, "is_running", lambda: True)
    frames = []
    monkeypatch.setattr(cam, "current_frame", lambda: frames[-1] if frames else None)
    sent = []
    cam.live_frame.connect(sent.append)
    frames.append(rgb_to_qimage(image("blue")))
    cam._live_tick()  # a frame goes out...
    cam._live_tick()  # ...and the next is dropped while the first is being classified
    assert len(sent) == 1
    wait_idle(qtbot, w)
    assert w.result_panel.verdict.text() == "Blue"
    assert "Live preview — not saved to the log" in w.result_panel.details.text()
    assert w.log.count() == 0
    cam._live_tick()  # free again: the next frame goes out
    assert len(sent) == 2
    wait_idle(qtbot, w)


def test_packs_folder_setting_finds_user_packs(qtbot, make_window, tmp_path, monkeypatch):
    folder = build_gui_packs(tmp_path / "models", modes=("general",))
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(folder))
    w = make_window("general")
    assert not w.usable_packs("seal")
    extra = build_gui_packs(tmp_path / "my packs", modes=("seal",))
    dialog = w.show_settings()
    dialog.packs_dir.setText(str(extra))
    dialog.accept()
    qtbot.waitUntil(lambda: bool(w.usable_packs("seal")), timeout=10000)
    w.set_mode("seal")
    assert w.pack.origin == "user" and not w.mode_banner.isVisible()


def test_log_that_cannot_be_opened_is_explained_and_inspecting_goes_on(qtbot, make_window, gui_packs, tmp_path,
                                                                       monkeypatch):
    bad = tmp_path / "not-a-log.sqlite3"
    bad.write_text("this is not a database", encoding="utf-8")
    monkeypatch.setenv("TILIK_DB", str(bad))
    w = make_window("general")
    assert w.log is None
    assert w.status_chain.text() == "Log: not available"
    assert "cannot be opened" in w.history.count_label.text()
    open_and_wait(qtbot, w, save(tmp_path / "r.png", image("red")))
    assert w.result_panel.verdict.text() == "Red"
    assert "Not saved to the log:" in w.result_panel.details.text()
    assert bad.read_text(encoding="utf-8") == "this is not a database"


def test_model_card_hides_build_paths_and_lays_out_tables(qtbot):
    """A card is rendered for its reader (issue 20): no build-machine paths, tables as tables."""
    from gui.app import create_application
    from gui.widgets.model_card import card_for_user

    create_application([])
    md = ("Built by `python -m training train /tmp/s7/seal-b9.yaml --export`.\n\n"
          "Labels: /work/main/runs/data/seal-10k/labels.csv. Source: ../shared/data/skin/SOURCE.md\n\n"
          "| metric | value |\n|---|---|\n| accuracy | 0.92 |\n")
    shown = card_for_user(md)
    assert "/tmp" not in shown and "/work" not in shown and "../shared" not in shown
    assert "seal-b9.yaml --export" in shown and "labels.csv." in shown and "SOURCE.md" in shown
    from PySide6.QtGui import QTextDocument, QTextTable

    doc = QTextDocument()
    doc.setMarkdown(shown)
    tables = [f for f in doc.rootFrame().childFrames() if isinstance(f, QTextTable)]
    assert len(tables) == 1 and (tables[0].rows(), tables[0].columns()) == (2, 2)
    real = Path(__file__).resolve().parents[2] / "models" / "seal-integrity" / "CARD.md"
    if real.is_file():
        text = card_for_user(real.read_text(encoding="utf-8"))
        assert "/work/" not in text and "/tmp/" not in text
