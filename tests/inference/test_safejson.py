"""Defensive JSON parsing: the limits hold for any caller, and errors use the caller's class."""

from __future__ import annotations

import re

import pytest

from inference.errors import UsageError
from inference.safejson import nesting_depth, parse_json_bytes


def test_depth_is_counted_outside_strings_and_stops_early():
    assert nesting_depth('{"a": [1, {"b": "[[[[\\"]]]]"}]}', 10) == 3
    assert nesting_depth("[" * 200_000, 32) == 33  # stops once past the limit


@pytest.mark.parametrize("text, words", [
    (b"[[[[1]]]]", "nests more than 3 levels"),
    (b"[NaN]", "contains NaN"),
    (b"[12345]", "5-digit integer (at most 4 digits)"),
    (b"[1.5e999]", "too large or too long"),
    (b"[1,", "not valid JSON"),
    (b"\xc3(", "not UTF-8"),
])
def test_limits_are_the_callers_and_so_is_the_error(text, words):
    with pytest.raises(UsageError, match=f"^The file .*{re.escape(words)}"):
        parse_json_bytes(text, "The file", UsageError, max_depth=3, max_number_chars=4)


def test_ordinary_json_parses_unchanged():
    assert parse_json_bytes(b'{"a": [1, 2.5, -3, "x"], "b": null}', "x", UsageError) == {
        "a": [1, 2.5, -3, "x"], "b": None}
