"""Inspections: validating the domain details (seal, signature, skin), building the row from a
staged result, committing staged groups in one transaction, and mapping rows back to
:class:`InspectionRecord`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from inference.errors import StorageError, TilikError
from inference.imageio import display_text
from inference.log import iso6346
from inference.log.media import ImageInput, MediaStore
from inference.log.models import (
    MODES,
    SEAL_CLASSES,
    InspectionRecord,
    Review,
    SealFields,
    SignatureFields,
    SkinFields,
    ValidationError,
)
from inference.log.staging import MediaStager, StagedInspection
from inference.log.store.db import LogDatabase
from inference.log.store.references import ReferenceRecords
from inference.log.store.seal_reading import has_reading, reading_fields, reading_values
from inference.log.store.settings import SettingsLog
from inference.log.verdict_rows import row_verdict, verdict_values
from inference.log.store.values import (
    app_version,
    bool_or_none,
    clean,
    dumps,
    finite,
    now,
    parse_time,
    person_name,
)
from inference.results import InspectionResult

STAGE_GROUP = 32  # inspections whose files are written and flushed together by record_results

CommitStaged = Callable[..., list[int]]


def record_from_row(row: Mapping[str, Any], latest: Review | None = None, count: int = 0) -> InspectionRecord:
    seal = None
    if row["mode"] == "seal" and (any(row.get(k) is not None for k in (
            "seal_number", "container_number", "seal_class", "vvtt_view", "vvtt_verify", "vvtt_tug", "vvtt_twist"))
            or has_reading(row)):
        seal = SealFields(
            seal_number=row["seal_number"] or "", container_number=row["container_number"] or "",
            seal_class=row["seal_class"],
            view=None if row["vvtt_view"] is None else bool(row["vvtt_view"]),
            verify=None if row["vvtt_verify"] is None else bool(row["vvtt_verify"]),
            tug=None if row["vvtt_tug"] is None else bool(row["vvtt_tug"]),
            twist=None if row["vvtt_twist"] is None else bool(row["vvtt_twist"]),
            container_check_confirmed=bool(row["container_check_confirmed"]), **reading_fields(row))
    signature = None
    if row["customer_id"] is not None:
        signature = SignatureFields(
            customer_id=row["customer_id"], document_ref=row["document_ref"] or "",
            reference_ids=tuple(json.loads(row["reference_set"])) if row["reference_set"] else (),
            score=row["signature_score"], threshold=row["signature_threshold"])
    skin = None
    if row["patient_ref"] is not None or row["body_site"] is not None:
        skin = SkinFields(patient_ref=row["patient_ref"] or "", body_site=row["body_site"] or "")
    label, display_label, confidence, decision = row_verdict(row)
    return InspectionRecord(
        id=row["id"], time_utc=parse_time(row["time_utc"]), utc_offset_min=row["utc_offset_min"],
        operator=row["operator"], station=row["station"], mode=row["mode"], app_version=row["app_version"],
        source=row["source"], pack_id=row["pack_id"], pack_version=row["pack_version"],
        pack_sha256=row["pack_sha256"], provider=row["provider"], image_sha256=row["image_sha256"],
        image_width=row["image_width"], image_height=row["image_height"],
        image_notes=tuple(json.loads(row["image_notes"])), image_kind=row["image_kind"],
        image_file=row["image_file"], image_file_sha256=row["image_file_sha256"],
        heatmap_file=row["heatmap_file"], heatmap_sha256=row["heatmap_sha256"], label=label,
        display_label=display_label, verdict=row["verdict"], alarming=bool(row["alarming"]),
        confidence=confidence, probabilities=json.loads(row["probabilities"]),
        needs_review=bool(row["needs_review"]), review_reasons=tuple(json.loads(row["review_reasons"])),
        guard=json.loads(row["guard"]) if row["guard"] else None,
        mitigated=json.loads(row["mitigated"]) if row["mitigated"] else None,
        out_of_domain=bool(row["out_of_domain"]), ood_score=row["ood_score"],
        timings=json.loads(row["timings"]), seal=seal, container_check=row["container_check"],
        signature=signature, skin=skin, seq=row["seq"], hash=row["hash"], latest_review=latest,
        review_count=count, decision=decision,
        manifest_sha256=row["manifest_sha256"] if "manifest_sha256" in row.keys() else None,
        profile=({"id": row["profile_id"], "sha256": row["profile_sha256"],
                  "anomaly_score": row["profile_anomaly_score"]}
                 if "profile_id" in row.keys() and row["profile_id"] is not None else None))


class InspectionRecorder:
    """Turns inspection results into chained ``inspections`` rows."""

    def __init__(self, db: LogDatabase, media: MediaStore, settings: SettingsLog,
                 references: ReferenceRecords) -> None:
        self.db = db
        self.media = media
        self.settings = settings
        self.references = references
        self._pack_modes: dict[str, str] = {}

    def mode_of_pack(self, pack_id: str) -> str:
        if pack_id not in self._pack_modes:
            mode = "general"
            try:
                from inference.registry import PackRegistry

                manifest = PackRegistry().get(pack_id).manifest
                if manifest is not None and manifest.mode in MODES:
                    mode = manifest.mode
            except TilikError:
                pass
            self._pack_modes[pack_id] = mode
        return self._pack_modes[pack_id]

    def domain_values(self, mode: str, seal: SealFields | None, signature: SignatureFields | None,
                      skin: SkinFields | None) -> dict[str, Any]:
        """The seal/signature/skin columns of an inspection in ``mode``, checked."""
        out: dict[str, Any] = {}
        for given, needed in ((seal, "seal"), (signature, "signature"), (skin, "skin")):
            if given is not None and mode != needed:
                raise ValidationError(f"{needed.capitalize()} details were given for a '{mode}' inspection; "
                                      f"they belong to '{needed}' inspections only.")
        if seal is not None:
            if seal.seal_class is not None and seal.seal_class not in SEAL_CLASSES:
                raise ValidationError(f"Seal class '{seal.seal_class}' is not one of {', '.join(SEAL_CLASSES)}.")
            number = clean(seal.container_number)
            check = None
            if number:
                result = iso6346.validate(number)
                if not result.ok and not seal.container_check_confirmed:
                    raise ValidationError(result.explain())
                number, check = result.number, result.status
            seal_no = clean(seal.seal_number)
            out.update(seal_number=seal_no.upper() if seal_no else None, container_number=number,
                       container_check=check,
                       container_check_confirmed=None if number is None else int(bool(seal.container_check_confirmed)),
                       seal_class=seal.seal_class, vvtt_view=bool_or_none(seal.view),
                       vvtt_verify=bool_or_none(seal.verify), vvtt_tug=bool_or_none(seal.tug),
                       vvtt_twist=bool_or_none(seal.twist))
            out.update(reading_values(seal, number, out["seal_number"]))
        if signature is not None:
            customer = clean(signature.customer_id)
            if not customer:
                raise ValidationError("A signature check needs the customer or account id it was checked for.")
            ids = tuple(int(i) for i in signature.reference_ids)
            if ids:
                self.references.check_usable(customer, ids)
            for name, value in (("score", signature.score), ("threshold", signature.threshold)):
                if value is not None and not math.isfinite(float(value)):
                    raise ValidationError(f"The signature {name} must be a number, not {value}.")
            out.update(customer_id=customer, document_ref=clean(signature.document_ref),
                       reference_set=dumps(list(ids)) if ids else None,
                       signature_score=signature.score, signature_threshold=signature.threshold)
        if skin is not None:
            out.update(patient_ref=clean(skin.patient_ref), body_site=clean(skin.body_site))
        return out

    @staticmethod
    def inspection_values(staged: StagedInspection, *, operator: str, station: str, omit_source: bool,
                          domain: Mapping[str, Any], now: tuple[str, int],
                          verdict_columns: bool = True) -> dict[str, Any]:
        t, off = now
        result, image_file, heatmap_file = staged.result, staged.image_file, staged.heatmap_file
        values: dict[str, Any] = {
            "time_utc": t, "utc_offset_min": off,
            "operator": person_name(operator), "station": (station or "").strip(), "mode": staged.mode,
            "app_version": app_version(),
            "source": None if omit_source else (display_text(result.source) or None),  # file names may not be UTF-8
            "pack_id": result.pack_id, "pack_version": result.pack_version, "pack_sha256": result.pack_sha256,
            "provider": result.provider,
            "image_sha256": result.image_sha256, "image_width": staged.width, "image_height": staged.height,
            "image_notes": dumps(list(result.image_notes)),
            "image_kind": staged.image_kind,
            "image_file": image_file.relative if image_file is not None else None,
            "image_file_sha256": image_file.sha256 if image_file is not None else None,
            "heatmap_file": heatmap_file.relative if heatmap_file is not None else None,
            "heatmap_sha256": heatmap_file.sha256 if heatmap_file is not None else None,
            "label": result.label or "", "display_label": result.display_label, "verdict": result.verdict,
            "alarming": bool(result.alarming),
            "confidence": 0.0 if result.confidence is None else float(result.confidence),
            "probabilities": dumps({k: float(v) for k, v in result.probabilities.items()}),
            "needs_review": bool(result.needs_review), "review_reasons": dumps(list(result.review_reasons)),
            "guard": dumps(result.guard.as_dict()) if result.guard is not None else None,
            "mitigated": dumps(result.mitigated.as_dict()) if result.mitigated is not None else None,
            "out_of_domain": bool(result.out_of_domain), "ood_score": finite(result.ood_score),
            "timings": dumps(result.timings.as_dict()),
        }
        if verdict_columns:  # the verdict as data (issue 20 migration)
            values.update(verdict_values(result))
        values.update(domain)
        return values

    def stager(self, mode: str | None = None, keep_full_image: bool | None = None) -> MediaStager:
        """See :meth:`InspectionLog.stager`."""
        if self.db.read_only:
            raise StorageError(f"The inspection log {self.db.path} was opened read-only: the inspection was not saved.")
        return MediaStager(self.media, self.settings.all(), mode, keep_full_image, self.mode_of_pack)

    def commit_staged(self, staged: Sequence[StagedInspection], *, operator: str = "", station: str = "",
                      seal: SealFields | None = None, signature: SignatureFields | None = None,
                      skin: SkinFields | None = None) -> list[int]:
        """See :meth:`InspectionLog.commit_staged`."""
        staged = list(staged)
        if not staged:
            return []
        if self.db.read_only:
            raise StorageError(f"The inspection log {self.db.path} was opened read-only: the inspection was not saved.")
        for s in staged:
            if not isinstance(s, StagedInspection):
                raise ValidationError(f"Expected staged inspections, got {type(s).__name__}.")
            if Path(s.media_root) != self.media.root:
                raise ValidationError("These inspections were staged for another inspection log "
                                      f"({s.media_root}); stage them again for {self.db.path}.")
        omit = set(self.settings.all()["omit_source_modes"])
        domains: dict[str, dict[str, Any]] = {}
        rows = []
        # An old file opened at its own schema version (tests of migrations) has no verdict columns.
        verdict_columns = "verdict_codes" in self.db.column_types["inspections"]
        for s in staged:
            if s.seal is not None:  # this inspection's own seal details (checked like the group's)
                domain = self.domain_values(s.mode, s.seal, signature, skin)
            else:
                if s.mode not in domains:
                    domains[s.mode] = self.domain_values(s.mode, seal, signature, skin)
                domain = domains[s.mode]
            rows.append(self.inspection_values(s, operator=operator, station=station, omit_source=s.mode in omit,
                                               domain=domain, now=now(), verdict_columns=verdict_columns))
            if "manifest_sha256" in self.db.column_types["inspections"]:  # schema 5 on
                rows[-1]["manifest_sha256"] = getattr(s.result, "manifest_sha256", "") or None
            profile = getattr(s.result, "profile", None)
            if profile is not None and "profile_id" in self.db.column_types["inspections"]:  # seal profiles on
                rows[-1].update(profile_id=profile.id, profile_sha256=profile.sha256,
                                profile_anomaly_score=float(profile.anomaly_score))
        what = "the inspection" if len(rows) == 1 else f"{len(rows)} inspections"
        with self.db.write(what) as conn:
            return [row["id"] for row in self.db.append_many(conn, "inspections", rows)]

    def record(self, results: Iterator[InspectionResult], images: Iterator[ImageInput] | None, *,
               commit_staged: CommitStaged, operator: str, station: str, mode: str | None,
               seal: SealFields | None, signature: SignatureFields | None, skin: SkinFields | None,
               keep_full_image: bool | None, per_transaction: int) -> list[int]:
        """Stage and commit results ``per_transaction`` per commit, through ``commit_staged`` (the
        facade's, so whoever wraps it sees every group)."""
        stager = self.stager(mode, keep_full_image)
        per_transaction = max(1, per_transaction)
        done: list[int] = []
        staged: list[StagedInspection] = []
        pending: list[tuple[InspectionResult, ImageInput]] = []
        checked: set[str] = set()

        def stage() -> None:
            if pending:
                staged.extend(stager.stage_many(pending, stop_at_error=True))  # type: ignore[arg-type]
                pending.clear()

        def commit() -> None:
            stage()
            done.extend(commit_staged(staged, operator=operator, station=station, seal=seal,
                                      signature=signature, skin=skin))
            staged.clear()

        for result in results:
            image = next(images, None) if images is not None else None
            chosen = stager.mode_for(result)
            if chosen not in checked:  # refuse wrong details before writing any file
                self.domain_values(chosen, seal, signature, skin)
                checked.add(chosen)
            pending.append((result, image))
            if len(staged) + len(pending) >= per_transaction:
                commit()
            elif len(pending) >= STAGE_GROUP:
                stage()
        commit()
        return done
