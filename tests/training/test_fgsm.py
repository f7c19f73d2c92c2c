"""FGSM / BIM / PGD (training.guard.attacks) on a tiny real Keras CNN trained here, the pack
preprocessing op (training.guard.keras_pack), and ``python -m training fgsm`` end to end on the
tiny pack that tests/training/test_pipeline.py trains and exports (its fixture is reused)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from test_pipeline import trained  # noqa: E402,F401  (module fixture: train -> export a tiny-cnn pack)

from training.guard.attacks import attack_success, fgsm, loss_per_example, quantize01  # noqa: E402

SIZE = 16


def _dataset(n: int = 64, seed: int = 0):
    """Dark (0) vs bright (1) noisy squares on the 1/255 grid; a few pixels saturated at 0 and 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    level = np.where(y == 0, rng.uniform(0.35, 0.49, n), rng.uniform(0.51, 0.65, n))
    x = level[:, None, None, None] + rng.normal(0, 0.08, (n, SIZE, SIZE, 3))
    x[:, :2, :2] = 0.0
    x[:, -2:, -2:] = 1.0
    x = np.rint(np.clip(x, 0, 1) * 255) / 255
    return x.astype(np.float32), y.astype(np.int32)


@pytest.fixture(scope="module")
def tiny():
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    inp = keras.Input((SIZE, SIZE, 3))
    h = layers.Rescaling(2.0, offset=-1.0)(inp)
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inp, layers.Dense(2)(h))  # logits
    # label smoothing keeps the logits finite, so float32 losses never saturate at exactly 0
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    x, y = _dataset()
    model.fit(x, np.eye(2)[y], epochs=20, batch_size=16, verbose=0)
    xt, yt = _dataset(32, seed=1)
    acc = float(np.mean(np.argmax(model.predict(xt, verbose=0), 1) == yt))
    assert acc >= 0.9, f"the tiny model did not learn ({acc:.2f})"
    return model, xt, yt


EPS = 6 / 255


def test_fgsm_raises_the_loss_within_the_ball(tiny):
    model, x, y = tiny
    adv = fgsm(model, x, y, EPS)
    assert adv.dtype == np.float32 and adv.shape == x.shape
    assert float(np.max(np.abs(adv - x))) <= EPS + 1e-6
    assert adv.min() >= 0.0 and adv.max() <= 1.0
    before, after = loss_per_example(model, x, y), loss_per_example(model, adv, y)
    assert np.mean(after > before) >= 0.9
    assert after.mean() > before.mean()
    # the saturated corners cannot leave [0, 1]: pushed further out they stay at 0 and 1
    assert adv[:, :2, :2].max() <= EPS + 1e-6 and adv[:, -2:, -2:].min() >= 1 - EPS - 1e-6


def test_grey_fgsm_moves_all_channels_together_and_still_raises_the_loss(tiny):
    from inference.guard import chroma_noise_floor

    model, x, y = tiny
    adv = fgsm(model, x, y, EPS, grey=True)
    d = adv - x
    assert float(np.max(np.abs(d))) <= EPS + 1e-6
    inside = (x > EPS) & (x < 1 - EPS)  # away from the clipped ends every channel moves alike
    same = np.all(inside, axis=-1)
    assert np.allclose(d[same][:, 0], d[same][:, 1], atol=1e-6) and np.allclose(d[same][:, 1], d[same][:, 2], atol=1e-6)
    assert loss_per_example(model, adv, y).mean() > loss_per_example(model, x, y).mean()
    # no colour added: the colour-noise floor of the perturbation alone is zero (the detector's blind
    # spot, measured in the cards), while ordinary FGSM's is not
    grey_mid = 0.5 + np.where(same[..., None], d, 0.0)
    colour_mid = 0.5 + (fgsm(model, x, y, EPS) - x)
    assert chroma_noise_floor(grey_mid.astype(np.float32), 4).max() < 1e-6
    assert chroma_noise_floor(colour_mid.astype(np.float32), 4).mean() > 1 / 255


def test_bim_and_pgd_raise_the_loss_at_least_as_much_as_fgsm(tiny):
    model, x, y = tiny
    one = loss_per_example(model, fgsm(model, x, y, EPS), y).mean()
    bim_adv = fgsm(model, x, y, EPS, steps=8)
    pgd_adv = fgsm(model, x, y, EPS, steps=8, random_start=True, seed=5)
    for adv in (bim_adv, pgd_adv):
        assert float(np.max(np.abs(adv - x))) <= EPS + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert loss_per_example(model, bim_adv, y).mean() >= one - 1e-4
    assert loss_per_example(model, pgd_adv, y).mean() >= one - 0.05 * abs(one)
    # more success, never less, than one step on these images
    clean = model.predict(x, verbose=0)
    n_one = attack_success(clean, model.predict(fgsm(model, x, y, EPS), verbose=0), y, False).sum()
    n_bim = attack_success(clean, model.predict(bim_adv, verbose=0), y, False).sum()
    assert n_bim >= n_one
    # a fixed seed gives the same random start
    assert np.array_equal(pgd_adv, fgsm(model, x, y, EPS, steps=8, random_start=True, seed=5))


def test_targeted_lowers_the_target_loss(tiny):
    model, x, y = tiny
    target = 1 - y
    adv = fgsm(model, x, target, EPS, targeted=True, steps=4)
    assert float(np.max(np.abs(adv - x))) <= EPS + 1e-6
    before, after = loss_per_example(model, x, target), loss_per_example(model, adv, target)
    assert np.mean(after < before) >= 0.9 and after.mean() < before.mean()
    # one target for every image
    adv0 = fgsm(model, x, 0, EPS, targeted=True)
    assert loss_per_example(model, adv0, 0).mean() < loss_per_example(model, x, 0).mean()


def test_quantize01_stays_in_the_ball(tiny):
    model, x, y = tiny
    for k in (1, 2, 4):
        eps = k / 255
        q = quantize01(fgsm(model, x, y, eps, steps=3))
        assert np.array_equal(q, np.rint(q * 255) / 255)  # on the PNG grid
        assert float(np.max(np.abs(q - x))) <= eps + 1e-6
    # an eps off the grid: plain rounding may overshoot, the reference clip does not
    eps = 0.0078  # 1.99/255
    adv = x + np.where(np.arange(x.size).reshape(x.shape) % 2 == 0, eps, -eps).astype(np.float32)
    assert float(np.max(np.abs(quantize01(adv) - x))) > eps
    assert float(np.max(np.abs(quantize01(adv, x, eps) - x))) <= eps


def test_attack_success_counts_flips_and_hits():
    clean, adv, labels = np.array([0, 0, 1, 1]), np.array([1, 0, 0, 1]), np.array([0, 0, 0, 1])
    assert attack_success(clean, adv, labels, False).tolist() == [True, False, False, False]
    assert attack_success(clean, adv, np.array([1, 1, 0, 1]), True).tolist() == [True, False, True, False]
    logits = np.eye(2)[adv]
    assert attack_success(np.eye(2)[clean], logits, labels, False).tolist() == [True, False, False, False]


def test_fgsm_refuses_bad_arguments(tiny):
    model, x, y = tiny
    with pytest.raises(ValueError):
        fgsm(model, x * 255, y, EPS)
    with pytest.raises(ValueError):
        fgsm(model, x, y, EPS, steps=0)
    with pytest.raises(ValueError):
        fgsm(model, x, y[:3], EPS)
    assert np.array_equal(fgsm(model, x, y, 0.0), x)


@pytest.mark.parametrize("color", ["RGB", "BGR"])
def test_to_model_input_matches_the_app_preprocessing(color):
    from inference.manifest import InputSpec
    from inference.preprocess import to_tensor
    from training.guard.keras_pack import KerasPack

    spec = InputSpec(name="input", height=8, width=8, layout="NHWC", color=color, resize="stretch",
                     scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    kp = KerasPack(manifest=None, model=None, spec=spec)
    u8 = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    got = kp.to_model_input(u8.astype(np.float32) / 255).numpy()
    want = np.stack([to_tensor(img, spec) for img in u8])
    assert np.max(np.abs(got - want)) < 1e-5


# ------------------------------------------------------------------------------------------------
# the command, on the tiny pack that test_pipeline trains and exports


def _inputs(trained, count=3):
    return sorted((trained["data"] / "blue").glob("*.png"))[:1] + sorted((trained["data"] / "red").glob("*.png"))[:count - 1]


def test_cli_writes_adversarial_pngs_at_the_input_size(trained, tmp_path, capsys):
    from inference.imageio import load_image
    from inference.manifest import load_manifest
    from inference.preprocess import fit_to_input, preprocess
    from training.cli import main
    from training.guard.keras_pack import load_keras_pack

    models, run = trained["root"] / "models", trained["run"]
    inputs = _inputs(trained)
    out = tmp_path / "adv"
    rc = main(["fgsm", "--pack", "tiny-colours", "--models-dir", str(models), "--run-dir", str(run),
               "--eps", "4/255", "--out", str(out), "--report", str(tmp_path / "report.json"), *map(str, inputs)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    lines = printed.out.strip().splitlines()
    assert len(lines) == 4 and "successful attacks" in lines[-1] and "/3 successful" in lines[-1]
    assert all(" -> " in line for line in lines[:3])
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.png" for p in inputs)
    spec = load_manifest(models / "tiny-colours" / "manifest.json").input
    kp = load_keras_pack("tiny-colours", run_dir=run, models_dir=models)
    for src in inputs:
        png = Image.open(out / f"{src.stem}.png")
        assert png.format == "PNG" and png.mode == "RGB" and png.size == (spec.width, spec.height)
        adv = np.asarray(png).astype(int)
        clean = fit_to_input(load_image(src).rgb, spec)[0].astype(int)
        assert 0 < np.max(np.abs(adv - clean)) <= 4
        # the app reads the saved file back unchanged (stretch pack at its input size) and its ONNX
        # model sees what the Keras model was attacked with
        tensor = preprocess(load_image(out / f"{src.stem}.png").rgb, spec)[0]
        keras_probs = kp.probs(adv[None].astype(np.float32) / 255)
        onnx_probs = kp.onnx_probs(adv[None].astype(np.float32) / 255)
        assert np.max(np.abs(keras_probs - onnx_probs)) < 1e-4
        assert np.allclose(tensor, kp.to_model_input(adv[None].astype(np.float32) / 255).numpy()[0], atol=1e-5)
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["images"] == 3 and report["attack"] == "FGSM" and len(report["records"]) == 3
    assert all(r["linf"] <= 4 / 255 + 1e-6 for r in report["records"])


def test_cli_targeted_bim(trained, tmp_path, capsys):
    from training.cli import main

    models, run = trained["root"] / "models", trained["run"]
    rc = main(["fgsm", "--pack", "tiny-colours", "--models-dir", str(models), "--run-dir", str(run),
               "--eps", "0.05", "--steps", "3", "--targeted", "blue", "--random-start",
               "--out", str(tmp_path / "t"), *map(str, _inputs(trained, 2))])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    assert "PGD" in printed.err and "not a multiple of 1/255" in printed.err
    assert "targeted" in printed.out.splitlines()[-1] and len(list((tmp_path / "t").glob("*.png"))) == 2


def test_cli_errors(trained, tmp_path, capsys):
    from training.cli import main

    models = trained["root"] / "models"
    img = str(_inputs(trained, 1)[0])
    base = ["fgsm", "--pack", "tiny-colours", "--models-dir", str(models), "--out", str(tmp_path / "o")]
    # no kept Keras weights: exit 2 with the folder and how to make it
    rc = main([*base, "--run-dir", str(tmp_path / "no-run"), "--eps", "2/255", img])
    err = capsys.readouterr().err
    assert rc == 2 and "no kept Keras weights" in err and "no-run" in err and "python -m training train" in err
    assert not (tmp_path / "o").exists()
    run = ["--run-dir", str(trained["run"])]
    assert main([*base, *run, "--eps", "0", img]) == 2
    assert main([*base, *run, "--eps", "2/255", "--targeted", "green", img]) == 2
    assert main(["fgsm", "--pack", "nope", "--models-dir", str(models), "--out", str(tmp_path / "o"),
                 "--eps", "2/255", img]) == 2
    with pytest.raises(SystemExit) as exc:
        main([*base, "--eps", "two", img])
    assert exc.value.code == 2
    # an unreadable input: the others are still written, exit 1
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    rc = main([*base, *run, "--eps", "2/255", img, str(bad)])
    out = capsys.readouterr().out
    assert rc == 1 and "bad.png: error" in out and len(list((tmp_path / "o").glob("*.png"))) == 1
