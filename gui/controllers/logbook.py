"""The inspection log as the GUI uses it: opening it, checking its chain, closing a shift, and
writing inspections to it — every call on a worker or on the log's own thread, never the GUI's."""

from __future__ import annotations

import time
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from gui.state import AppState
from gui.tasks import Latest, TaskRunner
from gui.workers import Failure, record_one


def _open_log(path: str | None) -> Any:
    from inference.log import InspectionLog
    from inference.log.recording import default_station

    default_station()  # imports what recording needs here, not later in the GUI thread
    return InspectionLog.open(path)


class LogController(QObject):
    shift_closed = Signal(object)  # ShiftClosure

    def __init__(self, state: AppState, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.chain_time = ""
        self._chain = Latest()
        self._waiting: list[tuple[Callable[[], None]]] = []  # writes asked while the log opens
        self.chain_timer = QTimer(self)
        self.chain_timer.setSingleShot(True)
        self.chain_timer.setInterval(1000)
        self.chain_timer.timeout.connect(lambda: self.verify_chain(check_files=False))
        self.history_dirty = True
        self.state.log_written.connect(self._written)
        self.state.log_grew.connect(lambda: self._written(None))

    # -- opening ---------------------------------------------------------------------------------
    def open_log(self) -> None:
        """Open (create, upgrade) the inspection log in a worker; writes wait for it meanwhile."""
        old = self.state.log
        if old is not None:
            self.runner.wait_for_writes()  # what was asked of the old log is written to it first
            self.state.set_log(None)
            try:
                old.close()
            except Exception:  # noqa: BLE001
                pass
        self.state.log_opening = True
        self.runner.read(_open_log, self.state.settings.db_path or None, on_ok=self._opened,
                         on_fail=self._open_failed)

    def _open_failed(self, failure: Failure) -> None:
        problem = QCoreApplication.translate("MainWindow", "The inspection log cannot be opened: {reason}").format(reason=failure.message)
        self.state.say(problem, 15000)
        if failure.trace:
            self.state.fail(failure)
        self._ready(None, problem)

    def _opened(self, opened: Any) -> None:
        self._ready(opened, "")

    def _ready(self, log: Any, problem: str) -> None:
        self.state.set_log(log, problem)
        waiting, self._waiting = self._waiting, []
        for write in waiting:
            write()
        self.history_dirty = False
        if log is not None:
            self.verify_chain()

    def when_open(self, write: Callable[[], None]) -> bool:
        """Run ``write`` once the log has opened (True), or now when it is not opening (False)."""
        if self.state.log is None and self.state.log_opening:
            self._waiting.append(write)
            return True
        return False

    def waiting(self) -> bool:
        return bool(self._waiting)

    # -- writing ---------------------------------------------------------------------------------
    def record(self, mode: str, result: Any, image: Any, on_ok: Callable[[Any], None],
               on_fail: Callable[[Failure], None], **fields: Any) -> None:
        """Write one inspection (on the log's thread). Waits for the log when it is still opening;
        ``on_fail`` gets a Failure when the log is not open."""
        if self.when_open(lambda: self.record(mode, result, image, on_ok, on_fail, **fields)):
            return
        if self.state.log is None:
            from inference.errors import TilikError

            on_fail(Failure(TilikError(self.state.not_open_text())))
            return
        self.runner.write(record_one, self.state.log, result, image, on_ok=on_ok, on_fail=on_fail,
                          **fields, **self.state.log_kwargs(mode))

    def _written(self, _record: Any) -> None:
        self.history_dirty = True
        self.chain_timer.start()

    # -- the chain -------------------------------------------------------------------------------
    def verify_chain(self, check_files: bool = True) -> None:
        """Check the log's hash chain in a worker (it uses its own read-only connection)."""
        log = self.state.log
        if log is None:
            return
        if self._chain.pending():
            self.chain_timer.start()  # one check at a time: try again a little later
            return
        if check_files:
            self.state.set_chain(None, QCoreApplication.translate("MainWindow", "Log: checking chain…"))
        self._chain.set(self.runner.read(log.verify_chain, check_files=check_files, on_ok=self._checked,
                                         on_fail=self._check_failed))

    def _checked(self, status: Any) -> None:
        self.chain_time = time.strftime("%H:%M:%S")
        self.state.set_chain(status)

    def _check_failed(self, failure: Failure) -> None:
        self.state.set_chain(None, QCoreApplication.translate("MainWindow", "Log: chain check failed — {reason}").format(reason=failure.message))

    def chain_text(self) -> str:
        s, state = self.state.chain_status, self.state
        if state.log is None and state.log_opening:
            return QCoreApplication.translate("MainWindow", "Log: opening…")
        if state.log is None:
            return QCoreApplication.translate("MainWindow", "Log: not available")
        if state.chain_text_override:
            return state.chain_text_override
        if s is None:
            return QCoreApplication.translate("MainWindow", "Log: chain not checked yet")
        if s.ok:
            sig = getattr(s, "signature", None)
            if sig is not None and sig.state not in ("this-station", "unsigned"):
                # Intact, but the head was signed elsewhere (a log copied from another station).
                return QCoreApplication.translate("MainWindow", "Log: chain intact ✓ · signed by key {key}, not this station's").format(key=sig.key_id)
            return QCoreApplication.translate("MainWindow", "Log: chain intact ✓")
        where = getattr(s, "where", "") or str(s.first_broken_id)
        return QCoreApplication.translate("MainWindow", "Log: chain BROKEN at {where} — {reason}").format(where=where, reason=s.reason)

    def chain_tooltip(self) -> str:
        state, s = self.state, self.state.chain_status
        if state.log is None:
            return state.log_problem
        if s is None:
            return str(state.log.path)
        return QCoreApplication.translate("MainWindow", "{path}\n{n} chained records checked at {time}; head {seq}:{hash}").format(
            path=state.log.path, n=s.checked, time=self.chain_time, seq=s.head_seq, hash=s.head_hash[:16])

    # -- closing a shift -------------------------------------------------------------------------
    def close_shift(self) -> bool:
        """Verify the log and note its signed head as a close-shift anchor (in a worker)."""
        if self.state.log is None:
            self.state.say(self.state.log_problem or QCoreApplication.translate("MainWindow", "The inspection log is not open."), 8000)
            return False
        from inference.log.anchors import close_shift

        self.state.say(QCoreApplication.translate("MainWindow", "Closing the shift: checking the log…"))
        self.runner.read(close_shift, self.state.log, self.state.operator(), on_ok=self.shift_closed.emit,
                         on_fail=self.state.fail)
        return True

    def close(self, timeout_ms: int = 30000) -> None:
        """Write what is queued, then close the log."""
        self.chain_timer.stop()
        self.runner.wait_for_writes(timeout_ms)
        log = self.state.log
        if log is not None:
            self.state.set_log(None)
            log.close()
