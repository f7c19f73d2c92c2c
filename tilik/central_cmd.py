"""The central copy on the command line.

- ``tilik log push [--db DB] [--to URL] [--station NAME] [--batch N]``: send this station's log to
  the central server (idempotent, resumable; a rewritten log is refused: exit 1, named);
- ``tilik log verify --central [URL] [--station NAME] [--json] [--no-files] [--deep]``: verify every
  station's chain and signed heads on the server (exit 0 intact, 1 broken, naming the first broken row);
- ``tilik log list|show|export --central [URL] ...``: read the server with the same filters
  (``--station`` is the station a log was pushed from);
- ``tilik central migrate [--url URL]``: create or upgrade the server schema and its roles (an
  administrator, once per server upgrade).

The URL is ``--to``/``--central``/``--url``, else ``TILIK_CENTRAL_URL``; the password comes from
``TILIK_CENTRAL_PASSWORD`` or a private password file, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

NAME = "central"
HELP = "set up the central PostgreSQL server (administrators)"

EXIT_OK, EXIT_BROKEN = 0, 1


def add_central_option(p: argparse.ArgumentParser, *, station: bool = False, deep: bool = False) -> None:
    """``--central [URL]`` on a log read command (the URL defaults to TILIK_CENTRAL_URL)."""
    p.add_argument("--central", nargs="?", const="", default=None, metavar="URL",
                   help="read the central server's copy instead of a local log (URL default: TILIK_CENTRAL_URL)")
    if station:
        p.add_argument("--station", default=None, help="with --central: the station the log was pushed from")
    if deep:
        p.add_argument("--deep", action="store_true",
                       help="with --central: also re-encode every row canonically (slower; proves each row is "
                            "exactly what a station's own verifier accepts)")


def add_push_parser(sub: Any, add_db: Any) -> None:
    p = sub.add_parser("push", help="send this station's log to the central server (idempotent, resumable)")
    add_db(p)
    p.add_argument("--to", dest="to", default=None, metavar="URL",
                   help="postgresql://USER@HOST/DB (default: TILIK_CENTRAL_URL); never put the password in it")
    p.add_argument("--station", default=None, help="this station's name on the server (default: TILIK_STATION, "
                                                   "else the computer's name)")
    p.add_argument("--batch", type=int, default=5000, help="rows per round trip (default 5000)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``tilik central ...``."""
    sub = parser.add_subparsers(dest="central_command", parser_class=type(parser), metavar="COMMAND")
    p = sub.add_parser("migrate", help="create or upgrade the server schema, the tilik_station and tilik_auditor roles")
    p.add_argument("--url", default=None, metavar="URL", help="the schema owner's URL (default: TILIK_CENTRAL_URL)")


def station_name(given: str | None) -> str:
    from inference.log.recording import default_station

    return (given or "").strip() or default_station()


class PushProgress:
    """A one-line progress bar on stderr (when it is a terminal): rows sent, rows/s, time left."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # sys.stderr as it is now, not as it was when this module was imported (it is imported
        # lazily, on the first log/central command, possibly while stderr is redirected).
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self.total = 0

    def __call__(self, sent: int, total: int) -> None:
        self.total = total
        if not self.enabled or total <= 0:
            return
        elapsed = time.perf_counter() - self.start
        rate = sent / elapsed if elapsed > 0 else 0.0
        filled = int(30 * sent / total)
        left = (total - sent) / rate if rate > 0 else 0
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {sent}/{total} rows {rate:7.0f} rows/s, "
                          f"{left:4.0f} s left")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            self.stream.write("\n")
            self.stream.flush()


def push(args: argparse.Namespace, out: TextIO) -> int:
    from inference.log import InspectionLog
    from inference.log.central.config import resolve
    from inference.log.central.push import push as push_log

    config = resolve(args.to)
    station = station_name(args.station)
    with InspectionLog.open(args.db, read_only=True) as log:
        path, media_root = log.path, log.media_root
    progress = PushProgress()
    try:
        result = push_log(path, media_root, config, station, batch=max(1, args.batch), progress=progress)
    finally:
        progress.close()
    if result.rows_sent == 0:
        out.write(f"Nothing to push: {config.shown} already holds station {station} up to {result.head}.\n")
    else:
        rate = result.rows_sent / result.seconds if result.seconds > 0 else 0
        out.write(f"Pushed {result.rows_sent} rows and {result.files_sent} files of station {station} to {config.shown} "
                  f"in {result.seconds:.1f} s ({rate:.0f} rows/s); the server now holds it up to {result.head}.\n")
    if result.signed_key_id is None:
        out.write("This log's head is not signed (it was made before Tilik signed its logs): the server checks its "
                  "chain only.\n")
    elif result.signed_head_sent:
        out.write(f"Sent the head signed by this log's key {result.signed_key_id} (verified here first).\n")
    return EXIT_OK


def open_central(args: argparse.Namespace) -> Any:
    from inference.log.central.config import resolve
    from inference.log.central.reader import CentralLog

    return CentralLog(resolve(args.central or None), getattr(args, "station", None) if not hasattr(args, "start") else None)


def verify(args: argparse.Namespace, out: TextIO) -> int:
    from inference.log.central.config import resolve
    from inference.log.central.verify import verify_central

    if args.anchor:
        from inference.errors import UsageError

        raise UsageError("--anchor checks one station's log: run it on the station (without --central).")
    config = resolve(args.central or None)
    with config.connect() as conn:
        from inference.log.central.errors import SchemaTooOld
        from inference.log.central.schema import CURRENT_VERSION, server_version

        if server_version(conn) < CURRENT_VERSION:
            raise SchemaTooOld(f"The central server {config.shown} has no Tilik schema yet (tilik central migrate).")
        status = verify_central(conn, args.station, check_files=not args.no_files, deep=args.deep)
    if args.json:
        out.write(json.dumps(status.as_json()) + "\n")
        return EXIT_OK if status.ok else EXIT_BROKEN
    if not status.stations:
        out.write(f"{config.shown} holds no station logs yet.\n")
    for name, st in status.stations.items():
        if st.ok:
            out.write(f"Station {name}: intact, {st.rows} rows ({st.inspections} inspections), "
                      f"head {st.head_seq}:{st.head_hash}\n")
        else:
            out.write(f"Station {name}: BROKEN at {st.where}: {st.first_broken['reason']}\n"
                      f"  ({st.rows} rows before it verified.)\n")
        sh = st.signed_head
        if sh.checked and sh.ok:
            out.write(f"  signed head: position {sh.seq} by key {sh.key_id}, signature valid "
                      f"({sh.checked} signed head{'s' if sh.checked != 1 else ''} checked)\n")
        elif not sh.ok:
            out.write(f"  signed head: NOT VALID: {sh.problem}\n")
        else:
            out.write("  signed head: none on the server (pushed before heads were signed or kept)\n")
        for refusal in st.refused_pushes:
            out.write(f"  refused push on {refusal['at']} by {refusal['by']}: {refusal['reason']}\n")
    out.write("Central copy intact.\n" if status.ok else "CENTRAL COPY BROKEN.\n")
    return EXIT_OK if status.ok else EXIT_BROKEN


def run(args: argparse.Namespace) -> int:
    from inference.errors import UsageError
    from inference.log.central.config import resolve
    from inference.log.central.schema import CURRENT_VERSION, migrate

    if getattr(args, "central_command", None) != "migrate":
        raise UsageError("tilik central: choose a command: migrate (see tilik central --help).")
    config = resolve(args.url)
    with config.connect() as conn:
        applied = migrate(conn)
    sys.stdout.write(f"{config.shown}: schema {CURRENT_VERSION}" +
                     (f" (applied {', '.join(map(str, applied))})" if applied else " (already up to date)") +
                     ". Give each station a login in role tilik_station, auditors one in tilik_auditor.\n")
    return EXIT_OK
