"""The content check: blank frames and pure noise are out of domain for every pack, real photos are not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared_data import shared_data
from inference.content import MIN_CONTRAST, MIN_STRUCTURE, content_stats
from inference.imageio import load_image
from inference.inspector import Inspector
from inference.registry import check_pack
from tiny_models import solid, write_pack

REPO = Path(__file__).resolve().parents[2]


def _noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


@pytest.mark.parametrize("image, words", [
    (np.full((300, 400, 3), 128, np.uint8), "blank"),
    (np.zeros((480, 640, 3), np.uint8), "blank"),
    (np.full((1, 1, 3), 200, np.uint8), "blank"),
    (_noise((240, 320)), "noise"),
    (_noise((37, 53)), "noise"),
])
def test_blank_and_noise_images_have_a_plain_words_problem(image, words):
    problem = content_stats(image).problem
    assert problem is not None and words in problem


def test_a_shaded_photo_like_image_passes():
    stats = content_stats(solid("red"))
    assert stats.contrast > MIN_CONTRAST and stats.structure > 0.9 and stats.problem is None


def test_inspector_refuses_a_grey_frame_whatever_the_feature_score(tmp_path):
    inspector = Inspector(check_pack(write_pack(tmp_path / "colour")), "cpu")
    grey = inspector.classify(np.full((60, 80, 3), 128, np.uint8))
    assert grey.out_of_domain and grey.needs_review
    assert any("blank" in r for r in grey.review_reasons)
    photo = inspector.classify(solid("green"))
    assert not photo.out_of_domain and not photo.needs_review


def test_bundled_self_test_samples_all_pass():
    files = [REPO / "resources" / "samples" / d.name / e["file"]
             for d in (REPO / "resources" / "samples").iterdir() if (d / "samples.json").is_file()
             for e in json.loads((d / "samples.json").read_text(encoding="utf-8"))]
    assert files
    for f in files:
        assert content_stats(load_image(f).rgb).problem is None, f


@pytest.mark.parametrize("folder, pattern, limit", [
    ("skin-ham10000", "**/*.jpg", 600),
    ("imagenet-samples", "images/**/*", 300),
    ("signatures-cedar", "**/*.jpg", 600),
])
def test_no_real_image_of_the_shared_data_sets_is_refused(folder, pattern, limit):
    root = shared_data(folder)
    files = sorted(p for p in root.glob(pattern) if p.is_file())[:limit]
    assert files
    stats = {f: content_stats(load_image(f).rgb) for f in files}
    refused = [f for f, s in stats.items() if s.problem]
    assert not refused, refused[:3]
    # Margins measured on all images of the three sets: contrast >= 4.8, structure >= 0.44.
    assert min(s.contrast for s in stats.values()) > 2 * MIN_CONTRAST
    assert min(s.structure for s in stats.values()) > 1.5 * MIN_STRUCTURE
