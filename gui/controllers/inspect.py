"""One image at a time: classify it off the GUI thread, show the verdict, write it to the log, and
keep a session history per mode (Alt+Left / Alt+Right never step into another mode's verdicts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QImage

from gui import modes
from gui.controllers.logbook import LogController
from gui.state import TAB_HISTORY, TAB_INSPECT, AppState
from gui.tasks import Latest, Operation, TaskRunner
from gui.widgets.common import elide_middle
from gui.widgets.inspect_page import InspectPage
from gui.workers import (ClassifyTask, Failure, InspectorCache, Inspection, LoadImageTask, colour_heat,
                         load_for_display)
from inference.errors import TilikError
from inference.wording import heatmap_is_empty

SESSION_LIMIT = 50        # results kept for previous/next, per mode
SESSION_IMAGES = 10       # of which this many keep their picture in memory



class InspectController(QObject):
    inspection_shown = Signal(object)   # Inspection
    nav_changed = Signal()

    def __init__(self, state: AppState, runner: TaskRunner, logbook: LogController, page: InspectPage,
                 heat_visible: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.logbook, self.page = state, runner, logbook, page
        self.heat_visible = heat_visible
        self.inspectors = InspectorCache()
        self.camera = page.input_panel.camera
        self.seal_form = page.input_panel.seal_form
        self.skin_form = page.input_panel.skin_form
        self.seal_reading: Any = None  # gui.seal_reading.SealReadingController, set by the window
        self.batch_nav: Any = None     # the batch controller: steps through its rows
        self._inspect = Latest()       # the newest request the user made (file, paste, camera, a row)
        self._live = Latest()
        self.sessions: dict[str, list[Inspection]] = {}
        self.positions: dict[str, int] = {}
        self.current: Inspection | None = None

    # -- the session (per mode) ------------------------------------------------------------------
    @property
    def session(self) -> list[Inspection]:
        return self.sessions.setdefault(self.state.mode or "general", [])

    @property
    def session_pos(self) -> int:
        return self.positions.get(self.state.mode or "general", -1)

    @session_pos.setter
    def session_pos(self, pos: int) -> None:
        self.positions[self.state.mode or "general"] = pos

    def pending(self) -> bool:
        return self._inspect.pending()

    # -- asking ----------------------------------------------------------------------------------
    def inspect_source(self, source: Any, name: str, origin: str) -> Operation | None:
        """Classify one image (path, bytes, RGB array or QImage) for the Inspect tab."""
        state = self.state
        if state.pack is None:
            return None
        mode = state.mode
        if origin != "live" and modes.spec(mode).form == "seal" and not self.seal_form.container_ok():
            state.say(QCoreApplication.translate("MainWindow", "The container number does not pass the ISO 6346 check. Correct it, "
                          "or tick “I checked” if it really is written that way."), 10000)
            self.seal_form.container_number.setFocus()
            state.show_tab.emit(TAB_INSPECT)
            return None
        if origin == "camera":
            self.camera.live.setChecked(False)  # keep the captured verdict on screen
        live = origin == "live"
        fields = self._form_fields(mode) if not live else None
        holder: dict[str, Operation] = {}
        op = self.runner.start(ClassifyTask, self.inspectors, state.pack, state.settings.provider_argument(), source,
                               name, origin, keep_pixels_for_log=origin in ("paste", "camera"),
                               colormap=self.page.colormap_name(),
                               on_ok=lambda insp: self._done(insp, holder["op"], fields),
                               on_fail=self._live_failed if live else self._failed)
        holder["op"] = op
        if live:
            self._live.set(op)
            return op
        self._inspect.set(op)
        if self.seal_reading is not None:
            if modes.spec(mode).form == "seal":
                self.seal_reading.start(source, name, op)
            else:
                self.seal_reading.release()  # a seal inspection awaiting confirmation is recorded, unconfirmed
        state.show_tab.emit(TAB_INSPECT)
        self.page.result_panel.show_busy(Path(name).name if origin == "file" else name)
        self.page.caption.setText(elide_middle(name, 90))
        return op

    def _form_fields(self, mode: str) -> dict[str, Any] | None:
        """The mode's per-item form values as they were when the photo was sent."""
        form = modes.spec(mode).form
        if form == "seal" and not self.seal_form.is_empty():
            return self.seal_form.values()
        if form == "skin" and not self.skin_form.is_empty():
            return self.skin_form.values()
        return None

    def _done(self, insp: Inspection, op: Operation, fields: dict[str, Any] | None) -> None:
        if insp.origin == "live":
            self.camera.set_busy(False)
            # A live frame is shown only when nothing the user asked for is pending.
            if self._inspect.pending() or not self.camera.live_enabled():
                return
            self.display(insp)
            return
        if not self._inspect.is_current(op):
            return  # the user has asked for something else since: this answer is superseded
        mode = self.state.mode_of_pack(insp.pack_id)
        failed = [k for k in ("view", "verify", "tug", "twist") if (fields or {}).get(k) is False]
        if failed and insp.result is not None and not getattr(insp.result, "refused", False):
            insp.result = checklist_review(insp.result, failed)
        held = self.seal_reading is not None and self.seal_reading.hold(insp, mode, fields, op)
        if not held:
            self.record(insp, mode, fields)
        self._push_session(insp, mode)
        self.display(insp)
        if held:
            self.seal_reading.shown()

    def _live_failed(self, failure: Failure) -> None:
        self.camera.set_busy(False)
        self.state.say(failure.message, 5000)

    def _failed(self, failure: Failure) -> None:
        self.current = None
        self.page.image_view.clear()
        self.page.result_panel.show_error(failure.message)
        self.page.caption.setText(elide_middle(failure.source, 90))
        self.state.say(failure.message, 10000)
        self.state.fail(failure)

    # -- the log ---------------------------------------------------------------------------------
    def record(self, insp: Inspection, mode: str, fields: dict[str, Any] | None = None) -> None:
        """Have one interactive inspection written to the log (on the log's thread), with the
        mode's form fields (seal: SealFields, skin: SkinFields) as they were when it was sent."""
        extra: dict[str, Any] = {}
        form = modes.spec(mode).form
        if form == "seal" and fields:
            from inference.log import SealFields

            extra["seal"] = SealFields(**fields)
        elif form == "skin" and fields:
            from inference.log import SkinFields

            extra["skin"] = SkinFields(**fields)
        self.logbook.record(mode, insp.result, insp.log_image, on_ok=lambda record: self._recorded(insp, record),
                            on_fail=lambda failure: self._not_recorded(insp, failure), **extra)

    def _recorded(self, insp: Inspection, record: Any) -> None:
        insp.record_id = record.id
        insp.log_error = None
        insp.log_image = None  # the log has it now; do not keep a second copy in memory
        if insp is self.current:
            self.show_record_note(insp)
        self.state.log_written.emit(record)

    def _not_recorded(self, insp: Inspection, failure: Failure) -> None:
        insp.record_id = None
        insp.log_error = failure.message
        if insp is self.current:
            self.show_record_note(insp)
        if failure.known:
            self.state.say(QCoreApplication.translate("MainWindow", "Not saved to the log: {reason}").format(reason=failure.message), 15000)
        else:  # a bug in saving must not lose the verdict on screen
            self.state.fail(failure)

    def show_record_note(self, insp: Inspection) -> None:
        if insp.origin == "live":
            note = QCoreApplication.translate("MainWindow", "Live preview — not saved to the log")
        elif insp.record_id is not None:
            note = QCoreApplication.translate("MainWindow", "Saved to the log as inspection #{id}").format(id=insp.record_id)
        elif insp.log_error:
            note = QCoreApplication.translate("MainWindow", "Not saved to the log: {reason}").format(reason=insp.log_error)
        else:
            note = ""
        self.page.result_panel.set_record_note(note)

    # -- showing ---------------------------------------------------------------------------------
    def display(self, insp: Inspection) -> None:
        self.current = insp
        page = self.page
        mode = self.state.mode_of_pack(insp.pack_id) if insp.pack_id else self.state.mode
        refused = page.result_panel.is_refused(insp.result, mode)
        if insp.image is not None:
            page.image_view.set_image(insp.image, None if refused else insp.heat, keep_view=insp.origin == "live",
                                      heat_coloured=None if refused else insp.heat_image)
            page.image_view.set_overlay_visible(self.heat_visible())
        else:
            page.image_view.clear()
        page.result_panel.show_result(insp.result, mode)
        self.show_record_note(insp)
        self.update_caption()
        self.update_nav()
        self.inspection_shown.emit(insp)

    def show_error(self, text: str, source: str, insp: Inspection) -> None:
        self.current = insp
        self.page.image_view.clear()
        self.page.result_panel.show_error(text)
        self.page.caption.setText(elide_middle(source, 90))
        self.update_nav()

    def clear_display(self) -> None:
        self.current = None
        self.page.image_view.clear()
        self.page.result_panel.show_empty()
        self.page.caption.setText("")
        self.session_pos = len(self.session)
        self.update_nav()

    def mode_changed(self, mode: str) -> None:
        """A verdict of another mode must not sit under this mode's banner: show this mode's last one."""
        cur = self.current
        if cur is not None and cur.result is not None and self.state.mode_of_pack(cur.pack_id) != mode:
            self.clear_display()
        else:
            self.update_nav()

    def update_caption(self) -> None:
        insp = self.current
        if insp is None:
            return
        origin = {"file": QCoreApplication.translate("MainWindow", "file"), "paste": QCoreApplication.translate("MainWindow", "pasted"), "camera": QCoreApplication.translate("MainWindow", "camera"), "live": QCoreApplication.translate("MainWindow", "live camera"),
                  "batch": QCoreApplication.translate("MainWindow", "batch"), "history": QCoreApplication.translate("MainWindow", "log")}.get(insp.origin, insp.origin)
        heat = self.heatmap_words(insp)
        rest = f"  ·  {origin}" + (f"  ·  {heat}" if heat else "")
        # With the heatmap's words the file's name alone (the path would push them out of sight at
        # 1366 px); the tooltip has the whole path.
        shown = elide_middle(Path(insp.source).name or insp.source, 40) if heat else elide_middle(insp.source, 90)
        self.page.caption.setText(shown + rest)
        self.page.caption.setToolTip(insp.source + rest)

    def heatmap_words(self, insp: Inspection) -> str | None:
        """What the heatmap drawn on the photo shows, in the same words as the PDF (inference.wording),
        or None when none is drawn (no map, or a refusal). A pack's map is not "where the model looked
        for its verdict": it is the evidence for the pack's fixed class whatever the verdict, or for
        the most probable class (which an alarm threshold can make differ from the verdict's), or a
        seal profile's anomaly map; with the pack gone from this machine, just "Heatmap"."""
        from gui import wording

        r = insp.result
        if insp.heat is None or r is None:
            return None
        if self.page.result_panel.is_refused(r):
            return None  # display() draws no heatmap on a refusal
        verdict = getattr(r, "decision", None)
        m = self.state.manifest_of(insp.pack_id)
        if m is None:
            return wording.heatmap_caption(insp.pack_id, "", "", verdict)
        name, basis = m.decision.heatmap_class, "fixed"
        if name is None:
            # The cam output is the argmax class's map (training.lite0.cam_export), not the verdict's.
            probs = getattr(r, "probabilities", None) or {}
            name, basis = (max(probs, key=probs.get) if probs else ""), "most_probable"
        label = next((c.label for c in m.classes if c.name == name), name)
        return wording.heatmap_caption(insp.pack_id, name, label, verdict, basis,
                                       empty=heatmap_is_empty(insp.heat))

    # -- previous / next -------------------------------------------------------------------------
    def _push_session(self, insp: Inspection, mode: str) -> None:
        session = self.sessions.setdefault(mode, [])
        session.append(insp)
        if len(session) > SESSION_LIMIT:
            del session[0]
        for old in session[:-SESSION_IMAGES]:
            old.image = None  # reloaded from the file, or from the log's copy, when shown again
            old.heat_image = None  # recoloured from old.heat if shown again
        self.positions[mode] = len(session) - 1

    def update_nav(self) -> None:
        page = self.page
        if self.current is not None and self.current.batch_row is not None and self.batch_nav is not None:
            pos, n = self.batch_nav.position(self.current.batch_row)
            page.nav_label.setText(QCoreApplication.translate("MainWindow", "{i} of {n} (batch)").format(i=pos + 1, n=n) if pos >= 0 else "")
            self.can_prev, self.can_next = pos > 0, 0 <= pos < n - 1
            self.nav_changed.emit()
            return
        n, pos = len(self.session), self.session_pos
        shown = 0 <= pos < n and self.current is not None
        page.nav_label.setText(QCoreApplication.translate("MainWindow", "{i} of {n}").format(i=pos + 1, n=n) if shown else "")
        self.can_prev, self.can_next = pos > 0 and n > 0, 0 <= pos < n - 1
        self.nav_changed.emit()

    def step(self, step: int) -> None:
        if self.current is not None and self.current.batch_row is not None and self.batch_nav is not None:
            self.batch_nav.step(self.current.batch_row, step)
            return
        pos = self.session_pos + step
        if 0 <= pos < len(self.session):
            self.session_pos = pos
            insp = self.session[pos]
            if insp.image is None:
                self._reload_and_show(insp)
            else:
                self.display(insp)

    def _reload_and_show(self, insp: Inspection) -> None:
        """The picture from its file, else from the log's stored copy (looked up in a worker)."""
        log = self.state.log

        def source() -> Path | None:
            if insp.origin == "file" and Path(insp.source).is_file():
                return Path(insp.source)
            if insp.record_id is not None and log is not None:
                try:
                    return log.stored_image_path(log.get(insp.record_id))
                except TilikError:
                    return None
            return None

        def load(path: Path | None) -> tuple[QImage, Any] | None:
            if path is None:
                return None
            return load_for_display(path, insp.source)

        def loaded(payload: tuple[QImage, Any] | None) -> None:
            if payload is not None:
                insp.image = payload[0]
            self.display(insp)

        self._inspect.set(self.runner.read(lambda: load(source()), on_ok=loaded,
                                           on_fail=lambda _f: self.display(insp)))

    def load_row(self, row: Any) -> None:
        """Show a batch row in full: its picture decoded in a worker."""
        def make(image: QImage | None) -> Inspection:
            insp = Inspection(result=row.result, image=image, heat=row.heat(), source=row.source, origin="batch",
                              pack_id=row.result.pack_id, record_id=row.record_id, batch_row=row)
            insp.log_error = row.log_error
            return insp

        def failed(failure: Failure) -> None:
            self.display(make(None))
            self.state.say(failure.message, 8000)

        self.state.show_tab.emit(TAB_INSPECT)
        self._inspect.set(self.runner.start(LoadImageTask, row.source, row.source,
                                            on_ok=lambda p: self.display(make(p[0])), on_fail=failed))

    def load_image(self, source: Any, heat: Any, done: Callable[..., None], colormap: str = "turbo") -> None:
        """For History's detail pane: a stored picture and its heatmap, decoded and the heatmap
        coloured in a worker (colouring a 512-px map takes the GUI thread tens of ms)."""
        def work() -> tuple[QImage, Any, Any]:
            image, small = load_for_display(source, str(source), heat)
            return image, small, colour_heat(small, colormap)

        self.runner.read(work, on_ok=lambda p: done(*p), on_fail=lambda f: self.state.say(f.message, 8000))

    def release(self) -> None:
        if self.seal_reading is not None:
            self.seal_reading.release()


def checklist_review(result: Any, failed: list[str]) -> Any:
    """The result sent to review because the inspector marked checklist steps as failed: whatever
    the model says, a seal that fails Tug or Twist needs a second look (issue 21)."""
    import dataclasses

    from inference.results import REVIEW, ReviewReason

    names = ", ".join(k.capitalize() for k in failed)
    text = f"checklist: {names} failed"
    reason = ReviewReason("checklist_failed", {"items": list(failed), "text": text})
    decision = result.decision
    if decision is not None:
        decision = dataclasses.replace(decision, outcome=REVIEW, reasons=tuple(decision.reasons) + (reason,))
    return dataclasses.replace(result, needs_review=True, decision=decision,
                               review_reasons=tuple(result.review_reasons) + (text,))


__all__ = ["InspectController", "TAB_HISTORY", "checklist_review"]
