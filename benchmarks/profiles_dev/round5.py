import sys; sys.path.insert(0, 'benchmarks/profiles_dev'); sys.path.insert(0, '.')
from evalprof import *
report("b6 mirror bank", dict(taps=["b6"], mirror="bank"), ws=(0.0, 1.0, 2.0))
report("b6 mirror both", dict(taps=["b6"], mirror="both"), ws=(0.0, 1.0, 2.0))
report("b6 mirror both k3", dict(taps=["b6"], mirror="both", k=3), ws=(0.0, 1.0, 2.0))
report("b6 top3 k3", dict(taps=["b6"], score="top3", k=3), ws=(0.0, 1.0, 2.0))
