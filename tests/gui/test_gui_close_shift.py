"""History → Close shift (issue #22): the log is verified, its signed head noted as an anchor and
shown to be printed or copied; exports note theirs too."""

from __future__ import annotations

from gui_helpers import open_and_wait, wait_idle
from gui_packs import image, save

from inference.log import anchors
from inference.log.signing import StationKey


def test_close_shift_shows_and_notes_the_signed_head(qtbot, make_window, gui_packs, tmp_path, monkeypatch):
    w = make_window("seal")
    open_and_wait(qtbot, w, save(tmp_path / "red.png", image("red")))
    wait_idle(qtbot, w)
    assert w.act_close_shift in w.menu_inspect.actions() and w.act_close_shift.text() == "C&lose shift…"
    w.export_csv(tmp_path / "out.csv")
    wait_idle(qtbot, w)
    w.close_shift()
    wait_idle(qtbot, w)
    closure = w.last_shift_closure
    head = w.log.head()
    assert closure.ok and (closure.head.seq, closure.head.hash) == head
    box = w.last_message_box
    assert box.objectName() == "closeShiftDialog" and f"{head[0]}:{head[1]}" in box.informativeText()
    assert closure.head.signed.key_id == StationKey.load().key_id
    assert closure.head.signed.signature in box.detailedText()
    noted = anchors.load()[0]
    assert [a.kind for a in noted][-2:] == ["csv", "close-shift"] and noted[-1].by == w.reviewer_name()
    w.verify_chain()
    wait_idle(qtbot, w)
    assert "chain intact" in w.status_chain.text()
    assert w.chain_status.signature.state == "this-station" and w.chain_status.anchors_checked == 2
    # The same log seen from a computer without that key: intact, and it says whose key signed it.
    key_id = closure.head.signed.key_id
    monkeypatch.setenv("TILIK_KEY_DIR", str(tmp_path / "elsewhere"))
    w.verify_chain()
    wait_idle(qtbot, w)
    assert w.status_chain.text() == f"Log: chain intact ✓ · signed by key {key_id}, not this station's"
