"""Training configs as a typed, validated object (as :mod:`inference.manifest` is for packs).

:func:`training.pipeline.config.build_config` merges a YAML file over the defaults and checks the
relations between keys (a class named in ``decision.alarming`` exists, ...). This module checks
every value's *type* against frozen dataclasses, one per section, and names the key that is wrong
(``schedule.head.lr: expected a number, got 'fast'``), so a bad config fails in a second, before
TensorFlow loads and an hour of training starts.

Values are kept exactly as written (an ``int`` where a ``float`` is allowed stays an ``int``), so
:meth:`TrainingConfig.to_dict` gives back the very dict the pipeline has always read: a rebuild of
an existing pack does not change. Free-form blocks (``words``, ``verdict_words``, ``label_map``,
``generate``, ...) are checked to be mappings only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Optional, Union


class ConfigTypeError(ValueError):
    """A config value has the wrong type; the message names its key."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "text"
    if tp is Any:
        return "anything"
    if origin in (list, tuple):
        return f"a list of {_type_name(typing.get_args(tp)[0])}" if typing.get_args(tp) else "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in typing.get_args(tp))
    return str(tp)


def _check(value: Any, tp: Any, where: str) -> Any:
    """``value`` checked against the annotation ``tp`` (nested dataclasses become objects)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        real = [a for a in args if a is not type(None)]
        if len(real) == 1:
            try:
                return _check(value, real[0], where)
            except ConfigTypeError as exc:
                if value is not None and str(exc).startswith(f"{where}["):
                    raise  # an item of the list is wrong: name it
                raise ConfigTypeError(f"{where}: expected {_type_name(tp)}, got {_describe(value)}") from None
        problems = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, where)
            except ConfigTypeError as exc:
                problems.append(exc)
        raise ConfigTypeError(f"{where}: expected {_type_name(tp)}, got {_describe(value)}")
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigTypeError(f"{where}: expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigTypeError(f"{where}: expected a whole number, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigTypeError(f"{where}: expected a number, got {_describe(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigTypeError(f"{where}: expected text, got {_describe(value)}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigTypeError(f"{where}: expected {_type_name(tp)}, got {_describe(value)}")
        (item,) = typing.get_args(tp)
        return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigTypeError(f"{where}: expected a mapping, got {_describe(value)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigTypeError(f"{where}: expected a mapping, got {_describe(value)}")
        return _build(tp, value, where + ".")
    raise TypeError(f"no check for {tp!r}")  # a bug in this module, not in the config


def _build(cls: type, data: dict, where: str = ""):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names and not str(k).startswith("_")]
    if unknown:
        raise ConfigTypeError(f"unknown config key '{where}{unknown[0]}' (known: {', '.join(sorted(names))})")
    missing = [n for n in names if n not in data]
    if missing:
        raise ConfigTypeError(f"missing config key '{where}{missing[0]}'")
    return cls(**{n: _check(data[n], hints[n], f"{where}{n}") for n in names})


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


Mapping = dict[str, Any]


@dataclass(frozen=True)
class DataSource:
    format: str
    folder: Optional[str]
    csv: Optional[str]
    root: Optional[str]
    path_column: str
    label_column: str
    group_column: Optional[str]
    group_pattern: Optional[str]
    id_column: Optional[str]
    stratify_column: Optional[str]
    label_map: Optional[Mapping]
    limit_per_class: Optional[int]
    source: str
    licence: str
    generate: Optional[Mapping]
    holdout: str
    share_groups: bool
    only_shared_groups: bool


@dataclass(frozen=True)
class Retrain:
    mode: str
    test: str
    version_bump: str


@dataclass(frozen=True)
class ClassSpec:
    name: str
    label: str
    description: str


@dataclass(frozen=True)
class Split:
    val: float
    test: float


@dataclass(frozen=True)
class InputBlock:
    size: int
    resize: Optional[str]
    interpolation: Optional[str]
    crop_fraction: Optional[float]
    color: Optional[str]
    mean: Optional[list[float]]
    std: Optional[list[float]]
    scale: Optional[float]


@dataclass(frozen=True)
class BackboneBlock:
    name: str
    weights: Optional[str]
    width: int
    output_stride: int
    cut: Optional[str]
    neck: list[list[int]]
    init_from: Optional[str]


@dataclass(frozen=True)
class Augment:
    rotation: float
    width_shift: float
    height_shift: float
    zoom: float
    horizontal_flip: bool
    vertical_flip: bool
    fill: str
    brightness: float
    contrast: float
    saturation: float
    hue: float
    copies: int
    blur: float
    blur_sigma: list[float]
    noise: float
    noise_sigma: list[float]
    rescale: float
    rescale_range: list[float]
    jpeg: float
    jpeg_quality: list[int]


@dataclass(frozen=True)
class HeadStage:
    epochs: int
    lr: float
    patience: int
    dropout: float
    weight_decay: float


@dataclass(frozen=True)
class FinetuneStage:
    blocks: int
    epochs: int
    lr: float
    patience: int
    head_lr: Optional[float]
    cosine: bool
    train_batchnorm: bool


@dataclass(frozen=True)
class Schedule:
    batch_size: int
    class_weight: Optional[str]
    label_smoothing: float
    monitor: str
    mask_loss: Optional[Mapping]
    head: HeadStage
    finetune: FinetuneStage


@dataclass(frozen=True)
class Review:
    sensitivity: float
    precision: float
    max_rate: Optional[float]


@dataclass(frozen=True)
class Decision:
    alarming: list[str]
    target_sensitivity: float
    max_alarm_threshold: float
    review: Review
    min_confidence: Optional[float]
    top_k: int
    verdict_words: Mapping
    heatmap_class: Optional[str]
    mirror_average: bool
    tta: list[str]
    calibrate: Optional[str]
    alarm_basis: str


@dataclass(frozen=True)
class Ood:
    acceptance: float
    alarm_acceptance: Optional[float]
    methods: list[str]
    mahalanobis: Mapping
    sets: list[Mapping]
    limit: int


@dataclass(frozen=True)
class Robustness:
    fractions: list[float]
    blur_sigma: float
    noise_sigma: float


@dataclass(frozen=True)
class Evaluation:
    robustness: Robustness
    samples: int
    parity_images: int
    unseen: list[str]
    breakdown: list[str]
    masks: Optional[Mapping]
    test_mixes: Optional[Mapping]
    larger_inputs: Optional[Mapping]


@dataclass(frozen=True)
class Card:
    title: Optional[str]
    intended_use: str
    limitations: str
    not_tested: list[str]
    anchors: list[str]
    targets: Mapping
    notes: list[str]
    sections: list[Mapping]
    contact_sheet: Optional[Mapping]
    after_export: list[str]


@dataclass(frozen=True)
class Quick:
    limit_per_class: int
    copies: int
    head_epochs: int
    finetune_epochs: int
    ood_limit: int


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training config, every value type-checked. Build it with :meth:`from_dict` from the
    dict :func:`~training.pipeline.config.build_config` returns (or use
    :func:`~training.pipeline.config.load_typed_config`)."""

    id: str
    name: str
    version: str
    mode: str
    task: str
    seed: int
    training_data: Optional[str]
    data: DataSource
    test_data: Optional[DataSource]
    extra_data: list[DataSource]
    retrain: Retrain
    classes: list[ClassSpec]
    words: Optional[Mapping]
    split: Split
    input: InputBlock
    backbone: BackboneBlock
    augment: Augment
    schedule: Schedule
    decision: Decision
    ood: Ood
    evaluation: Evaluation
    card: Card
    quick: Quick

    @classmethod
    def from_dict(cls, cfg: dict) -> "TrainingConfig":
        """Check every value of ``cfg`` (keys starting with ``_`` are run bookkeeping, skipped)."""
        return _build(cls, cfg)

    def to_dict(self) -> dict:
        """The plain dict the pipeline reads (the values exactly as given to :meth:`from_dict`)."""
        return _plain(self)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]
