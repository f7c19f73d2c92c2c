"""The backbone study's scoring: lesion-grouped folds, both heads, the paired comparison."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

pytest.importorskip("sklearn")

from training.pipeline.backbone_study import cross_validate, paired, parse_option  # noqa: E402

CLASSES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def _data(signal: float, seed: int = 0):
    """Lesions with 1-3 images each; the embedding carries the diagnosis with strength ``signal``."""
    rng = np.random.default_rng(seed)
    dx, groups = [], []
    for lesion in range(280):
        d = CLASSES[lesion % 7]
        for _ in range(1 + lesion % 3):
            dx.append(d)
            groups.append(f"L{lesion}")
    dx = np.array(dx)
    centres = rng.normal(size=(7, 16))
    emb = rng.normal(size=(len(dx), 16)) + signal * centres[[CLASSES.index(d) for d in dx]]
    return emb, dx, np.array(groups, dtype=object)


def test_separable_features_score_high_and_noise_scores_chance():
    good = cross_validate(*_data(3.0), CLASSES, folds=5)["metrics"]
    noise = cross_validate(*_data(0.0), CLASSES, folds=5)["metrics"]
    assert good["ham7_balanced_accuracy"]["mean"] > 0.9 and good["binary_auc"]["mean"] > 0.95
    assert good["binary_spec_at_90_sens"]["mean"] > 0.8
    assert 0.05 < noise["ham7_balanced_accuracy"]["mean"] < 0.3  # chance is 1/7
    assert 0.35 < noise["binary_auc"]["mean"] < 0.65
    assert len(good["binary_auc"]["folds"]) == 5


def test_lesion_on_both_sides_is_refused(monkeypatch):
    """The fold check itself: a splitter that ignores groups must trip it."""
    import sklearn.model_selection as ms

    class Leaky(ms.StratifiedKFold):
        def __init__(self, n_splits, shuffle, random_state):
            super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

        def split(self, x, y, groups=None):
            return super().split(x, y)

    monkeypatch.setattr(ms, "StratifiedGroupKFold", Leaky)
    with pytest.raises(AssertionError, match="both sides"):
        cross_validate(*_data(1.0), CLASSES, folds=5)


def test_paired_difference_is_per_fold():
    a = cross_validate(*_data(0.5), CLASSES, folds=5)
    b = cross_validate(*_data(2.0), CLASSES, folds=5)
    result = {"options": {"lite0@224": {"cv": a}, "lite1@240": {"cv": b}}}
    paired(result, "lite0@224")
    d = result["options"]["lite1@240"]["vs_lite0@224"]["ham7_balanced_accuracy"]
    assert d["better"] == 5 and d["mean"] > 0.1
    assert result["options"]["lite0@224"]["vs_lite0@224"]["binary_auc"]["mean"] == 0.0


def test_options_are_backbone_and_size():
    assert parse_option("lite2:260") == ("lite2", 260)
    for bad in ("lite3:240", "lite0", "tiny-cnn:64", "lite1:20"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_option(bad)


def test_lesion_subset_keeps_one_image_per_lesion_and_every_rare_lesion():
    from training.pipeline.backbone_study import lesion_subset
    from training.pipeline.datasets import Sample

    samples = [Sample(id=f"I{i:03d}", path=None, label=("mel" if (i // 2) % 3 == 0 else "nv"),
                      group=f"L{i // 2}")
               for i in range(120)]
    sub = lesion_subset(samples, nv_lesions=10, seed=3)
    groups = [s.group for s in sub]
    assert len(groups) == len(set(groups))  # one image per lesion
    rare = {s.group for s in samples if s.label == "mel"}
    assert rare == {s.group for s in sub if s.label == "mel"}  # every rare lesion, once
    assert sum(s.label == "nv" for s in sub) == 10
    assert sub == lesion_subset(samples, nv_lesions=10, seed=3)  # deterministic
