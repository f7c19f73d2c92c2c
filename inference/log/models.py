"""The inspection log's plain data: frozen dataclasses going in (domain fields, queries) and
coming out (records, reviews, references, chain status).

Nothing here touches the database; :mod:`inference.log.store` maps rows to these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from inference.errors import UsageError
from inference.results import REFUSED, Verdict

MODES = ("seal", "signature", "skin", "general")
DECISIONS = ("confirm", "overturn", "escalate")
SEAL_CLASSES = ("indicative", "security", "high-security")


class ValidationError(UsageError):
    """Something given to the log does not make sense (a wrong container check digit, an unknown
    decision...). The message says what to fix; nothing was stored."""


class RecordNotFoundError(UsageError, LookupError):
    """No inspection, review or reference with that id."""


# -- domain fields (input and output) -------------------------------------------------------------
@dataclass(frozen=True)
class SealFields:
    """What a warehouse operator records about a seal.

    ``container_number`` is checked with the ISO 6346 check digit; a number that does not add up
    is refused unless ``container_check_confirmed`` says the operator looked again and it really is
    written that way. ``view``/``verify``/``tug``/``twist`` are the VVTT checklist (None = not done).
    """

    seal_number: str = ""
    container_number: str = ""
    seal_class: str | None = None  # "indicative" | "security" | "high-security"
    view: bool | None = None
    verify: bool | None = None
    tug: bool | None = None
    twist: bool | None = None
    container_check_confirmed: bool = False
    # Issue 26: what was read off the photo (None: nothing was read), and whether the inspector
    # confirmed the details shown (the numbers above are then what they confirmed or typed).
    read_container_number: str | None = None
    read_seal_number: str | None = None
    read_confirmed: bool | None = None


@dataclass(frozen=True)
class SignatureFields:
    """What a bank clerk records about a signature check.

    ``reference_ids`` are ids of enrolled reference signatures (see
    :meth:`InspectionLog.enrol_reference`); they must belong to ``customer_id`` and not be retired.
    """

    customer_id: str = ""
    document_ref: str = ""
    reference_ids: tuple[int, ...] = ()
    score: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class SkinFields:
    """What a clinic records about a skin photo. Use a pseudonymous patient reference (a clinic
    number, never a name): it is left out of exports unless asked for."""

    patient_ref: str = ""
    body_site: str = ""


# -- output ---------------------------------------------------------------------------------------
def _local(utc: datetime, offset_min: int) -> datetime:
    return utc.astimezone(timezone(timedelta(minutes=offset_min)))


@dataclass(frozen=True)
class Review:
    """A supervisor's decision about one inspection. Stored beside it; the inspection is never
    changed. The newest review of an inspection is the one in force."""

    id: int
    inspection_id: int
    time_utc: datetime
    utc_offset_min: int
    decision: str  # "confirm" | "overturn" | "escalate"
    by: str
    note: str
    corrected_label: str | None
    seq: int
    hash: str

    @property
    def time_local(self) -> datetime:
        """When it was made, in the reviewer's local time at that moment."""
        return _local(self.time_utc, self.utc_offset_min)


@dataclass(frozen=True)
class InspectionRecord:
    """One inspection as the log holds it: the machine's answer, exactly as it was given, what
    produced it (pack, provider, image hash), who took it and where, plus its reviews.

    ``image_file``/``heatmap_file`` are relative to the log's media folder; use
    :meth:`InspectionLog.stored_image_path` / :meth:`InspectionLog.heatmap_path` for a path.
    ``image_kind`` is "original" (the exact input bytes, or a lossless PNG of a camera frame),
    "thumbnail" (privacy setting) or "none".
    """

    id: int
    time_utc: datetime
    utc_offset_min: int
    operator: str
    station: str
    mode: str
    app_version: str
    source: str | None
    pack_id: str
    pack_version: str
    pack_sha256: str
    provider: str
    image_sha256: str
    image_width: int | None
    image_height: int | None
    image_notes: tuple[str, ...]
    image_kind: str
    image_file: str | None
    image_file_sha256: str | None
    heatmap_file: str | None
    heatmap_sha256: str | None
    label: str | None  # None when the verdict is a refusal
    display_label: str
    verdict: str
    alarming: bool
    confidence: float | None  # None when the verdict is a refusal
    probabilities: Mapping[str, float]
    needs_review: bool
    review_reasons: tuple[str, ...]
    guard: Mapping[str, Any] | None
    mitigated: Mapping[str, Any] | None
    out_of_domain: bool
    ood_score: float | None
    timings: Mapping[str, float]
    seal: SealFields | None
    container_check: str | None  # iso6346 status of seal.container_number, when there is one
    signature: SignatureFields | None
    skin: SkinFields | None
    seq: int
    hash: str
    latest_review: Review | None = None
    review_count: int = 0
    manifest_sha256: str | None = None  # of the pack's manifest.json (None in rows from before schema 3)
    # The verdict model (schema v3 verdict_codes; for older rows rebuilt from their text).
    decision: Verdict | None = None
    # The seal profile that judged the photo: {"id", "sha256", "anomaly_score"} (None: none did).
    profile: Mapping[str, Any] | None = None

    @property
    def outcome(self) -> str:
        """decided | review | refused."""
        if self.decision is not None:
            return self.decision.outcome
        return "review" if self.needs_review else "decided"

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED

    @property
    def time_local(self) -> datetime:
        """When it was recorded, in the station's local time at that moment."""
        return _local(self.time_utc, self.utc_offset_min)

    @property
    def final_label(self) -> str | None:
        """The label in force: the supervisor's correction when the latest review overturned the
        machine, otherwise the machine's label (None for a refusal: it has no class)."""
        r = self.latest_review
        if r is not None and r.decision == "overturn" and r.corrected_label:
            return r.corrected_label
        return self.label

    @property
    def review_state(self) -> str:
        """"unreviewed", or the latest review's decision."""
        return self.latest_review.decision if self.latest_review else "unreviewed"


@dataclass(frozen=True)
class SignatureReference:
    """An enrolled specimen signature of one customer. Retired, never deleted."""

    id: int
    customer_id: str
    time_utc: datetime
    utc_offset_min: int
    enrolled_by: str
    source_document: str
    image_sha256: str
    image_file: str
    image_file_sha256: str
    note: str
    seq: int
    hash: str
    retired: bool = False
    retired_at: datetime | None = None
    retired_by: str | None = None
    retired_why: str | None = None
    # Pulled from the central server: the station it was enrolled at and its id there (else None).
    origin_station: str | None = None
    origin_id: int | None = None


@dataclass(frozen=True)
class ChainStatus:
    """What :meth:`InspectionLog.verify_chain` found.

    ``first_broken_id`` is the id of the first row that fails, in ``first_broken_table``
    ("inspections", "reviews", ...); ``reason`` says what is wrong in plain words.
    ``head_seq``/``head_hash`` identify the newest row: write them down (or print a report) and a
    later ``verify --anchor SEQ:HASH`` proves nothing before it was rewritten.
    """

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    first_broken_table: str | None = None
    first_broken_seq: int | None = None
    head_seq: int = 0
    head_hash: str = ""
    files_checked: int = 0
    # Log signing (issue #22): who signed the head, and how many recorded anchors were checked.
    signature: "HeadCheck | None" = None
    anchors_checked: int = 0
    log_id: str = ""

    @property
    def where(self) -> str:
        """"inspection 17" / "review 3" — the broken row in words, or "" when intact."""
        if self.first_broken_table is None:
            return "" if self.first_broken_seq is None else f"chain position {self.first_broken_seq}"
        noun = TABLE_NOUNS.get(self.first_broken_table, self.first_broken_table)
        if self.first_broken_id is None:
            return f"chain position {self.first_broken_seq}"
        return f"{noun} {self.first_broken_id}"


@dataclass(frozen=True)
class HeadCheck:
    """Who signed the log's head, in words (see :mod:`inference.log.signing`).

    ``state``: ``this-station`` (this computer's key), ``trusted`` (a key you named),
    ``recorded`` (a key recorded in the log that this computer does not hold), ``foreign`` (another
    key took over a log this station signed before), ``unsigned`` (a log made before signing),
    ``invalid`` (forged, removed or not matching the head). ``ok`` False means tampering.
    """

    state: str
    ok: bool
    text: str
    key_id: str | None = None
    station: str | None = None
    time_utc: str | None = None


TABLE_NOUNS = {
    "inspections": "inspection",
    "reviews": "review",
    "settings_log": "setting change",
    "signature_references": "signature reference",
    "reference_retirements": "reference retirement",
}


@dataclass(frozen=True)
class LogQuery:
    """A filter over inspections. Every field left as None matches everything.

    ``start`` is inclusive, ``end`` exclusive; naive datetimes and dates are local time.
    ``needs_review`` filters on the machine's flag; ``reviewed`` on whether anyone has reviewed it
    yet (the review queue is ``needs_review=True, reviewed=False``); ``decision`` on the latest
    review's decision. ``text`` searches source, labels, people, places, numbers and review notes.
    Paging: ``offset``/``limit``; for deep paging pass the last id seen as ``after_id`` (keyset:
    rows strictly after it in the requested order) and leave ``offset`` at 0.
    """

    start: datetime | date | str | None = None
    end: datetime | date | str | None = None
    mode: str | None = None
    label: str | None = None
    needs_review: bool | None = None
    operator: str | None = None
    seal_number: str | None = None
    container_number: str | None = None
    customer_id: str | None = None
    text: str | None = None
    offset: int = 0
    limit: int | None = 100
    newest_first: bool = True
    station: str | None = None
    pack_id: str | None = None
    reviewed: bool | None = None
    decision: str | None = None
    patient_ref: str | None = None
    image_sha256: str | None = None
    after_id: int | None = None
    ids: tuple[int, ...] | None = field(default=None)
