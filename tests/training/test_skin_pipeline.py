"""Issue 24's pipeline parts: lesion-grouped splitting across two folders of the same lesions, the
typed training config (a wrong key or type fails fast, naming the key; the bundled configs load to
the same values), the natural / class-capped test mixes and operating points, and test-time views
averaged inside the graph (CAM exact, ONNX parity with Keras)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.shared_data import shared_data
from training.pipeline import config as cfgmod
from training.pipeline.config import ConfigError, build_config
from training.pipeline.datasets import load_pools
from training.pipeline.mixes import calibration, capped_indices, operating_point, operating_table
from training.pipeline.splits import SIDES, split_pools

REPO = Path(__file__).resolve().parents[2]


# --- lesion-grouped splits across two folders ----------------------------------------------------

def _ham_like(folder: Path, lesions: list[tuple[str, str, int]], size: tuple[int, int]) -> Path:
    """folder/metadata.csv + images: (lesion_id, dx, images of that lesion) -> ISIC-like ids."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for k, (lesion, dx, n) in enumerate(lesions):
        for j in range(n):
            image_id = f"ISIC_{k:04d}{j}"
            Image.new("RGB", size, (20 * k % 255, 40 * j % 255, 90)).save(folder / "images" / f"{image_id}.jpg")
            rows.append({"file": f"images/{image_id}.jpg", "image_id": image_id, "lesion_id": lesion, "dx": dx})
    with open(folder / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["file", "image_id", "lesion_id", "dx"])
        w.writeheader()
        w.writerows(rows)
    return folder / "metadata.csv"


def _lesions(n: int, seed: int = 0) -> list[tuple[str, str, int]]:
    rng = np.random.default_rng(seed)
    return [(f"HAM_{i:05d}", ("nv", "nv", "mel", "bkl")[i % 4], int(rng.integers(1, 4))) for i in range(n)]


def _two_folder_config(tmp_path: Path, extra_holdout: str) -> dict:
    lesions = _lesions(80)
    full = _ham_like(tmp_path / "full", lesions, (20, 15))
    subset = _ham_like(tmp_path / "subset", lesions[::3], (22, 22))  # the same lesions, another resize
    return build_config({
        "id": "ham-like", "classes": ["bkl", "mel", "nv"], "seed": 5,
        "data": {"format": "csv", "csv": str(full), "path_column": "file", "id_column": "image_id",
                 "label_column": "dx", "group_column": "lesion_id"},
        "extra_data": [{"csv": str(subset), "holdout": extra_holdout, "share_groups": True}],
    })


@pytest.mark.parametrize("extra_holdout", ["carve", "none"])
def test_no_lesion_on_two_sides_across_both_folders(tmp_path, extra_holdout):
    cfg = _two_folder_config(tmp_path, extra_holdout)
    pools = load_pools(cfg)
    dropped: list = []
    split = split_pools(pools, val=0.2, test=0.2, seed=5, dropped=dropped)
    side_of: dict[str, set] = {}
    for side in SIDES:
        for s in split[side]:
            side_of.setdefault(s.group, set()).add(side)
    assert all(len(v) == 1 for v in side_of.values()), "a lesion is on two sides"
    both = {s.group for side in SIDES for s in split[side] if s.extra.get("source") == "extra"} & \
        {s.group for side in SIDES for s in split[side] if s.extra.get("source") == "data"}
    assert both  # lesions with images from both folders exist, each on one side
    # The folder that gives no test images (data when extra carves, else extra) has none on the
    # test side; its images of test lesions are left out rather than trained on.
    no_test = "data" if extra_holdout == "carve" else "extra"
    assert not any(s.extra.get("source") == no_test for s in split["test"])
    test_lesions = {s.group for s in split["test"]}
    assert dropped and all(s.group in test_lesions and s.extra["source"] == no_test for s in dropped)


def test_without_share_groups_each_folder_has_its_own_groups(tmp_path):
    """The default (seal renders: the same file names are different seals): groups are per source."""
    cfg = _two_folder_config(tmp_path, "none")
    cfg["extra_data"][0]["share_groups"] = False
    pools = load_pools(cfg)
    assert all(s.group.startswith("extra:") for s in pools[1].dataset.samples)
    assert not any(s.group.startswith("extra:") for s in pools[0].dataset.samples)


def test_two_folders_with_one_test_only_folder_keep_its_lesions_out_of_training(tmp_path):
    lesions = _lesions(60, seed=1)
    full = _ham_like(tmp_path / "full", lesions, (20, 15))
    reserved = _ham_like(tmp_path / "reserved", lesions[:12], (22, 22))
    cfg = build_config({
        "id": "ham-like", "classes": ["bkl", "mel", "nv"], "seed": 2,
        "data": {"format": "csv", "csv": str(full), "path_column": "file", "id_column": "image_id",
                 "label_column": "dx", "group_column": "lesion_id"},
        "test_data": {"csv": str(reserved), "share_groups": True},
    })
    dropped: list = []
    split = split_pools(load_pools(cfg), val=0.2, test=0.2, seed=2, dropped=dropped)
    reserved_lesions = {les for les, _, _ in lesions[:12]}
    assert not reserved_lesions & {s.group for side in ("train", "val") for s in split[side]}
    assert {s.group for s in split["test"]} == reserved_lesions  # the test side is the reserved folder
    # The full folder's own images of those lesions are left out, not trained on.
    assert {s.group for s in dropped} == reserved_lesions


def test_only_shared_groups_keeps_lesions_outside_data_out_of_every_side(tmp_path):
    """The 224-px folder as extra training data: only lesions of data's split; its lesions that data
    lacks (reserved for an independent test elsewhere) never reach training or validation, and its
    images of data's test lesions are left out too. data's own split does not change."""
    lesions = _lesions(90, seed=3)
    full = _ham_like(tmp_path / "full", lesions[:70], (20, 15))
    subset = _ham_like(tmp_path / "subset", lesions[50:], (22, 22))  # 20 shared lesions, 20 not in full
    base = {"id": "ham-like", "classes": ["bkl", "mel", "nv"], "seed": 4,
            "data": {"format": "csv", "csv": str(full), "path_column": "file", "id_column": "image_id",
                     "label_column": "dx", "group_column": "lesion_id"}}
    cfg = build_config({**base, "extra_data": [{"csv": str(subset), "share_groups": True, "only_shared_groups": True}]})
    dropped: list = []
    unshared: list = []
    split = split_pools(load_pools(cfg), val=0.2, test=0.2, seed=4, dropped=dropped, unshared=unshared)
    outside = {les for les, _, _ in lesions[70:]}
    placed = {s.group for side in SIDES for s in split[side]}
    assert not outside & placed
    assert {s.group for s in unshared} == outside and all(s.extra["source"] == "extra" for s in unshared)
    side_of: dict[str, set] = {}
    for side in SIDES:
        for s in split[side]:
            side_of.setdefault(s.group, set()).add(side)
    assert all(len(v) == 1 for v in side_of.values())
    assert not any(s.extra["source"] == "extra" for s in split["test"])
    assert {s.group for s in dropped} <= {s.group for s in split["test"]}
    extra_in = [s for side in ("train", "val") for s in split[side] if s.extra["source"] == "extra"]
    assert extra_in  # shared lesions of the train / validation sides do come in
    alone = split_pools(load_pools(build_config(base)), val=0.2, test=0.2, seed=4)
    for side in SIDES:
        assert [s.id for s in split[side] if s.extra["source"] == "data"] == [s.id for s in alone[side]]
    # Without the flag the 20 outside lesions would be split into train / validation.
    cfg["extra_data"][0]["only_shared_groups"] = False
    loose = split_pools(load_pools(cfg), val=0.2, test=0.2, seed=4)
    assert outside <= {s.group for side in ("train", "val") for s in loose[side]}


def test_only_shared_groups_needs_shared_group_names(tmp_path):
    cfg = _two_folder_config(tmp_path, "none")
    cfg["extra_data"][0].update(share_groups=False, only_shared_groups=True)
    with pytest.raises(ConfigError, match="only_shared_groups needs share_groups"):
        load_pools(cfg)


def test_the_skin_configs_add_the_224px_copies_of_their_own_lesions_only():
    shared_data("skin-ham10000")
    shared_data("skin-ham10000-full")
    splits = {}
    for pack in ("skin-ham7", "skin-binary"):
        cfg = cfgmod.load_config(REPO / "training" / "configs" / f"{pack}.yaml")
        unshared: list = []
        splits[pack] = split_pools(load_pools(cfg), val=0.15, test=0.15, seed=int(cfg["seed"]), unshared=unshared)
        assert not unshared
    for side in SIDES:  # both packs: one split, so skin-binary reuses skin-ham7's cached features
        assert [s.id for s in splits["skin-ham7"][side]] == [s.id for s in splits["skin-binary"][side]]
    split = splits["skin-ham7"]
    assert not any(s.extra["source"] == "extra" for s in split["test"])
    side_of: dict[str, set] = {}
    for side in SIDES:
        for s in split[side]:
            side_of.setdefault(s.group, set()).add(side)
    assert len(side_of) == 6321 and all(len(v) == 1 for v in side_of.values())
    assert sum(s.extra["source"] == "extra" for s in split["val"]) > 300


def test_real_ham10000_folders_split_by_lesion_across_both():
    full = shared_data("skin-ham10000-full")
    subset = shared_data("skin-ham10000")
    cfg = cfgmod.load_config(REPO / "training" / "configs" / "skin-ham7.yaml")
    cfg["extra_data"] = [cfgmod.build_source({"csv": str(subset / "metadata.csv"), "root": str(subset),
                                              "share_groups": True},
                                             cfg["data"], "extra_data[0]", holdout="none")]
    assert cfg["data"]["csv"].endswith("skin-ham10000-full/metadata.csv") and full.is_dir()
    split = split_pools(load_pools(cfg), val=0.15, test=0.15, seed=int(cfg["seed"]))
    side_of: dict[str, set] = {}
    for side in SIDES:
        for s in split[side]:
            side_of.setdefault(s.group, set()).add(side)
    assert len(side_of) == 6321 and all(len(v) == 1 for v in side_of.values())
    assert not any(s.extra.get("source") == "extra" for s in split["test"])


# --- the typed config ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, key", [
    ({"schedule": {"head": {"lr": "fast"}}}, "schedule.head.lr: expected a number, got 'fast'"),
    ({"schedule": {"batch_size": 3.5}}, "schedule.batch_size: expected a whole number"),
    ({"augment": {"horizontal_flip": "yes"}}, "augment.horizontal_flip: expected true or false"),
    ({"input": {"mean": [0.5, "x", 0.5]}}, r"input.mean\[1\]: expected a number"),
    ({"card": {"not_tested": [{"a": "b"}]}}, r"card.not_tested\[0\]: expected text"),
    ({"seed": True}, "seed: expected a whole number, got True"),
    ({"decision": {"tta": ["hflip", "spin"]}}, "decision.tta"),
])
def test_a_wrong_type_fails_fast_naming_the_key(raw, key):
    with pytest.raises(ConfigError, match=key):
        build_config({"id": "demo", "classes": ["a", "b"], **raw})


def test_an_unknown_key_fails_naming_it_before_anything_loads(tmp_path, capsys):
    from training.pipeline import train_cmd

    bad = tmp_path / "bad.yaml"
    bad.write_text("id: demo\nclasses: [a, b]\nschedule:\n  head: {epochs: 3, lerning_rate: 0.1}\n", encoding="utf-8")
    import argparse

    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    assert train_cmd.run(parser.parse_args([str(bad), "--out", str(tmp_path / "run")])) == 2
    assert "unknown config key 'schedule.head.lerning_rate'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing written, nothing trained


@pytest.mark.parametrize("name", ["skin-binary", "skin-ham7", "seal-integrity"])
def test_bundled_configs_load_typed_to_the_same_values(name):
    import yaml

    path = REPO / "training" / "configs" / f"{name}.yaml"
    typed = cfgmod.load_typed_config(path)
    as_dict = cfgmod.load_config(path)
    assert typed.to_dict() == {k: v for k, v in as_dict.items() if not k.startswith("_")}
    # The values are the YAML's own merged over the defaults, untouched (no coercion): the typed
    # check changes nothing a rebuild reads.
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    legacy = cfgmod._merge(cfgmod.DEFAULTS, raw)
    for section in ("schedule", "augment", "split", "backbone", "ood"):
        assert as_dict[section] == legacy[section], section
    assert typed.id == name and typed.schedule.head.lr == legacy["schedule"]["head"]["lr"]
    assert isinstance(typed.schedule.finetune.epochs, int)


def test_typed_config_gives_attribute_access():
    typed = cfgmod.typed_config(build_config({"id": "demo", "classes": ["a", "b"], "decision": {"tta": ["vflip"]}}))
    assert typed.class_names == ["a", "b"] and typed.decision.tta == ["vflip"]
    assert typed.input.size == 224 and typed.backbone.init_from is None
    with pytest.raises(ConfigError, match="mirror_average already is the hflip view"):
        build_config({"id": "demo", "decision": {"tta": ["hflip"], "mirror_average": True}})


# --- test mixes and operating points ------------------------------------------------------------

def test_capped_mix_keeps_one_image_per_lesion_and_caps_the_class():
    values = ["nv"] * 12 + ["mel"] * 4 + ["bkl"] * 2
    groups = [f"n{i // 2}" for i in range(12)] + ["m0", "m0", "m1", "m2"] + ["b0", "b1"]
    ids = [f"id{i:02d}" for i in range(len(values))]
    keep = capped_indices(values, groups, ids, cap={"nv": 0.5}, one_per_group=True, seed=0)
    kept_groups = [groups[i] for i in keep]
    assert len(kept_groups) == len(set(kept_groups))  # one image per lesion
    kept = [values[i] for i in keep]
    assert kept.count("mel") == 3 and kept.count("bkl") == 2 and kept.count("nv") == 5  # 5 = 0.5/0.5 * 5 others
    assert list(keep) == sorted(keep)
    assert list(capped_indices(values, groups, ids, cap={"nv": 0.5}, seed=0)) == list(keep)  # seeded


def test_operating_point_by_hand():
    is_alarm = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    p = np.array([0.9, 0.8, 0.6, 0.2, 0.7, 0.3, 0.2, 0.1, 0.1, 0.05])
    op = operating_point(is_alarm, p, 0.5, review=np.array([0, 0, 1, 1, 1, 0, 0, 0, 0, 0], bool))
    assert (op["tp"], op["fn"], op["fp"], op["tn"]) == (3, 1, 1, 5)
    assert op["sensitivity"] == 0.75 and op["specificity"] == 5 / 6 and op["ppv"] == 0.75 and op["npv"] == 5 / 6
    assert op["alarm_rate"] == 0.4 and op["review_rate"] == 0.3 and op["prevalence"] == 0.4
    table = operating_table(p, is_alarm, {"same": (is_alarm, p)}, sensitivities=(0.75, 1.0))
    assert table[0]["validation"]["sensitivity"] >= 0.75 and table[1]["same"]["sensitivity"] == 1.0
    assert table[0]["threshold"] >= table[1]["threshold"]


def test_calibration_error_by_hand():
    cal = calibration(np.array([1, 0, 1, 1]), np.array([0.95, 0.95, 0.15, 0.15]), bins=10)
    # bin 0.9-1.0: mean 0.95, observed 0.5; bin 0.1-0.2: mean 0.15, observed 1.0
    assert cal["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.85)
    assert [r["n"] for r in cal["bins"]] == [2, 2]


# --- test-time views inside the graph (TensorFlow) -----------------------------------------------

def _tiny_classifier(seed: int = 0):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(stddev=0.4, seed=seed)  # big enough to keep ReLUs alive
    inp = keras.Input((48, 40, 3), name="input")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", kernel_initializer=init)(inp)
    x = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", kernel_initializer=init,
                            name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(4, activation="softmax", kernel_initializer=init, name="head")(x)
    return keras.Model(inp, out)


def _flip(x: np.ndarray, view: str) -> np.ndarray:
    return {"hflip": x[:, :, ::-1], "vflip": x[:, ::-1], "rot180": x[:, ::-1, ::-1]}[view]


@pytest.mark.parametrize("views", [("vflip",), ("hflip", "vflip", "rot180")])
def test_tta_views_average_logits_with_an_exact_cam_and_onnx_parity(tmp_path, views):
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    import keras

    from training.lite0.cam_export import build_cam_model, check_parity, export_onnx

    model = _tiny_classifier()
    rng = np.random.default_rng(4)
    images = tf.image.resize(rng.uniform(-1, 1, (4, 6, 5, 3)).astype(np.float32), (48, 40)).numpy()
    outs = build_cam_model(model, cam_class=2, tta=views)(images, training=False)
    features = keras.Model(model.input, model.get_layer("last_conv").output)
    head = model.get_layer("head")
    kernel, bias = head.kernel.numpy(), head.bias.numpy()
    plain = features(images).numpy()
    back = [_flip(features(_flip(images, v)).numpy(), v) for v in views]  # each view's map, flipped back
    logits = lambda fmap: fmap.mean(axis=(1, 2)) @ kernel + bias  # noqa: E731
    want = (logits(plain) + sum(logits(_flip(features(_flip(images, v)).numpy(), v)) for v in views)) / (1 + len(views))
    np.testing.assert_allclose(outs["logits"].numpy(), want, atol=1e-5)  # the mean of the views' logits
    assert not np.allclose(logits(plain), want, atol=1e-3)  # the views do differ
    mean_map = (plain + sum(back)) / (1 + len(views))
    small = np.maximum(np.einsum("bhwk,k->bhw", mean_map, kernel[:, 2]), 0)
    ref = tf.image.resize(small[..., None], (48, 40), method="bilinear").numpy()[..., 0]
    ref /= ref.reshape(4, -1).max(1)[:, None, None] + 1e-8
    np.testing.assert_allclose(outs["cam"].numpy(), ref, atol=1e-5)  # the heatmap of those logits, exact
    cam_model = build_cam_model(model, cam_class=2, tta=views)
    report = check_parity(cam_model, export_onnx(cam_model, tmp_path / "tta.onnx"), images)
    assert report.max_abs["probs"] <= 1e-4 and report.max_abs["cam"] <= 1e-4 and report.argmax_agree == 1.0


def test_tta_logits_model_and_view_checks():
    pytest.importorskip("tensorflow")
    from training.lite0.cam_export import CamExportError, build_cam_model, tta_averaged_logits

    model = _tiny_classifier(1)
    images = np.random.default_rng(5).uniform(-1, 1, (3, 48, 40, 3)).astype(np.float32)
    both = tta_averaged_logits(model, ("vflip", "rot180"))(images, training=False).numpy()
    ref = sum(model(_flip(images, v) if v else images, training=False).numpy() for v in (None, "vflip", "rot180")) / 3
    np.testing.assert_allclose(both, ref, atol=1e-6)
    with pytest.raises(CamExportError, match="unknown test-time view"):
        build_cam_model(model, tta=("spin",))
    with pytest.raises(CamExportError, match="repeat"):
        build_cam_model(model, tta=("vflip", "vflip"))
