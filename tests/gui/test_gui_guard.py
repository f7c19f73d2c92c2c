"""The input guard as an inspector sees it: a plain trust verdict on every result, never a switch."""

from __future__ import annotations

import shutil

from gui_helpers import open_and_wait
from gui_packs import image, save
from tiny_models import write_guarded_pack


def test_flagged_image_shows_the_guard_and_the_reformers_answer(qtbot, make_window, gui_packs, tmp_path):
    shutil.rmtree(gui_packs / "colour")
    # The "autoencoder" swaps red and green, so the divergence detector fires on a red image.
    write_guarded_pack(gui_packs / "colour", "swap", {"divergence": 0.1})
    w = make_window("general")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    panel = w.result_panel
    assert panel.verdict.text().startswith("Red")
    assert panel.guard_banner.isVisible()
    text = panel.guard_banner.text()
    assert "looks altered or unusual" in text
    # The detector in words in the banner; its ratio to the threshold (an internal score) in the details.
    assert "the verdict changes when the image is cleaned up by the autoencoder" in text
    assert "× its threshold" not in text
    assert "Input check detector: divergence" in panel.details.text() and "5.0% false alarms" in panel.details.text()
    assert "After cleaning the image the model says: Green" in text
    assert panel.review_banner.isVisible() and "Needs review" in panel.review_banner.text()
    rec = w.log.get(1)
    assert rec.guard["flagged"] is True and rec.needs_review


def test_clean_image_shows_the_guard_passed(qtbot, make_window, gui_packs, tmp_path):
    shutil.rmtree(gui_packs / "colour")
    write_guarded_pack(gui_packs / "colour", "identity",
                       {"reconstruction": 0.05, "divergence": 0.05, "squeeze": 1.5})
    w = make_window("general")
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    assert w.result_panel.guard_banner.isVisible()
    assert "Input check: passed" in w.result_panel.guard_banner.text()
