"""Seal mode reads the container number and the seal number off the photo (issue 26).

When a seal photo is inspected, the numbers are read in a worker (the window's pool, next to the
classification) through :func:`inference.ocr.reading.read_numbers`. What was read pre-fills the
empty fields of the seal form, marked "read from photo — check", and its boxes are drawn on the
picture. The inspection is then held until the inspector presses "Confirm and save" (after
editing, if the photo was misread); the log gets what was read, what was confirmed, and whether
it was changed. A held inspection is never lost: opening another photo or closing the window
records it as read but not confirmed. A photo on which nothing is read is recorded at once, as
before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QImage


if TYPE_CHECKING:
    from gui.workers import Failure, Inspection

CONTAINER_COLOUR = "#ffb300"
SEAL_COLOUR = "#00e5ff"
OTHER_COLOUR = "#b0bec5"


def read_source(source: Any, name: str, provider: str | None) -> Any:
    """Worker: decode ``source`` (path, bytes, RGB array or QImage) and read the numbers off it."""
    from gui.workers import qimage_to_rgb
    from inference.imageio import load_image
    from inference.ocr.reader import TextReader
    from inference.ocr.reading import read_numbers, work_factor

    reader = TextReader.shared(provider)
    if isinstance(source, QImage):
        return read_numbers(qimage_to_rgb(source), reader)
    # Decoded only as large as reading needs (a 12-MP JPEG at 1/2); boxes come back in the photo's pixels.
    decoded = load_image(source, name=name, shrink=work_factor)
    return read_numbers(decoded.rgb, reader, photo_size=decoded.original_size)


def _warm_up(provider: str | None) -> None:
    from inference.errors import TilikError
    from inference.ocr.reader import TextReader

    try:
        TextReader.shared(provider)
    except TilikError:
        pass  # said in words when a photo is read


@dataclass
class _Request:
    classify: Any  # the classification Operation this reading belongs to
    reading: Any = None  # NumberReading once read
    done: bool = False
    held: tuple[Any, str, dict[str, Any] | None] | None = None  # (Inspection, mode, seal) waiting


class SealReadingController(QObject):
    """Owns the reading of the current seal photo and the inspection held for confirmation."""

    def __init__(self, state: Any, runner: Any, form: Any, result_panel: Any, image_view: Any,
                 record: Callable[[Any, str, dict[str, Any] | None], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.form = form
        self.result_panel, self.image_view = result_panel, image_view
        self.record = record  # (Inspection, mode, seal fields): the inspect controller writes it
        self.request: _Request | None = None
        self._warmed = False
        self.form.confirm_reading.clicked.connect(self.confirm)
        self.form.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        # The first time the seal form is shown (Seal mode), load the OCR models in the background,
        # so the first photo does not wait for them. Not a tracked request: nothing waits on it,
        # and the first reading simply waits for the load (TextReader.shared holds a lock).
        if watched is self.form and event.type() == QEvent.Type.Show and not self._warmed:
            self._warmed = True
            self.runner.detached(_warm_up, self.state.settings.provider_argument())
        return False

    # -- called by the window --------------------------------------------------------------------
    def start(self, source: Any, name: str, classify: Any) -> None:
        """A seal photo was sent for classification (the operation ``classify``): read its numbers too."""
        self.release()
        self.form.clear_reading()
        self.request = _Request(classify)
        request = self.request
        self.runner.read(read_source, source, name, self.state.settings.provider_argument(),
                         on_ok=lambda reading: self._read(request, reading),
                         on_fail=lambda failure: self._not_read(request, failure))

    def hold(self, insp: "Inspection", mode: str, seal: dict[str, Any] | None, classify: Any) -> bool:
        """The classification of ``insp`` is back: True when its record must wait for the reading
        or the inspector's confirmation (the controller records it later)."""
        request = self.request
        if mode != "seal" or request is None or request.classify is not classify:
            return False
        if request.done and not self._found(request.reading):
            return False
        request.held = (insp, mode, seal)
        return True

    def release(self) -> None:
        """Record a held inspection as read but not confirmed (another photo, or closing)."""
        request, self.request = self.request, None
        if request is not None and request.held is not None:
            self._record(request, confirmed=False)

    def confirm(self) -> None:
        """The inspector confirms the seal details shown: record the held inspection with them."""
        request = self.request
        if request is None or request.held is None:
            return
        if not self.form.container_ok():
            self.state.say(self.tr(
                "The container number does not pass the ISO 6346 check. Correct it, or tick “I checked” if it "
                "really is written that way."), 10000)
            self.form.container_number.setFocus()
            return
        self.request = None
        self._record(request, confirmed=True)

    def shown(self) -> None:
        """The held inspection is on screen: outline what was read (when the reading is back)."""
        request = self.request
        if request is not None and request.done and self._found(request.reading):
            self._show(request)

    def waiting(self) -> bool:
        """True while an inspection waits for the inspector's confirmation."""
        return self.request is not None and self.request.held is not None

    # -- internals -------------------------------------------------------------------------------
    @staticmethod
    def _found(reading: Any) -> bool:
        return reading is not None and (reading.container_number is not None or reading.seal_number is not None)

    def _read(self, request: _Request, reading: Any) -> None:
        request.reading, request.done = reading, True
        if request is not self.request:
            return
        if not self._found(reading):
            if request.held is not None:  # nothing to confirm: record it as before
                self.request = None
                self._record(request, confirmed=None)
            return
        self._show(request, draw=request.held is not None)

    def _not_read(self, request: _Request, failure: "Failure") -> None:
        request.done = True
        if request is self.request:
            self.state.say(QCoreApplication.translate("SealReadingController", "The numbers could not be read off the photo: {reason}")
                                                .format(reason=failure.message), 10000)
            if request.held is not None:
                self.request = None
                self._record(request, confirmed=None)

    def _show(self, request: _Request, draw: bool = True) -> None:
        reading = request.reading
        container = reading.container
        self.form.prefill(container.number if container else None, container.suggestion if container else None,
                          reading.seal_number)
        if draw:
            self.draw(reading)
        if request.held is not None:
            self.result_panel.set_record_note(self.tr(
                "Not saved yet: check the numbers read from the photo, then “Confirm and save”"))
        self.state.say(self.tr(
            "Numbers read from the photo: check them against the door and the seal, then press “Confirm and "
            "save”."), 15000)

    def draw(self, reading: Any) -> None:
        """Outline the lines read on the picture (container number amber, seal number cyan)."""
        view = self.image_view
        shown_w, _ = view.image_size()
        if not shown_w or reading is None:
            return
        scale = shown_w / max(1, reading.image_size[0])
        used_c = set(reading.container.lines) if reading.container else set()
        used_s = {reading.seal.line} if reading.seal else set()
        marks = []
        for i, line in enumerate(reading.lines):
            colour = CONTAINER_COLOUR if i in used_c else SEAL_COLOUR if i in used_s else OTHER_COLOUR
            marks.append(([(x * scale, y * scale) for x, y in line.box], colour,
                          f"{line.text} ({100 * line.confidence:.0f}%)"))
        view.set_marks(marks)

    def _record(self, request: _Request, *, confirmed: bool | None) -> None:
        insp, mode, seal_then = request.held  # type: ignore[misc]
        if confirmed:
            seal = dict(self.form.values())
        else:
            seal = dict(seal_then or {})
        if request.reading is not None and self._found(request.reading):
            seal.update(read_container_number=request.reading.container_number,
                        read_seal_number=request.reading.seal_number, read_confirmed=bool(confirmed))
            if not confirmed:
                # Not confirmed: store what was typed before the photo, never the unchecked reading
                # as if confirmed; a typed number that does not add up was already refused then.
                seal.setdefault("container_number", "")
        if confirmed:
            self.form.clear_reading()
        self.record(insp, mode, seal or None)
