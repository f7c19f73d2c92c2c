"""The one verdict model (issue 20): decided / needs review (leaning class) / refused (no class),
reason codes with parameters, numbers that say what they are the probability of, and the one
parser of old English reasons."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.inspector import Inspector
from inference.registry import check_pack
from inference.results import DECIDED, REFUSED, REVIEW, ReviewReason, Verdict
from inference.wording import TEMPLATES, headline, legacy_reason, number_line, reason_text
from tiny_models import build_colour_model, colour_manifest, shade, write_pack


def _inspector(tmp_path, **overrides) -> Inspector:
    model = build_colour_model()
    manifest = colour_manifest(model, pack_id="colour")
    manifest.update(overrides)
    return Inspector(check_pack(write_pack(tmp_path / "colour", model, manifest=manifest)))


def _mix(red: int, blue: int) -> np.ndarray:
    img = np.zeros((40, 40, 3), np.uint8)
    img[..., 0], img[..., 2] = red, blue
    return shade(img)


def test_out_of_domain_is_refused_with_no_class(tmp_path):
    inspector = _inspector(tmp_path, mode="skin", ood={"score": "max_softmax", "threshold": 0.5})
    r = inspector.classify(_mix(128, 128))  # no class above 50%: out of domain by max-softmax
    assert r.out_of_domain and r.outcome == REFUSED and r.refused
    assert r.label is None and r.confidence is None and r.display_label == "" and not r.alarming
    assert r.decision.refusal.code == "out_of_domain" and r.decision.refusal.params["threshold"] == 0.5
    assert r.verdict == "Refused: not a skin-lesion photo"
    doc = json.loads(json.dumps(r.to_json_dict()))
    assert doc["label"] is None and doc["confidence"] is None and doc["outcome"] == "refused"
    assert doc["decision"]["refusal"]["code"] == "out_of_domain"
    # The model's output stays visible as data, never as the verdict.
    assert set(doc["probabilities"]) == {"red", "green", "blue"}


def test_a_blank_frame_is_refused_as_blank(tmp_path):
    r = _inspector(tmp_path).classify(np.full((30, 30, 3), 90, np.uint8))
    assert r.outcome == REFUSED and r.decision.refusal == ReviewReason("blank_image")
    assert r.verdict == "Refused: the image is blank"


def test_pack_words_name_the_subject(tmp_path):
    r = _inspector(tmp_path, words={"subject": "colour chart"}).classify(np.zeros((30, 30, 3), np.uint8) + 7)
    v = Verdict(REFUSED, None, None, None, refusal=ReviewReason("out_of_domain"), subject="colour chart")
    assert headline(v) == "Refused: not a colour chart"
    assert r.decision.subject == "colour chart"


def test_decided_and_review_name_a_class_with_its_probability(tmp_path):
    inspector = _inspector(tmp_path)  # alarming red, review band [0.4, 0.6), min confidence 0.5
    clear = inspector.classify(_mix(255, 0))
    assert clear.outcome == DECIDED and clear.decision.label == "red"
    assert clear.decision.probability == pytest.approx(clear.probabilities["red"])
    assert number_line(clear.decision).startswith("Confidence ")
    unsure = inspector.classify(_mix(128, 128))
    assert unsure.outcome == REVIEW and unsure.label is not None  # the class it leans to
    codes = [x.code for x in unsure.decision.reasons]
    assert "review_band" in codes
    band = next(x for x in unsure.decision.reasons if x.code == "review_band")
    assert band.params["classes"] == ["red"] and band.params["labels"] == ["Red"]
    assert unsure.verdict == headline(unsure.decision) and unsure.verdict.endswith(" — review")


def test_alarm_threshold_decision_says_risk_and_threshold(tmp_path):
    decision = {"alarming": ["red"], "alarm_threshold": 0.2, "top_k": 2}
    r = _inspector(tmp_path, decision=decision, words={"risk": "Red risk"}).classify(_mix(200, 220))
    assert r.label == "red" and r.probabilities["blue"] > r.probabilities["red"]
    # The number is the probability of the class named, and the line says it is an alarm decision.
    assert r.confidence == pytest.approx(r.probabilities["red"])
    pct = f"{100 * r.probabilities['red']:.1f}%"
    assert number_line(r.decision) == f"Red risk {pct} — alarm at 20.0%"
    calm = _inspector(tmp_path / "b", decision=decision).classify(_mix(0, 255))
    assert calm.label == "blue" and number_line(calm.decision).startswith("Risk (Red) ")


REASONS = [
    ReviewReason("review_band", {"classes": ["damaged"], "labels": ["Damaged / tampered"], "p": 0.405,
                                 "low": 0.139, "high": 0.539}),
    ReviewReason("low_confidence", {"p": 0.312, "minimum": 0.35}),
    ReviewReason("out_of_domain"),
    ReviewReason("blank_image"),
    ReviewReason("noise_image"),
    ReviewReason("guard_flagged", {"detectors": ["noise_floor", "ae_error"]}),
    ReviewReason("signature_band", {"score": 0.512, "low": 0.4, "high": 0.6, "n": 3}),
    ReviewReason("few_references", {"n": 1, "minimum": 3, "eer_n": None, "eer_min": None}),
    ReviewReason("few_references", {"n": 2, "minimum": 3, "eer_n": 0.112, "eer_min": 0.066}),
    ReviewReason("references_disagree", {"low": 0.1, "high": 0.9}),
    ReviewReason("reference_outlier", {"source": "ref 2.png", "agreement": 0.123}),
]


@pytest.mark.parametrize("reason", REASONS, ids=lambda r: r.code)
def test_legacy_english_reads_back_as_the_same_code(reason):
    text = reason_text(reason)
    parsed = legacy_reason(text)
    assert parsed.code == reason.code
    assert reason_text(parsed) == text
    for key, value in reason.params.items():
        if key in ("classes",):
            continue
        if isinstance(value, float):
            assert parsed.params[key] == pytest.approx(value, abs=5e-4)
        else:
            assert parsed.params[key] == value


def test_unknown_old_text_is_kept_verbatim():
    r = legacy_reason("something a 2025 build said")
    assert r == ReviewReason("text", {"text": "something a 2025 build said"}) and reason_text(r) == r.params["text"]


def test_verdict_round_trips_through_json():
    v = Verdict(REVIEW, "damaged", "Seal looks damaged", 0.405, reasons=tuple(REASONS[:2]), basis="alarm",
                score=0.405, threshold=0.3377, risk_label="Damage risk", subject="seal photo")
    back = Verdict.from_dict(json.loads(json.dumps(v.as_dict())))
    assert back == Verdict(REVIEW, "damaged", "Seal looks damaged", 0.405, reasons=tuple(REASONS[:2]), basis="alarm",
                           score=0.405, threshold=0.3377, risk_label="Damage risk", subject="seal photo")
    assert number_line(back) == "Damage risk 40.5% — alarm at 33.8%"
    with pytest.raises(ValueError):
        Verdict.from_dict({"outcome": "maybe"})


def test_every_code_has_english_text():
    for r in REASONS:
        assert r.code in TEMPLATES


def test_common_errors_carry_a_code_whose_english_is_the_message(tmp_path):
    from inference.errors import ImageReadError
    from inference.imageio import load_image
    from inference.wording import error_text

    cases = {"empty.png": b"", "text.png": b"this is not a picture"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageReadError) as info:
            load_image(path)
        err = info.value
        assert err.code in ("image_empty", "image_unknown_format")
        assert str(err) == error_text(err.code, **err.params)
