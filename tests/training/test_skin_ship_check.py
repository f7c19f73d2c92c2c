"""The skin packs' ship-rule check (training/pipeline/skin_ship_check.py): its metrics on hand-made
numbers, and the paired lesion bootstrap (seeded; zero difference for identical packs)."""

from __future__ import annotations

import numpy as np

from training.pipeline.skin_ship_check import H7, balanced_accuracy, metrics, paired_bootstrap, \
    specificity_at_sensitivity


def test_specificity_at_sensitivity_uses_the_threshold_that_reaches_it():
    pos = np.array([1] * 10 + [0] * 10)
    score = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.1] + [0.95, 0.4, 0.3, 0.2, 0.05] * 2)
    # 90% of 10 positives = 9: the threshold is the 9th highest positive score, 0.5; negatives below it: 8 of 10
    assert specificity_at_sensitivity(pos, score, 0.90) == 0.8
    # 100%: the threshold falls to 0.1, so only the two 0.05 negatives stay below it
    assert specificity_at_sensitivity(pos, score, 1.0) == 0.2


def test_balanced_accuracy_is_the_mean_recall_of_the_classes_present():
    y = np.array([0, 0, 0, 0, 1, 1, 5])
    pred = np.array([0, 0, 0, 1, 1, 0, 5])
    assert balanced_accuracy(y, pred, 7) == (0.75 + 0.5 + 1.0) / 3


def _packs(seed: int, n: int):
    rng = np.random.default_rng(seed)
    p7 = rng.dirichlet(np.ones(len(H7)), n)
    return {"p7": p7, "pb": rng.random(n), "alarm": rng.random(n) > 0.5, "ood7": np.zeros(n, bool),
            "oodb": np.zeros(n, bool)}


def test_paired_bootstrap_is_seeded_and_zero_for_the_same_packs():
    n = 120
    rng = np.random.default_rng(1)
    y7 = np.concatenate([np.arange(len(H7)), rng.integers(0, len(H7), n - len(H7))])
    groups = np.array([f"L{i // 2}" for i in range(n)])  # two images per lesion
    old, new = _packs(2, n), _packs(3, n)
    same = paired_bootstrap(groups, old, old, y7, n=20)
    assert all(v["mean"] == 0 and v["sd"] == 0 and v["p_not_higher"] == 1 for v in same.values())
    a, b = paired_bootstrap(groups, old, new, y7, n=20), paired_bootstrap(groups, old, new, y7, n=20)
    assert a == b
    full = {k: metrics(y7, new["p7"], new["pb"], new["alarm"], new["ood7"], new["oodb"])[k]
            - metrics(y7, old["p7"], old["pb"], old["alarm"], old["ood7"], old["oodb"])[k] for k in a}
    for k in a:  # the resampled differences centre near the full-sample one
        assert abs(a[k]["mean"] - full[k]) < 3 * a[k]["sd"] + 0.02, (k, a[k], full[k])


def _result(old: dict, new: dict, p_not_higher: dict) -> dict:
    return {"shipped": {"all": old}, "candidate": {"all": new},
            "paired_bootstrap_new_minus_old": {k: {"mean": 0.0, "sd": 0.0, "p_not_higher": p}
                                               for k, p in p_not_higher.items()}}


def test_rule_binary_ignores_skin_ham7_and_clear_needs_a_gain_outside_the_noise():
    from training.pipeline.skin_ship_check import HEADLINE, RULES, rule_holds

    old = {"ham7_balanced_accuracy": 0.70, "binary_roc_auc": 0.913, "binary_spec_at_sens90": 0.707}
    new = {"ham7_balanced_accuracy": 0.70, "binary_roc_auc": 0.925, "binary_spec_at_sens90": 0.720}
    res = _result(old, new, {"ham7_balanced_accuracy": 1.0, "binary_roc_auc": 0.01, "binary_spec_at_sens90": 0.3})
    assert not rule_holds(res, HEADLINE)  # skin-ham7 unchanged: not higher
    assert rule_holds(res, RULES["binary"])
    assert rule_holds(res, RULES["binary"], clear=["binary_roc_auc"])
    assert not rule_holds(res, RULES["binary"], clear=["binary_spec_at_sens90"])  # 30% of resamples not higher
    assert rule_holds(res, RULES["binary"], clear=["binary_spec_at_sens90"], max_p=0.5)
    lower_spec = _result(old, dict(new, binary_spec_at_sens90=0.70), {"binary_roc_auc": 0.0})
    assert not rule_holds(lower_spec, RULES["binary"], clear=["binary_roc_auc"])


def test_macro_f1_is_the_mean_f1_over_all_seven_classes():
    from training.pipeline.skin_ship_check import macro_f1

    y = np.array([0, 0, 1, 1, 5, 5])
    pred = np.array([0, 1, 1, 1, 5, 0])
    # class 0: tp 1 fp 1 fn 1 -> 0.5; class 1: tp 2 fp 1 fn 0 -> 0.8; class 5: tp 1 fp 0 fn 1 -> 2/3;
    # the four classes neither present nor predicted count 0
    assert macro_f1(y, pred, 7) == (0.5 + 0.8 + 2 / 3) / 7
    assert metrics(y, np.eye(7)[pred], np.zeros(6), np.zeros(6, bool), np.zeros(6, bool),
                   np.zeros(6, bool))["ham7_macro_f1"] == macro_f1(y, pred, 7)


def test_rule_ham7_needs_balanced_accuracy_and_macro_f1_higher():
    from training.pipeline.skin_ship_check import BOOTSTRAPPED, RULES, paired_bootstrap, rule_holds

    old = {"ham7_balanced_accuracy": 0.688, "ham7_macro_f1": 0.63, "binary_roc_auc": 0.913, "binary_spec_at_sens90": 0.707}
    both_up = dict(old, ham7_balanced_accuracy=0.70, ham7_macro_f1=0.64)
    res = _result(old, both_up, {"ham7_balanced_accuracy": 0.03, "ham7_macro_f1": 0.2})
    assert rule_holds(res, RULES["ham7"], clear=["ham7_balanced_accuracy"])
    assert not rule_holds(res, RULES["ham7"], clear=["ham7_macro_f1"])  # 20% of resamples not higher
    f1_down = _result(old, dict(both_up, ham7_macro_f1=0.62), {"ham7_balanced_accuracy": 0.0})
    assert not rule_holds(f1_down, RULES["ham7"], clear=["ham7_balanced_accuracy"])
    assert "ham7_macro_f1" in BOOTSTRAPPED
    n = 60
    y7 = np.arange(n) % len(H7)
    boot = paired_bootstrap(np.array([f"L{i}" for i in range(n)]), _packs(4, n), _packs(5, n), y7, n=10)
    assert set(boot) == set(BOOTSTRAPPED)
