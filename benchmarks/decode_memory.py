"""Peak memory of one ``tilik classify`` per hostile or oversized image, before and after reduced decode.

    python benchmarks/decode_memory.py [--before OLD_SOURCE_TREE] [--packs imagenet-lite0 skin-binary]

Each measurement is a whole process (``python -m tilik classify --pack P --json IMAGE``), its peak
resident memory read from ``wait4`` (ru_maxrss), run under an address-space cap so an old code path
that tries to allocate 13 GB fails instead of taking the machine down. The same process on a
224×224 JPEG is the baseline (interpreter, onnxruntime, the pack); "image" is the peak minus that
baseline, i.e. what the image itself costs. ``--before`` points at a checkout of the code before
the change (e.g. ``git archive main | tar -x -C /tmp/old``) to run the same files through it.

Images (made here, not committed): a 12-MP JPEG photo (4000×3000), a 65535×1 PNG strip (65 KB:
imagenet-lite0 resized it whole before cropping) and a 59-MP 16-bit grayscale PNG (8860×6660).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CAP_BYTES = 4 * 2**30


def make_images(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    out = {}
    small = rng.integers(0, 256, (75, 100, 3), dtype=np.uint8)
    photo = Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC)
    out["224-px JPEG (baseline)"] = folder / "base.jpg"
    photo.resize((224, 224)).save(out["224-px JPEG (baseline)"], quality=90)
    out["12-MP JPEG 4000×3000"] = folder / "photo12mp.jpg"
    photo.save(out["12-MP JPEG 4000×3000"], quality=90)
    out["65535×1 PNG"] = folder / "strip.png"
    Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), 256)[None, :65535].repeat(3, 0).T[None]).save(out["65535×1 PNG"])
    w, h = 8860, 6660  # 59 MP, under the 60-MP limit
    g = (np.add.outer(np.arange(h, dtype=np.uint32) * 5, np.arange(w, dtype=np.uint32) * 7) % 65536).astype(np.uint16)
    out["59-MP 16-bit PNG"] = folder / "gray16_59mp.png"
    Image.fromarray(g).save(out["59-MP 16-bit PNG"], compress_level=1)
    return out


def peak_rss(tree: Path, pack: str, image: Path) -> tuple[float | None, float, str]:
    """(peak RSS in MB or None when it failed, seconds, last error line) of one classify process."""
    env = {**os.environ, "PYTHONPATH": str(tree), "ORT_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1",
           "TILIK_BUNDLED_PACKS_DIR": str(REPO / "models")}

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tilik", "classify", "--pack", pack, "--json", str(image)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(tree), preexec_fn=cap)
    out, err = proc.communicate(timeout=600)
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # run_one gives each case its own parent
    ok = proc.returncode == 0 and b'"label"' in out
    last = (err.decode(errors="replace").strip().splitlines() or [""])[-1][:120]
    return (usage.ru_maxrss / 1024 if ok else None), seconds, last


def run_one(tree: Path, pack: str, image: Path) -> tuple[float | None, float, str]:
    # RUSAGE_CHILDREN is a running maximum: measure each case in a fresh helper process.
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import decode_memory as d; "
            f"from pathlib import Path; r = d.peak_rss(Path({str(tree)!r}), {pack!r}, Path({str(image)!r})); print(repr(r))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    return eval(res.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr of a tuple


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, default=None, help="source tree of the code before the change")
    ap.add_argument("--packs", nargs="+", default=["imagenet-lite0", "skin-binary"])
    args = ap.parse_args()
    trees = [("after", REPO)] + ([("before", args.before)] if args.before else [])
    with tempfile.TemporaryDirectory() as tmp:
        images = make_images(Path(tmp))
        print("| pack | image | " + " | ".join(f"{n}: peak MB (image MB), s" for n, _ in trees) + " |")
        print("|---|---|" + "---|" * len(trees))
        for pack in args.packs:
            base = {name: run_one(tree, pack, images["224-px JPEG (baseline)"])[0] for name, tree in trees}
            for label, path in images.items():
                cells = []
                for name, tree in trees:
                    mb, s, err = run_one(tree, pack, path)
                    if mb is None:
                        cells.append(f"failed under the {CAP_BYTES / 2**30:.0f} GB cap ({err}), {s:.1f}")
                    else:
                        cells.append(f"{mb:.0f} ({mb - (base[name] or 0):+.0f}), {s:.1f}")
                print(f"| {pack} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
