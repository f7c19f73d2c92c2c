"""The faster ``verify`` query (issues #28, #23) gives the same answers as before.

- registration: the coarse grid correlated in one batched FFT gives the same transform, score and
  registered ink as one FFT per candidate (the earlier form, written out here);
- ``verify(overlay=False)`` (``tilik verify`` without ``--overlay-dir``) skips registration and
  gives the same scores, verdict and reasons;
- normalisation without the Zhang–Suen skeleton gives the same canvas and ink.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.signature.overlay import pose
from inference.signature.preprocess import PreprocessOptions, dilate, normalize
from inference.signature.register import (ANGLES_DEG, COARSE, MAX_SHIFT, SCALE_STEPS, _down, _shift_of, _shifts_of,
                                          _warp, register)
from tests.inference.signature.sig_fixtures import draw_signature

REPO = Path(__file__).resolve().parents[3]
PACK = REPO / "models" / "signature-verify"
SAMPLES = REPO / "resources" / "samples" / "signature-verify"
OPTS = PreprocessOptions(canvas_height=96, canvas_width=192, margin=6, min_component_px=4)


def _one_fft_per_candidate(query: np.ndarray, reference: np.ndarray, tolerance: int = 2):
    """The registration as it was before the batched search (one rfft2 of both maps per candidate)."""
    q, r = np.asarray(query, bool), np.asarray(reference, bool)
    pq, pr = pose(q), pose(r)
    s0 = pr.scale / pq.scale
    f = COARSE
    qh = dilate(_down(q, f), 1).astype(np.float32)
    rh = dilate(_down(r, f), 1).astype(np.float32)
    max_shift = max(2, int(MAX_SHIFT * min(qh.shape)))
    best = (-1.0, 1.0, 0.0)
    for k in SCALE_STEPS:
        for ang in ANGLES_DEG:
            warped = _warp(qh, (pq.cy / f, pq.cx / f), (pr.cy / f, pr.cx / f), s0 * k, ang, Image.Resampling.BILINEAR)
            fq, fr = np.fft.rfft2(warped), np.fft.rfft2(rh)
            corr = np.fft.irfft2(fr * np.conj(fq), s=warped.shape)
            h, w = warped.shape
            ys = np.r_[0:max_shift + 1, h - max_shift:h]
            xs = np.r_[0:max_shift + 1, w - max_shift:w]
            sub = corr[np.ix_(ys, xs)]
            i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
            den = float(np.sqrt(np.sum(warped * warped) * np.sum(rh * rh)))
            c = float(sub[i, j] / den) if den > 0 else 0.0
            if c > best[0]:
                best = (c, s0 * k, ang)
    _, scale, ang = best
    qd = dilate(q, tolerance).astype(np.float32)
    rd = dilate(r, tolerance).astype(np.float32)
    warped = _warp(qd, (pq.cy, pq.cx), (pr.cy, pr.cx), scale, ang, Image.Resampling.BILINEAR)
    dy, dx, c = _shift_of(warped, rd, f * max_shift)
    ink = _warp(q.astype(np.uint8) * 255, (pq.cy, pq.cx), (pr.cy + dy, pr.cx + dx), scale, ang,
                Image.Resampling.BILINEAR) >= 128
    return float(scale), float(ang), (float(dy), float(dx)), float(min(max(c, 0.0), 1.0)), ink


def _masks() -> list[np.ndarray]:
    out = [normalize(draw_signature(kind, shift=s, width=w), OPTS).mask
           for kind in ("loops", "zigzag") for s, w in ((0, 4), (7, 3), (-5, 5))]
    if SAMPLES.is_dir():  # the shipped scans, at the bundled pack's canvas size
        out += [normalize(np.asarray(Image.open(p).convert("RGB")), PreprocessOptions(canvas_height=192,
                canvas_width=384, margin=8)).mask for p in sorted(SAMPLES.glob("w36_*.jpg"))[:4]]
    return out


def test_batched_registration_is_the_per_candidate_search_to_the_last_bit():
    masks = _masks()
    pairs = [(a, b) for i, a in enumerate(masks) for b in masks[i + 1:i + 3] if a.shape == b.shape]
    assert len(pairs) >= 8
    for q, r in pairs:
        got = register(q, r)
        scale, ang, shift, score, ink = _one_fft_per_candidate(q, r)
        assert (got.scale, got.angle_deg, got.shift, got.score) == (scale, ang, shift, score)
        assert np.array_equal(got.aligned, ink)


def test_shifts_of_a_stack_equal_one_map_at_a_time():
    rng = np.random.default_rng(3)
    stack = (rng.random((6, 24, 48)) > 0.7).astype(np.float32)
    ref = (rng.random((24, 48)) > 0.7).astype(np.float32)
    batched = _shifts_of(stack, np.fft.rfft2(ref), np.sum(ref * ref), 6)
    assert batched == [_shift_of(m, ref, 6) for m in stack]


def test_normalise_without_skeleton_keeps_canvas_and_ink():
    img = draw_signature("loops", shift=3)
    full = normalize(img, OPTS)
    lean = normalize(img, OPTS, skeleton=False)
    assert lean.skeleton is None and full.skeleton is not None
    assert np.array_equal(full.canvas, lean.canvas) and np.array_equal(full.mask, lean.mask)
    assert (full.bbox, full.canvas_box, full.threshold) == (lean.bbox, lean.canvas_box, lean.threshold)
    # a skeletonising pack draws its canvas from the skeleton: thinned whatever the caller asked
    skel = OPTS.with_(skeletonize=True)
    assert np.array_equal(normalize(img, skel, skeleton=False).canvas, normalize(img, skel).canvas)


@pytest.fixture(scope="module")
def bundled():
    if not (PACK / "manifest.json").is_file():
        pytest.skip("models/signature-verify is not in this checkout")
    from inference.registry import check_pack
    from inference.signature.verifier import Verifier

    return Verifier(check_pack(PACK, "bundled"), "cpu")


def _sample_set() -> tuple[list[Path], list[Path]]:
    entries = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    entry = next(e for e in entries if len(e["references"]) >= 5)
    return [SAMPLES / r for r in entry["references"][:5]], [SAMPLES / e["file"] for e in entries]


def test_verify_without_overlay_gives_the_same_answers(bundled):
    refs, queries = _sample_set()
    for q in queries:
        with_ov = bundled.verify(q, refs)
        without = bundled.verify(q, refs, overlay=False)
        assert with_ov.overlay is not None and set(with_ov.overlay_counts) >= {"yellow", "matched"}
        assert without.overlay is None and without.overlay_counts is None
        assert "registration" in with_ov.details and "registration" not in without.details
        assert (with_ov.score, with_ov.reference_scores, with_ov.label, with_ov.review_reasons, with_ov.threshold) \
            == (without.score, without.reference_scores, without.label, without.review_reasons, without.threshold)
        assert without.to_json_dict()["overlay_counts"] is None


def test_cli_registers_only_for_an_overlay(bundled, tmp_path, capsys):
    from tilik.cli import main

    refs, queries = _sample_set()
    args = ["verify", "--json", "-r", *map(str, refs), "--", str(queries[0])]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert main(args[:2] + ["--overlay-dir", str(tmp_path)] + args[2:]) == 0
    drawn = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert plain["overlay"] is None and plain["overlay_counts"] is None
    assert Path(drawn["overlay"]).is_file() and drawn["overlay_counts"]["matched"] > 0
    assert (plain["score"], plain["reference_scores"], plain["label"]) == \
        (drawn["score"], drawn["reference_scores"], drawn["label"])
