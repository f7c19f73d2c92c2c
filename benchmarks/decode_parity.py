"""Do decisions change with crop-before-resize and reduced-size decoding? Count the flips.

    python benchmarks/decode_parity.py [--natural 200] [--phone 30]

Two comparisons, every bundled classify pack, decisions = (label, needs review):

1. *natural size*: each pack's samples plus up to ``--natural`` shared-data images at their own size,
   preprocessed the old way (resize the whole image, then crop) and the new way (crop box, then
   resize). Only ``center_crop`` packs can differ. No image here is twice the input size, so no
   reduced decode happens: this isolates the crop change.
2. *phone size*: the same kind of images enlarged to 4000 px on the long side (bicubic) and saved
   as JPEG q92, like a 12-MP phone photo of the same scene; classified from a full decode and from
   the reduced decode the app now uses (DCT scaling to 1/4 or 1/8, then the pack's resize).
3. *noise floor*: the same phone-size photo saved once more at JPEG q85 (what re-saving a photo
   does), both decoded in full: how many decisions an everyday re-export already flips.

Prints a markdown table: images, label flips, decision flips, largest probability change; each
flip's image and top two classes go to stderr.
Shared data (../shared/data) is optional: without it only the packs' samples are used.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import inference.inspector as inspector_mod  # noqa: E402
from inference.imageio import load_image  # noqa: E402
from inference.inspector import Inspector  # noqa: E402
from inference.preprocess import Geometry, fit_to_input  # noqa: E402
from inference.registry import PackRegistry  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
EXTRA = {"imagenet-lite0": "imagenet-samples/images", "skin-binary": "skin-ham10000/images",
         "skin-ham7": "skin-ham10000/images", "seal-integrity": "imagenet-samples/images"}


def old_fit(rgb: np.ndarray, spec):
    """fit_to_input as it was: center_crop resized the whole image before cropping."""
    if spec.resize != "center_crop":
        return fit_to_input(rgb, spec)
    h0, w0 = rgb.shape[:2]
    th, tw = spec.height, spec.width
    if (h0, w0) == (th, tw):
        return rgb, Geometry(w0, h0, (0, 0, tw, th), (0, 0, w0, h0))
    scale = max(th, tw) / spec.crop_fraction / min(h0, w0)
    nw, nh = max(tw, round(w0 * scale)), max(th, round(h0 * scale))
    from inference.preprocess import resize_rgb
    resized = resize_rgb(rgb, nw, nh, spec.interpolation)
    x, y = (nw - tw) // 2, (nh - th) // 2
    crop = (round(x / scale), round(y / scale), round(tw / scale), round(th / scale))
    return np.ascontiguousarray(resized[y:y + th, x:x + tw]), Geometry(w0, h0, (0, 0, tw, th), crop)


def images_for(pack_id: str, folder: Path, n: int) -> list[Path]:
    own = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    extra = SHARED / EXTRA.get(pack_id, "")
    more = sorted(extra.iterdir())[:: max(1, len(list(extra.iterdir())) // max(1, n))][:n] if extra.is_dir() and n else []
    return own + more


def decide(inspector: Inspector, decoded) -> tuple[tuple[str, bool], np.ndarray]:
    r = inspector.classify(decoded)
    return (r.label, r.needs_review), np.fromiter(r.probabilities.values(), np.float64)


def compare(pairs, names=None, what: str = "") -> tuple[int, int, int, float]:
    n = labels = decisions = 0
    worst = 0.0
    for i, ((da, pa), (db, pb)) in enumerate(pairs):
        n += 1
        labels += da[0] != db[0]
        decisions += da != db
        worst = max(worst, float(np.abs(pa - pb).max()))
        if da != db and names is not None:
            top = lambda p: ", ".join(f"{v:.3f}" for v in np.sort(p)[::-1][:2])  # noqa: E731
            print(f"{what} {names[i]}: {da} [{top(pa)}] -> {db} [{top(pb)}]", file=sys.stderr)
    return n, labels, decisions, worst


def phone_jpeg(path: Path, qualities: tuple[int, ...] = (92,)) -> list[bytes]:
    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = 4000 / max(img.size)
        big = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
    out = []
    for quality in qualities:
        buf = io.BytesIO()
        big.save(buf, format="JPEG", quality=quality)
        out.append(buf.getvalue())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--natural", type=int, default=200)
    ap.add_argument("--phone", type=int, default=30)
    ap.add_argument("--packs", nargs="*", default=None, help="only these pack ids")
    ap.add_argument("--phone-only", action="store_true",
                    help="skip the natural-size (crop change) comparison; its column then counts 0 images")
    args = ap.parse_args()
    print("| pack | resize | natural size, crop change: images, label flips, decision flips, max Δp | "
          "phone size, reduced decode: same | noise floor, q92 vs q85 re-export: same |")
    print("|---|---|---|---|---|")
    for pack in PackRegistry().all():
        if not pack.usable or pack.manifest.task != "classify" or (args.packs and pack.id not in args.packs):
            continue
        inspector = Inspector(pack)
        samples = REPO / "resources" / "samples" / pack.id
        files = images_for(pack.id, samples, args.natural)
        natural = []
        for path in ([] if args.phone_only else files):
            decoded = load_image(path)
            new = decide(inspector, decoded)
            inspector_mod.fit_to_input = old_fit
            try:
                old = decide(inspector, decoded)
            finally:
                inspector_mod.fit_to_input = fit_to_input
            natural.append((old, new))
        phone, noise = [], []
        for path in files[: args.phone]:
            data, resaved = phone_jpeg(path, (92, 85))
            full = load_image(data, name=path.name)
            small = load_image(data, name=path.name, shrink=inspector._shrink)
            assert small.reduced > 1 or small.width < full.width
            reference = decide(inspector, full)
            phone.append((reference, decide(inspector, small)))
            noise.append((reference, decide(inspector, load_image(resaved, name=path.name))))
        names = [p.name for p in files]
        a = compare(natural, names, f"{pack.id} crop")
        b = compare(phone, names, f"{pack.id} reduced")
        c = compare(noise, names, f"{pack.id} q85")
        print(f"| {pack.id} | {pack.manifest.input.resize} | {a[0]}, {a[1]}, {a[2]}, {a[3]:.4f} | "
              f"{b[0]}, {b[1]}, {b[2]}, {b[3]:.4f} | {c[0]}, {c[1]}, {c[2]}, {c[3]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
