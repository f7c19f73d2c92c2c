"""Card picture sheets are written as 256-colour PNGs (they ship in every bundle), in the right colours."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from training.pipeline.heatmaps import examples_sheet, save_sheet_png

cv2 = pytest.importorskip("cv2")


def _photo_like(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=-1).astype(np.float64)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def test_a_sheet_is_a_palette_png_close_to_its_pixels_and_smaller(tmp_path):
    rgb = _photo_like()
    out = save_sheet_png(tmp_path / "sub" / "sheet.png", rgb)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.mode == "P"
        back = np.asarray(img.convert("RGB")).astype(int)
    assert back.shape == rgb.shape
    assert np.abs(back - rgb).mean() < 8
    cv2.imwrite(str(tmp_path / "true.png"), rgb[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert out.stat().st_size < (tmp_path / "true.png").stat().st_size


def test_heatmap_examples_keep_their_colours(tmp_path):
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 220
    out = examples_sheet([(red, "hit 50% crack -> damaged")], tmp_path / "ex.png", cols=1, thumb=64)
    px = np.asarray(Image.open(out).convert("RGB"))[4 + 32, 4 + 32]
    assert px[0] > 200 and px[1] < 30 and px[2] < 30


def test_the_seal_contact_sheet_keeps_its_colours(tmp_path):
    from training.seals.sheet import contact_sheet

    blue = np.zeros((40, 40, 3), np.uint8)
    blue[..., 2] = 230  # RGB blue
    Image.fromarray(blue).save(tmp_path / "a.png")
    with open(tmp_path / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["file", "label", "family", "defect", "background", "lighting", "mask"])
        w.writeheader()
        w.writerow({"file": "a.png", "label": "intact", "family": "bolt", "defect": "", "background": "door_grey",
                    "lighting": "dim", "mask": ""})
    out = contact_sheet(tmp_path, tmp_path / "sheet.png", cols=1, thumb=96)
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(int)
    photo = sheet[4 + 48, 4 + 48]
    assert photo[2] > 200 and photo[0] < 30  # still blue, not swapped to red
    bar = sheet[4 + 96 + 5, 4 + 2]  # the intact (green) marker beside the caption
    assert bar[1] > bar[0] and bar[1] > bar[2]


def test_the_shipped_seal_sheets_are_palette_pngs():
    from pathlib import Path

    pack = Path(__file__).resolve().parents[2] / "models" / "seal-integrity"
    for name in ("contact_sheet.png", "heatmap_examples.png"):
        with Image.open(pack / name) as img:
            assert img.mode == "P", name
