"""``ood.alarm_threshold`` (issue 24): a refusal gives no verdict, so on a pack with alarming classes
it silences an alarm. The manifest may give the images the decision sends to an alarming class their
own, never stricter, out-of-domain threshold; calm decisions keep ``ood.threshold``, and a manifest
without the key refuses exactly as before."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from inference.errors import ManifestError
from inference.inspector import Inspector
from inference.manifest import validate_manifest
from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, shade, write_pack


def _image(r: int, g: int) -> np.ndarray:
    img = np.zeros((40, 40, 3), np.uint8)
    img[..., 0], img[..., 1] = r, g
    return shade(img)


REDDISH, GREENISH = _image(128, 100), _image(100, 128)  # max probability 0.75: max-softmax score 0.25


def _inspector(tmp_path, ood: dict) -> Inspector:
    model = build_colour_model()
    manifest = colour_manifest(model, pack_id="colour", mode="skin", ood=ood)
    return Inspector(check_pack(write_pack(tmp_path / "colour", model, manifest=manifest)))


def test_an_alarming_decision_is_judged_by_the_alarm_threshold(tmp_path):
    inspector = _inspector(tmp_path, {"score": "max_softmax", "threshold": 0.2, "alarm_threshold": 0.3})
    red, green = inspector.classify(REDDISH), inspector.classify(GREENISH)
    assert red.ood_score == pytest.approx(green.ood_score, abs=1e-6) and 0.2 < red.ood_score < 0.3
    # the same score: the alarm (red) is kept, the calm answer (green) is refused as before
    assert not red.refused and red.label == "red" and red.alarming
    assert green.refused and green.decision.refusal.code == "out_of_domain"
    assert green.decision.refusal.params["threshold"] == pytest.approx(0.2)


def test_without_the_key_both_are_refused_as_before(tmp_path):
    inspector = _inspector(tmp_path, {"score": "max_softmax", "threshold": 0.2})
    assert inspector.manifest.ood.alarm_threshold is None
    for img in (REDDISH, GREENISH):
        r = inspector.classify(img)
        assert r.refused and r.decision.refusal.params["threshold"] == pytest.approx(0.2)


def test_an_alarm_above_its_own_threshold_is_still_refused(tmp_path):
    inspector = _inspector(tmp_path, {"score": "max_softmax", "threshold": 0.2, "alarm_threshold": 0.22})
    r = inspector.classify(REDDISH)
    assert r.refused and r.decision.refusal.params["threshold"] == pytest.approx(0.22)


def test_the_manifest_types_and_checks_the_key():
    good = colour_manifest(build_colour_model(), ood={"score": "max_softmax", "threshold": 0.2, "alarm_threshold": 0.3})
    m = validate_manifest(good)
    assert m.ood.alarm_threshold == 0.3
    assert m.ood.threshold_for(True) == 0.3 and m.ood.threshold_for(False) == 0.2
    below = copy.deepcopy(good)
    below["ood"]["alarm_threshold"] = 0.1
    with pytest.raises(ManifestError, match="ood.alarm_threshold"):
        validate_manifest(below)
    calm_only = copy.deepcopy(good)
    calm_only["decision"]["alarming"] = []
    with pytest.raises(ManifestError, match="ood.alarm_threshold: the pack has no alarming classes"):
        validate_manifest(calm_only)
    wrong_type = copy.deepcopy(good)
    wrong_type["ood"]["alarm_threshold"] = "high"
    with pytest.raises(ManifestError):
        validate_manifest(wrong_type)
