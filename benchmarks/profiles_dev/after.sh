#!/bin/bash
# Follow-up after the 1.3.0 export (critical path: no nice for the pack steps).
set -x
cd /work/wt-seal; export PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen
D=runs/dev
SETS="$D/alt6161/strip $D/alt6161/bolt $D/alt6161/label $D/alt6262/strip $D/alt6262/bolt $D/alt6262/label $D/own/plastic_strip $D/own/bolt $D/own/adhesive_label $D/own/cable $D/own/plastic_padlock"
mkdir -p runs/pack-1.3.0 && cp -a models/seal-integrity/. runs/pack-1.3.0/
.venv/bin/python benchmarks/profiles_dev/extract.py runs/pack-1.3.0 runs/feat130 $SETS > benchmarks/profiles_dev/extract130.log 2>&1
.venv/bin/python benchmarks/profiles_dev/round130.py > benchmarks/profiles_dev/round130.log 2>&1
.venv/bin/python -c "
import numpy as np, glob
for f in sorted(glob.glob('runs/feat121/*.npz')):
    a, b = np.load(f), np.load(f.replace('feat121', 'feat130'))
    print(f.split('/')[-1], {k: bool(np.array_equal(a[k], b[k])) for k in ('b2', 'b3', 'b4', 'b6')})
" > benchmarks/profiles_dev/frozen-check.log 2>&1
