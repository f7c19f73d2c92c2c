"""The pairwise registered-stroke channel (issue #23, session 7): a shifted/scaled copy of a signature is
registered back and scores as near-identical, a different signature does not; the pair cache and its
lookup agree with the feature function; the ship rule is the one in the study's docstring. Synthetic
canvases only (no corpora)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.signatures.v33_pairs import (FEATURES, TOLS, VARIANTS, PairLookup, align, chamfer, features,
                                           pair_cache, pair_target)
from training.signatures.v33_pairwise import COST_BASE_MS, COST_LIMIT_MS, ship_rule

H, W = 192, 384


def scribble(points, width: int = 3, shift=(0, 0), scale: float = 1.0) -> np.ndarray:
    """A polyline 'signature' as a bool ink mask, scaled about the canvas centre and shifted."""
    img = Image.new("L", (W, H), 0)
    cx, cy = W / 2, H / 2
    pts = [(cx + scale * (x - cx) + shift[1], cy + scale * (y - cy) + shift[0]) for x, y in points]
    ImageDraw.Draw(img).line(pts, fill=255, width=width, joint="curve")
    return np.asarray(img) > 0


LOOPS = [(60 + 10 * i, 96 + 40 * np.sin(i / 2.5) * (1 if i % 7 else -0.5)) for i in range(27)]
OTHER = [(70 + 9 * i, 60 + (i % 5) * 18) for i in range(28)]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_shifted_and_scaled_copy_is_registered_back(variant):
    ref = scribble(LOOPS)
    copy = scribble(LOOPS, shift=(11, -23), scale=0.9)
    t = pair_target(ref)
    same = features(copy, t, variant)
    other = features(scribble(OTHER), t, variant)
    # without registration the copy hardly touches the reference's strokes
    raw = (int((copy & t.dilated[TOLS.index(2)]).sum()) + int((ref & pair_target(copy).dilated[2]).sum())) / (
        copy.sum() + ref.sum())
    cov2 = FEATURES.index("cov2")
    assert same[cov2] > 0.85 > raw
    assert same[0] > 0.8
    assert same[cov2] > other[cov2] + 0.3 and same[0] > other[0]
    assert chamfer(same) > chamfer(other)
    # coverage grows with the tolerance and stays a share
    covs = same[1:]
    assert np.all(np.diff(covs) >= 0) and 0 <= covs[0] and covs[-1] <= 1


def test_the_aligned_copy_lies_on_the_reference():
    ref = scribble(LOOPS)
    ink, corr = align(scribble(LOOPS, shift=(-7, 15), scale=1.1), pair_target(ref), *VARIANTS["grid9"])
    assert ink.shape == ref.shape and 0 < corr <= 1
    ys, xs = np.nonzero(ink)
    ry, rx = np.nonzero(ref)
    assert abs(ys.mean() - ry.mean()) < 2 and abs(xs.mean() - rx.mean()) < 2


def test_the_pair_cache_holds_every_same_writer_pair_and_the_lookup_finds_them(tmp_path):
    masks = np.stack([scribble(LOOPS), scribble(LOOPS, shift=(5, 5)), scribble(OTHER), scribble(OTHER, scale=0.9),
                      scribble(LOOPS, scale=1.1)])
    wr = np.array([1, 1, 1, 2, 2])
    gen = np.array([True, True, False, True, True])
    cache = pair_cache(tmp_path, "k", masks, wr, gen, [1, 2], log=lambda *a: None)
    # writer 1: 2 genuine references x 2 other items; writer 2: 2 x 1
    assert len(cache["query"]) == 6 and all(cache[v].shape == (6, len(FEATURES)) for v in VARIANTS)
    assert set(zip(cache["query"].tolist(), cache["ref"].tolist())) == {(1, 0), (2, 0), (0, 1), (2, 1), (4, 3), (3, 4)}
    look = PairLookup(cache, len(masks))
    got = look.get("pose", "cov2", np.array([2, 4]), np.array([[0, 1], [3, 3]]))
    want = [[features(masks[2], pair_target(masks[r]), "pose")[3] for r in (0, 1)],
            [features(masks[4], pair_target(masks[3]), "pose")[3]] * 2]
    assert got == pytest.approx(np.array(want, np.float32).astype(np.float64))
    assert look.get("grid9", "chamfer", np.array([1]), np.array([[0]])).shape == (1, 1)
    with pytest.raises(KeyError):
        look.get("pose", "corr", np.array([0]), np.array([[3]]))   # another writer's reference: never cached
    assert (tmp_path / "pairs-k-pose+grid9-v1.npz").is_file()      # a second call reads it back
    again = pair_cache(tmp_path, "k", masks * 0, wr, gen, [1, 2], log=lambda *a: None)
    assert np.array_equal(again["pose"], cache["pose"])


def _eers(c5, b5, c10=(0.1,) * 5, b10=(0.05,) * 5):
    return {5: {"cedar": list(c5), "bengali": list(b5)}, 10: {"cedar": list(c10), "bengali": list(b10)}}


def test_the_ship_rule_is_the_docstring_s():
    base = _eers([0.10, 0.09, 0.08, 0.11, 0.06], [0.04, 0.02, 0.06, 0.08, 0.03])
    better = _eers([0.08, 0.07, 0.07, 0.09, 0.05], [0.04, 0.02, 0.06, 0.08, 0.03])
    ok = ship_rule(better, base, 1.0)
    assert ok["ship"] and ok["predicted_warm_ms"] == pytest.approx(COST_BASE_MS + 5.0)
    # (a) CEDAR lower on average but not beyond the paired spread
    noisy = _eers([0.08, 0.10, 0.06, 0.12, 0.05], [0.04, 0.02, 0.06, 0.08, 0.03])
    assert not ship_rule(noisy, base, 1.0)["a_cedar_lower_at_5"]
    # (b) Bengali worse beyond its spread
    worse_b = _eers([0.08, 0.07, 0.07, 0.09, 0.05], [0.05, 0.03, 0.07, 0.09, 0.04])
    assert not ship_rule(worse_b, base, 1.0)["ship"]
    # (c) worse at 10 references
    worse10 = _eers([0.08, 0.07, 0.07, 0.09, 0.05], [0.04, 0.02, 0.06, 0.08, 0.03], c10=(0.12,) * 5)
    assert not ship_rule(worse10, base, 1.0)["c_not_worse_at_10"]
    # (d) cost: 5 pairs over the per-query budget, or no channel at all
    slow = (COST_LIMIT_MS - COST_BASE_MS) / 5 + 0.1
    assert not ship_rule(better, base, slow)["d_cost"]
    assert not ship_rule(better, base, None)["ship"]


def test_the_card_section_renders_the_study_s_numbers():
    from training.signatures import v33_pairwise as study
    from training.signatures.v33_pairwise_card import BEGIN, END, section

    sp = lambda m: {"mean": m, "sd": 0.01, "folds": [m] * 5}  # noqa: E731
    pd = {"mean": -0.004, "sd": 0.003, "lower_folds": 4, "folds": [-0.004] * 5}
    cfg = lambda c, b: {n: {"cedar": sp(c), "bengali": sp(b)} for n in ("1", "3", "5", "10")}  # noqa: E731
    configs = {study.BASE: cfg(0.086, 0.047)}
    for v in ("pose", "grid9"):
        for f in study.PAIR_FEATURES:
            for g in study.GAMMAS:
                configs[f"{v}|{f}|g{g}"] = cfg(0.08, 0.045)
    res = {"configs": configs, "pair_ms": {"pose": 1.4, "grid9": 2.6},
           "alone": {"pose|cov2": {"cedar": sp(0.2), "bengali": sp(0.15)}},
           "nested": {"picks": ["pose|cov2|g0.1"] * 5, "paired_vs_base": {n: {"cedar": pd, "bengali": pd}
                                                                            for n in ("1", "3", "5", "10")},
                      **cfg(0.082, 0.044)},
           "plain_pick": "pose|cov2|g0.1",
           "rule": study.ship_rule({5: {"cedar": [0.08] * 5, "bengali": [0.04] * 5},
                                    10: {"cedar": [0.07] * 5, "bengali": [0.04] * 5}},
                                   {5: {"cedar": [0.09] * 5, "bengali": [0.04] * 5},
                                    10: {"cedar": [0.07] * 5, "bengali": [0.04] * 5}}, 1.4),
           "seconds": 100.0, "cpu_seconds": 50.0, "load_average": [3.0, 3.0, 3.0], "decision_note": "Decision: x."}
    text = section(res)
    assert text.startswith(BEGIN) and text.endswith(END)
    assert "SHIP RULE" in text and "8.6 ± 1.0%" in text and "pose, cov2, γ 0.1" in text
    assert "`pose` 1.40 ms" in text and "predicted warm query 37.1 ms" in text and "Decision: x." in text
    # one row per (variant, feature), one column per γ
    assert sum(1 for ln in text.splitlines() if ln.startswith("| pose, ") or ln.startswith("| grid9, ")) == 6


def _fake_parts(seed: int, n: int = 5, folds: int = 5):
    from training.signatures.v3_eval import Rows

    rng = np.random.default_rng(seed)
    parts = []
    for f in range(folds):
        m = 120
        y = (np.arange(m) % 2).astype(float)
        corpus = np.array(["cedar" if i < m // 2 else "bengali" for i in range(m)], dtype=object)
        cos = 0.5 + 0.1 * y[:, None] + 0.08 * rng.standard_normal((m, n))
        level = 0.55 + 0.03 * rng.standard_normal(m)
        rows = Rows(n, y, cos, level, np.full(m, f), corpus, np.arange(m), np.zeros((m, n), int))
        parts.append((rows, {1.0: 0.05 * y + 0.05 * rng.standard_normal(m)}))
    return parts


def test_the_memoised_fold_scorer_gives_fold_eers_numbers():
    from training.signatures.v31_train import both, fold_eers
    from training.signatures.v33_pairwise import BETA, RIDGE, FoldScorer

    parts = _fake_parts(3)
    fs = FoldScorer(0.55)
    want = fold_eers(parts, RIDGE, BETA, 0.55)
    got = fs.per_fold("x", parts, 5)
    assert got["cedar"] == [w["cedar"] for w in want] and got["bengali"] == [w["bengali"] for w in want]
    for outer in range(5):
        inner = [j for j in range(5) if j != outer]
        assert fs.inner_both("x", parts, outer) == both(fold_eers(parts, RIDGE, BETA, 0.55, inner))
    # 5 plain + 10 distinct (outer, inner) calibrations, not 5 + 20
    assert len(fs._cal) == 15
