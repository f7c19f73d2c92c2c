"""A seal profile's anomaly map as the heatmap people see: the photo's typical patch is cold, the
profile's threshold is full heat (raw distances washed the whole photo in one colour), and the
caption says it is the profile's map."""

from __future__ import annotations

import numpy as np

from inference.inspector import anomaly_heat
from inference.results import ReviewReason, Verdict
from inference.wording import ENGLISH, heatmap_caption


def test_typical_patches_are_cold_and_the_threshold_is_full_heat():
    rng = np.random.default_rng(3)
    distances = (0.6 + 0.02 * rng.standard_normal((14, 14))).astype(np.float32)
    distances[9, 4] = 1.2  # one patch departs, beyond the threshold
    distances[2, 2] = 0.8  # one halfway between the typical level and the threshold
    heat = anomaly_heat(distances, threshold=1.0)
    assert heat.dtype == np.float32 and heat.shape == (14, 14)
    assert heat.min() == 0.0 and heat[9, 4] == 1.0
    base = float(np.median(distances))
    assert np.isclose(heat[2, 2], (0.8 - base) / (1.0 - base), atol=1e-6)
    assert np.median(heat) <= 0.05  # most of the photo stays uncoloured
    assert int(np.argmax(heat)) == 9 * 14 + 4


def test_a_flat_map_or_a_threshold_below_it_does_not_divide_by_zero():
    flat = np.full((4, 4), 0.7, np.float32)
    assert np.array_equal(anomaly_heat(flat, 0.7), np.zeros((4, 4), np.float32))
    assert np.isfinite(anomaly_heat(flat, 0.1)).all()


def test_the_caption_names_the_profile_when_one_judged():
    judged = ReviewReason("profile_judged", {"name": "Gate 3 bolt seals", "id": "x", "hash": "y"})
    v = Verdict(outcome="decided", label="damaged", words="", probability=0.9, notes=(judged,))
    assert heatmap_caption("Damaged / tampered", ENGLISH, "damaged", verdict=v) == \
        "Where the photo departs from profile 'Gate 3 bolt seals'"
    plain = Verdict(outcome="decided", label="damaged", words="", probability=0.9)
    assert heatmap_caption("Damaged / tampered", ENGLISH, "damaged", verdict=plain) == "Heatmap of Damaged / tampered"


def test_an_all_zero_heatmap_is_said_to_show_no_evidence():
    import numpy as np

    from inference.wording import heatmap_is_empty

    assert heatmap_is_empty(np.zeros((7, 7), np.float32)) and heatmap_is_empty(np.zeros((4, 4), np.uint8))
    assert not heatmap_is_empty(np.eye(4, dtype=np.float32)) and not heatmap_is_empty(None)
    assert not heatmap_is_empty(np.zeros((0, 0), np.float32))
    assert heatmap_caption("Malignant", ENGLISH, "malignant", empty=True) == "Heatmap of Malignant: no evidence found"
    assert heatmap_caption("Malignant", ENGLISH, "malignant") == "Heatmap of Malignant"
