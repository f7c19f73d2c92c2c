"""Contact sheet of a generated seal dataset: a grid of thumbnails captioned with class, family and
defect (plus background / lighting), with the defect mask outlined on damaged samples. Used to eyeball
the generator's realism and to document it (``docs/seals-contact-sheet.png``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

_ABBREV = {"plastic_strip": "strip", "adhesive_label": "adhesive", "warehouse_sodium": "sodium",
           "fluorescent": "fluoresc.", "plastic_tote_blue": "tote_blue", "cardboard_brown": "card_brown",
           "cardboard_white": "card_white", "lifted_void": "lifted_void"}


def _short(name: str) -> str:
    return _ABBREV.get(name, name.replace("steel_door_", "door_"))


def contact_sheet(data_dir, out_png, cols: int = 8, thumb: int = 192, limit: int = 48) -> Path:
    """Build a captioned grid of the first ``limit`` samples of ``data_dir`` and write it to ``out_png``."""
    data = Path(data_dir)
    with open(data / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:limit]
    if not rows:
        raise ValueError(f"{data / 'labels.csv'} lists no samples")
    cap = max(34, thumb // 5)
    rows_n = (len(rows) + cols - 1) // cols
    pad = 4
    sheet = np.full((rows_n * (thumb + cap + pad) + pad, cols * (thumb + pad) + pad, 3), 28, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    fs = thumb / 420.0
    for k, row in enumerate(rows):
        img = cv2.imread(str(data / row["file"]), cv2.IMREAD_COLOR)
        img = cv2.resize(img, (thumb, thumb), interpolation=cv2.INTER_AREA)
        damaged = row["label"] == "damaged"
        if damaged and row.get("mask"):
            m = cv2.imread(str(data / row["mask"]), cv2.IMREAD_GRAYSCALE)
            m = cv2.resize(m, (thumb, thumb), interpolation=cv2.INTER_NEAREST)
            contours, _ = cv2.findContours((m > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(img, contours, -1, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.drawContours(img, contours, -1, (255, 0, 255), 1, cv2.LINE_AA)
        r, c = divmod(k, cols)
        y, x = pad + r * (thumb + cap + pad), pad + c * (thumb + pad)
        sheet[y:y + thumb, x:x + thumb] = img
        colour = (60, 60, 235) if damaged else (90, 200, 90)
        cv2.rectangle(sheet, (x, y + thumb), (x + thumb - 1, y + thumb + cap - 1), (45, 45, 45), -1)
        cv2.rectangle(sheet, (x, y + thumb), (x + 5, y + thumb + cap - 1), colour, -1)
        line1 = f"{row['label'].upper()}  {_short(row['family'])}"
        line2 = f"{row['defect']}" if damaged else "-"
        line3 = f"{_short(row['background'])} / {_short(row['lighting'])}"
        lh = cap / 3
        for i, (text, col) in enumerate(((line1, colour), (line2, (235, 235, 235)), (line3, (170, 170, 170)))):
            cv2.putText(sheet, text, (x + 10, int(y + thumb + lh * (i + 0.8))), font, fs, col, 1, cv2.LINE_AA)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    from training.pipeline.heatmaps import save_sheet_png

    return save_sheet_png(out, np.ascontiguousarray(sheet[..., ::-1]))  # the sheet is drawn in BGR
