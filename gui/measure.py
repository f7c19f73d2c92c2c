"""Measure the desktop app: start-up time and how long the event loop stalls while models run.

    python -m gui.measure [--runs 3] [--images 60] [--large 2400] [--json]

- **start-up**: ``tilik`` is started ``--runs`` times in a fresh process (``TILIK_EXIT_AFTER_READY``);
  it prints when the main window was first painted and when the packs were loaded and the model
  was ready, both in seconds since the process started (target: shown within 2.5 s).
- **stall**: in this process, a 1 ms heartbeat timer runs in the GUI thread while the window
  (1) starts (pack scan, model load), (2) inspects one large photo, and (3) runs a batch of
  ``--images`` photos (half of them ``--large`` px wide) into the inspection log. The longest gap
  between heartbeats is the longest the window was frozen (target: < 100 ms).

Uses the real packs in ``models/`` (the first general pack, else any classify pack), in temporary
user data: the user's settings and log are never touched. Prints, does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TILIK_DATA_DIR=str(tmp / "data"), TILIK_SETTINGS=str(tmp / "settings.ini"),
               TILIK_DB=os.environ.get("TILIK_MEASURE_DB") or str(tmp / "data" / "inspections.sqlite3"),
               TILIK_PACKS_DIR=str(tmp / "data" / "packs"))
    if sys.platform.startswith("linux") and not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def measure_startup(runs: int, tmp: Path) -> dict[str, Any]:
    exe = shutil.which("tilik", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "tilik"]
    env = _env(tmp)
    env["TILIK_EXIT_AFTER_READY"] = "1"
    shown, ready, wall = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
        wall.append(time.perf_counter() - t0)
        for line in proc.stdout.splitlines():
            if line.startswith("TILIK_WINDOW_SHOWN "):
                shown.append(float(line.split()[1]))
            elif line.startswith("TILIK_WINDOW_READY "):
                ready.append(float(line.split()[1]))
    med = lambda xs: round(statistics.median(xs), 3) if xs else None  # noqa: E731
    return {"runs": runs, "window_shown_s": med(shown), "ready_s": med(ready), "process_wall_s": med(wall),
            "all_shown_s": shown, "all_ready_s": ready}


class Heartbeat:
    """A timer in the GUI thread (every ``period_ms``, 1 ms by default); the gaps between its ticks
    are the event-loop stalls. ``benchmarks/gui_stall.py`` uses it at 5 ms."""

    def __init__(self, period_ms: int = 1) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.period_ms = period_ms
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(period_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.last = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.gaps = []
        self.last = time.perf_counter()
        self.timer.start()

    def stalls_ms(self) -> list[float]:
        """Each gap so far less the timer's own period, in ms, sorted: how long the thread froze."""
        return sorted(1000 * g - self.period_ms for g in self.gaps)

    def stop(self) -> dict[str, Any]:
        self.timer.stop()
        self._tick()
        gaps = sorted(self.gaps)
        if not gaps:
            return {"max_ms": None}
        pick = lambda q: round(1000 * gaps[min(len(gaps) - 1, int(q * len(gaps)))], 1)  # noqa: E731
        return {"max_ms": round(1000 * gaps[-1], 1), "p99_ms": pick(0.99), "p95_ms": pick(0.95),
                "over_100ms": sum(1 for g in gaps if g > 0.1), "ticks": len(gaps)}


def _photos(folder: Path, n: int, large: int) -> list[Path]:
    """``n`` photos: the pack samples as they are, and every other one upscaled to ``large`` px wide."""
    from PIL import Image

    sources = sorted((REPO / "resources" / "samples").rglob("*.JPEG")) + \
        sorted((REPO / "resources" / "samples").rglob("*.jpg")) + sorted((REPO / "resources" / "samples").rglob("*.png"))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        if sources:
            img = Image.open(sources[i % len(sources)]).convert("RGB")
        else:
            img = Image.new("RGB", (320, 240), (200, 60, 40))
        if i % 2 == 1 and large:
            img = img.resize((large, round(large * img.height / img.width)), Image.Resampling.BILINEAR)
        path = folder / f"photo_{i:04d}.jpg"
        img.save(path, quality=90)
        out.append(path)
    return out


def measure_stall(n_images: int, large: int, tmp: Path) -> dict[str, Any]:
    os.environ.update({k: v for k, v in _env(tmp).items() if k.startswith(("TILIK_", "QT_"))})
    from gui.app import create_application
    from gui.main_window import MainWindow
    from gui.settings import Settings

    from PySide6.QtCore import QEventLoop

    app = create_application([])
    settings = Settings(Path(os.environ["TILIK_SETTINGS"]))
    beat = Heartbeat()
    # PySide6 6.12's static QCoreApplication.processEvents() drops a reference to None on every
    # call: the tens of thousands this loop makes would crash the interpreter ("deallocating
    # None"). A QEventLoop's own processEvents() does not.
    events = QEventLoop(app)

    def wait(cond: Callable[[], bool], timeout: float = 600) -> None:
        end = time.time() + timeout
        while not cond():
            if time.time() > end:
                raise TimeoutError("measurement state not reached")
            events.processEvents()
            time.sleep(0.0005)

    photos = _photos(tmp / "photos", n_images, large)
    results: dict[str, Any] = {"images": n_images, "large_px": large}

    t0 = time.perf_counter()
    window = MainWindow(settings, probe_camera=False)
    window.show()
    events.processEvents()
    results["window_built_s"] = round(time.perf_counter() - t0, 3)
    beat.start()  # from here on the window is on screen: every gap is a freeze the user could see
    wait(lambda: window.packs_loaded)
    modes = [m for m in ("general", "seal", "skin") if window.usable_packs(m)]
    if not modes:
        window.close()
        return {"error": "no usable classify pack in models/"}
    window.set_mode(modes[0])
    wait(lambda: window.pack is not None and window.is_ready())
    wait(lambda: not window.is_busy())
    results["startup"] = beat.stop()
    results["pack"] = f"{window.pack.id} {window.pack.version} on {window._provider_text}"

    big = next(p for i, p in enumerate(photos) if i % 2 == 1) if len(photos) > 1 else photos[0]
    beat.start()
    t0 = time.perf_counter()
    window.open_paths([big])
    wait(lambda: not window.is_busy())
    results["single_large_image"] = dict(beat.stop(), seconds=round(time.perf_counter() - t0, 3))

    beat.start()
    t0 = time.perf_counter()
    window.open_paths([tmp / "photos"])
    wait(lambda: not window.batch_view.running and not window.is_busy())
    seconds = time.perf_counter() - t0
    results["batch"] = dict(beat.stop(), seconds=round(seconds, 2), images_per_s=round(n_images / seconds, 1),
                            logged=window.log.count() if window.log is not None else None)
    window.shutdown()
    window.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="start-up runs (median reported)")
    parser.add_argument("--images", type=int, default=60, help="photos in the batch")
    parser.add_argument("--large", type=int, default=2400, help="width of every other photo (0: keep)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="tilik-measure-"))
    try:
        report: dict[str, Any] = {}
        if not args.skip_startup:
            report["startup"] = measure_startup(args.runs, tmp / "startup")
        report["stall"] = measure_stall(args.images, args.large, tmp / "stall")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
        return 0
    s = report.get("startup")
    if s:
        print(f"start-up ({s['runs']} runs, median): window shown {s['window_shown_s']} s after process start "
              f"(target 2.5 s), packs + model ready {s['ready_s']} s, whole process {s['process_wall_s']} s")
    st = report["stall"]
    if "error" in st:
        print("stall:", st["error"])
        return 0
    print(f"pack: {st['pack']}")
    print(f"main window built and shown in-process in {st['window_built_s']} s")
    for key, label in (("startup", "after the window is shown (pack scan, model load, log open)"),
                       ("single_large_image", f"inspecting one {st['large_px']}-px photo"),
                       ("batch", f"batch of {st['images']} photos into the log")):
        r = st[key]
        extra = ""
        if key == "batch":
            extra = f"; {r['images_per_s']} images/s, {r['logged']} logged"
        elif "seconds" in r:
            extra = f"; {r['seconds']} s"
        print(f"event-loop stall {label}: max {r['max_ms']} ms, p99 {r['p99_ms']} ms, "
              f"{r['over_100ms']} gaps over 100 ms (target < 100 ms){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
