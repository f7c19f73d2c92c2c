"""Reading the container number and the seal number off a photo: the one call the app makes.

``read_numbers(rgb)`` runs the text reader, finds the numbers (:mod:`inference.ocr.numbers`) and
returns a :class:`NumberReading` whose :meth:`~NumberReading.to_json` adds ``container_number``,
``container_check``, ``container_suggestion``, ``seal_number`` and ``text_lines`` to a
``tilik classify --read-numbers --json`` line.

A check digit painted in a box is often left out of the line by the detector (the box's edges do
not look like text). When an owner code and serial are found with nothing after them, the
square just to the right of the serial is read on its own (whole, and without its outer edge
where the box is drawn); a single digit read there is taken as the check digit, and the number
is then checked like any other (never corrected).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.ocr import numbers, recognise
from inference.ocr.reader import ReadText, TextLine, TextReader


@dataclass
class NumberReading:
    """What was read off one photo."""

    container: numbers.ContainerReading | None
    seal: numbers.SealReading | None
    lines: list[TextLine]
    image_size: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    provider: str = ""

    @property
    def container_number(self) -> str | None:
        return self.container.number if self.container else None

    @property
    def container_check(self) -> str | None:
        return self.container.check if self.container else None

    @property
    def seal_number(self) -> str | None:
        return self.seal.number if self.seal else None

    def container_boxes(self) -> list[tuple[tuple[float, float], ...]]:
        return [self.lines[i].box for i in self.container.lines] if self.container else []

    def seal_boxes(self) -> list[tuple[tuple[float, float], ...]]:
        return [self.lines[self.seal.line].box] if self.seal else []

    def to_json(self) -> dict[str, Any]:
        """The fields ``tilik classify --read-numbers --json`` adds to each line."""
        return {
            "container_number": self.container_number,
            "container_check": self.container_check,
            "container_suggestion": self.container.suggestion if self.container else None,
            "seal_number": self.seal_number,
            "text_lines": [ln.to_json() for ln in self.lines],
            "reading_ms": round(self.timings_ms.get("total", 0.0), 1),
        }


# Windows (start after the text's end, width, inset from top and bottom; in line heights) tried
# for a boxed check digit: the box's edges are drawn a little apart from the digit, and the
# detector's box may or may not include them.
# The recogniser places a character at its middle, so the text really ends about half a character
# (~0.3 line heights) after where it says: the windows start beyond that.
_DIGIT_WINDOWS = tuple((start, width, inset) for start in (0.3, 0.5, 0.75, 1.0)
                       for width, inset in ((1.1, 0.0), (0.8, 0.14)))


def _digit_beside(reader: TextReader, rgb: np.ndarray, line: TextLine) -> TextLine | None:
    """Read the squares just right of where ``line``'s text ends (a boxed check digit the line
    left out); a TextLine for the digit with the most confidence summed over the windows, or None."""
    box = np.asarray(line.box, dtype=np.float64)
    along = box[1] - box[0]
    length = np.linalg.norm(along)
    along /= max(1e-6, length)
    down = box[3] - box[0]
    h = np.linalg.norm(down)
    down /= max(1e-6, h)
    end = box[0] + along * length * line.text_end
    quads, crops = [], []
    for start, width, inset in _DIGIT_WINDOWS:
        tl = end + along * start * h + down * inset * h
        tr = tl + along * width * h
        quad = np.array([tl, tr, tr + down * (1 - 2 * inset) * h, tl + down * (1 - 2 * inset) * h], dtype=np.float32)
        if quad[:, 0].max() >= rgb.shape[1] or quad[:, 1].max() >= rgb.shape[0] or quad.min() < 0:
            continue
        quads.append(quad)
        crops.append(recognise.crop_line(rgb, quad))
    votes: dict[str, float] = {}
    where: dict[str, tuple[float, np.ndarray]] = {}
    for quad, (text, conf, _) in zip(quads, reader.recognise(crops)):
        compact = numbers._compact(text)
        if len(compact) == 1 and compact.isdigit() and conf >= 0.6:
            votes[compact] = votes.get(compact, 0.0) + conf
            if conf > where.get(compact, (0.0, quad))[0]:
                where[compact] = (conf, quad)
    if not votes:
        return None
    digit = max(votes, key=lambda d: votes[d])
    conf, quad = where[digit]
    return TextLine(digit, conf, tuple((float(x), float(y)) for x, y in quad))


# Lines are read from a copy whose long side is at least this many pixels: a 12-MP photo is
# box-reduced by 2 (to 2000 x 1500), more than the 1600 x 1200 door photos the accuracy was measured
# on (docs/ocr.md), so its text is no smaller than there; cutting the lines from 12 MP cost more
# than it gained.
WORK_LONG_SIDE = 1600


def work_factor(width: int, height: int) -> int:
    """The integer factor by which a photo of that size is reduced before reading (1: none).
    Also the ``shrink`` given to :func:`inference.imageio.load_image` for a reduced decode."""
    return max(1, max(width, height) // WORK_LONG_SIDE)


def _scaled_line(line: TextLine, sx: float, sy: float) -> TextLine:
    if sx == 1.0 and sy == 1.0:
        return line
    return TextLine(line.text, line.confidence, tuple((x * sx, y * sy) for x, y in line.box), line.text_end)


def read_numbers(rgb: np.ndarray, reader: TextReader | None = None, *,
                 photo_size: tuple[int, int] | None = None) -> NumberReading:
    """Read every text line in ``rgb`` and find the container and seal numbers among them.

    A photo larger than twice :data:`WORK_LONG_SIDE` is box-reduced first. Boxes come back in the
    photo's pixels: ``rgb``'s, or ``photo_size`` (width, height) when ``rgb`` is a reduced decode
    of a larger photo.
    """
    reader = reader or TextReader.shared()
    t_start = time.perf_counter()
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = rgb[:, :, :3]
    photo_w, photo_h = photo_size or (int(rgb.shape[1]), int(rgb.shape[0]))
    factor = work_factor(rgb.shape[1], rgb.shape[0])
    if factor > 1:
        from PIL import Image

        rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).reduce(factor))
    reduce_ms = 1000 * (time.perf_counter() - t_start)
    text: ReadText = reader.read(rgb)
    t0 = time.perf_counter()
    lines = list(text.lines)
    container = numbers.find_container(lines)
    if container is None or container.check == "bad-format":
        for partial in numbers.partial_containers(lines):
            digit = _digit_beside(reader, np.asarray(rgb)[:, :, :3], lines[partial.serial_line])
            if digit is None:
                continue
            lines.append(digit)
            candidate = numbers.reading_of(partial.first_ten + digit.text, partial.lines + (len(lines) - 1,),
                                           min(digit.confidence, min(lines[i].confidence for i in partial.lines)))
            if container is None or candidate.check != "bad-format":
                container = candidate
                break
            lines.pop()
    seal = numbers.find_seal(lines, exclude=container.lines if container else ())
    sx, sy = photo_w / rgb.shape[1], photo_h / rgb.shape[0]
    lines = [_scaled_line(ln, sx, sy) for ln in lines]
    timings = dict(text.timings_ms)
    timings["reduce"] = reduce_ms
    timings["numbers"] = 1000 * (time.perf_counter() - t0)
    timings["total"] = timings.get("total", 0.0) + timings["numbers"] + reduce_ms
    return NumberReading(container, seal, lines, (photo_w, photo_h), timings, text.provider)


def reading_error_json(message: str) -> dict[str, Any]:
    """The fields when reading failed: nothing found, and why."""
    return {"container_number": None, "container_check": None, "container_suggestion": None,
            "seal_number": None, "text_lines": [], "reading_error": message}



def read_numbers_fields(source: Any, *, provider: str | None = None) -> dict[str, Any]:
    """The ``--read-numbers`` fields for one image (path, bytes or RGB array), for the CLI loop.

    A photo that cannot be decoded gives the fields with nothing found and ``reading_error`` in
    words; a missing or altered OCR model raises :class:`~inference.ocr.bundle.OcrUnavailableError`
    (the CLI stops with a usage error: nothing can be read from any photo).
    """
    from inference.errors import TilikError
    from inference.imageio import load_image

    reader = TextReader.shared(provider)
    try:
        # Decoded only as large as reading needs (JPEG DCT scaling): a 12-MP photo at 1/2.
        decoded = load_image(source, shrink=work_factor)
    except TilikError as exc:
        return reading_error_json(str(exc))
    return read_numbers(decoded.rgb, reader, photo_size=decoded.original_size).to_json()
