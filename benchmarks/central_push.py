"""Central copy benchmark (issue 27): two stations push 100,000 inspections (no media) at once to
a local PostgreSQL server; rows per second, the server's verify time, a no-op re-push, and the
server's storage per row, from one run.

    python benchmarks/central_push.py [--per-station 50000] [--batch 5000] [--out benchmarks/results-central.md]

Needs PostgreSQL's server binaries (``apt-get install -y postgresql``); it starts a throwaway
cluster (tests/pg_cluster.py) with fsync ON, so every pushed batch is durable as in production,
and removes it at the end. The station logs are built with ``InspectionLog.record_results``
(synthetic results: no model runs, no images), exactly the rows a real station writes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "inference" / "log"))

TARGET_ROWS_PER_S = 5000


def build_station(path: Path, n: int, seed: int) -> float:
    from inference.log import InspectionLog
    from log_helpers import synthetic_result

    t = time.perf_counter()
    with InspectionLog.open(path) as log:
        labels = ("red", "green", "blue")
        log.record_results((synthetic_result(seed * 10_000_000 + i, labels[i % 3], needs_review=i % 7 == 0)
                            for i in range(n)), operator=f"op{seed}", station=f"gate-{seed}", mode="seal",
                           per_transaction=5000)
    return time.perf_counter() - t


def server_cpu_s(data_dir: Path) -> float:
    """CPU seconds (user + system) used so far by the cluster's processes, exited ones included (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"postgres" not in cmdline:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            # utime + stime, plus cutime + cstime: the backends that served a push have exited
            # by now, and their time is in the postmaster's reaped-children counters.
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def push_cmd(db: Path, station: str, batch: int) -> list[str]:
    return [sys.executable, "-m", "tilik", "log", "push", "--db", str(db), "--station", station, "--batch", str(batch)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-station", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results-central.md")
    args = ap.parse_args(argv)

    import psycopg
    import pg_cluster

    from inference.log.central.config import resolve
    from inference.log.central.schema import migrate
    from inference.log.central.verify import verify_central

    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="tilik-bench-central-"))
    stations = {"gate-1": tmp / "gate-1.sqlite3", "gate-2": tmp / "gate-2.sqlite3"}
    print(f"building two station logs of {args.per_station} inspections ...", flush=True)
    build_s = {name: build_station(path, args.per_station, i + 1) for i, (name, path) in enumerate(stations.items())}
    cluster = pg_cluster.start(fsync=True)
    try:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            migrate(conn)
            for name in stations:
                conn.execute(f"CREATE ROLE \"{name}\" LOGIN IN ROLE tilik_station PASSWORD '{cluster.password}'")
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
        env = {**os.environ, "PYTHONPATH": str(REPO), "TILIK_CENTRAL_PASSWORD": cluster.password}

        def run(name: str) -> tuple[str, float, str]:
            e = {**env, "TILIK_CENTRAL_URL": cluster.tcp_url(name)}
            t = time.perf_counter()
            proc = subprocess.run(push_cmd(stations[name], name, args.batch), env=e, capture_output=True, text=True,
                                  timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"push of {name} failed: {proc.stderr}")
            return name, time.perf_counter() - t, proc.stdout.strip()

        print("pushing both stations at once ...", flush=True)
        import resource

        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        srv0 = server_cpu_s(cluster.data)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(run, stations))
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        server_cpu = server_cpu_s(cluster.data) - srv0
        t1 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            noop = list(pool.map(run, stations))
        noop_wall = time.perf_counter() - t1
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            rows = conn.execute("SELECT count(*) FROM tilik.evidence").fetchone()[0]
            size = conn.execute("SELECT pg_total_relation_size('tilik.evidence')").fetchone()[0]
        config = resolve(cluster.tcp_url(), env={"TILIK_CENTRAL_PASSWORD": cluster.password})
        with config.connect() as conn:
            t2 = time.perf_counter()
            status = verify_central(conn)
            verify_s = time.perf_counter() - t2
        assert status.ok, status.as_json()
    finally:
        cluster.stop()

    rate = rows / wall
    import re

    # Each push times itself from opening the log to its last commit (Python start-up excluded).
    own = max(float(re.search(r" in ([0-9.]+) s ", out).group(1)) for _, _, out in results)
    own_rate = rows / own
    cpu_per_row = (client_cpu + server_cpu) / rows
    cores = os.cpu_count() or 1
    per_row = size / rows
    day_rows = 500 * 1000
    lines = [
        "# Central copy benchmark (issue 27)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version} (local, throwaway cluster, fsync on); load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"command: `python benchmarks/central_push.py --per-station {args.per_station} --batch {args.batch}`. "
        "One run; the machine is shared, so the numbers are indicative (±30%).",
        "",
        "| what | result | target |",
        "|---|---|---|",
        f"| rows on the server after both pushes | {rows:,} ({len(stations)} stations × {args.per_station:,} inspections) | |",
        f"| push, both stations at once (wall, incl. process start) | {wall:.1f} s → **{rate:,.0f} rows/s** | ≥ {TARGET_ROWS_PER_S:,} rows/s "
        f"{'✓' if rate >= TARGET_ROWS_PER_S else '✗'} |",
    ]
    lines += [
        f"| the same pushes as each timed itself (opening the log to the last commit; Python start-up "
        f"excluded) | slower one {own:.1f} s → **{own_rate:,.0f} rows/s** | ≥ {TARGET_ROWS_PER_S:,} rows/s "
        f"{'✓' if own_rate >= TARGET_ROWS_PER_S else '✗'} |",
        f"| CPU time of the pushes: clients (both processes, incl. start) + server | {client_cpu:.1f} s + "
        f"{server_cpu:.1f} s = {1e6 * cpu_per_row:.0f} µs per row | |",
        f"| the same work on {cores} idle cores (CPU time ÷ cores; a projection, not a measurement) | "
        f"≈ {cores / cpu_per_row:,.0f} rows/s | ≥ {TARGET_ROWS_PER_S:,} rows/s |",
    ]
    for name, secs, out in results:
        lines.append(f"| push of {name} alone (its own wall time) | {secs:.1f} s ({args.per_station / secs:,.0f} rows/s) | |")
    lines += [
        f"| second push of both (nothing new: a no-op) | {noop_wall:.1f} s | no rows sent ✓ |",
        f"| server verify, both stations (`verify_central`, every row re-hashed in Python) | {verify_s:.1f} s "
        f"({rows / verify_s:,.0f} rows/s) | |",
        f"| server storage (tilik.evidence incl. indexes and the jsonb copy) | {size / 1e6:.0f} MB, {per_row:,.0f} bytes/row | |",
        f"| building each station log locally (record_results, for reference) | "
        f"{', '.join(f'{v:.1f} s' for v in build_s.values())} | |",
        "",
        "Scale: 500 stations × 1,000 inspections a day is 500,000 rows a day (≈ 6 rows/s on average; "
        f"{day_rows / rate / 60:.1f} minutes of push time a day at the rate above, spread over 500 stations), "
        f"{day_rows * per_row / 1e9:.1f} GB a day and {day_rows * 365 * per_row / 1e12:.2f} TB a year on the server "
        "(rows without media, at the measured bytes per row); a full verify of one year "
        f"({day_rows * 365 / 1e6:.0f} M rows) at the measured verify rate takes "
        f"{day_rows * 365 / (rows / verify_s) / 3600:.1f} hours in one process — per station it is "
        f"{365_000 / (rows / verify_s):.0f} s a year, and stations verify independently (`--station`).",
        "",
        "Outputs of the pushes:",
        "",
        *[f"- `{out}`" for _, _, out in results],
        *[f"- `{out}`" for _, _, out in noop],
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
