"""Batch iteration for :meth:`Inspector.iter_batch`: prepare images, run them ``size`` at a time, yield in order.

Two ways with the same results, order and per-item errors: serial (prepare a batch, run it, prepare
the next), and prefetched, where worker threads decode and prepare the next batch's images while the
calling thread runs the model on the current one (Pillow and onnxruntime release the GIL).
``TILIK_PREFETCH=0`` picks serial (for measurement); prefetch is the default, with two workers where
the machine has two cores or more (``TILIK_PREFETCH=N``: N workers). Two, because decoding a phone
photo (25-30 ms even at 1/4 or 1/8 scale) is most of its time and one core does it while the model
needs a few ms: two photos decode at once on a two-core machine.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from inference.errors import TilikError
from inference.imageio import DecodedImage, ImageSource

PREFETCH_ENV = "TILIK_PREFETCH"

P = TypeVar("P")  # a prepared image
T = TypeVar("T")  # what is yielded per input

Prepare = Callable[[ImageSource, str], P]
# Runs the pending prepared images, puts an item per index into `done`, and empties `pending`.
Flush = Callable[[list[tuple[int, str, P]], dict[int, T]], None]
Fail = Callable[[str, TilikError], T]


def prefetch_workers() -> int:
    """How many worker threads prepare the next images: ``TILIK_PREFETCH`` = 0/off (none: serial),
    a number (that many, at most 8), or unset/on (two where there are two cores or more, else one)."""
    value = os.environ.get(PREFETCH_ENV, "").strip().lower()
    if value in ("0", "off", "false", "no"):
        return 0
    if value.isdigit():
        return min(int(value), 8)
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def prefetch_enabled() -> bool:
    """Whether batches prepare the next images in worker threads (``TILIK_PREFETCH=0`` turns it off)."""
    return prefetch_workers() > 0


def source_name(image: ImageSource) -> str:
    if isinstance(image, DecodedImage):
        return image.source
    if isinstance(image, (str, Path)):
        return str(image)
    if isinstance(image, np.ndarray):
        return "camera frame"
    return "image"


def iter_serial(images: Iterable[ImageSource], size: int, names: Sequence[str] | None,
                prepare: Prepare, flush: Flush, fail: Fail) -> Iterator[T]:
    """Prepare an image, run a batch when ``size`` are pending, yield in order; nothing ahead."""
    return _iter(images, size, names, prepare, flush, fail, None)


def _prepared_now(prepare: Prepare, image: ImageSource, label: str) -> Future:
    """``prepare(image, label)`` on this thread, as a finished Future: its result, or its exception
    raised where the worker's would be (when the item's turn comes)."""
    future: Future = Future()
    try:
        future.set_result(prepare(image, label))
    except Exception as exc:  # re-raised by future.result() in order, as from the worker
        future.set_exception(exc)
    return future


def iter_prefetched(images: Iterable[ImageSource], size: int, names: Sequence[str] | None,
                    prepare: Prepare, flush: Flush, fail: Fail, workers: int | None = None) -> Iterator[T]:
    """As :func:`iter_serial`, with ``workers`` threads (default :func:`prefetch_workers`, at least
    one) preparing up to a batch ahead; the items come out in input order whichever finishes first."""
    worker = ThreadPoolExecutor(max(1, workers or prefetch_workers()), thread_name_prefix="tilik-prepare")
    try:
        yield from _iter(images, size, names, prepare, flush, fail, worker)
    finally:
        # Closed early or failed: queued images are dropped, those being prepared finish.
        worker.shutdown(wait=True, cancel_futures=True)


def _iter(images: Iterable[ImageSource], size: int, names: Sequence[str] | None,
          prepare: Prepare, flush: Flush, fail: Fail, worker: ThreadPoolExecutor | None) -> Iterator[T]:
    # A batch is the next `size` images that prepared without error. With a worker, up to `size`
    # images beyond the pending ones are prepared in the meantime (one batch ahead at most, so
    # memory stays bounded); without one, each image is prepared as it is drawn and nothing waits
    # ahead. Inputs are drawn from `images` on the calling thread, lazily apart from that look-ahead.
    source = iter(images)
    ahead: deque[tuple[int, str, Future]] = deque()
    pending: list[tuple[int, str, P]] = []
    done: dict[int, T] = {}
    next_out = 0
    index = -1
    exhausted = False
    look_ahead = size if worker is not None else 1
    try:
        while True:
            while not exhausted and len(ahead) < look_ahead:
                try:
                    image = next(source)
                except StopIteration:
                    exhausted = True
                    break
                index += 1
                label = names[index] if names is not None else source_name(image)
                if worker is None or isinstance(image, (DecodedImage, np.ndarray)):
                    # Pixels handed to us are prepared here, at once: what the worker overlaps is
                    # decoding, and a decoded photo must not wait in the queue beside the next one
                    # (each is gone before the next is read).
                    ahead.append((index, label, _prepared_now(prepare, image, label)))
                else:
                    ahead.append((index, label, worker.submit(prepare, image, label)))
                del image  # the work item holds it until it is prepared, then lets it go
            if not ahead:
                break
            item_index, label, future = ahead.popleft()
            try:
                # An unexpected exception propagates from here, as it would from prepare().
                pending.append((item_index, label, future.result()))
            except TilikError as exc:
                done[item_index] = fail(label, exc)
            del future
            if len(pending) >= size:
                flush(pending, done)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
        flush(pending, done)
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1
    finally:
        ahead.clear()
