"""Write test sets of the second renderer: a mixed cross-renderer set and per-type profile sets.

Sample ``i`` is rendered from a generator seeded by ``(seed, i)`` only, so a set is the same bytes on
every run and its first N files equal a set of N. Labels alternate (even intact, odd damaged).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from training.seals_alt.render import DEFECTS_BY_KIND, KINDS, RENDERER_VERSION, render

CSV_COLUMNS: tuple[str, ...] = ("file", "label", "kind", "defect", "surface", "lighting", "seed", "mask")


def _spec(seed: int, i: int, kinds: list[str]) -> tuple[str, str, int]:
    sel = np.random.default_rng([seed, i, 0xA1])
    kind = kinds[int(sel.integers(len(kinds)))]
    defect = "none" if i % 2 == 0 else DEFECTS_BY_KIND[kind][int(sel.integers(len(DEFECTS_BY_KIND[kind])))]
    return kind, defect, int(np.random.default_rng([seed, i, 0xA2]).integers(0, 2**62))


def _write(out: Path, stem: str, label: str, image: np.ndarray, mask) -> tuple[str, str]:
    rel = f"{label}/{stem}.jpg"
    (out / label).mkdir(parents=True, exist_ok=True)
    # the renderer already JPEG-compressed the photo; save near-losslessly so that stays the only loss
    Image.fromarray(image).save(out / rel, "JPEG", quality=97)
    mrel = ""
    if mask is not None:
        (out / "masks").mkdir(exist_ok=True)
        mrel = f"masks/{stem}.png"
        Image.fromarray(mask).save(out / mrel)
    return rel, mrel


def write_dataset(out_dir, count: int, seed: int, size: int = 256, kinds=None,
                  style_seed: int | None = None, start: int = 0) -> list[dict]:
    """Render ``count`` photos (alternately intact and damaged) into ``out_dir``; returns the rows.

    ``kinds`` restricts the seal kinds; ``style_seed`` fixes one seal model for every photo.
    ``labels.csv`` and ``renderer.json`` are written beside the images.
    """
    kinds = list(kinds or KINDS)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown seal kind {k!r}; choose from {', '.join(KINDS)}")
    if count < 1:
        raise ValueError("count must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(start, start + count):
        kind, defect, rseed = _spec(seed, i, kinds)
        img, mask, meta = render(np.random.default_rng(rseed), kind, defect, size=size, style_seed=style_seed)
        label = "intact" if defect == "none" else "damaged"
        rel, mrel = _write(out, f"alt_{i:06d}", label, img, mask)
        rows.append(dict(file=rel, label=label, kind=kind, defect=defect, surface=meta["surface"],
                         lighting=meta["lighting"], seed=rseed, mask=mrel))
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    (out / "renderer.json").write_text(json.dumps(dict(renderer="training.seals_alt", version=RENDERER_VERSION,
                                                       count=count, seed=seed, size=size, kinds=kinds,
                                                       style_seed=style_seed, start=start), indent=2) + "\n")
    return rows


def export_profile_photos(out_dir, seed: int = 7070, intact: int = 60, damaged: int = 40, size: int = 256) -> dict:
    """Per seal kind, one seal model (fixed style): ``<kind>/intact/*.jpg`` and ``<kind>/damaged/*.jpg``.

    What a site would have: many photos of its own intact seals (enrol some, judge the rest) and a
    few damaged ones. Returns ``{kind: {"intact": n, "damaged": n}}``.
    """
    out = Path(out_dir)
    counts = {}
    for k_i, kind in enumerate(KINDS):
        rows = []
        n = 0
        i = 0
        want = {"intact": intact, "damaged": damaged}
        have = {"intact": 0, "damaged": 0}
        while have["intact"] < intact or have["damaged"] < damaged:
            label = "intact" if i % 2 == 0 else "damaged"
            if have[label] >= want[label]:
                label = "damaged" if label == "intact" else "intact"
            rng = np.random.default_rng([seed, k_i, i])
            defect = "none" if label == "intact" else DEFECTS_BY_KIND[kind][int(rng.integers(len(DEFECTS_BY_KIND[kind])))]
            img, mask, meta = render(rng, kind, defect, size=size, style_seed=seed * 10 + k_i)
            rel, mrel = _write(out / kind, f"{kind}_{i:04d}", label, img, mask)
            rows.append(dict(file=rel, label=label, kind=kind, defect=defect, surface=meta["surface"],
                             lighting=meta["lighting"], seed=f"{seed}:{k_i}:{i}", mask=mrel))
            have[label] += 1
            i += 1
            n += 1
        with open(out / kind / "labels.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        counts[kind] = dict(have)
    (out / "renderer.json").write_text(json.dumps(dict(renderer="training.seals_alt", version=RENDERER_VERSION,
                                                       seed=seed, size=size, counts=counts,
                                                       note="one seal model (style) per kind"), indent=2) + "\n")
    return counts


def main(argv=None) -> int:
    """``python -m training.seals_alt --out DIR --count N --seed S`` or ``--profiles``."""
    ap = argparse.ArgumentParser(prog="python -m training.seals_alt",
                                 description="Second seal renderer (test data only; never for training).")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=5151)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--kinds", default=None, help="comma-separated: strip,bolt,label (default all)")
    ap.add_argument("--profiles", action="store_true",
                    help="write per-kind sets with one seal model each (intact and damaged) instead")
    ap.add_argument("--intact", type=int, default=60)
    ap.add_argument("--damaged", type=int, default=40)
    a = ap.parse_args(argv)
    try:
        if a.profiles:
            print(json.dumps(export_profile_photos(a.out, a.seed, a.intact, a.damaged, a.size)))
        else:
            kinds = [k.strip() for k in a.kinds.split(",")] if a.kinds else None
            rows = write_dataset(a.out, a.count, a.seed, a.size, kinds)
            print(f"wrote {len(rows)} photos to {a.out}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
