"""The hand-crafted channel study (issue #23): the features measure what they say on synthetic
canvases, and the ship rule is the one written in the study's docstring. No corpora needed."""

from __future__ import annotations

import numpy as np
import pytest

from training.signatures.handcrafted import (LBP_BINS, features, grid_mean, ink_density, lbp_histograms,
                                             oriented_energy, oriented_maps, orientations, profiles)
from training.signatures.v32_channel import CHANNELS, paired, ship_rule

H, W = 192, 384


def blank() -> np.ndarray:
    return np.full((1, H, W), 255, np.uint8)


def stroke(horizontal: bool) -> np.ndarray:
    c = blank()
    if horizontal:
        c[0, 30:40, 100:300] = 0
    else:
        c[0, 40:150, 180:190] = 0
    return c


def energy_per_orientation(canvas: np.ndarray, k: int = 8) -> np.ndarray:
    return oriented_energy(canvas, k, ((1, 1),))[f"hog{k}@1x1"][0]


def test_orientations_are_signed_and_evenly_spaced():
    d = orientations(8)
    assert np.allclose(np.linalg.norm(d, axis=1), 1)
    assert np.allclose(d[0], [1, 0]) and np.allclose(d[2], [0, 1], atol=1e-6) and np.allclose(d[4], [-1, 0], atol=1e-6)


def test_a_horizontal_stroke_lights_the_vertical_gradient_bins():
    e = energy_per_orientation(stroke(True))
    # top edge: ink grows downwards (θ = 90°, bin 2); bottom edge: the opposite (θ = 270°, bin 6)
    assert set(np.argsort(e)[-2:]) == {2, 6}
    assert e[2] == pytest.approx(e[6], rel=1e-5)
    # the horizontal directions see only the two short end caps
    assert e[0] < 0.1 * e[2] and e[4] < 0.1 * e[2]


def test_a_vertical_stroke_lights_the_horizontal_gradient_bins():
    e = energy_per_orientation(stroke(False))
    assert set(np.argsort(e)[-2:]) == {0, 4}
    assert e[2] < 0.15 * e[0] and e[6] < 0.15 * e[0]


def test_blank_paper_has_no_gradient_energy_and_no_patterns():
    assert not oriented_maps(blank()).any()
    assert not lbp_histograms(blank())["lbp@2x4"].any()
    assert not ink_density(blank())["ink@8x16"].any()


def test_grid_pooling_places_the_stroke_in_its_cells():
    g = oriented_energy(stroke(True), 8, ((2, 4),))["hog8@2x4"].reshape(8, 2, 4)
    # rows 30-40 lie in the top half (cells of 96 rows); columns 100-300 cross the cells 0-3 (96 columns
    # each) at columns 100-191 and 192-287 over their whole width
    assert g[2, 0, 1] > 0 and g[2, 0, 2] > 0 and g[2, 0, 1] == pytest.approx(g[2, 0, 2], rel=0.1)
    assert not g[:, 1].any()
    with pytest.raises(ValueError):
        grid_mean(np.zeros((1, 10, 10)), 3, 3)


def test_lbp_counts_stroke_edges_not_flat_regions():
    h = lbp_histograms(stroke(True), ((1, 1),))["lbp@1x1"][0]
    assert h.shape == (LBP_BINS,) and h.sum() > 0
    # a 10×200 bar: its edge pixels (≈ 2·200 + 2·10 on each side of the border) are counted, its inside is not
    pixels = h.sum() * H * W
    assert 400 <= pixels <= 1000


def test_profiles_find_the_stroke():
    p = profiles(stroke(True))
    assert np.argmax(p["proj_rows"][0]) in (30 // (H // 48), 35 // (H // 48))
    assert p["proj_cols"][0][:20].sum() == 0 and p["proj_cols"][0][30:70].min() > 0


def test_features_batch_the_same_as_one_call():
    c = np.concatenate([stroke(True), stroke(False), blank()])
    f1 = features(c, batch=2)
    f2 = features(c, batch=64)
    assert set(f1) == set(f2) and all(np.array_equal(f1[k], f2[k]) for k in f1)
    assert all(k in f1 for ch in CHANNELS.values() for k in ch)


def test_ship_rule_as_written():
    base = {5: {"cedar": [0.10, 0.12, 0.08, 0.11, 0.10], "bengali": [0.07, 0.05, 0.09, 0.06, 0.08]},
            10: {"cedar": [0.08] * 5, "bengali": [0.06] * 5}}

    def cand(dc5, db5, d10=0.0):
        return {5: {"cedar": [v + d for v, d in zip(base[5]["cedar"], dc5)],
                    "bengali": [v + d for v, d in zip(base[5]["bengali"], db5)]},
                10: {"cedar": [v + d10 for v in base[10]["cedar"]], "bengali": [v + d10 for v in base[10]["bengali"]]}}

    clear = [-0.02, -0.025, -0.02, -0.03, -0.02]
    slight = [-0.001, -0.002, 0.001, -0.001, -0.002]
    assert ship_rule(cand(clear, slight), base, 3.0)["ship"]
    assert not ship_rule(cand(clear, slight), base, 12.0)["ship"]             # too slow
    assert not ship_rule(cand(clear, [0.001] * 5), base, 3.0)["ship"]         # Bengali higher
    assert not ship_rule(cand(slight, slight), base, 3.0)["ship"]             # within the spread in both
    assert not ship_rule(cand(clear, slight, d10=0.02), base, 3.0)["ship"]    # worse at 10 references
    assert paired([0.1, 0.2], [0.2, 0.2])["lower_folds"] == 1


def test_card_section_states_the_rule_the_verdict_and_that_no_test_writer_was_scored(tmp_path):
    from training.signatures.v32_channel_card import BEGIN, END, main, section

    def s(m):
        return {"mean": m, "sd": 0.01, "folds": [m] * 5}

    def p(m):
        return {"mean": m, "sd": 0.005, "lower_folds": 5 if m < 0 else 0, "folds": [m] * 5}

    cfg = {n: {"cedar": s(0.10), "bengali": s(0.07)} for n in ("1", "3", "5", "10")}
    cand = {**{n: {"cedar": s(0.09), "bengali": s(0.05)} for n in ("1", "3", "5", "10")},
            "paired_vs_base": {n: {"cedar": p(-0.01), "bengali": p(-0.02)} for n in ("1", "3", "5", "10")}}
    res = {"configs": {"3.1.1": cfg, "lbp|w0.5|pca64": cand}, "plain_pick": "lbp|w0.5|pca64",
           "nested": {"picks": ["lbp|w0.5|pca64"] * 5, **{n: cand[n] for n in ("1", "3", "5", "10")},
                      "paired_vs_base": cand["paired_vs_base"]},
           "rule": {"a_lower_at_5": True, "b_not_worse_at_10": True, "paired_5": cand["paired_vs_base"]["5"],
                    "paired_10": cand["paired_vs_base"]["10"]},
           "seconds": 10.0, "cpu_seconds": 5.0, "load_average": [1.0, 1.0, 1.0]}
    text = section(res, None, None)
    assert text.startswith(BEGIN) and text.endswith(END)
    assert "the rule does not hold" in text          # no in-graph cost measured: rule (c) unproven
    point = {c: {k: s(0.9) for k in ("eer", "accuracy", "far", "frr", "review_rate", "review_rate_genuine",
                                      "accuracy_decided")} for c in ("cedar", "bengali")}
    train = {"chosen": {"ridge": 1.0, "beta": 0.8, "min_references": 5},
             "nested": {"5": {"cedar": s(0.09), "bengali": s(0.05), "chosen": [[1.0, 0.8]] * 5},
                        "10": {"cedar": s(0.07), "bengali": s(0.04), "chosen": [[1.0, 0.8]] * 5}},
             "cv_operating_points": {n: point for n in ("1", "3", "5", "10")},
             "seconds": 1.0, "cpu_seconds": 1.0, "load_average": [1.0]}
    cost = {"added_ms": 1.5, "pca": 64, "weight": 0.5, "load_average": [1.0],
            "ms_per_image": {"shipped": {"median_cpu": 14.0}, "with_channel": {"median_cpu": 15.5}},
            "model_bytes": {"shipped": 15_000_000, "with_channel": 15_100_000}, "parity_min_cosine_channel": 1.0}
    full = section(res, cost, None, train, {"cv_operating_points": train["cv_operating_points"]})
    assert "the rule holds" in full and "ridge 1.0, β = 0.8" in full
    assert "| 5 | Bengali | candidate | 90.0 ± 1.0% |" in full and "| 5 | Bengali | 3.1.1 |" in full
    assert "SHIP RULE" in text and "were not scored" in text and "**yes**" in text
    assert "| lbp, w 0.5, pca64 | 9.0 ± 1.0% | 5.0 ± 1.0% | -1.0 ± 0.5 (5/5) | -2.0 ± 0.5 (5/5) |" in text
    # written into a card once, replaced (not duplicated) on a second run
    out = tmp_path / "runs"
    out.mkdir()
    import json
    (out / "channel-final.json").write_text(json.dumps(res))
    card = tmp_path / "CARD.md"
    card.write_text("# card\n")
    main(["--out", str(out), "--card", str(card)])
    main(["--out", str(out), "--card", str(card)])
    assert card.read_text().count(BEGIN) == 1 and card.read_text().startswith("# card\n")
