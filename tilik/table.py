"""Plain-text tables that print each row as soon as it is known.

Column widths are fixed when the table starts (from what is known then, such as the input paths),
so a row never waits for the rows after it: a long run shows its progress line by line, and an
interrupted one (Ctrl-C) leaves every row printed so far on the screen or in the file.
"""

from __future__ import annotations

from typing import Sequence, TextIO


class StreamingTable:
    """Writes the header at once and then one flushed line per :meth:`row`. The last column is
    free width; a first-column value longer than its width keeps its end (``…`` + tail); other
    values wider than their column push the line right rather than being cut."""

    def __init__(self, out: TextIO, headers: Sequence[str], widths: Sequence[int]) -> None:
        self.out = out
        self.widths = [max(int(w), len(h)) for w, h in zip(widths, headers)]
        self.count = 0
        self._write(headers)

    def _write(self, values: Sequence[str]) -> None:
        cells = []
        for i, value in enumerate(values):
            value = "" if value is None else str(value)
            if i == len(values) - 1:
                cells.append(value)
                continue
            width = self.widths[i]
            if i == 0 and len(value) > width:
                value = "…" + value[-(width - 1):]
            cells.append(f"{value:<{width}}")
        self.out.write("  ".join(cells).rstrip() + "\n")
        self.out.flush()

    def row(self, values: Sequence[str]) -> None:
        self.count += 1
        self._write(values)
