"""Round trip of the training pipeline on a tiny dataset made here: folder-per-class images with
writer-like groups -> ``train_pack`` (tiny-cnn backbone, a handful of steps) -> ``export_run`` ->
a pack that validates, loads in the app's Inspector, classifies, and passes the self-test.

One module-scoped run keeps the whole file to seconds; no ../shared data is needed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from training.pipeline.config import build_config  # noqa: E402

CLASSES = ("red", "blue")


def make_tree(root: Path, per_class: int = 24, seed: int = 0) -> Path:
    """``root/<class>/g<group>_<i>.png``: reddish or bluish noisy images, two per group."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            base = np.array([200, 40, 40] if name == "red" else [40, 60, 200], np.float32)
            img = base + rng.normal(0, 30, (40, 48, 3))
            y0, x0 = rng.integers(0, 20, 2)
            img[y0:y0 + 12, x0:x0 + 12] = rng.uniform(0, 255, 3)  # a distracting patch
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / name / f"g{c}{i // 2:02d}_{i}.png")
    return root


def tiny_config(data: Path) -> dict:
    return build_config({
        "id": "tiny-colours", "name": "Tiny colours (test)", "mode": "general", "seed": 7,
        "training_data": "synthetic",  # images drawn by make_tree
        "data": {"format": "folder", "folder": str(data), "group_pattern": r"^g(\d+)_",
                 "source": "made by the test", "licence": "test data"},
        "classes": [{"name": "red", "label": "Red"}, {"name": "blue", "label": "Blue"}],
        "split": {"val": 0.25, "test": 0.25},
        "input": {"size": 32},
        "backbone": {"name": "tiny-cnn", "width": 8},
        "augment": {"copies": 1, "brightness": 0.1},
        "schedule": {"batch_size": 16, "monitor": "accuracy",
                     "head": {"epochs": 4, "lr": 0.05, "patience": 4},
                     "finetune": {"blocks": 1, "epochs": 1, "lr": 0.001, "patience": 1}},
        "decision": {"alarming": ["blue"], "target_sensitivity": 0.9, "top_k": 2,
                     "verdict_words": {"blue": "Blue: look closer"}},
        "ood": {"limit": 6, "sets": [{"name": "documents", "kind": "synthetic-documents"}]},
        "evaluation": {"samples": 2, "parity_images": 8,
                       "robustness": {"fractions": [0.25, 0.5, 0.75], "blur_sigma": 1.0, "noise_sigma": 0.05}},
        "card": {"intended_use": "Tests.", "limitations": "Tiny.", "not_tested": ["anything real"]},
    }, source="test")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from training.pipeline.export import export_run
    from training.pipeline.train_cmd import train_pack

    root = tmp_path_factory.mktemp("pipeline")
    data = make_tree(root / "data")
    cfg = tiny_config(data)
    logs: list[str] = []
    run = train_pack(cfg, root / "run", cache_dir=root / "cache", log=logs.append)
    report = export_run(run, models_dir=root / "models", samples_dir=root / "samples", log=logs.append)
    return {"root": root, "run": run, "report": report, "cfg": cfg, "logs": logs, "data": data}


def test_run_folder_records_split_history_and_weights(trained):
    run = trained["run"]
    for name in ("config.yaml", "split.csv", "split_summary.json", "history.csv", "training_curves.png",
                 "weights.npz", "outputs.npz", "train_summary.json", "export_report.json"):
        assert (run / name).is_file(), name
    with open(run / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 48
    sides_of_group: dict[str, set] = {}
    for r in rows:
        sides_of_group.setdefault(r["group"], set()).add(r["side"])
    assert all(len(s) == 1 for s in sides_of_group.values()), "a group is on two sides"
    assert {r["side"] for r in rows} == {"train", "val", "test"}
    with open(run / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    assert [h["stage"] for h in history][:1] == ["head"] and history[-1]["stage"] == "finetune"
    assert {"train_loss", "val_accuracy", "val_balanced_accuracy", "val_roc_auc", "seconds"} <= set(history[0])
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["split"]["grouped"] and summary["boundary"] == "block2_conv"


def test_export_writes_a_valid_pack_with_parity(trained):
    from inference.manifest import load_manifest
    from inference.registry import check_pack

    pack_dir = trained["root"] / "models" / "tiny-colours"
    for name in ("model.onnx", "manifest.json", "CARD.md", "confusion_matrix.png", "roc_curves.png",
                 "training_curves.png"):
        assert (pack_dir / name).is_file(), name
    m = load_manifest(pack_dir / "manifest.json")
    assert m.training_data == "synthetic"  # from the config: the app's "trained on generated photos" notice
    assert m.input.name == "input" and m.input.layout == "NHWC" and (m.input.height, m.input.width) == (32, 32)
    assert set(m.outputs) >= {"probs", "logits", "cam", "embedding"}
    assert m.decision.alarming == ("blue",) and m.decision.alarm_threshold is not None
    assert m.decision.review_band is not None and m.decision.review_band[0] <= m.decision.alarm_threshold
    assert m.ood is not None and m.ood.score in ("energy", "output")
    if m.ood.score == "output":
        assert "ood_score" in m.outputs
    assert check_pack(pack_dir).usable
    par = trained["report"]["parity"]
    assert par["max_abs"]["probs"] <= 1e-4 and par["argmax_agree"] == 1.0 and par["n"] == 8
    assert par["max_abs"]["cam"] < 1e-3
    import onnx

    model = onnx.load(str(pack_dir / "model.onnx"))
    assert model.opset_import[0].version == 17 or any(o.version == 17 for o in model.opset_import)
    dim0 = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch"


def test_pack_loads_in_the_inspector_and_classifies(trained):
    from inference.inspector import Inspector, clear_session_cache
    from inference.registry import check_pack

    clear_session_cache()
    inspector = Inspector(check_pack(trained["root"] / "models" / "tiny-colours"), "cpu")
    red = np.zeros((50, 60, 3), np.uint8)
    red[:] = (210, 35, 35)
    blue = np.zeros((50, 60, 3), np.uint8)
    blue[:] = (35, 55, 210)
    # A gentle gradient: a flat frame is refused as blank (no class), which is not what this checks.
    ramp = np.linspace(-12, 12, 60)[None, :, None]
    red = np.clip(red + ramp, 0, 255).astype(np.uint8)
    blue = np.clip(blue + ramp, 0, 255).astype(np.uint8)
    results = [inspector.classify(red), inspector.classify(blue)]
    assert [r.label for r in results] == ["red", "blue"]
    for r in results:
        assert r.heatmap is not None and r.heatmap_image().shape == (50, 60)
        assert set(r.probabilities) == {"red", "blue"} and abs(sum(r.probabilities.values()) - 1) < 1e-5
        assert r.ood_score is not None
    assert results[1].verdict.startswith("Blue: look closer")


def test_robustness_reruns_only_the_degraded_images_with_the_same_answers(trained):
    from inference.inspector import Inspector, clear_session_cache
    from inference.registry import check_pack
    from training.pipeline.export import _inspect, _inspect_degraded
    from training.pipeline.robustness import degrade

    clear_session_cache()
    inspector = Inspector(check_pack(trained["root"] / "models" / "tiny-colours"), "cpu")
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(12)]
    clean = _inspect(inspector, images, names=[f"test{i}" for i in range(12)])
    imgs, idx = degrade(images, "noise", 0.5, seed=1, blur_sigma=1.0, noise_sigma=0.3, input_size=32)
    assert len(idx) == 6
    full = _inspect(inspector, imgs, names=[f"test{i}" for i in range(12)])
    part = _inspect_degraded(inspector, imgs, idx, clean)
    for k in ("labels", "ood", "review"):
        assert np.array_equal(part[k], full[k]), k
    assert np.allclose(part["probs"], full["probs"], atol=1e-5)
    assert np.allclose(part["ood_score"], full["ood_score"], atol=1e-4)
    # The images left clean keep the clean answers; the degraded ones got new ones.
    keep = np.setdiff1d(np.arange(12), idx)
    assert np.array_equal(part["probs"][keep], clean["probs"][keep])
    assert not np.allclose(part["probs"][idx], clean["probs"][idx])


def test_self_test_passes_on_the_exported_samples(trained):
    from inference.selftest import run_self_test

    samples = trained["root"] / "samples" / "tiny-colours"
    entries = json.loads((samples / "samples.json").read_text())
    assert 1 <= len(entries) <= 2 and all((samples / e["file"]).is_file() for e in entries)
    report = run_self_test(provider="cpu", models_dir=trained["root"] / "models", samples_root=trained["root"] / "samples")
    assert report.ok, report.text()


def test_metrics_card_and_robustness_table(trained):
    rep = trained["report"]
    test = rep["test_app"]
    assert test["n"] == sum(sum(r) for r in test["confusion_matrix"])
    assert 0 <= test["accuracy"] <= 1 and "specificity" in test["per_class"]["red"]
    rows = rep["robustness"]
    assert [(r["kind"], r["fraction"]) for r in rows] == [("clean", 0.0), ("blur", 0.25), ("blur", 0.5), ("blur", 0.75),
                                                          ("noise", 0.25), ("noise", 0.5), ("noise", 0.75)]
    assert all(r["n"] == test["n"] for r in rows)
    assert set(rep["ood_report"]) == {"documents"} and rep["ood_report"]["documents"]["n"] == 3
    assert rep["ood_selection"]["chosen"] in ("energy", "mahalanobis")
    card = (trained["root"] / "models" / "tiny-colours" / "CARD.md").read_text()
    for needle in ("Results at a glance", "Robustness", "Out-of-domain", "NOT tested", "specificity", "Parity"):
        assert needle.lower() in card.lower(), needle


def test_feature_cache_is_keyed_by_the_files(trained):
    import os

    from training.pipeline.backbones import backbone_from_config
    from training.pipeline.features import FeatureCache, cached_trunk_features, input_block, spec_from_block
    from training.pipeline.splits import read_split

    run = trained["run"]
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["cache"] == {"dir": str(trained["root"] / "cache"), "hits": 0, "misses": 4}  # train/val/test + 1 copy
    cfg = trained["cfg"]
    backbone = backbone_from_config(cfg)
    block = input_block(cfg, backbone)
    parts = {"backbone": backbone.weights_id, "boundary": summary["boundary"], "input": block}
    paths = [s.path for s in read_split(run / "split.csv")["val"]]

    def must_not_run():
        raise AssertionError("features were recomputed instead of read from the cache")

    cache = FeatureCache(trained["root"] / "cache")
    feats = cached_trunk_features(cache, None, paths, must_not_run, spec_from_block(block), parts, log=lambda m: None)
    assert cache.hits == 1 and len(feats) == len(paths) and feats.dtype == np.float16
    # An edited image file changes the key: the cache misses (and would recompute).
    st = os.stat(paths[0])
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="recomputed"):
        cached_trunk_features(cache, None, paths, must_not_run, spec_from_block(block), parts, log=lambda m: None)


def test_cli_reports_missing_inputs(tmp_path, capsys):
    from training.cli import main

    assert main(["export", str(tmp_path / "no-run")]) == 2
    assert "not a finished training run" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "no config file" in capsys.readouterr().err
    cfg = tmp_path / "c.yaml"
    cfg.write_text("id: demo\ndata: {format: folder, folder: ../definitely-not-here/data}\n")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()
    err = capsys.readouterr().err
    assert "data folder not found" in err and "definitely-not-here" in err


def test_export_stages_run_one_at_a_time_and_match_export_run(trained, tmp_path):
    """The export is stages that run alone: each fills its part of the context, and run one by one
    they give the decision and test numbers export_run gave. The optional stages (test mixes,
    enlarged photos) score the same test answers again."""
    from training.pipeline import export_eval, export_stages as st

    c = st.load_stage(trained["run"], models_dir=tmp_path / "models", samples_dir=tmp_path / "samples", log=lambda m: None)
    assert c.pack_id == "tiny-colours" and set(c.split) == {"train", "val", "test"} and c.model is None
    st.model_stage(c)
    assert c.cam_model is not None and c.tta == () and not c.mirror
    st.ood_selection_stage(c)
    assert c.chosen in ("energy", "mahalanobis") and "documents" in c.halves
    st.onnx_stage(c)
    assert c.onnx_path.is_file() and c.par["max_abs"]["probs"] <= 1e-4
    st.thresholds_stage(c)
    assert c.decision == trained["report"]["decision"]
    st.manifest_stage(c)
    st.test_stage(c)
    assert c.test["app"]["accuracy"] == trained["report"]["test_app"]["accuracy"]
    np.testing.assert_allclose(c.res["probs"], np.load(trained["run"] / "test_predictions.npz")["probs"], atol=1e-6)
    c.cfg["evaluation"]["test_mixes"] = {"column": None, "cap": {"red": 0.4}, "one_per_group": True}
    c.cfg["evaluation"]["larger_inputs"] = {"width": 96, "height": 80, "quality": 95}
    export_eval.mixes_stage(c)
    mixes = c.extra["test_mixes"]["mixes"]
    assert mixes["natural"]["n"] == len(c.split["test"])
    capped = mixes["class-capped"]
    assert capped["n"] <= len({s.group for s in c.split["test"]})  # one image per group
    assert capped["per_class_support"]["red"] <= 0.4 / 0.6 * capped["per_class_support"]["blue"] + 1e-9
    assert (c.pack_dir / "calibration.png").is_file()
    table = c.extra["test_mixes"]["operating_table"]
    assert [r["target_sensitivity"] for r in table] == [0.85, 0.90, 0.95]
    row90 = table[1]
    assert row90["threshold"] == c.decision["alarm_threshold"]  # the shipped one is the 90% row
    assert row90["natural"]["sensitivity"] == pytest.approx(mixes["natural"]["alarm"]["sensitivity"])
    export_eval.larger_inputs_stage(c)
    li = c.extra["larger_inputs"]
    assert li["n"] == len(c.split["test"]) and 0 <= li["enlarged"]["same_decision"] <= 1
    from PIL import Image as _Image
    with _Image.open(next((c.run_dir / "test_96x80").glob("*.jpg"))) as im:
        assert im.size == (96, 80)
    for stage in ("robustness_stage", "ood_report_stage", "artifacts_stage"):
        getattr(st, stage)(c)
    report = st.finish_stage(c)
    card = (c.pack_dir / "CARD.md").read_text(encoding="utf-8")
    assert "## Test on the natural and the class-capped mix" in card or "Test on the natural and the class-capped mix" in card
    assert "Operating points" in card and "Photos larger than the training images" in card
    manifest = json.loads((c.pack_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["metrics"]["test_mixes"]) == {"natural", "class-capped"}
    assert report["decision"] == trained["report"]["decision"]


def test_export_with_temperature_puts_it_in_the_graph_before_the_thresholds(trained, tmp_path):
    """``decision.calibrate: temperature``: T fitted on the run's validation logits, in the ONNX graph
    (probs = softmax(logits / T), CAM and logits as without it), the thresholds chosen on those probs."""
    import onnx
    import onnxruntime as ort

    from training.pipeline import calibration, export_stages as st
    from training.pipeline.export import preprocess_items

    c = st.load_stage(trained["run"], models_dir=tmp_path / "models", samples_dir=tmp_path / "samples", log=lambda m: None)
    c.cfg["decision"]["calibrate"] = "temperature"
    st.model_stage(c)
    st.ood_selection_stage(c)
    st.onnx_stage(c)
    plain = tmp_path / "plain.onnx"
    plain.write_bytes(c.onnx_path.read_bytes())
    calibration.calibration_stage(c)
    t = c.calibration["temperature"]
    assert t == pytest.approx(calibration.fit_temperature(c.arrays["val_logits"], c.y["val"]))
    assert calibration.graph_temperature(onnx.load(str(c.onnx_path))) == pytest.approx(t)
    x = preprocess_items([s.path for s in c.split["val"][:8]], c.spec)
    run = {p: dict(zip([o.name for o in ort.InferenceSession(str(p)).get_outputs()],
                       ort.InferenceSession(str(p)).run(None, {"input": x}))) for p in (plain, c.onnx_path)}
    a, b = run[plain], run[c.onnx_path]
    np.testing.assert_array_equal(a["cam"], b["cam"])
    np.testing.assert_array_equal(a["logits"], b["logits"])
    np.testing.assert_allclose(b["probs"], calibration.softmax(a["logits"], t), atol=1e-6)
    assert c.par["probs_vs_softmax_logits_over_t"] <= 1e-4
    st.thresholds_stage(c)
    np.testing.assert_allclose(c.val_probs[:8], b["probs"], atol=1e-6)  # thresholds read the calibrated probs


def test_a_rebuild_keeps_training_data_and_the_cards_marked_sections(trained, tmp_path):
    """Exporting over a pack whose CARD.md holds sections other commands wrote between markers
    (guard, studies) keeps each of them once, after the same heading as before (or at the end when
    that heading is gone), and writes training_data from the config again."""
    import shutil

    from training.pipeline.export import export_run

    models = tmp_path / "models"
    shutil.copytree(trained["root"] / "models" / "tiny-colours", models / "tiny-colours")
    card_path = models / "tiny-colours" / "CARD.md"
    card = card_path.read_text(encoding="utf-8")
    study = "<!-- study:begin -->\n## A study\n\nMeasured elsewhere.\n<!-- study:end -->"
    orphan = "<!-- orphan:begin -->\n## Orphan\n\nIts heading is gone.\n<!-- orphan:end -->"
    guard = "<!-- guard:begin -->\n## Input guard (adversarial and unfamiliar inputs)\n\nKept.\n<!-- guard:end -->"
    i = card.index("## Intended use")
    card = card[:i] + study + "\n\n" + card[i:] + "\n## A heading the export does not write\n\n" + orphan + "\n\n"
    card = card.replace("## Reproduce", guard + "\n\n## Reproduce")  # the end of "Limitations"
    card_path.write_text(card, encoding="utf-8")
    manifest_path = models / "tiny-colours" / "manifest.json"
    doc = json.loads(manifest_path.read_text(encoding="utf-8"))
    doc.pop("training_data")
    manifest_path.write_text(json.dumps(doc), encoding="utf-8")

    export_run(trained["run"], models_dir=models, samples_dir=tmp_path / "samples", log=lambda m: None)
    new = card_path.read_text(encoding="utf-8")
    for block in (study, orphan, guard):
        assert new.count(block) == 1, block
    assert new.index("## Results at a glance") < new.index(study) < new.index("## Intended use")
    assert new.index("## Limitations") < new.index(guard) < new.index("## Reproduce")
    assert new.rstrip().endswith(orphan) and "A heading the export does not write" not in new
    assert (trained["run"] / "previous_CARD.md").read_text(encoding="utf-8") == card
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["training_data"] == "synthetic"


def test_refresh_config_takes_training_data_from_the_config_as_it_is_now(trained, tmp_path):
    """``--refresh-config``: training_data plays no part in training, so it comes from the source
    config as it is now; a run trained on the user's own photos keeps what ``--data`` made of it."""
    import shutil

    import yaml

    from training.pipeline import export_stages as st

    run = tmp_path / "run"
    shutil.copytree(trained["run"], run)
    source = tmp_path / "tiny.yaml"
    raw = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    raw.pop("_meta")
    raw["training_data"] = "real"
    source.write_text(yaml.safe_dump(raw), encoding="utf-8")
    doc = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    doc["_meta"]["source_config"] = str(source)
    (run / "config.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    quiet = {"models_dir": tmp_path / "models", "samples_dir": tmp_path / "samples", "log": lambda m: None}
    assert st.load_stage(run, **quiet).cfg["training_data"] == "synthetic"  # the run's own copy
    assert st.load_stage(run, refresh_config=True, **quiet).cfg["training_data"] == "real"
    summary = json.loads((run / "train_summary.json").read_text(encoding="utf-8"))
    summary["split"]["user_data"] = {"path": "photos", "mode": "mix", "test": "own"}
    (run / "train_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    raw["training_data"] = "synthetic"
    source.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert st.load_stage(run, refresh_config=True, **quiet).cfg["training_data"] == "mixed"


def test_export_until_manifest_stage_writes_a_loadable_pack_without_reading_the_test_side(trained, tmp_path):
    """``--until manifest_stage``: a candidate for a ship check. The pack loads and gives the full
    export's decision, but no test stage ran: no card, no report, no test predictions written."""
    from training.pipeline import export_cmd
    from training.pipeline.export import export_run

    run = trained["run"]
    before = (run / "test_predictions.npz").stat().st_mtime_ns
    models = tmp_path / "models"
    out = export_run(run, models_dir=models, samples_dir=tmp_path / "samples", log=lambda m: None,
                     until="manifest_stage")
    assert out == {"stopped_after": "manifest_stage"}
    pack = models / "tiny-colours"
    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["decision"] == trained["report"]["decision"] and manifest["metrics"] == {}
    assert not (pack / "CARD.md").exists() and not (tmp_path / "samples").exists()
    assert (run / "test_predictions.npz").stat().st_mtime_ns == before
    from inference.inspector import Inspector
    from inference.registry import check_pack

    result = Inspector(check_pack(pack), "cpu").classify(next(trained["data"].rglob("*.png")))
    assert set(result.probabilities) == {"red", "blue"}
    with pytest.raises(ValueError, match="not an export stage"):
        export_run(run, models_dir=tmp_path / "m2", samples_dir=tmp_path / "s2", log=lambda m: None, until="nope")
    import argparse

    parser = argparse.ArgumentParser()
    export_cmd.add_arguments(parser)
    assert export_cmd.run(parser.parse_args([str(run), "--models-dir", str(tmp_path / "m3"), "--until", "nope"])) == 2
    assert not (tmp_path / "m3").exists()


def test_export_with_the_alarm_aware_keys_writes_them_into_the_manifest_blocks(trained, tmp_path):
    """Issue 24, opt-in: ``ood.alarm_acceptance`` gives the validation images decided alarming their own
    OOD threshold (never below the calm one) and ``decision.alarm_basis: app`` chooses the alarm line
    so that the app itself (refused = not alarmed) reaches the target on validation."""
    from training.pipeline import export_stages as st
    from training.pipeline.thresholds import ood_refusals

    c = st.load_stage(trained["run"], models_dir=tmp_path / "models", samples_dir=tmp_path / "samples", log=lambda m: None)
    c.cfg["ood"]["alarm_acceptance"] = 1.0
    c.cfg["decision"]["alarm_basis"] = "app"
    st.model_stage(c)
    st.ood_selection_stage(c)
    st.onnx_stage(c)
    st.thresholds_stage(c)
    assert c.ood_block["alarm_threshold"] >= c.ood_block["threshold"] and c.ood_block["alarm_acceptance"] == 1.0
    assert c.decision["alarm_basis"] == "app"
    low, high = c.decision["review_band"]
    assert low <= c.decision["alarm_threshold"] <= high
    p = c.val_probs[:, c.alarming_idx].sum(1)
    decided = p >= c.decision["alarm_threshold"]
    alarmed = decided & ~ood_refusals(c.val_ood, decided, c.ood_block["threshold"], c.ood_block["alarm_threshold"])
    pos = np.isin(c.y["val"], c.alarming_idx)
    assert alarmed[pos].mean() >= 0.9 or c.decision["alarm_threshold"] == pytest.approx(np.floor(p[pos].min() * 1e4) / 1e4)
