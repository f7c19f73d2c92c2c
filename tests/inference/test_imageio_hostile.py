"""Hostile and oversized inputs (issue 22 items 1 and 5, issue 28's reduced decode): only allowed
formats by content, no Ghostscript ever, regular files only, a byte budget for every source,
reduced decode with the same answers, EXIF rotation on the array, crop before resize."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import inference.imageio as imageio
from inference.errors import ImageReadError
from inference.imageio import (ALLOWED_FORMATS, DecodedImage, decode_array, display_text, load_image,
                               read_file_bytes)
from inference.manifest import InputSpec
from inference.preprocess import fit_to_input, reduction_factor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
import make_bad_images  # noqa: E402

CROP224 = InputSpec("input", 224, 224, "NHWC", "RGB", "center_crop", 1.0, (0.0,) * 3, (1.0,) * 3)
STRETCH224 = InputSpec("input", 224, 224, "NHWC", "RGB", "stretch", 1.0, (0.0,) * 3, (1.0,) * 3)


def _in_thread(fn, timeout: float = 20.0):
    """Run ``fn`` with a deadline: a FIFO that blocks must fail the test, not hang the suite."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the read blocked (it must be refused before reading)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _photo(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A smooth photo-like RGB image (a resized noise field), so JPEG behaves as on real photos."""
    small = np.random.default_rng(seed).integers(0, 256, (max(2, h // 40), max(2, w // 40), 3), dtype=np.uint8)
    return np.array(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def _save(arr_or_img, fmt: str, **kw) -> bytes:
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


# -- the generated corpus, special files included ------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_bad_images.build(folder, special=True)


def test_generated_corpus_matches_the_committed_one(corpus):
    folder, expected = corpus
    committed = Path(make_bad_images.OUT)
    for name, exp in expected.items():
        if not exp.get("special"):
            assert (folder / name).read_bytes() == (committed / name).read_bytes(), name


def test_every_generated_file_decodes_or_is_refused_clearly(corpus):
    folder, expected = corpus
    for name, exp in sorted(expected.items()):
        if exp["ok"]:
            img = _in_thread(lambda: load_image(folder / name))
            assert [img.width, img.height] == exp["size"], name
        else:
            with pytest.raises(ImageReadError) as info:
                _in_thread(lambda: load_image(folder / name))
            assert exp["error"] in str(info.value) and name in str(info.value), name


# -- formats: by content, never PostScript/EPS/PDF, never Ghostscript ----------------------------
@pytest.fixture
def fake_gs(tmp_path, monkeypatch):
    """A ``gs`` first on PATH that leaves a marker file if anything ever runs it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    script = bin_dir / "gs"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return marker


@pytest.mark.parametrize("name", ["eps_named_as.jpg", "eps_dos_header.tif", "postscript_named_as.png",
                                  "pdf_named_as.jpg"])
def test_postscript_eps_and_pdf_are_never_opened(corpus, fake_gs, name):
    folder, _ = corpus
    data = (folder / name).read_bytes()
    for source in (folder / name, data):
        with pytest.raises(ImageReadError, match="not an image"):
            load_image(source, name=name)
    assert not fake_gs.exists()


def test_ghostscript_is_disabled_even_for_pillow_calls_without_a_format_list(corpus, fake_gs):
    folder, _ = corpus
    with Image.open(folder / "eps_named_as.jpg") as img:  # what any other module might do
        assert img.format == "EPS"
        with pytest.raises(OSError):
            img.load()
    assert not fake_gs.exists()


def test_the_allow_list_is_by_content():
    png = _save(_photo(40, 30), "PNG")
    assert load_image(png, name="x.jpg").original_format == "PNG"
    assert "EPS" not in ALLOWED_FORMATS and "PDF" not in ALLOWED_FORMATS


def test_stored_media_headers_only_read_allowed_formats(corpus):
    from inference.log.media import _header

    folder, _ = corpus
    assert _header((folder / "eps_named_as.jpg").read_bytes()) == (".bin", None, None)
    assert _header(_save(_photo(40, 30), "PNG")) == (".png", 40, 30)


# -- files: regular only, within the budget -------------------------------------------------------
def test_fifo_and_devices_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), Path("/dev/null")):
        with pytest.raises(ImageReadError, match="not a regular file"):
            _in_thread(lambda: load_image(path))
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    with pytest.raises(ImageReadError, match="not a regular file"):
        _in_thread(lambda: read_file_bytes(link))


def test_byte_budget_holds_for_files_bytes_and_arrays(tmp_path, monkeypatch):
    data = _save(_photo(64, 48), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    with pytest.raises(ImageReadError, match="too large"):
        read_file_bytes(path, limit=len(data) - 1)
    assert read_file_bytes(path, limit=len(data)) == data
    monkeypatch.setattr(imageio, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ImageReadError, match="too large"):
        load_image(data)
    with pytest.raises(ImageReadError, match="too large"):
        load_image(path)
    monkeypatch.setattr(imageio, "MAX_ARRAY_BYTES", 1000)
    with pytest.raises(ImageReadError, match="more than"):
        decode_array(np.zeros((20, 20, 4), np.float64))
    assert decode_array(np.zeros((10, 10, 3), np.uint8)).width == 10


def test_undecodable_file_names_are_printable_in_messages(tmp_path):
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    assert display_text(name) == "caf\\xe9.png"
    path = tmp_path / name
    path.write_bytes(b"not an image")
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    str(info.value).encode("utf-8")  # printable and storable
    good = tmp_path / os.fsdecode(b"ok\xff.png")
    good.write_bytes(_save(_photo(30, 20), "PNG"))
    assert load_image(good).source == str(good)  # the real name: the log finds the file with it


# -- reduced decode --------------------------------------------------------------------------------
def test_reduction_factor_keeps_the_needed_size():
    assert reduction_factor(4000, 3000, CROP224) == 7  # short side 3000 → 256 needed, ×1.5 margin
    assert reduction_factor(4000, 3000, CROP224, margin=2) == 5
    assert reduction_factor(224, 224, CROP224) == 1
    assert reduction_factor(4000, 3000, STRETCH224) == 8
    letterbox = InputSpec("input", 224, 224, "NHWC", "RGB", "letterbox", 1.0, (0.0,) * 3, (1.0,) * 3)
    assert reduction_factor(65535, 1, letterbox) == 195
    assert reduction_factor(65535, 1, CROP224) == 1


def test_big_jpeg_is_decoded_at_reduced_size_with_the_same_hash_and_size():
    data = _save(_photo(4000, 3000), "JPEG", quality=90)
    shrink = lambda w, h: reduction_factor(w, h, CROP224)  # noqa: E731
    small = load_image(data, shrink=shrink)
    full = load_image(data)
    assert small.rgb.shape == (750, 1000, 3) and small.reduced == 4  # DCT scaling at 1/4
    assert small.original_size == (4000, 3000) == full.original_size
    assert small.sha256 == full.sha256
    a, _ = fit_to_input(small.rgb, CROP224)
    b, _ = fit_to_input(full.rgb, CROP224)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.5  # what the model sees barely changes


def test_rotated_big_jpeg_reduces_in_its_own_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(_photo(4000, 3000), "JPEG", quality=85, exif=exif.tobytes())
    img = load_image(data, shrink=lambda w, h: reduction_factor(w, h, STRETCH224))
    assert img.original_size == (3000, 4000) and img.rgb.shape == (500, 375, 3)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_reduced_png_matches_a_box_reduction(mode):
    img = Image.fromarray(_photo(1200, 900)).convert(mode)
    data = _save(img, "PNG")
    small = load_image(data, shrink=lambda w, h: 3)
    full = load_image(data)
    assert small.rgb.shape == (300, 400, 3) and small.original_size == (1200, 900)
    ref = np.asarray(Image.fromarray(full.rgb).reduce(3)).astype(int)
    assert np.abs(small.rgb.astype(int) - ref).max() <= 2


def test_16bit_and_float_are_converted_strip_by_strip_like_the_whole_image(monkeypatch):
    monkeypatch.setattr(imageio, "_STRIP_PIXELS", 5000)  # many strips on a small image
    g16 = (_photo(300, 200)[:, :, 0].astype(np.uint16) * 200 + 300)
    data = _save(Image.fromarray(g16), "PNG")
    img = load_image(data)
    expected = np.clip(g16.astype(np.float64) / 65535.0 * 255.0, 0, 255).astype(np.uint8)
    assert np.abs(img.rgb[:, :, 0].astype(int) - expected).max() <= 1
    reduced = load_image(data, shrink=lambda w, h: 4)
    block = g16.reshape(50, 4, 75, 4).mean(axis=(1, 3)) / 65535.0 * 255.0
    assert reduced.rgb.shape == (50, 75, 3) and np.abs(reduced.rgb[:, :, 0] - block).max() <= 1
    f = _photo(300, 200)[:, :, 1].astype(np.float32) * 7.5 - 100
    f[3, 3] = np.nan
    out = load_image(_save(Image.fromarray(f), "TIFF")).rgb[:, :, 0]
    lo, hi = np.nanmin(f), np.nanmax(f)
    assert out[0, 0] == int((f[0, 0] - lo) / (hi - lo) * 255) and out[3, 3] == 0


def test_large_images_convert_without_tobytes_and_identically(monkeypatch):
    arr = _photo(1500, 1000)
    monkeypatch.setattr(imageio, "_STRIP_PIXELS", 100_000)
    out = imageio._to_array(Image.fromarray(arr))
    assert np.array_equal(out, arr) and out.flags.writeable


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotation_on_the_array_matches_pillow(orientation):
    arr = _photo(60, 40)
    arr[:10, :20] = (255, 0, 0)  # a corner mark, so every flip is visible
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _save(arr, "PNG", exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as ref:
        expected = np.asarray(ImageOps.exif_transpose(ref).convert("RGB"))
    assert np.array_equal(load_image(data).rgb, expected)


def test_no_rotation_means_no_copy():
    arr = _photo(50, 40)
    assert imageio._orient(arr, 1) is arr


# -- crop before resize ---------------------------------------------------------------------------
def test_extreme_strip_is_cropped_before_it_is_resized():
    strip = np.zeros((1, 65535, 3), np.uint8)
    strip[:, 32000:33000] = 255
    out, geometry = fit_to_input(strip, CROP224)  # resizing first needed a 16.7-million-pixel-wide image
    assert out.shape == (224, 224, 3)
    assert geometry.image_width == 65535 and geometry.source_crop[2] <= 2


def test_crop_before_resize_matches_resize_then_crop():
    def old(rgb, spec):
        h0, w0 = rgb.shape[:2]
        scale = max(spec.height, spec.width) / spec.crop_fraction / min(h0, w0)
        nw, nh = max(spec.width, round(w0 * scale)), max(spec.height, round(h0 * scale))
        resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
        x, y = (nw - spec.width) // 2, (nh - spec.height) // 2
        return resized[y:y + spec.height, x:x + spec.width]

    spec = InputSpec("input", 224, 224, "NHWC", "RGB", "center_crop", 1.0, (0.0,) * 3, (1.0,) * 3, 0.875)
    for w, h in ((640, 480), (301, 777), (1000, 300)):
        rgb = _photo(w, h, seed=w)
        new, _ = fit_to_input(rgb, spec)
        assert np.abs(new.astype(int) - old(rgb, spec).astype(int)).max() <= 1


def test_decoded_image_keeps_its_api_for_the_log():
    img = load_image(_save(_photo(40, 30), "PNG"))
    assert isinstance(img, DecodedImage) and img.original_size == (40, 30) and img.reduced == 1
