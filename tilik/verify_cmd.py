"""``tilik verify``: compare query signatures with a customer's reference signatures.

    tilik verify --pack signature-verify --reference R1 R2 R3 [--json] [--overlay-dir DIR] [--strict] -- Q1 Q2

A bare ``--`` ends the reference list (the references take every path up to it). With ``--json``
one JSON object per query: ``path, label, score, threshold, references, reference_scores,
needs_review, review_reasons, overlay, heatmap, timings_ms`` (and more; ``overlay_counts`` only
with ``--overlay-dir``, which registers the query onto its closest reference to draw the overlay:
null without it); a query that fails gives
``{"path": ..., "error": ...}``. Exit codes as ``tilik classify``: 0 every query verified, 1 some
failed, 2 usage error (bad arguments, unknown/unusable pack, unreadable reference).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, TextIO

from inference.errors import TilikError, UsageError
from tilik.table import StreamingTable

NAME = "verify"
HELP = "verify signatures against a customer's reference signatures (--reference R... -- QUERY...)"
EXIT_OK, EXIT_SOME_FAILED = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default="signature-verify", help="verify pack id (default signature-verify)")
    parser.add_argument("--reference", "-r", dest="references", nargs="+", type=Path, required=True, metavar="R",
                        help="the customer's genuine reference signatures (end the list with --)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per query")
    parser.add_argument("--overlay-dir", type=Path, default=None,
                        help="write the red/green/yellow overlay (and the query heatmap) of each query here (PNG)")
    parser.add_argument("--strict", action="store_true",
                        help="strict operating point for high-value documents (fewer forgeries accepted, more genuine rejected)")
    from tilik.cli import add_log_options

    add_log_options(parser)
    parser.add_argument("--customer", default=None, metavar="ID",
                        help="with --log: the customer or account id; the reference files are enrolled for "
                             "this customer (once) and every record names them")
    parser.add_argument("--document", default=None, metavar="REF",
                        help="with --log: the document the queried signature is on (cheque or form number)")
    parser.add_argument("--provider", default=None,
                        help="execution provider: auto (default, or TILIK_PROVIDER), cpu, cuda, directml, coreml")
    parser.add_argument("queries", nargs="+", type=Path, metavar="QUERY", help="signature images to verify")


def _overlay_file(folder: Path, source: str, index: int, kind: str) -> Path:
    stem = Path(source).stem or "query"
    return folder / f"{index:05d}_{stem}_{kind}.png"


def _open_recorder(args: argparse.Namespace, verifier: Any) -> Callable[[Any], None] | None:
    """For ``--log``: a recorder that writes every verification into the inspection log."""
    if args.log_db is None:
        return None
    from inference.log.verification import open_verification_recorder

    return open_verification_recorder(args.log_db or None, verifier, customer_id=args.customer or "",
                                      document_ref=args.document or "", reference_files=args.references)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from inference.heatmap import overlay as heat_overlay
    from inference.heatmap import save_rgb
    from inference.imageio import load_image
    from inference.inspector import preview_rgb
    from inference.signature.verifier import Verifier
    from tilik.cli import _path_problem

    out = out or sys.stdout
    if args.log_db is not None and not (args.customer or "").strip():
        # Checked before any model loads: every logged signature check names its customer.
        raise UsageError("--log needs --customer ID: the customer or account whose reference signatures these "
                         "are (they are enrolled for that customer and every record names them).")
    verifier = Verifier.for_pack(args.pack, provider=args.provider)
    problems = [p for p in map(_path_problem, args.references) if p]  # missing or too long: no crash
    if problems:
        raise UsageError("a reference signature cannot be used: " + " ".join(problems))
    missing = [str(r) for r in args.references if not r.is_file()]
    if missing:
        raise UsageError(f"reference signature not found: {', '.join(missing)}")
    try:
        verifier.load_references(args.references)
    except TilikError as exc:
        raise UsageError(f"a reference signature cannot be used: {exc}") from exc
    recorder = _open_recorder(args, verifier)
    failures = 0
    table = None if args.json else StreamingTable(out, ("query", "verdict", "score", "notes"),
                                                 (min(50, max(len(str(q)) for q in args.queries)), 24, 40))
    rows: list[tuple[str, str, str, str]] = []
    for index, query in enumerate(args.queries):
        source = str(query)
        try:
            problem = _path_problem(query)  # missing, or a path too long for the system: one error
            if problem:
                raise TilikError(problem)
            if query.is_dir():
                raise TilikError(f"{source}: this is a folder; pass signature image files.")
            # The registered overlay only when it is written: the scores do not depend on it.
            result = verifier.verify(query, args.references, strict=args.strict, name=source,
                                     overlay=args.overlay_dir is not None)
            overlay_path = heatmap_path = None
            if args.overlay_dir is not None:
                overlay_path = str(save_rgb(_overlay_file(args.overlay_dir, source, index, "overlay"), result.overlay))
                if result.heatmap is not None:
                    # Drawn at the heatmap's size (at most 1024 px a side), never at a photo's 12 MP.
                    rgb = preview_rgb(load_image(query).rgb, max(result.heatmap.shape))
                    heatmap_path = str(save_rgb(_overlay_file(args.overlay_dir, source, index, "heatmap"),
                                                heat_overlay(rgb, result.heatmap)))
            if recorder is not None:
                recorder(result)
        except TilikError as exc:
            failures += 1
            if recorder is not None and hasattr(recorder, "record_refusal"):
                try:  # a query refused as not a signature is an inspection too: logged as refused
                    recorder.record_refusal(exc, getattr(verifier, "provider", ""))
                except TilikError as log_exc:
                    exc = TilikError(f"{exc} (not logged: {log_exc})")
            if args.json:
                out.write(json.dumps({"path": source, "error": str(exc)}) + "\n")
            else:
                rows.append((source, "ERROR", "", str(exc)))
                table.row(rows[-1])
            out.flush()
            continue
        if args.json:
            row = result.to_json_dict(overlay_path=overlay_path)
            row["heatmap"] = heatmap_path
            out.write(json.dumps(row) + "\n")
        else:
            from inference import wording

            # The same words as the screen, the log, the CSV and the PDF (inference.wording).
            v = result.decision
            rows.append((source, wording.headline(v), wording.number_line(v), "; ".join(wording.reasons_text(v))))
            table.row(rows[-1])
        out.flush()
    if not args.json:
        _print_summary(out, rows, verifier, len(args.references), args.strict)
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _print_summary(out: TextIO, rows: list[tuple[str, str, str, str]], verifier: Any, n_refs: int,
                   strict: bool) -> None:
    ok = sum(1 for r in rows if r[1] != "ERROR")
    m = verifier.manifest
    out.write(f"\n{ok} of {len(rows)} signatures verified against {n_refs} reference(s) with {m.id} {m.version} "
              f"({'strict' if strict else 'standard'} operating point) on {verifier.provider}.\n")
