"""Dev-only: cheap profile variants on seal-integrity 1.4.0's features (runs/feat140, runs/feat140m)."""
import sys, time; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
from pathlib import Path
evalprof.FEAT = Path('runs/feat140'); evalprof.FEATN = Path('runs/feat140n'); evalprof.FEATM = Path('runs/feat140m')
from evalprof import run_set2, summarize, ALT, OWN
GROUPS = {"ALT": ALT, "ALT-bolt": ["alt6161_bolt", "alt6262_bolt"], "OWN": OWN}
for label, cfg in (("b6 (shipped rule)", dict(taps=["b6"])), ("b6 mirror both", dict(taps=["b6"], mirror="both")),
                   ("b6 top3", dict(taps=["b6"], score="top3")), ("b6 ratio 0.25", dict(taps=["b6"], ratio=0.25)),
                   ("b6 mirror both top3", dict(taps=["b6"], mirror="both", score="top3"))):
    t = time.time(); cache = {}
    for g, sets in GROUPS.items():
        parts = [cache.setdefault(n, run_set2(n, cfg)) for n in sets]
        print(f"{g:9s} {label:24s}", " | ".join(f"w{w} {summarize(parts, w)}" for w in (0.0, 1.0)), f"{time.time()-t:.0f}s", flush=True)
