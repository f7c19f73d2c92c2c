"""Background work: every model run happens in a QRunnable on a dedicated QThreadPool.

Workers never touch widgets, and only the window's log thread (:func:`record_one`,
:func:`record_rows`) writes to the inspection log. They report through :class:`WorkerHub`, a
QObject living in the GUI thread, so its signals arrive there as queued calls:

- ``finished(request_id, payload)``: the work is done (payload depends on the task);
- ``failed(request_id, Failure)``: a known :class:`TilikError` or an unexpected exception;
- ``progress(request_id, BatchProgress)``: a batch's rows so far (sent at most every 100 ms).

Every request carries an id; the window drops answers to requests it has since superseded.

Everything heavy about a result is done off the GUI thread, which only shows it: the picture is
converted (and, when huge, shrunk) to the pixmap format and the heatmap shrunk and coloured here,
and the log is written by :func:`record_rows` / :func:`record_one` on the window's log thread
(files encoded, written and flushed together, then one transaction per group of rows).
"""

from __future__ import annotations

import threading
import time
import traceback
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from gui.imaging import (DISPLAY_MAX_SIDE, HEAT_DISPLAY_SIDE, colour_heat, display_qimage,  # noqa: F401
                         heat_rgba, qimage_to_rgb, result_heat, rgb_to_qimage, slim_result, small_heatmap)
from inference.errors import TilikError

if TYPE_CHECKING:  # numpy and the registry load lazily: the window appears before they are needed
    import numpy as np

    from inference.registry import Pack

BATCH_EMIT_INTERVAL_S = 0.1
# Heatmaps are a 7×7 … 14×14 map upsampled: 512 px keeps every detail, so that is what the log
# gets (it stores up to 1024) and its PNG stays small and quick to make.
LOG_HEATMAP_SIDE = 512
ROW_HEATMAP_SIDE = 128  # what a batch row keeps (uint8) once it is logged


@dataclass
class Failure:
    """Why a request failed. ``trace`` is set for unexpected (non-Tilik) errors."""

    error: BaseException
    trace: str | None = None
    source: str = ""

    @property
    def known(self) -> bool:
        return isinstance(self.error, TilikError)

    @property
    def message(self) -> str:
        from gui.wording import error_message  # in the app's language, by the error's code

        return error_message(self.error)


@dataclass
class Inspection:
    """A classified image ready to show: the result, the picture, a small heatmap."""

    result: Any  # InspectionResult
    image: QImage
    heat: np.ndarray | None  # float32 [0, 1], at most HEAT_DISPLAY_SIDE px a side
    source: str
    origin: str  # "file", "paste", "camera", "live", "batch", "history"
    log_image: Any = None  # what to give the log: a Path, bytes, an RGB array, or None
    pack_id: str = ""
    record_id: Any = None
    batch_row: Any = None  # the BatchRow it came from
    log_error: str | None = None
    heat_image: Any = None  # (colormap, QImage): the heatmap already coloured for display


@dataclass(eq=False)
class BatchRow:
    index: int
    source: str
    result: Any  # InspectionResult with a reduced heatmap, or None
    error: str | None
    record_id: Any = None
    log_error: str | None = None
    heat_u8: Any = None  # the row's heatmap at ROW_HEATMAP_SIDE px, uint8, once the result is logged

    def heat(self) -> Any:
        """The heatmap to display (float32 [0, 1]) or None."""
        if self.heat_u8 is not None:
            return self.heat_u8.astype("float32") / 255.0
        if self.result is not None and self.result.heatmap is not None:
            return result_heat(self.result)
        return None

    def shrink(self, heat_u8: Any = None) -> None:
        """Once logged: keep a small uint8 heatmap (``heat_u8``, from :func:`row_heat_u8`, or made
        now) and drop the big one, so thousands of rows stay small."""
        if self.result is not None and self.result.heatmap is not None:
            self.heat_u8 = row_heat_u8(self.result) if heat_u8 is None else heat_u8
            self.result = replace(self.result, heatmap=None, embedding=None)


def row_heat_u8(result: Any) -> Any:
    """What a batch row keeps of its result's heatmap once logged: ROW_HEATMAP_SIDE px, uint8."""
    small = result_heat(result, ROW_HEATMAP_SIDE)
    if small is None:
        return None
    import numpy as np

    return (np.clip(small, 0, 1) * 255).round().astype(np.uint8)


@dataclass
class BatchProgress:
    done: int
    total: int
    elapsed_s: float
    rows: list[BatchRow] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class BatchDone:
    done: int
    total: int
    elapsed_s: float
    cancelled: bool
    errors: int


class WorkerHub(QObject):
    """The signals of every task. Create it in the GUI thread."""

    finished = Signal(int, object)
    failed = Signal(int, object)
    progress = Signal(int, object)


LOG_GROUP = 32  # inspections whose files are written and flushed together, and committed together


def record_one(log: Any, result: Any, image: Any, **details: Any) -> Any:
    """Record one interactive inspection; returns its record (InspectionLog.record_result)."""
    return log.record_result(result, image=image, **details)


def record_rows(log: Any, items: Sequence[tuple[Any, Any]], *, operator: str, station: str, mode: str,
                keep_full_image: bool | None) -> list[tuple[Any, Any]]:
    """Record a batch's rows (``(result, image)`` pairs) a group at a time: each group's files
    are written and flushed together, then its rows commit in one transaction. Returns, per row,
    its inspection id or the error (TilikError) that kept it out of the log, and the small uint8
    heatmap the row keeps from then on."""
    from inference.log import StagedInspection

    out: list[tuple[Any, Any]] = []
    stager = None
    for start in range(0, len(items), LOG_GROUP):
        group = items[start:start + LOG_GROUP]
        outcomes: list[Any]
        try:
            stager = stager or log.stager(mode, keep_full_image=keep_full_image)
            staged = stager.stage_many(group)
            ids = iter(log.commit_staged([s for s in staged if isinstance(s, StagedInspection)],
                                         operator=operator, station=station))
            outcomes = [next(ids) if isinstance(s, StagedInspection) else s for s in staged]
        except TilikError as exc:  # nothing of the group was stored
            outcomes = [exc] * len(group)
        out.extend((outcome, row_heat_u8(result)) for outcome, (result, _) in zip(outcomes, group))
    return out


# -- inspectors --------------------------------------------------------------------------------------
class PackObjectCache:
    """One object per (pack, provider preference), made by ``factory(pack, provider)`` in a worker
    thread (an Inspector, a Verifier)."""

    def __init__(self, factory: Callable[[Pack, str | None], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str | None, str | None], Any] = {}

    def get(self, pack: Pack, provider: str | None) -> Any:
        key = (str(pack.folder), pack.version, provider)
        with self._lock:
            found = self._items.get(key)
        if found is not None:
            return found
        made = self._factory(pack, provider)
        with self._lock:
            self._items[key] = made
        return made

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _make_inspector(pack: Pack, provider: str | None) -> Any:
    from inference.inspector import Inspector

    return Inspector(pack, provider)


class InspectorCache(PackObjectCache):
    """One :class:`Inspector` per (pack, provider preference), created in a worker thread.

    ``seal_profile`` is the active seal profile (issue 25): every seal pack's Inspector handed out
    judges with it (None: the classifier alone), so a single photo and a batch mean the same."""

    def __init__(self) -> None:
        super().__init__(_make_inspector)
        self.seal_profile: Any = None

    def get(self, pack: Pack, provider: str | None) -> Any:
        inspector = super().get(pack, provider)
        want = self.seal_profile if inspector.manifest.mode == "seal" else None
        if getattr(inspector, "profile", None) is not want:
            inspector.use_profile(want)  # ProfileError (a TilikError, in words) when the pack cannot use it
        return inspector


_THREAD_STATE = threading.local()
BACKGROUND_NICENESS = 5


def _lower_this_thread_priority() -> None:
    """Background work yields the CPU to the GUI thread (Linux: per-thread nice value).

    onnxruntime's own threads, created by the thread that creates the session, inherit it, so a
    busy model never starves the window on a 2-core laptop. Elsewhere this does nothing.
    """
    if getattr(_THREAD_STATE, "lowered", False):
        return
    _THREAD_STATE.lowered = True
    import os
    import sys

    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        except OSError:
            pass


class _Task(QRunnable):
    def __init__(self, hub: WorkerHub, request_id: int) -> None:
        super().__init__()
        self.hub = hub
        self.request_id = request_id
        self.setAutoDelete(True)

    def work(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def source_name(self) -> str:
        return ""

    def run(self) -> None:
        _lower_this_thread_priority()
        try:
            payload = self.work()
        except TilikError as exc:
            self.hub.failed.emit(self.request_id, Failure(exc, None, self.source_name()))
        except Exception as exc:  # noqa: BLE001 - reported as an internal error, never kills the app
            self.hub.failed.emit(self.request_id, Failure(exc, traceback.format_exc(), self.source_name()))
        else:
            self.hub.finished.emit(self.request_id, payload)


class CallTask(_Task):
    """Run any function in the pool and report its return value."""

    def __init__(self, hub: WorkerHub, request_id: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(hub, request_id)
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def work(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


class ClassifyTask(_Task):
    """Decode one image (path, bytes, RGB array or QImage), classify it, and prepare it for display."""

    def __init__(self, hub: WorkerHub, request_id: int, cache: InspectorCache, pack: Pack, provider: str | None,
                 source: Any, name: str, origin: str, *, keep_pixels_for_log: bool = False,
                 colormap: str | None = None) -> None:
        super().__init__(hub, request_id)
        self.cache, self.pack, self.provider = cache, pack, provider
        self.source, self.name, self.origin = source, name, origin
        self.keep_pixels_for_log = keep_pixels_for_log
        self.colormap = colormap  # the heatmap is coloured with it here (ImageView recolours if it changes)

    def source_name(self) -> str:
        return self.name

    def work(self) -> Inspection:
        from inference.imageio import load_image

        inspector = self.cache.get(self.pack, self.provider)
        source = qimage_to_rgb(self.source) if isinstance(self.source, QImage) else self.source
        log_image: Any = None
        if isinstance(source, (str, Path)):
            # Read the file once here: the model and the log get the same bytes, and the GUI thread
            # (which writes the log) does not wait on the disk.
            from inference.imageio import MAX_FILE_BYTES

            try:
                path = Path(source)
                if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                    source = log_image = path.read_bytes()
            except OSError:
                pass  # load_image says why, in words
        elif isinstance(source, (bytes, bytearray)):
            log_image = bytes(source)
        decoded = load_image(source, name=self.name)
        result = inspector.classify(decoded, name=self.name)
        if log_image is None and self.keep_pixels_for_log:
            log_image = decoded.rgb
        if self.origin == "live":
            log_image = None
        heat = result_heat(result)
        result = slim_result(result, LOG_HEATMAP_SIDE)
        return Inspection(result=result, image=display_qimage(decoded.rgb), heat=heat,
                          source=self.name, origin=self.origin, log_image=log_image, pack_id=self.pack.id,
                          heat_image=colour_heat(heat, self.colormap))


class LoadImageTask(_Task):
    """Decode an image for display only (a batch row or a history record); no model run."""

    def __init__(self, hub: WorkerHub, request_id: int, source: Any, name: str,
                 heat_source: Any = None) -> None:
        super().__init__(hub, request_id)
        self.source, self.name, self.heat_source = source, name, heat_source

    def source_name(self) -> str:
        return self.name

    def work(self) -> tuple[QImage, np.ndarray | None]:
        return load_for_display(self.source, self.name, self.heat_source)


def load_for_display(source: Any, name: str, heat_source: Any = None) -> tuple[QImage, np.ndarray | None]:
    """A picture (and its stored heatmap) decoded and converted for display; any thread."""
    import numpy as np

    from inference.imageio import load_image

    decoded = load_image(source, name=name)
    heat = None
    if heat_source is not None:
        try:  # the log keeps heatmaps as 8-bit grayscale PNGs
            heat = small_heatmap(load_image(heat_source).rgb[:, :, 0].astype(np.float32) / 255.0)
        except TilikError:
            heat = None
    return display_qimage(decoded.rgb), heat


class BatchTask(_Task):
    """Classify many files; rows are sent in chunks; cancellable between model runs."""

    def __init__(self, hub: WorkerHub, request_id: int, cache: InspectorCache, pack: Pack, provider: str | None,
                 inputs: Sequence[Path], *, batch_size: int = 8) -> None:
        super().__init__(hub, request_id)
        self.cache, self.pack, self.provider = cache, pack, provider
        self.inputs = list(inputs)
        self.batch_size = batch_size
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def work(self) -> BatchDone:
        from inference.imageio import iter_image_paths

        start = time.perf_counter()
        files = iter_image_paths(self.inputs)
        total = len(files)
        self.hub.progress.emit(self.request_id, BatchProgress(0, total, 0.0, []))
        inspector = self.cache.get(self.pack, self.provider)
        rows: list[BatchRow] = []
        done = errors = 0
        last_emit = time.perf_counter()
        cancelled = self.cancel_event.is_set()
        if not cancelled:
            # closing(): a cancelled run stops the prepare thread now, not when the generator is collected.
            with closing(inspector.iter_batch(files, batch_size=self.batch_size,
                                              names=[str(f) for f in files])) as items:
                for index, item in enumerate(items):
                    error = None if item.error is None else str(item.error)
                    errors += error is not None
                    # The log keeps heatmaps up to 1024 px; the table keeps 256 px once the row is logged.
                    rows.append(BatchRow(index, item.source, slim_result(item.result, LOG_HEATMAP_SIDE), error))
                    done += 1
                    now = time.perf_counter()
                    if now - last_emit >= BATCH_EMIT_INTERVAL_S:
                        self.hub.progress.emit(self.request_id, BatchProgress(done, total, now - start, rows))
                        rows, last_emit = [], now
                    if self.cancel_event.is_set():
                        cancelled = done < total
                        break
        self.hub.progress.emit(self.request_id, BatchProgress(done, total, time.perf_counter() - start, rows))
        return BatchDone(done, total, time.perf_counter() - start, cancelled, errors)


def make_pool(max_threads: int = 2) -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(max_threads)
    pool.setObjectName("tilik-inference")
    return pool
