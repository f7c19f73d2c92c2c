"""The number finder on OCR line fixtures: container numbers on one line, two lines, with and
without spaces, a boxed check digit, a bad check digit (flagged, never corrected), the classic
confusions (offered, never applied); and the seal number (longest digit run, labels)."""

from __future__ import annotations

import pytest

from inference.log import iso6346
from inference.ocr.numbers import find_container, find_seal, partial_containers, suggest
from inference.ocr.reader import TextLine


def line(text: str, x: float, y: float, w: float | None = None, h: float = 60, conf: float = 0.97,
         text_end: float = 1.0) -> TextLine:
    w = w if w is not None else 0.6 * h * len(text)
    return TextLine(text, conf, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)), text_end)


VALID = "CSQU3054383"  # the ISO 6346 standard's own example


def test_fixture_number_is_valid():
    assert iso6346.is_valid(VALID)


@pytest.mark.parametrize("text", ["CSQU 305438 3", "CSQU3054383", "CSQU 3054383", "CSQU-305438-3", "CSQU 305438 [3]",
                                  "CSQU 305438 |3|"])
def test_one_line_with_or_without_spaces_and_boxed(text):
    found = find_container([line("42G1", 10, 300), line(text, 100, 100), line("MAX GROSS 30480 KG", 10, 500, h=30)])
    assert (found.number, found.check, found.suggestion) == (VALID, "valid", None)
    assert found.lines == (1,)


def test_two_lines_owner_code_above():
    lines = [line("CSQU", 100, 100), line("305438 3", 100, 180), line("22G1", 100, 260)]
    found = find_container(lines)
    assert (found.number, found.check) == (VALID, "valid")
    assert set(found.lines) == {0, 1}


def test_check_digit_as_a_separate_box_on_the_same_row():
    lines = [line("CSQU 305438", 100, 100), line("3", 560, 102, w=40)]
    found = find_container(lines)
    assert found.number == VALID and found.check == "valid" and set(found.lines) == {0, 1}


def test_box_edge_read_as_a_letter_before_the_boxed_digit():
    # Seen on generated doors: "FSYU 954218E" with the boxed "5" detected on its own.
    lines = [line("CSQU 305438E", 100, 100), line("3", 560, 102, w=40)]
    found = find_container(lines)
    assert (found.number, found.check) == (VALID, "valid")
    # The lone digit's own box is often much smaller than the line's.
    assert find_container([line("CSQU 305438E", 100, 100, h=74), line("3", 640, 116, w=40, h=31)]).number == VALID
    # Without the separate digit nothing is made up: no number (the letter is not a digit).
    assert find_container([line("CSQU 305438E", 100, 100)]) is None


def test_bad_check_digit_is_reported_as_read_never_corrected():
    found = find_container([line("CSQU 305438 4", 100, 100)])
    assert (found.number, found.check, found.expected_digit) == ("CSQU3054384", "bad-check-digit", 3)
    assert found.suggestion is None  # no O/0, I/1, B/8, S/5 confusion explains it


@pytest.mark.parametrize("read,offered", [
    ("CSQU 3O5438 3", VALID),   # letter O where a digit belongs
    ("C5QU 305438 3", VALID),   # digit 5 where the letter S belongs
    ("CSQU 305438 S", None),    # S for the check digit 3? not one of the confusion pairs: nothing offered
])
def test_one_confusion_is_offered_not_applied(read, offered):
    found = find_container([line(read, 100, 100)])
    assert found.number == read.replace(" ", "")  # as read
    assert found.check == "bad-format"
    assert found.suggestion == offered


def test_suggestion_needs_exactly_one_confusion():
    assert suggest("CSQU3O5438S") is None  # two confusions away: nothing offered
    assert suggest("C5QU3054383") == VALID


def test_valid_reading_wins_over_a_wrong_one_elsewhere():
    lines = [line("CSQU 305438 4", 100, 600, h=30), line("CSQU 305438 3", 100, 100)]
    assert find_container(lines).number == VALID


def test_no_container_number():
    assert find_container([line("SEAL No. 0048213", 0, 0), line("22G1", 0, 100)]) is None


def test_boxed_digit_left_out_gives_a_partial_reading():
    parts = partial_containers([line("CSQU 305438", 100, 100)])
    assert [p.first_ten for p in parts] == ["CSQU305438"]
    assert find_container([line("CSQU 305438", 100, 100)]) is None
    # With a zero read for the letter O the partial is still found (as read, to be flagged).
    assert [p.first_ten for p in partial_containers([line("QH0U 635847", 100, 100)])] == ["QH0U635847"]
    assert partial_containers([line("22G1 635847", 100, 100)]) == []


@pytest.mark.parametrize("text,number", [
    ("SEAL No. 0048213", "0048213"), ("SEALNo.0048213", "0048213"), ("SN 76917763", "76917763"),
    ("SN76917763", "76917763"), ("No 848317", "848317"), ("S/N: 123456", "123456"), ("13405232", "13405232"),
    ("SEAL AB123456", "AB123456"),
])
def test_seal_number_labels(text, number):
    assert find_seal([line(text, 0, 0)]).number == number


def test_seal_number_skips_weights_standard_and_container():
    lines = [line("CSQU 305438 3", 0, 0), line("MAX GROSS 30480 KG", 0, 100), line("67196LB", 0, 150),
             line("ISO 17712 H", 0, 300), line("22G1", 0, 200), line("5699280", 0, 400, h=40)]
    container = find_container(lines)
    seal = find_seal(lines, exclude=container.lines)
    assert seal.number == "5699280" and not seal.labelled


def test_labelled_seal_beats_a_longer_bare_run():
    lines = [line("12345678", 0, 0), line("SEAL 004821", 0, 100)]
    found = find_seal(lines)
    assert found.number == "004821" and found.labelled


def test_no_seal_number():
    assert find_seal([line("HANDLE WITH CARE", 0, 0), line("22G1", 0, 100)]) is None
