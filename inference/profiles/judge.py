"""Judging a photo with a seal profile, and combining that with the pack's own classifier.

The profile's verdict is a score against the threshold set on the enrolled photos
(``anomaly_score``). For a profile of format 2 the score is fused
(:func:`inference.profiles.bank.fuse`): the photo's largest patch distance to the enrolled intact
seals and the classifier's logit, each standardised on the enrolled photos, so the classifier's
evidence is read on the site's own scale. A format-1 profile scores the patch distance alone.
How the two are combined was measured (``benchmarks/profiles.py``, the card's "Profiles" section)
and is fixed here, in one place:

- the profile decides the class (``damaged`` when its score is above its threshold): on a site's
  own seals it is the better judge of what is normal there;
- when the classifier disagrees (its damage probability on the other side of the pack's alarm
  threshold), the verdict needs a person's review (reason ``profile_disagrees``), so neither
  model's alarm is ever silently dropped.

Every verdict made this way carries the note ``profile_judged`` with the profile's name, id and
hash, and the result's heatmap is the anomaly map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.profiles.bank import fuse, l2_normalise, score_maps
from inference.profiles.store import Profile


# Where the profile's distance threshold lands on the maps judge() returns (1 = twice the threshold).
MAP_AT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ProfileVerdict:
    """What the profile said about one photo (JSON: ``profile`` and ``anomaly_score``)."""

    name: str
    id: str
    sha256: str
    anomaly_score: float
    threshold: float
    false_alarm_rate: float
    distance: float | None = None     # the largest patch distance (what the map shows), when the score is fused

    @property
    def damaged(self) -> bool:
        return self.anomaly_score > self.threshold

    def as_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "id": self.id, "hash": self.sha256,
               "threshold": round(self.threshold, 6), "false_alarm_rate": self.false_alarm_rate,
               "says": "damaged" if self.damaged else "intact"}
        if self.distance is not None:
            out["patch_distance"] = round(self.distance, 6)
        return out


def judge(profile: Profile, feature_maps: np.ndarray, p_alarm: np.ndarray | None = None
          ) -> tuple[list[ProfileVerdict], np.ndarray]:
    """Score N×H×W×C feature maps (and, for a fused profile, the classifier's N alarming
    probabilities); returns a verdict per photo and the N×H×W anomaly maps scaled so that the
    profile's distance threshold is 0.5 (0 = like the enrolled seals, 1 = twice the threshold):
    the same colours mean the same distance on every photo, unlike a per-photo normalisation."""
    c = profile.content
    if c.get("normalise") == "l2":
        feature_maps = l2_normalise(feature_maps)
    scored = score_maps(feature_maps, profile.bank)
    far = float(c["false_alarm_rate"])
    rule = c.get("score") or {}
    if rule.get("method") == "fused":
        if p_alarm is None or len(p_alarm) != len(scored.scores):
            raise ValueError("a fused seal profile needs the classifier's alarming probability of every photo")
        fused = fuse(scored.scores, np.asarray(p_alarm), rule, float(rule["weight"]))
        verdicts = [ProfileVerdict(profile.name, profile.id, profile.sha256, float(f), profile.threshold, far, float(d))
                    for f, d in zip(fused, scored.scores)]
        map_scale = float(c["distance_threshold"])
    else:
        verdicts = [ProfileVerdict(profile.name, profile.id, profile.sha256, float(s), profile.threshold, far)
                    for s in scored.scores]
        map_scale = profile.threshold
    maps = np.clip(scored.maps * np.float32(MAP_AT_THRESHOLD / map_scale), 0.0, 1.0).astype(np.float32)
    return verdicts, maps


def combine(verdict: ProfileVerdict, classifier_alarm: bool) -> tuple[bool, bool]:
    """(damaged, needs_review) from the profile's verdict and the classifier's alarm."""
    return verdict.damaged, verdict.damaged != bool(classifier_alarm)


__all__ = ["MAP_AT_THRESHOLD", "ProfileVerdict", "combine", "judge"]
