"""Temperature scaling (training/pipeline/calibration.py): the fit, the lesion-grouped CV, the edit
of an exported graph (probs = softmax(logits / T), CAM and logits untouched, parity with Keras), the
export stage and the card splice of training/pipeline/recalibrate.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from training.pipeline.calibration import (CalibrationError, apply_temperature_onnx, calibration_errors,
                                           cv_temperature, fit_temperature, graph_temperature, grouped_folds, nll,
                                           softmax)


def _sampled(n: int, k: int, t_true: float, seed: int = 0):
    """Logits and labels drawn from softmax(logits / t_true): the fit must find t_true again."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, k))
    p = softmax(logits, t_true)
    y = np.array([rng.choice(k, p=row) for row in p])
    return logits, y


def test_softmax_with_temperature_is_softmax_of_scaled_logits():
    z = np.array([[1.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    e = np.exp(z / 2.0)
    np.testing.assert_allclose(softmax(z, 2.0), e / e.sum(1, keepdims=True), atol=1e-12)
    assert nll(z, np.array([1, 0]), 1.0) == pytest.approx(-np.mean(np.log(softmax(z)[[0, 1], [1, 0]])))


@pytest.mark.parametrize("t_true", [0.6, 1.0, 2.5])
def test_fit_finds_the_temperature_the_labels_were_drawn_with(t_true):
    logits, y = _sampled(6000, 5, t_true)
    t = fit_temperature(logits, y)
    assert t == pytest.approx(t_true, rel=0.08)
    assert nll(logits, y, t) <= nll(logits, y, 1.0) + 1e-12


def test_fit_refuses_mismatched_inputs():
    with pytest.raises(CalibrationError):
        fit_temperature(np.zeros((3, 2)), np.zeros(4, int))


def test_temperature_keeps_argmax_and_top_k_and_lowers_ece_of_a_misscaled_model():
    logits, y = _sampled(4000, 4, 2.0, seed=1)  # the "model" reports logits twice too sharp
    t = fit_temperature(logits, y)
    before, after = softmax(logits), softmax(logits, t)
    assert np.array_equal(before.argmax(1), after.argmax(1))
    # Within each sample the classes keep their order (so top-k stays) ...
    assert np.array_equal(np.argsort(-before, 1, kind="stable"), np.argsort(-after, 1, kind="stable"))
    # ... but across samples one class's probability can change order with more than two classes
    # (it depends on the other logits too), so a one-vs-rest ROC-AUC may move; with two it cannot.
    two = logits[:, :2]
    assert np.array_equal(np.argsort(softmax(two)[:, 1], kind="stable"), np.argsort(softmax(two, t)[:, 1], kind="stable"))
    e0, e1 = calibration_errors(before, y, [0, 1]), calibration_errors(after, y, [0, 1])
    assert e1["top1"] < e0["top1"] and e1["alarm"] < e0["alarm"]


def test_grouped_cv_never_puts_a_group_on_both_sides():
    logits, y = _sampled(600, 3, 1.5, seed=2)
    groups = np.array([f"lesion{i // 3}" for i in range(600)], dtype=object)  # three images per lesion
    for tr, va in grouped_folds(y, groups, 5, seed=0):
        assert not set(groups[tr]) & set(groups[va])
        assert len(tr) + len(va) == 600
    cv = cv_temperature(logits, y, groups, [0], folds=5, seed=0)
    assert len(cv["per_fold"]) == 5 and cv["groups"] == 200
    assert cv["summary"]["temperature"]["mean"] == pytest.approx(1.5, rel=0.25)
    assert cv["summary"]["nll_after"]["mean"] < cv["summary"]["nll_before"]["mean"]


# --- the graph -----------------------------------------------------------------------------------

def _onnx_softmax_graph():
    """A minimal graph shaped like an exported pack: logits = x W + b, probs = Softmax(logits), and
    an ArgMax of the raw logits standing for the CAM's class choice."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.normal(0, 1, (6, 4)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.normal(0, 1, (4,)).astype(np.float32), "B")
    nodes = [helper.make_node("MatMul", ["input", "W"], ["mm"]), helper.make_node("Add", ["mm", "B"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
             helper.make_node("ArgMax", ["logits"], ["pred"], axis=1, keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 6])],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in
                               (("probs", TensorProto.FLOAT, ["batch", 4]), ("logits", TensorProto.FLOAT, ["batch", 4]),
                                ("pred", TensorProto.INT64, ["batch"]))], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"input": x})))


def test_graph_edit_divides_the_logits_before_the_softmax_only():
    pytest.importorskip("onnxruntime")
    x = np.random.default_rng(4).normal(0, 2, (16, 6)).astype(np.float32)
    model = _onnx_softmax_graph()
    before = _run(model, x)
    assert graph_temperature(model) == 1.0
    apply_temperature_onnx(model, 0.8)
    after = _run(model, x)
    assert graph_temperature(model) == pytest.approx(0.8)
    np.testing.assert_array_equal(after["logits"], before["logits"])
    np.testing.assert_array_equal(after["pred"], before["pred"])
    np.testing.assert_allclose(after["probs"], softmax(before["logits"], 0.8), atol=1e-6)
    # Setting it again replaces T, never compounds it.
    apply_temperature_onnx(model, 2.0)
    np.testing.assert_allclose(_run(model, x)["probs"], softmax(before["logits"], 2.0), atol=1e-6)
    assert sum(n.op_type == "Div" for n in model.graph.node) == 1
    with pytest.raises(CalibrationError):
        apply_temperature_onnx(model, 0.0)


def test_graph_edit_refuses_probs_not_made_by_a_softmax():
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["probs"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 2])])
    with pytest.raises(CalibrationError, match="not made by a Softmax"):
        apply_temperature_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), 1.2)
    assert onnx  # the module is what builds the graphs here


def test_in_graph_temperature_on_a_real_cam_export_keeps_the_cam_exact(tmp_path):
    """The exported CAM graph (training/lite0/cam_export.py) with T: cam, logits, embedding bit-for-bit
    those of the graph without T; probs = softmax(Keras logits / T) (parity with the Keras reference)."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    import onnx

    from training.lite0.cam_export import build_cam_model, export_onnx
    from training.pipeline.calibration import write_calibrated

    keras.utils.set_random_seed(0)
    init = keras.initializers.RandomNormal(stddev=0.4, seed=0)
    inp = keras.Input((32, 32, 3), name="input")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", kernel_initializer=init)(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3, activation="softmax", kernel_initializer=init, name="head")(x)
    cam_model = build_cam_model(keras.Model(inp, out))
    images = tf.image.resize(np.random.default_rng(5).uniform(-1, 1, (6, 4, 4, 3)).astype(np.float32), (32, 32)).numpy()
    plain = export_onnx(cam_model, tmp_path / "plain.onnx")
    hot = write_calibrated(plain, tmp_path / "t.onnx", 0.7)
    a, b = _run(onnx.load(str(plain)), images), _run(onnx.load(str(hot)), images)
    for k in ("cam", "logits", "embedding"):
        np.testing.assert_array_equal(a[k], b[k])
    ref = cam_model(images, training=False)
    np.testing.assert_allclose(b["probs"], softmax(ref["logits"].numpy(), 0.7), atol=1e-5)
    assert np.array_equal(b["probs"].argmax(1), a["probs"].argmax(1))
    assert a["cam"].max() > 0  # the maps have signal: the equality above is not of zeros


def test_export_stage_is_a_no_op_unless_the_config_asks():
    from training.pipeline.calibration import calibration_stage

    c = SimpleNamespace(cfg={"decision": {"calibrate": None}}, calibration=None)
    assert calibration_stage(c) is c and c.calibration is None


def test_config_key_is_typed_and_checked():
    from training.pipeline.config import ConfigError, build_config

    raw = {"id": "x", "name": "x", "data": {"format": "folder", "folder": "."}, "classes": ["a", "b"]}
    assert build_config(dict(raw))["decision"]["calibrate"] is None
    ok = build_config({**raw, "decision": {"calibrate": "temperature"}})
    assert ok["decision"]["calibrate"] == "temperature"
    with pytest.raises(ConfigError, match="decision.calibrate"):
        build_config({**raw, "decision": {"calibrate": "platt"}})
    with pytest.raises(ConfigError, match="decision.calibrate"):
        build_config({**raw, "decision": {"calibrate": 1.5}})


# --- the card splice of recalibrate ----------------------------------------------------------------

def test_card_splice_replaces_only_the_named_sections():
    from training.pipeline.recalibrate import RecalibrateError, splice_card

    old = "# t\n\nPack `p` version 1.0.0\n\n## Results at a glance\nold numbers\n\n## Model and training\nepochs 21\n\n" \
          "## Operating points\nold table\n\n## Limitations\nsame\n"
    new = "# t\n\nPack `p` version 1.0.1\n\n## Results at a glance\nnew numbers\n\n## Model and training\nepochs 0\n\n" \
          "## Operating points\nnew table\n\n## Limitations\nother\n"
    out = splice_card(old, new, titles=("Results at a glance", "Operating points"), extra="## Calibration\nT\n")
    assert "version 1.0.1" in out and "new numbers" in out and "new table" in out
    assert "epochs 21" in out and "epochs 0" not in out and "same" in out and "other" not in out
    assert out.index("## Calibration") > out.index("## Operating points") > out.index("## Model and training")
    with pytest.raises(RecalibrateError):
        splice_card(old, new.replace("## Operating points", "## Other"), titles=("Operating points",))


# --- the alarm study (training/pipeline/alarm_study.py) ------------------------------------------------

def test_alarm_score_cv_prefers_the_score_that_separates_better():
    from training.pipeline.alarm_study import alarm_score_cv

    rng = np.random.default_rng(6)
    n = 900
    y = rng.random(n) < 0.25
    groups = np.array([f"l{i // 2}" for i in range(n)], dtype=object)
    good = np.clip(0.5 * y + rng.normal(0.25, 0.15, n), 0, 1)
    poor = np.clip(0.2 * y + rng.normal(0.35, 0.15, n), 0, 1)
    out = alarm_score_cv(lambda fit: {"good": good, "poor": poor}, y, y.astype(int), groups, folds=5, seeds=range(2))
    assert out["good"]["folds"] == 10 and out["good"]["specificity_minus_good"] == 0.0
    assert out["poor"]["specificity_mean"] < out["good"]["specificity_mean"]
    assert out["poor"]["folds_worse"] >= 8
    assert abs(out["good"]["sensitivity_mean"] - 0.90) < 0.06  # the threshold was chosen for 90% elsewhere


def test_prior_correction_recovers_natural_mix_probabilities():
    """Logits of a 'class-balanced' model (true log-odds minus the log prior, as balanced weights make
    them) are miscalibrated on the natural mix; subtracting log w_c (w_c ∝ 1 / prior) fixes it."""
    from training.pipeline.alarm_study import calibration_variants_cv

    rng = np.random.default_rng(7)
    n, prior = 4000, np.array([0.8, 0.2])
    y = (rng.random(n) < prior[1]).astype(int)
    evidence = rng.normal(0, 1, n) + 1.5 * y            # the lesion's evidence for class 1
    # True posterior log-odds = log-likelihood ratio + log prior ratio; the balanced model drops the prior.
    llr = 1.5 * evidence - 1.125
    logits = np.stack([np.zeros(n), llr], 1)
    log_w = np.log(1.0 / (2 * prior))                    # balanced class weights n / (k n_c)
    groups = np.arange(n).astype(str)
    out = calibration_variants_cv(logits, y, groups, log_w, [1], folds=4, seeds=range(1))
    assert out["prior correction + temperature"]["ece_alarm"]["mean"] < 0.5 * out["raw"]["ece_alarm"]["mean"]
    assert out["prior correction + temperature"]["nll"]["mean"] < out["raw"]["nll"]["mean"]
    assert out["temperature"]["balanced_accuracy"]["mean"] == pytest.approx(out["raw"]["balanced_accuracy"]["mean"])
