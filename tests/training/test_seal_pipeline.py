"""The seal pack's pipeline paths on tiny renders (tiny-cnn backbone, seconds):

- the bundled seal config, pointed at tiny renders, trains with a *separate test source*: the
  training/validation render excludes one background and one lighting set-up, the test render
  (another seed) includes them; the split records it, the export reports metrics on the unseen
  conditions, scores the app's heatmaps against the defect masks and draws a contact sheet;
- ``train --data PHOTOS`` (a folder per class) retrains, bumps the version and exports into a user
  packs folder, whose pack then wins over the bundled one in the app's registry.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from training.pipeline.config import build_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HELD_OUT_BG, HELD_OUT_LIGHT = "wood_crate", "warehouse_sodium"


def seal_config(root: Path, **over) -> dict:
    """The bundled seal config, shrunk: tiny renders under ``root``, tiny-cnn, few epochs."""
    raw = yaml.safe_load((REPO / "training" / "configs" / "seal-integrity.yaml").read_text(encoding="utf-8"))
    raw["data"]["csv"] = str(root / "train" / "labels.csv")
    raw["data"]["generate"].update({"count": 64, "size": 64, "workers": 1})
    raw["test_data"]["csv"] = str(root / "test" / "labels.csv")
    raw["test_data"]["generate"].update({"count": 24, "size": 64, "workers": 1})
    from training.seals.wide import PHOTO_BACKGROUNDS, photo_dir
    if not photo_dir().is_dir():
        # wide mode's texture photos are not shipped: without them, the procedural conditions only
        for block in (raw["data"]["generate"], raw["test_data"]["generate"]):
            block["wide"] = False
        raw["data"]["generate"]["backgrounds"] = [b for b in raw["data"]["generate"]["backgrounds"]
                                                  if b not in PHOTO_BACKGROUNDS]
    raw["split"] = {"val": 0.25, "test": 0.25}
    raw["input"] = {"size": 32}
    # The bundled recipe's shape (cut backbone + neck from scratch, no head stage, mask loss), tiny.
    raw["backbone"] = {"name": "tiny-cnn", "width": 8, "cut": "block2", "neck": [[8, 3]]}
    raw["augment"]["copies"] = 1
    raw["schedule"].update({"batch_size": 16, "head": {"epochs": 0},
                            "finetune": {"blocks": 1, "epochs": 2, "lr": 0.001, "head_lr": 0.01, "patience": 2}})
    assert raw["schedule"]["mask_loss"]["column"] == "mask"
    raw["ood"] = {"limit": 6, "sets": [{"name": "documents", "kind": "synthetic-documents"}], "methods": ["mahalanobis"],
                  "mahalanobis": {"features": "backbone", "max_fit": 40}}
    raw["evaluation"].update({"samples": 2, "parity_images": 8})
    raw["evaluation"]["masks"]["examples"] = 4
    raw["card"]["contact_sheet"] = {"module": "training.seals", "limit": 8, "cols": 4, "thumb": 64}
    raw.update(over)
    return build_config(raw, source="test")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from training.pipeline.export import export_run
    from training.pipeline.train_cmd import train_pack

    root = tmp_path_factory.mktemp("seal-pipeline")
    cfg = seal_config(root / "data")
    logs: list[str] = []
    run = train_pack(cfg, root / "run", cache_dir=None, log=logs.append)
    report = export_run(run, models_dir=root / "models", samples_dir=root / "samples", log=logs.append)
    return {"root": root, "run": run, "report": report, "cfg": cfg, "logs": logs}


def _split_rows(run: Path) -> list[dict]:
    with open(run / "split.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_bundled_config_holds_a_background_and_a_lighting_out_of_training():
    from training.pipeline.config import data_sources, load_config
    from training.seals import ALL_BACKGROUND_NAMES, BACKGROUND_NAMES, LIGHTING_NAMES

    cfg = load_config(REPO / "training" / "configs" / "seal-integrity.yaml")
    gen, test_gen = cfg["data"]["generate"], cfg["test_data"]["generate"]
    assert HELD_OUT_BG in BACKGROUND_NAMES and HELD_OUT_LIGHT in LIGHTING_NAMES
    assert HELD_OUT_BG not in gen["backgrounds"] and HELD_OUT_LIGHT not in gen["lighting"]
    assert set(gen["backgrounds"]) == set(ALL_BACKGROUND_NAMES) - {HELD_OUT_BG}
    assert gen["wide"] is True and test_gen["wide"] is True   # generator 1.2's wide mode on both sides
    assert set(gen["lighting"]) == set(LIGHTING_NAMES) - {HELD_OUT_LIGHT}
    assert "backgrounds" not in test_gen and "lighting" not in test_gen  # the test render has them all
    assert test_gen["seed"] != gen["seed"]
    assert [(n, h) for n, _, h in data_sources(cfg)] == [("data", "none"), ("test_data", "all")]
    assert cfg["evaluation"]["unseen"] == ["background", "lighting"]
    assert cfg["evaluation"]["masks"]["column"] == "mask"


def test_the_mask_loss_and_the_neck_were_used(trained):
    import csv as _csv

    logs = "\n".join(trained["logs"])
    assert "mask loss (weight 1.0)" in logs and "covered cells each" in logs
    with open(trained["run"] / "history.csv", newline="") as f:
        rows = list(_csv.DictReader(f))
    assert [r["stage"] for r in rows] == ["finetune", "finetune"]
    assert all(float(r["train_mask_loss"]) > 0 for r in rows)
    manifest = json.loads((trained["root"] / "models" / "seal-integrity" / "manifest.json").read_text())
    assert "neck" in manifest["training"]["backbone"] and "cut after block2" in manifest["training"]["backbone"]


def test_the_out_of_domain_score_reads_the_backbone_before_the_neck(trained):
    """The Mahalanobis score is fitted on pooled *backbone* features (16 values for tiny-cnn's
    block2, the neck has 8 filters) of at most ``max_fit`` training images, and the ONNX graph
    computes it from the same single backbone pass (parity against Keras)."""
    import onnx

    logs = "\n".join(trained["logs"])
    assert "Mahalanobis on the pooled backbone features (16 values), fitted on 40 training images" in logs
    pack = trained["root"] / "models" / "seal-integrity"
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["ood"]["score"] == "output" and "pooled backbone features" in manifest["ood"]["method"]
    # the bundled config's heatmap shows the evidence for "damaged" whatever the verdict
    assert manifest["decision"]["heatmap_class"] == "damaged"
    # ... and answers for the photo and its mirror image together (the backbone runs twice: 8 Conv)
    assert manifest["training"]["mirror_average"] is True
    assert manifest["runtime"] == {"max_batch": 8}  # two backbone branches: half the batch
    assert "the class 'damaged', whatever the verdict," in trained["report"]["heatmap"]["heatmap"]
    graph = onnx.load(str(pack / "model.onnx")).graph
    assert "ood_score" in {o.name for o in graph.output}
    # Two backbone passes (the photo and its mirror image): tiny-cnn cut after block2 (stem, block1,
    # block2) and the neck, 4 convolutions each; the OOD score reads the first pass, no third one.
    assert sum(n.op_type == "Conv" for n in graph.node) == 8
    assert trained["report"]["parity"]["max_abs"]["ood_score"] < 1e-3


def test_test_side_is_exactly_the_separate_render(trained):
    run, root = trained["run"], trained["root"]
    rows = _split_rows(run)
    assert {"source", "background", "lighting", "mask", "defect"} <= set(rows[0])
    test = [r for r in rows if r["side"] == "test"]
    trainval = [r for r in rows if r["side"] != "test"]
    assert len(test) == 24 and len(trainval) == 64
    assert all(r["source"] == "test_data" and r["id"].startswith("test_data:") for r in test)
    assert all(r["source"] == "data" for r in trainval)
    assert all(Path(r["path"]).is_relative_to(root / "data" / "test") for r in test)
    assert {r["side"] for r in trainval} == {"train", "val"}
    assert not {r["background"] for r in trainval} & {HELD_OUT_BG}
    assert not {r["lighting"] for r in trainval} & {HELD_OUT_LIGHT}
    # Masks are recorded as resolved paths, for damaged images only.
    for r in test:
        assert (r["mask"] != "") == (r["label"] == "damaged")
        if r["mask"]:
            assert Path(r["mask"]).is_file()
    summary = json.loads((run / "split_summary.json").read_text())
    assert [(s["name"], s["holdout"]) for s in summary["sources"]] == [("data", "none"), ("test_data", "all")]
    assert summary["sources"][1]["per_side"] == {"train": 0, "val": 0, "test": 24}
    # The generator recorded what it rendered; a second train with the same settings reuses it.
    stamp = json.loads((root / "data" / "test" / ".tilik-generate.json").read_text())
    assert stamp["seed"] == trained["cfg"]["test_data"]["generate"]["seed"] and stamp["count"] == 24
    assert any("generating 24 images" in m for m in trained["logs"])


def test_maybe_generate_reuses_matching_data_and_regenerates_changed_settings(trained, tmp_path):
    from training.pipeline.train_cmd import maybe_generate

    cfg = trained["cfg"]
    logs: list[str] = []
    maybe_generate(cfg, logs.append)
    assert logs == []  # nothing to do: same settings (workers do not count)
    import copy

    changed = copy.deepcopy(cfg)
    changed["test_data"]["csv"] = str(tmp_path / "t" / "labels.csv")
    changed["test_data"]["generate"]["count"] = 6
    maybe_generate(changed, logs.append)
    assert len(list((tmp_path / "t").glob("*/seal_*.jpg"))) == 6
    changed["test_data"]["generate"]["count"] = 4
    maybe_generate(changed, logs.append)
    assert any("other settings" in m for m in logs)
    assert len(list((tmp_path / "t").glob("*/seal_*.jpg"))) == 4


def test_export_reports_unseen_conditions_heatmaps_and_a_contact_sheet(trained):
    rep = trained["report"]
    subsets = {s["name"]: s for s in rep["test_subsets"]}
    split = _split_rows(trained["run"])
    rows = [r for r in split if r["side"] == "test"]
    # "Unseen" means absent from the training and validation images: the held-out background and
    # lighting always, and in a render this small (32 scenes) any other that happens not to occur.
    seen_bg = {r["background"] for r in split if r["side"] != "test"}
    seen_light = {r["lighting"] for r in split if r["side"] != "test"}
    n_bg = sum(r["background"] not in seen_bg for r in rows)
    n_light = sum(r["lighting"] not in seen_light for r in rows)
    n_any = sum(r["background"] not in seen_bg or r["lighting"] not in seen_light for r in rows)
    if n_bg:
        assert subsets["unseen background"]["n"] == n_bg
        assert set(subsets["unseen background"]["values"]["background"]) == \
            {r["background"] for r in rows if r["background"] not in seen_bg}
    assert HELD_OUT_BG not in seen_bg and HELD_OUT_LIGHT not in seen_light
    if n_light:
        assert subsets["unseen lighting"]["n"] == n_light
    assert n_any > 0, "a 24-image render with 10 backgrounds and 7 lightings holds some unseen ones"
    assert subsets["unseen background or lighting"]["n"] == n_any
    assert subsets["all seen"]["n"] == len(rows) - n_any
    by_defect = rep["test_breakdown"]["defect"]
    assert sum(r["n"] for r in by_defect.values()) == len(rows) and by_defect["none"]["true"] == {"intact": 12}
    assert set(rep["test_breakdown"]) == {"defect", "family"}
    heat = rep["heatmap"]
    n_damaged = sum(r["label"] == "damaged" for r in rows)
    assert heat["all"]["n"] == n_damaged and heat["tolerance_px"] == 3
    assert 0 <= heat["all"]["pointing_game"] <= 1 and 0 <= heat["all"]["mass_inside_mean"] <= 1
    assert 0 < heat["all"]["mask_area_mean"] < 1
    assert set(heat["groups"]) <= {"cut", "crack", "prised", "missing", "frayed", "lifted_void"}
    assert sum(g["n"] for g in heat["groups"].values()) == n_damaged
    pack = trained["root"] / "models" / "seal-integrity"
    for name in ("contact_sheet.png", "heatmap_examples.png", "CARD.md"):
        assert (pack / name).is_file(), name
    manifest = json.loads((pack / "manifest.json").read_text())
    m = manifest["metrics"]
    assert m["heatmap"]["pointing_game"] == round(heat["all"]["pointing_game"], 4)
    assert m["heatmap"]["tolerance_px"] == 3 and "mask_area_mean" in m["heatmap"]
    assert "unseen background or lighting" in m["test_subsets"]
    assert {"blur_50", "noise_50"} <= set(m["robustness_accuracy"])
    assert "separate test source" in m["split"] and "defect" in m["test_breakdown"]
    test_seed = str(trained["cfg"]["test_data"]["generate"]["seed"])
    assert "test_source" in manifest["data"] and test_seed in manifest["data"]["test_source"]
    card = (pack / "CARD.md").read_text()
    for needle in ("from a separate source", "conditions never seen in training", "Pointing game",
                   "chance (mask area)", "contact_sheet.png", "heatmap_examples.png",
                   "Retraining on your own photos", "Trained on generated images only", "test only",
                   "pointing game (peak within 3 px", "Test images by defect", "Test images by family"):
        assert needle in card, needle


def _next_minor(version: str) -> str:
    """The version a minor bump gives (written out here, not taken from the code under test)."""
    major, minor, _ = (int(x) for x in version.split("."))
    return f"{major}.{minor + 1}.0"


def test_retrain_on_a_photo_folder_bumps_the_version_and_overrides_the_bundled_pack(trained, tmp_path, capsys):
    from inference.registry import PackRegistry
    from training.cli import main
    from training.seals import generate_dataset

    # "Real photos": another render, sorted into PHOTOS/intact and PHOTOS/damaged as a user would.
    render = tmp_path / "render"
    rows = generate_dataset(render, 48, seed=77, size=64)
    photos = tmp_path / "PHOTOS"
    for r in rows:
        (photos / r["label"]).mkdir(parents=True, exist_ok=True)
        shutil.copy2(render / r["file"], photos / r["label"] / f"photo_{Path(r['file']).name}")
    cfg = {k: v for k, v in trained["cfg"].items() if not k.startswith("_")}
    config = tmp_path / "seal-tiny.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    user_packs = tmp_path / "user-packs"
    samples_before = sorted(p.name for p in (REPO / "resources" / "samples").glob("*"))
    rc = main(["train", str(config), "--data", str(photos), "--out", str(tmp_path / "run"), "--no-cache",
               "--export", "--models-dir", str(user_packs)])
    assert rc == 0
    assert "mask loss: no damaged training image has a mask" in capsys.readouterr().out
    assert sorted(p.name for p in (REPO / "resources" / "samples").glob("*")) == samples_before
    pack = user_packs / "seal-integrity"
    manifest = json.loads((pack / "manifest.json").read_text())
    bumped = _next_minor(cfg["version"])  # retrain.version_bump: minor, on top of the config's version
    assert manifest["version"] == bumped
    assert manifest["data"]["retrained_on"]["mode"] == "replace"
    assert str(photos) in manifest["data"]["source"]
    assert "--data" in manifest["training"]["built_by"]
    # Replace + test "own": every side comes from the photos, the test side carved from them.
    with open(tmp_path / "run" / "split.csv", newline="") as f:
        split = list(csv.DictReader(f))
    assert len(split) == 48 and all(Path(r["path"]).is_relative_to(photos) for r in split)
    assert {r["side"] for r in split} == {"train", "val", "test"}
    assert (user_packs / "_samples" / "seal-integrity" / "samples.json").is_file()
    assert manifest["samples"].endswith("_samples/seal-integrity")
    registry = PackRegistry([(trained["root"] / "models", "bundled"), (user_packs, "user")])
    chosen = registry.get("seal-integrity")
    assert chosen.origin == "user" and chosen.version == bumped
    assert [p.id for p in registry.all()].count("seal-integrity") == 2
    # Export again with the evaluation/card settings as the config says now (no retraining).
    cfg["card"]["title"] = "Retitled seal pack"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    again = tmp_path / "again"
    assert main(["export", str(tmp_path / "run"), "--refresh-config", "--models-dir", str(again)]) == 0
    assert (again / "seal-integrity" / "CARD.md").read_text().startswith("# Retitled seal pack")
    assert (again / "_samples" / "seal-integrity" / "samples.json").is_file()
    # The retrained run's bumped version stays (the config names an earlier one) ...
    assert json.loads((again / "seal-integrity" / "manifest.json").read_text())["version"] == bumped
    # ... and a config naming a later version relabels the re-export.
    cfg["version"] = "9.0.0"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    assert main(["export", str(tmp_path / "run"), "--refresh-config", "--models-dir", str(tmp_path / "v9")]) == 0
    assert json.loads((tmp_path / "v9" / "seal-integrity" / "manifest.json").read_text())["version"] == "9.0.0"


def test_retrain_mix_keeps_generated_data_for_training_and_tests_on_the_photos(trained, tmp_path):
    from training.pipeline.config import apply_user_data, data_sources
    from training.pipeline.datasets import load_pools
    from training.pipeline.splits import split_pools

    photos = tmp_path / "PHOTOS"
    from PIL import Image

    for label in ("intact", "damaged"):
        (photos / label).mkdir(parents=True)
        for i in range(8):
            Image.new("RGB", (40, 40), (30 * i, 100, 50 if label == "intact" else 200)).save(photos / label / f"p{i}.jpg")
    cfg = apply_user_data(trained["cfg"], photos, mode="mix", version="2.0.0")
    assert cfg["version"] == "2.0.0" and cfg["test_data"] is None
    assert [(n, h) for n, _, h in data_sources(cfg)] == [("data", "none"), ("extra", "carve")]
    pools = load_pools(cfg)
    split = split_pools(pools, val=0.25, test=0.25, seed=1)
    assert all(s.extra["source"] == "extra" for s in split["test"]) and len(split["test"]) == 4
    assert {s.extra["source"] for s in split["train"]} == {"data", "extra"}
    # test "config": the generated test render stays the test side; the photos only train.
    cfg = apply_user_data(trained["cfg"], photos, mode="mix", test="config")
    assert cfg["version"] == _next_minor(trained["cfg"]["version"])
    assert [(n, h) for n, _, h in data_sources(cfg)] == [("data", "none"), ("extra", "none"), ("test_data", "all")]


def test_the_attack_model_is_the_mirror_averaged_one_the_onnx_file_is(trained):
    """The guard and `fgsm` attack the Keras model the ONNX file was exported from: with
    ``decision.mirror_average`` that is the mean over the photo and its mirror image."""
    from inference.manifest import load_manifest
    from training.guard.keras_pack import fitted01, load_keras_pack

    models = trained["root"] / "models"
    kp = load_keras_pack("seal-integrity", run_dir=trained["run"], models_dir=models)
    spec = load_manifest(models / "seal-integrity" / "manifest.json").input
    x01 = fitted01([r["path"] for r in _split_rows(trained["run"])[:6]], spec)
    assert np.max(np.abs(kp.probs(x01) - kp.onnx_probs(x01))) < 1e-4
    # only a model that averages both views gives a photo and its mirror image the same answer
    assert np.max(np.abs(kp.probs(x01) - kp.probs(x01[:, :, ::-1]))) < 1e-5
