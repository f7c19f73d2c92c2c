"""Verdicts in words: the ONE place where a :class:`~inference.results.Verdict` and its reason codes
become English text.

The CLI, ``tilik log show``, the CSV export and the PDF use these functions as they are; the GUI
uses the same functions with a :class:`Language` whose templates come from its per-language table
(keyed by the same codes, see ``gui/wording.py``), whose percentages follow the user's locale and
whose pack words come from the pack's manifest translations. So a reason is never parsed back from
prose, and the same record reads the same everywhere.

Old log rows (schema v2 and earlier) hold English reason sentences instead of codes; they are read
through :func:`legacy_reason`, the one parser of that old text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from inference.results import REFUSED, REVIEW, ReviewReason, Verdict

# -- the English text, by code -------------------------------------------------------------------
TEMPLATES: dict[str, str] = {
    # review reasons
    "review_band": "uncertain: {what} probability {p} is inside the review band {low}–{high}",
    "low_confidence": "low confidence: {p} is below {minimum}",
    "out_of_domain": "the image does not look like the images this pack was trained on",
    "blank_image": "the image is blank (almost one flat colour): is the lens covered or the file empty?",
    "noise_image": "the image looks like random noise, not a photo of an object",
    "guard_flagged": "input guard flagged the image ({detectors})",
    "signature_band": "uncertain: score {score} is inside the review band {low}–{high} for {refs}",
    "few_references": "only {refs}: use at least {minimum}",
    "few_references_eer": "only {refs}: use at least {minimum} (validation EER {eer_n} with {n} against "
                          "{eer_min} with {minimum})",
    "references_disagree": "the references disagree: per-reference scores range from {low} to {high}",
    "reference_outlier": "reference {source} does not match the other references (agreement {agreement}): "
                         "check it is the customer's specimen",
    "not_signature": "the {role} does not look like a signature",
    "checklist_failed": "checklist: {steps} failed",
    "checklist_view": "View",
    "checklist_verify": "Verify",
    "checklist_tug": "Tug",
    "checklist_twist": "Twist",
    "text": "{text}",
    # seal profiles (issue 25): a review reason, and notes that inform without asking for review
    "profile_disagrees": "the pack's classifier disagrees with the seal profile '{name}': {what} probability {p} "
                         "(alarm at {threshold})",
    "profile_judged": "judged by the seal profile '{name}'",
    "synthetic_training": "this pack was trained on generated photos only and has not been checked on real "
                          "photos yet: enrol a seal profile of your site's seals, or retrain the pack on your "
                          "own photos",
    # the input guard's detectors (inference.guard), by detector name
    "guard_reconstruction": "the image carries fine noise or detail the pack's autoencoder does not reproduce",
    "guard_divergence": "the verdict changes when the image is cleaned up by the autoencoder",
    "guard_squeeze": "the verdict changes when the image is slightly simplified (feature squeezing)",
    "guard_noise": "the image carries fine colour noise that camera photos do not have, as adversarial perturbations do",
    "guard_ood": "the image does not look like the images this pack was trained on",
    # headlines and numbers
    "refused": "Refused: not a {subject}",
    "refused_blank_image": "Refused: the image is blank",
    "refused_noise_image": "Refused: the image is noise, not a photo",
    "review_suffix": "{verdict} — review",
    "confidence": "Confidence {p}",
    "alarm": "{risk} {score} — alarm at {threshold}",
    "match": "Match score {score} — genuine from {threshold}",
    "profile": "Departure from profile '{name}' {score} — alarm above {threshold}",
    "heatmap_of": "Heatmap of {label}",
    "heatmap_of_top": "Heatmap of {label}, the most probable class",
    "heatmap_signature": "Heatmap of {label} from this signature alone",
    "heatmap_plain": "Heatmap",
    "heatmap_empty": "{caption}: no evidence found",
    "heatmap_profile": "Where the photo departs from profile '{name}'",
    "no_verdict": "No verdict is given for this image.",
    # a refusal on a pack that raises alarms (the note "refused_not_reassurance"): said in place of
    # "no verdict", as the silence of a refused photo otherwise reads as the calm answer
    "refused_not_reassurance": "Not judged — this is not a {calm} result and does not rule out {alarm}: retake "
                               "the photo; if it is refused again, have it looked at by a person.",
    "quoted": "‘{text}’",
    "list_last": "{head} or {last}",
    "references_one": "1 reference",
    "references_many": "{n} references",
    "risk_default": "Risk ({labels})",
}

# The note of a refusal on a pack with alarming classes (see refusal_note).
NOT_REASSURANCE = "refused_not_reassurance"

# Errors a person meets most, by code (inference.errors.TilikError.code): English words here, the
# GUI translates by the same code.
ERRORS: dict[str, str] = {
    "image_empty": "{source}: the file is empty.",
    "image_truncated": "{source}: the file is truncated or damaged; re-save or re-export it.",
    "image_unknown_format": "{source}: not an image, or an image format Tilik cannot read "
                            "(use JPEG, PNG, BMP, TIFF, WebP or GIF).",
    "image_too_large": "{source}: the image is too large to open safely.",
    "image_too_many_pixels": "{source}: the image is {width}×{height} pixels ({mp} MP), more than the {limit} MP "
                             "Tilik opens safely. Resize it first.",
    "not_signature": "{source}: the {role} does not look like a signature scan. Use a scan or photo of the "
                     "signature alone, dark ink on light paper; no verdict was given.",
}


def error_text(code: str, lang: Language | None = None, **params: Any) -> str:
    """An error's words by code (English unless ``lang`` gives another template)."""
    template = ERRORS[code] if lang is None else lang.template("error_" + code)
    return template.format(**params)


# What a pack looks at, when its manifest does not say (words.subject), by mode.
SUBJECTS = {"seal": "seal photo", "skin": "skin-lesion photo", "signature": "signature",
            "general": "photo this pack knows"}


def english_pct(value: float) -> str:
    """A share as a percentage with one decimal (what the GUI shows in English too)."""
    return f"{100.0 * float(value):.1f}%"


@dataclass(frozen=True)
class Language:
    """How to say things in one language.

    ``template(code)`` gives the text for a code; ``pct`` writes a share; ``pack_word(kind, key,
    english)`` gives a pack's word (kind: class, verdict, subject, risk; key: the class name or
    "") in this language, falling back to ``english``.
    """

    template: Callable[[str], str] = field(default=lambda code: (
        ERRORS[code[6:]] if code.startswith("error_") and code[6:] in ERRORS else TEMPLATES[code]))
    pct: Callable[[float], str] = english_pct
    pack_word: Callable[[str, str, str], str] = field(default=lambda kind, key, english: english)


ENGLISH = Language()


def say(code: str, lang: Language = ENGLISH, **values: Any) -> str:
    return lang.template(code).format(**values)


def _refs(n: int, lang: Language) -> str:
    return say("references_one", lang) if int(n) == 1 else say("references_many", lang, n=int(n))


def reason_text(reason: ReviewReason, lang: Language = ENGLISH) -> str:
    """One reason (or refusal) in words."""
    p, pct = reason.params, lang.pct
    code = reason.code
    if code == "review_band":
        labels = p.get("labels") or p.get("classes") or []
        what = " / ".join(lang.pack_word("class", n, lbl) for n, lbl in zip(p.get("classes") or labels, labels))
        return say(code, lang, what=what, p=pct(p["p"]), low=pct(p["low"]), high=pct(p["high"]))
    if code == "low_confidence":
        return say(code, lang, p=pct(p["p"]), minimum=pct(p["minimum"]))
    if code == "guard_flagged":
        return say(code, lang, detectors=", ".join(p.get("detectors") or ()))
    if code == "signature_band":
        return say(code, lang, score=pct(p["score"]), low=pct(p["low"]), high=pct(p["high"]), refs=_refs(p["n"], lang))
    if code == "few_references":
        if p.get("eer_n") is not None and p.get("eer_min") is not None:
            return say("few_references_eer", lang, refs=_refs(p["n"], lang), minimum=p["minimum"], n=p["n"],
                       eer_n=pct(p["eer_n"]), eer_min=pct(p["eer_min"]))
        return say(code, lang, refs=_refs(p["n"], lang), minimum=p["minimum"])
    if code == "references_disagree":
        return say(code, lang, low=pct(p["low"]), high=pct(p["high"]))
    if code == "reference_outlier":
        return say(code, lang, source=p.get("source", ""), agreement=pct(p["agreement"]))
    if code == "not_signature":
        return say(code, lang, role=p.get("role", "image"))
    if code == "checklist_failed":  # the inspector marked VVTT steps as failed (the GUI's seal form)
        steps = [str(s) for s in p.get("items") or ()]
        known = all(f"checklist_{s}" in TEMPLATES for s in steps)
        if steps and known:
            return say(code, lang, steps=", ".join(say(f"checklist_{s}", lang) for s in steps))
    if code == "profile_disagrees":
        labels = p.get("labels") or p.get("classes") or []
        what = " / ".join(lang.pack_word("class", n, lbl) for n, lbl in zip(p.get("classes") or labels, labels))
        return say(code, lang, name=p.get("name", ""), what=what, p=pct(p["p"]), threshold=pct(p["threshold"]))
    if code == "profile_judged":
        return say(code, lang, name=p.get("name", ""))
    if code == NOT_REASSURANCE:
        return say(code, lang, calm=_label_list(list(p.get("calm_classes") or []), list(p.get("calm_labels") or []), lang),
                   alarm=_label_list(list(p.get("classes") or []), list(p.get("labels") or []), lang))
    if code in TEMPLATES and code not in ("text",):
        return say(code, lang)
    return str(p.get("text") or code)


def refusal_note(names: list[str], alarming: list[str], label: Callable[[str], str]) -> ReviewReason:
    """The note a refusal carries on a pack with alarming classes: the calm and the alarming
    classes (names and English labels), and nothing of the refused image's own numbers."""
    calm = [n for n in names if n not in alarming]
    return ReviewReason(NOT_REASSURANCE, {"classes": list(alarming), "labels": [label(n) for n in alarming],
                                          "calm_classes": calm, "calm_labels": [label(n) for n in calm]})


def _label_list(classes: list[str], labels: list[str], lang: Language) -> str:
    """Class labels in this language, each quoted: "‘A’", "‘A’ or ‘B’", "‘A’, ‘B’ or ‘C’"."""
    words = [say("quoted", lang, text=lang.pack_word("class", n, lbl)) for n, lbl in zip(classes or labels, labels)]
    if len(words) < 2:
        return "".join(words)
    return say("list_last", lang, head=", ".join(words[:-1]), last=words[-1])


def guard_detector_text(detail: str, lang: Language = ENGLISH) -> str:
    """A guard reason ("name: words (2.1× its threshold)") as its words alone, by detector name;
    the ratio is an internal score, shown only among details."""
    name = detail.split(":", 1)[0].strip()
    code = "guard_" + name
    return say(code, lang) if code in TEMPLATES else detail


def subject_words(v: Verdict, lang: Language = ENGLISH) -> str:
    return lang.pack_word("subject", "", v.subject or "image this pack knows")


def verdict_words(v: Verdict, lang: Language = ENGLISH) -> str:
    """The class's verdict words, without the review suffix ('' when refused)."""
    if v.refused or v.label is None:
        return ""
    return lang.pack_word("verdict", v.label, v.words or v.label)


def headline(v: Verdict, lang: Language = ENGLISH) -> str:
    """The verdict as one line: "Seal looks intact", "… — review", "Refused: not a seal photo"."""
    if v.refused:
        code = v.refusal.code if v.refusal is not None else "out_of_domain"
        if code in ("blank_image", "noise_image"):
            return say("refused_" + code, lang)
        return say("refused", lang, subject=subject_words(v, lang))
    words = verdict_words(v, lang)
    return say("review_suffix", lang, verdict=words) if v.outcome == REVIEW else words


def number_line(v: Verdict, lang: Language = ENGLISH) -> str:
    """The number that goes with the headline, saying what it is the probability of."""
    if v.refused:
        note = next((n for n in v.notes if n.code == NOT_REASSURANCE), None)
        return reason_text(note, lang) if note is not None else say("no_verdict", lang)
    if v.basis == "alarm" and v.score is not None and v.threshold is not None:
        risk = lang.pack_word("risk", "", v.risk_label) if v.risk_label else v.risk_label
        return say("alarm", lang, risk=risk, score=lang.pct(v.score), threshold=lang.pct(v.threshold))
    if v.basis == "profile" and v.score is not None and v.threshold is not None:
        judged = next((n for n in v.notes if n.code == "profile_judged"), None)
        name = judged.params.get("name", "") if judged is not None else ""
        return say("profile", lang, name=name, score=f"{float(v.score):.2f}", threshold=f"{float(v.threshold):.2f}")
    if v.basis == "match" and v.score is not None and v.threshold is not None:
        return say("match", lang, score=lang.pct(v.score), threshold=lang.pct(v.threshold))
    return say("confidence", lang, p=lang.pct(v.probability or 0.0))


def reasons_text(v: Verdict, lang: Language = ENGLISH) -> list[str]:
    """The review reasons in words (a refusal's own reason is said by the headline, not repeated)."""
    return [reason_text(r, lang) for r in v.reasons if not (v.refused and v.refusal and r.code == v.refusal.code)]


def notes_text(v: Verdict, lang: Language = ENGLISH) -> list[str]:
    """The verdict's notes in words: which seal profile judged it, or that the pack was trained on
    generated photos only (issue 25). (A refusal's "not reassurance" note is said by the number line.)"""
    return [reason_text(n, lang) for n in v.notes if n.code != NOT_REASSURANCE]


HEATMAP_BASES = ("fixed", "most_probable", "signature")


def heatmap_caption(class_label: str, lang: Language = ENGLISH, class_name: str = "",
                    verdict: Verdict | None = None, basis: str = "fixed", empty: bool = False) -> str:
    """What the heatmap shows: a seal profile's anomaly map when a profile judged ``verdict``;
    else the evidence for one class, by ``basis``: ``fixed`` (the pack's ``heatmap_class``, whatever
    the verdict), ``most_probable`` (each image's most probable class, which an alarm threshold can
    make differ from the verdict's), ``signature`` (the signature model's single-image class, not
    the comparison with the references). No class (its pack is not installed here): "Heatmap".
    ``empty``: the map is zero everywhere (a class activation map is clipped at zero, so the model
    found no evidence for the class anywhere in the image — e.g. skin-binary's malignant map on a
    clearly benign lesion); the caption says so, as a blank overlay alone reads like a fault."""
    if basis not in HEATMAP_BASES:
        raise ValueError(f"heatmap basis {basis!r} is not one of {HEATMAP_BASES}")
    judged = next((n for n in verdict.notes if n.code == "profile_judged"), None) if verdict is not None else None
    if judged is not None:
        return say("heatmap_profile", lang, name=judged.params.get("name", ""))
    if not (class_name or class_label):
        return say("heatmap_plain", lang)
    code = {"fixed": "heatmap_of", "most_probable": "heatmap_of_top", "signature": "heatmap_signature"}[basis]
    caption = say(code, lang, label=lang.pack_word("class", class_name or class_label, class_label or class_name))
    return say("heatmap_empty", lang, caption=caption) if empty else caption


def heatmap_is_empty(heat: Any) -> bool:
    """True when a heatmap (float or uint8 array) is zero everywhere: nothing to show for its class."""
    return heat is not None and getattr(heat, "size", 0) > 0 and float(heat.max()) <= 0.0


def summary(v: Verdict, lang: Language = ENGLISH) -> str:
    """Headline and number on one line (CSV ``verdict_text``, ``tilik log list``)."""
    return f"{headline(v, lang)} · {number_line(v, lang)}"


# -- the one parser of old English reasons (log rows before schema v3) ------------------------------
def _share(text: str) -> float:
    return float(text.rstrip("%").replace(",", ".")) / 100.0


_LEGACY: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], ReviewReason]], ...] = (
    (re.compile(r"^uncertain: score (?P<s>\S+) is inside the review band (?P<lo>[^–\s]+)–(?P<hi>\S+) "
                r"for (?P<n>\d+) references?$"),
     lambda m: ReviewReason("signature_band", {"score": _share(m["s"]), "low": _share(m["lo"]),
                                               "high": _share(m["hi"]), "n": int(m["n"])})),
    (re.compile(r"^uncertain: (?P<what>.+) probability (?P<p>\S+) is inside the review band "
                r"(?P<lo>[^–\s]+)–(?P<hi>\S+)$"),
     lambda m: ReviewReason("review_band", {"labels": [m["what"]], "p": _share(m["p"]),
                                            "low": _share(m["lo"]), "high": _share(m["hi"])})),
    (re.compile(r"^low confidence: (?P<c>\S+) is below (?P<m>\S+)$"),
     lambda m: ReviewReason("low_confidence", {"p": _share(m["c"]), "minimum": _share(m["m"])})),
    (re.compile(r"^input guard flagged the image \((?P<d>.*)\)$"),
     lambda m: ReviewReason("guard_flagged", {"detectors": [d.strip() for d in m["d"].split(",") if d.strip()]})),
    (re.compile(r"^only (?P<n>\d+) references?: use at least (?P<m>\d+)(?: \(validation EER (?P<e1>\S+) with \d+ "
                r"against (?P<e2>\S+) with \d+\))?$"),
     lambda m: ReviewReason("few_references", {"n": int(m["n"]), "minimum": int(m["m"]),
                                               "eer_n": _share(m["e1"]) if m["e1"] else None,
                                               "eer_min": _share(m["e2"]) if m["e2"] else None})),
    (re.compile(r"^the references disagree: per-reference scores range from (?P<lo>\S+) to (?P<hi>\S+)$"),
     lambda m: ReviewReason("references_disagree", {"low": _share(m["lo"]), "high": _share(m["hi"])})),
    (re.compile(r"^reference (?P<src>.+) does not match the other references \(agreement (?P<a>\S+)\): "
                r"check it is the customer's specimen$"),
     lambda m: ReviewReason("reference_outlier", {"source": m["src"], "agreement": _share(m["a"])})),
)
_LEGACY_FIXED = {TEMPLATES[c]: c for c in ("out_of_domain", "blank_image", "noise_image")}


def legacy_reason(text: str) -> ReviewReason:
    """An English reason sentence from an old log row, as a code; unknown text is kept as ``text``."""
    if text in _LEGACY_FIXED:
        return ReviewReason(_LEGACY_FIXED[text])
    for pattern, build in _LEGACY:
        m = pattern.match(text)
        if m:
            try:
                return build(m)
            except ValueError:
                break
    return ReviewReason("text", {"text": text})


def reason_params_plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (numpy numbers made plain), for storing."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if hasattr(v, "item"):
            v = v.item()
        elif isinstance(v, (list, tuple)):
            v = [x.item() if hasattr(x, "item") else x for x in v]
        out[k] = v
    return out


__all__ = ["ENGLISH", "Language", "NOT_REASSURANCE", "SUBJECTS", "TEMPLATES", "english_pct", "headline", "heatmap_caption",
           "heatmap_is_empty",
           "legacy_reason", "notes_text", "number_line", "reason_text", "reasons_text", "refusal_note", "say", "subject_words", "summary",
           "verdict_words", "REFUSED"]
