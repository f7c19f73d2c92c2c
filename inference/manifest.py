"""Model-pack manifests: the JSON schema, validation, and typed access.

A pack is described, not coded: everything the core needs to preprocess, run and interpret a
model lives in ``manifest.json``. This module validates a manifest against :data:`SCHEMA`
(jsonschema, draft 2020-12) and turns it into frozen dataclasses.

A manifest may come from anyone (a user pack), so it is parsed defensively: at most
:data:`~inference.packfiles.MANIFEST_MAX_BYTES` are read, the nesting depth is counted before the
JSON parser sees the text, NaN/Infinity and absurdly long numbers are refused, and "integer" means
an integer (``32.0`` is not one). The SHA-256 of the exact bytes parsed is kept
(:attr:`Manifest.sha256`) so a result can name the manifest that produced it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from inference.errors import ManifestError
from inference.packfiles import MANIFEST_MAX_BYTES, card_problem, read_limited
from inference.safejson import parse_json_bytes

MAX_DEPTH = 32        # the bundled manifests nest 6 deep
MAX_NUMBER_CHARS = 40  # a float64 needs at most ~25 characters; Python refuses ints over 4,300 digits

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)

_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_FILE_NAME = {"type": "string", "minLength": 1, "pattern": r"^[^/\\:\x00]+$"}
_FILE_REF = {
    "type": "object",
    "required": ["file", "sha256"],
    "properties": {
        "file": _FILE_NAME,
        "sha256": _SHA256,
        # An ONNX model's external-data files: each one the model refers to must be listed (and is
        # hashed and handed to onnxruntime from memory); a reference to an unlisted file fails.
        "external_data": {"type": "array", "items": {
            "type": "object", "required": ["file", "sha256"],
            "properties": {"file": _FILE_NAME, "sha256": _SHA256}, "additionalProperties": False}},
    },
    "additionalProperties": True,
}
DETECTORS = ("reconstruction", "divergence", "squeeze", "noise")
REFORMERS = ("autoencoder", "jpeg", "purifier")
SQUEEZERS = ("bits", "median")
# What a guard's screen measures: the autoencoder's reconstruction error, or the mean absolute
# difference between the image and its median-filtered copy (no model; inference.guard).
SCREEN_SCORES = ("reconstruction", "median_residual")

# JSON schema of the manifest's ``guard`` block (typed by inference.guard.parse_guard).
_DETECTOR = {
    "type": "object",
    "required": ["threshold", "false_alarm_rate"],
    "properties": {
        "threshold": {"type": "number"},
        "false_alarm_rate": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "additionalProperties": True,
}
GUARD_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["autoencoder", "detectors"],
    "properties": {
        "autoencoder": {"type": "string", "minLength": 1,
                        "description": "role in extra_files of the autoencoder ONNX file"},
        "autoencoder_input": {"type": "string"},
        "autoencoder_output": {"type": "string"},
        "detectors": {
            "type": "object",
            "minProperties": 1,
            "properties": {
                "reconstruction": {**_DETECTOR, "properties": {
                    **_DETECTOR["properties"], "norm": {"enum": ["l1", "l2"]},
                    "aggregate": {"enum": ["mean", "patch_min"]},
                    "patch": {"type": "integer", "minimum": 1, "maximum": 256}}},
                "divergence": {**_DETECTOR, "properties": {
                    **_DETECTOR["properties"], "temperature": {"type": "number", "exclusiveMinimum": 0}}},
                "squeeze": {**_DETECTOR, "properties": {
                    **_DETECTOR["properties"],
                    "squeezers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["kind"],
                        "properties": {"kind": {"enum": list(SQUEEZERS)},
                                       "bits": {"type": "integer", "minimum": 1, "maximum": 7},
                                       "size": {"type": "integer", "minimum": 3, "maximum": 7}},
                        "additionalProperties": False}}}},
                "noise": {**_DETECTOR, "properties": {
                    **_DETECTOR["properties"], "patch": {"type": "integer", "minimum": 2, "maximum": 256}}},
            },
            "additionalProperties": False,
        },
        "false_alarm_rate": {"type": "number", "minimum": 0, "maximum": 1,
                             "description": "measured share of clean validation images flagged by any detector"},
        "reform": {"type": "boolean"},
        "reformer": {"type": "object", "required": ["kind"],
                     "properties": {"kind": {"enum": list(REFORMERS)},
                                    "quality": {"type": "integer", "minimum": 5, "maximum": 95},
                                    "model": {"type": "string", "minLength": 1,
                                              "description": "purifier: role in extra_files of its ONNX file"},
                                    "input": {"type": "string"}, "output": {"type": "string"},
                                    "jpeg_quality": {"type": "integer", "minimum": 5, "maximum": 95,
                                                     "description": "purifier: JPEG re-compression first"},
                                    "mirror": {"type": "boolean",
                                               "description": "mirror the image left-right before cleaning it"}},
                     "additionalProperties": False,
                     "description": "what the flagged image is cleaned with before it is classified again "
                                    "(default: the autoencoder's reconstruction)"},
        "screen": {"type": ["object", "null"], "required": ["threshold"],
                   "properties": {"threshold": {"type": "number"},
                                  "score": {"enum": list(SCREEN_SCORES),
                                            "description": "what the threshold applies to (default reconstruction)"},
                                  "size": {"type": "integer", "minimum": 3, "maximum": 7,
                                           "description": "median_residual: the median filter's size"},
                                  "aggregate": {"enum": ["mean", "patch_min"],
                                                "description": "median_residual: over the image, or its floor over tiles"},
                                  "patch": {"type": "integer", "minimum": 2, "maximum": 256},
                                  "clean_pass_rate": {"type": "number", "minimum": 0, "maximum": 1},
                                  "calibration": {"type": "object"}}},
    },
    "additionalProperties": True,
}


_NUM3 = {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tilik model pack manifest",
    "type": "object",
    "required": [
        "schema_version", "id", "name", "version", "task", "mode", "model", "input",
        "outputs", "classes", "decision", "metrics", "data", "intended_use", "limitations",
    ],
    "properties": {
        "schema_version": {"type": "integer"},
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"},
        "task": {"enum": ["classify", "verify"]},
        "mode": {"enum": ["seal", "signature", "skin", "general"]},
        "model": _FILE_REF,
        "extra_files": {"type": "object", "additionalProperties": _FILE_REF},
        "input": {
            "type": "object",
            "required": ["name", "size", "layout", "color", "resize", "scale", "mean", "std"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "size": {
                    "type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 4096},
                    "minItems": 2, "maxItems": 2,
                    "description": "[height, width] the model expects",
                },
                "layout": {"enum": ["NHWC", "NCHW"]},
                "color": {"enum": ["RGB", "BGR", "GRAY"]},
                "resize": {"enum": ["stretch", "letterbox", "center_crop"]},
                "crop_fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "pad_value": {"type": "integer", "minimum": 0, "maximum": 255},
                "interpolation": {"enum": ["bilinear", "area", "bicubic", "nearest"]},
                "scale": {"type": "number", "exclusiveMinimum": 0},
                "mean": _NUM3,
                "std": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0},
                        "minItems": 1, "maxItems": 3},
                "dtype": {"enum": ["float32"]},
            },
            "additionalProperties": False,
        },
        "outputs": {
            "type": "object",
            "required": ["probs"],
            "properties": {
                "probs": {"type": "string"},
                "logits": {"type": "string"},
                "cam": {"type": "string"},
                "embedding": {"type": "string"},
                "ood_score": {"type": "string"},
                # Backbone patch features (N×H×W×C float32) for seal profiles (issue 25): made by
                # ``python -m training.pipeline.patch_features``; the Inspector checks the shape.
                "patch_features": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "classes": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["name", "label"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "label": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                },
                "additionalProperties": True,
            },
        },
        "decision": {
            "type": "object",
            "properties": {
                "alarming": {"type": "array", "items": {"type": "string"}},
                "alarm_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                "review_band": {
                    "type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                    "minItems": 2, "maxItems": 2,
                },
                "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "top_k": {"type": "integer", "minimum": 1},
                "verdict_words": {"type": "object", "additionalProperties": {"type": "string"}},
                "heatmap_class": {"type": "string",
                                  "description": "the class whose map the cam output shows for every image "
                                                 "(default: the predicted class)"},
            },
            "additionalProperties": True,
        },
        "ood": {
            "type": ["object", "null"],
            "required": ["score", "threshold"],
            "properties": {
                "score": {"enum": ["output", "energy", "max_softmax"]},
                "threshold": {"type": "number"},
                "alarm_threshold": {"type": "number",
                                    "description": "the threshold for images the decision sends to an alarming "
                                                   "class (default: threshold); never below threshold"},
                "temperature": {"type": "number", "exclusiveMinimum": 0},
                "in_domain_acceptance": {"type": "number"},
                "method": {"type": "string"},
            },
            "additionalProperties": True,
        },
        "guard": GUARD_SCHEMA,
        "verify": {"type": ["object", "null"]},
        "metrics": {"type": "object"},
        "data": {
            "type": "object",
            "required": ["source", "licence"],
            "properties": {
                "source": {"type": "string"},
                "licence": {"type": "string"},
                "split": {"type": "string"},
            },
            "additionalProperties": True,
        },
        # What the model was trained on (issue 25): "synthetic" (generated photos only) makes every
        # verdict say so and recommend a site profile or a retrain on the site's own photos.
        "training_data": {"enum": ["synthetic", "real", "mixed"]},
        "intended_use": {"type": "string"},
        "limitations": {"type": "string"},
        "card": {"type": "string"},
        "samples": {"type": "string"},
        "training": {"type": "object"},
        # How to run the model: max_batch caps the images per model run (a graph that runs its
        # backbone twice, e.g. on the photo and its mirror image, needs about twice the memory).
        # The pack's words a person reads, beyond class labels and verdict words (issue 20):
        # "subject" names what the pack looks at ("Refused: not a seal photo"), "risk" names the
        # alarming probability ("Damage risk 40% — alarm at 34%"), and "translations" holds the
        # pack's words per language: {"id": {"name", "subject", "risk", "classes": {class: label},
        # "verdict_words": {class: words}}}. All optional; English falls back to the fields above.
        "words": {
            "type": "object",
            "properties": {
                "subject": {"type": "string", "minLength": 1},
                "risk": {"type": "string", "minLength": 1},
                "translations": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"}, "subject": {"type": "string"},
                            "risk": {"type": "string"},
                            "classes": {"type": "object", "additionalProperties": {"type": "string"}},
                            "verdict_words": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
        "runtime": {"type": "object",
                    "properties": {"max_batch": {"type": "integer", "minimum": 1}},
                    "additionalProperties": True},
    },
    "additionalProperties": True,
}

def _is_integer(checker: Any, value: Any) -> bool:
    # jsonschema counts 32.0 as an integer; a size of 32.0 then crashes at classify.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(checker: Any, value: Any) -> bool:
    # NaN passes every minimum/maximum check (all comparisons are false): never a number here.
    return _is_integer(checker, value) or (isinstance(value, float) and math.isfinite(value))


_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
_StrictValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)
_VALIDATOR = _StrictValidator(SCHEMA)


@dataclass(frozen=True)
class FileRef:
    """An ONNX (or other) file of the pack with the SHA-256 it must have, and its external-data files."""

    file: str
    sha256: str
    external_data: tuple["FileRef", ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FileRef":
        return cls(data["file"], data["sha256"],
                   tuple(cls(e["file"], e["sha256"]) for e in data.get("external_data", ())))


@dataclass(frozen=True)
class InputSpec:
    """How to turn a decoded RGB image into the model's input tensor."""

    name: str
    height: int
    width: int
    layout: str
    color: str
    resize: str
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_fraction: float = 0.875
    pad_value: int = 0
    interpolation: str = "bilinear"

    @property
    def channels(self) -> int:
        return 1 if self.color == "GRAY" else 3


@dataclass(frozen=True)
class ClassInfo:
    """A class the model predicts: machine name and the words a person reads."""

    name: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class DecisionPolicy:
    """How probabilities become a verdict, and when a person must look.

    - ``alarming``: classes whose detection is the event of interest (damaged, malignant, forged).
    - ``alarm_threshold``: if the summed probability of the alarming classes reaches it, the verdict
      is the likeliest alarming class even when another class is more probable (a sensitivity
      operating point chosen on validation data).
    - ``review_band``: ``[low, high)`` on that alarming probability; inside it a person must review.
    - ``min_confidence``: a verdict less confident than this needs review.
    - ``heatmap_class``: the heatmap shows the evidence for this class whatever the verdict
      (None: for the predicted class).
    """

    alarming: tuple[str, ...] = ()
    alarm_threshold: float | None = None
    review_band: tuple[float, float] | None = None
    min_confidence: float | None = None
    top_k: int = 3
    verdict_words: Mapping[str, str] = field(default_factory=dict)
    heatmap_class: str | None = None


@dataclass(frozen=True)
class OodPolicy:
    """Out-of-domain scoring: which score, and above which value an input is refused.

    ``alarm_threshold`` (optional, at or above ``threshold``) applies to the images whose decision is
    an alarming class: a refusal gives no verdict, so on such a pack it silences an alarm, and rare
    alarming diagnoses sit further from the training images than the common calm ones (issue 24).
    """

    score: str
    threshold: float
    temperature: float = 1.0
    alarm_threshold: float | None = None

    def threshold_for(self, alarming: bool) -> float:
        """The threshold for an image whose decision is (``alarming``) or is not an alarming class."""
        return self.alarm_threshold if alarming and self.alarm_threshold is not None else self.threshold


@dataclass(frozen=True)
class Manifest:
    """A validated pack manifest. ``raw`` keeps the full JSON for fields later issues add."""

    schema_version: int
    id: str
    name: str
    version: str
    task: str
    mode: str
    model: FileRef
    extra_files: Mapping[str, FileRef]
    input: InputSpec
    outputs: Mapping[str, str]
    classes: tuple[ClassInfo, ...]
    decision: DecisionPolicy
    ood: OodPolicy | None
    metrics: Mapping[str, Any]
    data: Mapping[str, Any]
    intended_use: str
    limitations: str
    raw: Mapping[str, Any]
    sha256: str = ""  # of the manifest.json bytes this was parsed from ("" when built from a dict)
    training_data: str | None = None  # "synthetic" | "real" | "mixed" (None: not stated)

    # Cached: a 1000-class pack asks for them for every image (cached_property writes to the
    # instance __dict__ directly, which a frozen dataclass allows).
    @functools.cached_property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @functools.cached_property
    def _labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for c in self.classes:
            labels.setdefault(c.name, c.label)
        return labels

    def class_label(self, name: str) -> str:
        return self._labels.get(name, name)

    @property
    def words(self) -> Mapping[str, Any]:
        """The optional ``words`` block (subject, risk, translations); {} when absent."""
        return self.raw.get("words") or {}

    def translated(self, language: str, kind: str, key: str | None = None) -> str | None:
        """The pack's own word in ``language`` (kind: name, subject, risk, classes, verdict_words;
        ``key`` the class for the last two), or None when the pack does not give it."""
        block = (self.words.get("translations") or {}).get(language) or {}
        value = block.get(kind)
        if key is not None:
            value = (value or {}).get(key)
        return value if isinstance(value, str) and value else None


def _path_of(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _non_finite_at(data: Any) -> str | None:
    """Path of the first NaN/Infinity anywhere in ``data`` (blocks the schema leaves untyped too)."""
    try:  # the C encoder finds none in ~1 ms; the walk below only runs to name the place
        json.dumps(data, allow_nan=False)
        return None
    except (ValueError, TypeError, RecursionError):
        pass
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return where or "(top level)"
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}.{i}" if where else str(i)) for i, v in enumerate(value))
    return None


def _plain_class(item: Any) -> bool:
    """Exactly what SCHEMA says of one ``classes`` item, in plain Python."""
    return (isinstance(item, dict) and isinstance(item.get("name"), str) and len(item["name"]) >= 1
            and isinstance(item.get("label"), str) and len(item["label"]) >= 1
            and isinstance(item.get("description", ""), str))


def _with_few_classes(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a long ``classes`` list cut to its first two items when every item passes
    :func:`_plain_class`: jsonschema takes ~60 ms over 1,000 classes, this check ~1 ms, and any
    item that fails it keeps the full list, so jsonschema still names the problem."""
    classes = data.get("classes")
    if isinstance(classes, list) and len(classes) > 2 and all(_plain_class(c) for c in classes):
        return {**data, "classes": classes[:2]}
    return data


def validate_manifest(data: Any) -> Manifest:
    """Check ``data`` (parsed JSON) against the schema and cross-field rules; return a Manifest.

    Raises :class:`ManifestError` naming the first problem in plain words.
    """
    if not isinstance(data, dict):
        raise ManifestError("The manifest is not a JSON object.")
    where = _non_finite_at(data)
    if where is not None:
        raise ManifestError(f"The manifest is invalid at {where}: NaN and Infinity are not numbers a pack may use.")
    version = data.get("schema_version")
    if isinstance(version, int) and version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ManifestError(
            f"The manifest uses schema version {version}, but this Tilik understands only "
            f"version(s) {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}. Update Tilik or the pack."
        )
    errors = sorted(_VALIDATOR.iter_errors(_with_few_classes(data)), key=lambda e: (len(e.absolute_path), e.message))
    if errors:
        first = errors[0]
        raise ManifestError(
            f"The manifest is invalid at {_path_of(first)}: {first.message}",
            detail="\n".join(f"{_path_of(e)}: {e.message}" for e in errors),
        )

    inp = data["input"]
    channels = 1 if inp["color"] == "GRAY" else 3
    for key in ("mean", "std"):
        if len(inp[key]) not in (1, channels):
            raise ManifestError(
                f"The manifest is invalid at input.{key}: expected 1 or {channels} values "
                f"for colour '{inp['color']}', got {len(inp[key])}."
            )
    names = [c["name"] for c in data["classes"]]
    if len(set(names)) != len(names):
        raise ManifestError("The manifest is invalid at classes: class names must be unique.")
    dec = data["decision"]
    for name in dec.get("alarming", []):
        if name not in names:
            raise ManifestError(
                f"The manifest is invalid at decision.alarming: '{name}' is not one of the classes."
            )
    band = dec.get("review_band")
    if band is not None and band[0] > band[1]:
        raise ManifestError("The manifest is invalid at decision.review_band: low is above high.")
    if dec.get("heatmap_class") is not None and dec["heatmap_class"] not in names:
        raise ManifestError(
            f"The manifest is invalid at decision.heatmap_class: '{dec['heatmap_class']}' is not one of the classes."
        )
    ood = data.get("ood")
    if ood:
        if ood["score"] == "output" and "ood_score" not in data["outputs"]:
            raise ManifestError("The manifest is invalid at ood.score: 'output' needs outputs.ood_score.")
        if ood["score"] == "energy" and "logits" not in data["outputs"]:
            raise ManifestError("The manifest is invalid at ood.score: 'energy' needs outputs.logits.")
        if ood.get("alarm_threshold") is not None:
            if not dec.get("alarming"):
                raise ManifestError("The manifest is invalid at ood.alarm_threshold: the pack has no alarming classes.")
            if ood["alarm_threshold"] < ood["threshold"]:
                raise ManifestError("The manifest is invalid at ood.alarm_threshold: it is below ood.threshold "
                                    "(an alarm would be refused more readily than a calm answer).")

    guard = data.get("guard")
    if guard and guard["autoencoder"] not in data.get("extra_files", {}):
        raise ManifestError(
            f"The manifest is invalid at guard.autoencoder: '{guard['autoencoder']}' is not listed in extra_files."
        )
    reformer = (guard or {}).get("reformer") or {}
    if reformer.get("kind") == "purifier" and reformer.get("model") not in data.get("extra_files", {}):
        raise ManifestError(
            "The manifest is invalid at guard.reformer: a purifier needs 'model', a role listed in extra_files."
        )
    if guard and inp["color"] == "GRAY":
        raise ManifestError("The manifest is invalid at guard: the input guard needs an RGB or BGR model input.")
    if "card" in data and (problem := card_problem(data["card"])):
        raise ManifestError(f"The manifest is invalid at card: {problem}.")

    return Manifest(
        schema_version=data["schema_version"],
        id=data["id"],
        name=data["name"],
        version=data["version"],
        task=data["task"],
        mode=data["mode"],
        model=FileRef.from_json(data["model"]),
        extra_files={k: FileRef.from_json(v) for k, v in data.get("extra_files", {}).items()},
        input=InputSpec(
            name=inp["name"],
            height=inp["size"][0],
            width=inp["size"][1],
            layout=inp["layout"],
            color=inp["color"],
            resize=inp["resize"],
            scale=float(inp["scale"]),
            mean=tuple(float(v) for v in inp["mean"]),
            std=tuple(float(v) for v in inp["std"]),
            crop_fraction=float(inp.get("crop_fraction", 0.875)),
            pad_value=int(inp.get("pad_value", 0)),
            interpolation=inp.get("interpolation", "bilinear"),
        ),
        outputs=dict(data["outputs"]),
        classes=tuple(ClassInfo(c["name"], c["label"], c.get("description", "")) for c in data["classes"]),
        decision=DecisionPolicy(
            alarming=tuple(dec.get("alarming", [])),
            alarm_threshold=dec.get("alarm_threshold"),
            review_band=tuple(band) if band is not None else None,
            min_confidence=dec.get("min_confidence"),
            top_k=int(dec.get("top_k", 3)),
            verdict_words=dict(dec.get("verdict_words", {})),
            heatmap_class=dec.get("heatmap_class"),
        ),
        ood=OodPolicy(ood["score"], float(ood["threshold"]), float(ood.get("temperature", 1.0)),
                      None if ood.get("alarm_threshold") is None else float(ood["alarm_threshold"])) if ood else None,
        metrics=data["metrics"],
        data=data["data"],
        intended_use=data["intended_use"],
        limitations=data["limitations"],
        raw=data,
        training_data=data.get("training_data"),
    )


def parse_manifest_bytes(data: bytes, where: str = "The manifest") -> Any:
    """Parse manifest JSON defensively (see :func:`inference.safejson.parse_json_bytes`)."""
    return parse_json_bytes(data, where, ManifestError, max_depth=MAX_DEPTH, max_number_chars=MAX_NUMBER_CHARS)


def load_manifest(path: Path) -> Manifest:
    """Read (size-limited, regular file only), hash and validate ``path`` (a manifest.json file)."""
    path = Path(path)
    data = read_limited(path, MANIFEST_MAX_BYTES, f"The manifest {path}", ManifestError,
                        missing=f"The pack has no manifest.json ({path}).")
    manifest = validate_manifest(parse_manifest_bytes(data, f"The manifest {path}"))
    return dataclasses.replace(manifest, sha256=hashlib.sha256(data).hexdigest())
