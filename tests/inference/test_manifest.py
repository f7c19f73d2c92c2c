"""Manifest validation: every required field, wrong types, unknown schema versions, cross-field rules."""

from __future__ import annotations

import copy
import json

import pytest

from inference.errors import ManifestError
from inference.manifest import SCHEMA, load_manifest, validate_manifest
from tiny_models import build_colour_model, colour_manifest


@pytest.fixture(scope="module")
def good() -> dict:
    return colour_manifest(build_colour_model())


def test_valid_manifest_gives_typed_fields(good):
    m = validate_manifest(good)
    assert m.id == "colour"
    assert m.class_names == ("red", "green", "blue")
    assert (m.input.height, m.input.width, m.input.channels) == (32, 32, 3)
    assert m.decision.alarming == ("red",)
    assert m.decision.heatmap_class is None  # default: the predicted class's map
    assert m.decision.review_band == (0.4, 0.6)
    assert m.ood is None
    assert m.class_label("green") == "Green"


@pytest.mark.parametrize("field", SCHEMA["required"])
def test_each_required_field_is_required(good, field):
    broken = copy.deepcopy(good)
    del broken[field]
    with pytest.raises(ManifestError, match=f"'{field}' is a required property"):
        validate_manifest(broken)


@pytest.mark.parametrize("field", ["name", "size", "layout", "color", "resize", "scale", "mean", "std"])
def test_each_required_input_field_is_required(good, field):
    broken = copy.deepcopy(good)
    del broken["input"][field]
    with pytest.raises(ManifestError, match=f"input.*'{field}' is a required property"):
        validate_manifest(broken)


@pytest.mark.parametrize(
    "path, value, words",
    [
        (("id",), 42, "is not of type 'string'"),
        (("id",), "Has Spaces", "does not match"),
        (("version",), "one", "does not match"),
        (("task",), "segment", "is not one of"),
        (("mode",), "kitchen", "is not one of"),
        (("model", "sha256"), "abc", "does not match"),
        (("model", "file"), "../escape.onnx", "does not match"),
        (("input", "size"), [224], "is too short"),
        (("input", "size"), ["224", 224], "is not of type 'integer'"),
        (("input", "layout"), "HWC", "is not one of"),
        (("input", "scale"), 0, "less than or equal to the minimum"),
        (("input", "std"), [0.0, 1.0, 1.0], "less than or equal to the minimum"),
        (("classes",), [{"name": "only", "label": "Only"}], "is too short"),
        (("classes",), "red,green", "is not of type 'array'"),
        (("decision", "review_band"), [0.2], "is too short"),
        (("decision", "alarm_threshold"), 1.5, "greater than the maximum"),
        (("outputs",), {"cam": "cam"}, "'probs' is a required property"),
        (("schema_version",), "1", "is not of type 'integer'"),
    ],
)
def test_wrong_types_and_values_are_refused(good, path, value, words):
    broken = copy.deepcopy(good)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ManifestError) as info:
        validate_manifest(broken)
    assert words in str(info.value)


def test_unknown_schema_version_is_refused_with_advice(good):
    newer = dict(good, schema_version=7)
    with pytest.raises(ManifestError, match="schema version 7.*Update Tilik"):
        validate_manifest(newer)


def test_cross_field_rules(good):
    for mutate, words in [
        (lambda m: m["decision"].update(alarming=["purple"]), "'purple' is not one of the classes"),
        (lambda m: m["decision"].update(review_band=[0.7, 0.3]), "low is above high"),
        (lambda m: m["decision"].update(heatmap_class="teal"), "heatmap_class: 'teal' is not one of the classes"),
        (lambda m: m["classes"].append({"name": "red", "label": "Again"}), "must be unique"),
        (lambda m: m["input"].update(mean=[0.1, 0.2]), "expected 1 or 3 values"),
        (lambda m: m.update(ood={"score": "output", "threshold": 1.0}), "needs outputs.ood_score"),
        (lambda m: (m["outputs"].pop("logits"), m.update(ood={"score": "energy", "threshold": 1.0})), "needs outputs.logits"),
    ]:
        broken = copy.deepcopy(good)
        mutate(broken)
        with pytest.raises(ManifestError, match=words):
            validate_manifest(broken)


def test_not_an_object_and_bad_json(tmp_path):
    with pytest.raises(ManifestError, match="not a JSON object"):
        validate_manifest([1, 2])
    path = tmp_path / "manifest.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="no manifest.json"):
        load_manifest(tmp_path / "missing" / "manifest.json")


def test_manifest_round_trips_through_json(tmp_path, good):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    assert load_manifest(path).raw == good
