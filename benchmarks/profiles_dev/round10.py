"""Dev-only (round 10): block 6c at several neighbourhood sizes, score-level fused (each z on the
enrolled fold scores, as round 9): raw patches (1×1), 3×3 (shipped), 5×5, 7×7 grid-pooled 3×3 maps,
and the global mean of the map (one vector per photo). Whether coarser context (the shape of the
whole seal: a shank too short, a barrel gone) adds to the patch distance."""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
import evalprof
evalprof.FEAT = Path('runs/feat130'); evalprof.FEATN = Path('runs/feat130n'); evalprof.FEATM = Path('runs/feat130m')
from evalprof import load, logit, multi_margins, image_scores, ALT, OWN
from inference.profiles.bank import coreset_indices, nearest_distances
from round9 import summ

GROUPS = {"ALT": ALT, "ALT-bolt": ["alt6161_bolt", "alt6262_bolt"], "OWN": OWN}


def avgk(x, k):  # N,C,H,W mean over k×k, zero-padded, divided by the count inside
    if k == 1: return x
    n, c, h, w = x.shape; r = k // 2
    p = np.pad(x, ((0, 0), (0, 0), (r, r), (r, r)))
    s = sum(p[:, :, i:i + h, j:j + w] for i in range(k) for j in range(k))
    ones = np.pad(np.ones((h, w), np.float32), r)
    return s / sum(ones[i:i + h, j:j + w] for i in range(k) for j in range(k))


def variant(name, v):
    x = load(name)["b6"].astype(np.float32)
    if v.startswith("avg"): x = avgk(x, int(v[3:]))
    elif v == "pool2": x = avgk(x, 3).reshape(len(x), x.shape[1], 7, 2, 7, 2).mean(axis=(3, 5))
    elif v == "global": x = x.mean(axis=(2, 3), keepdims=True)
    x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-6), dtype=np.float32)


_parts = {}


def part(name, v):
    if (name, v) in _parts: return _parts[(name, v)]
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[:20]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    X = variant(name, v); E = X[enr]; ratio = 0.1 if X.shape[1] > 2 else 1.0

    def bank(idx):
        pool = E[idx].reshape(-1, E.shape[-1]); return pool if ratio >= 1 else pool[coreset_indices(pool, ratio, seed=0)]

    def score(Q, b):
        n, h, w, c = Q.shape; return image_scores(nearest_distances(Q.reshape(-1, c), b).reshape(n, h, w), "max")
    order = np.random.default_rng(0).permutation(len(E)); fs = np.empty(len(E), np.float32)
    for f in range(5):
        held = order[f::5]; rest = np.setdiff1d(order, held); fs[held] = score(E[held], bank(rest))
    p = dict(y=(lab[judged] == "damaged").astype(int), s=score(X[judged], bank(np.arange(len(E)))), fs=fs,
             ce=logit(d["probs"][enr][:, 1]), cj=logit(d["probs"][judged][:, 1]))
    _parts[(name, v)] = p
    return p


def margins(sets, vs, w, weights=None):
    return multi_margins([[part(n, v) for v in vs] for n in sets], w, "q0.98", weights)


if __name__ == "__main__":
    CANDS = [(["avg3"], None), (["avg1"], None), (["avg5"], None), (["pool2"], None), (["global"], None),
             (["avg3", "avg5"], None), (["avg3", "pool2"], None), (["avg3", "global"], None), (["avg3", "global"], [1, .5]),
             (["avg1", "avg3"], None)]
    for vs, wts in CANDS:
        t = time.time()
        for g, sets in GROUPS.items():
            print(f"{g:9s} {'+'.join(vs):12s} {str(wts):9s}", " | ".join(f"w{w} {summ(*margins(sets, vs, w, wts))}" for w in (0.0, 1.0, 1.5)),
                  f"{time.time() - t:.0f}s", flush=True)
