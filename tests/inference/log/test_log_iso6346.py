"""ISO 6346 container numbers: published examples, a hand-worked check digit, and typos."""

from __future__ import annotations

import pytest

from inference.log import iso6346


@pytest.mark.parametrize("number", [
    "CSQU3054383",      # the standard's worked example (Wikipedia, ISO 6346)
    "CSQU 305438 3",    # as painted on the door
    "csqu-305438-3",    # typed in a hurry
    "BICU1234565",      # BIC's own example
    "MSKU9070323",
    "TOLU4734787",
    "ABCU1000080",      # remainder 10 is written as check digit 0
])
def test_valid_numbers(number):
    assert iso6346.is_valid(number)


def test_check_digit_worked_by_hand():
    # C=13 S=30 Q=28 U=32, weights 2**0..2**9:
    # 13 + 60 + 112 + 256 + 3*16 + 0*32 + 5*64 + 4*128 + 3*256 + 8*512 = 6185; 6185 mod 11 = 3
    assert iso6346.check_digit("CSQU305438") == 3
    assert iso6346.check_digit("ABCU100008") == 0  # sum mod 11 == 10 → 0


@pytest.mark.parametrize("number, status", [
    ("CSQU3054384", iso6346.BAD_CHECK_DIGIT),   # wrong last digit
    ("CSQU3045383", iso6346.BAD_CHECK_DIGIT),   # two digits swapped
    ("CSQU305438", iso6346.BAD_FORMAT),         # digit missing
    ("CSQX3054383", iso6346.BAD_FORMAT),        # category must be U, J or Z
    ("C5QU3054383", iso6346.BAD_FORMAT),        # a digit where a letter belongs
    ("", iso6346.BAD_FORMAT),
])
def test_invalid_numbers(number, status):
    check = iso6346.validate(number)
    assert check.status == status and not check.ok
    assert "container" in check.explain().lower() or "iso 6346" in check.explain().lower()


def test_explanation_names_the_expected_digit_and_format():
    check = iso6346.validate("CSQU3054384")
    assert check.expected_digit == 3 and "should be 3" in check.explain()
    assert iso6346.format_number("csqu3054383") == "CSQU 305438 3"
