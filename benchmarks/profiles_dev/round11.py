"""Dev-only (round 11): augmented enrolment copies over three enrolment draws per set.

Draw d enrols intact photos 20d..20d+19 of each set (file order) and judges every other photo (for
the own generator's paired sets, the damaged twins of the enrolled scenes are left out). Copies come
from benchmarks/profiles_dev/augfeat.py: draw 0 from runs/aug (intact 0-19), draws 1 and 2 from
runs/aug60 (`--intact 20:60 --augs flip,r15,rm15,r30,rm30,z115`). The bank keeps the size it has
without copies ("fixed": coreset ratio 0.1 / (1 + copies)), so judging costs the same. Mean and
spread (min..max) over the three draws of the fused accuracy / ROC-AUC (weight 1, 98th percentile)."""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
evalprof.FEAT = Path('runs/feat130'); evalprof.FEATN = Path('runs/feat130n'); evalprof.FEATM = Path('runs/feat130m')
from evalprof import load, feats, logit, margins, image_scores, ALT, OWN
from inference.profiles.bank import coreset_indices, nearest_distances
from sklearn.metrics import roc_auc_score

AUG0, AUG12 = Path('runs/aug'), Path('runs/aug60')
GROUPS = {"ALT": ALT, "ALT-bolt": ["alt6161_bolt", "alt6262_bolt"], "OWN": OWN}
_aug = {}


def l2(x):
    x = x.astype(np.float32); return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-6)


def augs_of(name, draw):
    key = (name, draw == 0)
    if key not in _aug:
        z = np.load((AUG0 if draw == 0 else AUG12) / f"{name}.npz"); _aug[key] = {k: z[k] for k in z.files}
    return _aug[key]


def run_set(name, copies, draw, ratio=0.1, fixed=True):
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[20 * draw:20 * draw + 20]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    X = feats(name, ["b6"]); E = X[enr]
    a = augs_of(name, draw); lo = 0 if draw == 0 else 20 * (draw - 1)
    C = [l2(a[k][lo:lo + 20]) for k in copies]
    r = ratio / (1 + len(copies)) if fixed else ratio

    def bank(idx):
        pool = np.concatenate([E[idx]] + [c[idx] for c in C]).reshape(-1, E.shape[-1])
        return pool[coreset_indices(pool, r, seed=0)]

    def score(Q, b):
        n, h, w, c = Q.shape
        return image_scores(nearest_distances(Q.reshape(-1, c), b).reshape(n, h, w), "max")

    order = np.random.default_rng(0).permutation(len(E)); fs = np.empty(len(E), np.float32)
    for f in range(5):
        held = order[f::5]; rest = np.setdiff1d(order, held)
        fs[held] = score(E[held], bank(rest))
    return dict(y=(lab[judged] == "damaged").astype(int), s=score(X[judged], bank(np.arange(len(E)))), fs=fs,
                ce=logit(d["probs"][enr][:, 1]), cj=logit(d["probs"][judged][:, 1]))


def stats(parts_by_draw, w):
    accs, aucs = [], []
    for parts in parts_by_draw:
        y, r = margins(parts, w, "q0.98")
        accs.append(((r > 0) == y).mean()); aucs.append(roc_auc_score(y, r))
    return np.array(accs), np.array(aucs)


CANDS = [("none", []), ("flip", ["flip"]), ("rot15", ["r15", "rm15"]), ("rot15+flip", ["r15", "rm15", "flip"]),
         ("rot15+30", ["r15", "rm15", "r30", "rm30"]), ("all6", ["flip", "r15", "rm15", "r30", "rm30", "z115"])]

if __name__ == "__main__":
    only = sys.argv[1:] or [c[0] for c in CANDS]
    for label, copies in CANDS:
        if label not in only:
            continue
        t = time.time(); cache = {}
        for g, sets in GROUPS.items():
            pbd = [[cache.setdefault((n, dr), run_set(n, copies, dr)) for n in sets] for dr in range(3)]
            row = []
            for w in (0.0, 1.0):
                acc, auc = stats(pbd, w)
                row.append(f"w{w} acc {acc.mean():.3f} ({acc.min():.3f}..{acc.max():.3f}) auc {auc.mean():.3f} ({auc.min():.3f}..{auc.max():.3f})")
            print(f"{g:9s} {label:12s}", " | ".join(row), f"{time.time() - t:.0f}s", flush=True)
