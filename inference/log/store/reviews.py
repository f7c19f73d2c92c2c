"""Supervisors' reviews: chained rows beside the machine's verdict, never over it. The newest
review of an inspection is the one in force."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from inference.log.models import DECISIONS, InspectionRecord, Review, ValidationError
from inference.log.store.db import LogDatabase
from inference.log.store.values import app_version, clean, dicts, now, parse_time, person_name


def review_from_row(row: Mapping[str, Any]) -> Review:
    return Review(id=row["id"], inspection_id=row["inspection_id"], time_utc=parse_time(row["time_utc"]),
                  utc_offset_min=row["utc_offset_min"], decision=row["decision"], by=row["reviewer"],
                  note=row["note"], corrected_label=row["corrected_label"], seq=row["seq"], hash=row["hash"])


class ReviewRecords:
    """Adds and reads reviews; ``get_inspection`` fetches the inspection being judged."""

    def __init__(self, db: LogDatabase, get_inspection: Callable[[int], InspectionRecord]) -> None:
        self.db = db
        self.get_inspection = get_inspection

    def add(self, inspection_id: int, decision: str, by: str, note: str = "",
            corrected_label: str | None = None) -> Review:
        """See :meth:`InspectionLog.add_review`."""
        if decision not in DECISIONS:
            raise ValidationError(f"Decision '{decision}' is not one of {', '.join(DECISIONS)}.")
        who = person_name(by, required="A review must say who made it.")
        note = (note or "").strip()
        corrected = clean(corrected_label)
        record = self.get_inspection(inspection_id)
        classes = list(record.probabilities)
        if record.refused and decision == "overturn":
            # A refusal names no class, so no review can turn it into one (issue 20): the image
            # was not what the pack judges. Confirm the refusal, or escalate with a note.
            raise ValidationError("This inspection was refused (the image is not what the pack judges), so it has "
                                  "no class to overturn: confirm the refusal, or escalate it with a note.")
        if decision == "confirm":
            if corrected is not None and record.refused:
                raise ValidationError("Confirming a refusal gives no class; to pass it up, escalate it with a note.")
            if corrected is not None and corrected != record.label:
                raise ValidationError(f"Confirming agrees with the machine's '{record.label}'; to give "
                                      f"'{corrected}' instead, overturn it.")
            corrected = None
        elif decision == "overturn":
            if corrected is None:
                others = [c for c in classes if c != record.label]
                if len(others) != 1:
                    raise ValidationError(f"Overturning needs the right label, {_choices(record, others)}.")
                corrected = others[0]
            if corrected not in classes:
                raise ValidationError(f"'{corrected}' is not a class of pack {record.pack_id}: the label must be "
                                      f"{_choices(record, classes)}.")
            if corrected == record.label:
                raise ValidationError(f"'{corrected}' is what the machine said; confirm it instead of overturning.")
            if not note:
                raise ValidationError("Overturning the machine needs a note saying why.")
        else:
            if corrected is not None:
                raise ValidationError("An escalation passes the decision up; it carries no corrected label.")
            if not note:
                raise ValidationError("An escalation needs a note saying why.")
        t, off = now()
        with self.db.write("the review") as conn:
            row = self.db.append(conn, "reviews", {
                "inspection_id": record.id, "inspection_hash": record.hash, "time_utc": t,
                "utc_offset_min": off, "decision": decision, "reviewer": who, "note": note,
                "corrected_label": corrected, "app_version": app_version()})
        return review_from_row(row)

    def of(self, inspection_id: int) -> list[Review]:
        """Every review of an inspection, oldest first."""
        with self.db.read("reading reviews") as conn:
            rows = dicts(conn.execute("SELECT * FROM reviews WHERE inspection_id = ? ORDER BY id",
                                      (int(inspection_id),)))
        return [review_from_row(r) for r in rows]


LISTED = 12  # classes named in full in an error; a 1,000-class pack lists its likeliest instead


def _choices(record: Any, classes: list[str]) -> str:
    """The classes a corrected label can be, in words: all of them when few, else the record's
    likeliest (an ImageNet pack's 1,000 WordNet ids drowned the message)."""
    if len(classes) <= LISTED:
        return "one of: " + ", ".join(classes)
    ranked = sorted(classes, key=lambda c: -float(record.probabilities.get(c, 0.0)))[:5]
    return f"one of the pack's {len(classes)} classes, e.g. the likeliest here: " + ", ".join(ranked)
