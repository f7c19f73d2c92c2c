"""The columns of a seal inspection that record what the OCR read off the photo (issue 26).

``ocr_container_number`` / ``ocr_seal_number``: exactly what was read (never corrected), with the
read container number's ISO 6346 status; ``ocr_confirmed``: the inspector confirmed the details
shown; ``ocr_container_changed`` / ``ocr_seal_changed``: the stored (confirmed or typed) number
differs from the one read (None when no inspector was shown the reading, as in a batch run of
``tilik classify --log --read-numbers``). The status and the "changed" flags are computed here from the values
themselves, so a caller cannot record a reading as unchanged when it was edited.
"""

from __future__ import annotations

from typing import Any, Mapping

from inference.log import iso6346
from inference.log.models import SealFields
from inference.log.store.values import bool_or_none, clean

COLUMNS = ("ocr_container_number", "ocr_container_check", "ocr_seal_number", "ocr_confirmed",
           "ocr_container_changed", "ocr_seal_changed")


def reading_values(seal: SealFields, container_number: str | None, seal_number: str | None) -> dict[str, Any]:
    """The ``ocr_*`` columns for ``seal``, given the container and seal numbers being stored
    (already normalised). All None when nothing was read."""
    read_container = clean(seal.read_container_number)
    read_seal = clean(seal.read_seal_number)
    if read_container is None and read_seal is None and seal.read_confirmed is None:
        return {}
    check = iso6346.validate(read_container) if read_container else None
    read_container = check.number if check is not None else None
    read_seal = read_seal.upper() if read_seal else None
    return {
        "ocr_container_number": read_container,
        "ocr_container_check": check.status if check is not None else None,
        "ocr_seal_number": read_seal,
        "ocr_confirmed": bool_or_none(seal.read_confirmed),
        # Changed by the inspector: only said when an inspector was shown the reading (confirmed
        # or not); a batch run (``classify --log --read-numbers``, read_confirmed None) asks nobody.
        "ocr_container_changed": None if read_container is None or seal.read_confirmed is None
        else int(read_container != (container_number or None)),
        "ocr_seal_changed": None if read_seal is None or seal.read_confirmed is None
        else int(read_seal != (seal_number or None)),
    }


def reading_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`SealFields` keyword arguments for the ``ocr_*`` columns of a stored row."""
    confirmed = row.get("ocr_confirmed")
    return {"read_container_number": row.get("ocr_container_number"),
            "read_seal_number": row.get("ocr_seal_number"),
            "read_confirmed": None if confirmed is None else bool(confirmed)}


def has_reading(row: Mapping[str, Any]) -> bool:
    return any(row.get(c) is not None for c in COLUMNS)
