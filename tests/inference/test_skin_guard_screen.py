"""The skin packs' squeeze detector behind the median-residual screen (issue 24's guard round): the
policy loads, a pack's own clean sample photos below the screen are not classified a second time, and
the same photos under a ±2/255 colourless sign pattern (the shape of the grey FGSM) all are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.guard import median_residual
from inference.guard_squeeze import median3_u8
from inference.inspector import Inspector
from inference.registry import check_pack
from test_guard_squeeze import _Counting, _noisy

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("pack", ["skin-binary", "skin-ham7"])
def test_skin_squeeze_screen(pack):
    from PIL import Image

    folder, samples = REPO / "models" / pack, REPO / "resources" / "samples" / pack
    if not (folder / "manifest.json").is_file() or not samples.is_dir():
        pytest.skip(f"the bundled {pack} pack or its samples are not in this checkout")
    insp = Inspector(check_pack(folder, "bundled"))
    p = insp.guard.policy
    if p.detector("squeeze") is None:
        pytest.skip(f"this {pack} pack has no squeeze detector (the guard study did not ship one)")
    assert p.screen is not None and p.screen_score == "median_residual" and p.screen_aggregate == "patch_min"
    assert p.detector("noise") is not None  # added to the colour-noise detector, not instead of it
    assert [sq["kind"] for sq in p.detector("squeeze").options["squeezers"]] == ["median"]
    h, w = insp.manifest.input.height, insp.manifest.input.width
    images = [np.asarray(Image.open(f).convert("RGB").resize((w, h))) for f in sorted(samples.glob("*.jpg"))]
    u8 = np.stack(images)
    above = median_residual(u8, median3_u8(u8), p.screen_aggregate, p.screen_patch) > p.screen
    assert not above.all(), "every sample passes the screen: this test checks nothing"
    runs = _Counting(insp.guard)
    out = insp.classify_batch(images)
    assert (runs.sizes[0] if runs.sizes else 0) == above.sum()
    assert [("squeeze" in r.result.guard.detectors) for r in out] == above.tolist()
    runs.sizes.clear()
    insp.classify_batch([_noisy(img, 2, i) for i, img in enumerate(images)])
    assert runs.sizes[0] == len(images)
