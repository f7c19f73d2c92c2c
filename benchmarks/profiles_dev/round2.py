import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
rules = ("q0.98", "q0.95", "ms2")
cfgs = {
 "b6": dict(taps=["b6"]),
 "b6 full bank": dict(taps=["b6"], ratio=1.0),
 "b6 no agg": dict(taps=["b6"], agg=False),
 "b6 no l2": dict(taps=["b6"], l2=False),
 "b6 top3": dict(taps=["b6"], score="top3"),
 "b6 top10": dict(taps=["b6"], score="top10"),
 "b6 sm1": dict(taps=["b6"], score="sm1"),
 "b6 sm0.7": dict(taps=["b6"], score="sm0.7"),
 "b6 proj64": dict(taps=["b6"], proj=64),
 "b6+b5": dict(taps=["b6", "b5"]),
 "b6+b4": dict(taps=["b6", "b4"]),
 "b6+b5 pertap": dict(taps=["b6", "b5"], pertap_l2=True),
}
for k, c in cfgs.items():
  for grp, sets in (("ALT", ALT), ("OWN", OWN)):
        t = time.time(); r = evaluate(c, sets, rules)
        print(grp, fmt(k, r, rules), f"{time.time()-t:.0f}s", flush=True)
