"""``tilik log``: check, search, review and export the inspection log.

- ``tilik log verify [--db DB] [--anchor SEQ:HASH] [--no-files] [--json]``: exit 0 when the hash
  chain, every stored file and SQLite's own check are intact, 1 when not (naming the first broken row);
- ``tilik log list [filters] [--json]`` and ``tilik log show ID [--json]``;
- ``tilik log review ID --decision confirm|overturn|escalate --by NAME [--note TEXT] [--label CORRECTED]``;
- ``tilik log export --format csv|pdf [filters] OUT``;
- ``tilik log dataset --out DIR [filters]``: reviewed inspections as a folder-per-class training set;
- ``tilik log settings [KEY VALUE --by NAME]``: show or change the storage policy;
- ``tilik log push --to URL`` and ``--central URL`` on verify/list/show/export: the central copy
  on a PostgreSQL server (:mod:`tilik.central_cmd`).
- ``tilik log close-shift [--by NAME] [--out FILE]``: verify, then print and note the signed head;
- ``tilik log key``: this station's signing key id and public key.

The database is ``--db``, else ``TILIK_DB``, else the default log in the user data folder. Read
commands open it read-only and never create it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from inference import wording
from inference.errors import UsageError
from tilik import central_cmd

NAME = "log"
HELP = "verify, search, review and export the inspection log"

EXIT_OK, EXIT_BROKEN, EXIT_USAGE = 0, 1, 2
EXPORT_FORMATS = ("csv", "pdf")


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None,
                   help="the log's database file (default: TILIK_DB, else the user data folder)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--from", dest="start", metavar="WHEN", help="from this date/time (local, inclusive)")
    g.add_argument("--to", dest="end", metavar="WHEN", help="up to this date (inclusive) or time (exclusive)")
    g.add_argument("--mode", choices=("seal", "signature", "skin", "general"))
    g.add_argument("--label", help="the machine's label (class name)")
    g.add_argument("--needs-review", dest="needs_review", action="store_true", default=None,
                   help="only inspections the machine flagged for review")
    g.add_argument("--reviewed", dest="reviewed", action="store_true", default=None, help="only reviewed ones")
    g.add_argument("--unreviewed", dest="reviewed", action="store_false", help="only ones nobody reviewed yet")
    g.add_argument("--decision", choices=("confirm", "overturn", "escalate", "unreviewed"),
                   help="the latest review's decision")
    g.add_argument("--operator")
    g.add_argument("--station")
    g.add_argument("--pack", dest="pack_id")
    g.add_argument("--seal", dest="seal_number", metavar="NUMBER")
    g.add_argument("--container", dest="container_number", metavar="NUMBER")
    g.add_argument("--customer", dest="customer_id", metavar="ID")
    g.add_argument("--patient", dest="patient_ref", metavar="REF")
    g.add_argument("--text", help="search text in sources, labels, names, numbers and review notes")
    g.add_argument("--id", dest="ids", type=int, action="append", metavar="ID", help="this inspection (repeatable)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``tilik log ...`` (called by ``tilik.cli``)."""
    sub = parser.add_subparsers(dest="log_command", parser_class=type(parser), metavar="COMMAND")

    p = sub.add_parser("verify", help="check the hash chain, stored files and database; exit 1 if broken")
    _add_db(p)
    p.add_argument("--no-files", action="store_true", help="skip re-hashing the stored images (faster)")
    p.add_argument("--anchor", metavar="SEQ:HASH", help="also prove the row at SEQ still has HASH (noted earlier)")
    p.add_argument("--trust-key", dest="trust_keys", action="append", default=[], metavar="KEYID",
                   help="accept a head signed by this station key (repeatable); this station's own key is always")
    p.add_argument("--no-anchors", action="store_true",
                   help="do not check the heads noted in this station's anchors file")
    p.add_argument("--json", action="store_true")
    central_cmd.add_central_option(p, station=True, deep=True)

    p = sub.add_parser("list", help="list inspections, newest first")
    _add_db(p)
    _add_filters(p)
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50; 0 = all)")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--oldest-first", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    central_cmd.add_central_option(p)

    p = sub.add_parser("show", help="one inspection in full, with its reviews")
    _add_db(p)
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    central_cmd.add_central_option(p, station=True)

    p = sub.add_parser("review", help="record a supervisor's decision about an inspection")
    _add_db(p)
    p.add_argument("id", type=int, help="inspection id")
    p.add_argument("--decision", required=True, choices=("confirm", "overturn", "escalate"))
    p.add_argument("--by", required=True, help="who decides")
    p.add_argument("--note", default="", help="why (required to overturn or escalate)")
    p.add_argument("--label", default=None, help="the right label when overturning")

    p = sub.add_parser("export", help="export inspections as CSV or a printable PDF report")
    _add_db(p)
    _add_filters(p)
    p.add_argument("--format", default=None, choices=EXPORT_FORMATS,
                   help="csv or pdf; needed only when OUT does not end in .csv or .pdf")
    p.add_argument("--include-private", action="store_true", help="include patient references")
    p.add_argument("--language", choices=("en", "id"), default="en",
                   help="the PDF report's language: en (English, default) or id (Bahasa Indonesia)")
    p.add_argument("--summary-only", action="store_true",
                   help="PDF: the summary table and sign-off only, without a section per inspection")
    p.add_argument("--prepared-by", default="", metavar="NAME", help="PDF: the name printed in the sign-off block")
    p.add_argument("out", type=Path, metavar="OUT")
    central_cmd.add_central_option(p)

    p = sub.add_parser("dataset", help="export reviewed inspections as a folder-per-class training set")
    _add_db(p)
    _add_filters(p)
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="an empty or new folder")
    p.add_argument("--include-unreviewed", action="store_true", help="use the machine's label for unreviewed ones")
    p.add_argument("--include-thumbnails", action="store_true", help="also export thumbnail-only records")

    p = sub.add_parser("close-shift", help="verify the log, then print and note its signed head (an anchor)")
    _add_db(p)
    p.add_argument("--by", default="", help="who closes the shift (recorded with the anchor)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="also save the signed head to FILE (JSON)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("key", help="this station's signing key: id, public key, where it is kept")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("settings", help="show the storage policy, or change one setting")
    _add_db(p)
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?", help="JSON value, e.g. '[\"skin\"]', 256, true")
    p.add_argument("--by", default="", help="who changes it (recorded)")

    central_cmd.add_push_parser(sub, _add_db)


# -- helpers -----------------------------------------------------------------------------------------
def _when(text: str | None, *, end: bool) -> datetime | date | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return day + timedelta(days=1) if end else day
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"'{text}' is not a date or time (use 2025-03-01 or 2025-03-01T14:30).") from None


def _query(args: argparse.Namespace, **extra: Any) -> Any:
    from inference.log import LogQuery

    return LogQuery(start=_when(args.start, end=False), end=_when(args.end, end=True), mode=args.mode,
                    label=args.label, needs_review=args.needs_review, operator=args.operator,
                    seal_number=args.seal_number, container_number=args.container_number,
                    customer_id=args.customer_id, text=args.text, station=args.station, pack_id=args.pack_id,
                    reviewed=args.reviewed, decision=args.decision, patient_ref=args.patient_ref,
                    ids=tuple(args.ids) if args.ids else None, **extra)


def _open(args: argparse.Namespace, *, write: bool = False) -> Any:
    from inference.log import InspectionLog

    if getattr(args, "central", None) is not None:
        return central_cmd.open_central(args)

    if write:
        return InspectionLog.open(args.db, create=False)
    log = InspectionLog.open(args.db, read_only=True)
    if log.open_note:
        sys.stderr.write(log.open_note + "\n")  # read-only media: say how it was read
    return log


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record_json(rec: Any, include_private: bool = False) -> dict[str, Any]:
    """A record as a JSON-ready dict (latest review included, patient ref withheld unless asked)."""
    data = _jsonable(asdict(rec))
    data["time_local"] = rec.time_local.isoformat()
    data["final_label"] = rec.final_label
    data["review_state"] = rec.review_state
    if data.get("skin") and not include_private:
        data["skin"]["patient_ref"] = "(withheld)" if rec.skin.patient_ref else ""
    return data


# -- commands ------------------------------------------------------------------------------------------
def _verify(args: argparse.Namespace, out: Any) -> int:
    anchor = None
    if args.anchor:
        seq, _, digest = args.anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise UsageError("--anchor needs SEQ:HASH, e.g. 1234:9f86d08…(64 hex digits).")
        anchor = (int(seq), digest.lower())
    if args.central is not None:
        return central_cmd.verify(args, out)
    trusted = [k.strip().lower() for k in args.trust_keys]
    with _open(args) as log:
        integrity = log.integrity_check()
        status = log.verify_chain(check_files=not args.no_files, anchor=anchor, trusted_keys=trusted,
                                  use_anchors=not args.no_anchors)
    ok = status.ok and integrity == "ok"
    if args.json:
        out.write(json.dumps({"ok": ok, "integrity": integrity, **asdict(status), "where": status.where}) + "\n")
        return EXIT_OK if ok else EXIT_BROKEN
    if integrity != "ok":
        out.write(f"LOG DAMAGED: SQLite's integrity check failed: {integrity}\n")
    signature = status.signature
    if status.ok:
        files = "" if args.no_files else f", {status.files_checked} stored files re-hashed"
        anchors = f", {status.anchors_checked} recorded anchors checked" if status.anchors_checked else ""
        out.write(f"Log intact: {status.checked} chained rows verified{files}{anchors}.\n"
                  f"Head: {status.head_seq}:{status.head_hash}\n")
        if signature is not None:
            out.write(signature.text + "\n")
        out.write("Keep this head somewhere else (`tilik log close-shift` notes and prints it); "
                  "`tilik log verify --anchor` proves it later.\n")
    else:
        where = status.where if status.first_broken_table or status.first_broken_seq is not None else "the head"
        if signature is not None and not signature.ok and status.reason == signature.text:
            where = "the head's signature"
        out.write(f"LOG BROKEN at {where}: {status.reason}\n"
                  f"({status.checked} rows before it verified.)\n")
        if signature is not None and status.reason != signature.text:
            out.write(signature.text + "\n")
    return EXIT_OK if ok else EXIT_BROKEN


def _close_shift(args: argparse.Namespace, out: Any) -> int:
    from inference.log import anchors
    from inference.log.recording import default_operator

    by = (args.by or default_operator()).strip()
    with _open(args, write=True) as log:  # write access: an old log is upgraded and signed first
        closure = anchors.close_shift(log, by)
    if not closure.ok or closure.anchor is None:
        out.write(f"NOT CLOSED: the log is broken at {closure.problem}\n"
                  "Nothing was noted. Run `tilik log verify` and report it.\n")
        return EXIT_BROKEN
    anchor, head = closure.anchor, closure.head
    if args.out is not None:
        anchors.write_head_file(args.out, head, what=f"shift closed by {by or '?'} at {anchor.recorded_utc}")
    if args.json:
        out.write(json.dumps({"ok": True, "anchor": anchor.as_dict()}) + "\n")
        return EXIT_OK
    out.write(f"Shift closed by {by or '?'} at {anchor.recorded_utc[:19].replace('T', ' ')} UTC; "
              f"{closure.checked} chained rows verified.\n{head.text()}\n"
              f"Noted in {anchors.anchors_path()}" + (f" and saved to {args.out}" if args.out else "") + ".\n"
              "Print or send this head elsewhere: `tilik log verify --anchor SEQ:HASH` proves it later.\n")
    return EXIT_OK


def _key(args: argparse.Namespace, out: Any) -> int:
    from inference.log.recording import default_station
    from inference.log.signing import StationKey

    key = StationKey.load_or_create()
    data = {"key_id": key.key_id, "algorithm": "ed25519", "public_key": key.public_key_hex,
            "station": default_station(), "private_key_file": str(key.path)}
    if args.json:
        out.write(json.dumps(data) + "\n")
        return EXIT_OK
    out.write(f"Station key id: {key.key_id} (Ed25519)\nPublic key:     {key.public_key_hex}\n"
              f"Station:        {data['station']}\nPrivate key:    {key.path} (never leaves this computer)\n")
    return EXIT_OK


def _list(args: argparse.Namespace, out: Any) -> int:
    limit = None if args.limit == 0 else args.limit
    with _open(args) as log:
        q = _query(args, offset=args.offset, limit=limit, newest_first=not args.oldest_first)
        if getattr(args, "central", None) is not None:  # each row with the station it was pushed from
            pushed = log.query_with_stations(q)
            records, stations = [rec for _, rec in pushed], [station for station, _ in pushed]
        else:
            records, stations = log.query(q), []
        total = log.count(q)
    if args.json:
        for rec in records:
            out.write(json.dumps(record_json(rec)) + "\n")
        return EXIT_OK
    if not records:
        out.write("No inspections match.\n")
        return EXIT_OK
    central = getattr(args, "central", None) is not None  # many stations: say which one each row is from
    station_head = f"{'station':<14}  " if central else ""
    out.write(f"{'id':>7}  {'time (local)':<19}  {'mode':<9}  {station_head}{'operator':<12}  {'label':<24}  "
              f"{'conf.':>6}  {'review':<16}  notes\n")
    labels: dict[str, dict[str, str]] = {}
    for index, rec in enumerate(records):
        notes = []
        if rec.needs_review:
            notes.append("flagged")
        if rec.out_of_domain:
            notes.append("out of domain")
        if rec.seal and rec.seal.container_number:
            notes.append(rec.seal.container_number)
        if rec.signature:
            notes.append(f"customer {rec.signature.customer_id}")
        # Class names are shown by their label ("king crab", not the WordNet id "n01981276").
        state = rec.review_state if rec.final_label == rec.label else f"→ {_label_of(rec, rec.final_label, labels)}"
        label = "(refused)" if rec.refused else _label_of(rec, rec.label, labels)
        conf = "     -" if rec.confidence is None else f"{100 * rec.confidence:5.1f}%"
        station = f"{stations[index][:14]:<14}  " if central else ""
        out.write(f"{rec.id:>7}  {rec.time_local.strftime('%Y-%m-%d %H:%M:%S'):<19}  {rec.mode:<9}  {station}"
                  f"{rec.operator[:12]:<12}  {label[:24]:<24}  {conf}  "
                  f"{state[:16]:<16}  {', '.join(notes)}\n")
        out.flush()
    shown = f"{args.offset + 1}–{args.offset + len(records)}"
    out.write(f"\n{shown} of {total} matching inspections.\n")
    return EXIT_OK


def _label_of(rec: Any, name: str | None, cache: dict[str, dict[str, str]]) -> str:
    """A class's human label: the record's own for its label, else the installed pack's manifest."""
    if not name:
        return ""
    if name == rec.label and rec.display_label:
        return rec.display_label
    return _pack_labels(rec.pack_id, cache).get(name, name)


def _pack_labels(pack_id: str, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    """Class name → label from the newest installed manifest of ``pack_id`` (only the manifest is
    read: words need no check of the model files); {} when the pack is not installed here.
    ``cache`` lives for one command."""
    if pack_id not in cache:
        from inference.errors import TilikError
        from inference.manifest import load_manifest
        from inference.registry import PackRegistry, version_key

        best = None
        for folder, _origin in PackRegistry().folders:
            try:
                m = load_manifest(folder / pack_id / "manifest.json")
            except (TilikError, OSError):
                continue
            if best is None or version_key(m.version) >= version_key(best.version):
                best = m
        cache[pack_id] = {c: best.class_label(c) for c in best.class_names} if best is not None else {}
    return cache[pack_id]


def _show(args: argparse.Namespace, out: Any) -> int:
    with _open(args) as log:
        rec = log.get(args.id)
        reviews = log.reviews(args.id)
    if args.json:
        data = record_json(rec)
        data["reviews"] = [_jsonable(asdict(r)) for r in reviews]
        out.write(json.dumps(data) + "\n")
        return EXIT_OK
    out.write(f"Inspection {rec.id} — {rec.time_local.isoformat(timespec='seconds')} ({rec.mode})\n")
    # The same words as the screen, the PDF and the CSV (inference.wording).
    out.write(f"  verdict     {wording.headline(rec.decision)}{'' if rec.refused else f' ({rec.label})'}\n")
    out.write(f"              {wording.number_line(rec.decision)}\n")
    reasons = wording.reasons_text(rec.decision)
    if reasons:
        out.write(f"  review flag {'; '.join(reasons)}\n")
    out.write(f"  operator    {rec.operator or '-'} at {rec.station or '-'}\n")
    out.write(f"  pack        {rec.pack_id} {rec.pack_version} (sha256 {rec.pack_sha256}) on {rec.provider}\n")
    out.write(f"  manifest    sha256 {rec.manifest_sha256 or '- (recorded before manifests were hashed)'}\n")
    out.write(f"  image       sha256 {rec.image_sha256}, kept: {rec.image_kind}\n")
    if rec.seal:
        s = rec.seal
        out.write(f"  seal        {s.seal_number or '-'} on {s.container_number or '-'} "
                  f"({rec.container_check or 'no container'}), class {s.seal_class or '-'}\n")
    if rec.signature:
        out.write(f"  signature   customer {rec.signature.customer_id}, document {rec.signature.document_ref or '-'}\n")
    if rec.skin:
        out.write(f"  skin        body site {rec.skin.body_site or '-'}\n")
    for r in reviews:
        extra = f" → {r.corrected_label}" if r.corrected_label else ""
        out.write(f"  review {r.id}    {r.time_local.isoformat(timespec='seconds')} {r.decision}{extra} by {r.by}: {r.note}\n")
    if not reviews:
        out.write("  review      none yet\n")
    out.write(f"  chain       #{rec.seq} {rec.hash}\n")
    return EXIT_OK


def _review(args: argparse.Namespace, out: Any) -> int:
    with _open(args, write=True) as log:
        pack_id = log.get(args.id).pack_id
        corrected = _class_named(args.label, _pack_labels(pack_id, {})) if args.label else args.label
        review = log.add_review(args.id, args.decision, by=args.by, note=args.note, corrected_label=corrected)
    label = review.corrected_label
    extra = f" → {_pack_labels(pack_id, {}).get(label, label)}" if label else ""
    out.write(f"Review {review.id} recorded for inspection {review.inspection_id}: {review.decision}{extra} "
              f"by {review.by}.\n")
    return EXIT_OK


def _class_named(text: str, labels: dict[str, str]) -> str:
    """``--label`` as a class name: the name itself, or a class's label as the card shows it
    ("golden retriever" for n02099601), matched without regard to case."""
    if text in labels:
        return text
    wanted = text.strip().casefold()
    matches = [name for name, label in labels.items() if label.strip().casefold() == wanted]
    return matches[0] if len(matches) == 1 else text


def export_format(path: Path, given: str | None) -> str:
    """The export's format: ``--format`` when given (it must agree with a known extension), else
    from OUT's extension; a usage error when neither says."""
    suffix = path.suffix.lower().lstrip(".")
    if given is None:
        if suffix in EXPORT_FORMATS:
            return suffix
        raise UsageError(f"Cannot tell the format of {path.name}: name it .csv or .pdf, or add --format csv|pdf.")
    if suffix in EXPORT_FORMATS and suffix != given:
        raise UsageError(f"{path.name} ends in .{suffix} but --format is {given}: make them agree.")
    return given


def _export_target(path: Path) -> None:
    """OUT's folder must exist: a typo in a folder name is reported, never created silently."""
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give a file name for the export, e.g. {path / 'inspections.csv'}.")
    if not folder.is_dir():
        raise UsageError(f"The folder {folder} does not exist: create it first, or export somewhere else.")


def _export(args: argparse.Namespace, out: Any) -> int:
    fmt = export_format(args.out, args.format)
    _export_target(args.out)
    with _open(args) as log:
        q = _query(args, limit=None, newest_first=False)
        if fmt == "csv":
            from inference.log.csv_export import export_csv

            n = export_csv(log, args.out, q, include_private=args.include_private)
            out.write(f"{n} inspections written to {args.out} (signed log head in {args.out}.head.json)\n")
            return EXIT_OK
        try:
            from gui.report_pdf import export_pdf  # Qt is loaded only for PDF reports
        except ImportError as exc:
            raise UsageError(f"PDF reports need Qt (PySide6), which is not available: {exc}") from exc
        if args.central is not None:
            # Inspection ids are per station: a report's reviews are looked up in one station's log.
            stations = [args.station] if args.station else log.stations()
            if len(stations) > 1:
                raise UsageError("A PDF report from the central copy covers one station: add --station NAME "
                                 f"(stations: {', '.join(stations)}).")
            log.station = stations[0] if stations else None
        pages = export_pdf(log, q, args.out, include_private=args.include_private, language=args.language,
                           details=not args.summary_only, prepared_by=args.prepared_by)
    out.write(f"{pages} pages written to {args.out}\n")
    return EXIT_OK


def _dataset(args: argparse.Namespace, out: Any) -> int:
    from inference.log.dataset import export_dataset

    from inference.log import anchors

    with _open(args) as log:
        head = anchors.current_head(log)  # read first: the dataset covers at most this head
        summary = export_dataset(log, args.out, _query(args, limit=None), include_unreviewed=args.include_unreviewed,
                                 include_thumbnails=args.include_thumbnails)
        # The signed head travels inside the dataset folder and is noted (issue #22).
        anchors.write_head_file(Path(args.out) / "log-head.json", head, what="the log head this dataset covers")
        anchor = anchors.note_head(log, "dataset", target=args.out, head=head)
    out.write(summary.text() + "\n" + _noted(anchor))
    return EXIT_OK


def _noted(anchor: Any) -> str:
    signed = f" (signed by key {anchor.signed.key_id})" if anchor.signed else " (unsigned)"
    return f"Log head {anchor.seq}:{anchor.hash}{signed} noted as an anchor.\n"


def _settings(args: argparse.Namespace, out: Any) -> int:
    if args.key is None:
        with _open(args) as log:
            for key, value in sorted(log.settings().items()):
                out.write(f"{key} = {json.dumps(value)}\n")
        return EXIT_OK
    if args.value is None:
        raise UsageError("Give a value to change a setting, e.g. tilik log settings thumbnail_px 320 --by NAME.")
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError:
        value = args.value
    from inference.log import InspectionLog

    with InspectionLog.open(args.db) as log:
        log.set_setting(args.key, value, by=args.by)
        out.write(f"{args.key} = {json.dumps(log.get_setting(args.key))}\n")
    return EXIT_OK


_COMMANDS = {"verify": _verify, "list": _list, "show": _show, "review": _review, "export": _export,
             "dataset": _dataset, "settings": _settings, "push": central_cmd.push,
             "close-shift": _close_shift, "key": _key}


def run(args: argparse.Namespace) -> int:
    """Run ``tilik log <command>``; returns the exit code."""
    command = getattr(args, "log_command", None)
    if command is None:
        raise UsageError("tilik log: choose a command: " + ", ".join(_COMMANDS) + " (see tilik log --help).")
    out = sys.stdout
    code = _COMMANDS[command](args, out)
    out.flush()
    return code
