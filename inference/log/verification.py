"""Signature checks into the inspection log (``tilik verify --log`` and the desktop app).

A :class:`~inference.signature.verifier.VerificationResult` is recorded as an inspection of mode
``signature`` (probabilities ``{genuine: score, forged: 1 - score}``, the query's heatmap) with
its :class:`~inference.log.models.SignatureFields`: customer, document, the enrolled references
used, score and threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from inference.log.models import InspectionRecord, SignatureFields
from inference.log.recording import default_operator, default_station
from inference.log.store import InspectionLog
from inference.results import ClassScore, InspectionResult, Timings


def verification_as_inspection(vr: Any, manifest: Any) -> InspectionResult:
    """A verification result in the shape the inspection log records.

    ``probabilities`` are {genuine: score, forged: 1 − score}; ``confidence`` is that of the label;
    the heatmap is the query's (at the query image's size).
    """
    names = list(manifest.class_names) if manifest is not None else ["genuine", "forged"]
    score = float(vr.score)
    probs: dict[str, float] = {}
    for name in names:
        probs[name] = score if name == "genuine" else (1.0 - score if name == "forged" else 0.0)
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])
    top = tuple(ClassScore(n, manifest.class_label(n) if manifest is not None else n, p) for n, p in ranked)
    alarming = vr.label in tuple(getattr(getattr(manifest, "decision", None), "alarming", ()) or ("forged",))
    t = vr.timings
    return InspectionResult(
        source=vr.source, label=vr.label, display_label=vr.display_label, verdict=vr.verdict,
        confidence=probs.get(vr.label, score), probabilities=probs, top_k=top, alarming=bool(alarming),
        needs_review=bool(vr.needs_review), review_reasons=tuple(vr.review_reasons), out_of_domain=False,
        ood_score=None, heatmap=vr.heatmap, embedding=None, pack_id=vr.pack_id, pack_version=vr.pack_version,
        pack_sha256=vr.pack_sha256, manifest_sha256=vr.manifest_sha256, provider=vr.provider,
        image_sha256=vr.image_sha256,
        image_size=tuple(vr.image_size), image_notes=tuple(vr.image_notes),
        timings=Timings(t.decode_ms, t.preprocess_ms, t.cnn_ms + t.svm_ms, t.total_ms),
        decision=getattr(vr, "decision", None))


def refused_verification_as_inspection(error: Any, manifest: Any, provider: str = "") -> InspectionResult:
    """A signature query refused by the pack's domain check, in the shape the log records: a
    refusal with no class (label None), the domain scores as the refusal's parameters."""
    from inference.results import REFUSED, ReviewReason, Verdict
    from inference.wording import SUBJECTS, headline, reason_text

    image = error.image
    refusal = ReviewReason("not_signature", {"role": getattr(error, "role", "query"),
                                             "scores": dict(getattr(error, "scores", {}) or {}),
                                             "limits": dict(getattr(error, "limits", {}) or {})})
    words = (getattr(manifest, "words", None) or {}) if manifest is not None else {}
    v = Verdict(REFUSED, None, None, None, reasons=(refusal,), refusal=refusal,
                subject=words.get("subject") or SUBJECTS["signature"])
    return InspectionResult(
        source=image.source, label=None, display_label="", verdict=headline(v), confidence=None,
        probabilities={}, top_k=(), alarming=False, needs_review=True, review_reasons=(reason_text(refusal),),
        out_of_domain=True, ood_score=None, heatmap=None, embedding=None,
        pack_id=manifest.id if manifest is not None else "signature-verify",
        pack_version=manifest.version if manifest is not None else "",
        pack_sha256=manifest.model.sha256 if manifest is not None else "", provider=provider or "",
        manifest_sha256=getattr(manifest, "sha256", "") if manifest is not None else "",
        image_sha256=image.sha256, image_size=(image.width, image.height), image_notes=tuple(image.notes),
        timings=Timings(0.0, 0.0, 0.0, 0.0), decision=v)


class VerificationRecorder:
    """Callable that records one verification result per call (committed before it returns).

    With a ``customer_id``, the reference files are the customer's enrolled references: files not
    enrolled yet are enrolled first (by the operator, from ``document_ref``), already enrolled ones
    (same image SHA-256, not retired) are reused, and every record names the references it used.
    """

    def __init__(self, log: InspectionLog, manifest: Any, operator: str, station: str, *,
                 customer_id: str = "", document_ref: str = "",
                 reference_files: Sequence[Path | str] = ()) -> None:
        self.log = log
        self.manifest = manifest
        self.operator, self.station = operator, station
        self.customer_id, self.document_ref = customer_id.strip(), document_ref.strip()
        self.reference_ids: tuple[int, ...] = ()
        self.recorded: list[int] = []
        if self.customer_id and reference_files:
            self.reference_ids = tuple(self._enrolled(Path(f)) for f in reference_files)

    def _enrolled(self, path: Path) -> int:
        from inference.imageio import load_image

        sha = load_image(path).sha256
        for ref in self.log.references(self.customer_id):
            if ref.image_sha256 == sha:
                return ref.id
        source = self.document_ref or f"reference file {path.name}"
        return self.log.enrol_reference(self.customer_id, path, self.operator, source,
                                        note=f"enrolled by tilik verify from {path.name}").id

    def __call__(self, result: Any) -> InspectionRecord:
        source = Path(result.source) if result.source else None
        rec = self.log.record_result(
            verification_as_inspection(result, self.manifest),
            image=source if source is not None and source.is_file() else None,
            operator=self.operator, station=self.station, mode="signature",
            signature=SignatureFields(customer_id=self.customer_id, document_ref=self.document_ref,
                                      reference_ids=self.reference_ids, score=float(result.score),
                                      threshold=float(result.threshold)))
        self.recorded.append(rec.id)
        return rec

    def record_refusal(self, error: Any, provider: str = "") -> InspectionRecord | None:
        """Log a query the domain check refused (a NotASignatureError about the query); None for
        anything else (a refused reference is a set-up problem, not an inspection)."""
        if getattr(error, "image", None) is None or getattr(error, "role", "") != "query":
            return None
        source = Path(error.image.source) if error.image.source else None
        rec = self.log.record_result(
            refused_verification_as_inspection(error, self.manifest, provider),
            image=source if source is not None and source.is_file() else None,
            operator=self.operator, station=self.station, mode="signature",
            signature=SignatureFields(customer_id=self.customer_id, document_ref=self.document_ref,
                                      reference_ids=self.reference_ids))
        self.recorded.append(rec.id)
        return rec

    def close(self) -> None:
        self.log.close()


def open_verification_recorder(db: Path | str | None, verifier: Any, *, customer_id: str = "",
                               document_ref: str = "", reference_files: Sequence[Path | str] = (),
                               operator: str | None = None, station: str | None = None) -> VerificationRecorder:
    """Open the log at ``db`` (None: the default log) and return a recorder for ``verifier``'s results."""
    log = InspectionLog.open(Path(db) if db else None)
    return VerificationRecorder(log, getattr(verifier, "manifest", None),
                                default_operator() if operator is None else operator,
                                default_station() if station is None else station,
                                customer_id=customer_id, document_ref=document_ref, reference_files=reference_files)
