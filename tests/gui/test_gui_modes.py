"""The mode registry (gui/modes.py) and how a mode's side panel plugs into the window."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from gui import modes


def test_every_mode_says_what_it_needs():
    assert modes.ids() == ("seal", "signature", "skin", "general")
    assert modes.spec("skin").banner == "medical" and modes.spec("skin").form == "skin"
    assert modes.spec("signature").controller == "signature" and not modes.spec("signature").batch
    assert "seal_number" in modes.spec("seal").log_fields
    assert modes.mode_name("skin") == "Skin lesion" and modes.mode_name("nonsense") == "nonsense"
    assert modes.spec("nonsense").id == "general"


def test_a_side_panel_plugs_in_with_its_controller(qtbot, make_window, gui_packs, monkeypatch):
    """What a new panel (seal profiles) needs: a widget shown in its mode and a controller that
    gets the state and the task runner, never the window."""
    made = {}

    def controller(state, runner, widget):
        made.update(state=state, runner=runner, widget=widget)
        return object()

    original = dict(modes._REGISTRY)
    monkeypatch.setattr(modes, "_REGISTRY", original)
    modes.add_side_panel("seal", modes.SidePanel("test-panel", lambda: QLabel("profiles"), controller))
    w = make_window("seal")
    panel = made["widget"]
    assert made["state"] is w.state and made["runner"] is w.runner
    assert "test-panel" in w.side_controllers
    # A tab beside the verdict in its mode: there, and shown when its tab is chosen; gone elsewhere.
    assert w.inspect_page.side_panel_visible("test-panel")
    w.inspect_page.show_side_panel("test-panel")
    assert panel.isVisibleTo(w)
    w.set_mode("general")
    assert not panel.isVisibleTo(w) and not w.inspect_page.side_panel_visible("test-panel")
