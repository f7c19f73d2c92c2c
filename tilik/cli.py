"""The ``tilik`` command line.

``tilik`` with no arguments starts the desktop app. Subcommands:

- ``tilik packs [--json]``: every pack found, usable or not, and why not;
- ``tilik classify --pack ID [--json] [--heatmap-dir DIR] [--read-numbers] PATH...``: classify
  files/folders (``--read-numbers``: also the container and seal numbers, :mod:`inference.ocr`);
- ``tilik self-test``: run every bundled pack on its shipped samples.

Exit codes: 0 every input succeeded, 1 some input failed, 2 usage error (bad arguments, unknown
or unusable pack).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import deque
from contextlib import closing
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, TextIO

from inference.errors import PackError, ProviderError, TilikError, UsageError
from tilik.table import StreamingTable

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
# One classified input on its way to the output and the log: (batch item, heatmap file written or
# None, why the heatmap was not written or None, the --read-numbers fields or {}).
Row = tuple[Any, "str | None", Any, "dict[str, Any]"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``main`` owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_provider(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", default=None,
                   help="execution provider: auto (default, or TILIK_PROVIDER), cpu, cuda, directml, coreml")


# ``--log`` takes a database only when the next word names one by its extension; anything else after
# it is an input (``classify --log a.jpg b.jpg`` logs both images to the default database).
LOG_DB_SUFFIXES = (".sqlite3", ".sqlite", ".db")
LOGGING_COMMANDS = ("classify", "verify")


def add_log_options(p: argparse.ArgumentParser) -> None:
    """``--log`` (the default database, or the next word when it ends in .sqlite3/.sqlite/.db) and
    ``--log-db PATH`` (any database, named explicitly) for a command that records its results."""
    p.add_argument("--log", dest="log", action="store_true",
                   help="record each result in the inspection log: the default database (TILIK_DB, else the "
                        "user data folder), or DB when the next word ends in .sqlite3, .sqlite or .db")
    p.add_argument("--log-db", dest="log_db", default=None, metavar="DB",
                   help="record each result in this inspection log database (implies --log)")


def normalise_log_option(argv: list[str]) -> list[str]:
    """Rewrite ``--log DB.sqlite3`` and ``--log=DB`` as ``--log-db DB`` for the logging commands, so
    that ``--log`` never takes an image path as its database."""
    if not argv or argv[0] not in LOGGING_COMMANDS:
        return argv
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            out.extend(argv[i:])
            break
        if word.startswith("--log="):
            out += ["--log-db", word[len("--log="):]]
        elif (word == "--log" and i + 1 < len(argv) and not argv[i + 1].startswith("-")
              and argv[i + 1].lower().endswith(LOG_DB_SUFFIXES)):
            out += ["--log-db", argv[i + 1]]
            i += 1
        else:
            out.append(word)
        i += 1
    return out


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the command about to run, a built-in one (classify, packs,
    self-test) gets a parser without the other subsystems' commands, whose modules are then never
    imported (start-up time of every ``tilik classify``)."""
    parser = _Parser(prog="tilik", description="Tilik: offline inspection with local models. "
                     "Run without arguments to start the desktop app.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("packs", help="list model packs, usable or not")
    p.add_argument("--json", action="store_true", help="one JSON object per pack")
    _add_provider(p)

    p = sub.add_parser("classify", help="classify image files or folders with a pack")
    p.add_argument("--pack", required=True, help="pack id (see `tilik packs`)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per image")
    p.add_argument("--heatmap-dir", type=Path, default=None, help="write heatmap overlays here (JPEG, at most 1024 px a side)")
    p.add_argument("--read-numbers", action="store_true",
                   help="also read the container number (ISO 6346 checked) and the seal number off each photo")
    p.add_argument("--batch-size", type=int, default=16, help="images per model run (default 16)")
    p.add_argument("--profile", default=None, metavar="NAME",
                   help="judge with this seal profile (see `tilik profile list`); the heatmap is its anomaly map")
    add_log_options(p)
    _add_provider(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders (recursed)")

    p = sub.add_parser("self-test", help="run every bundled pack on its sample images")
    p.add_argument("--json", action="store_true")
    _add_provider(p)

    if command in COMMANDS:
        return parser
    for name, module in extra_commands().items():
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


# Subsystems with their own subcommand: module -> it provides NAME, HELP, add_arguments(parser), run(args) -> int.
EXTRA_COMMAND_MODULES = ("tilik.log_cmd", "tilik.verify_cmd", "tilik.refs_cmd", "tilik.central_cmd",
                         "tilik.profile_cmd")


_EXTRA: dict[str, Any] = {}


def extra_commands() -> dict[str, Any]:
    """NAME -> module of every subsystem command, imported on first use."""
    if not _EXTRA:
        import importlib
        import importlib.util

        for name in EXTRA_COMMAND_MODULES:
            if importlib.util.find_spec(name) is not None:
                module = importlib.import_module(name)
                _EXTRA[module.NAME] = module
    return _EXTRA


def __getattr__(name: str) -> Any:
    if name == "EXTRA_COMMANDS":  # the old module attribute, now imported only when asked for
        return extra_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- packs ------------------------------------------------------------------------------------------
def cmd_packs(args: argparse.Namespace, out: TextIO) -> int:
    from inference.providers import display_name, resolve_preference
    from inference.registry import PackRegistry, preferred

    provider = display_name(resolve_preference(args.provider)[0])
    packs = PackRegistry().all()
    in_use = {p.id: p for p in preferred(packs)}  # what `classify --pack ID` would run
    rows = []
    for pack in packs:
        m = pack.manifest
        used = in_use.get(pack.id)
        rows.append({
            "id": pack.id,
            "name": m.name if m else None,
            "version": pack.version,
            "task": m.task if m else None,
            "mode": m.mode if m else None,
            "classes": list(m.class_names) if m else [],
            # The manifest's human labels ("tench", not the WordNet id "n01440764"), class by class.
            "class_labels": [m.class_label(c) for c in m.class_names] if m else [],
            "origin": pack.origin,
            "folder": str(pack.folder),
            "usable": pack.usable,
            "in_use": used is not None and used.folder == pack.folder,
            "provider": provider if pack.usable else None,
            "reason": pack.problem,
            "manifest_sha256": pack.manifest_sha256,
        })
        if pack.usable and not rows[-1]["in_use"]:
            rows[-1]["reason"] = (f"not used: the {used.origin} pack {used.version} is (a user pack replaces a "
                                  f"bundled one only with a strictly higher release version)")
    if args.json:
        for row in rows:
            out.write(json.dumps(row) + "\n")
        return EXIT_OK
    if not rows:
        out.write("No model packs found.\n")
        return EXIT_OK
    for row in rows:
        state = (f"UNUSABLE: {row['reason']}" if not row["usable"] else f"usable on {row['provider']}"
                 + ("" if row["in_use"] else f", {row['reason']}"))
        labels = row["class_labels"]
        classes = ", ".join(labels[:6]) + (f", … ({len(labels)} classes)" if len(labels) > 6 else "")
        out.write(f"{row['id']:<20} {row['version'] or '-':<8} {row['task'] or '-':<9} {row['origin']:<8} {state}\n")
        if classes:
            out.write(f"{'':<20} classes: {classes}\n")
    return EXIT_OK


# -- classify ---------------------------------------------------------------------------------------
class Progress:
    """A one-line progress bar on stderr for long runs (only when stderr is a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None, min_total: int = 5) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total >= min_total and getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self.count = 0

    def step(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        filled = int(30 * self.count / self.total)
        left = (self.total - self.count) / rate if rate > 0 else 0
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} "
                          f"{rate:5.1f} img/s, {left:4.0f} s left")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _heatmap_file(heatmap_dir: Path, source: str, index: int) -> Path:
    stem = Path(source).stem or "image"
    return heatmap_dir / f"{index:05d}_{stem}_heatmap.jpg"


def cmd_classify(args: argparse.Namespace, out: TextIO) -> int:
    from inference.heatmap import overlay, save_rgb
    from inference.imageio import display_text, iter_image_paths
    from inference.inspector import Inspector
    from inference.results import HEATMAP_MAX_PX
    from tilik.jsonrows import json_row

    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1.")
    # Inputs that cannot even be looked at (missing, a path too long for the system) and folders
    # that cannot be listed are reported one by one; everything else is still classified.
    missing: list[tuple[str, str]] = []
    present: list[Path] = []
    for p in args.paths:
        problem = _path_problem(p)
        if problem:
            missing.append((str(p), problem))
        else:
            present.append(p)
    unlisted: list[tuple[str, str]] = []
    files = iter_image_paths(present, errors=unlisted)
    inspector = Inspector.for_pack(args.pack, provider=args.provider)
    if getattr(args, "profile", None):
        from tilik.profile_cmd import apply_profile

        apply_profile(inspector, args.profile)
    if args.heatmap_dir is not None:
        # Overlays are drawn on a ≤ 1024-px copy the inspector keeps of the pixels it decoded
        # (never a second decode, never a full-size float map).
        inspector.preview_px = HEATMAP_MAX_PX
    if not files and not missing and not unlisted:
        # Nothing to classify is not success: a wrong folder would otherwise look like a clean run.
        shown = ", ".join(display_text(str(p)) for p in args.paths)
        raise TilikError(f"No images found in {shown}: nothing was classified. Tilik opens JPEG, PNG, GIF, "
                         "BMP, TIFF, WebP, PPM, ICO and TGA files (folders are searched recursively).")
    recorder = _open_recorder(args, inspector)
    failures = 0
    classified = 0
    # Rows are printed as they come (flushed), so Ctrl-C leaves every finished row on screen.
    table = None if args.json else StreamingTable(
        out, ("image", "verdict", "number", "notes"),
        (min(60, max(len(display_text(str(p))) for p in [*files, *(m for m, _ in missing + unlisted)])), 22, 17))
    progress = Progress(len(files) + len(missing))

    def emit_error(path: str, message: str) -> None:
        nonlocal failures
        failures += 1
        if args.json:
            out.write(json.dumps({"path": path, "error": message}) + "\n")
            out.flush()
        else:
            table.row((display_text(path), "ERROR", "", message))
        progress.step()

    for path, problem in missing + unlisted:
        emit_error(path, problem)

    def emit(item: Any, heatmap_path: str | None, heatmap_error: Any, numbers: dict[str, Any], logged: Any) -> None:
        nonlocal failures, classified
        if item.error is not None:
            emit_error(item.source, str(item.error))
            return
        if isinstance(logged, BaseException):
            emit_error(item.source, str(logged))
            return
        result = item.result
        if heatmap_error is not None:
            failures += 1  # the result stands (printed, logged); the run still did not do all it was asked
        if args.json:
            row = {**result.to_json_dict(heatmap_path=heatmap_path), **numbers}
            if heatmap_error is not None:
                row["heatmap_error"] = str(heatmap_error)
            out.write(json_row(row) + "\n")
        else:
            from inference import wording

            # The same words as the screen, the log, the CSV and the PDF (inference.wording).
            v = result.decision
            notes = list(wording.reasons_text(v)) + wording.notes_text(v) + _numbers_notes(numbers)
            if heatmap_error is not None:
                notes.append(f"heatmap not written: {heatmap_error}")
            table.row((display_text(item.source), wording.headline(v), wording.number_line(v), "; ".join(notes)))
        classified += 1
        progress.step()
        out.flush()

    # With --log, each model batch is recorded as a group (files flushed together, one commit) in
    # a writer thread while the next batch runs; results are printed in order once recorded.
    writer = ThreadPoolExecutor(1, thread_name_prefix="tilik-log") if recorder is not None else None
    waiting: deque[tuple[list[Row], Future[list[Any]] | None]] = deque()

    def finish_oldest() -> None:
        rows, future = waiting.popleft()
        logged = future.result() if future is not None else [None] * len(rows)
        for (item, heatmap_path, heatmap_error, numbers), outcome in zip(rows, logged):
            emit(item, heatmap_path, heatmap_error, numbers, outcome)

    def submit(rows: list[Row]) -> None:
        # A heatmap that could not be written does not keep its result out of the log.
        wanted = [item.error is None for item, _, _, _ in rows]
        future = writer.submit(_record_group, recorder, rows, wanted) if writer is not None and any(wanted) else None
        waiting.append((rows, future))
        while len(waiting) > 1 or (waiting and waiting[0][1] is None):  # one batch in the writer at a time
            finish_oldest()

    def draw(item: Any, index: int) -> tuple[str | None, Any]:
        """Write one overlay; (its path, None) or (None, why it was not written)."""
        try:
            rgb = item.preview
            heat = item.result.heatmap_image(max(rgb.shape[:2]))
            return str(save_rgb(_heatmap_file(args.heatmap_dir, item.source, index), overlay(rgb, heat))), None
        except (TilikError, OSError, ValueError) as exc:
            return None, exc

    def handle(item: Any, heatmap_path: str | None, error: Any) -> None:
        nonlocal rows
        # Read before the result is recorded, so that the log keeps what was read (issue 26).
        numbers = _read_numbers(args, item.source) if item.error is None else {}
        if writer is None:
            emit(item, heatmap_path, error, numbers, None)
            return
        rows.append((item, heatmap_path, error, numbers))
        if len(rows) >= args.batch_size:
            submit(rows)
            rows = []

    # --heatmap-dir: overlays are drawn and written in a thread while the next photos are decoded
    # and run (Pillow and onnxruntime release the GIL); results still come out in order.
    painter = ThreadPoolExecutor(1, thread_name_prefix="tilik-heatmap") if args.heatmap_dir is not None else None
    drawing: deque[tuple[Any, Future[tuple[str | None, Any]] | None]] = deque()

    def settle(keep: int) -> None:
        while len(drawing) > keep or (drawing and (drawing[0][1] is None or drawing[0][1].done())):
            item, future = drawing.popleft()
            handle(item, *(future.result() if future is not None else (None, None)))

    rows: list[Row] = []
    try:
        # closing(): an error here stops the batch's prepare thread at once.
        with closing(inspector.iter_batch(files, batch_size=args.batch_size,
                                          names=[str(f) for f in files])) as items:
            for index, item in enumerate(items):
                wanted = painter is not None and item.error is None and item.result.heatmap is not None
                drawing.append((item, painter.submit(draw, item, index) if wanted else None))
                settle(keep=4)  # at most a few overlays (their preview pixels) wait at a time
        settle(keep=0)
        if rows:
            submit(rows)
        while waiting:
            finish_oldest()
    finally:
        for executor in (painter, writer):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
    progress.close()
    if not args.json:
        out.write(f"\n{classified} of {table.count} images classified with {inspector.manifest.id} "
                  f"{inspector.manifest.version} on {inspector.provider}.\n")
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _path_problem(path: Path) -> str | None:
    """Why a command-line path cannot be used at all (None when it exists)."""
    import errno

    from inference.imageio import display_text

    shown = display_text(str(path))
    try:
        os.stat(path)
    except FileNotFoundError:
        return f"{shown}: no such file or folder."
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return (f"{shown[:60]}…: the path is {len(os.fsencode(path))} bytes, longer than this system allows; "
                    "move or rename the file.")
        return f"{shown}: cannot be read ({exc.strerror or exc})."
    return None


def _read_numbers(args: argparse.Namespace, source: str) -> dict[str, Any]:
    """``--read-numbers``: the container/seal number fields for one photo (issue 26), else {}."""
    if not getattr(args, "read_numbers", False):
        return {}
    from inference.ocr.reading import read_numbers_fields

    return read_numbers_fields(source, provider=args.provider)


def _numbers_notes(fields: dict[str, Any]) -> list[str]:
    if not fields:
        return []
    container = fields.get("container_number")
    notes = [f"container {container} ({fields.get('container_check')})" if container else "no container number read"]
    if fields.get("container_suggestion"):
        notes.append(f"perhaps {fields['container_suggestion']}")
    notes.append(f"seal {fields['seal_number']}" if fields.get("seal_number") else "no seal number read")
    return notes


def _record_group(recorder: Any, rows: list[Row], wanted: list[bool]) -> list[Any]:
    """Record the ``wanted`` rows' results as one group; returns per row its id, the error that
    kept it out of the log, or None (not wanted). What ``--read-numbers`` read off each photo is
    recorded with it (the log's ``ocr_*`` columns: read, not confirmed by anyone)."""
    from inference.log.recording import seal_fields_from_reading

    chosen = [row for row, w in zip(rows, wanted) if w]
    seals = [seal_fields_from_reading(numbers) for _, _, _, numbers in chosen]
    results = [item.result for item, _, _, _ in chosen]
    outcomes = iter(recorder.record_many(results, seals) if any(seals) else recorder.record_many(results))
    return [next(outcomes) if w else None for w in wanted]


def _open_recorder(args: argparse.Namespace, inspector: Any) -> Any:
    """Hook for ``--log``: returns a recorder (``record_many(results)``), or None."""
    if getattr(args, "log_db", None) is None:
        return None
    try:
        from inference.log.recording import open_recorder  # added with the inspection log
    except ImportError:
        raise UsageError("--log is not available in this build: the inspection log is not installed.") from None
    mode = getattr(inspector.manifest, "mode", None) or "general"
    if getattr(args, "read_numbers", False) and mode != "seal":
        # The log keeps numbers read off a photo with seal inspections only; refuse before any
        # work rather than record inspections without what was asked to be read.
        raise UsageError(f"--read-numbers with --log needs a seal pack: {inspector.manifest.id} records "
                         f"'{mode}' inspections, which have no container or seal number.")
    return open_recorder(args.log_db or None, inspector, mode=None)


# -- self-test --------------------------------------------------------------------------------------
def cmd_self_test(args: argparse.Namespace, out: TextIO) -> int:
    from inference.selftest import run_self_test

    report = run_self_test(provider=args.provider)
    if args.json:
        out.write(json.dumps(report.as_dict()) + "\n")
    else:
        out.write(report.text())
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "packs": cmd_packs,
    "classify": cmd_classify,
    "self-test": cmd_self_test,
}


def _start_gui(argv: list[str]) -> int:
    from tilik.display import display_problem

    problem = display_problem()  # before Qt loads: without a display Qt aborts with a core dump
    if problem:
        sys.stderr.write(f"tilik: {problem}\n")
        return EXIT_USAGE
    from gui.app import main as gui_main  # Qt is imported only when the window is wanted

    return int(gui_main(argv) or 0)


def _error_line(exc: BaseException) -> str:
    """``tilik: message``, once: argparse's messages already start with the command's name."""
    text = str(exc)
    return (text if text.startswith("tilik") else f"tilik: {text}") + "\n"


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    from inference.privacy import disable_telemetry

    disable_telemetry()  # already done by importing inference; said again where the program starts
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    logging.basicConfig(level=os.environ.get("TILIK_LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    if not argv:
        return _start_gui(argv)
    err = sys.stderr
    try:
        args = build_parser(argv[0] if argv else None).parse_args(normalise_log_option(argv))
        if getattr(args, "log", False) and getattr(args, "log_db", None) is None:
            args.log_db = ""  # --log alone: the default database
        if args.version:
            from tilik import __version__
            out.write(f"tilik {__version__}\n")
            return EXIT_OK
        if args.command is None:
            return _start_gui([])
        if args.command in COMMANDS:
            return COMMANDS[args.command](args, out)
        return int(extra_commands()[args.command].run(args) or 0)
    except (UsageError, PackError, ProviderError) as exc:
        err.write(_error_line(exc))
        return EXIT_USAGE
    except TilikError as exc:
        err.write(_error_line(exc))
        return EXIT_SOME_FAILED
    except KeyboardInterrupt:
        err.write("tilik: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
