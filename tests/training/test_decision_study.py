"""Decision offsets measured by lesion-grouped CV (training/pipeline/decision_study.py): the decision
rule with and without the alarm gate, the offset fit, lesion-disjoint folds, the per-rendition
class-capped mix, and the ship rule on hand-made summaries; then the study on the shipped skin-ham7
pack's validation side (skipped without ../shared)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from training.pipeline import decision_study as ds


def _logp(rows):
    p = np.asarray(rows, float)
    return np.log(p / p.sum(1, keepdims=True))


def test_macro_f1_is_sklearns_over_every_class():
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 5, 200), rng.integers(0, 4, 200)  # class 4 never predicted
    assert ds.macro_f1(y, pred, 5) == pytest.approx(f1_score(y, pred, labels=range(5), average="macro", zero_division=0))


def test_decide_applies_offsets_and_keeps_the_alarm_gate_on_the_raw_probabilities():
    # classes: 0 alarming (mel-like), 1 and 2 calm
    logp = _logp([[0.30, 0.45, 0.25],    # p_alarm 0.30 >= 0.25: the gate picks the alarming class
                  [0.10, 0.50, 0.40]])   # p_alarm 0.10 < 0.25: a calm class, chosen on log p + b
    none = np.zeros(3)
    assert ds.decide(logp, none).tolist() == [1, 1]
    assert ds.decide(logp, none, [0], 0.25).tolist() == [0, 1]
    b = np.array([-5.0, 0.0, 0.3])       # a large negative offset on the alarming class cannot undo the gate
    assert ds.decide(logp, b, [0], 0.25).tolist() == [0, 2]
    assert ds.decide(logp, b).tolist() == [1, 2]  # row 0: log(0.45/0.25) = 0.59 > 0.3


def test_fit_offsets_lifts_an_over_predicted_class_and_respects_the_floor():
    rng = np.random.default_rng(3)
    n = 600
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), y] += 1.5
    logits[:, 2] += 1.2                  # class 2 is predicted far too often
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    before = ds.macro_f1(y, logp.argmax(1), 3)
    b = ds.fit_offsets(logp, y, fixed=0)
    assert b[0] == 0 and b[2] < 0
    assert ds.macro_f1(y, (logp + b).argmax(1), 3) > before + 0.05
    kept = ds.fit_offsets(logp, y, keep_ba=True, fixed=0)
    assert ds.balanced_accuracy(y, (logp + kept).argmax(1), 3) >= ds.balanced_accuracy(y, logp.argmax(1), 3) - 1e-12
    # nothing to gain: no move
    perfect = np.log(np.eye(3)[y] * 0.98 + 0.01)
    assert not ds.fit_offsets(perfect, y, fixed=0).any()


def test_folds_never_split_a_lesion_and_are_seeded():
    rng = np.random.default_rng(1)
    groups = np.array([f"L{i}" for i in rng.integers(0, 150, 400)])
    first = {}
    labels = np.array([first.setdefault(g, int(rng.integers(0, 4))) for g in groups])
    folds = ds.lesion_folds(groups, labels, 5, seed=7)
    for g in np.unique(groups):
        assert len(set(folds[groups == g])) == 1
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    assert (ds.lesion_folds(groups, labels, 5, seed=7) == folds).all()


def test_capped_mix_is_one_image_per_lesion_per_rendition_with_the_cap():
    names = ["a", "nv"]
    # 30 lesions, each in two renditions; 24 nv lesions, 6 of class a
    groups = np.array([f"L{i}" for i in range(30)] * 2)
    y = np.array(([1] * 24 + [0] * 6) * 2)
    ids = np.array([f"d{i:02d}" for i in range(30)] + [f"x{i:02d}" for i in range(30)])
    rend = np.array(["data"] * 30 + ["extra"] * 30)
    keep = ds.capped_mask(y, groups, ids, rend, names, {"nv": 0.5})
    for r in ("data", "extra"):
        m = keep & (rend == r)
        assert len(set(groups[m])) == m.sum()          # one image per lesion
        assert np.mean(y[m] == 1) <= 0.5 and np.sum(y[m] == 0) == 6


def _summary(gain, gain_sd, ba=0.0, nat_ba=0.0, app_ba=0.0, out3=0.0, per_rendition=0.01):
    def block(change, sd=0.0, mean=0.6):
        return {"mean": mean, "sd": 0.03, "change_mean": change, "change_sd": sd}

    def mix(f1_change, f1_sd, ba_change):
        return {"macro_f1": block(f1_change, f1_sd), "balanced_accuracy": block(ba_change),
                "app_balanced_accuracy": block(app_ba), "verdict_outside_top3": block(0.0, mean=out3)}

    zero = {k: mix(0, 0, 0) for k in ("capped/pooled", "capped/data", "natural/pooled")}
    return {"argmax": zero, "cand": {"capped/pooled": mix(gain, gain_sd, ba), "capped/data": mix(per_rendition, 0, 0),
                                     "natural/pooled": mix(0, 0, nat_ba)}}


def test_ship_rule_needs_every_condition():
    assert ds.ship_rule(_summary(0.02, 0.01), ["data"])["chosen"] == "cand"
    for bad in (_summary(0.02, 0.03), _summary(-0.01, 0.0), _summary(0.02, 0.01, ba=-0.006),
                _summary(0.02, 0.01, nat_ba=-0.006), _summary(0.02, 0.01, app_ba=-0.006),
                _summary(0.02, 0.01, out3=0.011), _summary(0.02, 0.01, per_rendition=-0.001)):
        assert ds.ship_rule(bad, ["data"])["chosen"] is None


def test_cross_validation_scores_the_baseline_as_no_change():
    rng = np.random.default_rng(5)
    n, k = 400, 4
    groups = np.array([f"L{i // 2}" for i in range(n)])
    y = np.repeat(rng.integers(0, k, n // 2), 2)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), y] += 1.0
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ids = np.array([f"i{i:04d}" for i in range(n)])
    rend = np.array(["data", "extra"] * (n // 2))
    shares = np.array([np.mean(y == c) for c in range(k)])
    cv = ds.cross_validate(logp, y, groups, ids, rend, ["a", "b", "c", "nv"], {"nv": 0.45}, shares, [0], 0.3, fixed=3)
    summary = ds.summarise(cv)
    assert set(summary) == set(ds.CANDIDATES)
    assert summary["argmax"]["capped/pooled"]["macro_f1"]["change_mean"] == 0
    assert sum(f["held_images"] for f in cv["folds"]) == n
    for name in ds.CANDIDATES:  # the ranking is never touched: top-3 is the same for every candidate
        assert summary[name]["natural/pooled"]["top3"]["mean"] == summary["argmax"]["natural/pooled"]["top3"]["mean"]


def test_the_study_on_the_shipped_pack(tmp_path):
    from tests.shared_data import shared_data
    from training.pipeline.config import REPO_ROOT

    shared_data("skin-ham10000-full")
    shared_data("skin-ham10000")
    out = tmp_path / "r.json"
    assert ds.main([str(REPO_ROOT / "models"), "skin-ham7", "--out", str(out), "--cache", str(tmp_path / "v.npz")]) == 0
    r = json.loads(out.read_text())
    assert r["validation_images"] == 1573 and r["renditions"] == {"data": 1207, "extra": 366}
    assert r["lesions"] == 903
    if r["version"] == "1.2.1":  # issue 24, h-skin7: the numbers in the card's decision section
        assert r["ship_rule"]["chosen"] is None
        assert r["summary"]["argmax"]["capped/pooled"]["macro_f1"]["mean"] == pytest.approx(0.623, abs=0.002)
