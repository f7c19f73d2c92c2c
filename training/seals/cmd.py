"""``python -m training seals ...``: generate a synthetic seal dataset, draw its contact sheet, or list
the named families, defects, backgrounds and lighting set-ups.

    python -m training seals generate --out DIR --count N --seed S [--size 256]
        [--backgrounds LIST] [--lighting LIST] [--families LIST] [--defects LIST] [--paired] [--wide] [--bolt13] [--workers K]
    python -m training seals sheet --data DIR --out sheet.png [--cols 8] [--thumb 192] [--limit 48]
    python -m training seals list

LIST is comma-separated names; ``all`` and glob patterns (``steel_door_*``) work too.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` / ``sheet`` / ``list`` subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="{generate,sheet,list}")
    g = sub.add_parser("generate", help="render a balanced intact/damaged seal dataset",
                       description="Render N synthetic seal photos (half intact, half damaged) into DIR: "
                                   "intact/*.jpg, damaged/*.jpg, masks/<stem>.png and labels.csv.")
    g.add_argument("--out", required=True, type=Path, help="output folder (our own old files in it are replaced)")
    g.add_argument("--count", required=True, type=int, help="number of images (half intact, half damaged)")
    g.add_argument("--seed", required=True, type=int, help="dataset seed (same seed+options = same bytes)")
    g.add_argument("--size", type=int, default=256, help="square image size in pixels (default 256)")
    g.add_argument("--backgrounds", default=None, help="comma-separated backgrounds (default: all)")
    g.add_argument("--lighting", default=None, help="comma-separated lighting set-ups (default: all)")
    g.add_argument("--families", default=None, help="comma-separated seal families (default: all)")
    g.add_argument("--defects", default=None, help="comma-separated defect types for damaged images (default: all)")
    g.add_argument("--paired", action="store_true",
                   help="render every scene twice, intact and damaged (they differ only where the defect is)")
    g.add_argument("--wide", action="store_true",
                   help="generator 1.2's wide mode: real-photo textures and backgrounds, hands/gloves, white "
                        "balance, glare, stronger blur, low JPEG, wider framing (needs TILIK_SEAL_PHOTOS or "
                        "../shared/data/imagenet-samples)")
    g.add_argument("--bolt13", action="store_true",
                   help="generator 1.3 bolt seals (cut shanks dropped or glued back, barrels fractured, crushed or pulled)")
    g.add_argument("--workers", type=int, default=1, help="worker processes (output is identical for any value)")
    g.add_argument("--jpeg-quality", type=int, default=95, help="quality of the written JPEG files (default 95)")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    s = sub.add_parser("sheet", help="contact sheet of a generated dataset (masks outlined)")
    s.add_argument("--data", required=True, type=Path, help="dataset folder with labels.csv")
    s.add_argument("--out", required=True, type=Path, help="PNG to write")
    s.add_argument("--cols", type=int, default=8)
    s.add_argument("--thumb", type=int, default=192)
    s.add_argument("--limit", type=int, default=48)
    sub.add_parser("list", help="print the named families, defects, backgrounds and lighting set-ups")


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; returns the process exit code."""
    if args.action == "list":
        from training.seals.generator import BACKGROUND_NAMES, DEFECTS_BY_FAMILY, LIGHTING_NAMES
        from training.seals.wide import PHOTO_BACKGROUNDS
        for fam, defects in DEFECTS_BY_FAMILY.items():
            print(f"family {fam}: defects {', '.join(defects)}")
        print(f"backgrounds: {', '.join(BACKGROUND_NAMES)}")
        print(f"real-photo backgrounds (--wide only): {', '.join(PHOTO_BACKGROUNDS)}")
        print(f"lighting: {', '.join(LIGHTING_NAMES)}")
        return 0
    if args.action == "sheet":
        from training.seals.sheet import contact_sheet
        out = contact_sheet(args.data, args.out, cols=args.cols, thumb=args.thumb, limit=args.limit)
        print(f"wrote {out}")
        return 0
    from training.seals.generator import generate_dataset
    if args.count < 1 or args.size < 32 or args.workers < 1:
        print("error: --count and --workers must be >= 1 and --size >= 32", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if not args.quiet and (done == total or now - last[0] > 2.0):
            last[0] = now
            rate = done / max(now - t0, 1e-9)
            print(f"  {done}/{total} images  {rate:.1f} img/s", file=sys.stderr, flush=True)

    try:
        rows = generate_dataset(args.out, args.count, args.seed, size=args.size, backgrounds=args.backgrounds,
                                lighting=args.lighting, families=args.families, defects=args.defects,
                                paired=args.paired, wide=args.wide, bolt13=args.bolt13, workers=args.workers, jpeg_quality=args.jpeg_quality,
                                progress=progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dt = time.perf_counter() - t0
    damaged = sum(r["label"] == "damaged" for r in rows)
    print(f"wrote {len(rows)} images ({len(rows) - damaged} intact, {damaged} damaged) to {args.out} "
          f"in {dt:.1f} s ({len(rows) / dt:.1f} img/s)")
    return 0
