"""The marked sections of a pack's CARD.md (written by other commands between ``<!-- x:begin -->``
and ``<!-- x:end -->``) survive the card being written again: training/pipeline/card.py."""

from __future__ import annotations

import re

import pytest

from training.pipeline.card import carry_marked_sections, marked_sections
from training.pipeline.config import REPO_ROOT

GENERATED = "# pack: title\n\nIntro.\n\n## Results (n = 1000)\n\nR.\n\n## Data\n\nD.\n\n## Reproduce\n\n```\nx\n```\n"


def _block(name: str, body: str = "Body.") -> str:
    return f"<!-- {name}:begin -->\n## {name.title()}\n\n{body}\n<!-- {name}:end -->"


def test_sections_are_found_with_the_heading_they_follow():
    text = (f"# t\n\n{_block('top')}\n\n## One\n\nx\n\n{_block('a')}\n\n{_block('b')}\n\n## Two\n\n"
            "<!-- broken:begin -->\nno end marker\n")
    assert [(n, a) for n, _, a in marked_sections(text)] == [("top", None), ("a", "One"), ("b", "One")]
    assert marked_sections(text)[1][1] == _block("a")  # the headings inside a block are not anchors


def test_each_section_goes_back_after_its_heading_in_order():
    old = GENERATED.replace("## Data", f"{_block('study')}\n\n{_block('second')}\n\n## Data")
    old = old.replace("## Results", f"{_block('top')}\n\n## Results") + f"\n## Gone\n\n{_block('guard')}\n"
    new = carry_marked_sections(old, GENERATED)
    for name in ("top", "study", "second", "guard"):
        assert new.count(_block(name)) == 1, name
    order = [new.index(x) for x in ("Intro.", _block("top"), "## Results", "R.", _block("study"), _block("second"),
                                    "## Data", "## Reproduce")]
    assert order == sorted(order)
    assert new.rstrip().endswith(_block("guard"))  # its heading is not in the new card: at the end
    assert carry_marked_sections(old, new) == new  # nothing twice


def test_a_heading_whose_numbers_changed_still_anchors():
    old = GENERATED.replace("(n = 1000)", "(n = 1,207)").replace("## Data", _block("x") + "\n\n## Data")
    new = carry_marked_sections(old, GENERATED)
    assert new.index("R.") < new.index(_block("x")) < new.index("## Data")


def test_a_section_the_new_card_already_has_is_not_taken_from_the_old_one():
    old = GENERATED + "\n" + _block("guard", "old numbers") + "\n"
    fresh = GENERATED + "\n" + _block("guard", "new numbers") + "\n"
    assert carry_marked_sections(old, fresh) == fresh
    assert carry_marked_sections(GENERATED, GENERATED) == GENERATED


@pytest.mark.parametrize("pack", ["seal-integrity", "skin-ham7", "signature-verify", "imagenet-lite0"])
def test_the_shipped_cards_come_back_whole(pack):
    """Each bundled card without its marked sections, carried again, is the card (up to blank lines)."""
    path = REPO_ROOT / "models" / pack / "CARD.md"
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    card = path.read_text(encoding="utf-8")
    sections = marked_sections(card)
    assert sections, "the shipped card has marked sections"
    stripped = card
    for _, block, _ in sections:
        stripped = stripped.replace(block, "")
    blank = re.compile(r"\n{2,}")
    assert blank.sub("\n\n", carry_marked_sections(card, stripped)).strip() == blank.sub("\n\n", card).strip()


def test_reproduce_lists_the_after_export_steps_only_when_the_config_has_them():
    from training.pipeline.card import reproduce_lines
    from training.pipeline.config import load_config
    from training.pipeline.config_types import ConfigTypeError, TrainingConfig

    manifest = {"training": {"built_by": "python -m training train training/configs/x.yaml --export"}}
    cfg = {"id": "x", "_path_rel": "training/configs/x.yaml", "card": {"after_export": []}}
    plain = reproduce_lines(cfg, manifest)
    assert plain == [manifest["training"]["built_by"], "# or in two steps:",
                     "python -m training train training/configs/x.yaml --out runs/x", "python -m training export runs/x"]
    cfg["card"]["after_export"] = ["python -m training guard --pack x", "python -m  training.guard.squeeze_study\n  apply"]
    lines = reproduce_lines(cfg, manifest)
    assert lines[:4] == plain and lines[-2:] == ["python -m training guard --pack x",
                                                 "python -m training.guard.squeeze_study apply"]
    # skin-ham7's config says how its shipped guard is made; a wrong type names the key
    ham7 = load_config(REPO_ROOT / "training" / "configs" / "skin-ham7.yaml")
    steps = TrainingConfig.from_dict(ham7).card.after_export
    assert steps[0].startswith("python -m training guard --pack skin-ham7") and "--version 1.2.1" in steps[-1]
    ham7["card"]["after_export"] = "guard"
    with pytest.raises(ConfigTypeError, match="card.after_export"):
        TrainingConfig.from_dict(ham7)
