"""CSV export: one row per inspection with its latest review, for spreadsheets and auditors.

Cells of free text that start with ``=``, ``+``, ``-``, ``@`` (or a tab/CR) get a leading ``'``
so a spreadsheet shows them as text instead of running them as formulas ("CSV injection": an
operator's note is untrusted input). Patient references are left out unless asked for.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, TextIO

from inference import wording
from inference.errors import StorageError
from inference.log.models import InspectionRecord, LogQuery

COLUMNS = (
    "id", "time_utc", "time_local", "operator", "station", "mode", "source",
    "pack_id", "pack_version", "pack_sha256", "manifest_sha256", "provider", "app_version",
    "image_sha256", "image_kind", "image_file", "image_file_sha256", "heatmap_file",
    "outcome", "label", "display_label", "verdict", "verdict_number", "confidence", "probabilities", "alarming",
    "needs_review", "review_reasons", "reason_codes", "out_of_domain", "ood_score", "guard_flagged",
    "seal_number", "container_number", "container_check", "container_check_confirmed", "seal_class",
    "vvtt_view", "vvtt_verify", "vvtt_tug", "vvtt_twist",
    # Issue 26: what was read off the photo, whether the inspector confirmed it, whether they edited it.
    "ocr_container_number", "ocr_container_check", "ocr_seal_number", "ocr_confirmed",
    "ocr_container_changed", "ocr_seal_changed",
    "customer_id", "document_ref", "reference_ids", "signature_score", "signature_threshold",
    "patient_ref", "body_site",
    "review_state", "review_count", "reviewed_by", "review_time_utc", "review_note", "corrected_label",
    "final_label", "chain_seq", "row_hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _flag(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _reading_cells(seal: Any) -> dict[str, str]:
    """The ``ocr_*`` cells: the same values the log stored, recomputed from the record (the read
    number's ISO 6346 status and the "changed" flags follow from the values themselves)."""
    from inference.log.store.seal_reading import COLUMNS as OCR_COLUMNS, reading_values

    values = reading_values(seal, seal.container_number or None, seal.seal_number or None) if seal else {}
    cells = {c: values.get(c) for c in OCR_COLUMNS}
    for flag in ("ocr_confirmed", "ocr_container_changed", "ocr_seal_changed"):
        cells[flag] = _flag(None if cells[flag] is None else bool(cells[flag]))
    return {k: "" if v is None else v for k, v in cells.items()}


def record_row(rec: InspectionRecord, *, include_private: bool = False) -> dict[str, Any]:
    """The CSV row of one record (column → value)."""
    seal, sig, skin, review = rec.seal, rec.signature, rec.skin, rec.latest_review
    v = rec.decision
    row: dict[str, Any] = {
        "id": rec.id, "time_utc": rec.time_utc.isoformat(), "time_local": rec.time_local.isoformat(),
        "operator": rec.operator, "station": rec.station, "mode": rec.mode, "source": rec.source or "",
        "pack_id": rec.pack_id, "pack_version": rec.pack_version, "pack_sha256": rec.pack_sha256,
        "manifest_sha256": rec.manifest_sha256 or "",
        "provider": rec.provider, "app_version": rec.app_version, "image_sha256": rec.image_sha256,
        "image_kind": rec.image_kind, "image_file": rec.image_file or "",
        "image_file_sha256": rec.image_file_sha256 or "", "heatmap_file": rec.heatmap_file or "",
        # The verdict in the same words as the screen, the PDF and the CLI (inference.wording); a
        # refusal has no label and no confidence.
        "outcome": rec.outcome, "label": rec.label or "", "display_label": rec.display_label,
        "verdict": wording.headline(v), "verdict_number": wording.number_line(v),
        "confidence": "" if rec.confidence is None else f"{rec.confidence:.6f}",
        "probabilities": json.dumps({k: round(v, 6) for k, v in rec.probabilities.items()}, sort_keys=True),
        "alarming": _flag(rec.alarming), "needs_review": _flag(rec.needs_review),
        "review_reasons": "; ".join(wording.reasons_text(v)),
        "reason_codes": json.dumps([r.as_dict() for r in v.reasons], ensure_ascii=False, sort_keys=True),
        "out_of_domain": _flag(rec.out_of_domain),
        "ood_score": "" if rec.ood_score is None else f"{rec.ood_score:.6f}",
        "guard_flagged": "" if rec.guard is None else _flag(bool(rec.guard.get("flagged"))),
        "seal_number": seal.seal_number if seal else "", "container_number": seal.container_number if seal else "",
        "container_check": rec.container_check or "",
        "container_check_confirmed": _flag(seal.container_check_confirmed) if seal and seal.container_number else "",
        "seal_class": (seal.seal_class or "") if seal else "",
        "vvtt_view": _flag(seal.view) if seal else "", "vvtt_verify": _flag(seal.verify) if seal else "",
        "vvtt_tug": _flag(seal.tug) if seal else "", "vvtt_twist": _flag(seal.twist) if seal else "",
        **_reading_cells(seal),
        "customer_id": sig.customer_id if sig else "", "document_ref": sig.document_ref if sig else "",
        "reference_ids": " ".join(map(str, sig.reference_ids)) if sig else "",
        "signature_score": "" if not sig or sig.score is None else f"{sig.score:.6f}",
        "signature_threshold": "" if not sig or sig.threshold is None else f"{sig.threshold:.6f}",
        "patient_ref": (skin.patient_ref if skin and include_private else ("(withheld)" if skin and skin.patient_ref else "")),
        "body_site": skin.body_site if skin else "",
        "review_state": rec.review_state, "review_count": rec.review_count,
        "reviewed_by": review.by if review else "",
        "review_time_utc": review.time_utc.isoformat() if review else "",
        "review_note": review.note if review else "", "corrected_label": (review.corrected_label or "") if review else "",
        "final_label": rec.final_label or "", "chain_seq": rec.seq, "row_hash": rec.hash,
    }
    return {k: _safe(v) for k, v in row.items()}


def write_csv(records: Iterable[InspectionRecord], out: TextIO, *, include_private: bool = False) -> int:
    """Write a header and one row per record to an open text stream; returns the row count."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="raise")
    writer.writeheader()
    n = 0
    for rec in records:
        writer.writerow(record_row(rec, include_private=include_private))
        n += 1
    return n


def export_csv(log: Any, out: Path | str | TextIO, q: LogQuery | None = None, *,
               include_private: bool = False) -> int:
    """Export every inspection matching ``q`` (oldest first; its paging is ignored) to ``out``:
    a path (UTF-8 with a byte-order mark, which spreadsheets need to read accents) or a stream."""
    from dataclasses import replace

    query = replace(q or LogQuery(), newest_first=False)
    records = log.iter_records(query)
    if isinstance(out, (str, Path)):
        from inference.log import anchors

        path = Path(out)
        head = anchors.local_head(log)  # read first: the export covers at most this head
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(records, fh, include_private=include_private)
        except OSError as exc:
            from inference.log.media import storage_error_from_os

            raise storage_error_from_os(exc, f"the CSV file {path}") from exc
        # The signed head travels beside the CSV (a CSV has no place for it) and is noted (issue #22).
        if head is not None:
            anchors.write_head_file(path.with_name(path.name + ".head.json"), head,
                                    what=f"the log head {path.name} covers")
            anchors.note_head(log, "csv", target=path, head=head)
        return n
    if not hasattr(out, "write"):
        raise StorageError(f"Cannot write CSV to {out!r}.")
    return write_csv(records, out, include_private=include_private)
