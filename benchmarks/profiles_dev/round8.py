"""Dev-only (round 8): augmented enrolment copies on seal-integrity 1.3.1's block 6c (patch_features).

Enrolled photos' augmented copies (benchmarks/profiles_dev/augfeat.py, runs/aug) join the bank; the
fold scores put each held-out photo against the other folds' originals and copies; judged photos are
scored as they come (no test-time augmentation). Development sets only (ALT = second renderer 6161 +
6262, OWN = own generator 3636)."""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
evalprof.FEAT = Path('runs/feat130'); evalprof.FEATN = Path('runs/feat130n'); evalprof.FEATM = Path('runs/feat130m')
from evalprof import load, feats, logit, summarize, ALT, OWN, image_scores
from inference.profiles.bank import coreset_indices, nearest_distances

AUG = Path('runs/aug')
GROUPS = {"ALT": ALT, "ALT-bolt": ["alt6161_bolt", "alt6262_bolt"], "OWN": OWN}


def l2(x):
    x = x.astype(np.float32); return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-6)


def run_set(name, augs, ratio=0.1, fixed=False, how="max", clf_aug=False):
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[:20]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    X = feats(name, ["b6"])
    a = np.load(AUG / f"{name}.npz")
    copies = [l2(a[k]) for k in augs]
    E = X[enr]
    r = ratio / (1 + len(augs)) if fixed else ratio

    def bank(idx):
        pool = np.concatenate([E[idx]] + [c[idx] for c in copies]).reshape(-1, E.shape[-1])
        return pool[coreset_indices(pool, r, seed=0)]

    def score(Q, b):
        n, h, w, c = Q.shape
        return image_scores(nearest_distances(Q.reshape(-1, c), b).reshape(n, h, w), how)

    order = np.random.default_rng(0).permutation(len(E)); fs = np.empty(len(E), np.float32)
    for f in range(5):
        held = order[f::5]; rest = np.setdiff1d(order, held)
        fs[held] = score(E[held], bank(rest))
    full = bank(np.arange(len(E)))
    s = score(X[judged], full)
    y = (lab[judged] == "damaged").astype(int)
    return dict(y=y, s=s, fs=fs, p=d["probs"][judged][:, 1], ce=logit(d["probs"][enr][:, 1]),
                cj=logit(d["probs"][judged][:, 1]), bank=len(full))


if __name__ == "__main__":
    # parity: the shipped patch_features == avg3(block 6c) of the cache
    a = np.load(AUG / "alt6161_bolt.npz")["orig"].astype(np.float32)
    d = load("alt6161_bolt"); enr = np.where(d["label"] == "intact")[0][:20]
    ref = feats("alt6161_bolt", ["b6"], l2=False)[enr]
    print("parity max abs", float(np.abs(a - ref).max()), "rel", float(np.abs(a - ref).max() / np.abs(ref).max()))
    CANDS = [
        ("none", [], {}),
        ("flip", ["flip"], {}),
        ("rot15", ["r15", "rm15"], {}),
        ("rot15+30", ["r15", "rm15", "r30", "rm30"], {}),
        ("flip+rot15", ["flip", "r15", "rm15", "fr15", "frm15"], {}),
        ("zoom", ["z115", "z087"], {}),
        ("all", ["flip", "r15", "rm15", "r30", "rm30", "fr15", "frm15", "z115", "z087"], {}),
        ("flip+rot15 fixed", ["flip", "r15", "rm15", "fr15", "frm15"], {"fixed": True}),
        ("all fixed", ["flip", "r15", "rm15", "r30", "rm30", "fr15", "frm15", "z115", "z087"], {"fixed": True}),
    ]
    for label, augs, kw in CANDS:
        t = time.time(); cache = {}
        for g, sets in GROUPS.items():
            parts = [cache.setdefault(n, run_set(n, augs, **kw)) for n in sets]
            print(f"{g:9s} {label:20s} bank {parts[0]['bank']:5d}", " | ".join(f"w{w} {summarize(parts, w)}" for w in (0.0, 1.0)),
                  f"{time.time()-t:.0f}s", flush=True)
