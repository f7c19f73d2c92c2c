"""Batch (progress, cancel, errors, filter, open a row) and History (paging, review, export, chain)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from PySide6.QtCore import Qt

from gui_helpers import confirm_review, open_and_wait, visible_message_boxes, wait_idle
from gui_packs import image, save


def _folder(tmp_path, n_red: int, n_blue: int, n_mixed: int = 0, broken: int = 0):
    folder = tmp_path / "batch"
    for i in range(n_red):
        save(folder / f"red_{i:03d}.png", image("red"))
    for i in range(n_blue):
        save(folder / f"blue_{i:03d}.png", image("blue"))
    mixed = image("red")
    mixed[:, :, 2] = mixed[:, :, 0]
    for i in range(n_mixed):
        save(folder / f"mixed_{i:03d}.png", mixed)
    for i in range(broken):
        (folder / f"broken_{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def test_batch_fills_table_with_errors_filter_and_open_row(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    folder = _folder(tmp_path, 3, 4, n_mixed=2, broken=1)
    w.open_paths([folder])
    assert w.tabs.currentIndex() == 1
    with qtbot.waitSignal(w.batch_finished, timeout=20000) as done:
        pass
    info = done.args[0]
    assert (info.done, info.total, info.cancelled, info.errors) == (10, 10, False, 1)
    wait_idle(qtbot, w)
    bv = w.batch_view
    assert bv.proxy.rowCount() == 10
    assert bv.status.text().startswith("Done · 10 of 10 images")
    assert "2 need review" in bv.status.text() and "1 could not be read" in bv.status.text()
    assert "could not be read" in w.statusBar().currentMessage()  # non-modal notice, no dialog
    assert not visible_message_boxes()
    verdicts = [bv.proxy.index(i, 2).data() for i in range(10)]
    assert verdicts.count("Error") == 1 and verdicts.count("Seal damaged") == 3
    assert w.log.count() == 9  # every readable image was recorded

    # Sort by confidence, then filter to what needs review (the error and the two uncertain ones).
    bv.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    confs = [bv.proxy.index(i, 3).data(Qt.ItemDataRole.UserRole + 1) for i in range(10)]
    assert confs == sorted(confs, reverse=True)
    bv.review_only.setChecked(True)
    assert bv.proxy.rowCount() == 3
    bv.review_only.setChecked(False)

    # Open a row in full: the Inspect tab shows its verdict and picture; next/previous walk the table.
    row = next(r for r in bv.model.rows if r.source.endswith("blue_000.png"))
    bv.select_row(row)
    bv.table.activated.emit(bv.table.currentIndex())
    wait_idle(qtbot, w)
    assert w.tabs.currentIndex() == 0
    assert w.result_panel.verdict.text() == "Seal intact"
    assert w.image_view.has_image()
    assert f"inspection #{row.record_id}" in w.result_panel.details.text()
    assert "(batch)" in w.nav_label.text()
    w.act_next.trigger()
    wait_idle(qtbot, w)
    assert w.current.batch_row is not row


def test_batch_cancel(qtbot, make_window, gui_packs, tmp_path, monkeypatch):
    import inference.inspector as inspector_module

    real = inspector_module.load_image

    def slow_load(*args, **kwargs):
        time.sleep(0.02)
        return real(*args, **kwargs)

    monkeypatch.setattr(inspector_module, "load_image", slow_load)
    w = make_window("general")
    folder = _folder(tmp_path, 60, 60)
    w.open_paths([folder])
    qtbot.waitUntil(lambda: w.batch_view.model.rowCount() > 0, timeout=10000)
    assert w.batch_view.cancel_button.isEnabled()
    with qtbot.waitSignal(w.batch_finished, timeout=20000) as done:
        qtbot.keyClick(w, Qt.Key.Key_Escape)
    info = done.args[0]
    assert info.cancelled and info.done < 120
    wait_idle(qtbot, w)
    assert w.batch_view.status.text().startswith("Cancelled")
    assert w.batch_view.model.rowCount() == info.done
    assert not w.batch_view.cancel_button.isEnabled()
    assert w.log.count() == info.done
    assert w.log.verify_chain().ok


def test_history_review_and_export(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("seal")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    qtbot.keyClick(w, Qt.Key.Key_F4)
    h = w.history
    qtbot.waitUntil(lambda: h.model.rowCount() == 2)
    h.table.selectRow(1)  # newest first: row 1 is the red one
    assert "Seal damaged" in h.record_text.toPlainText()
    wait_idle(qtbot, w)
    assert h.image.has_image() and h.image.has_heatmap()

    # Overturn with a corrected label and a note (Alt+Shift+X), as supervisor "Budi" (a review needs
    # someone other than the operator, Ana), after confirming it.
    w.settings.operator = "Budi"
    h.corrected.setCurrentIndex(h.corrected.findData("blue"))
    qtbot.keyClicks(h.note, "scratch on the photo, seal is fine")
    qtbot.keyClick(w, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    confirm_review(qtbot, w)
    assert h.review_status.text() == "Saved: overturned by Budi."
    assert "overturned by Budi → Intact" in h.record_text.toPlainText()  # the class in words
    assert "Label after review\tIntact" in h.record_text.toPlainText() or "Label after reviewIntact" in \
        h.record_text.toPlainText().replace("\n", "")
    assert h.model.index(1, 5).data() == "overturned"
    rec = w.log.get(h.current_record().id)
    assert rec.review_state == "overturn" and rec.final_label == "blue"

    # Filter, then export the filter as CSV and PDF.
    h.mode_filter.setCurrentIndex(1)  # seal
    wait_idle(qtbot, w)  # History reads the log off the GUI thread
    assert h.model.rowCount() == 2
    h.search.setText("nothing-matches-this")
    h.apply_filters()
    wait_idle(qtbot, w)
    assert h.model.rowCount() == 0 and "0 inspections match" in h.count_label.text()
    h.search.clear()
    h.apply_filters()
    wait_idle(qtbot, w)
    out = tmp_path / "out" / "inspections.csv"
    w.export_csv(out)
    wait_idle(qtbot, w)
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 2
    assert "Exported 2 inspections" in w.statusBar().currentMessage()
    pdf = tmp_path / "out" / "report.pdf"
    w.export_pdf(pdf)
    wait_idle(qtbot, w, timeout=30000)
    assert pdf.read_bytes()[:4] == b"%PDF"
    # The PDF report counts pages (summary + details), so the message says pages, not inspections.
    assert "-page report to" in w.statusBar().currentMessage()

    # The chain verification result is shown.
    w.verify_chain()
    wait_idle(qtbot, w)
    assert "chain intact" in w.status_chain.text()
    assert "chain intact" in h.chain_label.text()


def test_history_pages_through_a_large_log(qtbot, make_window, gui_packs, tmp_path):
    w = make_window("general")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    result = w.current.result
    w.log.record_results([result] * 249, operator="bulk")
    w.tabs.setCurrentIndex(2)
    h = w.history
    h.refresh()
    wait_idle(qtbot, w)  # the first page is read off the GUI thread
    assert h.model.total == 250
    assert h.model.rowCount() == 100
    assert h.model.canFetchMore()
    h.table.scrollToBottom()
    qtbot.waitUntil(lambda: h.model.rowCount() >= 200)
    ids = [r.id for r in h.model.records]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    h.operator_filter.setText("bulk")
    h.apply_filters()
    wait_idle(qtbot, w)
    assert h.model.total == 249


def test_closing_during_a_batch_cancels_cleanly(qtbot, make_window, gui_packs, tmp_path, monkeypatch):
    import inference.inspector as inspector_module

    real = inspector_module.load_image
    monkeypatch.setattr(inspector_module, "load_image",
                        lambda *a, **k: (time.sleep(0.02), real(*a, **k))[1])
    w = make_window("general")
    w.open_paths([_folder(tmp_path, 40, 40)])
    qtbot.waitUntil(lambda: w.batch_view.model.rowCount() > 0, timeout=10000)
    log = w.log
    path = log.path
    w.close()  # waits for the running model call, writes what came back, closes the log
    assert not w.isVisible()
    from inference.log import InspectionLog

    with InspectionLog.open(path) as again:
        n = again.count()
        assert 0 < n < 80
        assert again.verify_chain().ok
    assert n == sum(1 for r in w.batch_view.model.rows if r.result is not None)


def test_history_date_filter_and_escalate(qtbot, make_window, gui_packs, tmp_path):
    from PySide6.QtCore import QDate

    w = make_window("general")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    qtbot.keyClick(w, Qt.Key.Key_F4)
    h = w.history
    qtbot.waitUntil(lambda: h.model.rowCount() == 1)
    h.use_dates.setChecked(True)
    wait_idle(qtbot, w)  # History reads the log off the GUI thread
    assert h.model.total == 1  # the last 30 days, today included
    h.date_from.setDate(QDate.currentDate().addDays(-10))
    h.date_to.setDate(QDate.currentDate().addDays(-5))
    h.apply_filters()
    wait_idle(qtbot, w)
    assert h.model.total == 0
    h.use_dates.setChecked(False)
    wait_idle(qtbot, w)
    assert h.model.total == 1
    h.table.selectRow(0)
    h.note.setText("not sure, ask the supervisor")
    w.settings.operator = "Budi"  # the supervisor, not the operator who made it
    qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier)
    confirm_review(qtbot, w)
    assert h.review_status.text() == "Saved: escalated by Budi."
    assert h.model.index(0, 5).data() == "escalated"
    h.review_filter.setCurrentIndex(3)  # reviewed
    wait_idle(qtbot, w)
    assert h.model.total == 1
    h.review_filter.setCurrentIndex(1)  # review queue
    wait_idle(qtbot, w)
    assert h.model.total == 0


def test_bad_image_corpus_as_a_batch_never_kills_the_window(qtbot, make_window, gui_packs):
    corpus = Path(__file__).resolve().parents[1] / "data" / "bad_images"
    w = make_window("general")
    with qtbot.waitSignal(w.batch_finished, timeout=30000) as done:
        w.open_paths([corpus])
    wait_idle(qtbot, w, timeout=30000)
    info = done.args[0]
    assert info.done == info.total == len([p for p in corpus.iterdir() if not p.name.startswith(".")])
    rows = w.batch_view.model.rows
    assert all((r.result is None) == bool(r.error) for r in rows)
    assert info.errors == sum(1 for r in rows if r.result is None) > 0
    assert not visible_message_boxes()  # per-image problems are shown in the table, not as dialogs
    assert w.log.count() == info.done - info.errors
    assert w.log.verify_chain().ok


def test_batch_rows_are_logged_in_groups_off_the_gui_thread(qtbot, make_window, gui_packs, tmp_path, monkeypatch):
    """The window decides what is logged; the log's thread writes it, a group of rows per
    transaction, so a slow disk never freezes the window."""
    import threading

    from inference.log import InspectionLog

    commits: list[tuple[str, int]] = []
    real_commit = InspectionLog.commit_staged

    def commit_staged(self, staged, **kwargs):
        commits.append((threading.current_thread().name, len(staged)))
        return real_commit(self, staged, **kwargs)

    monkeypatch.setattr(InspectionLog, "commit_staged", commit_staged)
    w = make_window("seal")
    gui_thread = threading.current_thread().name
    with qtbot.waitSignal(w.batch_finished, timeout=20000):
        w.open_paths([_folder(tmp_path, 12, 12)])
    wait_idle(qtbot, w)
    rows = w.batch_view.model.rows
    assert len(rows) == 24 and all(r.record_id is not None and r.log_error is None for r in rows)
    assert all(r.result.heatmap is None and r.heat_u8 is not None for r in rows)  # small once logged
    assert commits and all(name != gui_thread for name, _ in commits)
    assert sum(n for _, n in commits) == 24 and len(commits) < 24  # grouped, not one by one
    records = {rec.id: rec for rec in w.log.query()}
    for row in rows:
        rec = records[row.record_id]
        assert rec.source == row.source and rec.image_kind == "original" and rec.heatmap_file
    assert w.log.verify_chain().ok

    # One interactive inspection: recorded off the GUI thread too, and the note says where.
    commits.clear()
    open_and_wait(qtbot, w, save(tmp_path / "one.png", image("blue")))
    assert commits and commits[0][0] != gui_thread
    assert f"inspection #{w.current.record_id}" in w.result_panel.details.text()
