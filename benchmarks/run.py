"""Tilik benchmarks: one command, one run, medians and ratios measured side by side.

    python benchmarks/run.py [--quick] [--packs ID ...] [--batch N] [--no-keras] [--out FILE]

``make bench`` runs it (``make bench BENCH_ARGS=--quick`` for a short run). Sections (issues 8, 9):

1. per-image latency per shipped classify pack on CPU: the full Tilik path (decode, preprocess,
   content check, run with heatmap, decision; without and with the pack's input guard when it has
   one) vs the bare onnxruntime session on the same preprocessed tensor vs the studies' stack (the
   same network in Keras: ``model.predict`` plus a ``GradientTape`` Grad-CAM);
2. heatmap cost: the pack's ONNX graph pruned to ``probs`` only vs pruned to ``probs`` + ``cam``
   (plus, separately, what mapping the heatmap back onto the photo costs);
3. batch throughput into the log: N images (default 500) through ``tilik classify --log`` vs a bare
   onnxruntime loop (decode, preprocess, run in batches of 16);
4. cold start: process start to main window shown, to packs + model ready, and (``tilik
   classify``) to the first result on a sample: source install and, when built, the frozen bundle;
5. peak memory (max RSS of the process) over the N-image batch;
6. a GPU column when a GPU execution provider is present, otherwise "not measured";
7. GUI responsiveness: the longest event-loop stall while the app runs a real batch into the log
   offscreen (``gui.measure``: a heartbeat timer in the GUI thread; target < 100 ms);
8. issue 28 (``benchmarks/photos.py``): 12-MP photos (latency, throughput, peak RSS of a folder),
   ``--heatmap-dir``, ``verify`` per query with 5 references and 224-px folders, each against a bare
   onnxruntime loop with reduced-size decode in the same run. ``--photos-only`` runs just these
   (``--quick --photos-only``: a few minutes).

Targets (issue 9): full path without guard ≤ 1.3× bare, with guard ≤ 2.0×; ≥ 10× faster than Keras;
heatmap overhead ≤ 10 %; batch throughput ≥ 70 % of bare; window ≤ 2.5 s and first result ≤ 4 s
from a cold start (frozen); peak memory ≤ 600 MB; event-loop stall < 100 ms.

TensorFlow is imported only for the Keras column, after every onnxruntime measurement (so its
thread pools cannot disturb them). The Keras network is the pack's architecture (Lite0 backbone,
GAP, dense head) with random weights: speed does not depend on the weights. The machine's load
average is written into the results: on a shared machine the numbers are indicative only.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from inference.inspector import Inspector, clear_session_cache  # noqa: E402
from inference.preprocess import heatmap_to_image, preprocess  # noqa: E402
from inference.providers import create_session  # noqa: E402
from inference.registry import PackRegistry  # noqa: E402

FROZEN = REPO / "dist" / "tilik" / "tilik"
TARGETS = {
    "full_vs_bare": 1.3,
    "full_guard_vs_bare": 2.0,
    "keras_vs_full": 10.0,
    "heatmap_overhead": 0.10,
    "batch_vs_bare": 0.70,
    "window_s": 2.5,
    "first_result_s": 4.0,
    "peak_mb": 600,
    "stall_ms": 100,
}


# -- helpers ------------------------------------------------------------------------------------------
def median_ms(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def compare_ms(fns: dict[str, Any], repeat: int, warmup: int = 3) -> dict[str, float]:
    """Medians of several functions timed round-robin (A, B, C, A, B, C, ...), so that a change in
    the machine's load during the measurement hits every contender alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def sample_images(pack_id: str, count: int) -> list[Path]:
    """Images for a pack: its shipped samples, cycled to ``count``."""
    folder = REPO / "resources" / "samples" / pack_id
    entries = json.loads((folder / "samples.json").read_text())
    files = [folder / (e.get("file") or e.get("query")) for e in entries]
    return [files[i % len(files)] for i in range(count)]


def unique_images(pack_id: str, count: int, folder: Path) -> list[Path]:
    """``count`` distinct JPEGs made from the pack's samples (one pixel differs), so the log's
    content-addressed store cannot deduplicate them the way it would identical copies."""
    folder.mkdir(parents=True, exist_ok=True)
    cache: dict[Path, np.ndarray] = {}
    out = []
    for i, src in enumerate(sample_images(pack_id, count)):
        if src not in cache:
            cache[src] = np.asarray(Image.open(src).convert("RGB")).copy()
        rgb = cache[src].copy()
        rgb[0, 0] = (i % 256, (i // 256) % 256, 7)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(rgb).save(path, quality=92)
        out.append(path)
    return out


def _vm_hwm_kb(pid: int) -> int | None:
    """Peak resident set of a live process (Linux ``VmHWM``), in KiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_measured(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 1800) -> tuple[int, str, float, float]:
    """Run a command; returns (exit code, stdout+stderr, wall seconds, peak RSS in MB of that process).

    The peak is the child's own ``VmHWM``, polled while it runs: ``ru_maxrss`` from ``wait4`` would
    include the RSS this (large, TensorFlow-carrying) process had when it forked the child.
    """
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, text=True)
        deadline = time.time() + timeout
        peak_kb = 0
        while True:
            hwm = _vm_hwm_kb(proc.pid)
            if hwm is not None:
                peak_kb = max(peak_kb, hwm)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if not peak_kb:  # no /proc (not Linux): the child's ru_maxrss (bytes on macOS, KiB elsewhere)
        peak_kb = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    return proc.returncode, text, wall, peak_kb / 1024.0


def tilik_exe() -> str:
    return shutil.which("tilik", path=str(Path(sys.executable).parent)) or "tilik"


def app_env(tmp: Path) -> dict[str, str]:
    """Environment for a measured app process: temporary user data, offscreen Qt."""
    env = dict(os.environ)
    env.update(TILIK_DATA_DIR=str(tmp / "data"), TILIK_SETTINGS=str(tmp / "settings.ini"),
               TILIK_DB=str(tmp / "data" / "inspections.sqlite3"), TILIK_PACKS_DIR=str(tmp / "data" / "packs"),
               QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    return env


def guard_supported() -> bool:
    """Whether this checkout's Inspector takes ``use_guard`` (the input guard has landed)."""
    try:
        return "use_guard" in inspect.signature(Inspector).parameters
    except (TypeError, ValueError):
        return False


# -- 1, 2, 6: latency -------------------------------------------------------------------------------
def pruned_model(path: Path, outputs: list[str], out: Path) -> Path:
    """The pack's graph cut down to ``outputs`` (onnx.utils.Extractor)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    inputs = [i.name for i in model.graph.input]
    onnx.save(Extractor(model).extract_model(inputs, outputs), str(out))
    return out


def latency_section(pack, repeat: int, provider: str | None) -> dict[str, Any]:
    m = pack.manifest
    image_path = sample_images(pack.id, 1)[0]
    if guard_supported():
        plain = Inspector(pack, provider, use_guard=False)
        guarded = Inspector(pack, provider)
        has_guard = getattr(guarded, "guard", None) is not None
    else:
        plain, guarded, has_guard = Inspector(pack, provider), None, False
    rgb = np.asarray(Image.open(image_path).convert("RGB"))
    tensor, geometry = preprocess(rgb, m.input)
    batch = tensor[None]
    feed = {m.input.name: batch}
    session = plain.loaded.session
    outputs = list(m.outputs.values())
    row: dict[str, Any] = {"pack": pack.id, "provider": plain.provider, "has_guard": has_guard,
                           "guard_supported": guard_supported(), "tensor": tensor}

    stages: dict[str, list[float]] = {"decode": [], "preprocess": [], "run": [], "total": []}

    def full() -> None:
        t = plain.classify(image_path).timings
        for key, value in (("decode", t.decode_ms), ("preprocess", t.preprocess_ms), ("run", t.run_ms),
                           ("total", t.total_ms)):
            stages[key].append(value)

    contenders = {"full_ms": full, "bare_ms": lambda: session.run(outputs, feed)}
    if has_guard:
        contenders["full_guard_ms"] = lambda: guarded.classify(image_path)
    row.update(compare_ms(contenders, repeat))
    row.setdefault("full_guard_ms", None)
    row["stages"] = {k: median(v) for k, v in stages.items()}
    if "cam" in m.outputs:
        with tempfile.TemporaryDirectory() as tmp:
            probs = m.outputs["probs"]
            cam = m.outputs["cam"]
            only = create_session(pruned_model(pack.model_path, [probs], Path(tmp) / "p.onnx"), provider).session
            both = create_session(pruned_model(pack.model_path, [probs, cam], Path(tmp) / "pc.onnx"),
                                  provider).session
            row.update(compare_ms({"probs_only_ms": lambda: only.run([probs], feed),
                                   "probs_cam_ms": lambda: both.run([probs, cam], feed)}, repeat))
            cam_map = np.asarray(session.run([cam], feed)[0][0], dtype=np.float32)
            cam_map = cam_map[..., 0] if cam_map.ndim == 3 else cam_map
            row["upsample_ms"] = median_ms(lambda: heatmap_to_image(cam_map, geometry), repeat)
    return row


def keras_gradcam_ms(manifest, image: np.ndarray, repeat: int) -> float | None:
    """The studies' stack: the same architecture in Keras, predict + GradientTape Grad-CAM."""
    try:
        import keras
        import tensorflow as tf

        from training.lite0.model import build_lite0_backbone
    except Exception as exc:  # noqa: BLE001 - TensorFlow absent in a runtime-only environment
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
    if manifest.input.layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)

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


# -- 3, 5: batch into the log, peak memory ----------------------------------------------------------
def batch_section(pack, count: int) -> dict[str, Any]:
    m = pack.manifest
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = unique_images(pack.id, count, tmp / "imgs")
        env = app_env(tmp)
        db = tmp / "log.sqlite3"
        cmd = [tilik_exe(), "classify", "--pack", pack.id, "--json", "--log", str(db), str(tmp / "imgs")]
        rc, text, cli_s, peak_mb = run_measured(cmd, env=env)
        logged = rc == 0
        if not logged and "--log is not available" in text:  # a checkout without the inspection log
            cmd = [c for c in cmd if c not in ("--log", str(db))]
            rc, text, cli_s, peak_mb = run_measured(cmd, env=env)
        if rc != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({rc}):\n{text[-2000:]}")
        results = sum(1 for line in text.splitlines() if line.startswith("{") and '"label"' in line)
        # Bare onnxruntime, written the way a user would: decode, resize, normalise, run in batches.
        clear_session_cache()
        t0 = time.perf_counter()
        session = create_session(pack.model_path).session
        for start in range(0, len(files), 16):
            chunk = [preprocess(np.asarray(Image.open(f).convert("RGB")), m.input)[0] for f in files[start:start + 16]]
            session.run([m.outputs["probs"]], {m.input.name: np.stack(chunk)})
        bare_s = time.perf_counter() - t0
    return {"pack": pack.id, "images": count, "results": results, "cli_s": cli_s, "bare_s": bare_s,
            "logged": logged, "peak_mb": peak_mb}


# -- 4: cold start ----------------------------------------------------------------------------------
def cold_start_section(pack, runs: int) -> dict[str, Any]:
    image = sample_images(pack.id, 1)[0]
    out: dict[str, Any] = {}
    for label, exe in (("source install (.venv/bin/tilik)", tilik_exe()), ("frozen bundle (dist/tilik)", str(FROZEN))):
        if not (Path(exe).exists() or shutil.which(exe)):
            out[label] = None
            continue
        shown, ready, first, rss = [], [], [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                env = app_env(Path(tmp))
                env["TILIK_EXIT_AFTER_READY"] = "1"
                rc, text, _, peak = run_measured([exe], env=env, timeout=120)
                for line in text.splitlines():
                    if line.startswith("TILIK_WINDOW_SHOWN "):
                        shown.append(float(line.split()[1]))
                    elif line.startswith("TILIK_WINDOW_READY "):
                        ready.append(float(line.split()[1]))
                rss.append(peak)
                env.pop("TILIK_EXIT_AFTER_READY")
                rc, text, wall, _ = run_measured([exe, "classify", "--pack", pack.id, "--json", str(image)],
                                                 env=env, timeout=120)
                if rc == 0:
                    first.append(wall)
        out[label] = {"window_s": median(shown), "ready_s": median(ready), "first_result_s": median(first),
                      "first_run_window_s": shown[0] if shown else None, "gui_rss_mb": median(rss),
                      "frozen": exe == str(FROZEN)}
    return out


# -- 7: GUI event-loop stall ------------------------------------------------------------------------
def stall_section(images: int, large: int) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    cmd = [sys.executable, "-m", "gui.measure", "--skip-startup", "--json", "--images", str(images),
           "--large", str(large)]
    rc, text, wall, peak = run_measured(cmd, env=env, cwd=REPO, timeout=1800)
    report = None
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                report = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if rc != 0 or report is None:
        return {"error": f"gui.measure failed ({rc}): {text[-1500:]}"}
    stall = report["stall"]
    stall["peak_mb"] = peak
    stall["wall_s"] = wall
    return stall


# -- report -----------------------------------------------------------------------------------------
def fmt(value, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


class Checks:
    """Every measured value against its target, for the summary table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, bool | None]] = []

    def add(self, what: str, value: float | None, target: float, text: str, higher_is_better: bool = False,
            target_text: str | None = None) -> str:
        ok = None if value is None else (value >= target if higher_is_better else value <= target)
        self.rows.append((what, text if value is not None else "not measured",
                          f"{'≥' if higher_is_better else '≤'} {target_text or f'{target:g}'}", ok))
        return "" if ok is None else (" ✓" if ok else " ✗")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions, a 100-image batch, one cold start, a 40-image GUI batch")
    parser.add_argument("--packs", nargs="*", help="pack ids (default: every bundled classify pack)")
    parser.add_argument("--batch", type=int, default=None, help="images in the batch (default 500; quick 100)")
    parser.add_argument("--gui-images", type=int, default=None, help="images in the GUI batch (default 150; quick 40)")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras + GradientTape column")
    parser.add_argument("--no-gui", action="store_true", help="skip the GUI event-loop stall measurement")
    parser.add_argument("--photos-only", action="store_true", help="only section 8 (issue 28: photos, verify)")
    parser.add_argument("--photo-packs", nargs="*", default=None,
                        help="packs for section 8 (default: every pack; quick: the first)")
    parser.add_argument("--no-12mp", action="store_true",
                        help="section 8 without the 12-MP photos (the 224-px folders and verify only)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results.md; quick: benchmarks/results-quick.md)")
    args = parser.parse_args(argv)
    repeat = 15 if args.quick else 50
    batch_n = args.batch or (100 if args.quick else 500)
    gui_n = args.gui_images or (40 if args.quick else 150)
    cold_runs = 1 if args.quick else 3
    out_path = args.out or (REPO / "benchmarks" / ("results-quick.md" if args.quick else "results.md"))
    if args.photos_only and args.out is None:
        out_path = REPO / "benchmarks" / ("results-photos-quick.md" if args.quick else "results-photos.md")
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
    load = os.getloadavg()
    checks = Checks()
    t_start = time.time()
    lines = ["# Tilik benchmark results", ""]
    if args.quick:
        lines += ["> **Quick run** (fewer repetitions, smaller batches): indicative only, not the reference numbers.", ""]
    lines += [f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
              f"onnxruntime {ort.__version__}; load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
              f"(1/5/15 min{', shared machine: noisy' if load[0] > 0.5 * (os.cpu_count() or 1) else ''}). "
              f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Latencies: medians of {repeat} runs, batch 1, "
              f"on a sample image; command: `python benchmarks/run.py {' '.join(argv if argv is not None else sys.argv[1:])}`.",
              ""]

    if args.photos_only:
        return _photos_only(args, registry, packs, repeat, checks, lines, out_path, t_start)
    # 1, 2, 6 -----------------------------------------------------------------------------------
    rows = []
    for pack in packs:
        print(f"latency: {pack.id}", flush=True)
        r = latency_section(pack, repeat, "cpu")
        r["gpu"] = None
        if gpu:
            clear_session_cache()
            r["gpu"] = latency_section(pack, repeat, gpu)
        rows.append(r)
    if not args.no_keras:
        for r, pack in zip(rows, packs):
            print(f"keras: {pack.id}", flush=True)
            r["keras_ms"] = keras_gradcam_ms(pack.manifest, r["tensor"], repeat)
    lines += ["## 1, 6. Per-image latency (CPU, batch 1)", "",
              "| pack | full Tilik path (no guard) | full (with guard) | bare onnxruntime | full / bare (≤ 1.3) | "
              "with guard / bare (≤ 2.0) | Keras predict + GradientTape | Keras / full (≥ 10) | GPU |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r["full_ms"] / r["bare_ms"]
        mark = checks.add(f"{r['pack']}: full path / bare onnxruntime", ratio, TARGETS["full_vs_bare"], f"{ratio:.2f}×",
                      target_text=f"{TARGETS['full_vs_bare']:g}×")
        if r["has_guard"]:
            g_ratio = r["full_guard_ms"] / r["bare_ms"]
            g_mark = checks.add(f"{r['pack']}: full path with guard / bare", g_ratio, TARGETS["full_guard_vs_bare"],
                                f"{g_ratio:.2f}×", target_text=f"{TARGETS['full_guard_vs_bare']:g}×")
            guard_cell, g_ratio_cell = f"{r['full_guard_ms']:.1f} ms", f"{g_ratio:.2f}×{g_mark}"
        else:
            guard_cell, g_ratio_cell = "no guard in this pack", "—"
        keras = r.get("keras_ms")
        k_ratio = keras / r["full_ms"] if keras else None
        k_mark = checks.add(f"{r['pack']}: Keras + GradientTape / full path", k_ratio, TARGETS["keras_vs_full"],
                            fmt(k_ratio, "×"), higher_is_better=True,
                            target_text=f"{TARGETS['keras_vs_full']:g}×")
        if r["gpu"]:
            g = r["gpu"]
            gpu_cell = f"{g['full_ms']:.1f} ms full / {g['bare_ms']:.1f} ms bare on {g['provider']}"
        else:
            gpu_cell = "not measured (no GPU provider)"
        lines.append(f"| {r['pack']} | {r['full_ms']:.1f} ms | {guard_cell} | {r['bare_ms']:.1f} ms | {ratio:.2f}×{mark} | "
                     f"{g_ratio_cell} | {fmt(keras, ' ms')} | {fmt(k_ratio, '×')}{k_mark} | {gpu_cell} |")
    if not guard_supported():
        lines += ["", "This checkout's Inspector has no input guard (`use_guard`): the guard column is not measured."]
    lines += ["", "Where the full path's time goes (medians of the Inspector's own timings; *other* = heatmap "
              "mapping, decision, result):", "",
              "| pack | decode | preprocess + content check | model run | other | total |", "|---|---|---|---|---|---|"]
    for r in rows:
        s = r["stages"]
        other = s["total"] - s["decode"] - s["preprocess"] - s["run"]
        lines.append(f"| {r['pack']} | {s['decode']:.1f} ms | {s['preprocess']:.1f} ms | {s['run']:.1f} ms | "
                     f"{other:.1f} ms | {s['total']:.1f} ms |")

    lines += ["", "## 2. Heatmap cost", "",
              "The pack's graph pruned to `probs` vs pruned to `probs` + `cam` (same input tensor); the heatmap's "
              "mapping back onto the photo is listed separately.", "",
              "| pack | probs only | probs + cam | overhead (≤ 10 %) | mapping the heatmap onto the photo |",
              "|---|---|---|---|---|"]
    for r in rows:
        if "probs_only_ms" not in r:
            lines.append(f"| {r['pack']} | — | — | no cam output | — |")
            continue
        overhead = r["probs_cam_ms"] / r["probs_only_ms"] - 1
        mark = checks.add(f"{r['pack']}: heatmap overhead", overhead, TARGETS["heatmap_overhead"], f"{100 * overhead:+.1f}%",
                          target_text=f"{100 * TARGETS['heatmap_overhead']:g}%")
        lines.append(f"| {r['pack']} | {r['probs_only_ms']:.1f} ms | {r['probs_cam_ms']:.1f} ms | "
                     f"{100 * overhead:+.1f}%{mark} | {r['upsample_ms']:.1f} ms |")

    # 3, 5 --------------------------------------------------------------------------------------
    lines += ["", f"## 3, 5. Batch of {batch_n} images into the log, peak memory", "",
              f"{batch_n} distinct JPEGs made from the pack's samples. `tilik classify --json --log DB` (a fresh process: "
              "start-up, decode, preprocess, run with heatmap, decision, log write) vs a bare onnxruntime loop "
              "(session load, decode, preprocess, run `probs` in batches of 16). Peak memory: max RSS of the "
              "`tilik classify` process.", "",
              "| pack | `tilik classify --log` | bare onnxruntime | throughput ratio (≥ 0.70) | peak RSS (≤ 600 MB) |",
              "|---|---|---|---|---|"]
    for pack in packs:
        print(f"batch: {pack.id} ({batch_n} images)", flush=True)
        b = batch_section(pack, batch_n)
        note = "" if b["logged"] else " (log not available: measured without --log)"
        ratio = b["bare_s"] / b["cli_s"]
        mark = checks.add(f"{pack.id}: batch throughput / bare", ratio, TARGETS["batch_vs_bare"], f"{ratio:.2f}",
                          higher_is_better=True)
        m_mark = checks.add(f"{pack.id}: peak memory, {batch_n}-image batch", b["peak_mb"], TARGETS["peak_mb"],
                            f"{b['peak_mb']:.0f} MB", target_text=f"{TARGETS['peak_mb']} MB")
        lines.append(f"| {pack.id} | {b['cli_s']:.1f} s ({batch_n / b['cli_s']:.1f} img/s, {b['results']} results){note} | "
                     f"{b['bare_s']:.1f} s ({batch_n / b['bare_s']:.1f} img/s) | {ratio:.2f}{mark} | "
                     f"{b['peak_mb']:.0f} MB{m_mark} |")

    # 4 -----------------------------------------------------------------------------------------
    print("cold start", flush=True)
    cold = cold_start_section(packs[0], cold_runs)
    lines += ["", "## 4. Cold start", "",
              f"Seconds from process start (read from /proc by the app itself) to the main window's first paint and "
              f"to packs + model ready (`TILIK_EXIT_AFTER_READY=1`, offscreen); first result: wall time of "
              f"`tilik classify --pack {packs[0].id} --json <sample>`. Median of {cold_runs} run(s); the OS file "
              "cache is warm after the first.", "",
              "| install | window shown (≤ 2.5 s) | packs + model ready | first result on a sample (≤ 4 s) | GUI peak RSS |",
              "|---|---|---|---|---|"]
    for label, row in cold.items():
        if row is None:
            lines.append(f"| {label} | not built (`make package`) | | | |")
            continue
        suffix = " (frozen)" if row["frozen"] else " (source)"
        w_mark = checks.add("window shown after `tilik`" + suffix, row["window_s"], TARGETS["window_s"],
                            fmt(row["window_s"], " s", 2), target_text=f"{TARGETS['window_s']} s")
        f_mark = checks.add("first result from a cold start" + suffix, row["first_result_s"], TARGETS["first_result_s"],
                            fmt(row["first_result_s"], " s", 2), target_text=f"{TARGETS['first_result_s']} s")
        lines.append(f"| {label} | {fmt(row['window_s'], ' s', 2)}{w_mark} | {fmt(row['ready_s'], ' s', 2)} | "
                     f"{fmt(row['first_result_s'], ' s', 2)}{f_mark} | {fmt(row['gui_rss_mb'], ' MB', 0)} |")

    # 7 -----------------------------------------------------------------------------------------
    lines += ["", "## 7. GUI responsiveness during a batch", ""]
    if args.no_gui:
        lines.append("Not measured (`--no-gui`).")
    else:
        print(f"gui stall ({gui_n} images)", flush=True)
        large = 2400
        st = stall_section(gui_n, large)
        if "error" in st:
            lines.append(f"Not measured: {st['error']}")
        else:
            lines += [f"`python -m gui.measure` in a fresh process (offscreen): the main window on {st['pack']}; "
                      "a 1 ms heartbeat timer in the GUI thread records the gaps between its ticks (the longest gap is "
                      f"the longest the window was frozen) while the app starts, inspects one {large}-px photo, and runs a "
                      f"batch of {gui_n} photos (every other one {large} px wide) into the inspection log.", "",
                      "| phase | longest stall (< 100 ms) | p99 gap | gaps over 100 ms | time |", "|---|---|---|---|---|"]
            for key, label in (("startup", "after the window is shown (pack scan, model load)"),
                               ("single_large_image", f"one {large}-px photo"),
                               ("batch", f"batch of {gui_n} photos into the log")):
                r = st[key]
                mark = checks.add(f"GUI event-loop stall: {label}", r["max_ms"], TARGETS["stall_ms"], fmt(r["max_ms"], " ms"),
                                  target_text=f"{TARGETS['stall_ms']} ms")
                extra = f"{r['seconds']} s" if "seconds" in r else ""
                if key == "batch":
                    extra += f", {r['images_per_s']} img/s, {r['logged']} logged"
                lines.append(f"| {label} | {fmt(r['max_ms'], ' ms')}{mark} | {fmt(r.get('p99_ms'), ' ms')} | "
                             f"{r.get('over_100ms', 'n/a')} | {extra} |")
            lines += ["", f"Peak RSS of that GUI process: {st['peak_mb']:.0f} MB."]

    lines += _photos(args, registry, packs, repeat, checks)
    return _finish(checks, lines, out_path, t_start)


def _photos(args: argparse.Namespace, registry: Any, packs: list[Any], repeat: int, checks: Checks) -> list[str]:
    import photos

    helpers = {"sample_images": sample_images, "compare_ms": compare_ms, "median_ms": median_ms, "app_env": app_env,
               "tilik_exe": tilik_exe, "run_measured": run_measured, "repo": REPO}
    return photos.run_all(packs, registry, args.quick, repeat, checks, helpers, args.photo_packs,
                          twelve_mp=not getattr(args, "no_12mp", False))


def _photos_only(args: argparse.Namespace, registry: Any, packs: list[Any], repeat: int, checks: Checks,
                 lines: list[str], out_path: Path, t_start: float) -> int:
    import photos

    section = _photos(args, registry, packs, repeat, checks)
    load = os.getloadavg()
    when = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
            f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} at the end")
    # results.md holds reference runs of the whole section only; a quick or partial run writes its own file
    if not args.quick and not getattr(args, "no_12mp", False):
        photos.merge_into(REPO / "benchmarks" / "results.md", section, checks.rows, when)
    return _finish(checks, lines + section, out_path, t_start)


def _finish(checks: Checks, lines: list[str], out_path: Path, t_start: float) -> int:
    lines += ["", "## Targets", "", "| measured | value | target | met |", "|---|---|---|---|"]
    for what, value, target, ok in checks.rows:
        lines.append(f"| {what} | {value} | {target} | {'n/a' if ok is None else ('yes' if ok else '**no**')} |")
    missed = sum(1 for *_, ok in checks.rows if ok is False)
    lines += ["", f"{len(checks.rows) - missed} of {len(checks.rows)} checks met (n/a counts as met). "
              f"Benchmark took {time.time() - t_start:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    out_path.write_text(text, encoding="utf-8")
    print(f"written to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
