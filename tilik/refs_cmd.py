"""``tilik refs``: share signature references between stations through the central server.

- ``tilik refs push [--db DB] --to URL [--station NAME]``: references and retirements are rows of
  the log's single hash chain, so this pushes the log (the same as ``tilik log push``);
- ``tilik refs pull [--db DB] --from URL --customer ID [--station NAME]``: bring a customer's
  references enrolled at other stations (and every retirement of them) into this log.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inference.errors import UsageError
from tilik import central_cmd

NAME = "refs"
HELP = "share signature references with other stations through the central server"


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None,
                   help="the log's database file (default: TILIK_DB, else the user data folder)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="refs_command", parser_class=type(parser), metavar="COMMAND")
    p = sub.add_parser("push", help="send this station's references (and its whole log) to the central server")
    _db(p)
    p.add_argument("--to", default=None, metavar="URL", help="postgresql://USER@HOST/DB (default: TILIK_CENTRAL_URL)")
    p.add_argument("--station", default=None, help="this station's name (default: TILIK_STATION, else the computer's name)")
    p.add_argument("--batch", type=int, default=5000, help="rows per round trip")
    p = sub.add_parser("pull", help="bring a customer's references enrolled at other stations into this log")
    _db(p)
    p.add_argument("--from", dest="source", default=None, metavar="URL",
                   help="postgresql://USER@HOST/DB (default: TILIK_CENTRAL_URL)")
    p.add_argument("--customer", required=True, metavar="ID", help="the customer or account id")
    p.add_argument("--station", default=None, help="this station's name (default: TILIK_STATION, else the computer's name)")


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    command = getattr(args, "refs_command", None)
    if command == "push":
        return central_cmd.push(args, out)
    if command != "pull":
        raise UsageError("tilik refs: choose a command: push, pull (see tilik refs --help).")
    from inference.log import InspectionLog
    from inference.log.central.config import resolve
    from inference.log.central.refs import pull_references

    config = resolve(args.source)
    with InspectionLog.open(args.db, create=False) as log:
        result = pull_references(log, config, args.customer, central_cmd.station_name(args.station))
    out.write(result.text() + "\n")
    return 0
