"""Dev-only (round 9): score-level fusion of several taps' patch distances on 1.3.0/1.3.1's trunk
(runs/feat130): each tap's largest patch distance standardised on the enrolled photos' fold scores,
summed with the classifier's z (weight w), threshold the 98th percentile of the enrolled fused scores.
Round 1 (1.2.1) concatenated taps into one feature (worse than 6c alone); this adds their z-scores.
Also PatchCore's image-score reweighting (the nearest bank patch's own neighbourhood density)."""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
evalprof.FEAT = Path('runs/feat130'); evalprof.FEATN = Path('runs/feat130n'); evalprof.FEATM = Path('runs/feat130m')
from evalprof import run_set2, multi_margins, ALT, OWN
from sklearn.metrics import roc_auc_score

GROUPS = {"ALT": ALT, "ALT-bolt": ["alt6161_bolt", "alt6262_bolt"], "OWN": OWN}
_parts = {}


def part(name, tap, **kw):
    key = (name, tap, tuple(sorted(kw.items())))
    if key not in _parts:
        _parts[key] = run_set2(name, dict(taps=[tap], **kw))
    return _parts[key]


def fused_margins(sets, taps, w, weights=None, rule="q0.98", **kw):
    return multi_margins([[part(n, t, **kw) for t in taps] for n in sets], w, rule, weights)


def summ(y, r):
    pred = r > 0
    oracle = max(((r > t) == y).mean() for t in np.unique(r))
    return f"acc {(pred == y).mean():.3f} auc {roc_auc_score(y, r):.3f} far {pred[y == 0].mean():.3f} miss {(~pred[y == 1]).mean():.3f} orc {oracle:.3f}"


if __name__ == "__main__":
    CANDS = [(["b6"], None), (["b6", "b5"], None), (["b6", "b4"], None), (["b6", "b3"], None), (["b6", "b2"], None),
             (["b6", "b5", "b4"], None), (["b6", "b3"], [1.0, 0.5]), (["b6", "b5"], [1.0, 0.5])]
    for taps, wts in CANDS:
        t = time.time()
        for g, sets in GROUPS.items():
            print(f"{g:9s} {'+'.join(taps):12s} {str(wts):10s}",
                  " | ".join(f"w{w} {summ(*fused_margins(sets, taps, w, wts))}" for w in (0.0, 1.0, 1.5)),
                  f"{time.time() - t:.0f}s", flush=True)
