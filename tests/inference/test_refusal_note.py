"""A refused photo must not read as reassurance: on a pack with alarming classes a refusal carries
the note ``refused_not_reassurance`` (the calm and the alarming classes, none of the refused image's
numbers), and its number line says so in place of "no verdict"; a pack without alarming classes, and
a record logged before the note existed, read as before."""

from __future__ import annotations

import json

import numpy as np

from inference.inspector import Inspector
from inference.log import InspectionLog
from inference.registry import check_pack
from inference.results import REFUSED, ReviewReason, Verdict
from inference.wording import NOT_REASSURANCE, TEMPLATES, Language, notes_text, number_line, reason_text, summary
from tiny_models import build_colour_model, colour_manifest, shade, write_pack

NOTE_EN = ("Not judged — this is not a ‘Green’ or ‘Blue’ result and does not rule out ‘Red’: retake the photo; "
           "if it is refused again, have it looked at by a person.")


def _inspector(tmp_path, **overrides) -> Inspector:
    model = build_colour_model()
    manifest = colour_manifest(model, pack_id="colour", mode="skin", ood={"score": "max_softmax", "threshold": 0.5})
    manifest.update(overrides)
    return Inspector(check_pack(write_pack(tmp_path / "colour", model, manifest=manifest)))


def _grey_red_blue() -> np.ndarray:
    img = np.zeros((40, 40, 3), np.uint8)
    img[..., 0], img[..., 2] = 128, 128
    return shade(img)  # no class above 50%: out of domain by max-softmax


def test_a_refusal_on_a_pack_with_an_alarming_class_carries_the_note(tmp_path):
    r = _inspector(tmp_path).classify(_grey_red_blue())
    assert r.outcome == REFUSED and r.decision.refusal.code == "out_of_domain"
    notes = [n for n in r.decision.notes if n.code == NOT_REASSURANCE]
    assert len(notes) == 1
    # the classes only: nothing of the refused image's (untrusted) probabilities
    assert notes[0].params == {"classes": ["red"], "labels": ["Red"], "calm_classes": ["green", "blue"],
                               "calm_labels": ["Green", "Blue"]}
    assert number_line(r.decision) == NOTE_EN
    assert summary(r.decision) == "Refused: not a skin-lesion photo · " + NOTE_EN
    assert notes_text(r.decision) == []  # said once, by the number line
    doc = json.loads(json.dumps(r.to_json_dict()))
    assert [n["code"] for n in doc["decision"]["notes"]] == [NOT_REASSURANCE]


def test_the_note_is_the_same_whatever_the_refused_image_scored(tmp_path):
    inspector = _inspector(tmp_path)
    grey = shade(np.full((40, 40, 3), 90, np.uint8))  # all three classes alike: red at 1/3, not 1/2
    a, b = inspector.classify(_grey_red_blue()), inspector.classify(grey)
    assert a.refused and b.refused and a.probabilities["red"] - b.probabilities["red"] > 0.1
    assert a.decision.notes == b.decision.notes and number_line(a.decision) == number_line(b.decision)


def test_a_blank_frame_on_such_a_pack_is_not_reassurance_either(tmp_path):
    r = _inspector(tmp_path).classify(np.full((30, 30, 3), 90, np.uint8))
    assert r.decision.refusal == ReviewReason("blank_image")
    assert number_line(r.decision) == NOTE_EN


def test_a_pack_without_alarming_classes_refuses_as_before(tmp_path):
    r = _inspector(tmp_path, mode="general",
                   decision={"alarming": [], "min_confidence": 0.5, "top_k": 3}).classify(
        _grey_red_blue())
    assert r.refused and not any(n.code == NOT_REASSURANCE for n in r.decision.notes)
    assert number_line(r.decision) == TEMPLATES["no_verdict"]


def test_decided_results_carry_no_such_note(tmp_path):
    img = np.zeros((40, 40, 3), np.uint8)
    img[..., 0] = 220
    r = _inspector(tmp_path).classify(shade(img))
    assert not r.refused and not any(n.code == NOT_REASSURANCE for n in r.decision.notes)


def test_an_old_refused_record_reads_as_before():
    old = Verdict(REFUSED, None, None, None, reasons=(ReviewReason("out_of_domain"),),
                  refusal=ReviewReason("out_of_domain"), subject="skin-lesion photo")
    assert number_line(old) == "No verdict is given for this image."
    assert number_line(Verdict.from_dict(json.loads(json.dumps(old.as_dict())))) == TEMPLATES["no_verdict"]


def test_the_note_survives_the_log_without_a_new_migration(tmp_path):
    r = _inspector(tmp_path).classify(_grey_red_blue())
    db = tmp_path / "log.sqlite3"
    with InspectionLog.open(db) as log:
        rec = log.record_result(r, mode="skin")
    with InspectionLog.open(db, read_only=True) as log:
        stored = log.get(rec.id)
        assert log.verify_chain().ok
    assert stored.refused and stored.decision.notes == r.decision.notes
    assert number_line(stored.decision) == NOTE_EN


def test_labels_come_in_the_language_asked_and_one_class_reads_alone():
    id_words = {"red": "Merah", "green": "Hijau", "blue": "Biru"}
    lang = Language(template=lambda code: {"refused_not_reassurance": "bukan {calm}; {alarm}", "quoted": "«{text}»",
                                           "list_last": "{head} atau {last}"}.get(code) or TEMPLATES[code],
                    pack_word=lambda kind, key, english: id_words.get(key, english))
    note = ReviewReason(NOT_REASSURANCE, {"classes": ["red"], "labels": ["Red"], "calm_classes": ["green", "blue"],
                                          "calm_labels": ["Green", "Blue"]})
    assert reason_text(note, lang) == "bukan «Hijau» atau «Biru»; «Merah»"
    three = ReviewReason(NOT_REASSURANCE, {"classes": ["a", "b", "c"], "labels": ["A", "B", "C"],
                                           "calm_classes": ["d"], "calm_labels": ["D"]})
    assert reason_text(three).startswith("Not judged — this is not a ‘D’ result and does not rule out ‘A’, ‘B’ or ‘C’:")
