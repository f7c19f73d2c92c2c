"""The operating point with the app's refusal flags: a refused image of an alarming class counts as
refused, never as alarmed, whatever its probability; the card's rows say what each number counts."""

from __future__ import annotations

import numpy as np

from training.pipeline.mixes import card_sections, mix_metrics, operating_point, operating_table

# Ten images: four of the alarming class, six calm. Threshold 0.5.
IS_ALARM = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
P_ALARM = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.2, 0.3, 0.1, 0.9])
# Refused: the 0.8 malignant (above the line), and two calm ones.
REFUSED = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0, 1], bool)
REVIEW = np.array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0], bool)


def test_a_refused_alarming_image_is_counted_as_refused_not_alarmed():
    op = operating_point(IS_ALARM, P_ALARM, 0.5, REVIEW, REFUSED)
    assert (op["tp"], op["fn"], op["sensitivity"]) == (3, 1, 0.75)  # by probability: the refused one counts
    app = op["app"]
    assert (app["alarmed"], app["refused"], app["refused_above_threshold"], app["passed_calm"]) == (2, 1, 1, 1)
    assert app["sensitivity"] == 0.5 and app["refused_rate"] == 0.25 and app["passed_calm_rate"] == 0.25
    assert app["passed_calm_review"] == 1  # the one passed as calm carries a review flag
    assert (app["refused_other"], app["other"]) == (2, 6) and app["refused_rate_other"] == 2 / 6
    assert app["alarmed"] + app["refused"] + app["passed_calm"] == int(IS_ALARM.sum())


def test_without_refusal_flags_the_table_is_as_before():
    assert "app" not in operating_point(IS_ALARM, P_ALARM, 0.5, REVIEW)


def test_mix_metrics_and_the_card_rows_say_what_they_count():
    y = np.where(IS_ALARM, 1, 0)
    probs = np.stack([1 - P_ALARM, P_ALARM], 1)
    res = {"probs": probs, "labels": (P_ALARM >= 0.5).astype(int), "review": REVIEW, "ood": REFUSED}
    idx = np.arange(10)
    m = mix_metrics(y, res, idx, ["benign", "malignant"], [1], 0.5)
    assert m["alarm"]["app"]["sensitivity"] == 0.5 and m["alarm"]["sensitivity"] == 0.75
    val_p, val_y = np.array([0.9, 0.6, 0.4, 0.1]), np.array([1, 1, 0, 0], bool)
    table = operating_table(val_p, val_y, {"natural": (IS_ALARM, P_ALARM, REFUSED)}, sensitivities=(0.9,))
    assert table[0]["natural"]["app"]["alarmed"] <= table[0]["natural"]["tp"]
    report = {"mixes": {"natural": m}, "operating_table": table}
    text = "\n".join(s["text"] for s in card_sections(report, ["benign", "malignant"], {}))
    assert "| alarm sensitivity by probability (alarming-class images with P ≥ threshold, refused ones included) " \
           "| 75.0% |" in text
    assert "| alarm sensitivity in the app (P ≥ threshold and not refused: the app alarms) | 50.0% (2/4) |" in text
    assert "| alarming-class images refused (no verdict, whatever P) | 25.0% (1/4) |" in text
    assert "| alarming-class images passed as calm (P < threshold, not refused) | 25.0% (1/4) |" in text
    assert "| other images refused | 33.3% (2/6) |" in text
    assert "/ sensitivity in the app (alarmed and not refused):" in text
