"""The OCR wrapper: the bundle's SHA-256 check, the DB post-processing and CTC decoding in numpy,
and the real bundled models reading a generated container-door photo."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from inference.ocr import detect
from inference.ocr.bundle import OcrUnavailableError, default_ocr_dir, load_bundle
from inference.ocr.recognise import CtcDecoder
from training.ocr_doors import check_digit, make_door


def test_bundle_verified_and_complete():
    from inference import paths

    bundle = load_bundle()
    # Under resources/, which packaging/tilik.spec bundles whole (and paths resolve frozen too).
    assert bundle.folder == paths.resources_dir() / "ocr"
    chars = bundle.characters()
    assert len(chars) == 6623 and "0" in chars and "Z" in chars
    assert "Apache License" in bundle.licence.read_text()[:200]


def test_altered_or_missing_file_refused(tmp_path):
    copy = tmp_path / "ocr"
    shutil.copytree(default_ocr_dir(), copy)
    (copy / "ppocr_keys_v1.txt").write_text("A\nB\n", encoding="utf-8")
    with pytest.raises(OcrUnavailableError, match="SHA-256 differs"):
        load_bundle(copy)
    (copy / "ch_PP-OCRv4_det_infer.onnx").unlink()
    index = json.loads((copy / "ocr.json").read_text())
    index["files"]["dictionary"]["sha256"] = load_bundle.__globals__["_sha256"](copy / "ppocr_keys_v1.txt")
    (copy / "ocr.json").write_text(json.dumps(index))
    with pytest.raises(OcrUnavailableError, match="is missing"):
        load_bundle(copy)
    with pytest.raises(OcrUnavailableError, match="missing"):
        load_bundle(tmp_path / "nowhere")


def test_label_runs_joins_diagonal_neighbours_only():
    mask = np.zeros((6, 8), dtype=bool)
    mask[0, 0:2] = True
    mask[1, 2] = True  # touches the run above diagonally: same region
    mask[4, 5:8] = True  # apart: its own region
    rows, starts, ends, labels = detect.label_runs(mask)
    assert len(rows) == 3 and len(set(labels.tolist())) == 2 and labels[0] == labels[1] != labels[2]


def test_min_area_rect_of_a_rotated_rectangle():
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], dtype=float) @ rot.T + 50
    inside = np.array([[x, y] for x in np.linspace(0, 100, 41) for y in np.linspace(0, 20, 9)]) @ rot.T + 50
    _, w, h = detect.min_area_rect(inside)
    assert sorted([w, h]) == pytest.approx([20, 100], abs=0.5)
    ordered = detect.order_corners(corners[[2, 0, 3, 1]])
    assert ordered[0][1] < ordered[3][1] and ordered[0][0] < ordered[1][0]  # TL, TR, BR, BL


def test_boxes_from_a_probability_map():
    prob = np.zeros((200, 300), dtype=np.float32)
    prob[40:60, 20:220] = 0.9  # a line of text
    prob[120:150, 200:260] = 0.8  # a shorter, taller one
    prob[180:182, 10:12] = 0.9  # a speck: too small
    prob[90:100, 20:200] = 0.35  # above the binary threshold, under the box threshold
    boxes = detect.boxes_from_map(prob, scale_x=2.0, scale_y=2.0)
    assert len(boxes) == 2
    (b1, s1), (b2, s2) = sorted(boxes, key=lambda b: b[0][0, 1])
    # Unclipped (grown) by area * 1.6 / perimeter on every side, then scaled x2 to photo pixels.
    assert b1[0, 1] < 80 and b1[2, 1] > 120 and b1[0, 0] < 40 and b1[1, 0] > 440
    # Scores are the mean probability over each region (its one-pixel dilation included).
    assert 0.8 < s1 < 0.9 and 0.7 < s2 < 0.8


def test_ctc_greedy_decoding_merges_repeats_and_drops_blanks():
    chars = ["A", "B", "0"]
    decoder = CtcDecoder(chars)
    seq = [1, 1, 0, 1, 2, 2, 0, 0, 3, 4]  # A A - A B B - - 0 space
    probs = np.full((1, len(seq), len(chars) + 2), 0.01, dtype=np.float32)
    for t, k in enumerate(seq):
        probs[0, t, k] = 0.9
    (text, conf, end), = decoder.decode_with_end(probs)
    assert text == "AAB0 " and conf == pytest.approx(0.9) and end == 10


def test_latin_only_decoding_ignores_other_scripts():
    decoder = CtcDecoder(["O", "〇"])
    probs = np.zeros((1, 2, 4), dtype=np.float32)
    probs[0, 0, 2] = 0.6  # the CJK ring
    probs[0, 0, 1] = 0.3  # the letter O
    probs[0, 1, 0] = 1.0
    assert decoder.decode(probs)[0][0] == "O"


@pytest.mark.slow
def test_reads_a_generated_door_photo():
    from inference.ocr.reading import read_numbers

    rgb, truth = make_door(9, width=1200, height=900, bad_check_rate=0.0)
    assert check_digit(truth.container_number[:10]) == int(truth.container_number[10])
    reading = read_numbers(rgb)
    assert reading.container_number == truth.container_number
    assert reading.container_check == "valid"
    assert reading.seal_number == truth.seal_number
    fields = reading.to_json()
    assert {"container_number", "container_check", "seal_number", "text_lines"} <= fields.keys()
    texts = [t["text"] for t in fields["text_lines"]]
    assert any(truth.seal_number in t for t in texts)
    for t in fields["text_lines"]:
        assert 0.5 <= t["confidence"] <= 1 and len(t["box"]) == 4
        assert all(0 <= x <= 1200 and 0 <= y <= 900 for x, y in t["box"])
    json.dumps(fields)  # plain JSON types only


@pytest.mark.slow
def test_a_painted_wrong_check_digit_is_flagged():
    from inference.ocr.reading import read_numbers

    for seed in range(100, 140):  # the first generated door painted with a wrong check digit
        rgb, truth = make_door(seed, width=1200, height=900, bad_check_rate=1.0)
        reading = read_numbers(rgb)
        if reading.container_number == truth.container_number:
            assert reading.container_check == "bad-check-digit"
            return
    pytest.fail("no generated door with a wrong check digit was read")
