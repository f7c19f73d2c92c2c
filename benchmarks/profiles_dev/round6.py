import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
def emb_scores(name, parts_p):
    d = load(name); lab = d["label"]; scene = d["scene"]
    intact = np.where(lab == "intact")[0]; enr = intact[:20]
    twins = {s for s in scene[enr] if s != ""}
    judged = np.array([i for i in range(len(lab)) if i not in set(enr) and not (lab[i] == "damaged" and scene[i] in twins)])
    e = d["nav"].astype(np.float32).mean((2, 3)); e /= np.linalg.norm(e, axis=1, keepdims=True)
    E = e[enr]; dist = lambda q, B: np.sqrt(np.maximum(((q[:, None] - B[None]) ** 2).sum(-1), 0)).min(1)
    fe = np.array([dist(E[i:i+1], np.delete(E, i, 0))[0] for i in range(len(E))])
    return fe, dist(e[judged], E)
for grp, sets in (("ALT", ALT), ("OWN", OWN)):
    parts = [run_set2(n, dict(taps=["b6"])) for n in sets]
    for n, p in zip(sets, parts):
        p["ee"], p["ej"] = emb_scores(n, p)
        print(grp, n, "dist", summarize([p], 0.0), "| fused1", summarize([p], 1.0), "| clf auc %.3f" % roc_auc_score(p["y"], p["p"]), "emb auc %.3f" % roc_auc_score(p["y"], p["ej"]))
    for w3 in (0.5, 1.0):
        ys, ss = [], []
        for p in parts:
            z = lambda v, ref: (v - ref.mean()) / (ref.std(ddof=1) + 1e-9)
            fe = z(p["fs"], p["fs"]) + z(p["ce"], p["ce"]) + w3 * z(p["ee"], p["ee"])
            fj = z(p["s"], p["fs"]) + z(p["cj"], p["ce"]) + w3 * z(p["ej"], p["ee"])
            ys.append(p["y"]); ss.append(fj - np.quantile(fe, 0.98))
        y = np.concatenate(ys); r = np.concatenate(ss); pred = r > 0
        print(grp, "3-way w3", w3, "acc %.3f auc %.3f far %.3f miss %.3f" % ((pred == y).mean(), roc_auc_score(y, r), pred[y == 0].mean(), (~pred[y == 1]).mean()))
