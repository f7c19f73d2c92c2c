"""The Seal profiles panel on its own (issue 25): enrol from files and camera frames, choose, retire."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gui.widgets.seal_profiles import SealProfilesPanel
from inference.inspector import Inspector, clear_session_cache
from inference.profiles import ProfileStore
from inference.registry import check_pack
from tests.profile_fixtures import green_photo, write_profile_pack


@pytest.fixture()
def setup(tmp_path):
    clear_session_cache()
    pack = check_pack(write_profile_pack(tmp_path / "packs"), "user")
    store = ProfileStore(tmp_path / "profiles")
    rng = np.random.default_rng(5)
    files = []
    for i in range(12):
        path = tmp_path / "photos" / f"seal{i:02d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(green_photo(rng, 64)).save(path)
        files.append(path)
    return pack, store, files


class RecordingRunner:
    """Runs each job at once but counts them: the panel must do its disk/model work through it."""

    def __init__(self) -> None:
        self.jobs = 0

    def __call__(self, job, on_done, on_error):
        self.jobs += 1
        try:
            result = job()
        except Exception as exc:  # noqa: BLE001
            on_error(exc)
            return
        on_done(result)


def test_enrol_from_files_choose_and_retire(qtbot, setup):
    pack, store, files = setup
    runner = RecordingRunner()
    panel = SealProfilesPanel(lambda: Inspector(pack), runner, store=store)
    qtbot.addWidget(panel)
    assert panel.list.count() == 1 and "No profiles yet" in panel.list.item(0).text()
    assert not panel.retire_button.isEnabled() and not panel.camera_button.isEnabled()
    chosen = []
    panel.activeProfileChanged.connect(chosen.append)
    panel.name.setText("Gate 3 green seals")
    jobs = runner.jobs
    panel.enrol_files(files)
    assert runner.jobs > jobs  # enrolment and the re-listing went through the host's runner
    assert panel.list.count() == 1
    row = panel.list.item(0).text()
    assert "Gate 3 green seals" in row and "12 photos" in row and "2% false alarms" in row
    assert panel.thumbs.count() == 12
    assert chosen and chosen[-1].name == "Gate 3 green seals"  # a new profile judges at once
    assert "Judging with: Gate 3 green seals" in panel.active_label.text()
    assert "Enrolled" in panel.status.text()
    panel.set_active(None)
    assert chosen[-1] is None and "alone" in panel.active_label.text()
    panel.list.setCurrentRow(0)
    panel.use_button.click()
    assert chosen[-1].name == "Gate 3 green seals"
    panel.retire_selected(confirm=False)
    assert chosen[-1] is None  # the active profile was retired
    assert "No profiles yet" in panel.list.item(0).text() and "Retired" in panel.status.text()
    assert [p.name for p in store.list(include_retired=True)] == ["Gate 3 green seals"]


def test_enrol_from_camera_frames_and_errors_in_plain_words(qtbot, setup):
    pack, store, _ = setup
    panel = SealProfilesPanel(lambda: Inspector(pack), store=store)
    qtbot.addWidget(panel)
    rng = np.random.default_rng(8)
    panel.enrol_camera_frames(name="")
    assert "name" in panel.status.text()
    for _ in range(9):
        panel.add_camera_frame(green_photo(rng, 48))
    assert not panel.camera_button.isEnabled() and "9 camera frames" in panel.camera_button.text()
    from PySide6.QtGui import QImage

    frame = np.ascontiguousarray(green_photo(rng, 48))
    panel.add_camera_frame(QImage(frame.data, 48, 48, 48 * 3, QImage.Format.Format_RGB888).copy())
    assert panel.camera_button.isEnabled()
    panel.enrol_camera_frames(name="Dock camera")
    assert "Dock camera" in panel.list.item(0).text() and "10 photos" in panel.list.item(0).text()
    assert "0 camera frames" in panel.camera_button.text()
    # A second profile with the same name: the store's plain error is shown, nothing is lost.
    for _ in range(10):
        panel.add_camera_frame(green_photo(rng, 48))
    panel.enrol_camera_frames(name="dock camera")
    assert "already exists" in panel.status.text()
    assert "10 camera frames" in panel.camera_button.text() and not panel.busy


def test_an_edited_profile_is_listed_as_unusable(qtbot, setup):
    pack, store, files = setup
    panel = SealProfilesPanel(lambda: Inspector(pack), store=store)
    qtbot.addWidget(panel)
    panel.enrol_files(files, name="Edited")
    path = store.get("Edited").folder / "profile.json"
    path.write_text(path.read_text().replace('"threshold": ', '"threshold": 1'))
    panel.refresh()
    assert "Unusable profile" in panel.list.item(0).text() and "changed on disk" in panel.list.item(0).text()
    assert panel.active_profile is None  # the edited profile no longer judges
