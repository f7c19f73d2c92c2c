"""``tilik verify``: one query against 5 references, end to end (issue 23: under 300 ms).

    PYTHONPATH=. .venv/bin/python benchmarks/signature_verify.py [--repeat 7]

Measured with the bundled ``signature-verify`` pack and its self-test samples:

- **cold**: a query with 5 references none of which the verifier has seen (6 images decoded,
  normalised and embedded, scored, the overlay registered) — what ``tilik verify -r R1..R5 -- Q``
  does after loading the pack; median over ``--repeat`` runs, caches cleared before each;
- **warm**: the next query against the same (cached) references;
- **registration**: the registered overlay alone (part of both);
- **without the overlay**: the same, ``verify(overlay=False)`` (``tilik verify`` without ``--overlay-dir``);
- **processes** (from compiled bytecode, medians of 3): Python start + imports, + the pack load, and
  the whole ``tilik verify`` command.

Writes ``benchmarks/results-signature.md``. Timings are from one run on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling photos.py
from photos import children_cpu  # noqa: E402  (benchmarks/photos.py: stdlib-only at import)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results-signature.md")
    ap.add_argument("--baseline-pack", type=Path, default=None,
                    help="another signature-verify pack folder measured on the same images in the same run")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from inference.registry import PackRegistry
    from inference.signature.register import register
    from inference.signature.verifier import Verifier

    samples = REPO / "resources" / "samples" / "signature-verify"
    entries = json.loads((samples / "samples.json").read_text(encoding="utf-8"))
    entry = next(e for e in entries if len(e["references"]) >= 5)
    refs = [samples / r for r in entry["references"][:5]]
    query = samples / entry["file"]
    v = Verifier(PackRegistry().get("signature-verify"), "cpu")
    verifiers = [v]
    if args.baseline_pack is not None:  # e.g. 2.2.0 extracted from git: the same images, interleaved
        verifiers.append(Verifier(PackRegistry([(args.baseline_pack.parent, "bundled")]).get("signature-verify"), "cpu"))
    times = {id(x): ([], []) for x in verifiers}
    plain_cold, plain_warm = [], []
    cpu: dict[str, list[float]] = {"cold": [], "warm": [], "cold_plain": [], "warm_plain": []}

    def timed(fn, cpu_key: str | None = None) -> float:
        """Wall ms of ``fn()``; its CPU ms (all of this process's threads) go to ``cpu[cpu_key]``."""
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if cpu_key:
            cpu[cpu_key].append((time.process_time() - c0) * 1e3)
        return (time.perf_counter() - t0) * 1e3

    def forget(x) -> None:  # a new customer: nothing cached
        for name in ("_cache", "_agreements", "_targets"):
            getattr(x, name, {}).clear()
        if getattr(x, "writer", None) is not None:  # 3.1: the customer's classifier, fitted per reference set
            x.writer._models.clear()

    for x in verifiers:
        x.verify(query, refs)  # first call: onnxruntime's own warm-up, not a user's cost per check
    for _ in range(args.repeat):
        for x in verifiers:
            cold_x, warm_x = times[id(x)]
            forget(x)
            cold_x.append(timed(lambda: x.verify(query, refs), "cold" if x is v else None))
            warm_x.append(timed(lambda: x.verify(query, refs), "warm" if x is v else None))
        # the same check without the registered overlay (tilik verify without --overlay-dir)
        forget(v)
        plain_cold.append(timed(lambda: v.verify(query, refs, overlay=False), "cold_plain"))
        plain_warm.append(timed(lambda: v.verify(query, refs, overlay=False), "warm_plain"))
    r = v.verify(query, refs)
    cold, warm = times[id(v)]
    reg_ms = []
    baseline = None
    if len(verifiers) > 1:
        bc, bw = times[id(verifiers[1])]
        baseline = {"version": verifiers[1].manifest.version, "cold_ms": statistics.median(bc),
                    "warm_ms": statistics.median(bw)}
    q_desc = v._describe_many([query], [None], use_cache=False)[0].descriptor  # noqa: SLF001
    r_desc = v._describe_many([refs[r.closest_reference]], [None], use_cache=False)[0].descriptor  # noqa: SLF001
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        register(q_desc.signature.mask, r_desc.signature.mask)
        reg_ms.append((time.perf_counter() - t0) * 1e3)
    # Whole processes, from compiled bytecode as an installed app runs (a shell with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile every module in every run): the floor
    # (Python start + the imports `tilik verify` needs), that plus loading the pack (hashing the
    # model, onnxruntime session), and the whole command. Medians of 3, alternated.
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
               "TILIK_DATA_DIR": str(Path(tmp) / "data"), "TILIK_SETTINGS": str(Path(tmp) / "settings.ini"),
               "TILIK_PACKS_DIR": str(Path(tmp) / "packs")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "inference"), str(REPO / "tilik")],
                       env=env, check=False, stdout=subprocess.DEVNULL)
        procs = {
            "imports": [sys.executable, "-c", "import tilik.cli, tilik.verify_cmd, inference.signature.verifier"],
            "pack": [sys.executable, "-c", "import tilik.cli, tilik.verify_cmd\n"
                     "from inference.signature.verifier import Verifier\nVerifier.for_pack('signature-verify')"],
            "cli": [sys.executable, "-m", "tilik", "verify", "--json", "-r", *map(str, refs), "--", str(query)],
        }
        walls: dict[str, list[float]] = {k: [] for k in procs}
        cpus: dict[str, list[float]] = {k: [] for k in procs}  # user + system: what waiting does not inflate
        cli = {}
        for _ in range(3):
            for k, cmd in procs.items():
                t0 = time.perf_counter()
                c0 = children_cpu()
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
                walls[k].append((time.perf_counter() - t0) * 1e3)
                cpus[k].append((children_cpu() - c0) * 1e3)
                if k == "cli":
                    cli = json.loads(proc.stdout.splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
    cli_ms = statistics.median(walls["cli"])
    res = {"cold_ms": statistics.median(cold), "warm_ms": statistics.median(warm),
           "cold_plain_ms": statistics.median(plain_cold), "warm_plain_ms": statistics.median(plain_warm),
           "imports_ms": statistics.median(walls["imports"]), "pack_ms": statistics.median(walls["pack"]),
           "imports_cpu_ms": statistics.median(cpus["imports"]), "pack_cpu_ms": statistics.median(cpus["pack"]),
           "cli_cpu_ms": statistics.median(cpus["cli"]), **{f"{k}_cpu_ms": statistics.median(c) for k, c in cpu.items()},
           "registration_ms": statistics.median(reg_ms), "cli_process_ms": cli_ms,
           "cli_reported_total_ms": (cli.get("timings_ms") or {}).get("total_ms"), "repeat": args.repeat,
           "pack_version": v.manifest.version, "cores": os.cpu_count(), "baseline": baseline,
           "load_average": os.getloadavg()}
    lines = [
        "# `tilik verify`: one query, 5 references (issue 23)", "",
        f"Pack signature-verify {res['pack_version']}, CPU provider, {res['cores']} cores (shared), "
        f"median of {args.repeat} runs. Produced by `benchmarks/signature_verify.py`. Wall milliseconds; in "
        "brackets the CPU milliseconds (user + system, every thread of the process, onnxruntime's two included), "
        "which waiting for a busy machine does not inflate.", "",
        "| what | ms |", "|---|---|",
        f"| cold: 6 images (query + 5 unseen references) decoded, normalised, embedded, scored, overlay registered "
        f"(CPU: {res['cold_cpu_ms']:.0f}) | {res['cold_ms']:.0f} |",
        f"| warm: next query, references cached (CPU: {res['warm_cpu_ms']:.0f}) | {res['warm_ms']:.0f} |",
        f"| of which the registered overlay | {res['registration_ms']:.0f} |",
        f"| cold, without the overlay (`verify(overlay=False)`: `tilik verify` without `--overlay-dir`) "
        f"(CPU: {res['cold_plain_cpu_ms']:.0f}) | {res['cold_plain_ms']:.0f} |",
        f"| warm, without the overlay (CPU: {res['warm_plain_cpu_ms']:.0f}) | {res['warm_plain_ms']:.0f} |",
        f"| process: Python start + the imports `tilik verify` needs (CPU: {res['imports_cpu_ms']:.0f}) "
        f"| {res['imports_ms']:.0f} |",
        f"| process: that + loading the pack (model hashed, onnxruntime session) (CPU: {res['pack_cpu_ms']:.0f}) "
        f"| {res['pack_ms']:.0f} |",
        f"| whole `tilik verify` process (Python start, imports, pack load, check; no overlay) "
        f"(CPU: {res['cli_cpu_ms']:.0f}) | {res['cli_process_ms']:.0f} |",
        f"| the check as `tilik verify --json` reports it (`timings_ms.total_ms`) | "
        f"{res['cli_reported_total_ms'] if res['cli_reported_total_ms'] is not None else '—'} |", "",
        f"Target: the check under 300 ms — {'met' if res['cold_ms'] < 300 else 'missed'} "
        f"(cold {res['cold_ms']:.0f} ms with the overlay, {res['cold_plain_ms']:.0f} ms without; CPU "
        f"{res['cold_cpu_ms']:.0f} and {res['cold_plain_cpu_ms']:.0f} ms) in this run, with "
        f"the machine's load average at {res['load_average'][0]:.1f} on {res['cores']} cores. The whole process "
        f"takes {res['cli_process_ms']:.0f} ms ({res['cli_cpu_ms']:.0f} ms of CPU), of which Python's start and the "
        f"imports are {res['imports_cpu_ms']:.0f} ms of CPU and loading the pack "
        f"{res['pack_cpu_ms'] - res['imports_cpu_ms']:.0f} ms more, before any image is read"
        + (": a whole process under 300 ms is out of reach on this machine while the start alone needs that much "
           "CPU (a resident process — the GUI — pays it once)." if res["imports_cpu_ms"] >= 300 else "."), "",
    ]
    if baseline:
        lines += [f"Same images, same run, interleaved: signature-verify {baseline['version']} cold "
                  f"{baseline['cold_ms']:.0f} ms, warm {baseline['warm_ms']:.0f} ms; ratio {res['pack_version']} / "
                  f"{baseline['version']}: cold {res['cold_ms'] / baseline['cold_ms']:.2f}×, warm "
                  f"{res['warm_ms'] / baseline['warm_ms']:.2f}× (both with the registered overlay, which this "
                  "branch gives every pack).", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
