"""Signature references: a customer's specimen signatures, enrolled from a named document and
retired (a ``reference_retirements`` row), never deleted."""

from __future__ import annotations

from typing import Any, Mapping

from inference.errors import StorageError
from inference.log.media import ImageInput, MediaStore, prepare_image
from inference.log.models import RecordNotFoundError, SignatureReference, ValidationError
from inference.log.store.db import LogDatabase
from inference.log.store.values import clean, dicts, now, parse_time

REF_SELECT = ("SELECT s.*, x.time_utc AS _retired_at, x.retired_by AS _retired_by, x.why AS _retired_why "
              "FROM signature_references s LEFT JOIN reference_retirements x ON x.reference_id = s.id")


def reference_from_row(row: Mapping[str, Any]) -> SignatureReference:
    return SignatureReference(
        id=row["id"], customer_id=row["customer_id"], time_utc=parse_time(row["time_utc"]),
        utc_offset_min=row["utc_offset_min"], enrolled_by=row["enrolled_by"],
        source_document=row["source_document"], image_sha256=row["image_sha256"],
        image_file=row["image_file"], image_file_sha256=row["image_file_sha256"], note=row["note"],
        seq=row["seq"], hash=row["hash"], retired=row.get("_retired_at") is not None,
        retired_at=parse_time(row["_retired_at"]) if row.get("_retired_at") else None,
        retired_by=row.get("_retired_by"), retired_why=row.get("_retired_why"))


class ReferenceRecords:
    """Enrols, reads and retires reference signatures."""

    def __init__(self, db: LogDatabase, media: MediaStore) -> None:
        self.db = db
        self.media = media

    def require_v2(self) -> None:
        if self.db.version < 2:
            raise StorageError("This log is too old for signature references; open it with write access once to upgrade it.")

    def enrol(self, customer_id: str, image: ImageInput, enrolled_by: str, source_document: str,
              note: str = "") -> SignatureReference:
        """See :meth:`InspectionLog.enrol_reference`."""
        self.require_v2()
        customer, who, document = clean(customer_id), clean(enrolled_by), clean(source_document)
        if not customer:
            raise ValidationError("Enrolling a reference signature needs the customer or account id.")
        if not who:
            raise ValidationError("Enrolling a reference signature must say who enrolled it.")
        if not document:
            raise ValidationError("Say which document the reference signature comes from.")
        if image is None:
            raise ValidationError("Enrolling a reference signature needs the signature image.")
        prepared = prepare_image(image, expected_sha256=None, keep_full=True, thumbnail_px=256)
        assert prepared.data is not None and prepared.input_sha256 is not None
        stored = self.media.put("images", prepared.data, prepared.ext, "the reference signature")
        t, off = now()
        with self.db.write("the reference signature") as conn:
            row = self.db.append(conn, "signature_references", {
                "time_utc": t, "utc_offset_min": off, "customer_id": customer, "enrolled_by": who,
                "source_document": document, "image_sha256": prepared.input_sha256, "image_file": stored.relative,
                "image_file_sha256": stored.sha256, "image_width": prepared.width,
                "image_height": prepared.height, "note": (note or "").strip()})
        return reference_from_row(row)

    def of_customer(self, customer_id: str, include_retired: bool = False) -> list[SignatureReference]:
        """A customer's enrolled reference signatures, oldest first (retired ones only if asked)."""
        self.require_v2()
        sql = REF_SELECT + " WHERE s.customer_id = ?" + ("" if include_retired else " AND x.id IS NULL")
        with self.db.read("reading reference signatures") as conn:
            rows = dicts(conn.execute(sql + " ORDER BY s.id", (str(customer_id).strip(),)))
        return [reference_from_row(r) for r in rows]

    def get(self, ref_id: int) -> SignatureReference:
        self.require_v2()
        with self.db.read("reading a reference signature") as conn:
            rows = dicts(conn.execute(REF_SELECT + " WHERE s.id = ?", (int(ref_id),)))
        if not rows:
            raise RecordNotFoundError(f"There is no reference signature {ref_id}.")
        return reference_from_row(rows[0])

    def retire(self, ref_id: int, by: str, why: str) -> SignatureReference:
        """See :meth:`InspectionLog.retire_reference`."""
        ref = self.get(ref_id)
        who, reason = clean(by), clean(why)
        if not who or not reason:
            raise ValidationError("Retiring a reference signature must say who retires it and why.")
        if ref.retired:
            raise ValidationError(f"Reference signature {ref_id} was already retired by {ref.retired_by}.")
        t, off = now()
        with self.db.write("retiring the reference signature") as conn:
            self.db.append(conn, "reference_retirements", {"reference_id": ref.id, "time_utc": t,
                                                            "utc_offset_min": off, "retired_by": who, "why": reason})
        return self.get(ref_id)

    def check_usable(self, customer: str, ids: tuple[int, ...]) -> None:
        """Refuse reference ids that are not this customer's, or are retired."""
        if self.db.version < 2:
            raise ValidationError("This log has no signature references yet (schema too old).")
        refs = {r.id: r for r in self.of_customer(customer, include_retired=True)}
        for ref_id in ids:
            ref = refs.get(ref_id)
            if ref is None:
                raise ValidationError(f"Reference signature {ref_id} is not enrolled for customer {customer}.")
            if ref.retired:
                raise ValidationError(f"Reference signature {ref_id} of customer {customer} was retired "
                                      f"({ref.retired_why}); it cannot be used any more.")
