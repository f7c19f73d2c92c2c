"""The window and the central server: "Find customer" looks locally first, then on the central
server when one is set and reachable (references enrolled at another branch appear, with where
they were enrolled); offline it says so and carries on; the settings field refuses a password."""

from __future__ import annotations

import sys
from pathlib import Path

from gui_helpers import wait_idle
from test_gui_signature import images, sig_packs, sig_template, sw  # noqa: F401 - shared fixtures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference" / "log"))

from central_helpers import station_config  # noqa: E402
from inference.log import InspectionLog  # noqa: E402
from inference.log.central.push import push  # noqa: E402


def test_find_customer_pulls_references_enrolled_at_another_branch(qtbot, sw, images, central_db, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("TILIK_CENTRAL_PASSWORD", central_db.station_password)
    files = [images["ref1"], images["ref2"], images["ref3"]]
    with InspectionLog.open(tmp_path / "branch-a.sqlite3") as a:
        for f in files:
            a.enrol_reference("ACC-CENTRAL", f, "teller at A", "account opening form")
        push(a.path, a.media_root, station_config(central_db), "branch-a")
    w = sw
    w.settings.central_url = central_db.station_url
    c = w.signature
    assert c.find_customer("ACC-CENTRAL")
    qtbot.waitUntil(lambda: len(c.refs) == len(files), timeout=15000)
    wait_idle(qtbot, w)
    assert [r.origin_station for r in c.refs] == ["branch-a"] * len(files)
    assert "3 reference(s) of ACC-CENTRAL added from the central server" in w.statusBar().currentMessage()
    assert w.log.verify_chain().ok
    assert "Enrolled at station branch-a" in c.panel.gallery.item(0).toolTip()
    qtbot.waitUntil(lambda: len(c.thumbs) == len(files), timeout=10000)  # the images came along
    # Found locally next time: no second copy.
    assert c.find_customer("ACC-CENTRAL")
    wait_idle(qtbot, w)
    assert len(w.log.references("ACC-CENTRAL", include_retired=True)) == len(files)


def test_find_customer_offline_keeps_working(qtbot, sw, monkeypatch):
    from pg_cluster import free_port

    monkeypatch.setenv("TILIK_CENTRAL_PASSWORD", "x")
    w = sw
    w.settings.central_url = f"postgresql://station@127.0.0.1:{free_port()}/tilik"
    c = w.signature
    assert c.find_customer("NOBODY-1")
    qtbot.waitUntil(lambda: "not reachable" in w.statusBar().currentMessage(), timeout=15000)
    assert c.customer == "NOBODY-1" and c.refs == []


def test_settings_refuse_a_central_url_with_a_password(qtbot, settings):
    from gui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(settings, {}, ["CPU"])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.central.setText("postgresql://gate:s3cret@db.example.org/tilik")
    dialog.accept()
    assert dialog.isVisible() and dialog.central_error.isVisible() and "password" in dialog.central_error.text()
    assert "s3cret" not in dialog.central_error.text()
    dialog.central.setText("postgresql://gate@db.example.org/tilik?sslmode=verify-full")
    dialog.accept()
    assert not dialog.isVisible()
    assert dialog.apply()["central_url"] == "postgresql://gate@db.example.org/tilik?sslmode=verify-full"
    assert settings.central_url_in_force() == "postgresql://gate@db.example.org/tilik?sslmode=verify-full"
