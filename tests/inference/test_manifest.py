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


# -- hostile manifests (issue 22 items 3 and 6): each one refused in words, nothing crashes ---------
def _text_with(good: dict, marker: str) -> bytes:
    """``good`` as JSON with ``"__X__"`` (placed by the caller) replaced by raw JSON text."""
    return json.dumps(good).replace('"__X__"', marker).encode()


@pytest.mark.parametrize("raw, words", [
    ("NaN", "contains NaN"),
    ("-Infinity", "contains -Infinity"),
    ("Infinity", "contains Infinity"),
    ("1e999", "too large or too long"),
    ("9" * 5000, "5000-digit integer"),
    ("-" + "9" * 5000, "5000-digit integer"),
])
def test_nan_infinity_and_huge_numbers_are_refused_before_validation(tmp_path, good, raw, words):
    data = copy.deepcopy(good)
    data["decision"]["alarm_threshold"] = "__X__"  # NaN here passed min/max and silenced every alarm
    path = tmp_path / "manifest.json"
    path.write_bytes(_text_with(data, raw))
    with pytest.raises(ManifestError, match=words):
        load_manifest(path)


def test_non_finite_numbers_are_refused_in_untyped_blocks_too(good):
    for block in ("verify", "metrics", "training"):
        data = copy.deepcopy(good)
        data[block] = {"thresholds": {"standard": float("nan")}}
        with pytest.raises(ManifestError, match=rf"at {block}.thresholds.standard: NaN and Infinity"):
            validate_manifest(data)
    data = copy.deepcopy(good)
    data["decision"]["review_band"] = [0.2, float("inf")]
    with pytest.raises(ManifestError, match="decision.review_band.1"):
        validate_manifest(data)


@pytest.mark.parametrize("where, value", [
    (("input", "size"), [32.0, 32.0]),       # validated, then crashed at classify
    (("decision", "top_k"), 3.0),
    (("runtime",), {"max_batch": 8.0}),
    (("schema_version",), 1.0),
    (("input", "size"), [True, 32]),
])
def test_integers_must_be_integers(good, where, value):
    data = copy.deepcopy(good)
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(ManifestError, match="is not of type 'integer'"):
        validate_manifest(data)


def test_deep_nesting_is_refused_before_the_parser_sees_it(tmp_path, good):
    path = tmp_path / "manifest.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)  # crashed `tilik packs` with RecursionError
    with pytest.raises(ManifestError, match="nests more than 32 levels"):
        load_manifest(path)
    data = copy.deepcopy(good)
    data["metrics"] = "__X__"
    path.write_bytes(_text_with(data, '{"a":' * 40 + "1" + "}" * 40))
    with pytest.raises(ManifestError, match="nests more than"):
        load_manifest(path)
    # brackets inside strings are text, not nesting; moderate nesting is fine
    data["metrics"] = {"note": "[[[[{{{{" * 100, "deep": json.loads('{"a":' * 20 + "1" + "}" * 20)}
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_manifest(path).metrics["note"].startswith("[[[[")


def test_oversized_and_non_regular_manifests_are_not_read(tmp_path, good):
    import os

    from inference.packfiles import MANIFEST_MAX_BYTES

    big = tmp_path / "big" / "manifest.json"
    big.parent.mkdir()
    data = copy.deepcopy(good)
    data["limitations"] = "x" * MANIFEST_MAX_BYTES
    big.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ManifestError, match="larger than the"):
        load_manifest(big)
    fifo = tmp_path / "fifo" / "manifest.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # opening a FIFO for reading would wait for a writer forever
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest(fifo)
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest(tmp_path)  # a folder
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(binary)


def test_manifest_sha256_is_the_hash_of_the_bytes_read(tmp_path, good):
    import hashlib

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(good, indent=1), encoding="utf-8")
    assert load_manifest(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(json.dumps(good), encoding="utf-8")  # same content, other bytes: another manifest
    assert load_manifest(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert validate_manifest(good).sha256 == ""


@pytest.mark.parametrize("card, words", [
    ("/etc/passwd", "not an absolute path"),
    ("/dev/zero", "not an absolute path"),
    ("../other-pack/CARD.md", "with '..'"),
    ("docs/../../x.md", "with '..'"),
    ("C:\\Windows\\win.ini", "plain relative path"),
    ("", "file name inside the pack"),
])
def test_card_must_name_a_file_inside_the_pack(good, card, words):
    with pytest.raises(ManifestError, match=f"at card: .*{words}"):
        validate_manifest(dict(good, card=card))
    assert validate_manifest(dict(good, card="docs/CARD.md")).raw["card"] == "docs/CARD.md"


def test_external_data_is_typed(good):
    data = copy.deepcopy(good)
    data["model"]["external_data"] = [{"file": "model.onnx.data", "sha256": "a" * 64}]
    m = validate_manifest(data)
    assert m.model.external_data[0].file == "model.onnx.data" and m.model.external_data[0].sha256 == "a" * 64
    for bad in ([{"file": "../x.data", "sha256": "a" * 64}], [{"file": "x.data"}], "x.data"):
        data["model"]["external_data"] = bad
        with pytest.raises(ManifestError, match="model.external_data"):
            validate_manifest(data)
