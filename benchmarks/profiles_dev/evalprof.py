"""Numpy profile experiments on cached raw maps (dev sets only)."""
import sys, itertools, json, time
from pathlib import Path
import numpy as np
sys.path.insert(0, '.')
from inference.profiles.bank import coreset_indices, nearest_distances
from sklearn.metrics import roc_auc_score

FEAT = Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith('-') else Path('runs/feat121')
ALT = [f"alt{s}_{k}" for s in (6161, 6262) for k in ("strip", "bolt", "label")]
OWN = [f"own_{f}" for f in ("plastic_strip", "bolt", "adhesive_label", "cable", "plastic_padlock")]
_cache = {}

def load(name):
    if name not in _cache:
        z = np.load(FEAT / f"{name}.npz"); _cache[name] = {k: z[k] for k in z.files}
    return _cache[name]

def avg3(x):  # N,C,H,W 3x3 mean, count_include_pad=0
    n, c, h, w = x.shape
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = sum(p[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3))
    ones = np.pad(np.ones((h, w), np.float32), 1)
    cnt = sum(ones[i:i + h, j:j + w] for i in range(3) for j in range(3))
    return s / cnt

def pool(x, f):
    if f == 1: return x
    n, c, h, w = x.shape
    return x.reshape(n, c, h // f, f, w // f, f).mean(axis=(3, 5))

def feats(name, taps, grid=14, agg=True, pertap_l2=False, l2=True):
    d = load(name); parts = []
    for t in taps:
        x = d[t].astype(np.float32)
        if agg: x = avg3(x)
        x = pool(x, x.shape[2] // grid) if x.shape[2] > grid else x
        if x.shape[2] < grid:  # upsample nearest
            f = grid // x.shape[2]; x = x.repeat(f, 2).repeat(f, 3)
        if pertap_l2: x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6) 
        parts.append(x)
    x = np.concatenate(parts, 1).transpose(0, 2, 3, 1)
    if l2: x = x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-6)
    return np.ascontiguousarray(x, dtype=np.float32)

def bank_of(maps, ratio):
    pool_ = maps.reshape(-1, maps.shape[-1])
    if ratio >= 1: return pool_
    return pool_[coreset_indices(pool_, ratio, seed=0)]

def smooth(m, sigma):
    if sigma <= 0: return m
    from scipy.ndimage import gaussian_filter
    return np.stack([gaussian_filter(a, sigma, mode='nearest') for a in m])

def image_scores(dist, how):
    flat = dist.reshape(len(dist), -1)
    if how == "max": return flat.max(1)
    if how.startswith("top"):
        k = int(how[3:]); return np.sort(flat, 1)[:, -k:].mean(1)
    if how.startswith("sm"):
        return smooth(dist, float(how[2:])).reshape(len(dist), -1).max(1)
    raise ValueError(how)

def score(maps, bank, how):
    n, h, w, c = maps.shape
    dist = nearest_distances(maps.reshape(-1, c), bank).reshape(n, h, w)
    return image_scores(dist, how)

def run_set(name, cfg, n_enrol=20):
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[:n_enrol]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    X = feats(name, cfg["taps"], cfg.get("grid", 14), cfg.get("agg", True), cfg.get("pertap_l2", False), cfg.get("l2", True))
    if cfg.get("proj"):
        rng = np.random.default_rng(123); P = rng.standard_normal((X.shape[-1], cfg["proj"])).astype(np.float32) / np.sqrt(cfg["proj"])
        X = X @ P
    E = X[enr]; how = cfg.get("score", "max"); ratio = cfg.get("ratio", 0.1)
    folds = cfg.get("folds", 5); order = np.random.default_rng(0).permutation(len(E)); fs = np.empty(len(E), np.float32)
    for f in range(folds):
        held = order[f::folds]; rest = np.setdiff1d(order, held)
        fs[held] = score(E[held], bank_of(E[rest], ratio), how)
    s = score(X[judged], bank_of(E, ratio), how)
    y = (lab[judged] == "damaged").astype(int)
    return dict(y=y, s=s, fs=fs, p=d["probs"][judged][:, 1] if d["probs"].ndim == 2 else None)

def thr_rule(fs, rule):
    if rule.startswith("q"): return float(np.quantile(fs, float(rule[1:])))
    if rule.startswith("ms"):  # mean + k*std
        return float(fs.mean() + float(rule[2:]) * fs.std(ddof=1))
    if rule.startswith("mx"):  # max * factor
        return float(fs.max() * float(rule[2:]))
    raise ValueError(rule)

def evaluate(cfg, sets, rules=("q0.98",)):
    parts = [run_set(n, cfg) for n in sets]
    out = {}
    for rule in rules:
        ys, ss = [], []
        per = []
        for n, p in zip(sets, parts):
            t = thr_rule(p["fs"], rule); r = p["s"] / t
            ys.append(p["y"]); ss.append(r)
            per.append(float(((r > 1) == p["y"]).mean()))
        y = np.concatenate(ys); r = np.concatenate(ss)
        pred = r > 1
        out[rule] = dict(acc=float((pred == y).mean()), auc=float(roc_auc_score(y, r)),
                         far=float(pred[y == 0].mean()), miss=float((~pred[y == 1]).mean()), per=per)
    # per-set AUC average (threshold-free, no cross-set scaling)
    out["auc_within"] = float(np.mean([roc_auc_score(p["y"], p["s"]) for p in parts]))
    return out

def fmt(name, res, rules):
    s = f"{name:40s} aucW {res['auc_within']:.3f} |"
    for r in rules:
        x = res[r]; s += f" {r}: acc {x['acc']:.3f} auc {x['auc']:.3f} far {x['far']:.3f} miss {x['miss']:.3f} |"
    return s

if __name__ == "__main__":
    pass

FEATN = Path(str(FEAT) + "n")

def load(name):
    if name not in _cache:
        z = np.load(FEAT / f"{name}.npz"); d = {k: z[k] for k in z.files}
        if (FEATN / f"{name}.npz").exists():
            zn = np.load(FEATN / f"{name}.npz"); d.update({k: zn[k] for k in zn.files if k not in d})
        _cache[name] = d
    return _cache[name]

def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6); return np.log(p / (1 - p))

def evaluate_fused(cfg, sets, ws=(0.0, 0.5, 1.0, 2.0), rules=("q0.98", "ms2")):
    """Profile z-score + w * site-standardised classifier logit; threshold from the enrolled photos."""
    out = {}
    parts = []
    for n in sets:
        p = run_set(n, cfg); d = load(n); lab = d["label"]
        intact = np.where(lab == "intact")[0][:20]
        pe = logit(d["probs"][intact][:, 1]); p["ce"] = pe; p["cj"] = logit(p["p"]); parts.append(p)
    for w in ws:
        for rule in rules:
            y, r = margins(parts, w, rule); pred = r > 0
            out[(w, rule)] = dict(acc=float((pred == y).mean()), auc=float(roc_auc_score(y, r)),
                                  far=float(pred[y == 0].mean()), miss=float((~pred[y == 1]).mean()))
    # classifier alone at its own threshold 0.5 and site-standardised
    y = np.concatenate([p["y"] for p in parts]); pj = np.concatenate([p["p"] for p in parts])
    out["clf"] = dict(acc=float(((pj >= 0.5) == y).mean()), auc=float(roc_auc_score(y, pj)))
    return out

def whitener(E, shrink):
    """Zero-mean, PCA-whitening matrix from enrolled patches (rows), with shrinkage towards isotropy."""
    X = E.reshape(-1, E.shape[-1]).astype(np.float64)
    mu = X.mean(0); C = np.cov(X - mu, rowvar=False)
    C = (1 - shrink) * C + shrink * np.trace(C) / C.shape[0] * np.eye(C.shape[0])
    w, V = np.linalg.eigh(C)
    W = V / np.sqrt(w)[None, :]
    return mu.astype(np.float32), W.astype(np.float32)

def knn_dist(q, bank, k):
    if k == 1: return nearest_distances(q, bank)
    b_sq = np.einsum("ij,ij->i", bank, bank); out = np.empty(len(q), np.float32)
    for s0 in range(0, len(q), 2048):
        qq = q[s0:s0 + 2048]; d = -2 * qq @ bank.T + b_sq[None] + np.einsum("ij,ij->i", qq, qq)[:, None]
        out[s0:s0 + 2048] = np.sqrt(np.maximum(np.partition(d, k - 1, axis=1)[:, :k], 0)).mean(1)
    return out

def run_set2(name, cfg, n_enrol=20):
    """Like run_set with whitening / kNN / mirror-bank options."""
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[:n_enrol]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    X = feats(name, cfg["taps"], cfg.get("grid", 14), cfg.get("agg", True), False, cfg.get("l2", True))
    Xm = feats(name, [t + "m" for t in cfg["taps"]], 14, cfg.get("agg", True), False, cfg.get("l2", True)) if cfg.get("mirror") else None
    how = cfg.get("score", "max"); ratio = cfg.get("ratio", 0.1); k = cfg.get("k", 1); sh = cfg.get("white")
    def fit_score(Eidx, Q, Qm):
        E = X[Eidx]
        if Xm is not None and cfg.get("mirror") in ("bank", "both"): E = np.concatenate([E, Xm[Eidx]])
        if sh is not None:
            mu, W = whitener(E, sh); tf = lambda a: ((a - mu) @ W).astype(np.float32)
        else: tf = lambda a: a
        pool_ = tf(E.reshape(-1, E.shape[-1]))
        bank = pool_ if ratio >= 1 else pool_[coreset_indices(pool_, ratio, seed=0)]
        n, h, w, c = Q.shape
        dist = knn_dist(tf(Q.reshape(-1, c)), bank, k).reshape(n, h, w)
        if Qm is not None and cfg.get("mirror") == "both":
            dm = knn_dist(tf(Qm.reshape(-1, c)), bank, k).reshape(n, h, w)[:, :, ::-1]
            dist = 0.5 * (dist + dm)
        return image_scores(dist, how)
    E = enr; folds = 5; order = np.random.default_rng(0).permutation(len(E)); fs = np.empty(len(E), np.float32)
    for f in range(folds):
        held = order[f::folds]; rest = np.setdiff1d(order, held)
        fs[held] = fit_score(E[rest], X[E[held]], Xm[E[held]] if Xm is not None else None)
    s = fit_score(E, X[judged], Xm[judged] if Xm is not None else None)
    y = (lab[judged] == "damaged").astype(int)
    return dict(y=y, s=s, fs=fs, p=d["probs"][judged][:, 1], ce=logit(d["probs"][enr][:, 1]), cj=logit(d["probs"][judged][:, 1]))

def margins(parts, w, rule):
    """Pooled labels and margins over the sets: each judged photo's fused score (patch distance and
    w x classifier logit, each standardised on that set's enrolled folds) minus the set's threshold."""
    ys, ss = [], []
    for p in parts:
        m, s = p["fs"].mean(), p["fs"].std(ddof=1) + 1e-9
        cm, cs = p["ce"].mean(), p["ce"].std(ddof=1) + 1e-9
        fe = (p["fs"] - m) / s + w * (p["ce"] - cm) / cs
        fj = (p["s"] - m) / s + w * (p["cj"] - cm) / cs
        ys.append(p["y"]); ss.append(fj - thr_rule(fe, rule))
    return np.concatenate(ys), np.concatenate(ss)


def multi_margins(tap_parts, w, rule, weights=None):
    """:func:`margins` for several taps per set (rounds 9 and 10): ``tap_parts`` holds, per set, one
    part per tap; each tap's patch distance is standardised on the set's enrolled folds and summed
    (``weights`` per tap, else 1), plus w x the first part's standardised classifier logit."""
    ys, ms = [], []
    for ps in tap_parts:
        p0 = ps[0]
        fe = np.zeros(len(p0["fs"])); fj = np.zeros(len(p0["s"]))
        for i, p in enumerate(ps):
            a = 1.0 if weights is None else weights[i]
            m, s = p["fs"].mean(), p["fs"].std(ddof=1) + 1e-9
            fe += a * (p["fs"] - m) / s; fj += a * (p["s"] - m) / s
        cm, cs = p0["ce"].mean(), p0["ce"].std(ddof=1) + 1e-9
        fe += w * (p0["ce"] - cm) / cs; fj += w * (p0["cj"] - cm) / cs
        ys.append(p0["y"]); ms.append(fj - thr_rule(fe, rule))
    return np.concatenate(ys), np.concatenate(ms)


def summarize(parts, w=0.0, rule="q0.98"):
    y, r = margins(parts, w, rule); pred = r > 0
    oracle = max(((r > t) == y).mean() for t in np.unique(r))
    return f"acc {(pred == y).mean():.3f} auc {roc_auc_score(y, r):.3f} far {pred[y == 0].mean():.3f} miss {(~pred[y == 1]).mean():.3f} oracle {oracle:.3f}"

def report(label, cfg, groups=(("ALT", None), ("OWN", None)), ws=(0.0, 1.0)):
    for grp, _ in groups:
        sets = ALT if grp == "ALT" else OWN
        t = time.time(); parts = [run_set2(n, cfg) for n in sets]
        aucw = np.mean([roc_auc_score(p["y"], p["s"]) for p in parts])
        print(grp, f"{label:28s} aucW {aucw:.3f} |", " | ".join(f"w{w} {summarize(parts, w)}" for w in ws), f"{time.time()-t:.0f}s", flush=True)

FEATM = Path(str(FEAT) + "m")
_load_nm = load
def load(name):
    d = _load_nm(name)
    if "b6m" not in d and (FEATM / f"{name}.npz").exists():
        zm = np.load(FEATM / f"{name}.npz"); d.update({k: zm[k] for k in zm.files if k not in d})
    return d
