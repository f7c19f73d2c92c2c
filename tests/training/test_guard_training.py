"""``python -m training guard`` on a tiny pack: autoencoder trained and exported, thresholds set on
clean validation images, attacks evaluated, and the result loads in the app with its guard."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from test_pipeline import trained  # noqa: E402,F401  (module fixture: train -> export a tiny-cnn pack)


@pytest.fixture(scope="module")
def guarded(trained, tmp_path_factory):
    from training.cli import main

    models = tmp_path_factory.mktemp("guarded") / "models"
    shutil.copytree(trained["root"] / "models", models)
    pack_id = trained["cfg"]["id"]
    code = main(["guard", "--pack", pack_id, "--models-dir", str(models), "--run-dir", str(trained["run"]),
                 "--quick", "--eps", "2,8", "--bim-steps", "2", "--purifier-epochs", "1", "--purifier-jpeg", "20"])
    assert code == 0
    return models / pack_id


def test_manifest_gets_a_hashed_autoencoder_and_calibrated_thresholds(guarded):
    from inference.registry import check_pack, sha256_file

    m = json.loads((guarded / "manifest.json").read_text())
    ref = m["extra_files"]["guard_autoencoder"]
    assert sha256_file(guarded / ref["file"]) == ref["sha256"]
    from training.guard.guard_cmd import REFORMERS, SUBSETS

    g = m["guard"]
    assert set(g["detectors"]) in [set(s) for s in SUBSETS]
    for d in g["detectors"].values():
        assert d["threshold"] > 0 and 0 <= d["false_alarm_rate"] <= 0.05
    assert g["false_alarm_rate"] <= 0.05 + 1e-9
    # every candidate set was measured on both validation attacks (1/255 and 2/255)
    assert [tuple(r["detectors"]) for r in g["selection"]["subsets"]] == list(SUBSETS)
    assert all(len(r["validation_detection_per_attack"]) == 2 for r in g["selection"]["subsets"])
    best = max(r["validation_detection"] for r in g["selection"]["subsets"])
    chosen = next(r for r in g["selection"]["subsets"] if set(r["detectors"]) == set(g["detectors"]))
    assert chosen["validation_detection"] == best
    # the reformer is one of the candidates (the purifier the command trained among them), each measured
    from training.guard.guard_cmd import PURIFIER_ROLE, purifier_reformer

    pur = m["metrics"]["guard"]["purifier"]
    assert pur["jpeg_quality"] == 20 and pur["loss"] == "kl"  # as asked: JPEG first; the answer loss
    candidates = [dict(r) for r in REFORMERS] + [purifier_reformer(20), dict(purifier_reformer(20), mirror=True)]
    assert g["reformer"] in candidates
    assert [r["reformer"] for r in g["selection"]["reformers"]] == candidates
    assert pur["epochs"] == 1 and pur["parity_max_abs"] <= 1e-4 and 0 <= pur["validation_restored"] <= 1
    # shipped only when chosen: the file, its hash entry and the record agree
    shipped = g["reformer"]["kind"] == "purifier"
    assert pur["shipped"] == shipped == (PURIFIER_ROLE in m["extra_files"]) == (guarded / "guard_purifier.onnx").is_file()
    assert check_pack(guarded).usable


def test_evaluation_is_recorded_in_metrics_and_card(guarded):
    m = json.loads((guarded / "manifest.json").read_text())
    res = m["metrics"]["guard"]
    assert [r["eps_255"] for r in res["attacks"]] == [2.0, 8.0, 2.0, 2.0]
    assert res["attacks"][2]["attack"].startswith("BIM")
    assert res["attacks"][3]["attack"] == "FGSM, grey (no colour)"
    for r in res["attacks"]:
        assert 0 <= r["attacked_accuracy"] <= 1 and r["successful_attacks"] <= r["n"]
        # an attack never makes more successes than images the model had right
        assert r["successful_attacks"] <= round(r["clean_accuracy"] * r["n"])
    assert res["cost"]["with_guard_ms"] > 0
    card = (guarded / "CARD.md").read_text()
    assert card.count("<!-- guard:begin -->") == 1 and "white-box limit" in card
    assert (guarded / "guard_accuracy_vs_eps.png").is_file()


def test_rerunning_replaces_the_card_section(guarded, trained):
    from training.guard.guard_cmd import write_card_section

    m = json.loads((guarded / "manifest.json").read_text())
    write_card_section(guarded, m, m["metrics"]["guard"])
    assert (guarded / "CARD.md").read_text().count("## Input guard") == 1


def test_the_app_runs_the_guard_the_command_made(guarded, trained):
    from inference.inspector import Inspector
    from inference.registry import check_pack

    insp = Inspector(check_pack(guarded))
    img = sorted((trained["data"] / "red").glob("*.png"))[0]
    r = insp.classify(img)
    m = json.loads((guarded / "manifest.json").read_text())
    assert r.guard is not None and set(r.guard.detectors) >= set(m["guard"]["detectors"]) - {"divergence", "squeeze"}
    assert np.isfinite(r.guard.score)


def test_keep_autoencoder_recalibrates_without_retraining(guarded, trained):
    from inference.registry import sha256_file
    from training.cli import main

    before = sha256_file(guarded / "guard_ae.onnx")
    code = main(["guard", "--pack", guarded.name, "--models-dir", str(guarded.parent), "--run-dir", str(trained["run"]),
                 "--quick", "--eps", "2", "--bim-steps", "0", "--keep-autoencoder"])
    assert code == 0
    m = json.loads((guarded / "manifest.json").read_text())
    assert sha256_file(guarded / "guard_ae.onnx") == before == m["extra_files"]["guard_autoencoder"]["sha256"]
    assert [r["attack"] for r in m["metrics"]["guard"]["attacks"]] == ["FGSM", "FGSM, grey (no colour)"]


def test_export_over_a_guarded_pack_keeps_what_keep_autoencoder_needs(guarded, trained, tmp_path):
    """Re-exporting a run (e.g. ``export --refresh-config``) drops the guard, whose thresholds belong
    to the old model, but keeps the autoencoder's record, so the guard can be recalibrated at once."""
    from training.cli import main
    from training.pipeline.export import export_run

    models = tmp_path / "models"
    shutil.copytree(guarded.parent, models)
    pack = models / guarded.name
    ae_before = json.loads((pack / "manifest.json").read_text())["metrics"]["guard"]["autoencoder"]
    export_run(trained["run"], models_dir=models, samples_dir=tmp_path / "samples", log=lambda *a: None)
    m = json.loads((pack / "manifest.json").read_text())
    assert "guard" not in m and "guard_autoencoder" not in m.get("extra_files", {})
    assert m["metrics"]["guard"]["autoencoder"] == ae_before
    code = main(["guard", "--pack", pack.name, "--models-dir", str(models), "--run-dir", str(trained["run"]),
                 "--quick", "--eps", "2", "--bim-steps", "0", "--keep-autoencoder"])
    assert code == 0
    assert json.loads((pack / "manifest.json").read_text())["guard"]["detectors"]


def test_keep_purifier_without_one_is_refused(guarded, trained, tmp_path, capsys):
    from training.cli import main

    models = tmp_path / "models"
    shutil.copytree(guarded.parent, models)
    (models / guarded.name / "guard_purifier.onnx").unlink(missing_ok=True)
    code = main(["guard", "--pack", guarded.name, "--models-dir", str(models), "--run-dir", str(trained["run"]),
                 "--quick", "--keep-autoencoder", "--keep-purifier"])
    assert code == 2 and "no purifier to keep" in capsys.readouterr().err


def test_purifier_starts_as_the_identity_and_training_lowers_its_logit_loss(tmp_path):
    import keras

    from training.guard import purifier

    rng = np.random.default_rng(0)
    x = rng.random((24, 16, 16, 3)).astype(np.float32)
    inp = keras.Input((16, 16, 3))
    clf = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
    np.testing.assert_allclose(purifier.build_purifier(width=8).predict(x, verbose=0), x, atol=1e-6)
    adv = np.clip(x + rng.choice([-8 / 255, 8 / 255], x.shape), 0, 1).astype(np.float32)
    model, hist = purifier.train_purifier(clf, lambda t: t, x, adv[None], x[:8], adv[:8], epochs=3, width=8,
                                          lr=3e-3, log=lambda m: None)
    losses = [e["loss"] for e in hist["epochs"]]
    assert losses[-1] < losses[0] and 1 <= hist["best_epoch"] <= 3
    path = tmp_path / purifier.ONNX_NAME
    purifier.export_purifier(model, path, (16, 16))
    assert purifier.parity(model, path, x[:4]) < 1e-4


def test_a_pack_without_kept_weights_is_refused(trained, tmp_path, capsys):
    from training.cli import main

    models = tmp_path / "models"
    shutil.copytree(trained["root"] / "models", models)
    code = main(["guard", "--pack", trained["cfg"]["id"], "--models-dir", str(models),
                 "--run-dir", str(tmp_path / "no-run"), "--quick"])
    assert code == 2
    assert "no-run" in capsys.readouterr().err


def _noisy_rendition(guarded, trained, tmp_path):
    """A copy of the guarded pack with a noise detector, and a second rendition of its images (every
    image with much more colour noise) as a CSV of file, group, label."""
    import csv

    from PIL import Image

    models = tmp_path / "models"
    shutil.copytree(guarded.parent, models)
    pack = models / guarded.name
    m = json.loads((pack / "manifest.json").read_text())
    m["guard"]["detectors"]["noise"] = {"threshold": 0.5, "false_alarm_rate": 0.0, "patch": 16}
    (pack / "manifest.json").write_text(json.dumps(m))
    # A second rendition of the same groups: every image with much more colour noise.
    with open(trained["run"] / "split.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(3)
    (tmp_path / "noisy").mkdir()
    with open(tmp_path / "noisy.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "group", "label"])
        for i, r in enumerate(rows):
            img = np.asarray(Image.open(r["path"]).convert("RGB"), np.float32) + rng.normal(0, 60, (40, 48, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(tmp_path / "noisy" / f"{i}.png")
            w.writerow([f"noisy/{i}.png", r["group"], r["label"]])
    return models, pack, rows


def test_recalibration_sets_the_noise_threshold_through_the_app_on_every_rendition(guarded, trained, tmp_path):
    """``guard-recalibrate``: the noise threshold is the largest of the renditions' 95% quantiles of
    the scores the app itself reports (Inspector.classify on the files), on validation groups only."""
    from inference.inspector import Inspector
    from inference.registry import check_pack
    from training.cli import main

    models, pack, rows = _noisy_rendition(guarded, trained, tmp_path)
    code = main(["guard-recalibrate", "--pack", guarded.name, "--models-dir", str(models), "--run-dir", str(trained["run"]),
                 "--rendition", f"noisy={tmp_path / 'noisy.csv'}", "--group-column", "group", "--no-attacks",
                 "--max-val", "1000", "--max-test", "1000"])
    assert code == 0
    after = json.loads((pack / "manifest.json").read_text())
    thr = after["guard"]["detectors"]["noise"]["threshold"]
    insp = Inspector(check_pack(pack), None, use_guard=True)
    val_groups = {r["group"] for r in rows if r["side"] == "val"}
    own = [r["path"] for r in rows if r["side"] == "val"]
    noisy = [str(tmp_path / "noisy" / f"{i}.png") for i, r in enumerate(rows) if r["group"] in val_groups]
    scores = {k: np.array([insp.classify(p).guard.detectors["noise"] for p in paths])
              for k, paths in (("pack", own), ("noisy", noisy))}
    expected = max(float(np.quantile(s, 0.95, method="higher")) for s in scores.values())
    assert thr == pytest.approx(expected, rel=1e-5)
    assert scores["noisy"].mean() > scores["pack"].mean()  # the rendition that sets it is the noisier one
    rec = after["metrics"]["guard"]["recalibration"]
    assert rec["old_threshold"] == 0.5 and rec["new_threshold"] == thr
    for k, s in scores.items():
        assert rec["validation"][k]["n"] == len(s)
        assert rec["validation"][k]["new"] == pytest.approx(float(np.mean(s > thr)), abs=1e-4)
        assert rec["validation"][k]["new"] <= 0.05
    # test-side groups only evaluate: the recorded test counts are the test rows of each rendition
    n_test = sum(r["side"] == "test" for r in rows)
    assert rec["test"]["pack"]["n"] == rec["test"]["noisy"]["n"] == n_test
    card = (pack / "CARD.md").read_text()
    assert "Noise threshold recalibrated on every rendition" in card and f"{thr:.4g}" in card


def test_the_guard_command_hands_its_renditions_to_the_recalibration(guarded, trained, tmp_path):
    """``guard ... --rendition NAME=CSV,GROUP``: after the guard, the same pack, folders, seed and
    attacks go to guard-recalibrate (run here on the guard's own parsed arguments)."""
    import argparse

    from training.guard import guard_cmd
    from training.guard.recalibrate_cmd import after_guard

    models, pack, rows = _noisy_rendition(guarded, trained, tmp_path)
    parser = argparse.ArgumentParser()
    guard_cmd.add_arguments(parser)
    args = parser.parse_args(["--pack", guarded.name, "--models-dir", str(models), "--run-dir", str(trained["run"]),
                              "--rendition", f"noisy={tmp_path / 'noisy.csv'},group", "--max-test", "4",
                              "--eps", "2", "--bim-steps", "1", "--no-grey-attack"])
    assert after_guard(args) == 0
    rec = json.loads((pack / "manifest.json").read_text())["metrics"]["guard"]["recalibration"]
    assert set(rec["validation"]) == {"pack", "noisy"} and rec["old_threshold"] == 0.5
    assert rec["test"]["pack"]["n"] == rec["test"]["noisy"]["n"] == 4
    assert [(r["attack"], r["eps_255"], r["n"]) for r in rec["attacks"]["noisy"]] == [("FGSM", 2.0, 4)]
    assert rec["attack_model"].startswith("run folder")  # the tiny pack's Keras weights are kept


def test_the_recalibration_s_own_rendition_is_the_main_data_source_only():
    """A pack trained with extra_data (the skin packs' 224-px copies) has those images in its split;
    the recalibration's "pack" rendition is its main source's images, the others are their own
    --rendition."""
    from pathlib import Path

    from training.guard.recalibrate_cmd import own_rendition
    from training.pipeline.datasets import Sample

    items = [Sample("a", Path("a.jpg"), "nv", "L1", extra={"source": "data"}),
             Sample("extra:a", Path("x/a.jpg"), "nv", "L1", extra={"source": "extra"}),
             Sample("b", Path("b.jpg"), "mel", "L2", extra={}),            # one source: no column
             Sample("c", Path("c.jpg"), "mel", "L3", extra={"source": ""})]
    assert [s.id for s in own_rendition(items)] == ["a", "b", "c"]
