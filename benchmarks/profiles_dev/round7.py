import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
ALARM = 0.3377
for grp, sets in (("ALT", ALT), ("OWN", OWN)):
    parts = [run_set2(n, dict(taps=["b6"])) for n in sets]
    Y, F, T, ZC, ZCT, P = [], [], [], [], [], []
    for p in parts:
        z = lambda v, ref: (v - ref.mean()) / max(ref.std(ddof=1), 1e-9)
        fe = z(p["fs"], p["fs"]) + z(p["ce"], p["ce"]); fj = z(p["s"], p["fs"]) + z(p["cj"], p["ce"])
        Y.append(p["y"]); F.append(fj - np.quantile(fe, 0.98)); ZC.append(z(p["cj"], p["ce"]) - np.quantile(z(p["ce"], p["ce"]), 0.98)); P.append(p["p"])
    y = np.concatenate(Y); f = np.concatenate(F); zc = np.concatenate(ZC); pp = np.concatenate(P)
    dec = f > 0
    def show(name, review):
        keep = ~review
        print(grp, f"{name:34s} review {review.mean():.3f} acc-of-rest {(dec[keep] == y[keep]).mean():.3f} acc-all {(dec == y).mean():.3f}")
    show("R0 pack alarm disagrees", dec != (pp >= ALARM))
    show("R1 site-std classifier disagrees", dec != (zc > 0))
    for b in (0.5, 1.0, 1.5, 2.0):
        show(f"R2 band |f-thr|<{b}", np.abs(f) < b)
