"""Seal mode hosts the profiles panel (issue 25): enrol in the app, choose a profile, and the next
seal photo is judged by it — the verdict names the profile and the log records it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gui_helpers import wait_idle
from tests.profile_fixtures import green_photo, with_red_blob, write_profile_pack


def test_seal_mode_enrols_and_judges_with_a_profile(qtbot, make_window, tmp_path, monkeypatch):
    packs = tmp_path / "packs"
    write_profile_pack(packs)
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(packs))
    monkeypatch.setenv("TILIK_DATA_DIR", str(tmp_path / "data"))
    rng = np.random.default_rng(11)
    files = []
    for i in range(12):
        path = tmp_path / "intact" / f"seal{i:02d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(green_photo(rng, 64)).save(path)
        files.append(path)
    damaged = tmp_path / "damaged.png"
    Image.fromarray(with_red_blob(green_photo(rng, 64))).save(damaged)

    w = make_window("seal")
    page = w.inspect_page
    _mode, panel = page.side_panels["seal-profiles"]
    assert "seal-profiles" in w.side_controllers
    # The panel is a tab beside the verdict in Seal mode only (not a squeezed fourth column).
    assert page.side_panel_visible("seal-profiles")
    assert [page.right_tabs.tabText(i) for i in range(page.right_tabs.count())] == ["Result", "Seal profiles"]
    page.show_side_panel("seal-profiles")
    assert page.right_tabs.currentWidget() is not page.result_panel
    qtbot.waitUntil(lambda: not panel.busy, timeout=10000)
    panel.name.setText("Gate 3 green seals")
    panel.enrol_files(files)  # through the app's task runner, off the GUI thread
    qtbot.waitUntil(lambda: not panel.busy and panel.list.count() == 1
                    and panel._selected() is not None, timeout=60000)
    profile = panel._selected()
    assert profile.name == "Gate 3 green seals"
    panel.set_active(profile)
    wait_idle(qtbot, w)
    assert w.inspectors.seal_profile is profile

    w.open_paths([damaged])
    wait_idle(qtbot, w, 30000)
    result = w.result_panel.result()
    assert result is not None and result.profile is not None
    assert result.profile.name == "Gate 3 green seals"
    assert page.right_tabs.currentWidget() is page.result_panel  # a new verdict comes to the front
    # The caption says the heatmap is the profile's anomaly map, not a class's evidence.
    assert "Where the photo departs from profile 'Gate 3 green seals'" in page.caption.text()
    assert w.result_panel.notes_banner.isVisible()
    assert "Gate 3 green seals" in w.result_panel.notes_banner.label.text()
    # The log record carries the profile that judged it.
    qtbot.waitUntil(lambda: w.state.log is not None and w.state.log.count() >= 1, timeout=10000)
    record = w.state.log.query()[0]
    assert record.profile is not None and record.profile["id"] == profile.id

    # Back to the classifier alone: the next photo is not judged by a profile.
    panel.set_active(None)
    wait_idle(qtbot, w)
    w.open_paths([files[0]])
    wait_idle(qtbot, w, 30000)
    assert w.result_panel.result().profile is None
    assert "departs from profile" not in page.caption.text()
    w.set_mode("general")
    assert not page.side_panel_visible("seal-profiles") and page.right_tabs.tabBar().isHidden()
