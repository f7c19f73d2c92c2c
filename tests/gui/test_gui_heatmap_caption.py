"""The caption under the Inspect tab's picture says what the heatmap on it shows, in both languages:
the pack's fixed class (whatever the verdict), the most probable class, a seal profile's anomaly map,
"Heatmap" alone when the pack is not installed here, and nothing when no heatmap is drawn (no map,
or a refusal). The signature view's caption names its single-image class."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gui_helpers import open_and_wait
from gui_packs import image, save

from inference.results import ReviewReason


def _heat_words(w) -> str:
    """The caption's third part (after the file name and the origin), or "" when there is none."""
    parts = w.caption.text().split("  ·  ")
    assert len(parts) in (2, 3), parts
    return parts[2] if len(parts) == 3 else ""


def _show(w, insp) -> None:
    w.inspect.display(insp)


def test_caption_per_heatmap_kind_in_english_and_indonesian(qtbot, window, tmp_path):
    from gui import i18n

    w = window
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    red = w.inspect.current
    assert red.heat is not None and w.image_view.overlay_visible()
    # colour has no heatmap_class: the cam is the most probable class's map, and the caption says so.
    assert _heat_words(w) == "Heatmap of Red, the most probable class"

    # A seal profile judged the photo: its anomaly map is the heatmap.
    judged = ReviewReason("profile_judged", {"name": "Gate 3 green seals", "id": "p1", "hash": "ab",
                                             "score": 0.2, "threshold": 0.5})
    verdict = red.result.decision
    profiled = replace(red, result=replace(red.result, decision=replace(verdict, notes=(*verdict.notes, judged))))
    _show(w, profiled)
    assert _heat_words(w) == "Where the photo departs from profile 'Gate 3 green seals'"

    # The pack is not installed on this machine: which class the map shows is not known.
    gone = replace(red, pack_id="no-such-pack", result=replace(red.result, pack_id="no-such-pack"))
    _show(w, gone)
    assert _heat_words(w) == "Heatmap"

    # No heatmap: nothing said about one.
    _show(w, replace(red, heat=None, heat_image=None))
    assert _heat_words(w) == "" and "Heatmap" not in w.caption.text()

    # A map that is zero everywhere (a CAM is clipped at zero: no evidence for its class anywhere, as
    # skin-binary's malignant map on a clearly benign lesion) is said to be empty, not left blank.
    blank = replace(red, heat=np.zeros_like(red.heat), heat_image=None)
    _show(w, blank)
    assert _heat_words(w) == "Heatmap of Red, the most probable class: no evidence found"

    i18n.manager().install("id")
    try:
        _show(w, red)
        assert _heat_words(w) == "Peta panas Merah, kelas yang paling mungkin"  # the pack's Indonesian word
        _show(w, profiled)
        assert _heat_words(w) == "Tempat foto menyimpang dari profil 'Gate 3 green seals'"
        _show(w, blank)
        assert _heat_words(w) == "Peta panas Merah, kelas yang paling mungkin: tidak ada bukti"
        _show(w, gone)
        assert _heat_words(w) == "Peta panas"
    finally:
        i18n.manager().install("en")
    qtbot.waitUntil(lambda: _heat_words(w) == "Heatmap")  # the caption follows the language (retranslate)

    # A refusal draws no heatmap, and the caption does not speak of one.
    open_and_wait(qtbot, w, save(tmp_path / "grey.png", image("grey")))
    assert w.result_panel.is_refused(w.inspect.current.result)
    assert _heat_words(w) == ""


def test_a_fixed_heatmap_class_is_named_whatever_the_verdict(qtbot, make_window, gui_packs, tmp_path):
    from gui import i18n

    w = make_window("seal")
    assert w.pack.id == "seal-test"
    open_and_wait(qtbot, w, save(tmp_path / "blue.png", image("blue")))
    assert w.result_panel.verdict.text() == "Seal intact"
    assert _heat_words(w) == "Heatmap of Damaged"  # heatmap_class "red": the evidence for damage
    i18n.manager().install("id")
    try:
        qtbot.waitUntil(lambda: _heat_words(w) == "Peta panas Rusak")
    finally:
        i18n.manager().install("en")
