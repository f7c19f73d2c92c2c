"""The GUI's shape (issue 21): a small window shell, no module over 600 lines, no import cycles,
and the layers contract that `make test` checks through lint-imports."""

from __future__ import annotations

import tomllib
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "gui"


def test_the_window_is_a_shell_and_no_module_is_huge():
    lengths = {p.relative_to(GUI).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in GUI.rglob("*.py")}
    assert lengths["main_window.py"] <= 500
    assert {name: n for name, n in lengths.items() if n > 600} == {}


def test_no_import_cycles_in_gui():
    grimp = __import__("grimp")
    graph = grimp.build_graph("gui")
    cycles = sorted((m, dep) for m in graph.modules for dep in graph.find_modules_directly_imported_by(m)
                    if dep.startswith("gui") and graph.chain_exists(importer=dep, imported=m))
    assert cycles == []


def test_the_layers_contract_covers_gui():
    config = tomllib.loads((GUI.parent / "pyproject.toml").read_text(encoding="utf-8"))
    layered = [c for c in config["tool"]["importlinter"]["contracts"] if c.get("type") == "layers"]
    assert any(c.get("containers") == ["gui"] and "main_window" in c["layers"] for c in layered)
