"""Heatmaps at model size plus geometry (issue #28): a result carries the model's small map and
where the image sits in it; only drawing (≤ 1024 px) scales it, and decoded pixels are dropped as
soon as the tensor exists."""

from __future__ import annotations

import gc
import io
import weakref

import numpy as np
import pytest
from PIL import Image

from inference.imageio import load_image
from inference.inspector import Inspector, preview_rgb
from inference.log.media import decode_heatmap, encode_heatmap
from inference.preprocess import heatmap_to_image, resize_float
from inference.registry import check_pack
from inference.results import HEATMAP_MAX_PX
from tiny_models import build_colour_model, colour_manifest, write_pack


def _inspector(tmp_path, resize="stretch") -> Inspector:
    model = build_colour_model()
    manifest = colour_manifest(model)
    manifest["input"] = {**manifest["input"], "resize": resize}
    return Inspector(check_pack(write_pack(tmp_path / "colour", model, manifest=manifest)))


def _photo(h: int, w: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[h // 3:h // 2, w // 2:3 * w // 4, 2] = 255  # a blue patch: the heat is there
    return img


@pytest.mark.parametrize("resize", ["stretch", "letterbox", "center_crop"])
def test_a_big_photo_keeps_a_model_size_map_and_draws_it_at_most_1024_px(tmp_path, resize):
    inspector = _inspector(tmp_path, resize)
    result = inspector.classify(_photo(3000, 4000))  # 12 MP
    assert result.heatmap.shape == (32, 32) and result.heatmap.nbytes == 32 * 32 * 4
    assert result.heatmap_geometry.image_width == 4000 and result.image_size == (4000, 3000)
    heat = result.heatmap_image()
    assert heat.shape == (768, 1024) and heat.dtype == np.float32
    # the same picture as the full-size map shrunk (what the app drew before), within a grey level
    full = heatmap_to_image(result.heatmap, result.heatmap_geometry)
    assert full.shape == (3000, 4000)
    assert np.abs(resize_float(full, 1024, 768) - heat).mean() < 2e-3
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 256 - 8 <= peak_y < 384 + 8 and 512 - 8 <= peak_x < 768 + 8
    if resize == "center_crop":
        assert heat[:, :100].max() == 0.0  # cut off by the crop: never shown to the model


def test_small_images_are_drawn_at_their_own_size_never_enlarged(tmp_path):
    result = _inspector(tmp_path).classify(_photo(50, 80))
    assert result.heatmap_image().shape == (50, 80)
    assert result.heatmap_image(40).shape == (25, 40)


def test_the_log_stores_the_same_heatmap_file_as_from_a_full_size_map(tmp_path):
    result = _inspector(tmp_path, "center_crop").classify(_photo(1500, 2000))
    stored = decode_heatmap(encode_heatmap(result.heatmap_image(1024), 1024))
    old_way = decode_heatmap(encode_heatmap(heatmap_to_image(result.heatmap, result.heatmap_geometry), 1024))
    assert stored.shape == old_way.shape == (768, 1024)
    assert np.abs(stored - old_way).max() <= 3 / 255 and np.abs(stored - old_way).mean() < 1 / 255


def test_decoded_pixels_are_dropped_once_the_tensor_exists(tmp_path):
    """A batch holds tensors, not photos: each decoded image is gone before the next is read."""
    inspector = _inspector(tmp_path)
    buf = io.BytesIO()
    Image.fromarray(_photo(600, 800)).save(buf, format="PNG")
    data = buf.getvalue()
    alive: list[weakref.ref] = []
    still_held: list[int] = []

    def images():
        for i in range(6):
            gc.collect()
            still_held.append(sum(r() is not None for r in alive))
            decoded = load_image(data, name=f"p{i}.png")
            alive.append(weakref.ref(decoded.rgb))
            yield decoded
            del decoded

    items = list(inspector.iter_batch(images(), batch_size=6))  # one model run for all six
    assert all(item.ok for item in items) and len(items) == 6
    assert still_held == [0] * 6


def test_a_batch_item_carries_a_preview_from_the_pixels_already_decoded(tmp_path):
    inspector = _inspector(tmp_path)
    inspector.preview_px = HEATMAP_MAX_PX
    photo = _photo(1200, 2000)
    (item,) = inspector.classify_batch([photo, ])
    assert item.preview.shape == (614, 1024, 3) and item.preview.dtype == np.uint8
    assert np.abs(item.preview.astype(int) - np.asarray(Image.fromarray(photo).resize((1024, 614)))).mean() < 2
    inspector.preview_px = None
    assert inspector.classify_batch([photo])[0].preview is None


def test_preview_never_enlarges():
    small = np.zeros((10, 20, 3), np.uint8)
    assert preview_rgb(small, 1024) is small
