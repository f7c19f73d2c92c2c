"""benchmarks/profiles.py writes the seal card's Profiles section between markers, so a rebuild of the
pack (training.pipeline.card.carry_marked_sections) keeps it, and a rerun replaces it in place."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from training.pipeline.card import carry_marked_sections

REPO = Path(__file__).resolve().parents[2]


def _profiles():
    spec = importlib.util.spec_from_file_location("tilik_benchmarks_profiles", REPO / "benchmarks" / "profiles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROWS = ["| set | photos | acc / AUC |", "|---|---|---|", "| **pooled** | 40 | 0.900 / 0.950 |"]


def test_legacy_section_becomes_marked_and_reruns_replace_it(tmp_path):
    prof = _profiles()
    card = tmp_path / "CARD.md"
    card.write_text(f"# pack\n\n## Data\n\nd\n\n{prof.CARD_HEADING}\n\nold text\n\n## What it was NOT tested on\n\nx\n",
                    encoding="utf-8")
    prof.write_card_section(card, ROWS, ["first note\n"])
    text = card.read_text(encoding="utf-8")
    assert "old text" not in text and "first note" in text
    assert text.count(prof.CARD_BEGIN) == 1 and text.count(prof.CARD_END) == 1
    assert text.index(prof.CARD_END) < text.index("## What it was NOT tested on")
    prof.write_card_section(card, ROWS, ["second note\n"])
    text = card.read_text(encoding="utf-8")
    assert "first note" not in text and "second note" in text and text.count(prof.CARD_HEADING) == 1
    # A rebuilt card (no Profiles section of its own) gets it back after the same heading.
    rebuilt = carry_marked_sections(text, "# pack\n\n## Data\n\nnew d\n\n## What it was NOT tested on\n\ny\n")
    assert "second note" in rebuilt and rebuilt.index("new d") < rebuilt.index(prof.CARD_BEGIN) < rebuilt.index("## What it was NOT")


def test_shipped_seal_card_has_one_marked_profiles_section():
    prof = _profiles()
    text = (REPO / "models" / "seal-integrity" / "CARD.md").read_text(encoding="utf-8")
    begin, end = text.find(prof.CARD_BEGIN), text.find(prof.CARD_END)
    assert 0 <= begin < text.find(prof.CARD_HEADING) < end
