"""The text reader: the bundled PP-OCR models through Tilik's own thin wrapper.

``TextReader(...).read(rgb)`` returns every text line found in a photo (text, confidence, box in
photo pixels). Sessions are created through :mod:`inference.providers` (so they run on the same
provider as the packs and the provider in use is known). Thread-safe: onnxruntime sessions may
be run from several threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.ocr import detect, recognise
from inference.ocr.bundle import OcrBundle, load_bundle

# The detector sees a copy whose long side is this many pixels (rapidocr's own default is 2000).
# On generated door photos (training/ocr_eval.py, docs/ocr.md) 640 reads the container number and
# the seal tag as well as 800 did (seed 27, 120 photos: container 97.5%, seal 99.2%), for about 35%
# less detector time: its time grows with the pixels it sees, and the recogniser reads the lines
# from the larger working copy (inference.ocr.reading.WORK_LONG_SIDE), not from this one.
DETECT_LONG_SIDE = 640
# At most this many lines per recogniser run; only lines padded to the same width share one
# (recognise.recognise): batches padded to their widest line cost more than they saved (7 lines of
# a door photo: 475 ms in batches of 8 of any width, 309 ms one by one).
REC_BATCH_SIZE = 8
MIN_CONFIDENCE = 0.5  # lines read with less are dropped (rapidocr's text_score)


@dataclass(frozen=True)
class TextLine:
    """One line of text found in a photo."""

    text: str
    confidence: float
    box: tuple[tuple[float, float], ...]  # 4 corners (TL, TR, BR, BL) in photo pixels
    text_end: float = 1.0  # where the text ends along the box (0..1), from the recogniser's columns

    @property
    def height(self) -> float:
        b = np.asarray(self.box)
        return float((np.linalg.norm(b[3] - b[0]) + np.linalg.norm(b[2] - b[1])) / 2)

    @property
    def centre(self) -> tuple[float, float]:
        b = np.asarray(self.box)
        return float(b[:, 0].mean()), float(b[:, 1].mean())

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned (x0, y0, x1, y1)."""
        b = np.asarray(self.box)
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 0].max()), float(b[:, 1].max())

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "confidence": round(self.confidence, 4),
                "box": [[round(x, 1), round(y, 1)] for x, y in self.box]}


@dataclass
class ReadText:
    """All lines read off one photo, with where the time went."""

    lines: list[TextLine]
    image_size: tuple[int, int]  # (width, height)
    timings_ms: dict[str, float] = field(default_factory=dict)
    provider: str = ""


class TextReader:
    """Detector + recogniser (+ optional angle classifier) from the verified bundle."""

    def __init__(self, bundle: OcrBundle | None = None, *, provider: str | None = None,
                 use_angle_classifier: bool = False, detect_long_side: int = DETECT_LONG_SIDE,
                 threads: int | None = None) -> None:
        from inference.providers import create_session

        self.bundle = bundle or load_bundle()
        self.detect_long_side = detect_long_side
        self.rec_batch_size = REC_BATCH_SIZE
        self.rec_min_width = recognise.REC_MIN_WIDTH
        self._det = create_session(Path(self.bundle.detector), provider, threads=threads)
        self._rec = create_session(Path(self.bundle.recogniser), provider, threads=threads)
        self._cls = create_session(Path(self.bundle.angle_classifier), provider, threads=threads) \
            if use_angle_classifier else None
        self.decoder = recognise.CtcDecoder(self.bundle.characters())
        self.provider = self._det.provider_display
        self._lock = threading.Lock()  # a GUI worker and a CLI loop never interleave one reader's runs

    @classmethod
    def shared(cls, provider: str | None = None) -> "TextReader":
        """One reader per provider preference per process (loading takes about a second)."""
        with _SHARED_LOCK:
            reader = _SHARED.get(provider)
            if reader is None:
                reader = _SHARED[provider] = cls(provider=provider)
            return reader

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        prepared = detect.prepare(rgb, self.detect_long_side)
        session = self._det.session
        prob = session.run(None, {session.get_inputs()[0].name: prepared.tensor})[0][0, 0]
        return detect.boxes_from_map(prob, scale_x=prepared.scale_x, scale_y=prepared.scale_y,
                                     image_size=(rgb.shape[1], rgb.shape[0]))

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float, float]]:
        """Read line images already cut out (text, confidence, where the text ends along the line)."""
        with self._lock:
            return recognise.recognise(self._rec.session, self.decoder, crops, self.rec_batch_size,
                                       self.rec_min_width)

    def read(self, rgb: np.ndarray) -> ReadText:
        """Every line of text in ``rgb`` (H, W, 3 uint8), top to bottom, left to right."""
        rgb = np.asarray(rgb)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        rgb = rgb[:, :, :3]
        with self._lock:
            t0 = time.perf_counter()
            boxes = self.detect(rgb)
            t1 = time.perf_counter()
            crops = [recognise.crop_line(rgb, box) for box, _ in boxes]
            if self._cls is not None and crops:
                flips = recognise.upside_down(self._cls.session, crops)
                crops = [np.ascontiguousarray(c[::-1, ::-1]) if f else c for c, f in zip(crops, flips)]
            t2 = time.perf_counter()
            texts = recognise.recognise(self._rec.session, self.decoder, crops, self.rec_batch_size,
                                        self.rec_min_width)
            t3 = time.perf_counter()
        lines = []
        for (box, _), (text, conf, end) in zip(boxes, texts):
            text = " ".join(text.split())
            if text and conf >= MIN_CONFIDENCE:
                lines.append(TextLine(text, conf, tuple((float(x), float(y)) for x, y in box), end))
        lines.sort(key=lambda ln: (round(ln.bounds()[1] / max(1.0, ln.height)), ln.bounds()[0]))
        return ReadText(lines, (int(rgb.shape[1]), int(rgb.shape[0])),
                        {"detect": 1000 * (t1 - t0), "crop": 1000 * (t2 - t1), "recognise": 1000 * (t3 - t2),
                         "total": 1000 * (t3 - t0)}, self.provider)


_SHARED: dict[str | None, TextReader] = {}
_SHARED_LOCK = threading.Lock()
