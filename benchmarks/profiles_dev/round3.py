import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
rules = ("q0.98", "q0.95", "ms2")
cfgs = {
 "n1": dict(taps=["n1"]),
 "n2": dict(taps=["n2"]),
 "nav": dict(taps=["nav"]),
 "nav noagg": dict(taps=["nav"], agg=False),
 "b6b": dict(taps=["b6b"]),
 "b6+nav": dict(taps=["b6", "nav"], pertap_l2=True),
}
for k, c in cfgs.items():
  for grp, sets in (("ALT", ALT), ("OWN", OWN)):
        t = time.time(); r = evaluate(c, sets, rules)
        print(grp, fmt(k, r, rules), f"{time.time()-t:.0f}s", flush=True)
for k in ("b6", "nav"):
  for grp, sets in (("ALT", ALT), ("OWN", OWN)):
    r = evaluate_fused(dict(taps=[k]), sets)
    print(grp, k, "clf alone", r.pop("clf"))
    for key, v in r.items(): print(grp, k, "fused w=%s %s" % key, " ".join(f"{a} {b:.3f}" for a, b in v.items()), flush=True)
