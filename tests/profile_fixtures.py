"""A tiny pack with patch features, and photos for seal-profile tests (issue 25).

The colour model of :mod:`tests.tiny_models` with classes green/red (red alarming), given its
``patch_features`` output by the real surgery tool (``training.pipeline.patch_features``) on its
per-pixel feature map: an enrolled profile of green textured photos then flags a red blob.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.tiny_models import build_colour_model, colour_manifest, write_pack

CLASSES = ("green", "red")


def write_profile_pack(folder: Path, pack_id: str = "colour-profiles") -> Path:
    from training.pipeline.patch_features import run_surgery

    model = build_colour_model(CLASSES)
    manifest = colour_manifest(model, pack_id=pack_id, classes=CLASSES,
                               decision={"alarming": ["red"], "alarm_threshold": 0.5, "top_k": 2},
                               mode="seal")
    manifest["words"] = {}
    pack = write_pack(Path(folder) / pack_id, model, manifest)
    run_surgery(pack, ["feat"], version="1.0.1")
    return pack


def green_photo(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A green photo with smooth shading (an 'intact seal'): a 4×4 grid of brightness, upsampled,
    so it is a picture and not noise (the content check refuses per-pixel noise)."""
    from PIL import Image

    grid = rng.uniform(140, 220, (4, 4)).astype(np.float32)
    shade = np.asarray(Image.fromarray(grid).resize((size, size), Image.Resampling.BILINEAR))
    img = np.zeros((size, size, 3), np.float32)
    img[..., 1] = shade
    img[..., 0] = 40 + 0.1 * shade
    img[..., 2] = 30
    return np.clip(img, 0, 255).astype(np.uint8)


def with_red_blob(img: np.ndarray, box: tuple[int, int, int, int] = (20, 4, 30, 14)) -> np.ndarray:
    """The photo with a red square at ``box`` = (y0, x0, y1, x1): the 'damage'."""
    out = img.copy()
    y0, x0, y1, x1 = box
    out[y0:y1, x0:x1] = (230, 20, 20)
    return out


def manifest_of(pack: Path) -> dict:
    return json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
