"""Score the number reader on generated door photos (training/ocr_doors.py).

    python -m training.ocr_eval --seed 26 --count 300 [--detect-side 800] [--rapidocr] [--out FILE.json]

Targets (issue 26): container number exact in ≥ 95% of photos, every wrong check digit flagged
(never reported valid, never corrected), seal number exact in ≥ 90%. ``--rapidocr`` also runs
rapidocr-onnxruntime itself (when installed, e.g. on PYTHONPATH for study) on the same photos and
passes its lines through the same number finder, for the comparison in docs/ocr.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path


def _score(rows: list[dict]) -> dict:
    n = len(rows)
    bad = [r for r in rows if not r["truth_valid"]]
    good = [r for r in rows if r["truth_valid"]]
    return {
        "photos": n,
        "container_exact": sum(r["container_exact"] for r in rows) / n,
        "container_exact_valid_painted": sum(r["container_exact"] for r in good) / max(1, len(good)),
        "wrong_check_digits_painted": len(bad),
        "wrong_check_digits_flagged": sum(r["flagged"] for r in bad),
        "wrong_check_digits_reported_valid": sum(r["reported_valid"] for r in bad),
        "valid_numbers_reported_valid_but_different": sum(r["reported_valid"] and not r["container_exact"] for r in rows),
        "seal_exact": sum(r["seal_exact"] for r in rows) / n,
        "ms_median": statistics.median(r["ms"] for r in rows),
        "ms_p90": sorted(r["ms"] for r in rows)[int(0.9 * (n - 1))],
        "misses_by_layout": dict(Counter(r["layout"] for r in rows if not r["container_exact"])),
        "misses_by_font": dict(Counter(r["font"] for r in rows if not (r["container_exact"] and r["seal_exact"]))),
    }


def _row(truth, container, check, seal, ms) -> dict:
    return {"name": truth.name, "layout": truth.layout, "font": truth.font, "truth": truth.container_number,
            "truth_valid": truth.container_valid, "read": container, "check": check, "seal_truth": truth.seal_number,
            "seal_read": seal, "container_exact": container == truth.container_number,
            "flagged": check in ("bad-check-digit", "bad-format") or container is None,
            "reported_valid": check == "valid", "seal_exact": seal == truth.seal_number, "ms": ms}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--detect-side", type=int, default=None)
    p.add_argument("--rapidocr", action="store_true", help="also score rapidocr-onnxruntime itself")
    p.add_argument("--start", type=int, default=0, help="first photo index (to split a long run)")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads per session")
    p.add_argument("--rec-batch", type=int, default=None, help="lines per recogniser run")
    p.add_argument("--rec-min-width", type=int, default=None, help="pad each line to at least this width")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    from inference.ocr import numbers
    from inference.ocr.reader import TextLine, TextReader
    from inference.ocr.reading import read_numbers
    from training.ocr_doors import available_fonts, make_door

    reader = TextReader(detect_long_side=args.detect_side, threads=args.threads) if args.detect_side \
        else TextReader(threads=args.threads)
    if args.rec_batch is not None:
        reader.rec_batch_size = args.rec_batch
    if args.rec_min_width is not None:
        reader.rec_min_width = args.rec_min_width
    rapid = None
    if args.rapidocr:
        from rapidocr_onnxruntime import RapidOCR

        rapid = RapidOCR()
    fonts = available_fonts()
    ours, theirs, failures = [], [], []
    for i in range(args.start, args.start + args.count):
        if i % 10 == 0:
            print(f"{i}/{args.start + args.count}", file=sys.stderr, flush=True)
        rgb, truth = make_door(args.seed * 100000 + i, fonts=fonts)
        t0 = time.perf_counter()
        res = read_numbers(rgb, reader)
        ms = 1000 * (time.perf_counter() - t0)
        row = _row(truth, res.container_number, res.container_check, res.seal_number, ms)
        ours.append(row)
        if not (row["container_exact"] and row["seal_exact"]):
            failures.append({**row, "lines": [ln.text for ln in res.lines]})
        if args.out and i % 10 == 9:  # a run cut short still leaves its numbers so far
            _write(args, reader, fonts, ours, theirs, failures, quiet=True)
        if rapid is not None:
            t0 = time.perf_counter()
            out, _ = rapid(rgb[:, :, ::-1].copy())
            ms = 1000 * (time.perf_counter() - t0)
            lines = [TextLine(text, float(score), tuple((float(x), float(y)) for x, y in box))
                     for box, text, score in (out or [])]
            c = numbers.find_container(lines)
            s = numbers.find_seal(lines, exclude=c.lines if c else ())
            theirs.append(_row(truth, c.number if c else None, c.check if c else None, s.number if s else None, ms))
    _write(args, reader, fonts, ours, theirs, failures)
    return 0


def _write(args, reader, fonts, ours, theirs, failures, quiet: bool = False) -> None:
    if not ours:
        return
    report = {"seed": args.seed, "start": args.start, "detect_side": reader.detect_long_side, "provider": reader.provider,
              "rec_batch": reader.rec_batch_size, "rec_min_width": reader.rec_min_width,
              "fonts": [Path(f).stem for f in fonts], "tilik": _score(ours), "failures": failures, "rows": ours}
    if theirs:
        report["rapidocr"] = _score(theirs)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if not quiet:
        print(json.dumps({k: v for k, v in report.items() if k not in ("failures", "rows")}, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
