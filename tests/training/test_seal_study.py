"""The generalisation study's heads, leave-one-out scoring and card section (on small feature sets:
real scikit-learn, features drawn so one column carries the label)."""

from __future__ import annotations

import numpy as np

from training.seals.study import CARD_BEGIN, CARD_END, card_section, holdout_scores, score, write_card_section


def _data(n_scenes=60, seed=0):
    rng = np.random.default_rng(seed)
    rows, X = [], []
    fams = ["strip", "bolt", "label"]
    for s in range(n_scenes):
        fam = fams[s % 3]
        for label in ("intact", "damaged"):
            rows.append(dict(family=fam, background=["a", "b"][s % 2], lighting=["x", "y"][(s // 2) % 2],
                             scene=str(s), label=label))
            v = rng.normal(0, 1, 8)
            v[0] += 2.5 if label == "damaged" else -2.5     # the signal
            v[1] += fams.index(fam) * 3                      # a family offset the head must ignore
            X.append(v)
    return rows, np.array(X, np.float32)


def test_holdout_scores_per_family_and_means():
    rows, X = _data()
    res = holdout_scores(rows, X, "family", C=1.0)
    assert set(res["per_value"]) == {"strip", "bolt", "label"}
    for v in res["per_value"].values():
        assert v["n"] == 40 and v["roc_auc"] > 0.9
    assert res["worst_roc_auc"] <= res["mean_roc_auc"] <= 1.0


def test_score_accuracy_and_auc():
    y = np.array([0, 0, 1, 1])
    assert score(y, np.array([0.1, 0.6, 0.4, 0.9])) == dict(n=4, accuracy=0.5, roc_auc=0.75)
    assert score(np.array([1, 1]), np.array([0.2, 0.9]))["roc_auc"] is None


def test_card_section_is_written_once_and_replaced(tmp_path):
    card = tmp_path / "CARD.md"
    card.write_text("# pack\n\nintro\n\n## Intended use\n\nuse it\n", encoding="utf-8")
    res = {"pack_renderer_2": dict(n=600, accuracy=0.8, accuracy_app=0.81, roc_auc=0.88, review_or_ood_rate=0.3,
                                   by_kind={"bolt": dict(n=200, accuracy=0.8, accuracy_app=0.8, roc_auc=0.9)}),
           "pack_fresh_seed": dict(n=600, accuracy=0.97, accuracy_app=0.975, roc_auc=0.995, review_or_ood_rate=0.1),
           "leave_one_family_out": dict(per_value={"bolt": dict(n=10, accuracy=0.7, roc_auc=0.8)},
                                        mean_accuracy=0.7, mean_roc_auc=0.8, worst_roc_auc=0.8),
           "choice": {"C": 0.1}, "backbone": "models/imagenet-lite0"}
    text = card_section(res)
    assert "| second renderer | 600 | 0.810 | 0.880 | 30.0% | 0.85 / 0.9 (missed) |" in text
    assert "| own generator, fresh seed | 600 | 0.975 | 0.995 | 10.0% | 0.97 / 0.99 (met) |" in text
    write_card_section(card, res)
    res["pack_renderer_2"]["accuracy_app"] = 0.9
    write_card_section(card, res)
    out = card.read_text(encoding="utf-8")
    assert out.count(CARD_BEGIN) == 1 and out.count(CARD_END) == 1
    assert "| second renderer | 600 | 0.900 |" in out
    assert out.index(CARD_BEGIN) < out.index("## Intended use") and out.startswith("# pack")
