"""Typed results: what an inspection returns, in frozen dataclasses, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:
    from inference.preprocess import Geometry

# The largest heatmap any export or display makes (log file, PDF, --heatmap-dir, the GUI).
HEATMAP_MAX_PX = 1024


# What a verdict is (issue 20): a decided class, a class that needs a person's review (the class
# it leans to), or a refusal (out of domain, not a signature, unreadable), which names no class.
DECIDED, REVIEW, REFUSED = "decided", "review", "refused"
OUTCOMES = (DECIDED, REVIEW, REFUSED)
# How the verdict's number is read: the named class's probability ("Confidence 87%"), the
# alarming classes' summed probability against the pack's alarm threshold ("Damage risk 40% —
# alarm at 34%"), a signature match score against its threshold, or a seal profile's anomaly score
# against the profile's threshold (issue 25).
BASES = ("top_class", "alarm", "match", "profile")


@dataclass(frozen=True)
class ReviewReason:
    """Why a verdict needs review, or why it was refused: a code and its parameters, never prose.

    Words are made from it in one place per language (:mod:`inference.wording` for English, the
    GUI's table for the others). Parameters are JSON values: probabilities as fractions, class
    names (``classes``) beside their English labels (``labels``) so a log row renders without its pack.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ReviewReason":
        return cls(str(data["code"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class Verdict:
    """The one verdict model every view renders (screen, PDF, CSV, CLI, log).

    ``label`` is the class the verdict names (for REVIEW: the class it leans to) and ``probability``
    that class's probability; both are None when REFUSED. ``words`` are the pack's English verdict
    words for the class. ``basis`` says how ``score`` (the alarming probability or the match score)
    and ``threshold`` are read; ``risk_label`` names that score and ``subject`` what the pack looks at.
    """

    outcome: str
    label: str | None
    words: str | None
    probability: float | None
    reasons: tuple[ReviewReason, ...] = ()
    refusal: ReviewReason | None = None
    basis: str = "top_class"
    score: float | None = None
    threshold: float | None = None
    risk_label: str = ""
    subject: str = ""
    # Notes that inform without asking for review (issue 25): which seal profile judged the photo
    # ("profile_judged"), or that the pack was trained on generated photos only ("synthetic_training").
    notes: tuple[ReviewReason, ...] = ()

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the CLI's ``decision`` object; the log's ``verdict_codes`` column)."""
        r6 = (lambda v: None if v is None else round(float(v), 6))
        return {"outcome": self.outcome, "label": self.label, "words": self.words,
                "probability": r6(self.probability), "reasons": [x.as_dict() for x in self.reasons],
                "refusal": self.refusal.as_dict() if self.refusal else None, "basis": self.basis,
                "score": r6(self.score), "threshold": r6(self.threshold), "risk_label": self.risk_label,
                "subject": self.subject, **({"notes": [x.as_dict() for x in self.notes]} if self.notes else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Verdict":
        outcome = d.get("outcome")
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown verdict outcome {outcome!r}")
        return cls(outcome=outcome, label=d.get("label"), words=d.get("words"), probability=d.get("probability"),
                   reasons=tuple(ReviewReason.from_dict(x) for x in d.get("reasons") or ()),
                   refusal=ReviewReason.from_dict(d["refusal"]) if d.get("refusal") else None,
                   basis=d.get("basis") or "top_class", score=d.get("score"), threshold=d.get("threshold"),
                   risk_label=d.get("risk_label") or "", subject=d.get("subject") or "",
                   notes=tuple(ReviewReason.from_dict(x) for x in d.get("notes") or ()))


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent in each stage of one inspection."""

    decode_ms: float
    preprocess_ms: float
    run_ms: float
    total_ms: float
    guard_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ClassScore:
    """One class with its probability (machine name and human label)."""

    name: str
    label: str
    probability: float


@dataclass(frozen=True)
class GuardVerdict:
    """The input guard's trust verdict (filled by the guard when a pack has one)."""

    flagged: bool
    score: float
    reasons: tuple[str, ...] = ()
    false_alarm_rate: Mapping[str, float] = field(default_factory=dict)
    detectors: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "score": round(float(self.score), 6),
            "reasons": list(self.reasons),
            "false_alarm_rate": dict(self.false_alarm_rate),
            "detectors": {k: round(float(v), 6) for k, v in self.detectors.items()},
        }


@dataclass(frozen=True)
class MitigatedVerdict:
    """What the model says about the guard's reconstruction of a flagged input."""

    label: str
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": round(float(self.confidence), 6)}


@dataclass(frozen=True, eq=False)
class InspectionResult:
    """Everything one classification produced.

    ``heatmap`` is float32 in [0, 1] (None when the pack has no cam output). With
    ``heatmap_geometry`` it is the model's map at model-input size, and the geometry says where
    the original image sits in it (content box, crop of the original): a 12-MP photo's result
    stays as small as a 224-px one's. Without geometry the map already covers the whole image
    (at any resolution). Use :meth:`heatmap_image` to lay it on the image at the size wanted.
    ``embedding`` is the pooled feature vector when the pack exports one.
    ``decision`` is the verdict model; ``label``/``confidence`` are None (``display_label`` "")
    when it is a refusal, and ``verdict``/``review_reasons`` are its English words.
    """

    source: str
    label: str | None
    display_label: str
    verdict: str
    confidence: float | None
    probabilities: Mapping[str, float]
    top_k: tuple[ClassScore, ...]
    alarming: bool
    needs_review: bool
    review_reasons: tuple[str, ...]
    out_of_domain: bool
    ood_score: float | None
    heatmap: np.ndarray | None
    embedding: np.ndarray | None
    pack_id: str
    pack_version: str
    pack_sha256: str
    provider: str
    image_sha256: str
    image_size: tuple[int, int]
    image_notes: tuple[str, ...]
    timings: Timings
    guard: GuardVerdict | None = None
    mitigated: MitigatedVerdict | None = None
    # SHA-256 of the manifest.json whose thresholds and policy made this verdict ("" when unknown):
    # the model's hash alone does not pin the decision.
    manifest_sha256: str = ""
    # -- heatmap at model size (issue #28): the mapping onto the original image --------------------
    heatmap_geometry: "Geometry | None" = None

    def heatmap_image(self, max_px: int | None = HEATMAP_MAX_PX) -> np.ndarray | None:
        """The heatmap on the original image: float32 [0, 1], the image's shape shrunk so the
        longer side is at most ``max_px`` (None: full size, for small images only)."""
        if self.heatmap is None:
            return None
        from inference.preprocess import heatmap_to_image, shrink_map

        if self.heatmap_geometry is None:
            return shrink_map(self.heatmap, max_px)
        return heatmap_to_image(self.heatmap, self.heatmap_geometry, max_px)
    decision: Verdict | None = None
    # The class the decision policy picks from the probabilities, refused or not: for measuring a
    # pack on labelled images (training's evaluation), never shown as a verdict.
    model_label: str | None = None
    # The seal profile's verdict when one judged the photo (inference.profiles.judge.ProfileVerdict);
    # the heatmap is then its anomaly map.
    profile: Any = None

    @property
    def outcome(self) -> str:
        if self.decision is not None:
            return self.decision.outcome
        return REVIEW if self.needs_review else DECIDED

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED

    def to_json_dict(self, *, heatmap_path: str | None = None) -> dict[str, Any]:
        """The JSON object ``tilik classify --json`` prints for this result."""
        return {
            "path": self.source,
            "pack": self.pack_id,
            "pack_version": self.pack_version,
            "pack_sha256": self.pack_sha256,
            "manifest_sha256": self.manifest_sha256,
            "provider": self.provider,
            "label": self.label,
            "display_label": self.display_label,
            "verdict": self.verdict,
            "outcome": self.outcome,
            "confidence": None if self.confidence is None else round(float(self.confidence), 6),
            "probabilities": dict(zip(self.probabilities, np.round(np.fromiter(
                self.probabilities.values(), np.float64, len(self.probabilities)), 6).tolist())),
            "top_k": [{"class": c.name, "label": c.label, "probability": round(float(c.probability), 6)}
                      for c in self.top_k],
            "alarming": self.alarming,
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "decision": self.decision.as_dict() if self.decision else None,
            "out_of_domain": self.out_of_domain,
            "ood_score": None if self.ood_score is None else round(float(self.ood_score), 6),
            "guard": self.guard.as_dict() if self.guard else None,
            "mitigated": self.mitigated.as_dict() if self.mitigated else None,
            "heatmap": heatmap_path,
            "image_sha256": self.image_sha256,
            "image_size": list(self.image_size),
            "image_notes": list(self.image_notes),
            "timings_ms": self.timings.as_dict(),
            **({"anomaly_score": round(float(self.profile.anomaly_score), 6), "profile": self.profile.as_dict()}
               if self.profile is not None else {}),
        }
