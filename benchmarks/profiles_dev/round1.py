import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
rules = ("q0.98", "q0.9", "ms2", "mx1.0")
cfgs = {
 "b6 (shipped)": dict(taps=["b6"]),
 "b3": dict(taps=["b3"]),
 "b4": dict(taps=["b4"]),
 "b5": dict(taps=["b5"]),
 "b2": dict(taps=["b2"]),
 "b3+b4": dict(taps=["b3", "b4"]),
 "b3+b5": dict(taps=["b3", "b5"]),
 "b2+b3": dict(taps=["b2", "b3"]),
 "b3+b6": dict(taps=["b3", "b6"]),
 "b4+b5": dict(taps=["b4", "b5"]),
}
for grp, sets in (("ALT", ALT), ("OWN", OWN)):
    for k, c in cfgs.items():
        t = time.time(); r = evaluate(c, sets, rules)
        print(grp, fmt(k, r, rules), f"{time.time()-t:.0f}s", flush=True)
