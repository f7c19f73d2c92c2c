"""A guard whose extra classifier work is known before the model runs (noise and screened squeeze
detectors: inference.guard_fold) puts it into the batch's own onnxruntime call. The results must
equal the separate-run path (``Guard.folds_into_run`` off), field for field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.guard import Guard
from inference.inspector import Inspector
from inference.registry import check_pack
from test_guard import _sign_noise
from test_guard_squeeze import _noisy
from tiny_models import solid, write_guarded_pack

REPO = Path(__file__).resolve().parents[2]


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.result.guard == y.result.guard and x.result.mitigated == y.result.mitigated
        assert x.result.probabilities == y.result.probabilities and x.result.decision == y.result.decision
        assert x.result.ood_score == y.result.ood_score
        assert (x.result.heatmap is None) == (y.result.heatmap is None)
        if x.result.heatmap is not None:
            assert np.array_equal(x.result.heatmap, y.result.heatmap)


def _count_runs(monkeypatch, insp: Inspector) -> list[int]:
    """The batch size of every call to the pack's classifier session."""
    sizes: list[int] = []
    real = insp.loaded.session
    monkeypatch.setattr(insp.loaded, "session", type("S", (), {
        "run": lambda self, names, feeds: sizes.append(len(next(iter(feeds.values())))) or real.run(names, feeds),
        "get_inputs": lambda self: real.get_inputs(), "get_outputs": lambda self: real.get_outputs()})())
    return sizes


def _noise_and_screened_squeeze(tmp_path: Path, squeeze: float) -> Path:
    folder = write_guarded_pack(tmp_path / ("fold-strict" if squeeze == 0 else "fold"), "identity", {"noise": 1.0 / 255.0, "squeeze": squeeze},
                                reformer={"kind": "jpeg", "quality": 20, "mirror": True})
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["guard"]["screen"] = {"score": "median_residual", "size": 3, "threshold": 1 / 255, "aggregate": "mean"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("squeeze", [0.5, 0.0])
def test_squeezed_and_reformed_copies_ride_in_the_batch_run(tmp_path, monkeypatch, squeeze):
    """Clean, colour-noised (the noise detector flags it: its reformed copy rides along) and grey-noised
    images (the screen lets them through: their squeezed copies ride along). At squeeze threshold 0 the
    squeeze detector flags every screened image; those the noise detector did not flag are only known
    after the run, so their reformed copies take a second call, as in the separate path."""
    insp = Inspector(check_pack(_noise_and_screened_squeeze(tmp_path, squeeze)))
    assert insp.guard.folds_into_run and not insp.guard.pre_model
    mid = np.full((32, 32, 3), (150, 90, 70), np.uint8)  # no channel clips under ±6: the noise stays colourless
    images = [solid("red", (32, 32)), _sign_noise(solid("green", (32, 32)), 3, seed=1),
              _noisy(mid, 6, 0), solid("green", (32, 32)), _noisy(mid[..., ::-1], 5, 2)]
    sizes = _count_runs(monkeypatch, insp)
    folded = insp.classify_batch(images)
    guards = [r.result.guard for r in folded]
    squeezed = [i for i, g in enumerate(guards) if "squeeze" in g.detectors]
    by_noise = [i for i, g in enumerate(guards) if g.detectors["noise"] > 1.0 / 255.0]
    by_squeeze_only = [i for i, g in enumerate(guards) if g.flagged and i not in by_noise]
    assert by_noise == [1] and {2, 4} <= set(squeezed), (by_noise, squeezed)
    assert sizes[0] == len(images) + len(squeezed) + len(by_noise)
    assert sizes[1:] == ([len(by_squeeze_only)] if by_squeeze_only else [])
    if squeeze == 0.0:
        assert by_squeeze_only, "no image only the squeeze detector flags: the second call is untested"
    assert all(r.result.mitigated is not None for r in folded if r.result.guard.flagged)
    monkeypatch.setattr(Guard, "folds_into_run", property(lambda self: False))
    sizes.clear()
    separate = insp.classify_batch(images)
    assert len(sizes) > 1 and sizes[0] == len(images)  # the old path: the batch, then the guard's own runs
    _same(folded, separate)


def test_bundled_skin_ham7_same_answers_folded_or_not(monkeypatch):
    """skin-ham7's own samples at 224 px, colourless ±2/255 copies (through its median-residual
    screen: squeezed) and colour ±2/255 copies (FGSM's shape: the noise detector flags them): one
    call per batch gives the results of the separate calls."""
    from PIL import Image

    folder, samples = REPO / "models" / "skin-ham7", REPO / "resources" / "samples" / "skin-ham7"
    if not (folder / "manifest.json").is_file() or not samples.is_dir():
        pytest.skip("the bundled skin-ham7 pack or its samples are not in this checkout")
    insp = Inspector(check_pack(folder, "bundled"))
    if not insp.guard.folds_into_run or insp.guard.policy.detector("squeeze") is None:
        pytest.skip("this skin-ham7 pack's guard has no squeeze detector to fold")
    images = [np.asarray(Image.open(p).convert("RGB").resize((224, 224))) for p in sorted(samples.glob("*.jpg"))]
    images += [_noisy(img, 2, i) for i, img in enumerate(images[:2])]
    images += [_sign_noise(img, 2, seed=i) for i, img in enumerate(images[2:4])]
    sizes = _count_runs(monkeypatch, insp)
    folded = insp.classify_batch(images)
    assert any("squeeze" in r.result.guard.detectors for r in folded), "nothing squeezed: this test checks little"
    assert any(r.result.mitigated is not None for r in folded), "nothing reformed: this test checks little"
    calls = len(sizes)
    monkeypatch.setattr(Guard, "folds_into_run", property(lambda self: False))
    sizes.clear()
    separate = insp.classify_batch(images)
    assert calls < len(sizes)
    _same(folded, separate)
