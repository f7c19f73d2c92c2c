"""ISO 6346 freight-container numbers: normalisation and the check digit.

A container number is a three-letter owner code, a category identifier (``U`` freight container,
``J`` detachable equipment, ``Z`` trailer or chassis), a six-digit serial number and a check digit,
e.g. ``CSQU 305438 3``. The check digit catches almost every single typo and transposition, which
is exactly the mistake an operator makes when copying a number off a container door, so the log
asks the operator to look again before it stores a number whose digit does not add up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Letters take the values 10..38 skipping the multiples of 11 (11, 22, 33), as the standard says.
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1
del _value, _letter

_FORMAT = re.compile(r"^[A-Z]{3}[UJZ][0-9]{6}[0-9]$")
_SEPARATORS = re.compile(r"[\s\-./]+")

VALID = "valid"
BAD_CHECK_DIGIT = "bad-check-digit"
BAD_FORMAT = "bad-format"


def normalize(number: str) -> str:
    """Upper-case and drop the spaces, dashes, dots and slashes people write between the parts."""
    return _SEPARATORS.sub("", number or "").upper()


def check_digit(first_ten: str) -> int:
    """The check digit for an owner code + category + serial (10 characters, already normalised).

    Each character's value is multiplied by 2**position, the sum taken modulo 11, and a remainder
    of 10 is written as 0.
    """
    if len(first_ten) != 10:
        raise ValueError(f"expected 10 characters, got {len(first_ten)}")
    total = 0
    for position, char in enumerate(first_ten):
        value = _LETTER_VALUES[char] if char.isalpha() else int(char)
        total += value << position
    return total % 11 % 10


@dataclass(frozen=True)
class ContainerCheck:
    """The outcome of checking one container number."""

    number: str  # normalised
    status: str  # VALID, BAD_CHECK_DIGIT or BAD_FORMAT
    expected_digit: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def explain(self) -> str:
        """A sentence an operator can act on."""
        if self.status == VALID:
            return f"Container number {self.number} is valid."
        if self.status == BAD_CHECK_DIGIT:
            return (f"Container number {self.number} does not add up: its last digit should be "
                    f"{self.expected_digit}, not {self.number[-1]}. Check the number on the container "
                    "door; if it really is written this way, confirm it to store it anyway.")
        return (f"'{self.number}' is not an ISO 6346 container number (three letters, then U, J or Z, "
                "then seven digits, e.g. CSQU 305438 3). Check it; if it really is written this way, "
                "confirm it to store it anyway.")


def validate(number: str) -> ContainerCheck:
    """Normalise ``number`` and check its format and check digit."""
    norm = normalize(number)
    if not _FORMAT.match(norm):
        return ContainerCheck(norm, BAD_FORMAT)
    expected = check_digit(norm[:10])
    if int(norm[10]) != expected:
        return ContainerCheck(norm, BAD_CHECK_DIGIT, expected)
    return ContainerCheck(norm, VALID, expected)


def is_valid(number: str) -> bool:
    """True when ``number`` is a well-formed container number with the right check digit."""
    return validate(number).ok


def format_number(number: str) -> str:
    """``CSQU3054383`` → ``CSQU 305438 3`` (the way it is painted on the door); others unchanged."""
    norm = normalize(number)
    if _FORMAT.match(norm):
        return f"{norm[:4]} {norm[4:10]} {norm[10]}"
    return number
