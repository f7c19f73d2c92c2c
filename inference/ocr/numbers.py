"""Finding the container number and the seal number among the text lines read off a photo.

Container number (ISO 6346): owner code (3 letters + U, J or Z), 6-digit serial, check digit —
painted on one line, or on two (owner code above the serial), with or without spaces, the check
digit often in a box (a detector may leave a boxed digit out of the line: see
:func:`partial_containers` and :mod:`inference.ocr.reading`).

Never silently corrected: the number is reported exactly as read, with its ISO 6346 status from
:mod:`inference.log.iso6346` (``valid``, ``bad-check-digit``, ``bad-format``). When it does not
pass and exactly one classic OCR confusion (O/0, I/1, B/8, S/5) at one position turns it into a
valid number, that reading is *offered* as ``suggestion``; it is never applied.

Seal number: the longest run of digits on a line that is not the container number, not a weight
(MAX GROSS / TARE / KG / LB) and not the seal standard (ISO 17712); a line starting with a seal
label (SEAL, SEAL No., SN, S/N, No, N°, #) wins over a longer bare run. Reported as printed
(letters fused to the digits kept), without the label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from inference.log import iso6346
from inference.ocr.reader import TextLine

CONFUSIONS = (("O", "0"), ("I", "1"), ("B", "8"), ("S", "5"))
_TO_DIGIT = {a: b for a, b in CONFUSIONS}
_TO_LETTER = {b: a for a, b in CONFUSIONS}
# Characters an OCR reads for the edges of a box drawn round the check digit.
_BOX_EDGES = re.compile(r"[\[\]|(){}]")
_SEAL_LABEL = re.compile(r"^(?:SEAL\s*(?:N[O0°º]\.?|NUMBER|#)?|S\s*/?\s*N\.?|N[O0°º]\.?|#)\s*[:.#-]?\s*")
_WEIGHT = re.compile(r"\d\s*(?:KGS?|LBS?|CU\.?\s*M|M3|FT)\b|GROSS|TARE|PAYLOAD|NET\b|\bMAX\b|CUBE")
_STANDARD = re.compile(r"IS[O0]\s*[-:]?\s*17712|PAS\s*8")
_WELL_FORMED = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")  # ISO 6346's format (the check digit aside)


@dataclass(frozen=True)
class ContainerReading:
    """A container number found in the text lines, as read (never corrected)."""

    number: str  # 11 characters as read, no spaces
    check: str  # iso6346.VALID, BAD_CHECK_DIGIT or BAD_FORMAT
    expected_digit: int | None
    suggestion: str | None  # a valid reading one OCR confusion away; offered, not applied
    lines: tuple[int, ...]  # indexes (into the lines given) it was read from
    confidence: float


@dataclass(frozen=True)
class SealReading:
    number: str
    line: int
    confidence: float
    labelled: bool  # the line carried a seal label (SEAL, SN, No ...)


@dataclass(frozen=True)
class PartialContainer:
    """Owner code + serial found with no check digit after it (a boxed digit the detector missed)."""

    first_ten: str
    lines: tuple[int, ...]
    serial_line: int  # the line whose right end the check digit should follow


def _compact(text: str) -> str:
    return "".join(ch for ch in _BOX_EDGES.sub(" ", text.upper()) if ch.isalnum())


def _loose_letter(ch: str) -> bool:
    return ch.isalpha() or ch in _TO_LETTER


def _loose_digit(ch: str) -> bool:
    return ch.isdigit() or ch in _TO_DIGIT


def _loose_first_ten(window: str) -> bool:
    return (len(window) >= 10 and all(_loose_letter(c) for c in window[:3]) and window[3] in "UJZ"
            and all(_loose_digit(c) for c in window[4:10]))


def suggest(number: str) -> str | None:
    """The only valid number one confusion (O/0, I/1, B/8, S/5) away from ``number``, or None."""
    found = set()
    for i, ch in enumerate(number):
        for a, b in CONFUSIONS:
            other = b if ch == a else a if ch == b else None
            if other is None:
                continue
            candidate = number[:i] + other + number[i + 1:]
            if iso6346.is_valid(candidate):
                found.add(candidate)
    return found.pop() if len(found) == 1 else None


def reading_of(number: str, lines: tuple[int, ...], confidence: float) -> ContainerReading:
    """Check ``number`` (as read) and wrap it with its status and any offered reading."""
    check = iso6346.validate(number)
    suggestion = None if check.ok else suggest(check.number)
    return ContainerReading(check.number, check.status, check.expected_digit, suggestion, lines, confidence)


# -- grouping lines: the same row, or one above the other -------------------------------------------
def _same_row(a: TextLine, b: TextLine) -> bool:
    ha, hb = a.height, b.height
    # A lone character (a boxed check digit detected on its own) gets a tighter box than a line.
    single = len(_compact(a.text)) == 1 or len(_compact(b.text)) == 1
    if max(ha, hb) > (2.6 if single else 1.7) * min(ha, hb):
        return False
    (ax, ay), (bx, by) = a.centre, b.centre
    if abs(ay - by) > 0.5 * max(ha, hb):
        return False
    a0, _, a1, _ = a.bounds()
    b0, _, b1, _ = b.bounds()
    gap = max(b0 - a1, a0 - b1)
    return gap < 2.0 * max(ha, hb)


def _stacked(top: TextLine, below: TextLine) -> bool:
    ht, hb = top.height, below.height
    if max(ht, hb) > 1.7 * min(ht, hb):
        return False
    t0, ty0, t1, ty1 = top.bounds()
    b0, by0, b1, by1 = below.bounds()
    if below.centre[1] <= top.centre[1] + 0.5 * ht:
        return False
    if by0 - ty1 > 1.3 * max(ht, hb):
        return False
    return abs(t0 - b0) < 1.5 * max(ht, hb) or (min(t1, b1) - max(t0, b0)) > 0.3 * min(t1 - t0, b1 - b0)


def _rows(lines: Sequence[TextLine]) -> list[tuple[int, ...]]:
    """Lines on the same row (left to right), as index tuples; every line is in one row."""
    rows: list[list[int]] = []
    for i in sorted(range(len(lines)), key=lambda k: lines[k].bounds()[0]):
        for row in rows:
            if _same_row(lines[row[-1]], lines[i]):
                row.append(i)
                break
        else:
            rows.append([i])
    return [tuple(r) for r in rows]


def _candidates(lines: Sequence[TextLine]) -> list[tuple[int, ...]]:
    """Line groups that may hold a container number: single lines, rows, prefixes of rows, and
    two rows stacked (owner code above the serial)."""
    rows = _rows(lines)
    groups: set[tuple[int, ...]] = {(i,) for i in range(len(lines))}
    for row in rows:
        for end in range(2, len(row) + 1):
            for start in range(0, end - 1):
                groups.add(row[start:end])
    for top in rows:
        # Two-line layout: the owner code (4 characters) alone on the upper line.
        if len(_compact(lines[top[-1]].text)) != 4:
            continue
        for below in rows:
            for first in range(len(below)):
                if top is not below and _stacked(lines[top[-1]], lines[below[first]]):
                    for end in range(first + 1, len(below) + 1):
                        groups.add(top[-1:] + below[first:end])
    return sorted(groups, key=lambda g: (len(g), g))


def _windows(lines: Sequence[TextLine], group: tuple[int, ...]) -> list[tuple[str, bool]]:
    """(window, ends_there) for each token start in the group's text: ``window`` is up to 11
    characters from there; ``ends_there`` is True when nothing alphanumeric follows the 10th."""
    tokens: list[str] = []
    for i in group:
        tokens.extend(t for t in (_compact(part) for part in re.split(r"[\s\-./,:]+", _BOX_EDGES.sub(" ", lines[i].text)))
                      if t)
    for k in range(len(tokens) - 1):
        # The left edge of a box round the check digit read as a letter stuck to the serial
        # ("954218E", then "5" on its own): that letter is the box, not a character of the number.
        if re.fullmatch(r"(?:[A-Z0-9]{4})?\d{6}[A-Z]", tokens[k]) and re.fullmatch(r"\d", tokens[k + 1]):
            tokens[k] = tokens[k][:-1]
    text = "".join(tokens)
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t)
    return [(text[p:p + 11], p + 10 == len(text)) for p in starts]


def _confidence(lines: Sequence[TextLine], group: tuple[int, ...]) -> float:
    return min(lines[i].confidence for i in group)


def find_container(lines: Sequence[TextLine]) -> ContainerReading | None:
    """The best container number among ``lines``: a valid one first, then one in the right format
    with a bad check digit, then a malformed one with confusable characters; ties go to the
    reading from fewer lines, then to the more confident one. None when nothing looks like one."""
    best: tuple[tuple[float, ...], ContainerReading] | None = None
    rank = {iso6346.VALID: 3, iso6346.BAD_CHECK_DIGIT: 2, iso6346.BAD_FORMAT: 1}
    for group in _candidates(lines):
        for window, _ in _windows(lines, group):
            if len(window) < 11 or not _loose_first_ten(window) or not _loose_digit(window[10]):
                continue
            reading = reading_of(window, group, _confidence(lines, group))
            key = (rank[reading.check], reading.suggestion is not None, -len(group), reading.confidence)
            if best is None or key > best[0]:
                best = (key, reading)
    return best[1] if best else None


def partial_containers(lines: Sequence[TextLine]) -> list[PartialContainer]:
    """Owner code + serial with nothing after them: where a boxed check digit was probably left
    out by the detector. Their first ten characters are in the format, or one of the confusable
    characters away from it (the number is then reported ``bad-format``, never corrected)."""
    out: dict[str, PartialContainer] = {}
    for group in _candidates(lines):
        for window, ends_there in _windows(lines, group):
            if len(window) == 10 and ends_there and _loose_first_ten(window):
                out.setdefault(window, PartialContainer(window, group, group[-1]))
    return list(out.values())


def find_seal(lines: Sequence[TextLine], exclude: Sequence[int] = ()) -> SealReading | None:
    """The seal number: see the module docstring. ``exclude``: lines holding the container number."""
    best: tuple[tuple[float, ...], SealReading] | None = None
    for i, line in enumerate(lines):
        if i in exclude:
            continue
        text = " ".join(line.text.upper().split())
        if _WEIGHT.search(text):
            continue
        text = _STANDARD.sub(" ", text).strip()
        label = _SEAL_LABEL.match(text)
        labelled = bool(label and label.group(0).strip())
        rest = text[label.end():] if labelled else text
        for token in re.findall(r"[A-Z0-9]+", rest):
            digits = max((len(run) for run in re.findall(r"\d+", token)), default=0)
            if digits < 4 or _loose_first_ten(token) or re.fullmatch(r"\d{2}[A-Z]\d", token):
                continue
            if _WELL_FORMED.match(token[:11]) or re.fullmatch(r"[A-Z]{3}[UJZ]\d{6,7}", token):
                continue  # a container number (or most of one) on another line
            key = (float(labelled), float(digits), line.confidence)
            reading = SealReading(token, i, line.confidence, labelled)
            if best is None or key > best[0]:
                best = (key, reading)
    return best[1] if best else None
