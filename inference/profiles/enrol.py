"""Enrolling a seal profile: photos of intact seals → patch features → memory bank → threshold.

Each photo also gives the bank its enrolment copies (:data:`ENROL_COPIES`, turned by ±15°;
:mod:`inference.profiles.augment`); the threshold is set on the photos themselves, never on copies.

Everything runs through the pack's Inspector (the same decoding, preprocessing and ONNX session
as classifying), so a profile's features are exactly those a judged photo gets. A blank or noise
frame is left out and reported, never enrolled; the pack's out-of-domain check is not applied
(the site's own seals define the domain of its profile).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from inference.errors import TilikError
from inference.imageio import ImageSource, load_image
from inference.preprocess import fit_to_input, to_tensor
from inference.profiles.augment import check as check_copies
from inference.profiles.augment import copy_of
from inference.profiles.bank import (CORESET_RATIO, FUSION_WEIGHT, alarm_logits, build_bank, fold_scores, fuse,
                                     l2_normalise, spread, threshold_at)
from inference.profiles.store import Profile, ProfileError, ProfileStore

MIN_PHOTOS = 10
MAX_PHOTOS = 200
FALSE_ALARM_RATE = 0.02
FOLDS = 5
# Each enrolled photo also enters the bank as these copies (inference.profiles.augment): turned by
# ±15° they cover a seal photographed at a slightly different angle. Chosen on development data only
# by a rule fixed in advance (benchmarks/profiles_dev/README.md, round11.py: over three enrolment
# draws, second renderer fused accuracy 0.850 → 0.864, ROC-AUC 0.908 → 0.913; own generator 0.876 →
# 0.879, 0.948 → 0.947; mirror, ±30° and zoom copies added less or cost the own generator's sets).
ENROL_COPIES: tuple[str, ...] = ("rotate:15", "rotate:-15")
THUMB_PX = 96


@dataclass(frozen=True)
class Skipped:
    """A photo left out of the profile, and why (plain words)."""

    source: str
    reason: str


@dataclass(frozen=True)
class Enrolment:
    profile: Profile
    skipped: tuple[Skipped, ...]
    seconds: float


def _thumb(rgb: np.ndarray) -> bytes:
    img = Image.fromarray(np.ascontiguousarray(rgb))
    img.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@dataclass(frozen=True)
class Features:
    """What enrolment takes from the photos the pack accepts."""

    maps: np.ndarray          # N×H×W×C patch features
    p_alarm: np.ndarray       # N: the classifier's summed probability of the pack's alarming classes
    copies: np.ndarray        # K×N×H×W×C patch features of the photos' enrolment copies (K = 0: none)
    sources: list[str]
    thumbs: list[bytes]
    shas: list[str]
    skipped: list[Skipped]


def alarm_probability(manifest: Any, probs: np.ndarray) -> np.ndarray:
    """The summed probability of the pack's alarming classes per row of ``probs`` (N×classes), as the
    Inspector computes it (0 when the pack names none: the fused score is then the distance alone)."""
    names = list(manifest.class_names)
    idx = [names.index(n) for n in manifest.decision.alarming]
    return np.asarray(probs, dtype=np.float64)[:, idx].sum(axis=1)


def feature_maps(inspector: Any, images: Sequence[ImageSource], names: Sequence[str] | None = None,
                 *, batch_size: int = 8, progress: Callable[[int, int], None] | None = None,
                 copies: Sequence[str] = ()) -> Features:
    """Patch features and the classifier's alarming probability of the photos the pack accepts,
    with their sources, thumbnails and SHA-256s, and the photos skipped (with the reason); with
    ``copies`` (codes of :mod:`inference.profiles.augment`), the patch features of each accepted
    photo's copies too."""
    copies = check_copies(copies)
    m = inspector.manifest
    if "patch_features" not in m.outputs:
        raise ProfileError(f"The pack '{m.id}' gives no patch features, so it cannot make seal profiles "
                           "(its manifest has no outputs.patch_features).")
    role_names = [m.outputs["patch_features"], m.outputs["probs"]]
    maps, alarms, sources, thumbs, shas, skipped = [], [], [], [], [], []
    copy_maps: list[list[np.ndarray]] = [[] for _ in copies]
    pending: list[tuple[str, np.ndarray, bytes, str]] = []
    pending_copies: list[np.ndarray] = []     # photo-major: the copies of pending[0], then of pending[1], ...

    def run(batch: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
        try:
            return inspector.loaded.session.run(outputs, {m.input.name: batch})
        except Exception as exc:  # onnxruntime's own exception types
            raise ProfileError(f"The model '{m.id}' failed to run: {exc}") from exc

    def flush() -> None:
        if not pending:
            return
        arrays = run(np.stack([p[1] for p in pending]), role_names)
        for start in range(0, len(pending_copies), batch_size):
            got = run(np.stack(pending_copies[start:start + batch_size]), role_names[:1])[0]
            for j, fmap in enumerate(got, start):
                copy_maps[j % len(copies)].append(np.asarray(fmap, dtype=np.float32))
        pending_copies.clear()
        p_alarm = alarm_probability(m, arrays[1])
        for i, (src, _, thumb, sha) in enumerate(pending):
            # The pack's out-of-domain check is not applied: it was fitted to the pack's training
            # renders, and the site's own seals are what the profile is for (it refused 30-45% of
            # another renderer's intact seal photos). Only blank and noise frames are left out.
            maps.append(np.asarray(arrays[0][i], dtype=np.float32))
            alarms.append(float(p_alarm[i]))
            sources.append(src)
            thumbs.append(thumb)
            shas.append(sha)
        pending.clear()

    for index, image in enumerate(images):
        label = names[index] if names is not None else (str(image) if not isinstance(image, np.ndarray) else
                                                         f"camera frame {index + 1}")
        try:
            decoded = load_image(image, name=label, shrink=inspector._shrink)
        except TilikError as exc:
            skipped.append(Skipped(label, str(exc)))
            continue
        fitted, _ = fit_to_input(decoded.rgb, m.input)
        from inference.content import content_stats

        problem = content_stats(fitted).problem_code
        if problem is not None:
            skipped.append(Skipped(label, "the image is blank" if problem == "blank_image" else "the image is noise"))
            continue
        pending.append((label, to_tensor(fitted, m.input), _thumb(decoded.rgb), decoded.sha256))
        for spec in copies:
            pending_copies.append(to_tensor(fit_to_input(copy_of(decoded.rgb, spec), m.input)[0], m.input))
        if len(pending) >= batch_size:
            flush()
        if progress:
            progress(index + 1, len(images))
    flush()
    stacked = np.stack(maps) if maps else np.zeros((0, 1, 1, 1), np.float32)
    copied = (np.stack([np.stack(c) for c in copy_maps]) if copies and maps
              else np.zeros((0,) + stacked.shape, np.float32))
    return Features(stacked, np.asarray(alarms, dtype=np.float64), copied, sources, thumbs, shas, skipped)


def enrol(inspector: Any, name: str, images: Sequence[ImageSource], *, names: Sequence[str] | None = None,
          false_alarm_rate: float = FALSE_ALARM_RATE, store: ProfileStore | None = None,
          progress: Callable[[int, int], None] | None = None,
          copies: Sequence[str] | None = None) -> Enrolment:
    """Build and save a profile named ``name`` from photos of intact seals of one type."""
    import time

    t0 = time.perf_counter()
    if not 0.0 < false_alarm_rate < 0.5:
        raise ProfileError("The false-alarm rate of a profile must be between 0 and 0.5.")
    if len(images) > MAX_PHOTOS:
        raise ProfileError(f"{len(images)} photos given; a profile takes at most {MAX_PHOTOS}.")
    if len(images) < MIN_PHOTOS:
        raise ProfileError(f"{len(images)} photos given; a profile needs at least {MIN_PHOTOS} photos of intact "
                           "seals of one type (20 to 50 is better).", code="profile_few_photos",
                           params={"n": len(images), "minimum": MIN_PHOTOS})
    store = store or ProfileStore()
    copies = ENROL_COPIES if copies is None else tuple(copies)
    got = feature_maps(inspector, images, names, progress=progress, copies=copies)
    maps, sources, thumbs, shas, skipped = got.maps, got.sources, got.thumbs, got.shas, got.skipped
    if len(maps) < MIN_PHOTOS:
        why = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5])
        raise ProfileError(f"Only {len(maps)} of the {len(images)} photos could be used (at least {MIN_PHOTOS} are "
                           f"needed). Left out: {why}.", code="profile_few_photos",
                           params={"n": len(maps), "minimum": MIN_PHOTOS})
    seed = 0
    maps = l2_normalise(maps)
    copy_maps = l2_normalise(got.copies) if copies else None
    scores = fold_scores(maps, FOLDS, CORESET_RATIO, seed=seed, copies=copy_maps)
    # The score that decides: the fold distances and the classifier's logits, each standardised on
    # the enrolled photos, added (inference.profiles.bank.fuse); its threshold from the same photos.
    stats = {"distance": spread(scores, "distance"),
             "classifier": spread(alarm_logits(got.p_alarm), "classifier")}
    fused = fuse(scores, got.p_alarm, stats, FUSION_WEIGHT)
    threshold = threshold_at(fused, false_alarm_rate)
    bank = build_bank(maps, CORESET_RATIO, seed=seed, copies=copy_maps)
    m = inspector.manifest
    content = {
        "name": name,
        "pack": {"id": m.id, "version": m.version, "model_sha256": m.model.sha256,
                 "manifest_sha256": m.sha256, "output": m.outputs["patch_features"]},
        "feature_shape": list(maps.shape[1:]),
        "coreset_ratio": CORESET_RATIO,
        "enrol_copies": list(copies),
        "normalise": "l2",
        "seed": seed,
        "score": {"method": "fused", "weight": FUSION_WEIGHT, **stats,
                  "classifier_output": m.outputs["probs"], "alarming": list(m.decision.alarming),
                  "says": "z(largest patch distance) + weight * z(logit of the alarming probability), both "
                          "standardised on the enrolled photos"},
        "threshold": threshold,
        "distance_threshold": threshold_at(scores, false_alarm_rate),
        "false_alarm_rate": false_alarm_rate,
        "threshold_method": f"{FOLDS}-fold: each enrolled photo's patch distance scored against a bank of the "
                            f"other folds, fused with its classifier logit; the {100 * (1 - false_alarm_rate):g}th "
                            "percentile of those fused scores",
        "enrol_scores": [round(float(s), 6) for s in fused],
        "enrol_distances": [round(float(s), 6) for s in scores],
        "images": [{"source": s, "sha256": h} for s, h in zip(sources, shas)],
    }
    profile = store.save(content, bank, thumbs)
    return Enrolment(profile, tuple(skipped), time.perf_counter() - t0)


__all__ = ["ENROL_COPIES", "Enrolment", "FALSE_ALARM_RATE", "Features", "MIN_PHOTOS", "Skipped", "alarm_probability", "enrol",
           "feature_maps"]
