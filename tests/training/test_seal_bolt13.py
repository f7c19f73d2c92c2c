"""Generator 1.3's bolt seals (``bolt13``, training/seals/bolt13.py): every tamper variant renders as a
local edit inside its mask, the option changes bolt seals only, and datasets record it; the measured,
not shipped, seal-integrity 1.4.0 recipe that trains on them still validates and keeps the bundled
recipe's hold-outs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.seals.bolt13 import VARIANTS
from training.seals.generator import GENERATOR_VERSION, generate_dataset, render_sample

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def _pair(seed: int, defect: str, size: int = 128, background: str = "steel_door_grey", bolt13: bool = True):
    intact, _, _ = render_sample(np.random.default_rng(seed), "intact", "bolt", None, background, "overcast", size,
                                 bolt13=bolt13)
    damaged, mask, meta = render_sample(np.random.default_rng(seed), "damaged", "bolt", defect, background,
                                        "overcast", size, bolt13=bolt13)
    return intact, damaged, mask, meta


@pytest.mark.parametrize("defect", sorted(VARIANTS))
def test_every_variant_is_a_visible_local_edit_inside_its_mask(defect):
    seen: set[str] = set()
    for seed in range(60):
        intact, damaged, mask, meta = _pair(seed, defect)
        variant = meta["variant"]
        assert variant in VARIANTS[defect] and meta["defect"] == defect
        if variant in seen:
            continue
        seen.add(variant)
        changed = np.abs(intact.astype(int) - damaged.astype(int)).max(axis=2) > 48
        assert changed.sum() >= 3, f"{defect}/{variant} must be visible"
        near = cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0
        assert (changed & near).sum() / changed.sum() > 0.85, f"{defect}/{variant} changed pixels off its mask"
        assert 0 < (mask > 0).sum() < 0.3 * mask.size
        if seen == set(VARIANTS[defect]):
            break
    assert seen == set(VARIANTS[defect])


def test_bolt13_changes_bolt_seals_only():
    for family in ("plastic_strip", "cable", "adhesive_label", "plastic_padlock"):
        a, _, _ = render_sample(np.random.default_rng(3), "intact", family, None, "hasp_grey", "daylight", 96)
        b, _, _ = render_sample(np.random.default_rng(3), "intact", family, None, "hasp_grey", "daylight", 96,
                                bolt13=True)
        assert np.array_equal(a, b), family
    a, _, meta_a = render_sample(np.random.default_rng(3), "intact", "bolt", None, "hasp_grey", "daylight", 96)
    b, _, meta_b = render_sample(np.random.default_rng(3), "intact", "bolt", None, "hasp_grey", "daylight", 96,
                                 bolt13=True)
    assert not np.array_equal(a, b)
    # the 1.2 plan's draws are untouched (its own stream), so the serial stays the scene's
    assert meta_a["serial"] == meta_b["serial"]
    assert "variant" not in meta_a and "variant" not in meta_b


def test_bolt13_dataset_is_deterministic_and_recorded(tmp_path):
    rows = generate_dataset(tmp_path / "a", 8, seed=11, size=64, families="bolt", paired=True, bolt13=True)
    generate_dataset(tmp_path / "b", 8, seed=11, size=64, families="bolt", paired=True, bolt13=True)
    for r in rows:
        assert (tmp_path / "a" / r["file"]).read_bytes() == (tmp_path / "b" / r["file"]).read_bytes()
    params = json.loads((tmp_path / "a" / "generator.json").read_text())
    assert params["bolt13"] is True and params["version"] == GENERATOR_VERSION == "1.3"


def test_the_1_4_0_candidate_config_validates_and_keeps_the_bundled_hold_outs():
    from training.pipeline.config import data_sources, load_config, load_typed_config

    bundled = load_config(CONFIGS / "seal-integrity.yaml")
    cand = load_config(CONFIGS / "seal-integrity-1.4.0-candidate.yaml")
    assert load_typed_config(CONFIGS / "seal-integrity-1.4.0-candidate.yaml").version == "1.4.0"
    # the bundled recipe is 1.3.0's: generator 1.2 bolt seals, trained from ImageNet weights
    assert bundled["version"] == "1.3.0" and not bundled["data"]["generate"].get("bolt13")
    assert bundled["backbone"]["init_from"] is None
    # the candidate: generator 1.3 bolt seals on every side, a bolt-only extra render, 1.3.0's run as start
    gen, test_gen = cand["data"]["generate"], cand["test_data"]["generate"]
    bolt = cand["extra_data"][0]["generate"]
    assert cand["id"] == bundled["id"] and cand["backbone"]["init_from"] == "runs/seal-integrity"
    assert gen["bolt13"] is True and test_gen["bolt13"] is True and bolt["bolt13"] is True
    assert bolt["families"] == ["bolt"]
    assert len({gen["seed"], test_gen["seed"], bolt["seed"], bundled["data"]["generate"]["seed"],
                bundled["test_data"]["generate"]["seed"]}) == 5
    for block in (gen, bolt):
        assert set(block["backgrounds"]) == set(bundled["data"]["generate"]["backgrounds"])
        assert set(block["lighting"]) == set(bundled["data"]["generate"]["lighting"])
    assert "backgrounds" not in test_gen and "lighting" not in test_gen
    assert [(n, h) for n, _, h in data_sources(cand)] == [("data", "none"), ("extra", "none"), ("test_data", "all")]
    # its renders never land in the bundled recipe's folders
    paths = {cand["data"]["csv"], cand["test_data"]["csv"], cand["extra_data"][0]["csv"]}
    assert not paths & {bundled["data"]["csv"], bundled["test_data"]["csv"]}
