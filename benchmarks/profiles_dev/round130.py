"""Dev-only check of the profile choice on the retrained pack's features (runs/feat130)."""
import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
from pathlib import Path
evalprof.FEAT = Path('runs/feat130'); evalprof.FEATN = Path('runs/feat130n'); evalprof.FEATM = Path('runs/feat130m')
from evalprof import *
for label, cfg in (("b6", dict(taps=["b6"])), ("b5", dict(taps=["b5"])), ("b4", dict(taps=["b4"])), ("b3", dict(taps=["b3"])),
                   ("b5+b6", dict(taps=["b5", "b6"]))):
    report(label, cfg, ws=(0.0, 0.5, 1.0, 2.0))
