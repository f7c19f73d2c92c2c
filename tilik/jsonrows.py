"""``tilik classify --json`` rows: exactly ``json.dumps(row)``, with a faster path for large
probability tables.

An imagenet-lite0 row holds 1,000 probabilities rounded to 6 decimals, 21 of its 22.5 KB; json.dumps
formats each with ``float.__repr__``. Rounded probabilities repeat (a few hundred distinct values per
row, most near zero), so their text is kept per value and each class name's quoted key per pack, and
the table is one join spliced into json.dumps of the rest of the row: 0.27 → 0.17 ms per row (300
real rows, interleaved, medians; benchmarks/PROFILE.md), the same characters (json writes a float
with ``float.__repr__``; tests compare the two on real rows and edge values).
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

import numpy as np

# Below this many classes json.dumps alone is as fast.
_MIN_CLASSES = 64
# Where the probabilities go: a string paths cannot hold (NUL); a row that holds it anyway is
# written by json.dumps alone.
_MARK = "\x00tilik-probabilities\x00"
_MARK_JSON = json.dumps(_MARK)
_KEYS: dict[tuple[str, ...], list[str]] = {}  # class names → '{"name": ' / ', "name": ' 
_TEXT: dict[float, str] = {}  # finite, non-negative probability → its JSON text
_TEXT_LIMIT = 100_000  # at most 10**6 + 1 distinct rounded values exist; keep the table small


def _probabilities_text(probs: dict[str, Any]) -> str | None:
    """The JSON text of a probability table, or None when json.dumps must write it: a value that is
    not a float, not finite (json has its own spelling for those) or negative (-0.0 and 0.0 are one
    cache key but two texts; probabilities are never below zero)."""
    values = list(probs.values())
    if set(map(type, values)) != {float}:
        return None
    arr = np.fromiter(values, np.float64, len(values))
    if not np.isfinite(arr).all() or np.signbit(arr).any():
        return None
    names = tuple(probs)
    keys = _KEYS.get(names)
    if keys is None:
        # "{" and ", " ride on the keys, so the row is one join of alternating keys and values.
        keys = _KEYS[names] = [("{" if i == 0 else ", ") + json.dumps(n) + ": " for i, n in enumerate(names)]
    texts = list(map(_TEXT.get, values))
    if None in texts:
        if len(_TEXT) >= _TEXT_LIMIT:
            _TEXT.clear()
        for i, t in enumerate(texts):
            if t is None:
                texts[i] = _TEXT[values[i]] = repr(values[i])
    return "".join(chain.from_iterable(zip(keys, texts))) + "}"


def json_row(row: dict[str, Any]) -> str:
    """``json.dumps(row)``, character for character."""
    probs = row.get("probabilities")
    if not isinstance(probs, dict) or len(probs) < _MIN_CLASSES:
        return json.dumps(row)
    text = _probabilities_text(probs)
    if text is None:
        return json.dumps(row)
    line = json.dumps({**row, "probabilities": _MARK})
    if line.count(_MARK_JSON) != 1:  # a stranger's label could spell it: then the plain way
        return json.dumps(row)
    return line.replace(_MARK_JSON, text, 1)
