"""The layout holds at 1366×768 in English and Indonesian, at 100 % and 150 % scaling (issue 21):
in every mode and tab the window's minimum size fits the screen (a fresh process per scale,
since Qt reads QT_SCALE_FACTOR when it starts). A mode's side panel (seal profiles) is a tab
beside the verdict, as wide as that column: never a strip squeezed to a scroll bar. The heatmap's
opacity slider keeps a usable width."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("layout_probe.py")


@pytest.mark.parametrize("scale", ["1", "1.5"])
def test_every_mode_and_tab_fits_1366x768(tmp_path, scale):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=scale, TILIK_DATA_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    sizes, panels = probe["sizes"], probe["panels"]
    assert len(sizes) == 2 * (4 * 3 + 1)  # languages × (modes × tabs, and Seal with a check-digit warning)
    too_big = {k: v for k, v in sizes.items() if v[0] > 1366 or v[1] > 768}
    assert too_big == {}
    assert set(panels) == {"en/seal-profiles", "id/seal-profiles"}
    narrow = {k: v for k, v in panels.items() if v[0] < max(260, v[1])}  # width, its own minimum
    assert narrow == {}
    # The heatmap opacity slider is wide enough to use in every mode and language (it was 15 px in
    # Indonesian Seal mode with a check-digit warning, when it shared its row with the zoom buttons).
    sliders = probe["sliders"]
    assert len(sliders) == 2 * 4
    assert {k: v for k, v in sliders.items() if v < 120} == {}
