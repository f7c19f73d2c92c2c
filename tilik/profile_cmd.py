"""``tilik profile``: seal profiles, learnt from a site's own intact seals (issue 25).

- ``tilik profile enrol --pack seal-integrity --name NAME [--false-alarm-rate 0.02] PATH...``:
  build a profile from 10-50 photos of intact seals of one type (files or folders);
- ``tilik profile list [--all] [--json]``: the profiles (``--all``: retired ones too);
- ``tilik profile show NAME [--json]``: one profile, its threshold and how it was set;
- ``tilik profile remove NAME``: retire it (kept on disk, so old log records can still be checked).

``tilik classify --pack seal-integrity --profile NAME`` judges with one (:func:`apply_profile`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from inference.errors import UsageError

NAME = "profile"
HELP = "seal profiles: enrol a site's intact seals, list, show, retire"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="profile_command", parser_class=type(parser), metavar="COMMAND")
    p = sub.add_parser("enrol", help="make a profile from 10-50 photos of intact seals of one type")
    p.add_argument("--pack", required=True, help="the pack whose features the profile uses (seal-integrity)")
    p.add_argument("--name", required=True, help="the profile's name, e.g. 'Gate 3 bolt seals'")
    p.add_argument("--false-alarm-rate", type=float, default=0.02,
                   help="share of intact photos allowed above the threshold (default 0.02)")
    p.add_argument("--json", action="store_true", help="print the profile as JSON")
    p.add_argument("--provider", default=None, help="execution provider (auto, cpu, cuda, directml, coreml)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photos or folders of intact seals")
    p = sub.add_parser("list", help="the seal profiles")
    p.add_argument("--all", action="store_true", help="retired profiles too")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p = sub.add_parser("show", help="one profile: threshold, photos, pack")
    p.add_argument("name", metavar="NAME", help="profile name or id")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("remove", help="retire a profile (kept for the log, never used again)")
    p.add_argument("name", metavar="NAME", help="profile name or id")


def apply_profile(inspector: Any, name: str) -> Any:
    """Make ``inspector`` judge with the active profile ``name``; a missing, edited or mismatched
    profile is a usage error (exit 2), like an unusable pack."""
    from inference.profiles import ProfileError, ProfileStore

    try:
        profile = ProfileStore().get(name)
        inspector.use_profile(profile)
    except ProfileError as exc:
        raise UsageError(str(exc)) from exc
    return profile


def _line(p: Any) -> str:
    s = p.summary()
    state = "" if s["status"] == "active" else f"  [retired {s['retired_utc']}]"
    return (f"{s['name']}  ({s['pack']['id']} {s['pack']['version']}, {s['images']} photos, threshold "
            f"{s['threshold']:.3f} at {100 * s['false_alarm_rate']:g}% false alarms)  id {s['id']}  "
            f"sha256 {s['sha256'][:16]}…{state}")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from inference.profiles import ProfileError, ProfileStore

    out = out or sys.stdout
    command = getattr(args, "profile_command", None)
    store = ProfileStore()
    try:
        if command == "enrol":
            return _enrol(args, store, out)
        if command == "list":
            found = store.list(include_retired=args.all)
            for p in found:
                if isinstance(p, ProfileError):
                    row = {"error": str(p), "folder": p.params.get("folder")}
                    out.write(json.dumps(row) + "\n" if args.json else f"UNUSABLE  {p}\n")
                else:
                    out.write(json.dumps(p.summary()) + "\n" if args.json else _line(p) + "\n")
            if not found and not args.json:
                out.write(f"No seal profiles yet (folder {store.root}). Make one with `tilik profile enrol`.\n")
            return 0
        if command == "show":
            p = store.get(args.name, include_retired=True)
            if args.json:
                out.write(json.dumps(p.summary(), indent=2) + "\n")
            else:
                s = p.summary()
                out.write(_line(p) + "\n")
                copies = f" and their copies ({', '.join(s['enrol_copies'])})" if s["enrol_copies"] else ""
                out.write(f"  made {s['created_utc']} from {s['images']} photos{copies}; memory bank of "
                          f"{s['bank_patches']} patches of {s['feature_shape'][-1]} features\n")
                out.write(f"  threshold: {s['threshold_method']}\n")
                out.write(f"  folder: {s['folder']}\n")
            return 0
        if command == "remove":
            p = store.retire(args.name)
            out.write(f"Retired '{p.name}' (id {p.id}): it judges no more photos; records made with it can still be "
                      "checked against it.\n")
            return 0
    except ProfileError as exc:
        raise UsageError(str(exc)) from exc
    raise UsageError("tilik profile: choose a command: enrol, list, show, remove (see tilik profile --help).")


def _enrol(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    from inference.imageio import iter_image_paths
    from inference.inspector import Inspector
    from inference.profiles.enrol import enrol

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"Not found: {', '.join(missing)}.")
    files = iter_image_paths(list(args.paths))
    inspector = Inspector.for_pack(args.pack, provider=args.provider)
    done = enrol(inspector, args.name, files, names=[str(f) for f in files],
                 false_alarm_rate=args.false_alarm_rate, store=store)
    if args.json:
        out.write(json.dumps({**done.profile.summary(), "skipped": [s.__dict__ for s in done.skipped],
                              "seconds": round(done.seconds, 2)}) + "\n")
    else:
        out.write(f"Enrolled {_line(done.profile)} in {done.seconds:.1f} s\n")
        for s in done.skipped:
            out.write(f"  left out {s.source}: {s.reason}\n")
    return 0
