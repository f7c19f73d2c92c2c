"""``python -m training.guard.squeeze_study``: the screen and squeeze thresholds meet their clean rates
in every rendition, the detection table follows from the recorded scores, the ship rule rejects what it
should, and the card lines show both sides."""

from __future__ import annotations

import numpy as np

from training.guard import squeeze_study as sq


def _study_file(rng, n=200, floor_shift=0.0, squeeze_shift=0.0):
    """A study file as ``study`` saves it: clean photos with a low floor, a grey attack that lifts it."""
    y = rng.integers(0, 2, n)
    d = {"y": y}
    d["clean0/label"] = y.copy()
    d["clean0/label"][:20] = 1 - y[:20]  # 90% right
    d["clean0/noise_flag"] = np.zeros(n, bool)
    d["clean0/noise"] = rng.uniform(0, 0.002, n)
    d["clean0/floor"] = rng.uniform(0.0, 0.0015, n) + floor_shift
    d["clean0/squeeze"] = rng.uniform(0.0, 0.2, n) + squeeze_shift
    d["grey2/label"] = 1 - y  # every attack succeeds
    d["grey2/noise_flag"] = np.arange(n) % 5 == 0  # the noise detector sees 20%
    d["grey2/noise"] = np.where(d["grey2/noise_flag"], 0.0035, rng.uniform(0, 0.0025, n))  # flagged: above 0.003
    d["grey2/floor"] = rng.uniform(0.003, 0.006, n)
    d["grey2/squeeze"] = np.where(np.arange(n) % 2 == 0, 0.5, 0.01)  # half squeeze far
    return d


def test_thresholds_meet_both_rates_in_every_file():
    rng = np.random.default_rng(0)
    files = {"own": _study_file(rng), "ham224": _study_file(rng, floor_shift=0.0004, squeeze_shift=0.05)}
    screen, squeeze = sq.thresholds(files, pass_rate=0.10, squeeze_rate=0.01)
    for d in files.values():
        gate = d["clean0/floor"] > screen
        assert gate.mean() <= 0.10
        assert (gate & (d["clean0/squeeze"] > squeeze)).mean() <= 0.01
    # The screen is the largest of the two files' 90% quantiles: the sharper file sets it.
    assert np.mean(files["ham224"]["clean0/floor"] > screen) > 0.08


def test_table_counts_only_screened_squeeze_and_successful_attacks():
    rng = np.random.default_rng(1)
    d = _study_file(rng)
    t = sq.table(d, screen=0.002, squeeze=0.3, noise=0.003)
    g = t["grey2"]
    ok = d["clean0/label"] == d["y"]
    assert g["successful"] == int(ok.sum())
    expected = ((d["grey2/noise_flag"] | (d["grey2/squeeze"] > 0.3)) & ok).sum() / ok.sum()
    assert g["detected_with_squeeze"] == round(float(expected), 4)
    assert g["detected_noise"] < g["detected_with_squeeze"]
    assert t["clean0"]["screened_in"] == 0.0  # no clean floor above 0.0015
    assert t["clean0"]["detectors_with_squeeze"] == t["clean0"]["detectors_noise"]


def _tables(gain=0.2, clean=0.03, passed=0.08, colour=1.0):
    row = {"n": 200, "screened_in": passed, "accuracy": 0.8, "detectors_noise": 0.02, "detectors_with_squeeze": clean,
           "squeeze_alone": 0.01, "app_flagged": 0.05, "app_flagged_with_squeeze": clean + 0.03}
    att = {"successful": 100, "detected_noise": 0.2, "detected_with_squeeze": 0.2 + gain, "successful_screened_in": 1.0}
    return {"clean0": row, "grey2": dict(att), "grey4": dict(att),
            "FGSM2": {**att, "detected_noise": colour, "detected_with_squeeze": colour}}


def test_rule_passes_and_fails_on_each_line():
    good = {"tables": {"own": _tables(), "ham224": _tables()}}
    assert sq.rule_check(good) == []
    weak1 = _tables()
    weak1["FGSM1"] = {**weak1["FGSM2"], "detected_with_squeeze": 0.99}  # colour 1/255 counts when measured
    assert sq.rule_check({"tables": {"own": weak1}}) == ["own: FGSM1 detection 99.0% (< 100%)"]
    for bad, word in [(_tables(gain=0.05), "grey2"), (_tables(clean=0.07), "clean flags"),
                      (_tables(passed=0.12), "screen"), (_tables(colour=0.98), "FGSM2")]:
        fails = sq.rule_check({"tables": {"own": _tables(), "ham224": bad}})
        assert fails and all(f.startswith("ham224") for f in fails) and any(word in f for f in fails)


def test_raising_the_noise_threshold_frees_clean_flags_and_keeps_out_of_domain_flags():
    rng = np.random.default_rng(2)
    d = _study_file(rng)
    d["clean0/noise"][:10] = 0.0035  # ten clean photos just above a 0.003 noise threshold
    d["clean0/noise_flag"][:12] = True  # those ten, and two refused as out-of-domain
    t0 = sq.table(d, screen=0.002, squeeze=0.3, noise=0.003)
    t1 = sq.table(d, screen=0.002, squeeze=0.3, noise=0.003, noise_new=0.004)
    assert t0["clean0"]["detectors_with_squeeze"] == 0.05 and t1["clean0"]["detectors_with_squeeze"] == 0.0
    assert t1["clean0"]["app_flagged_with_squeeze"] == 0.01  # the out-of-domain refusals stay
    assert t1["clean0"]["detectors_noise"] == 0.05  # the shipped guard's column is unchanged


def test_card_lines_show_every_round():
    v = {"screen_threshold": 0.0012, "squeeze_threshold": 0.15, "noise_threshold": 0.003,
         "tables": {"validation_skin-binary_own": _tables(), "validation_skin-binary_ham224": _tables()}}
    t = {"screen_threshold": 0.0012, "squeeze_threshold": 0.15, "noise_threshold": 0.003, "noise_threshold_new": 0.0036,
         "tables": {"test_skin-binary_own": _tables(gain=0.3)}}
    study = {"version": "1.3.1", "shipped": True, "attack_model": "the run folder", "n_per_set": 200, "seed": 1234,
             "rule": "The rule.", "verdict": "The rule passed.",
             "rounds": [{"title": "Round 1", "side": "validation", **v}, {"title": "Test", "side": "test", **t}]}
    text = "\n".join(sq.card_lines(study))
    assert "(1.3.1;" in text and "0.0012" in text and "0.15" in text and "(was 0.003)" in text
    assert text.count("| validation,") == 2 and text.count("| test,") == 1
    assert "20% → **50%** of 100" in text  # the test row's grey detection, before → with the candidate
    assert sq.card_lines({}) == []
    study.update(shipped=False)
    assert "Tried, not shipped" in "\n".join(sq.card_lines(study))


def test_attacked_sets_yields_the_clean_images_as_uint8_and_skips_what_a_resumed_study_has():
    """The shared attack loop of the screen and squeeze studies: "clean0" first, as the images
    themselves in uint8; a condition already saved in the study's .npz is not made again."""
    import numpy as np

    from training.guard.screen_study import attacked_sets

    x = np.linspace(0.0, 1.0, 2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    got = list(attacked_sets(None, x, np.array([0, 1]), [], {}, {}))
    assert [c for c, _ in got] == ["clean0"]
    assert got[0][1].dtype == np.uint8 and np.array_equal(got[0][1], np.round(x * 255).astype(np.uint8))
    assert list(attacked_sets(None, x, np.array([0, 1]), ["grey2"], {}, {"clean0/label": [], "grey2/label": []})) == []
