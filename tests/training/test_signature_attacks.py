"""``python -m training signature-attacks``: the ε-bounded scan perturbations and the card section."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.signatures.perturb_cmd import ATTACKS, CARD_BEGIN, CARD_END, perturb, write_card_section


def _scan(seed: int = 0) -> np.ndarray:
    """A grey 'scan': light paper with noise and a dark stroke with soft (anti-aliased) edges."""
    rng = np.random.default_rng(seed)
    g = np.clip(rng.normal(235, 6, (60, 120)), 0, 255)
    yy, xx = np.mgrid[:60, :120]
    dist = np.abs(yy - (30 + 10 * np.sin(xx / 12.0)))
    g = np.where(dist < 3, 40, np.where(dist < 6, 40 + (dist - 3) * 60, g))
    return np.clip(g, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("eps", [2, 8])
def test_every_attack_stays_within_eps(attack, eps):
    g = _scan()
    a = perturb(g, attack, eps, seed=3)
    assert a.dtype == np.uint8 and a.shape == g.shape
    assert int(np.max(np.abs(a.astype(int) - g.astype(int)))) <= eps
    assert np.any(a != g)


def test_thicken_only_darkens_and_thin_only_lightens_near_the_threshold():
    from inference.signature.preprocess import median_filter, otsu_threshold

    g = _scan(1)
    t = otsu_threshold(median_filter(g, 3))
    s = median_filter(g, 3).astype(int)
    d_thick = perturb(g, "thicken", 4).astype(int) - g
    d_thin = perturb(g, "thin", 4).astype(int) - g
    assert d_thick.max() <= 0 and d_thin.min() >= 0
    assert np.all((d_thick == 0) | ((s > t) & (s <= t + 4)))
    assert np.all((d_thin == 0) | ((s <= t) & (s > t - 4)))
    # paper far from the threshold is never touched
    assert np.all(d_thick[s > t + 4] == 0) and np.all(d_thin[s <= t - 4] == 0)


def test_sign_noise_is_seeded():
    g = _scan()
    assert np.array_equal(perturb(g, "sign noise", 2, seed=5), perturb(g, "sign noise", 2, seed=5))
    assert not np.array_equal(perturb(g, "sign noise", 2, seed=5), perturb(g, "sign noise", 2, seed=6))
    with pytest.raises(ValueError):
        perturb(g, "erase", 2)


def test_card_section_is_written_once_and_replaced(tmp_path):
    (tmp_path / "CARD.md").write_text("# card\n\nbody\n", encoding="utf-8")
    rows = [{"attack": "clean", "eps_255": 0, "eer": 0.05, "accuracy": 0.9, "far": 0.04, "frr": 0.1,
             "mean_abs_score_change": 0.0, "max_abs_score_change": 0.0, "forgeries_newly_accepted": 0,
             "genuine_newly_rejected": 0},
            {"attack": "thicken", "eps_255": 2, "eer": 0.06, "accuracy": 0.89, "far": 0.05, "frr": 0.1,
             "mean_abs_score_change": 0.01, "max_abs_score_change": 0.08, "forgeries_newly_accepted": 1,
             "genuine_newly_rejected": 0, "ink_pixels_flipped": 0.017}]
    results = {"writers": "36-45", "references": 5, "threshold": 0.56, "rows": rows}
    write_card_section(tmp_path, results)
    write_card_section(tmp_path, results)
    text = (tmp_path / "CARD.md").read_text(encoding="utf-8")
    assert text.count(CARD_BEGIN) == 1 and text.count(CARD_END) == 1 and text.startswith("# card")
    assert "| thicken | 2/255 | 6.0% | 89.0% |" in text and "1.70%" in text
    json.dumps(results)  # the manifest block is plain JSON


CEDAR = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "data" / "signatures-cedar"


@pytest.mark.skipif(not (CEDAR / "manifest.csv").is_file(),
                    reason="needs the CEDAR copy in ../shared/data/signatures-cedar (not on a user's machine)")
def test_command_on_the_bundled_pack_prints_a_row_per_attack(capsys):
    from training.cli import main

    code = main(["signature-attacks", "--writers", "36", "--max-queries", "2", "--eps", "2", "--no-write"])
    assert code == 0
    out = capsys.readouterr().out
    assert "clean      ε=0/255" in out
    for attack in ATTACKS:
        assert f"{attack:<10} ε=2/255" in out


def test_the_bundled_card_carries_the_measured_table():
    import json as _json

    pack = __import__("pathlib").Path(__file__).resolve().parents[2] / "models" / "signature-verify"
    m = _json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    rows = m["metrics"]["perturbation"]["rows"]
    assert {r["attack"] for r in rows} == {"clean", *ATTACKS}
    card = (pack / "CARD.md").read_text(encoding="utf-8")
    assert card.count(CARD_BEGIN) == 1 and "| thicken | 2/255 |" in card
