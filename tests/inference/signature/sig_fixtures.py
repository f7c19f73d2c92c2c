"""Fixtures for the signature tests: drawn signatures and a tiny but real ``verify`` pack.

The pack's CNN is a real ONNX graph (onnx helper API): the embedding is a 4×4 grid of mean ink
darkness, ``probs`` a softmax of a fixed linear map of it, ``cam`` the ink itself. Its SVM is a real
scikit-learn pipeline converted with skl2onnx, trained on synthetic dichotomy vectors where the
tolerant overlay IoU decides: same drawing → genuine, different drawing → forged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

CANVAS = 64
GRID = 4
EMB = GRID * GRID
PROJ = 4
BLOCKS = ("cnn", "overlay")


def draw_signature(kind: str = "loops", size: tuple[int, int] = (240, 120), *, shift: int = 0, width: int = 4,
                   background: int = 235, ink: int = 60) -> np.ndarray:
    """A grey "signature" (uint8, H×W): ``loops`` (cursive-like waves) or ``zigzag`` (a different hand)."""
    w, h = size
    img = Image.new("L", size, background)
    d = ImageDraw.Draw(img)
    if kind == "loops":
        xs = np.linspace(20, w - 20, 60)
        ys = h / 2 + 25 * np.sin(xs / 12.0)
        d.line([(float(x) + shift, float(y)) for x, y in zip(xs, ys)], fill=ink, width=width)
        d.line([(30 + shift, h - 25), (w - 40 + shift, h - 30)], fill=ink, width=width)
    elif kind == "zigzag":
        pts = [(20 + shift, 20), (60 + shift, h - 20), (100 + shift, 25), (140 + shift, h - 25), (200 + shift, 30)]
        d.line(pts, fill=ink, width=width)
        d.ellipse((150 + shift, 60, 190 + shift, 100), outline=ink, width=width)
    else:
        raise ValueError(kind)
    return np.asarray(img)


def save(path: Path, gray: np.ndarray) -> Path:
    Image.fromarray(gray).save(path)
    return path


def build_cnn() -> bytes:
    """input (N, 64, 64, 3) normalised → probs (N, 2), logits, cam (N, 64, 64), embedding (N, 16)."""
    s = CANVAS
    nodes, inits = [], []
    nodes.append(helper.make_node("Transpose", ["input"], ["x_nchw"], perm=[0, 3, 1, 2]))
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "c0"))
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "c1"))
    nodes.append(helper.make_node("Slice", ["x_nchw", "c0", "c1", "c1"], ["x0"]))  # channel 0 (N, 1, H, W)
    nodes.append(helper.make_node("Neg", ["x0"], ["neg"]))
    nodes.append(helper.make_node("Relu", ["neg"], ["ink"]))  # ink darkness in [0, 1]
    k = s // GRID
    nodes.append(helper.make_node("AveragePool", ["ink"], ["pooled"], kernel_shape=[k, k], strides=[k, k]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1))
    w = np.zeros((2, EMB), np.float32)
    w[1, :] = 1.0
    inits.append(numpy_helper.from_array(w, "dense_w"))
    inits.append(numpy_helper.from_array(np.array([0.5, 0.0], np.float32), "dense_b"))
    nodes.append(helper.make_node("Gemm", ["embedding", "dense_w", "dense_b"], ["logits"], transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
    nodes.append(helper.make_node("Squeeze", ["ink", "c1"], ["cam"]))
    graph = helper.make_graph(
        nodes, "tiny_signature_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", s, s, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2]),
         helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", s, s]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMB])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tilik-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def build_svm(n_features: int, tol_iou_col: int, seed: int = 0) -> bytes:
    """A calibrated linear SVM on synthetic vectors: genuine iff the tolerant overlay IoU is high."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    rng = np.random.default_rng(seed)
    n = 400
    X = rng.uniform(0.0, 1.0, size=(n, n_features))  # uninformative, on the scale real values take
    y = np.arange(n) % 2
    X[:, tol_iou_col] = np.where(y == 1, rng.uniform(0.75, 1.0, n), rng.uniform(0.0, 0.55, n))
    model = make_pipeline(StandardScaler(), CalibratedClassifierCV(SVC(kernel="linear", C=2.0), cv=3, ensemble=False))
    model.fit(X, y)
    onx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, n_features]))],
                          options={id(model): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    return onx.SerializeToString()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_verify_pack(folder: Path, *, pack_id: str = "signature-verify", **verify_overrides: Any) -> Path:
    """A complete, valid ``verify``/``signature`` pack folder."""
    from inference.signature.features import FeatureSpec, pair_feature_names

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = FeatureSpec(blocks=BLOCKS, projection_dims=PROJ)
    names = pair_feature_names(spec)
    cnn = build_cnn()
    svm = build_svm(len(names), names.index("overlay_tol_iou"))
    (folder / "model.onnx").write_bytes(cnn)
    (folder / "svm.onnx").write_bytes(svm)
    rng = np.random.default_rng(1)
    with open(folder / "projection.npz", "wb") as fh:
        np.savez(fh, mean=np.zeros(EMB, np.float32), components=rng.normal(size=(PROJ, EMB)).astype(np.float32))
    proj_bytes = (folder / "projection.npz").read_bytes()
    thresholds = {str(n): 0.5 for n in (1, 3, 5, 10)}
    verify = {
        "preprocess": {"canvas": [CANVAS, CANVAS], "margin": 4, "min_component_px": 4},
        "features": spec.as_dict(),
        "feature_names": names,
        "svm": {"input": "input", "output": "probabilities", "genuine_index": 1},
        "fusion": "mean",
        "reference_normalization": {"lambda": 0.0, "prior": 0.5},
        "calibration": None,
        "thresholds": thresholds,
        "strict_thresholds": {str(n): 0.8 for n in (1, 3, 5, 10)},
        "review_bands": {str(n): [0.45, 0.55] for n in (1, 3, 5, 10)},
        "min_references": 3,
        "disagreement": 0.5,
        "validation_eer_by_references": {"1": 0.2, "3": 0.1},
    }
    verify.update(verify_overrides)
    manifest = {
        "schema_version": 1, "id": pack_id, "name": "Tiny signature verifier", "version": "1.0.0",
        "task": "verify", "mode": "signature",
        "model": {"file": "model.onnx", "sha256": _sha(cnn)},
        "extra_files": {"svm": {"file": "svm.onnx", "sha256": _sha(svm)},
                        "projection": {"file": "projection.npz", "sha256": _sha(proj_bytes)}},
        "input": {"name": "input", "size": [CANVAS, CANVAS], "layout": "NHWC", "color": "RGB", "resize": "letterbox",
                  "pad_value": 255, "scale": 1 / 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        "outputs": {"probs": "probs", "logits": "logits", "cam": "cam", "embedding": "embedding"},
        "classes": [{"name": "genuine", "label": "Genuine"}, {"name": "forged", "label": "Forged"}],
        "decision": {"alarming": ["forged"],
                     "verdict_words": {"genuine": "Signature looks genuine", "forged": "Possible forgery"}},
        "ood": None,
        "words": {"subject": "signature", "translations": {"id": {
            "name": "Pemeriksa tanda tangan uji", "subject": "tanda tangan", "classes": {"genuine": "Asli", "forged": "Palsu"},
            "verdict_words": {"genuine": "Tanda tangan tampak asli", "forged": "Kemungkinan pemalsuan"}}}},
        "verify": verify,
        "metrics": {},
        "data": {"source": "drawn test fixtures", "licence": "test fixture"},
        "intended_use": "tests only",
        "limitations": "a fixture",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


SCORING = {
    "calibration": {"a": 12.0, "b": -9.0},
    "reference_normalization": {"lambda": 0.5, "prior": 0.8},
    "aggregate": "median",
    "operating_points": {str(n): {"standard": {"threshold": 0.5, "review": [0.4, 0.6]},
                                  "strict": {"threshold": 0.8, "review": [0.4, 0.9]}} for n in (1, 3, 5, 10)},
    "reference_outlier_floor": 0.2,
    "min_references": 3,
}


def write_scoring_pack(folder: Path, *, pack_id: str = "signature-verify", **scoring_overrides: Any) -> Path:
    """A ``verify`` pack in the signature-verify 3 form: the CNN's embedding scored by cosine on one
    calibrated scale (``verify.scoring``), no SVM file."""
    write_verify_pack(folder, pack_id=pack_id)
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name in ("svm.onnx", "projection.npz"):
        (folder / name).unlink()
    manifest["extra_files"] = {}
    manifest["version"] = "3.0.0"
    manifest["verify"] = {"preprocess": manifest["verify"]["preprocess"],
                          "scoring": {**SCORING, **scoring_overrides}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder
