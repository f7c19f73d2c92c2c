"""Per-reference scores and the red/green/yellow overlay of a logged signature check, for the PDF.

The log records a signature check's overall score, threshold and the enrolled references it used,
not each reference's score or the overlay picture. For the report they are recomputed from what the
log keeps — the query image (when kept in full) and the enrolled reference images — with the pack
whose model SHA-256 equals the record's, so the numbers come from the very model that made the
verdict. The recomputed overall score is compared with the recorded one and the report says when
they differ. When they cannot be recomputed, the reason is returned as a code with parameters and
the report says it in words; nothing is made up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.errors import TilikError

SCORE_TOLERANCE = 1e-4  # recomputed vs recorded overall score: onnxruntime on the CPU is deterministic


@dataclass(frozen=True)
class ReferenceScore:
    ref_id: int
    enrolled: str          # local date the reference was enrolled
    source_document: str
    score: float           # calibrated P(genuine) of the query against this reference


@dataclass(frozen=True)
class SignatureDetail:
    """What the signature page shows beyond the record: per-reference scores and the overlay,
    or ``missing`` (a code) and ``params`` saying why not."""

    references: tuple[ReferenceScore, ...] = ()
    closest: int | None = None             # index into ``references`` the overlay is drawn against
    overlay: np.ndarray | None = None      # RGB uint8
    score: float | None = None             # the recomputed overall score
    matches_record: bool = True
    missing: str | None = None             # a report_words key: why_thumbnail, why_pack, why_failed, ...
    params: dict[str, Any] = field(default_factory=dict)


class SignatureDetails:
    """Recomputes :class:`SignatureDetail` for records of one report, loading each pack once."""

    def __init__(self, log: Any, provider: str | None = "cpu") -> None:
        self.log = log
        self.provider = provider
        self._verifiers: dict[str, Any] = {}
        self._cache: dict[int, SignatureDetail] = {}

    def __call__(self, rec: Any) -> SignatureDetail | None:
        if rec.signature is None or rec.refused:
            return None
        if rec.id not in self._cache:
            self._cache[rec.id] = self._compute(rec)
        return self._cache[rec.id]

    def _verifier(self, pack_id: str) -> Any:
        if pack_id not in self._verifiers:
            from inference.signature.verifier import Verifier

            try:
                self._verifiers[pack_id] = Verifier.for_pack(pack_id, provider=self.provider)
            except TilikError:
                self._verifiers[pack_id] = None
        return self._verifiers[pack_id]

    def _compute(self, rec: Any) -> SignatureDetail:
        sig = rec.signature
        if not sig.reference_ids:
            return SignatureDetail(missing="why_no_refs")
        if not (hasattr(self.log, "stored_image_path") and hasattr(self.log, "get_reference")):
            return SignatureDetail(missing="why_not_here")  # e.g. the central copy: no reference files
        if rec.image_kind != "original" or not rec.image_file:
            return SignatureDetail(missing="why_thumbnail" if rec.image_kind == "thumbnail" else "why_no_image")
        query = self.log.stored_image_path(rec)
        if query is None:
            return SignatureDetail(missing="why_no_image")
        refs, paths = [], []
        for ref_id in sig.reference_ids:
            try:
                ref = self.log.get_reference(ref_id)
            except TilikError:
                return SignatureDetail(missing="why_ref_missing", params={"ref": ref_id})
            path = self.log.stored_image_path(ref)
            if path is None:
                return SignatureDetail(missing="why_ref_missing", params={"ref": ref_id})
            refs.append(ref)
            paths.append(path)
        verifier = self._verifier(rec.pack_id)
        if verifier is None or verifier.manifest.model.sha256 != rec.pack_sha256:
            return SignatureDetail(missing="why_pack", params={"version": f"{rec.pack_id} {rec.pack_version}"})
        try:
            result = verifier.verify(query, paths, name=rec.source or str(query))
        except TilikError as exc:
            return SignatureDetail(missing="why_failed", params={"error": str(exc)})
        scores = tuple(ReferenceScore(ref.id, ref.time_local.strftime("%Y-%m-%d") if hasattr(ref, "time_local")
                                      else ref.time_utc.strftime("%Y-%m-%d"), ref.source_document or "", float(s))
                       for ref, s in zip(refs, result.reference_scores))
        matches = sig.score is None or abs(float(result.score) - float(sig.score)) <= SCORE_TOLERANCE
        return SignatureDetail(references=scores, closest=int(result.closest_reference),
                               overlay=np.asarray(result.overlay, dtype=np.uint8), score=float(result.score),
                               matches_record=matches)
