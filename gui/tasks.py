"""The one way the GUI runs anything slow: a background operation with its own callbacks.

- :meth:`TaskRunner.read` runs ``fn(*args)`` on the worker pool (model runs, decoding, pack
  scans, log queries, exports): reads may run side by side.
- :meth:`TaskRunner.write` runs ``fn(*args)`` on the log's own thread, after every write asked
  before it, so the log gets its rows in the order the GUI decided, and the GUI thread never waits
  on the disk (a write flushes files and the database: a few ms to a few hundred on a busy disk).
- :meth:`TaskRunner.start` runs a prepared task class of :mod:`gui.workers` (classification,
  batches with progress, image loading).

Each call returns an :class:`Operation` that carries its own ``on_ok`` / ``on_fail`` (and
``on_progress``) callbacks, called in the GUI thread. An operation is dropped silently when it
has been :meth:`Operation.supersede`-d or its ``superseded()`` check says so at answer time, and
:class:`Latest` keeps "only the newest of these counts" in one line. Nothing global says which
request is being answered: the callbacks are the operation's own.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject

from gui.workers import CallTask, Failure, WorkerHub, make_pool

log = logging.getLogger(__name__)


class Operation:
    """One piece of background work and what to do with its outcome."""

    def __init__(self, runner: TaskRunner, kind: str, on_ok: Callable[[Any], None],
                 on_fail: Callable[[Failure], None] | None, on_progress: Callable[[Any], None] | None,
                 superseded: Callable[[], bool] | None) -> None:
        self.runner = runner
        self.kind = kind  # "read", "write" or the task class's name
        self.on_ok = on_ok
        self.on_fail = on_fail
        self.on_progress = on_progress
        self._superseded = superseded
        self.dropped = False
        self.done = False
        self.task: Any = None

    def supersede(self) -> None:
        """Drop the answer when it comes (the work itself still runs to its end)."""
        self.dropped = True

    def cancel(self) -> None:
        """Supersede it and ask a cancellable task (a batch) to stop early."""
        self.dropped = True
        cancel = getattr(self.task, "cancel", None)
        if cancel is not None:
            cancel()

    def is_superseded(self) -> bool:
        return self.dropped or (self._superseded is not None and bool(self._superseded()))

    @property
    def pending(self) -> bool:
        return not self.done


class Latest:
    """Holds the newest operation of one concern; starting another supersedes the one before."""

    def __init__(self) -> None:
        self.current: Operation | None = None

    def set(self, op: Operation | None) -> Operation | None:
        if self.current is not None and self.current is not op and not self.current.done:
            self.current.supersede()
        self.current = op
        return op

    def is_current(self, op: Operation | None) -> bool:
        return op is not None and op is self.current

    def pending(self) -> bool:
        return self.current is not None and not self.current.done and not self.current.dropped

    def clear(self) -> None:
        self.set(None)


class TaskRunner(QObject):
    """A worker pool (2 threads) and the log's writer thread (1), with typed callbacks."""

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.hub = WorkerHub(self)
        self.pool = make_pool(threads)
        self.log_pool = make_pool(1)  # the log's writes, one at a time, in the order submitted
        self.log_pool.setObjectName("tilik-log")
        self._ids = itertools.count(1)
        self._ops: dict[int, Operation] = {}  # private: which callbacks a worker's answer belongs to
        self.closing = False
        self.fallback_failure: Callable[[Failure], None] = lambda f: log.error("unhandled failure: %s", f.error)
        self.hub.finished.connect(self._finished)
        self.hub.failed.connect(self._failed)
        self.hub.progress.connect(self._progress)

    # -- starting work ---------------------------------------------------------------------------
    def start(self, task_cls: type, *args: Any, on_ok: Callable[[Any], None],
              on_fail: Callable[[Failure], None] | None = None, on_progress: Callable[[Any], None] | None = None,
              superseded: Callable[[], bool] | None = None, writer: bool = False, **kwargs: Any) -> Operation:
        """Run ``task_cls(hub, id, *args, **kwargs)`` (a :class:`gui.workers._Task`)."""
        rid = next(self._ids)
        op = Operation(self, task_cls.__name__, on_ok, on_fail, on_progress, superseded)
        op.task = task_cls(self.hub, rid, *args, **kwargs)
        self._ops[rid] = op
        (self.log_pool if writer else self.pool).start(op.task)
        return op

    def read(self, fn: Callable[..., Any], *args: Any, on_ok: Callable[[Any], None],
             on_fail: Callable[[Failure], None] | None = None, superseded: Callable[[], bool] | None = None,
             **kwargs: Any) -> Operation:
        """``fn(*args, **kwargs)`` on the worker pool."""
        op = self.start(CallTask, fn, *args, on_ok=on_ok, on_fail=on_fail, superseded=superseded, **kwargs)
        op.kind = "read"
        return op

    def write(self, fn: Callable[..., Any], *args: Any, on_ok: Callable[[Any], None],
              on_fail: Callable[[Failure], None] | None = None, **kwargs: Any) -> Operation:
        """``fn(*args, **kwargs)`` on the log's thread, after every write asked before it."""
        op = self.start(CallTask, fn, *args, on_ok=on_ok, on_fail=on_fail, writer=True, **kwargs)
        op.kind = "write"
        return op

    def detached(self, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` on the pool with nobody waiting for it (a warm-up): not counted as busy."""
        self.pool.start(CallTask(self.hub, -1, fn, *args))

    # -- state -----------------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while any operation's answer is still to come."""
        return bool(self._ops)

    def writes_pending(self) -> bool:
        return any(op.kind == "write" for op in self._ops.values())

    def wait_for_writes(self, timeout_ms: int = 30000) -> bool:
        return bool(self.log_pool.waitForDone(timeout_ms))

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Drop work not started, wait for the running work; answers after this are not delivered."""
        self.pool.clear()
        self.pool.waitForDone(timeout_ms)

    # -- answers (GUI thread) --------------------------------------------------------------------
    def _take(self, rid: int) -> Operation | None:
        op = self._ops.pop(rid, None)
        if op is None:
            return None
        op.done = True
        if self.closing or op.is_superseded():
            return None
        return op

    def _finished(self, rid: int, payload: Any) -> None:
        op = self._take(rid)
        if op is not None:
            op.on_ok(payload)

    def _failed(self, rid: int, failure: Failure) -> None:
        op = self._take(rid)
        if op is not None:
            (op.on_fail or self.fallback_failure)(failure)

    def _progress(self, rid: int, payload: Any) -> None:
        op = self._ops.get(rid)
        if op is not None and op.on_progress is not None and not self.closing and not op.is_superseded():
            op.on_progress(payload)
