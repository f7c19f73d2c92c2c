"""Start-up cost of ``tilik classify --pack ID`` on one image, this tree against another (issue 28).

    python benchmarks/cli_start.py [--base-ref REF] [--pack imagenet-lite0] [--runs 5]

The other tree is ``git archive REF`` (default: the merge base with ``main``) extracted into a
temporary folder without its models; both trees run on this tree's ``models/`` (through
``TILIK_BUNDLED_PACKS_DIR``), with a user packs folder that holds a copy of every bundled pack at
the same version (so a command that checked every pack pays for it, as on a machine with user
packs). Runs alternate between the trees (base, this, base, this...) so machine load hits both
alike; the medians and their ratio are printed, with the load average. Whole processes, wall time;
and, in the same processes' kind (fresh each run, imports done first), the part this issue is
about: ``PackRegistry().get(ID)`` and ``Inspector.for_pack(ID)`` (lookup, checks, hashing, session).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _extract(ref: str, dest: Path) -> None:
    data = subprocess.run(["git", "archive", ref, "inference", "tilik", "gui"], cwd=REPO, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def _time_once(tree: Path, env: dict[str, str], pack: str, image: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tilik", "classify", "--pack", pack, "--json", str(image)],
                          cwd=tree, env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr}")
    return elapsed


_PHASES = """
import json, sys, time
import onnxruntime, numpy
from inference.registry import PackRegistry
from inference.inspector import Inspector, clear_session_cache
t = time.perf_counter(); PackRegistry().get(sys.argv[1]); lookup = time.perf_counter() - t
clear_session_cache()
t = time.perf_counter(); Inspector.for_pack(sys.argv[1]); ready = time.perf_counter() - t
print(json.dumps({"lookup": lookup, "ready": ready}))
"""


def _phases_once(tree: Path, env: dict[str, str], pack: str) -> dict[str, float]:
    import json

    done = subprocess.run([sys.executable, "-c", _PHASES, pack], cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-ref", default=None, help="git ref of the tree to compare with (default: merge base with main)")
    parser.add_argument("--pack", default="imagenet-lite0")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-user-packs", action="store_true", help="an empty user packs folder")
    args = parser.parse_args(argv)
    ref = args.base_ref or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True,
                                          capture_output=True, text=True).stdout.strip()
    image = sorted((REPO / "resources" / "samples" / args.pack).glob("*.*"))
    image = [p for p in image if p.suffix.lower() in (".jpg", ".jpeg", ".png")][0]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        _extract(ref, base)
        user = Path(tmp) / "user-packs"
        user.mkdir()
        for pack_dir in (REPO / "models").iterdir():
            if (pack_dir / "manifest.json").is_file() and not args.no_user_packs:
                shutil.copytree(pack_dir, user / f"copy-{pack_dir.name}")
        env = {**os.environ, "TILIK_BUNDLED_PACKS_DIR": str(REPO / "models"), "TILIK_PACKS_DIR": str(user),
               "TILIK_DATA_DIR": str(Path(tmp) / "data"), "ORT_DISABLE_TELEMETRY": "1"}
        for tree in (base, REPO):  # warm the OS file cache and Python's bytecode caches
            _time_once(tree, env, args.pack, image)
        times: dict[str, list[float]] = {"base": [], "this": []}
        phases: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        for _ in range(args.runs):
            times["base"].append(_time_once(base, env, args.pack, image))
            times["this"].append(_time_once(REPO, env, args.pack, image))
            phases["base"].append(_phases_once(base, env, args.pack))
            phases["this"].append(_phases_once(REPO, env, args.pack))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"`tilik classify --pack {args.pack} --json {image.name}`, median of {args.runs} (whole process), "
          f"{'no user packs' if args.no_user_packs else 'a same-version copy of every bundled pack as a user pack'}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  base {ref[:10]}: {1000 * med['base']:.0f} ms  (runs: {', '.join(f'{1000 * t:.0f}' for t in times['base'])})")
    print(f"  this tree:       {1000 * med['this']:.0f} ms  (runs: {', '.join(f'{1000 * t:.0f}' for t in times['this'])})")
    print(f"  ratio this/base: {med['this'] / med['base']:.2f}")
    for phase, what in (("lookup", f"PackRegistry().get({args.pack!r})"), ("ready", f"Inspector.for_pack({args.pack!r})")):
        b = statistics.median(p[phase] for p in phases["base"])
        t = statistics.median(p[phase] for p in phases["this"])
        print(f"  {what}: base {1000 * b:.0f} ms, this tree {1000 * t:.0f} ms, ratio {t / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
