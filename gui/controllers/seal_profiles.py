"""Seal mode's "Seal profiles" side panel wired to the app (issue 25).

The panel (:mod:`gui.widgets.seal_profiles`) enrols, lists and retires profiles; this controller
gives it the Seal pack's Inspector and the task runner (so enrolment and disk work run off the GUI
thread), feeds it camera captures, and makes the chosen profile the one every seal inspection is
judged with (through the shared Inspector cache, so single photos and batches agree). It depends
on the application state and the runner, never on the window.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QT_TRANSLATE_NOOP

from gui.modes import SidePanel, add_side_panel
from gui.widgets.seal_profiles import SealProfilesPanel
from inference.errors import TilikError


class SealProfilesController(QObject):
    def __init__(self, state: Any, runner: Any, panel: SealProfilesPanel) -> None:
        super().__init__(panel)
        self.state = state
        self.runner = runner
        self.panel = panel
        panel.activeProfileChanged.connect(self._activate)
        if state.camera is not None:
            state.camera.captured.connect(self._captured)
        panel.bind(self._inspector, self._run)

    def _captured(self, image: Any) -> None:
        if self.state.mode == "seal":  # frames of other modes are not this site's seals
            self.panel.add_camera_frame(image)

    def _inspector(self) -> Any:
        """The current Seal pack's Inspector (called inside a worker job)."""
        pack = self.state.pack
        if pack is None or pack.manifest.mode != "seal":
            raise TilikError("Choose a seal pack in Seal mode first: a profile is built from its features.")
        return self.state.inspectors.get(pack, self.state.settings.provider_argument())

    def _run(self, job: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[BaseException], None]) -> None:
        self.runner.read(job, on_ok=on_done, on_fail=lambda failure: on_error(failure.error))

    def _activate(self, profile: Any) -> None:
        cache = self.state.inspectors
        if cache is None:
            return
        cache.seal_profile = profile
        if profile is None:
            self.state.say(self.panel.words["no_active"], 5000)
            return

        def check() -> Any:
            return self._inspector()  # the cache applies (and checks) the profile on the seal Inspector

        def refused(error: BaseException) -> None:
            cache.seal_profile = None
            self.panel.set_active(None)
            self.panel.show_error(error)

        self.runner.read(check, on_ok=lambda _i: self.state.say(self.panel.words["active"].format(name=profile.name), 5000),
                         on_fail=lambda failure: refused(failure.error))


def register() -> None:
    """Give Seal mode its profiles panel (called once before the window is built)."""
    add_side_panel("seal", SidePanel("seal-profiles", lambda: SealProfilesPanel(inspector=_no_inspector, run=_later),
                                     SealProfilesController, QT_TRANSLATE_NOOP("Modes", "Seal profiles")))


def _no_inspector() -> Any:
    raise TilikError("The seal profiles panel is not connected to the app yet.")


def _later(job: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> None:
    """Until the controller binds the panel, reads wait (the controller's bind() reads the list)."""
