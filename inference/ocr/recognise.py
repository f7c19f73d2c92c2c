"""Text recognition: cut each detected line out of the photo, straighten it, read it.

A line is cut from the full-resolution photo (the detector only saw a small copy) with a
perspective transform of its four corners (Pillow's QUAD transform), scaled to the recogniser's
48-pixel height, and read by the PP-OCRv4 recogniser, whose output is decoded greedily (CTC:
best character per column, repeats merged, blanks dropped). The optional angle classifier turns
lines that are upside down.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

REC_HEIGHT = 48
REC_MIN_WIDTH = 320  # PP-OCR pads every batch to at least 48 x 320
CLS_SIZE = (192, 48)
CLS_THRESHOLD = 0.9
# Containers and seals carry Latin capitals, digits and a little punctuation. Reading only those
# keeps the Chinese-and-Latin recogniser from answering a lookalike CJK glyph for a worn "O" or "1".
LATIN = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./:#()[]|°, ")


def crop_line(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The line inside ``box`` (TL, TR, BR, BL photo pixels), straightened, at most 48 px high
    (taller lines are shrunk with a proper filter, not point-sampled), RGB uint8."""
    width = max(np.linalg.norm(box[1] - box[0]), np.linalg.norm(box[2] - box[3]))
    height = max(np.linalg.norm(box[3] - box[0]), np.linalg.norm(box[2] - box[1]))
    out_w, out_h = max(1, int(round(width))), max(1, int(round(height)))
    x0 = max(0, int(math.floor(box[:, 0].min())))
    y0 = max(0, int(math.floor(box[:, 1].min())))
    x1 = min(rgb.shape[1], int(math.ceil(box[:, 0].max())) + 1)
    y1 = min(rgb.shape[0], int(math.ceil(box[:, 1].max())) + 1)
    region = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    local = box - np.array([x0, y0], dtype=np.float32)
    # Shrink big regions first (box filter, keeping at least 96 px of line height), so the quad
    # sampling, which does not filter, maps pixels about one to one.
    factor = max(1, int(height // (2 * REC_HEIGHT)))
    if factor > 1:
        region = region.reduce(factor)
        local = local / factor
        out_w, out_h = max(1, out_w // factor), max(1, out_h // factor)
    quad = (local[0][0], local[0][1], local[3][0], local[3][1], local[2][0], local[2][1], local[1][0], local[1][1])
    line = region.transform((out_w, out_h), Image.Transform.QUAD, quad, resample=Image.Resampling.BILINEAR)
    out = np.asarray(line)
    if out.shape[0] >= 1.5 * out.shape[1]:
        out = np.rot90(out)  # a vertical line: read it turned (PP-OCR does the same)
    return np.ascontiguousarray(out)


def _normalise(line: np.ndarray, height: int, width: int, max_width: int) -> np.ndarray:
    """(3, height, max_width) float32, BGR, [-1, 1], the line left-aligned and zero-padded."""
    h, w = line.shape[:2]
    new_w = min(width, max(1, int(math.ceil(height * w / h))))
    resized = np.asarray(Image.fromarray(line).resize((new_w, height), Image.Resampling.BILINEAR), dtype=np.float32)
    out = np.zeros((3, height, max_width), dtype=np.float32)
    out[:, :, :new_w] = (resized[:, :, ::-1] * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)
    return out


class CtcDecoder:
    """Greedy CTC decoding with PP-OCR's layout: index 0 blank, then the dictionary, then a space."""

    def __init__(self, characters: list[str], allowed: set[str] | None = LATIN) -> None:
        self.characters = ["\x00"] + list(characters) + [" "]
        if allowed is None:
            self.keep = None
        else:
            keep = [0] + [i for i, ch in enumerate(self.characters) if i and ch in allowed]
            self.keep = np.array(sorted(set(keep)), dtype=np.int64)

    def decode(self, probs: np.ndarray) -> list[tuple[str, float]]:
        """``probs``: (batch, time, classes) softmax. Returns (text, mean probability of its characters)."""
        return [(text, conf) for text, conf, _ in self.decode_with_end(probs)]

    def decode_with_end(self, probs: np.ndarray) -> list[tuple[str, float, int]]:
        """As :meth:`decode`, plus the time step just after the last character (-1 when empty):
        where the text ends along the line."""
        if self.keep is not None:
            sub = probs[:, :, self.keep]
            best = self.keep[sub.argmax(axis=2)]
        else:
            best = probs.argmax(axis=2)
        best_p = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]
        out: list[tuple[str, float, int]] = []
        for idx, p in zip(best, best_p):
            keep = np.ones(len(idx), dtype=bool)
            keep[1:] = idx[1:] != idx[:-1]
            keep &= idx != 0
            chars = idx[keep]
            text = "".join(self.characters[i] for i in chars)
            conf = float(p[keep].mean()) if keep.any() else 0.0
            steps = np.nonzero(keep)[0]
            out.append((text, conf, int(steps[-1]) + 1 if len(steps) else -1))
        return out


def recognise(session: object, decoder: CtcDecoder, lines: list[np.ndarray],
              batch_size: int = 8, min_width: int = REC_MIN_WIDTH) -> list[tuple[str, float, float]]:
    """Read every line image; only lines padded to the same width share a run (width buckets).

    Every line narrower than ``min_width`` (at 48 px high) is padded to it, so the short lines of a
    door photo (codes, labels, a boxed digit's windows) run together at no extra cost, while a wide
    line runs alone instead of making a whole batch as wide as itself (padding a batch to its widest
    line cost more than batching saved). Returns per line (text, confidence, where the text ends as
    a fraction of the line's width).
    """
    results: list[tuple[str, float, float]] = [("", 0.0, 0.0)] * len(lines)
    if not lines:
        return results
    ratios = [ln.shape[1] / max(1, ln.shape[0]) for ln in lines]
    widths = [int(math.ceil(REC_HEIGHT * max(min_width / REC_HEIGHT, r))) for r in ratios]
    buckets: dict[int, list[int]] = {}
    for i in np.argsort(ratios, kind="stable"):
        buckets.setdefault(widths[int(i)], []).append(int(i))
    input_name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    for max_width, members in buckets.items():
        for start in range(0, len(members), max(1, batch_size)):
            chunk = members[start:start + max(1, batch_size)]
            batch = np.stack([_normalise(lines[i], REC_HEIGHT, max_width, max_width) for i in chunk])
            probs = session.run(None, {input_name: batch})[0]  # type: ignore[attr-defined]
            step_px = max_width / probs.shape[1]
            for i, (text, conf, end) in zip(chunk, decoder.decode_with_end(probs)):
                used = min(max_width, int(math.ceil(REC_HEIGHT * ratios[i])))
                results[i] = (text, conf, min(1.0, max(0.0, end * step_px / used)))
    return results


def upside_down(session: object, lines: list[np.ndarray]) -> list[bool]:
    """The angle classifier: True for a line it is sure (≥ 0.9) is turned 180°."""
    if not lines:
        return []
    w, h = CLS_SIZE
    batch = np.stack([_normalise(ln, h, w, w) for ln in lines])
    input_name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    probs = session.run(None, {input_name: batch})[0]  # type: ignore[attr-defined]
    return [bool(p.argmax() == 1 and p[1] >= CLS_THRESHOLD) for p in probs]
