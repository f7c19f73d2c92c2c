"""Pure parts of the multi-source pipeline (no TensorFlow unless marked): test_data / extra_data
configs, how sources are split, split.csv extras, retraining options, version bumps, blur/noise
augmentation, and (with TensorFlow) the output-stride-16 dilation being exact."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.pipeline.augment import Augmenter
from training.pipeline.config import (ConfigError, DataNotFoundError, apply_quick, apply_user_data, build_config,
                                      bump_version, data_sources)
from training.pipeline.datasets import load_pools
from training.pipeline.splits import SplitError, read_split, split_pools, split_samples, split_train_val, write_split


def _csv_source(folder: Path, n: int, prefix: str = "img", masks: bool = False) -> Path:
    """folder/labels.csv (file,label,background,mask) with n tiny images, alternating classes."""
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        label = ("intact", "damaged")[i % 2]
        (folder / label).mkdir(exist_ok=True)
        name = f"{label}/{prefix}_{i:03d}.png"
        Image.new("RGB", (8, 8), (10 * i % 255, 50, 90)).save(folder / name)
        mask = ""
        if masks and label == "damaged":
            (folder / "masks").mkdir(exist_ok=True)
            mask = f"masks/{prefix}_{i:03d}.png"
            Image.new("L", (8, 8), 255).save(folder / mask)
        rows.append({"file": name, "label": label, "background": f"bg{i % 3}", "mask": mask})
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["file", "label", "background", "mask"])
        w.writeheader()
        w.writerows(rows)
    return folder / "labels.csv"


def _cfg(tmp_path: Path, with_test: bool = True, **over) -> dict:
    raw = {"id": "demo", "classes": ["intact", "damaged"],
           "data": {"format": "csv", "csv": str(_csv_source(tmp_path / "train", 40)), "path_column": "file",
                    "id_column": "file"},
           "evaluation": {"unseen": ["background"], "masks": {"column": "mask"}}}
    if with_test:
        raw["test_data"] = {"csv": str(_csv_source(tmp_path / "test", 12, masks=True)), "source": "the test render"}
    raw.update(over)
    return build_config(raw)


def test_test_data_inherits_columns_not_location(tmp_path):
    cfg = _cfg(tmp_path)
    t = cfg["test_data"]
    assert t["format"] == "csv" and t["path_column"] == "file" and t["id_column"] == "file"
    assert t["generate"] is None and t["holdout"] == "all" and t["source"] == "the test render"
    assert cfg["evaluation"]["masks"] == {"column": "mask", "tolerance_px": 3, "examples": 8, "by": None}
    assert [(n, h) for n, _, h in data_sources(cfg)] == [("data", "none"), ("test_data", "all")]
    with pytest.raises(ConfigError, match="unknown config key 'test_data.cvs'"):
        build_config({"id": "demo", "test_data": {"cvs": "x.csv"}})
    with pytest.raises(ConfigError, match="holdout"):
        build_config({"id": "demo", "data": {"holdout": "carve"}, "test_data": {"csv": "x.csv"}})
    with pytest.raises(ConfigError, match="output_stride"):
        build_config({"id": "demo", "backbone": {"name": "tiny-cnn", "output_stride": 16}})
    with pytest.raises(ConfigError, match="masks"):
        build_config({"id": "demo", "evaluation": {"masks": {"colum": "mask"}}})


def test_without_new_keys_the_split_is_the_old_one(tmp_path):
    cfg = _cfg(tmp_path, with_test=False)
    assert [(n, h) for n, _, h in data_sources(cfg)] == [("data", "carve")]
    pools = load_pools(cfg)
    a = split_pools(pools, val=0.2, test=0.2, seed=3)
    b = split_samples(pools[0].dataset.samples, val=0.2, test=0.2, seed=3)
    assert {k: [s.id for s in v] for k, v in a.items()} == {k: [s.id for s in v] for k, v in b.items()}
    assert all(not s.id.startswith("data:") for s in pools[0].dataset.samples)


def test_separate_test_source_is_the_whole_test_side(tmp_path):
    cfg = _cfg(tmp_path)
    pools = load_pools(cfg)
    assert [p.name for p in pools] == ["data", "test_data"]
    split = split_pools(pools, val=0.25, test=0.15, seed=1)
    assert len(split["test"]) == 12 and len(split["train"]) + len(split["val"]) == 40
    assert len(split["val"]) == 10  # val is 0.25 of the train/val-only source
    assert all(s.id.startswith("test_data:") and s.extra["source"] == "test_data" for s in split["test"])
    assert {s.label for s in split["val"]} == {"intact", "damaged"}
    # the two renders share file names (img_000.png ...), their ids do not collide
    trainval_ids = {s.id for s in split["train"] + split["val"]}
    assert {s.id.split(":", 1)[1] for s in split["test"]} & trainval_ids
    assert not {s.id for s in split["test"]} & trainval_ids
    # masks are resolved against the CSV's folder
    damaged = [s for s in split["test"] if s.label == "damaged"]
    assert damaged and all(Path(s.extra["mask"]).is_file() for s in damaged)
    assert all(s.extra["mask"] == "" for s in split["test"] if s.label == "intact")
    # split.csv keeps the extras and reads them back
    write_split(split, tmp_path / "split.csv", ["source", "background", "mask"])
    back = read_split(tmp_path / "split.csv")
    assert [s.id for s in back["test"]] == [s.id for s in split["test"]]
    assert back["test"][1].extra == {k: split["test"][1].extra[k] for k in ("source", "background", "mask")}


def test_split_train_val_and_empty_sides(tmp_path):
    cfg = _cfg(tmp_path)
    samples = load_pools(cfg)[0].dataset.samples
    tv = split_train_val(samples, val=0.2, seed=0)
    assert len(tv["val"]) == 8 and len(tv["train"]) == 32 and tv["test"] == []
    with pytest.raises(SplitError):
        split_train_val(samples[:1], val=0.2, seed=0)
    cfg = _cfg(tmp_path / "b", with_test=False, data={
        "format": "csv", "csv": str(tmp_path / "train" / "labels.csv"), "path_column": "file", "holdout": "none"})
    with pytest.raises(ConfigError, match="no data source gives test images"):
        load_pools(cfg)


def test_quick_limits_the_test_source_too(tmp_path):
    cfg = apply_quick(_cfg(tmp_path))
    cfg["quick"]["limit_per_class"] = 3
    cfg = apply_quick(cfg)
    assert cfg["test_data"]["limit_per_class"] == 3
    pools = load_pools(cfg)
    assert len(pools[1].dataset.samples) == 6


def test_user_data_replace_mix_and_version(tmp_path):
    cfg = _cfg(tmp_path)
    photos = tmp_path / "photos"
    for label in ("intact", "damaged"):
        (photos / label).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(photos / label / f"p{i}.jpg")
    r = apply_user_data(cfg, photos)
    assert r["version"] == "1.1.0" and r["test_data"] is None and r["data"]["format"] == "folder"
    assert [(n, h) for n, _, h in data_sources(r)] == [("data", "carve")]
    assert r["_user_data"] == {"path": str(photos.resolve()), "mode": "replace", "test": "own"}
    r = apply_user_data(cfg, photos, test="config")
    assert [(n, h) for n, _, h in data_sources(r)] == [("data", "none"), ("test_data", "all")]
    r = apply_user_data(cfg, photos, mode="mix")
    assert [(n, h) for n, _, h in data_sources(r)] == [("data", "none"), ("extra", "carve")]
    assert r["data"]["csv"] == cfg["data"]["csv"] and "mixed with" in r["data"]["source"]
    split = split_pools(load_pools(r), val=0.25, test=0.25, seed=0)
    assert {s.extra["source"] for s in split["test"]} == {"extra"}
    assert apply_user_data(cfg, photos, version="3.0.0")["version"] == "3.0.0"
    with pytest.raises(DataNotFoundError):
        apply_user_data(cfg, tmp_path / "nowhere")
    with pytest.raises(ConfigError):
        apply_user_data(cfg, photos, mode="merge")


def test_bump_version():
    assert bump_version("1.0.0", "minor") == "1.1.0"
    assert bump_version("1.2.3", "patch") == "1.2.4"
    assert bump_version("1.2.3", "none") == "1.2.3"
    assert bump_version("2", "minor") == "2.1.0"


def test_blur_and_noise_augmentation():
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, 16:] = 255
    rng = np.random.default_rng(0)
    blurred = Augmenter(rotation=0, width_shift=0, height_shift=0, zoom=0, horizontal_flip=False, blur=1.0,
                        blur_sigma=(2.0, 2.0))(img, rng)
    assert 0 < blurred[0, 15, 0] < 255 and blurred[0, 0, 0] == 0  # the edge is smeared, far pixels kept
    noisy = Augmenter(rotation=0, width_shift=0, height_shift=0, zoom=0, horizontal_flip=False, noise=1.0,
                      noise_sigma=(0.1, 0.1))(np.full((32, 32, 3), 128, np.uint8), rng)
    assert 15 < noisy.astype(float).std() < 35
    # unused degradations stay out of the description (the feature-cache key of older configs)
    assert "blur" not in Augmenter().describe() and "blur" in Augmenter(blur=0.5).describe()
    with pytest.raises(ValueError):
        Augmenter.from_config({"blur": 2.0})


def test_output_stride_16_is_exact_on_the_subsampled_grid():
    pytest.importorskip("tensorflow")
    import keras
    from keras import layers

    from training.pipeline.backbones import dilate_last_stride

    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", name="stem")(inp)
    x = layers.DepthwiseConv2D(5, strides=2, padding="same", name="b1_dw")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="b2_dw")(x)
    x = layers.DepthwiseConv2D(5, padding="same", name="b3_dw")(x)
    x = layers.Conv2D(6, 1, name="top")(x)
    model = keras.Model(inp, x)
    x_in = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype(np.float32)
    dense = dilate_last_stride(model)
    assert [layer.name for layer in dense.layers if layer.weights] == [layer.name for layer in model.layers if layer.weights]
    assert dense.get_layer("b1_dw").strides == (1, 1) and dense.get_layer("b3_dw").dilation_rate == (2, 2)
    a = np.asarray(model(x_in))
    b = np.asarray(dense(x_in))
    assert a.shape == (2, 8, 8, 6) and b.shape == (2, 16, 16, 6)
    np.testing.assert_allclose(b[:, 1::2, 1::2], a, atol=1e-5)
