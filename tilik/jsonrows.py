"""``tilik classify --json`` rows: exactly ``json.dumps(row)``, with a faster path for large
probability tables.

An imagenet-lite0 row holds 1,000 probabilities rounded to 6 decimals; ``json.dumps`` spent
0.38 ms per row formatting them (``float.__repr__`` for each), 3% of a 224-px image's whole
classification. Rounded probabilities repeat a lot (a few hundred distinct values in a row, most
near zero), so their text is kept per value, and each class name's quoted key per pack: 0.14 ms per
row, the same characters (``json`` writes a float with ``float.__repr__``; a test compares the two
on real rows and edge values).
"""

from __future__ import annotations

import json
import math
from typing import Any

# Below this many classes json.dumps alone is as fast.
_MIN_CLASSES = 64
# Where the probabilities go: a string paths cannot hold (NUL); a row that holds it anyway is
# written by json.dumps alone.
_MARK = "\x00tilik-probabilities\x00"
_MARK_JSON = json.dumps(_MARK)
_KEYS: dict[tuple[str, ...], list[str]] = {}  # class names → their quoted keys with ": "
_TEXT: dict[float, str] = {}  # positive finite probability → its JSON text
_TEXT_LIMIT = 100_000  # at most 10**6 + 1 distinct rounded values exist; keep the table small


def _float_text(v: float) -> str:
    if not v > 0.0:  # 0.0 and -0.0 are one dict key but two texts; NaN is never cached
        return repr(v)
    s = _TEXT.get(v)
    if s is None:
        if len(_TEXT) >= _TEXT_LIMIT:
            _TEXT.clear()
        s = _TEXT[v] = repr(v)
    return s


def _probabilities_text(probs: dict[str, Any]) -> str | None:
    """The JSON text of a probability table, or None when json.dumps must write it (a value that
    is not a finite float: json.dumps has its own spelling for those)."""
    values = list(probs.values())
    if not all(type(v) is float and math.isfinite(v) for v in values):
        return None
    names = tuple(probs)
    keys = _KEYS.get(names)
    if keys is None:
        keys = _KEYS[names] = [json.dumps(n) + ": " for n in names]
    return "{" + ", ".join([k + _float_text(v) for k, v in zip(keys, values)]) + "}"


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
