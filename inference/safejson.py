"""Defensive JSON parsing for files that come from strangers (a user pack's manifest).

``json.loads`` accepts ``NaN`` and ``Infinity`` (NaN then passes every minimum/maximum check),
turns ``1e999`` into infinity, raises ``ValueError`` on an integer over 4,300 digits and
``RecursionError`` on deep nesting. Here the nesting depth is counted before the parser sees the
text, and every such number is refused with a message in plain words.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

from inference.errors import TilikError

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str, limit: int) -> int:
    """Deepest bracket nesting of JSON ``text`` outside strings; stops counting past ``limit``."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


class _Refused(ValueError):
    """A value the parser hooks refuse; the message completes "<where> ..."."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"contains {name}, which is not a number a pack may use")


def _parse_int(text: str, max_chars: int) -> int:
    digits = len(text.lstrip("-"))
    if digits > max_chars:
        raise _Refused(f"contains a {digits}-digit integer (at most {max_chars} digits)")
    return int(text)


def _parse_float(text: str, max_chars: int) -> float:
    value = float(text) if len(text) <= max_chars else math.inf
    if not math.isfinite(value):  # 1e999 parses as Infinity
        raise _Refused(f"contains the number {text[:20]}{'…' if len(text) > 20 else ''}, "
                       "which is too large or too long for a pack")
    return value


def parse_json_bytes(data: bytes, where: str, error: type[TilikError], *, max_depth: int = 32,
                     max_number_chars: int = 40) -> Any:
    """Parse UTF-8 JSON ``data`` defensively; raises ``error`` with a message starting ``where``.

    The nesting depth is counted before the parser runs; NaN, Infinity, numbers that overflow to
    infinity and numbers longer than ``max_number_chars`` are refused.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    if nesting_depth(text, max_depth) > max_depth:
        raise error(f"{where} nests more than {max_depth} levels deep; it is not read.")
    try:
        return json.loads(text, parse_constant=_refuse_constant,
                          parse_int=functools.partial(_parse_int, max_chars=max_number_chars),
                          parse_float=functools.partial(_parse_float, max_chars=max_number_chars))
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    except _Refused as exc:
        raise error(f"{where} {exc}.") from None
    except (ValueError, RecursionError) as exc:  # belt and braces: one file must never crash a listing
        raise error(f"{where} could not be parsed ({exc}).") from exc
