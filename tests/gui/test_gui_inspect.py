"""The Inspect tab: each mode's verdict, the heatmap controls, bad input, superseded requests."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QProgressBar

from gui_helpers import close_message_boxes, open_and_wait, visible_message_boxes, wait_idle
from gui_packs import image, save


def bars(w) -> dict[str, str]:
    panel = w.result_panel
    labels = [x for x in panel.findChildren(QLabel, "barLabel") if x.isVisibleTo(panel)]
    values = [x for x in panel.findChildren(QLabel, "barValue") if x.isVisibleTo(panel)]
    assert len([b for b in panel.findChildren(QProgressBar, "probability") if b.isVisibleTo(panel)]) == len(labels)
    return {lab.text(): value.text() for lab, value in zip(labels, values)}


def test_general_mode_verdict_bars_heatmap_and_log(qtbot, window, tmp_path):
    w = window
    assert w.mode == "general" and w.pack.id == "colour"
    assert "Pack: colour 1.0.0" in w.status_pack.text()
    assert w.status_provider.text() == "Runs on: CPU"
    assert not w.skin_banner.isVisible()

    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    assert w.result_panel.verdict.text() == "Red"
    assert w.result_panel.confidence.text().startswith("Confidence ")
    shown = bars(w)
    assert set(shown) == {"Red", "Green", "Blue"}
    assert "top 3: Red" in w.result_panel.bars_title.text()
    assert "Saved to the log as inspection #1" in w.result_panel.details.text()
    assert w.image_view.has_image() and w.image_view.overlay_visible()
    assert w.caption.text().endswith("red.png  ·  file  ·  Heatmap of Red, the most probable class")  # the cam's class
    assert w.caption.toolTip().startswith(str(tmp_path / "red.png"))  # the whole path

    # Heatmap toggle (button and H key), opacity slider, colormap, side by side.
    w.heat_button.click()
    assert not w.image_view.overlay_visible()
    qtbot.keyClick(w.image_view, Qt.Key.Key_H)
    assert w.image_view.overlay_visible()
    w.opacity.setValue(20)
    assert abs(w.image_view.opacity() - 0.2) < 1e-6
    assert w.settings.opacity == 20
    w.colormap.setCurrentIndex(1)
    assert w.image_view.colormap() == "jet"
    width, height = w.image_view.image_size()
    w.side_button.click()
    assert w.image_view.side_by_side()
    assert w.image_view.scene().sceneRect().width() > 2 * width
    w.side_button.click()

    # Zoom and pan: zooming in past the window gives scroll bars.
    w.act_actual.trigger()
    for _ in range(8):
        w.act_zoom_in.trigger()
    assert w.image_view.zoom() > 4
    w.act_fit.trigger()

    # The verdict is in the log and the history shows it.
    assert w.log.count() == 1
    w.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: w.history.model.rowCount() == 1)
    assert "1 inspections match" in w.history.count_label.text()


def test_seal_mode_form_and_words(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    assert w.pack.id == "seal-test"
    form = w.seal_form
    assert form.isVisibleTo(w) and not w.signature_panel.isVisibleTo(w)

    # ISO 6346: a wrong check digit is flagged as you type, and blocks the inspection until fixed.
    qtbot.keyClicks(form.container_number, "CSQU3054384")
    assert "should be 3" in form.container_status.text()
    assert form.container_confirm.isVisible()
    w.open_paths([save(tmp_path / "red.png", image("red"))])
    assert "ISO 6346" in w.statusBar().currentMessage()
    assert w.log.count() == 0
    form.container_number.clear()
    qtbot.keyClicks(form.container_number, "CSQU 305438 3")
    assert "Check digit correct" in form.container_status.text()
    qtbot.keyClicks(form.seal_number, "SL-778812")
    form.seal_class.setCurrentIndex(2)
    for key in ("view", "verify", "tug"):
        form.checks[key].setChecked(True)

    open_and_wait(qtbot, w, tmp_path / "red.png")
    assert w.result_panel.verdict.text() == "Seal damaged"
    assert bars(w).keys() == {"Damaged", "Intact"}
    # the pack's heatmap shows the evidence for "damaged" whatever the verdict, and the caption says so
    assert "Heatmap of Damaged" in w.caption.text()  # the PDF's words too (inference.wording)
    rec = w.log.query()[0]
    assert rec.seal.seal_number == "SL-778812"
    assert rec.seal.container_number == "CSQU3054383"
    assert rec.seal.seal_class == "high-security"
    # Twist was left alone: "not done" (None), never read as failed (issue 21's tri-state checklist).
    assert (rec.seal.view, rec.seal.verify, rec.seal.tug, rec.seal.twist) == (True, True, True, None)
    assert rec.operator == "Ana" and rec.station == "Gate 3"

    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    assert w.result_panel.verdict.text() == "Seal intact"
    # An uncertain seal is amber with its reason.
    mixed = image("red")
    mixed[:, :, 2] = mixed[:, :, 0]
    open_and_wait(qtbot, w, save(tmp_path / "mixed.png", mixed))
    assert w.result_panel.verdict.text().endswith("— review")
    assert w.result_panel.review_banner.isVisible()
    assert "review band" in w.result_panel.review_banner.text()


def test_skin_mode_banner_and_out_of_domain_refusal(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("skin")
    assert w.skin_banner.isVisible()
    assert "Decision support only — not a diagnosis" in w.skin_banner.text()

    open_and_wait(qtbot, w, save(tmp_path / "lesion.png", image("red")))
    assert w.result_panel.verdict.text() == "Possibly malignant"
    assert not w.result_panel.ood_banner.isVisible()

    open_and_wait(qtbot, w, save(tmp_path / "grey.png", image("grey")))
    panel = w.result_panel
    assert panel.verdict.text() == "Refused: the image is blank"  # a flat grey frame: blank, so refused
    # not "no verdict": on a pack with an alarming class a refusal says it is not the calm answer
    assert panel.confidence.text().startswith("Not judged — this is not a ‘Benign’ result and does not rule out ‘Malignant’")
    assert panel.ood_banner.isVisible() and "does not judge this image" in panel.ood_banner.text()
    assert bars(w) == {} and not panel.bars_box.isVisible()
    assert not w.image_view.overlay_visible()  # no heatmap dressing up a refused verdict
    assert w.skin_banner.isVisible()


def test_mode_switching_with_keyboard(qtbot, window):
    w = window
    qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert w.mode == "seal" and w.pack.id == "seal-test"
    qtbot.keyClick(w, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert w.mode == "skin"
    qtbot.keyClick(w, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert w.mode == "signature"
    assert w.mode_banner.isVisible()
    assert "Signature verification pack not installed" in w.mode_banner.text()
    assert not w.act_open.isEnabled()
    assert w.signature_panel.isVisibleTo(w)
    qtbot.keyClick(w, Qt.Key.Key_F4)
    assert w.tabs.currentIndex() == 2
    qtbot.keyClick(w, Qt.Key.Key_F2)
    assert w.tabs.currentIndex() == 0


def test_corrupt_image_shows_error_and_app_goes_on(qtbot, window, tmp_path):
    w = window
    good = save(tmp_path / "blue.png", image("blue"))
    open_and_wait(qtbot, w, good)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(good.read_bytes()[:60])
    w.open_paths([bad])
    qtbot.waitUntil(lambda: bool(visible_message_boxes()), timeout=10000)
    box = visible_message_boxes()[0]
    assert "truncated or damaged" in box.text()
    assert "Traceback" not in box.text()
    assert w.result_panel.verdict.text() == "Could not inspect this image"
    close_message_boxes()
    # The log is untouched by the failure and still intact; the window still works.
    assert w.log.count() == 1
    assert w.log.verify_chain().ok
    open_and_wait(qtbot, w, good)
    assert w.result_panel.verdict.text() == "Blue"
    assert w.log.count() == 2


def test_superseded_request_is_dropped(qtbot, window, tmp_path):
    w = window
    red = save(tmp_path / "red.png", image("red", size=(600, 800)))
    blue = save(tmp_path / "blue.png", image("blue"))
    w.open_paths([red])
    w.open_paths([blue])
    wait_idle(qtbot, w)
    assert w.result_panel.verdict.text() == "Blue"
    assert w.log.count() == 1
    assert "1 of 1" == w.nav_label.text()


def test_previous_next_and_paste(qtbot, window, tmp_path):
    w = window
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    from gui.workers import rgb_to_qimage

    QGuiApplication.clipboard().setImage(rgb_to_qimage(image("green")))
    w.act_paste.trigger()
    wait_idle(qtbot, w)
    assert w.result_panel.verdict.text() == "Green"
    assert "pasted" in w.caption.text()
    assert w.nav_label.text() == "3 of 3"
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert w.result_panel.verdict.text() == "Blue"
    w.act_prev.trigger()
    assert w.result_panel.verdict.text() == "Red"
    assert not w.act_prev.isEnabled()
    w.act_next.trigger()
    assert w.nav_label.text() == "2 of 3"
    assert w.log.count() == 3  # the pasted image was logged too (as pixels)


def test_older_results_reload_their_picture(qtbot, window, tmp_path, monkeypatch):
    import gui.controllers.inspect as inspect_controller
    from gui.workers import rgb_to_qimage

    monkeypatch.setattr(inspect_controller, "SESSION_IMAGES", 1)
    w = window
    QGuiApplication.clipboard().setImage(rgb_to_qimage(image("green")))
    w.act_paste.trigger()
    wait_idle(qtbot, w)
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    assert [i.image is None for i in w.session] == [True, True, False]
    w.act_prev.trigger()
    wait_idle(qtbot, w)
    assert w.result_panel.verdict.text() == "Red" and w.image_view.has_image()  # from the file
    w.act_prev.trigger()
    wait_idle(qtbot, w)
    assert w.result_panel.verdict.text() == "Green" and w.image_view.has_image()  # from the log's copy


def test_guard_verdict_in_plain_words(qtbot, window, tmp_path):
    from dataclasses import replace

    from inference.results import GuardVerdict, MitigatedVerdict

    w = window
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    panel = w.result_panel
    assert not panel.guard_banner.isVisible()
    result = w.current.result
    panel.show_result(replace(result, guard=GuardVerdict(False, 0.1)), "general")
    assert panel.guard_banner.isVisible() and "Input check: passed" in panel.guard_banner.text()
    flagged = replace(result, guard=GuardVerdict(True, 0.93, ("high-frequency noise typical of an attack",)),
                      mitigated=MitigatedVerdict("blue", 0.81))
    panel.show_result(flagged, "general")
    text = panel.guard_banner.text()
    assert "looks altered or unusual" in text and "high-frequency noise" in text
    assert "After cleaning the image the model says: Blue (81.0%)" in text
