"""Unit tests of the training pipeline's pure parts (no TensorFlow): configs, datasets, splits,
metrics against hand-worked examples, thresholds, robustness degradation, augmentation, OOD scores."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.pipeline import config as cfgmod
from training.pipeline.augment import Augmenter
from training.pipeline.config import ConfigError, DataNotFoundError, build_config
from training.pipeline.datasets import load_csv, load_dataset, load_folder
from training.pipeline.evaluate import classification_metrics, specificity_per_class, top_k_accuracy
from training.pipeline.ood import Mahalanobis, energy_score, synthetic_documents
from training.pipeline.robustness import degrade, degrade_indices
from training.pipeline.splits import SplitError, check_disjoint, split_indices, split_samples
from training.pipeline.thresholds import (acceptance_threshold, alarm_decisions, alarm_threshold, review_band,
                                          sensitivity_threshold)

REPO = Path(__file__).resolve().parents[2]


def _write_images(folder: Path, names: list[str], colour=(200, 30, 30)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        Image.new("RGB", (12, 10), colour).save(folder / n)


# --- configs -----------------------------------------------------------------------------------

def test_config_defaults_and_unknown_keys():
    cfg = build_config({"id": "demo", "classes": ["a", "b"]})
    assert cfg["augment"]["rotation"] == 20.0 and cfg["augment"]["zoom"] == 0.15
    assert cfg["classes"][0] == {"name": "a", "label": "A", "description": ""}
    with pytest.raises(ConfigError, match="unknown config key 'schedule.epochz'"):
        build_config({"id": "demo", "schedule": {"epochz": 3}})
    with pytest.raises(ConfigError, match="id"):
        build_config({"classes": ["a", "b"]})
    with pytest.raises(ConfigError, match="not a class"):
        build_config({"id": "demo", "classes": ["a", "b"], "decision": {"alarming": ["c"]}})
    assert cfg["decision"]["heatmap_class"] is None  # default: the predicted class's map
    with pytest.raises(ConfigError, match="decision.heatmap_class names 'c', which is not a class"):
        build_config({"id": "demo", "classes": ["a", "b"], "decision": {"heatmap_class": "c"}})
    assert build_config({"id": "demo", "classes": ["a", "b"], "decision": {"heatmap_class": "b"}})["decision"]["heatmap_class"] == "b"


def test_training_data_is_checked_and_follows_a_retrain_on_own_photos(tmp_path):
    assert build_config({"id": "demo", "classes": ["a", "b"]})["training_data"] is None  # not stated
    with pytest.raises(ConfigError, match="training_data must be synthetic, real, mixed or null, not 'generated'"):
        build_config({"id": "demo", "classes": ["a", "b"], "training_data": "generated"})
    photos = tmp_path / "photos"
    photos.mkdir()
    for configured, mode, expected in (("synthetic", "replace", "real"), ("synthetic", "mix", "mixed"),
                                       ("real", "mix", "real"), ("mixed", "mix", "mixed"), (None, "mix", None),
                                       (None, "replace", "real")):
        cfg = build_config({"id": "demo", "classes": ["a", "b"], "training_data": configured})
        assert cfgmod.apply_user_data(cfg, photos, mode=mode)["training_data"] == expected, (configured, mode)


def test_relative_paths_resolve_against_the_repo():
    assert cfgmod.resolve_path("../shared/data/x") == (REPO / "../shared/data/x").resolve()
    assert cfgmod.resolve_path("/abs/path") == Path("/abs/path")


@pytest.mark.parametrize("name", ["skin-binary", "skin-ham7", "seal-integrity"])
def test_bundled_configs_load(name):
    cfg = cfgmod.load_config(REPO / "training" / "configs" / f"{name}.yaml")
    assert cfg["id"] == name
    assert cfg["backbone"]["name"] == "lite0"
    # The manifest's training_data comes from here: "synthetic" is the app's generated-photos notice.
    assert cfg["training_data"] == ("synthetic" if name == "seal-integrity" else "real")
    if name.startswith("skin"):
        assert cfg["data"]["csv"].startswith("../shared/data/")  # relative to the repo
        assert cfg["data"]["group_column"] == "lesion_id"


def test_missing_data_folder_gives_a_clear_error(tmp_path):
    cfg = build_config({"id": "demo", "data": {"format": "folder", "folder": str(tmp_path / "nowhere")}})
    with pytest.raises(DataNotFoundError) as err:
        load_dataset(cfg)
    assert "data folder not found" in str(err.value) and "nowhere" in str(err.value) and "--data" in str(err.value)
    cfg = build_config({"id": "demo", "data": {"format": "csv", "csv": "../no-such-shared/data/metadata.csv"}})
    with pytest.raises(DataNotFoundError, match="metadata.csv"):
        load_dataset(cfg)


# --- datasets ------------------------------------------------------------------------------------

def test_load_folder_tree(tmp_path):
    _write_images(tmp_path / "cats", ["c1.jpg", "c2.png"])
    _write_images(tmp_path / "dogs" / "sub", ["d1.jpg"])
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    ds = load_folder(tmp_path)
    assert ds.class_names == ["cats", "dogs"]
    assert ds.counts() == {"cats": 2, "dogs": 1}
    assert {s.id for s in ds.samples} == {"cats/c1.jpg", "cats/c2.png", "dogs/sub/d1.jpg"}
    assert not ds.has_groups
    # Explicit classes: order kept, a missing folder is an error.
    ds2 = load_folder(tmp_path, [{"name": "dogs", "label": "Dog"}, {"name": "cats", "label": "Cat"}])
    assert ds2.class_names == ["dogs", "cats"]
    with pytest.raises(DataNotFoundError, match="birds"):
        load_folder(tmp_path, [{"name": "birds", "label": "B"}, {"name": "cats", "label": "C"}])


def test_load_folder_with_group_pattern(tmp_path):
    _write_images(tmp_path / "genuine", ["original_3_1.jpg", "original_3_2.jpg", "original_7_1.jpg"])
    _write_images(tmp_path / "forged", ["forgeries_3_1.jpg"])
    ds = load_folder(tmp_path, group_pattern=r"_(\d+)_")
    assert sorted(s.group for s in ds.samples) == ["3", "3", "3", "7"]


def test_load_csv_with_groups_label_map_and_root(tmp_path):
    _write_images(tmp_path / "imgs", ["a.jpg", "b.jpg", "c.jpg"])
    table = tmp_path / "meta" / "table.csv"
    table.parent.mkdir()
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "dx", "lesion", "image_id"])
        w.writerows([["imgs/a.jpg", "mel", "L1", "A"], ["imgs/b.jpg", "nv", "L1", "B"], ["imgs/c.jpg", "nv", "L2", "C"]])
    ds = load_csv(table, path_column="file", label_column="dx", group_column="lesion", id_column="image_id",
                  root=tmp_path, label_map={"mel": "malignant", "nv": "benign"}, stratify_column="dx")
    assert ds.class_names == ["benign", "malignant"]
    assert [(s.id, s.label, s.group, s.stratum) for s in ds.samples] == [
        ("A", "malignant", "L1", "malignant"), ("B", "benign", "L1", "benign"), ("C", "benign", "L2", "benign")]
    with pytest.raises(ConfigError, match="no column 'writer'"):
        load_csv(table, path_column="file", label_column="dx", group_column="writer", root=tmp_path)
    with pytest.raises(DataNotFoundError, match="images listed"):
        load_csv(table, path_column="file", label_column="dx")  # root defaults to the CSV's folder: files missing


def test_shared_ham10000_table_loads_when_present():
    folder = REPO.parent / "shared" / "data" / "skin-ham10000-full"
    if not folder.is_dir():
        pytest.skip("needs ../shared/data/skin-ham10000-full (not on this machine; it is not shipped with Tilik)")
    cfg = cfgmod.load_config(REPO / "training" / "configs" / "skin-ham7.yaml")
    ds = load_dataset(cfg)
    assert len(ds.samples) == 8449 and len(ds.class_names) == 7
    assert len({s.group for s in ds.samples}) == 6321  # lesions: several images of one lesion
    assert all(s.group and s.group.startswith("HAM_") for s in ds.samples)


# --- splits ----------------------------------------------------------------------------------------

def _grouped_data(n_groups=120, seed=0):
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for g in range(n_groups):
        label = ["a", "b", "c"][0 if g % 10 < 6 else (1 if g % 10 < 9 else 2)]  # 60/30/10
        for _ in range(int(rng.integers(1, 4))):
            labels.append(label)
            groups.append(f"g{g}")
    return labels, groups


def test_grouped_split_keeps_groups_together_and_stratifies():
    labels, groups = _grouped_data()
    side = split_indices(labels, groups, val=0.15, test=0.15, seed=3)
    by_group = {}
    for g, s in zip(groups, side):
        by_group.setdefault(g, set()).add(s)
    assert all(len(s) == 1 for s in by_group.values()), "a group landed on two sides"
    overall = Counter(labels)
    for s in ("train", "val", "test"):
        c = Counter(np.asarray(labels)[side == s])
        n = sum(c.values())
        assert 0.08 * len(labels) < n < 0.75 * len(labels) or s == "train"
        for label in overall:
            assert abs(c[label] / n - overall[label] / len(labels)) < 0.12, (s, label, c)
    # Same seed, same split.
    assert (split_indices(labels, groups, val=0.15, test=0.15, seed=3) == side).all()


def test_ungrouped_split_is_stratified_and_sized():
    labels = ["a"] * 70 + ["b"] * 30
    side = split_indices(labels, None, val=0.2, test=0.2, seed=0)
    c = Counter(side)
    assert c["test"] == 20 and c["val"] == 20 and c["train"] == 60
    for s in ("train", "val", "test"):
        lab = Counter(np.asarray(labels)[side == s])
        assert lab["b"] / sum(lab.values()) == pytest.approx(0.3, abs=0.05)


def test_split_samples_records_sides_and_refuses_too_few_groups(tmp_path):
    from training.pipeline.datasets import Sample

    samples = [Sample(f"i{i}", tmp_path / f"{i}.jpg", "ab"[i % 2], group=f"w{i // 4}") for i in range(40)]
    split = split_samples(samples, val=0.2, test=0.2, seed=1)
    check_disjoint(split)
    assert sum(len(v) for v in split.values()) == 40
    sides_of_group = {}
    for side, items in split.items():
        for s in items:
            sides_of_group.setdefault(s.group, set()).add(side)
    assert all(len(v) == 1 for v in sides_of_group.values())
    with pytest.raises(SplitError):
        split_indices(["a", "b", "a", "b"], ["g", "g", "g", "g"], val=0.2, test=0.2, seed=0)


# --- metrics (hand-worked) ------------------------------------------------------------------------------

def test_specificity_from_a_hand_worked_confusion_matrix():
    # rows true, columns predicted; class 0: TP 5, FP 1+2=3, FN 2, TN 20-5-3-2=10 -> 10/13
    cm = np.array([[5, 2, 0], [1, 6, 1], [2, 0, 3]])
    spec = specificity_per_class(cm)
    assert spec[0] == pytest.approx(10 / 13)
    # class 1: TP 6, FP 2, FN 2, TN 10 -> 10/12; class 2: TP 3, FP 1, FN 2, TN 14 -> 14/15
    assert spec[1] == pytest.approx(10 / 12)
    assert spec[2] == pytest.approx(14 / 15)


def test_top_k_accuracy_by_hand():
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.2, 0.5, 0.3]])
    y = [0, 0, 2, 2]
    assert top_k_accuracy(y, probs, 1) == pytest.approx(1 / 4)
    # sample 1: top-2 = {2, 1} -> miss; sample 2: top-2 = {1, 0} (tie broken by index) -> miss; sample 3: {1, 2} hit
    assert top_k_accuracy(y, probs, 2) == pytest.approx(2 / 4)
    assert top_k_accuracy(y, probs, 3) == 1.0


def test_classification_metrics_by_hand():
    y = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    p = [0, 0, 1, 2, 1, 0, 2, 2, 2, 1]
    probs = np.eye(3)[p] * 0.8 + 0.1
    m = classification_metrics(y, p, probs, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(6 / 10)
    # recalls: a 2/4, b 1/2, c 3/4 -> balanced accuracy = mean = 0.5833
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 0.5 + 0.75) / 3)
    a = m["per_class"]["a"]
    assert (a["tp"], a["fp"], a["fn"], a["tn"]) == (2, 1, 2, 5)
    assert a["precision"] == pytest.approx(2 / 3) and a["specificity"] == pytest.approx(5 / 6)
    assert m["per_class"]["b"]["specificity"] == pytest.approx(6 / 8)
    assert m["macro"]["recall"] == pytest.approx(m["balanced_accuracy"])
    assert m["weighted"]["recall"] == pytest.approx(m["accuracy"])
    assert m["confusion_matrix"] == [[2, 1, 1], [1, 1, 0], [0, 1, 3]]
    assert m["top_k"]["2"] >= m["accuracy"]


def test_binary_auc_uses_the_second_class():
    y = [0, 0, 1, 1]
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    m = classification_metrics(y, probs.argmax(1), probs, ["benign", "malignant"])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert "top_k" in m and m["top_k"] == {}


# --- thresholds --------------------------------------------------------------------------------------

def test_acceptance_threshold_is_the_right_quantile():
    scores = np.arange(1, 101, dtype=float)[::-1]  # 100..1, order must not matter
    t = acceptance_threshold(scores, 0.95)
    assert t == 95.0
    assert np.mean(scores <= t) == pytest.approx(0.95)
    assert acceptance_threshold(np.arange(1, 21, dtype=float), 0.95) == 19.0  # ceil(19) -> 19th smallest
    assert acceptance_threshold(np.arange(1, 11, dtype=float), 0.95) == 10.0  # ceil(9.5) -> 10th
    assert acceptance_threshold([3.0], 0.5) == 3.0


def test_alarm_threshold_reaches_the_target_sensitivity():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05, 0.4, 0.35])
    alarm = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    # 5 positives; 80% -> 4th highest positive score 0.6; 100% -> 0.3
    assert sensitivity_threshold(p, alarm, 0.8) == pytest.approx(0.6)
    assert alarm_threshold(p, alarm, 0.8, max_threshold=0.5) == pytest.approx(0.5)
    assert alarm_threshold(p, alarm, 1.0, max_threshold=0.5) == pytest.approx(0.3)
    low, high = review_band(p, alarm, 0.3, sensitivity=1.0, precision=1.0)
    assert low == pytest.approx(0.3) and high == pytest.approx(0.6)  # p >= 0.6: 4/4 alarming


def test_review_band_is_capped_to_a_workable_share():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200)
    alarm = rng.uniform(0, 1, 200) < p  # a weak model: the uncapped band would hold most cases
    low, high = review_band(p, alarm, 0.4, sensitivity=0.99, precision=0.99)
    assert np.mean((p >= low) & (p < high)) > 0.5
    low, high = review_band(p, alarm, 0.4, sensitivity=0.99, precision=0.99, max_rate=0.2)
    assert low <= 0.4 <= high
    assert np.mean((p >= low) & (p < high)) <= 0.2 + 1e-9


def test_alarm_decisions_follow_the_inspector_rule():
    names = ["akiec", "bcc", "nv", "mel"]
    probs = np.array([[0.1, 0.1, 0.6, 0.2], [0.05, 0.05, 0.8, 0.1], [0.2, 0.1, 0.3, 0.4]])
    out = alarm_decisions(probs, [0, 1, 3], threshold=0.35)
    assert [names[i] for i in out] == ["mel", "nv", "mel"]
    assert list(alarm_decisions(probs, [0, 1, 3], None)) == [2, 2, 3]


# --- robustness --------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,fraction,expected", [(8, 0.25, 2), (8, 0.5, 4), (8, 0.75, 6), (10, 0.25, 2),
                                                  (10, 0.75, 8), (365, 0.5, 182), (365, 0.25, 91)])
def test_degrade_fractions(n, fraction, expected):
    idx = degrade_indices(n, fraction, seed=5)
    assert len(idx) == expected == round(fraction * n)
    assert len(set(idx.tolist())) == expected and idx.min() >= 0 and idx.max() < n
    assert (degrade_indices(n, fraction, seed=5) == idx).all()


def test_degrade_changes_exactly_the_chosen_images():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (24, 24, 3), dtype=np.uint8) for _ in range(8)]
    for kind in ("blur", "noise"):
        out, idx = degrade(images, kind, 0.5, seed=1, blur_sigma=2.0, noise_sigma=0.1, input_size=24)
        changed = [i for i in range(8) if not np.array_equal(out[i], images[i])]
        assert changed == sorted(idx.tolist()) and len(changed) == 4
        assert all(o.dtype == np.uint8 and o.shape == (24, 24, 3) for o in out)


# --- augmentation, OOD ------------------------------------------------------------------------------

def test_augmenter_is_seeded_and_keeps_shape():
    img = np.zeros((32, 32, 3), np.uint8)
    img[8:24, 8:24] = (200, 60, 20)
    aug = Augmenter.from_config({"rotation": 20, "width_shift": 0.2, "height_shift": 0.2, "zoom": 0.15,
                                 "horizontal_flip": True, "vertical_flip": True, "fill": "nearest",
                                 "brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.02})
    a = aug(img, np.random.default_rng(3))
    b = aug(img, np.random.default_rng(3))
    assert a.shape == img.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, img)
    identity = Augmenter(rotation=0, width_shift=0, height_shift=0, zoom=0, horizontal_flip=False)
    assert np.array_equal(identity(img, np.random.default_rng(0)), img)
    with pytest.raises(ValueError):
        Augmenter.from_config({"fill": "mirror-ish"})


def test_energy_matches_the_inspector():
    from inference.inspector import _softmax_energy

    logits = np.array([[2.0, -1.0, 0.5], [10.0, 10.0, 10.0], [-3.0, -4.0, -5.0]])
    assert np.allclose(energy_score(logits), _softmax_energy(logits, 1.0))
    assert energy_score(np.array([[0.0, 0.0]]))[0] == pytest.approx(-math.log(2))


def test_mahalanobis_scores_far_points_higher():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (200, 5)), rng.normal(4, 1, (200, 5))])
    y = np.array([0] * 200 + [1] * 200)
    m = Mahalanobis.fit(x, y)
    near = m.score(np.array([[0.1] * 5, [4.0] * 5]))
    far = m.score(np.array([[20.0] * 5, [-10.0] * 5]))
    assert near.max() < 3 and far.min() > 20
    assert m.score(x).mean() == pytest.approx(1.0, abs=0.25)  # ~ chi2(d)/d for in-domain points


def test_synthetic_documents_are_rgb_pages():
    docs = synthetic_documents(3, seed=2, height=200)
    assert len(docs) == 3
    for d in docs:
        assert d.dtype == np.uint8 and d.ndim == 3 and d.shape[0] == 200 and d.shape[2] == 3
        assert d.mean() > 150  # mostly paper


def test_bootstrap_intervals_bracket_the_point_estimates():
    from training.pipeline.evaluate import bootstrap_ci

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3), 300)
    probs[np.arange(300), y] += 0.4
    probs /= probs.sum(1, keepdims=True)
    m = classification_metrics(y, probs.argmax(1), probs, ["a", "b", "c"])
    ci = bootstrap_ci(y, probs.argmax(1), probs, 3, n_boot=200, seed=0)
    for key, value in (("accuracy", m["accuracy"]), ("balanced_accuracy", m["balanced_accuracy"]),
                       ("macro_f1", m["macro"]["f1"]), ("roc_auc", m["roc_auc"]), ("top2", m["top_k"]["2"])):
        lo, hi = ci[key]
        assert lo <= value <= hi and hi - lo < 0.25, key
