"""Many images at once: the batch runs on the worker pool, rows arrive in chunks, and the log gets
them a group at a time on its own thread (files flushed together, one transaction per group), so
the window never waits for the disk while the table fills."""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QLocale, QObject, QTimer, Signal

from gui.controllers.inspect import InspectController
from gui.controllers.logbook import LogController
from gui.state import TAB_BATCH, AppState
from gui.tasks import Latest, TaskRunner
from gui.widgets.batch_view import BatchView
from gui.workers import BatchDone, BatchProgress, BatchRow, BatchTask, Failure, Inspection, record_rows

log = logging.getLogger(__name__)

LOG_JOB_ROWS = 256  # batch rows handed to the log thread in one job at most



class BatchController(QObject):
    running_changed = Signal(bool)
    finished = Signal(object)  # BatchDone

    def __init__(self, state: AppState, runner: TaskRunner, logbook: LogController, view: BatchView,
                 inspect: InspectController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.logbook, self.view, self.inspect = state, runner, logbook, view, inspect
        inspect.batch_nav = self
        self._batch = Latest()
        self._mode = "general"
        self._errors = 0
        self._queue: deque[tuple[BatchRow, str]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.drain)
        self.state.log_changed.connect(lambda _log: self._resume())
        view.row_opened.connect(self.open_row)
        view.cancel_requested.connect(self.cancel)

    def running(self) -> bool:
        return self._batch.pending() and self.view.running

    def queued(self) -> bool:
        return bool(self._queue)

    def start(self, items: list[Path]) -> None:
        state = self.state
        if state.pack is None:
            return
        if self.running():
            self._batch.current.cancel()  # type: ignore[union-attr]
            state.say(QCoreApplication.translate("MainWindow", "The previous batch was cancelled."), 5000)
        self._mode = state.mode
        self.view.start(state.mode, ", ".join(p.name for p in items[:3]))
        state.show_tab.emit(TAB_BATCH)
        self._errors = 0
        self._batch.set(self.runner.start(BatchTask, self.inspect.inspectors, state.pack,
                                          state.settings.provider_argument(), items, on_ok=self._done,
                                          on_fail=self._failed, on_progress=self._progress))
        self.running_changed.emit(True)

    def cancel(self) -> None:
        op = self._batch.current
        if op is not None and not op.done and op.task is not None:
            op.task.cancel()  # its answer still comes (how far it got)
            self.state.say(QCoreApplication.translate("MainWindow", "Cancelling the batch…"), 5000)

    def stop(self) -> None:
        """Closing: stop the batch between model runs."""
        op = self._batch.current
        if op is not None and op.task is not None:
            op.task.cancel()

    def _progress(self, progress: BatchProgress) -> None:
        self.view.add_progress(progress)
        errors = [r for r in progress.rows if r.result is None]
        if errors:
            self._errors += len(errors)
            self.state.say(QCoreApplication.translate("MainWindow", "{n} image(s) in the batch could not be read — see the table. Last: {reason}").format(
                n=self._errors, reason=errors[-1].error), 10000)
        for row in progress.rows:
            if row.result is not None:
                self._queue.append((row, self._mode))
        self._resume()

    def _resume(self) -> None:
        if self._queue and not self._timer.isActive():
            self._timer.start()

    def drain(self) -> None:
        """Hand every queued row to the log's thread (a job per mode, at most LOG_JOB_ROWS rows each)."""
        if self.state.log is None and self.state.log_opening:
            return  # resumed once the log is open
        while self._queue:
            rows: list[BatchRow] = []
            mode = self._queue[0][1]
            while self._queue and len(rows) < LOG_JOB_ROWS and self._queue[0][1] == mode:
                rows.append(self._queue.popleft()[0])
            if self.state.log is None:
                for row in rows:
                    row.log_error = self.state.not_open_text()
                    row.shrink()
                continue
            self.runner.write(record_rows, self.state.log, [(r.result, Path(r.source)) for r in rows],
                              **self.state.log_kwargs(mode), on_ok=self._recorded(rows),
                              on_fail=self._not_recorded(rows))

    def _recorded(self, rows: list[BatchRow]) -> Callable[[list[Any]], None]:
        def done(outcomes: list[Any]) -> None:
            failed = None
            for row, (outcome, heat_u8) in zip(rows, outcomes):
                if isinstance(outcome, BaseException):
                    row.log_error = failed = str(outcome)
                else:
                    row.record_id = outcome
                row.shrink(heat_u8)
            if failed:
                self.state.say(QCoreApplication.translate("MainWindow", "Not saved to the log: {reason}").format(reason=failed), 10000)
            self._logged_some()
        return done

    def _not_recorded(self, rows: list[BatchRow]) -> Callable[[Failure], None]:
        def failed(failure: Failure) -> None:  # nothing of the group was stored
            for row in rows:
                row.log_error = failure.message
                row.shrink()
            if failure.known:
                self.state.say(QCoreApplication.translate("MainWindow", "Not saved to the log: {reason}").format(reason=failure.message), 10000)
            else:
                log.error("recording batch rows failed:\n%s", failure.trace)
            self._logged_some()
        return failed

    def _logged_some(self) -> None:
        if not self.running() and not self._queue:
            self.state.log_grew.emit()  # History refreshes once the batch is in
        else:
            self.logbook.history_dirty = True
            self.logbook.chain_timer.start()

    def _done(self, done: BatchDone) -> None:
        self.running_changed.emit(False)
        self.view.finish(done)
        loc = QLocale()
        if done.cancelled:
            msg = QCoreApplication.translate("MainWindow", "Batch cancelled after {done} of {total} images.").format(done=done.done, total=done.total)
        else:
            msg = QCoreApplication.translate("MainWindow", "Batch done: {done} images in {s} s.").format(done=done.done,
                                                                   s=loc.toString(done.elapsed_s, "f", 1))
        if done.errors:
            msg += " " + QCoreApplication.translate("MainWindow", "{n} could not be read — see the table.").format(n=done.errors)
        self.state.say(msg, 10000)
        self.finished.emit(done)

    def _failed(self, failure: Failure) -> None:
        self.running_changed.emit(False)
        self.view.fail(failure.message)
        self.state.fail(failure)

    # -- rows on the Inspect tab -----------------------------------------------------------------
    def open_row(self, row: BatchRow) -> None:
        """Show one batch row in full on the Inspect tab."""
        self.view.select_row(row)
        if row.result is None:
            self.state.show_tab.emit(0)
            self.inspect.show_error(row.error or "", row.source,
                                    Inspection(result=None, image=None, heat=None, source=row.source,
                                               origin="batch", batch_row=row))
            return
        self.inspect.load_row(row)

    def position(self, row: BatchRow) -> tuple[int, int]:
        rows = self.view.visible_rows()
        return next((i for i, r in enumerate(rows) if r is row), -1), len(rows)

    def step(self, row: BatchRow, step: int) -> None:
        nxt = self.view.neighbour(row, step)
        if nxt is not None:
            self.open_row(nxt)
