"""Issue 26 in the app: Seal mode pre-fills the seal form from the photo, marks the fields "read
from photo — check", outlines what was read, holds the inspection until the inspector confirms,
and the log records what was read, what was confirmed and whether it was changed."""

from __future__ import annotations

import sqlite3

from PIL import Image
from PySide6.QtCore import Qt

from gui_helpers import wait_idle
from training.ocr_doors import make_door

# Seeds whose numbers the reader gets right (checked when the test was written; the reader is
# deterministic, so a change here means the reader changed).
DOOR_SEED = 9
SECOND_SEED = 12


def _door(tmp_path, seed):
    rgb, truth = make_door(seed, width=1200, height=900, bad_check_rate=0.0)
    path = tmp_path / f"door_{seed}.jpg"
    Image.fromarray(rgb).save(path, quality=92)
    return path, truth


def _ocr_columns(db, record_id):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM inspections WHERE id = ?", (record_id,)).fetchone()
        return {k: row[k] for k in row.keys() if k.startswith("ocr_")}
    finally:
        conn.close()


def test_seal_form_prefilled_from_photo_then_confirmed(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    form = w.seal_form
    path, truth = _door(tmp_path, DOOR_SEED)
    w.open_paths([path])
    wait_idle(qtbot, w, timeout=120000)

    # Pre-filled exactly as read, marked for checking, boxes on the picture, nothing logged yet.
    assert form.container_number.text().replace(" ", "") == truth.container_number
    assert form.seal_number.text() == truth.seal_number
    assert "read from photo — check" in form.container_read_note.text()
    assert "read from photo — check" in form.seal_read_note.text()
    assert form.container_read_note.isVisible() and form.confirm_reading.isVisible()
    assert "Check digit correct" in form.container_status.text()
    colours = [m.pen().color().name() for m in w.image_view.marks()]
    assert "#ffb300" in colours and "#00e5ff" in colours
    assert w.log.count() == 0
    assert "Confirm and save" in w.result_panel.record_note

    # The inspector corrects the seal number (say the tag was misread) and confirms.
    form.seal_number.clear()
    qtbot.keyClicks(form.seal_number, "SL-1")
    assert "edited — the photo reads " + truth.seal_number in form.seal_read_note.text()
    qtbot.mouseClick(form.confirm_reading, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, w)
    assert w.log.count() == 1
    rec = w.log.query()[0]
    assert rec.seal.container_number == truth.container_number and rec.seal.seal_number == "SL-1"
    assert (rec.seal.read_container_number, rec.seal.read_seal_number, rec.seal.read_confirmed) == \
        (truth.container_number, truth.seal_number, True)
    cols = _ocr_columns(w.log.path, rec.id)
    assert (cols["ocr_container_check"], cols["ocr_container_changed"], cols["ocr_seal_changed"]) == ("valid", 0, 1)
    assert not form.confirm_reading.isVisible()
    assert w.log.verify_chain().ok


def test_unconfirmed_reading_is_recorded_when_the_next_photo_opens(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    path, truth = _door(tmp_path, SECOND_SEED)
    w.open_paths([path])
    wait_idle(qtbot, w, timeout=120000)
    assert w.log.count() == 0 and w.seal_reading.waiting()
    # A photo with no text on it: the held inspection is recorded (unconfirmed), then this one.
    plain = tmp_path / "plain.png"
    Image.new("RGB", (256, 256), (20, 40, 200)).save(plain)
    w.seal_form.clear()
    w.open_paths([plain])
    wait_idle(qtbot, w, timeout=120000)
    assert w.log.count() == 2
    first = min(w.log.query(), key=lambda r: r.id)
    assert first.seal.read_container_number == truth.container_number and first.seal.read_confirmed is False
    assert first.seal.container_number == ""  # an unchecked reading is never stored as the number
    assert _ocr_columns(w.log.path, first.id)["ocr_confirmed"] == 0
    second = max(w.log.query(), key=lambda r: r.id)
    assert second.seal is None or second.seal.read_confirmed is None


def test_form_offers_a_confusion_never_applies_it(qtbot):
    from gui.widgets.seal_form import SealForm

    form = SealForm()
    qtbot.addWidget(form)
    form.show()
    # Read with a letter O where a digit belongs: shown exactly as read, flagged, the valid reading offered.
    form.prefill("CSQU3O54383", "CSQU3054383", "0048213")
    assert form.container_number.text().replace(" ", "") == "CSQU3O54383"
    assert "Not a container number" in form.container_status.text()
    assert not form.container_ok()
    assert form.container_suggestion.isVisible() and "CSQU 305438 3" in form.container_suggestion.text()
    qtbot.mouseClick(form.container_suggestion, Qt.MouseButton.LeftButton)  # the inspector chooses it
    assert form.container_number.text() == "CSQU 305438 3" and form.container_ok()
    assert not form.container_suggestion.isVisible()
    assert "edited — the photo reads CSQU3O54383" in form.container_read_note.text()
    assert form.reading() == {"read_container_number": "CSQU3O54383", "read_seal_number": "0048213"}
    # A field the inspector had already typed is not overwritten by a reading.
    form.clear()
    qtbot.keyClicks(form.seal_number, "SL-9")
    form.prefill(None, None, "0048213")
    assert form.seal_number.text() == "SL-9" and "the photo reads 0048213" in form.seal_read_note.text()
