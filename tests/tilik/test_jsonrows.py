"""``tilik classify --json`` rows through :func:`tilik.jsonrows.json_row`: the same characters as
``json.dumps`` (a 1,000-class row is written by a faster path for its probability table)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from tilik.cli import main
from tilik.jsonrows import _MARK, _MIN_CLASSES, json_row

REPO = Path(__file__).resolve().parents[2]


def _row(probs: dict, **extra) -> dict:
    return {"path": "a/b.jpg", "label": "x", "confidence": 0.5, "probabilities": probs,
            "top_k": [{"class": "x", "probability": 0.5}], "image_size": [4000, 3000], **extra}


def test_same_text_as_json_dumps_on_rounded_probabilities():
    rng = np.random.default_rng(28)
    names = [f"n{i:08d}" for i in range(1000)]
    for scale in (1.0, 1e-3, 1e-6, 1e-9):
        p = rng.dirichlet(np.full(1000, 0.05)) * scale
        probs = dict(zip(names, np.round(p, 6).tolist()))
        for _ in range(2):  # the second time from the cached texts
            row = _row(probs)
            assert json_row(row) == json.dumps(row)


def test_same_text_on_edge_values_and_names():
    names = [f"class {i}" for i in range(_MIN_CLASSES + 6)]
    names[:6] = ['quote "q"', "back\\slash", "ünïcode ✓", "tab\tname", "new\nline", "\x00nul"]
    values = [0.0, -0.0, 1.0, 1e-06, 5e-324, 0.1 + 0.2, 1e300, 123456.789]
    probs = {n: values[i % len(values)] for i, n in enumerate(names)}
    row = _row(probs, review_reasons=["ü", 'say "hi"'])
    assert json_row(row) == json.dumps(row)
    assert json_row(_row({**probs, "zero": -0.0, "zero2": 0.0})) == json.dumps(_row({**probs, "zero": -0.0, "zero2": 0.0}))


def test_values_json_spells_its_own_way_fall_back():
    names = [f"c{i}" for i in range(_MIN_CLASSES)]
    for odd in (math.nan, math.inf, -math.inf, 1, True, None, "0.5"):
        probs = dict.fromkeys(names, 0.25)
        probs["c3"] = odd
        row = _row(probs)
        assert json_row(row) == json.dumps(row)


def test_a_row_that_holds_the_marker_elsewhere_is_written_plainly():
    probs = dict.fromkeys((f"c{i}" for i in range(_MIN_CLASSES)), 0.125)
    row = _row(probs, label=_MARK, verdict='"' + _MARK)
    assert json_row(row) == json.dumps(row)
    small = _row({"a": 0.25, "b": 0.75})  # few classes: json.dumps itself
    assert json_row(small) == json.dumps(small)


def test_imagenet_rows_from_the_cli_are_json_dumps_of_themselves():
    """The bundled 1,000-class pack on its own sample photos, through the real command."""
    out = io.StringIO()
    assert main(["classify", "--pack", "imagenet-lite0", "--json", str(REPO / "resources" / "samples" / "imagenet-lite0")],
                out=out) == 0
    lines = [line for line in out.getvalue().splitlines() if line.startswith("{")]
    assert len(lines) >= 6
    for line in lines:
        row = json.loads(line)
        assert len(row["probabilities"]) == 1000
        assert json.dumps(row) == line  # floats and strings round-trip: the line is json.dumps(row)
