import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
for grp, sets in (("ALT", ALT), ("OWN", OWN)):
    parts = [run_set(n, dict(taps=["b6"])) for n in sets]
    y = np.concatenate([p["y"] for p in parts]); r = np.concatenate([p["s"] / thr_rule(p["fs"], "q0.98") for p in parts])
    best = max(((r > t) == y).mean() for t in np.unique(r))
    print(grp, "pooled oracle acc", round(best, 3))
    for n, p in zip(sets, parts):
        t = thr_rule(p["fs"], "q0.98"); rr = p["s"] / t
        best = max(((p["s"] > t2) == p["y"]).mean() for t2 in np.unique(p["s"]))
        print(n, "acc", round(((rr > 1) == p["y"]).mean(), 3), "auc", round(roc_auc_score(p["y"], p["s"]), 3), "oracle acc", round(best, 3),
              "fs", np.round(np.sort(p["fs"])[-4:], 3), "thr", round(t, 3), "intact judged q50/q90", np.round(np.quantile(p["s"][p["y"] == 0], [0.5, 0.9]), 3), "dmg q25/q50", np.round(np.quantile(p["s"][p["y"] == 1], [0.25, 0.5]), 3))
