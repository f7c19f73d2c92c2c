"""Tilik benchmarks: one command, one run, medians and ratios measured side by side.

    python benchmarks/run.py [--quick] [--packs ID ...] [--out benchmarks/results.md]

Sections (issue 9):
1. per-image latency per shipped classify pack on CPU: the full Tilik path (decode, preprocess,
   run with heatmap, guard when the pack has one) vs the bare onnxruntime session on the same
   preprocessed tensor vs the studies' stack (the same network in Keras: ``model.predict`` plus a
   ``GradientTape`` Grad-CAM);
2. heatmap cost: the same ONNX graph pruned to ``probs`` only vs ``probs`` + ``cam``;
3. batch throughput into the log: N images through ``tilik classify --log`` vs bare onnxruntime;
4. cold start: process start to main window shown, and to the first result (source install and,
   when built, the frozen bundle);
5. peak memory (max RSS) of ``tilik classify --log`` over the N-image batch;
6. a GPU column when a GPU execution provider is present, otherwise "not measured".

Imports TensorFlow only for the Keras column (section 1); everything else uses the app's own code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inference.inspector import Inspector, clear_session_cache  # noqa: E402
from inference.preprocess import preprocess  # noqa: E402
from inference.providers import create_session  # noqa: E402
from inference.registry import PackRegistry  # noqa: E402

TARGETS = {
    "full_vs_bare": 1.3,
    "full_guard_vs_bare": 2.0,
    "keras_vs_full": 10.0,
    "heatmap_overhead": 0.10,
    "batch_vs_bare": 0.70,
    "window_s": 2.5,
    "first_result_s": 4.0,
    "peak_mb": 600,
}


def median_ms(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def sample_images(pack_id: str, count: int) -> list[Path]:
    """Images for a pack: its shipped samples, cycled to ``count``."""
    folder = REPO / "resources" / "samples" / pack_id
    entries = json.loads((folder / "samples.json").read_text())
    files = [folder / (e.get("file") or e.get("query")) for e in entries]
    return [files[i % len(files)] for i in range(count)]


# -- 1 + 2 + 6: latency ----------------------------------------------------------------------------
def keras_gradcam_ms(manifest, image: np.ndarray, repeat: int) -> float | None:
    """The studies' stack: the same architecture in Keras, predict + GradientTape Grad-CAM."""
    try:
        import keras
        import tensorflow as tf

        from training.lite0.model import build_lite0_backbone
    except Exception as exc:  # TensorFlow absent in a runtime-only environment
        print(f"  (Keras column skipped: {exc})")
        return None
    size = manifest.input.height
    backbone = build_lite0_backbone(input_size=size, weights=None)
    x_in = keras.Input((size, size, 3))
    fmap = backbone(x_in)
    pooled = keras.layers.GlobalAveragePooling2D()(fmap)
    probs = keras.layers.Dense(len(manifest.classes), activation="softmax")(pooled)
    model = keras.Model(x_in, [probs, fmap])
    x = image[None].astype(np.float32)

    def run() -> None:
        model.predict(x, verbose=0)
        with tf.GradientTape() as tape:
            p, a = model(x, training=False)
            top = tf.reduce_max(p, axis=1)
        grads = tape.gradient(top, a)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * a, axis=-1))
        tf.image.resize(cam[..., None], (size, size)).numpy()

    return median_ms(run, max(5, repeat // 4), warmup=2)


def probs_only_model(path: Path, out: Path) -> Path:
    """The pack's graph pruned to its ``probs`` output (onnx.utils.Extractor)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    inputs = [i.name for i in model.graph.input]
    onnx.save(Extractor(model).extract_model(inputs, ["probs"]), str(out))
    return out


def latency_section(pack, repeat: int, with_keras: bool, provider: str | None) -> dict:
    m = pack.manifest
    image_path = sample_images(pack.id, 1)[0]
    inspector = Inspector(pack, provider)
    rgb = np.asarray(Image.open(image_path).convert("RGB"))
    tensor, _ = preprocess(rgb, m.input)
    batch = tensor[None]
    session = inspector.loaded.session
    outputs = list(m.outputs.values())
    row = {"pack": pack.id, "provider": inspector.provider}
    row["full_ms"] = median_ms(lambda: inspector.classify(image_path), repeat)
    row["bare_ms"] = median_ms(lambda: session.run(outputs, {m.input.name: batch}), repeat)
    with tempfile.TemporaryDirectory() as tmp:
        pruned = create_session(probs_only_model(pack.model_path, Path(tmp) / "p.onnx"), provider).session
        row["probs_only_ms"] = median_ms(lambda: pruned.run(["probs"], {m.input.name: batch}), repeat)
    row["probs_cam_ms"] = median_ms(lambda: session.run(["probs", m.outputs.get("cam", "probs")],
                                                        {m.input.name: batch}), repeat)
    row["keras_ms"] = keras_gradcam_ms(m, tensor, repeat) if with_keras else None
    return row


# -- 3 + 5: batch into the log, peak memory -------------------------------------------------------------
def batch_section(pack, count: int) -> dict:
    tilik = shutil.which("tilik", path=str(Path(sys.executable).parent)) or "tilik"
    m = pack.manifest
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "imgs"
        folder.mkdir()
        for i, src in enumerate(sample_images(pack.id, count)):
            shutil.copy(src, folder / f"{i:05d}{src.suffix}")
        env = dict(os.environ, TILIK_DATA_DIR=str(Path(tmp) / "data"))
        cmd = [tilik, "classify", "--pack", pack.id, "--json", "--log", str(Path(tmp) / "log.sqlite3"), str(folder)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        cli_s = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        logged = proc.returncode == 0
        if not logged:  # the log may not be built in this checkout: measure without it
            cmd.remove("--log")
            cmd.remove(str(Path(tmp) / "log.sqlite3"))
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            cli_s = time.perf_counter() - t0
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert proc.returncode == 0, proc.stderr[-2000:]
        # Bare onnxruntime, written the way a user would: decode, resize, normalise, run in batches.
        clear_session_cache()
        t0 = time.perf_counter()
        session = create_session(pack.model_path).session
        files = sorted(folder.iterdir())
        for start in range(0, len(files), 16):
            chunk = [preprocess(np.asarray(Image.open(f).convert("RGB")), m.input)[0] for f in files[start:start + 16]]
            session.run(["probs"], {m.input.name: np.stack(chunk)})
        bare_s = time.perf_counter() - t0
    return {"pack": pack.id, "images": count, "cli_s": cli_s, "bare_s": bare_s, "logged": logged,
            "peak_mb": max(peak_kb, before) / 1024.0}


# -- 4: cold start ----------------------------------------------------------------------------------------
def cold_start_section(pack) -> dict:
    tilik = shutil.which("tilik", path=str(Path(sys.executable).parent)) or "tilik"
    image = sample_images(pack.id, 1)[0]
    out: dict = {}
    for label, exe in (("source", tilik), ("frozen", str(REPO / "dist" / "tilik" / "tilik"))):
        if not Path(exe).exists() and shutil.which(exe) is None:
            out[label] = None
            continue
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "classify", "--pack", pack.id, "--json", str(image)], capture_output=True, text=True)
        first = time.perf_counter() - t0 if proc.returncode == 0 else None
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), TILIK_EXIT_AFTER_SHOWN="1")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=60)
            window = time.perf_counter() - t0 if "TILIK_WINDOW_SHOWN" in proc.stdout + proc.stderr else None
        except subprocess.TimeoutExpired:
            window = None
        out[label] = {"first_result_s": first, "window_s": window}
    return out


def fmt(value, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a 100-image batch")
    parser.add_argument("--packs", nargs="*", help="pack ids (default: every bundled classify pack)")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras + GradientTape column")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.md")
    args = parser.parse_args(argv)
    repeat = 15 if args.quick else 50
    batch_n = 100 if args.quick else 500
    os.environ.setdefault("TILIK_DATA_DIR", tempfile.mkdtemp(prefix="tilik-bench-"))
    registry = PackRegistry([(REPO / "models", "bundled")])
    packs = [p for p in registry.usable() if p.manifest.task == "classify" and (not args.packs or p.id in args.packs)]
    packs = [p for p in packs if (REPO / "resources" / "samples" / p.id / "samples.json").is_file()]
    if not packs:
        print("No bundled classify packs with samples: nothing to measure.")
        return 1
    import onnxruntime as ort

    gpu = next((p for p in ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")
                if p in ort.get_available_providers()), None)
    lines = [f"# Tilik benchmark results", "",
             f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
             f"onnxruntime {ort.__version__}. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f"{' (quick)' if args.quick else ''}. Medians of {repeat} runs.", ""]
    lines += ["## 1–2, 6. Per-image latency (batch 1)", "",
              "| pack | full Tilik path | bare onnxruntime | Keras predict + GradientTape | full / bare (≤1.3) | "
              "Keras / full (≥10) | probs only | probs + cam | heatmap overhead (≤10%) | GPU |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for pack in packs:
        print(f"latency: {pack.id}", flush=True)
        r = latency_section(pack, repeat, not args.no_keras, "cpu")
        gpu_cell = "not measured (no GPU provider)"
        if gpu:
            g = latency_section(pack, repeat, False, gpu)
            gpu_cell = f"{g['full_ms']:.1f} ms full / {g['bare_ms']:.1f} ms bare on {g['provider']}"
        overhead = r["probs_cam_ms"] / r["probs_only_ms"] - 1
        keras_ratio = r["keras_ms"] / r["full_ms"] if r["keras_ms"] else None
        lines.append(f"| {pack.id} | {r['full_ms']:.1f} ms | {r['bare_ms']:.1f} ms | {fmt(r['keras_ms'], ' ms')} | "
                     f"{r['full_ms'] / r['bare_ms']:.2f}× | {fmt(keras_ratio, '×')} | {r['probs_only_ms']:.1f} ms | "
                     f"{r['probs_cam_ms']:.1f} ms | {100 * overhead:+.1f}% | {gpu_cell} |")
    lines += ["", f"## 3, 5. Batch of {batch_n} images into the log, peak memory", "",
              "| pack | `tilik classify --log` | bare onnxruntime | throughput ratio (≥0.70) | peak RSS (≤600 MB) |",
              "|---|---|---|---|---|"]
    for pack in packs[:2]:
        print(f"batch: {pack.id}", flush=True)
        b = batch_section(pack, batch_n)
        note = "" if b["logged"] else " (log not available: measured without --log)"
        lines.append(f"| {pack.id} | {b['cli_s']:.1f} s ({batch_n / b['cli_s']:.1f} img/s){note} | {b['bare_s']:.1f} s "
                     f"({batch_n / b['bare_s']:.1f} img/s) | {b['bare_s'] / b['cli_s']:.2f} | {b['peak_mb']:.0f} MB |")
    lines += ["", "## 4. Cold start", "", "| install | window shown (≤2.5 s) | first result on a sample (≤4 s) |", "|---|---|---|"]
    cold = cold_start_section(packs[0])
    for label, row in cold.items():
        if row is None:
            lines.append(f"| {label} | not built | not built |")
        else:
            lines.append(f"| {label} | {fmt(row['window_s'], ' s', 2)} | {fmt(row['first_result_s'], ' s', 2)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
