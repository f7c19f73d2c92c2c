"""Issue 21's workflow defects, each tried as an inspector would (each failed before the fix)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QMessageBox

from gui_helpers import confirm_review, open_and_wait, visible_message_boxes, wait_idle
from gui_packs import image, save

ROOT = Path(__file__).resolve().parents[2]
# The pack's own self-test sample of a melanoma (the file named there changes with the pack's version).
HAM7_SAMPLES = ROOT / "resources" / "samples" / "skin-ham7"
HAM7_SAMPLE = HAM7_SAMPLES / next((x["file"] for x in json.loads((HAM7_SAMPLES / "samples.json").read_text())
                                   if x["expected"] == "mel"), "missing.jpg") \
    if (HAM7_SAMPLES / "samples.json").is_file() else HAM7_SAMPLES / "missing.jpg"


# -- the skin-ham7 verdict at 1366×768 --------------------------------------------------------------
def test_skin_ham7_verdict_fits_the_panel_and_names_every_class(qtbot, make_window, monkeypatch):
    if not (ROOT / "models" / "skin-ham7" / "manifest.json").is_file() or not HAM7_SAMPLE.is_file():
        pytest.skip("the bundled skin-ham7 pack or its sample is not in this checkout")
    monkeypatch.delenv("TILIK_BUNDLED_PACKS_DIR", raising=False)
    w = make_window("skin")
    w.settings.set_default_pack("skin", "skin-ham7")
    w.set_mode("skin", force=True)
    qtbot.waitUntil(w.is_ready, timeout=30000)
    w.resize(1366, 768)
    open_and_wait(qtbot, w, HAM7_SAMPLE, timeout=30000)
    panel = w.result_panel
    qtbot.waitUntil(lambda: panel.widget().width() <= panel.viewport().width(), timeout=3000)
    assert panel.verdict.text().startswith("Possible")
    # Nothing in the panel is wider than what is shown of it (the verdict was cut off before).
    assert panel.widget().minimumSizeHint().width() <= panel.viewport().width()
    labels = [lbl.text() for lbl in panel.findChildren(QLabel, "barLabel") if lbl.isVisible()]
    assert len(labels) == 7
    codes = {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert not codes & set(labels), labels  # class names in words, not raw codes
    assert "Melanocytic nevus" in labels


# -- Next seal / Next document ----------------------------------------------------------------------
def test_next_seal_clears_the_seal_and_keeps_the_station_fields(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    form = w.seal_form
    form.seal_number.setText("SL-778812")
    form.container_number.setText("CSQU3054383")
    form.seal_class.setCurrentIndex(2)  # high-security: how this station seals
    open_and_wait(qtbot, w, save(tmp_path / "one.png", image("blue")))
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Next seal
    assert w.act_next_item.text().replace("&", "") == "Next seal"
    assert form.seal_number.text() == "" and form.container_number.text() == ""
    assert form.seal_class.currentIndex() == 2
    open_and_wait(qtbot, w, save(tmp_path / "two.png", image("red")))
    first, second = sorted(w.log.query(), key=lambda r: r.id)
    assert first.seal.seal_number == "SL-778812"
    assert second.seal is None or second.seal.seal_number == ""  # the next seal is not logged as the first


def test_next_document_clears_the_document_checked(qtbot, make_window, gui_packs):
    w = make_window("general")
    panel = w.signature_panel
    panel.document.setText("Cheque 100234")
    panel.customer.setText("ACC-1")
    w.set_mode("signature")
    w.next_item()
    assert panel.document.text() == ""  # it no longer carries over to the next signature
    assert panel.customer.text() == "ACC-1"


# -- previous / next stay within the mode -----------------------------------------------------------
def test_alt_left_steps_only_through_this_modes_results(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    open_and_wait(qtbot, w, save(tmp_path / "s1.png", image("red")))
    open_and_wait(qtbot, w, save(tmp_path / "s2.png", image("blue")))
    w.set_mode("skin")
    assert w.current is None  # a seal verdict never sits under the medical banner
    open_and_wait(qtbot, w, save(tmp_path / "k1.png", image("red")))
    assert w.nav_label.text() == "1 of 1"
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    wait_idle(qtbot, w)
    assert w.current.pack_id.startswith("skin")
    assert w.result_panel.mode == "skin"
    w.set_mode("seal")
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    wait_idle(qtbot, w)
    assert w.current is not None and w.current.pack_id.startswith("seal")
    assert w.nav_label.text() == "2 of 2"  # this mode's newest, then back through this mode only
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    wait_idle(qtbot, w)
    assert w.nav_label.text() == "1 of 2" and w.current.pack_id.startswith("seal")


# -- reviews ----------------------------------------------------------------------------------------
def _history_with_one(qtbot, w, tmp_path):
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    w.tabs.setCurrentIndex(2)  # History
    h = w.history
    qtbot.waitUntil(lambda: h.model.rowCount() == 1)
    h.table.selectRow(0)
    wait_idle(qtbot, w)
    return h


def test_a_review_needs_a_second_person_and_a_confirmation(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    h = _history_with_one(qtbot, w, tmp_path)
    h.confirm_button.click()  # Ana reviewing her own inspection
    assert "needs a second person" in h.review_status.text()
    assert not visible_message_boxes()
    assert w.log.reviews(h.current_record().id) == []

    w.settings.operator = "Budi"
    h.confirm_button.click()
    boxes = [b for b in visible_message_boxes() if b.objectName() == "confirmReviewDialog"]
    assert boxes and "cannot be changed" in boxes[0].text()
    boxes[0].button(QMessageBox.StandardButton.Cancel).click()
    wait_idle(qtbot, w)
    assert w.log.reviews(h.current_record().id) == []  # cancelled: nothing written

    h.confirm_button.click()
    confirm_review(qtbot, w)
    reviews = w.log.reviews(h.current_record().id)
    assert [(r.decision, r.by) for r in reviews] == [("confirm", "Budi")]


def test_self_review_when_the_supervisor_allows_it_is_recorded_as_such(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    dialog = w.show_settings()  # the supervisor relaxes the four-eyes rule in Settings
    assert not dialog.self_review.isChecked()
    dialog.self_review.setChecked(True)
    assert dialog.apply()["allow_self_review"] is True
    dialog.close()
    assert w.settings.allow_self_review
    h = _history_with_one(qtbot, w, tmp_path)
    h.confirm_button.click()
    confirm_review(qtbot, w)
    (review,) = w.log.reviews(h.current_record().id)
    assert review.by == "Ana" and "self-review" in review.note


# -- shortcuts --------------------------------------------------------------------------------------
def _mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    clean = text.replace("&&", "")
    return clean[i + 1].upper() if 0 <= i < len(clean) - 1 else None


@pytest.mark.parametrize("mode", ["seal", "signature", "skin", "general"])
def test_no_ambiguous_shortcut_or_mnemonic(qtbot, make_window, gui_packs, mode):
    """Every window shortcut once; every Alt+letter (menus, labels' buddies, buttons) once among
    what is on screen at the same time, and never the same as a window shortcut."""
    w = make_window(mode)
    for tab in range(w.tabs.count()):
        w.tabs.setCurrentIndex(tab)
        qtbot.wait(10)
        seen: dict[str, str] = {}

        def claim(key: str, who: str) -> None:
            assert key not in seen, f"{key} is both {seen[key]} and {who} (mode {mode}, tab {tab})"
            seen[key] = who

        for action in w.actions():
            for seq in action.shortcuts():
                claim(seq.toString(QKeySequence.SequenceFormat.PortableText), action.objectName())
        for menu_action in w.menuBar().actions():
            m = _mnemonic(menu_action.text())
            if m:
                claim(f"Alt+{m}", "menu " + menu_action.text())
        page = w.tabs.currentWidget()
        widgets = [w.toolbar] + [page]
        for root in widgets:
            for child in root.findChildren(QLabel) + root.findChildren(QAbstractButton) + root.findChildren(QGroupBox):
                if not child.isVisibleTo(w):
                    continue
                if isinstance(child, QLabel) and child.buddy() is None:
                    continue  # a label's & is a mnemonic only with a buddy
                text = child.title() if isinstance(child, QGroupBox) else child.text()
                m = _mnemonic(text or "")
                if m:
                    claim(f"Alt+{m}", f"{type(child).__name__} {text!r}")
        for menu_action in w.menuBar().actions():  # inside each menu, its items' letters
            letters: dict[str, str] = {}
            for item in menu_action.menu().actions():
                m = _mnemonic(item.text())
                if m:
                    assert m not in letters, f"menu {menu_action.text()}: {item.text()} and {letters[m]}"
                    letters[m] = item.text()


# -- batch rows open from any column ----------------------------------------------------------------
def test_a_batch_row_opens_from_any_column(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("general")
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        save(folder / f"{i}.png", image(colour))
    with qtbot.waitSignal(w.batch_finished, timeout=20000) as done:
        w.open_paths([folder])  # listed by the core (inference.imageio.iter_image_paths), not the GUI
    wait_idle(qtbot, w)
    assert done.args[0].total == 3 and done.args[0].errors == 0
    table = w.batch_view.table
    index = table.model().index(1, 2)  # the verdict column, not "#"
    table.setCurrentIndex(index)
    table.activated.emit(index)
    wait_idle(qtbot, w)
    assert w.tabs.currentIndex() == 0
    assert w.current is not None and w.current.batch_row is w.batch_view.visible_rows()[1]


# -- a broken chain ---------------------------------------------------------------------------------
def test_a_broken_chain_keeps_the_window_on_screen_and_marks_the_row(qtbot, make_window, gui_packs, tmp_path):
    import sqlite3

    w = make_window("general")
    for colour in ("red", "green", "blue"):
        open_and_wait(qtbot, w, save(tmp_path / f"{colour}.png", image(colour)))
    w.resize(1366, 768)
    width_before = w.minimumSizeHint().width()
    victim = sorted(r.id for r in w.log.query())[1]
    with sqlite3.connect(w.log.path) as db:  # someone edits the file behind the app's back
        db.execute("DROP TRIGGER IF EXISTS inspections_no_update")
        db.execute("UPDATE inspections SET operator = 'Mallory' WHERE id = ?", (victim,))
    w.verify_chain()
    qtbot.waitUntil(lambda: w.chain_status is not None and not w.chain_status.ok, timeout=10000)
    assert "BROKEN" in w.status_chain.text() and "Mallory" not in w.status_chain.text()
    assert "changed" in w.status_chain.toolTip() or "hash" in w.status_chain.toolTip()  # the reason, in full
    # The red message no longer widens the window past the screen.
    assert w.minimumSizeHint().width() <= max(width_before, 1366)
    assert w.width() <= 1366
    qtbot.keyClick(w, Qt.Key.Key_F4)
    wait_idle(qtbot, w)
    h = w.history
    row = next(i for i, r in enumerate(h.model.records) if r.id == victim)
    assert h.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "chain is broken here" in h.model.index(row, 3).data(Qt.ItemDataRole.ToolTipRole)


# -- skin mode: patient reference and body site -----------------------------------------------------
def test_skin_mode_records_patient_reference_and_body_site(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("skin")
    form = w.input_panel.skin_form
    assert form.isVisibleTo(w)
    assert "never a name" in form.patient_ref.placeholderText()
    form.patient_ref.setText("RM-00412")
    form.body_site.setEditText("left forearm")
    open_and_wait(qtbot, w, save(tmp_path / "lesion.png", image("red")))
    (rec,) = w.log.query()
    assert rec.skin is not None and (rec.skin.patient_ref, rec.skin.body_site) == ("RM-00412", "left forearm")
    w.next_item()
    assert form.patient_ref.text() == "" and form.body_site.currentText() == ""


# -- History shows what was read off a seal photo (log v7) -------------------------------------------
def test_history_shows_what_was_read_confirmed_or_edited(qtbot, make_window, gui_packs, tmp_path):
    from inference.log import SealFields

    w = make_window("general")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    result = w.current.result
    w.log.record_result(result, operator="Ana", mode="seal", seal=SealFields(
        seal_number="SL-1", container_number="CSQU3054383", read_container_number="CSQU3054383",
        read_seal_number="SL-7", read_confirmed=True))
    qtbot.keyClick(w, Qt.Key.Key_F4)
    h = w.history
    w.history_ctl.refresh()
    wait_idle(qtbot, w)
    h.table.selectRow(0)  # newest first
    wait_idle(qtbot, w)
    text = h.record_text.toPlainText()
    assert "Read from the photo" in text and "SL-7 / CSQU3054383" in text
    assert "confirmed after editing" in text  # the seal number was changed from what was read


# -- the VVTT checklist: pass / fail / not done --------------------------------------------------------
def test_checklist_is_tri_state_and_a_fail_forces_a_review(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    form = w.seal_form
    form.checks["view"].set_state(True)
    form.checks["tug"].set_state(False)  # printed "tug NO": failed, not "not done"
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))  # the model says intact
    (rec,) = w.log.query()
    assert (rec.seal.view, rec.seal.verify, rec.seal.tug, rec.seal.twist) == (True, None, False, None)
    assert rec.needs_review  # a failed step sends it to review whatever the model says
    assert "review" in w.result_panel.verdict.text().lower()
    assert any("Tug failed" in r for r in rec.review_reasons)
