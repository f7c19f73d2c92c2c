"""What signing the log's head costs (issue #22), as ratios measured side by side in one run.

    python benchmarks/log_signing.py [--commits N] [--out FILE]

Two logs in temporary folders, written alternately in rounds so machine noise hits both alike:
a log at schema 2 (the released, unsigned format: hash chain only) and one at the current schema
(every write checks the previous head's signature, signs the new head with the station's Ed25519
key). Measured:

1. one inspection per transaction (the desktop app's case, the worst for signing): median ms per
   commit, both logs, and the ratio;
2. a group of 64 inspections per transaction (``tilik classify --log``'s case);
3. ``verify_chain`` over the whole log (no files): the head's signature is one extra check.

Commits include SQLite's fsyncs (``synchronous=FULL``), so absolute numbers depend on the disk;
the ratio is the point.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _result(i: int):
    from inference.results import ClassScore, InspectionResult, Timings

    probs = {"red": 0.9, "green": 0.05, "blue": 0.05}
    return InspectionResult(
        source=f"bench/{i}.png", label="red", display_label="Red", verdict="Red", confidence=0.9,
        probabilities=probs, top_k=(ClassScore("red", "Red", 0.9),), alarming=True, needs_review=False,
        review_reasons=(), out_of_domain=False, ood_score=None, heatmap=None, embedding=None, pack_id="colour",
        pack_version="1.0.0", pack_sha256="0" * 64, provider="CPU",
        image_sha256=hashlib.sha256(str(i).encode()).hexdigest(), image_size=(32, 24), image_notes=(),
        timings=Timings(1.0, 1.0, 1.0, 3.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200, help="single-inspection commits per log")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tilik-bench-sign-") as tmp:
        os.environ["TILIK_DATA_DIR"] = tmp
        os.environ["TILIK_KEY_DIR"] = str(Path(tmp) / "station")
        from inference.log import InspectionLog
        from inference.log.schema import CURRENT_VERSION

        logs = {"unsigned (schema 2)": InspectionLog.open(Path(tmp) / "v2.sqlite3", _schema_version=2),
                f"signed (schema {CURRENT_VERSION})": InspectionLog.open(Path(tmp) / "v3.sqlite3")}
        single: dict[str, list[float]] = {k: [] for k in logs}
        group: dict[str, list[float]] = {k: [] for k in logs}
        n = 0
        order = list(logs.items())
        for r in range(args.commits):
            for name, log in (order if r % 2 else order[::-1]):  # alternate who goes first
                n += 1
                t0 = time.perf_counter()
                log.record_results([_result(n)], per_transaction=1)
                single[name].append((time.perf_counter() - t0) * 1000)
        for r in range(max(10, args.commits // 10)):
            for name, log in (order if r % 2 else order[::-1]):
                batch = [_result(n + i) for i in range(64)]
                n += 64
                t0 = time.perf_counter()
                log.record_results(batch, per_transaction=64)
                group[name].append((time.perf_counter() - t0) * 1000)
        verify: dict[str, list[float]] = {k: [] for k in logs}
        rows: dict[str, int] = {}
        for r in range(6):
            for name, log in (order if r % 2 else order[::-1]):
                t0 = time.perf_counter()
                status = log.verify_chain(check_files=False)
                verify[name].append((time.perf_counter() - t0) * 1000)
                rows[name] = status.checked
        for log in logs.values():
            log.close()

    names = list(logs)
    med = {k: {what: statistics.median(v[k]) for what, v in (("single", single), ("group", group),
                                                               ("verify", verify))} for k in names}
    base, signed = names
    lines = ["| what | " + " | ".join(names) + " | ratio signed / unsigned |", "|---|---|---|---|"]
    for what, label in (("single", "1 inspection per commit (median ms)"),
                        ("group", "64 inspections per commit (median ms)"),
                        ("verify", f"verify_chain, {rows[signed]} rows, no files (median ms)")):
        a, b = med[base][what], med[signed][what]
        lines.append(f"| {label} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = "\n".join(lines) + f"\n\n{args.commits} single commits per log, load average {load:.1f} (2 cores, shared).\n"
    print(text)
    if args.out:
        args.out.write_text("# Log signing cost (benchmarks/log_signing.py)\n\n" + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
