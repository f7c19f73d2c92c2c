"""Issue 24: a refused image raises no alarm. The opt-in fitting behind ``ood.alarm_threshold``
(``ood.alarm_acceptance``) and ``decision.alarm_basis: app``, the config keys that ask for it, and
the refusal study's fold and scoring logic, on small made-up numbers where the answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.pipeline.config import ConfigError, build_config
from training.pipeline.thresholds import (alarm_aware, alarm_ood_threshold, alarm_threshold, app_alarm_threshold,
                                          app_review_band, ood_refusals)


def test_refusals_follow_the_decision_as_the_inspector_does():
    s = np.array([1.0, 2.0, 3.0, 2.0])
    decided = np.array([False, False, True, True])
    assert ood_refusals(s, decided, 1.5).tolist() == [False, True, True, True]
    assert ood_refusals(s, decided, 1.5, 2.5).tolist() == [False, True, True, False]


def test_the_alarm_ood_threshold_accepts_its_share_of_the_alarming_decisions_and_never_less():
    s = np.arange(1, 11, dtype=float)        # 10 images, scores 1..10
    p = np.array([0.9] * 5 + [0.1] * 5)      # the first five are decided alarming (line 0.5)
    assert alarm_ood_threshold(s, p, 0.5, 0.8, threshold=2.0) == 4.0   # 4 of the 5 alarming accepted
    assert alarm_ood_threshold(s, p, 0.5, 0.8, threshold=9.0) == 9.0   # never below the calm threshold
    assert alarm_ood_threshold(s, np.zeros(10), 0.5, 0.8, threshold=3.0) == 3.0  # no alarming decision


def test_the_app_based_alarm_threshold_counts_a_refusal_as_no_alarm():
    # ten alarming cases; the two most probable are out of domain (score 9) and refused at any line
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.05])
    y = np.array([True] * 10 + [False] * 2)
    s = np.array([9.0, 9.0] + [1.0] * 10)
    by_prob = alarm_threshold(p, y, 0.7, 1.0)
    assert by_prob == pytest.approx(0.4)      # 7 of 10 at or above 0.4, refused ones counted
    by_app = app_alarm_threshold(p, y, s, 5.0, None, 0.7, 1.0)
    assert by_app == pytest.approx(0.2)       # the app alarms on 7 of 10 only from 0.2 down
    refused = ood_refusals(s, p >= by_app, 5.0)
    assert np.mean((p >= by_app) & ~refused & y) * 12 / 10 >= 0.7
    # with a looser threshold for alarming decisions, the refused two are alarms again
    assert app_alarm_threshold(p, y, s, 5.0, 10.0, 0.7, 1.0) == pytest.approx(0.4)
    # never above the cap; without an OOD score it is the probability-based threshold
    assert app_alarm_threshold(p, y, s, 5.0, None, 0.7, 0.1) == pytest.approx(0.1)
    assert app_alarm_threshold(p, y, None, None, None, 0.7, 1.0) == by_prob
    # unreachable (every alarming case refused): the lowest candidate, the most the app can alarm
    assert app_alarm_threshold(p, y, np.full(12, 9.0), 5.0, None, 0.7, 1.0) == pytest.approx(0.1)


def test_the_app_review_band_never_reviews_a_refused_image():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    y = rng.uniform(0, 1, 400) < p
    refused = np.zeros(400, bool)
    refused[:20] = True
    low, high = app_review_band(p, y, 0.4, refused, sensitivity=0.98, precision=0.9, max_rate=0.25)
    assert 0.0 <= low <= 0.4 <= high <= 1.0
    assert np.mean(~refused & (p >= low) & (p < high)) <= 0.25 + 1e-9


def test_alarm_aware_is_opt_in_and_edits_the_blocks():
    rng = np.random.default_rng(1)
    y = np.array([1] * 60 + [0] * 140)
    probs1 = np.clip(np.where(y == 1, rng.normal(0.7, 0.2, 200), rng.normal(0.3, 0.2, 200)), 0.01, 0.99)
    probs = np.stack([1 - probs1, probs1], 1)
    s = rng.uniform(0, 1, 200)
    s[:6] = 5.0                                    # six alarming cases far out of domain
    cfg = build_config({"id": "demo", "classes": ["calm", "alarm"], "decision": {"alarming": ["alarm"]}})
    base_dec = {"alarm_threshold": 0.3, "review_band": [0.2, 0.5]}
    base_ood = {"threshold": 0.95}
    dec, ood = dict(base_dec), dict(base_ood)
    alarm_aware(cfg, dec, ood, s, probs, [1], y)
    assert dec == base_dec and ood == base_ood     # nothing asked, nothing changed
    cfg = build_config({"id": "demo", "classes": ["calm", "alarm"],
                        "decision": {"alarming": ["alarm"], "alarm_basis": "app"}, "ood": {"alarm_acceptance": 0.99}})
    alarm_aware(cfg, dec, ood, s, probs, [1], y)
    assert ood["alarm_threshold"] >= ood["threshold"] and ood["alarm_acceptance"] == 0.99
    assert dec["alarm_basis"] == "app" and dec["review_band"][0] <= dec["alarm_threshold"] <= dec["review_band"][1]
    p = probs[:, 1]
    alarmed = (p >= dec["alarm_threshold"]) & ~ood_refusals(s, p >= dec["alarm_threshold"], ood["threshold"],
                                                               ood["alarm_threshold"])
    assert alarmed[y == 1].mean() >= 0.9


def test_the_config_keys_are_typed_and_checked():
    cfg = build_config({"id": "demo", "classes": ["a", "b"]})
    assert cfg["decision"]["alarm_basis"] == "probability" and cfg["ood"]["alarm_acceptance"] is None
    with pytest.raises(ConfigError, match="decision.alarm_basis is 'probability' or 'app'"):
        build_config({"id": "demo", "classes": ["a", "b"], "decision": {"alarm_basis": "clinic"}})
    with pytest.raises(ConfigError, match="ood.alarm_acceptance needs decision.alarming"):
        build_config({"id": "demo", "classes": ["a", "b"], "ood": {"alarm_acceptance": 0.98}})
    with pytest.raises(ConfigError, match="ood.alarm_acceptance must be between ood.acceptance and 1"):
        build_config({"id": "demo", "classes": ["a", "b"], "decision": {"alarming": ["b"]},
                      "ood": {"alarm_acceptance": 0.9}})
    with pytest.raises(ConfigError, match="ood.alarm_acceptance"):
        build_config({"id": "demo", "classes": ["a", "b"], "decision": {"alarming": ["b"]},
                      "ood": {"alarm_acceptance": "high"}})


def test_the_refusal_study_folds_keep_a_group_on_one_side_and_fit_as_the_pipeline(tmp_path):
    from training.pipeline.refusal_study import Study

    rng = np.random.default_rng(2)
    n = 300
    groups = np.array([f"L{i // 2}" for i in range(n)])           # two images per lesion
    label = np.array(["mel" if i % 10 < 3 else "nv" for i in range(n // 2) for _ in (0, 1)])
    p_mal = np.where(label == "mel", rng.uniform(0.3, 1, n), rng.uniform(0, 0.6, n))
    data = tmp_path / "study.npz"
    rows = {"val_probs": np.stack([1 - p_mal, p_mal], 1), "val_ood_score": rng.uniform(0, 4, n)}
    for name in ("imagenet", "documents"):
        rows[f"{name}_probs"] = np.tile([0.5, 0.5], (40, 1))
        rows[f"{name}_ood_score"] = np.full(40, 10.0)
        rows[f"{name}_half"] = np.arange(40) % 2
    np.savez(data, label=label, group=groups, source=np.array(["data"] * n), **rows)
    manifest = {"classes": [{"name": "benign"}, {"name": "malignant"}],
                "decision": {"alarming": ["malignant"], "alarm_threshold": 0.4}}
    st = Study(data, manifest, ["mel"])
    folds = st.folds(n=5, seeds=2)
    assert len(folds) == 10
    for fit_idx, test_idx in folds:
        assert not set(groups[fit_idx]) & set(groups[test_idx])
    cv = st.cv(alarm_acceptance=0.99, basis="app")
    assert len(cv["app_sensitivity"]) == 25 and min(cv["ood_imagenet_selection"]) == 1.0
    rule = st.fit(np.arange(n), alarm_acceptance=0.99, basis="app")
    assert rule["Ta"] >= rule["T"]
    assert st.score(rule, np.arange(n))["app_sensitivity"] >= 0.9
    json.dumps(st.score(rule, np.arange(n)))  # plain numbers


def test_the_ship_step_writes_a_valid_manifest_and_refuses_another_validation_side():
    from inference.manifest import validate_manifest
    from training.pipeline.config import REPO_ROOT
    from training.pipeline.refusal_ship import apply

    manifest = json.loads((REPO_ROOT / "models" / "skin-binary" / "manifest.json").read_text(encoding="utf-8"))
    t = float(manifest["ood"]["threshold"])
    study = {"alarm_acceptance": 0.98, "final": {"ood_threshold": t, "ood_alarm_threshold": t + 1.0,
                                                 "alarm_threshold": 0.31234, "review_band": [0.1, 0.45]}}
    new = apply(manifest, study, "9.9.9")
    m = validate_manifest(new)
    assert m.version == "9.9.9" and m.decision.alarm_threshold == 0.3123 and m.decision.review_band == (0.1, 0.45)
    assert m.ood.alarm_threshold == t + 1.0 and new["decision"]["alarm_basis"] == "app"
    assert m.model.sha256 == manifest["model"]["sha256"]  # manifest only: the model bytes stay
    no_rule = apply(manifest, {"alarm_acceptance": None, "final": {**study["final"], "ood_alarm_threshold": None}}, "9.9.8")
    assert validate_manifest(no_rule).ood.alarm_threshold is None
    with pytest.raises(ValueError, match="another validation side"):
        apply(manifest, {"alarm_acceptance": 0.98, "final": {**study["final"], "ood_threshold": t + 0.5}}, "9.9.7")
