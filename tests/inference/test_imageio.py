"""Decoding: every oddity is decoded deliberately or refused with a clear ImageReadError."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.errors import ImageReadError
from inference.imageio import decode_array, iter_image_paths, load_image, sniff_format

BAD = Path(__file__).resolve().parent.parent / "data" / "bad_images"
EXPECTED = json.loads((BAD.parent / "bad_images_expected.json").read_text())


COMMITTED = sorted(n for n, e in EXPECTED.items() if not e.get("special"))


def test_corpus_has_at_least_25_files_and_matches_its_script():
    files = sorted(p.name for p in BAD.iterdir())
    assert len(files) >= 25
    assert files == COMMITTED


@pytest.mark.parametrize("name", COMMITTED)
def test_each_corpus_file_decodes_or_fails_clearly(name):
    expected = EXPECTED[name]
    if expected["ok"]:
        img = load_image(BAD / name)
        assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
        assert [img.width, img.height] == expected["size"]
    else:
        with pytest.raises(ImageReadError) as info:
            load_image(BAD / name)
        message = str(info.value)
        assert expected["error"] in message
        assert name in message  # the user is told which file


def test_exif_orientation_is_applied():
    # Left half red, right half blue, stored with orientation 6 (display rotated 90° clockwise).
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20, 0] = 255
    arr[:, 20:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", exif=exif.tobytes())
    img = load_image(buf.getvalue())
    assert (img.width, img.height) == (20, 40)
    assert img.rgb[5, 10, 0] > 200 and img.rgb[35, 10, 2] > 200  # red on top after rotation


def test_transparency_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    img = load_image(_png(Image.fromarray(rgba, "RGBA")))
    assert (img.rgb == 255).all()
    assert "transparent areas shown on white" in img.notes


def test_16bit_grayscale_keeps_its_range():
    arr = np.array([[0, 65535]], dtype=np.uint16)
    img = load_image(_png(Image.fromarray(arr)))
    assert img.rgb[0, 0, 0] == 0 and img.rgb[0, 1, 0] == 255


def test_pixel_limit_refuses_before_decoding():
    with pytest.raises(ImageReadError, match="more than the 0 MP|too large"):
        load_image(_png(Image.new("RGB", (1000, 1000))), max_pixels=10_000)


def test_sha256_is_of_the_file_bytes(tmp_path):
    import hashlib

    data = _png(Image.new("RGB", (3, 3), (1, 2, 3)))
    path = tmp_path / "x.png"
    path.write_bytes(data)
    assert load_image(path).sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "array, expected_pixel",
    [
        (np.full((5, 6), 100, np.uint8), (100, 100, 100)),
        (np.full((5, 6, 1), 100, np.uint8), (100, 100, 100)),
        (np.full((5, 6, 3), (10, 20, 30), np.uint8), (10, 20, 30)),
        (np.full((5, 6), 65535, np.uint16), (255, 255, 255)),
        (np.full((5, 6, 3), 0.5, np.float32), (128, 128, 128)),
        (np.dstack([np.zeros((5, 6, 3), np.uint8), np.zeros((5, 6), np.uint8)]), (255, 255, 255)),
        (np.ones((5, 6), bool), (255, 255, 255)),
    ],
)
def test_camera_arrays_of_every_shape_and_dtype(array, expected_pixel):
    img = decode_array(array)
    assert img.rgb.shape == (5, 6, 3) and img.rgb.dtype == np.uint8
    assert tuple(int(v) for v in img.rgb[2, 3]) == expected_pixel


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 5, 2), (5,), (2, 2, 2, 3)])
def test_bad_arrays_are_refused(shape):
    with pytest.raises(ImageReadError):
        decode_array(np.zeros(shape, np.uint8))


def test_missing_file_folder_and_unreadable(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match="folder, not an image"):
        load_image(tmp_path)


def test_folders_expand_recursively_skipping_hidden(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.jpg").write_bytes(b"1")
    (tmp_path / "a" / "y.dat").write_bytes(b"1")  # unknown kind: listed, to get its own error
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "z.jpg").write_bytes(b"1")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_paths([tmp_path])]
    assert found == ["a/b/x.jpg", "a/y.dat"]


def test_sniff_format():
    assert sniff_format(b"\xff\xd8\xff\xe0rest") == "JPEG"
    assert sniff_format(b"RIFF\0\0\0\0WEBPVP8 ") == "WebP"
    assert sniff_format(b"hello") is None


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
