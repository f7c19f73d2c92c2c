"""The verdict model in log rows (schema v3) and out of them, including rows written before v3.

Writing: ``verdict_outcome`` and ``verdict_codes`` (the JSON of :class:`~inference.results.Verdict`)
hold the verdict as data; ``verdict`` and ``review_reasons`` keep its English words for anyone
reading the file with SQL. A refused row stores '' / '' / 0.0 in the NOT NULL ``label``,
``display_label`` and ``confidence`` columns (see ``V6_VERDICTS`` in :mod:`inference.log.schema`).

Reading a row from before v3 (both columns NULL): its reasons go through the one legacy parser
(:func:`inference.wording.legacy_reason`), and an out-of-domain skin photo (which the screen
already refused) reads as refused, so History, exports and reviews treat it as the refusal it was.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from inference.results import DECIDED, REFUSED, REVIEW, InspectionResult, ReviewReason, Verdict
from inference.wording import SUBJECTS, headline, legacy_reason, reason_text

_REVIEW_SUFFIX = " — review"


def result_verdict(result: InspectionResult) -> Verdict:
    """The result's verdict model (built from its fields for a result made without one)."""
    if result.decision is not None:
        return result.decision
    words = result.verdict[:-len(_REVIEW_SUFFIX)] if result.verdict.endswith(_REVIEW_SUFFIX) else result.verdict
    return Verdict(REVIEW if result.needs_review else DECIDED, result.label, words, result.confidence,
                   reasons=tuple(legacy_reason(t) for t in result.review_reasons))


def verdict_values(result: InspectionResult) -> dict[str, Any]:
    """The verdict columns of a new inspections row."""
    v = result_verdict(result)
    refused = v.refused
    return {
        "label": "" if refused else result.label,
        "display_label": "" if refused else result.display_label,
        "verdict": headline(v) if result.decision is not None else result.verdict,
        "confidence": 0.0 if refused else float(result.confidence),
        "review_reasons": json.dumps([reason_text(r) for r in v.reasons], ensure_ascii=False,
                                     separators=(",", ":")),
        "verdict_outcome": v.outcome,
        "verdict_codes": json.dumps(v.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    }


def row_verdict(row: Mapping[str, Any]) -> tuple[str | None, str, float | None, Verdict]:
    """(label, display_label, confidence, verdict) of a stored row, v3 or older."""
    codes = row.get("verdict_codes")
    if codes:
        v = Verdict.from_dict(json.loads(codes))
        if v.refused:
            return None, "", None, v
        return row["label"], row["display_label"], row["confidence"], v
    reasons = tuple(legacy_reason(t) for t in json.loads(row["review_reasons"]))
    subject = SUBJECTS.get(row["mode"], SUBJECTS["general"])
    if row["out_of_domain"] and row["mode"] == "skin":
        refusal = next((r for r in reasons if r.code in ("out_of_domain", "blank_image", "noise_image")),
                       ReviewReason("out_of_domain"))
        return None, "", None, Verdict(REFUSED, None, None, None, reasons=reasons, refusal=refusal, subject=subject)
    verdict = row["verdict"]
    words = verdict[:-len(_REVIEW_SUFFIX)] if verdict.endswith(_REVIEW_SUFFIX) else verdict
    outcome = REVIEW if row["needs_review"] else DECIDED
    return row["label"], row["display_label"], row["confidence"], Verdict(
        outcome, row["label"], words, row["confidence"], reasons=reasons, subject=subject)
