"""Judging a photo with a seal profile, and combining that with the pack's own classifier.

The profile's verdict is a distance: the photo's largest patch distance to the enrolled intact
seals (``anomaly_score``) against the threshold set on the enrolled photos. How it is combined
with the classifier's damage probability was measured (``benchmarks/profiles.py``, the card's
"Profiles" section) and is fixed here, in one place:

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

from inference.profiles.bank import score_maps
from inference.profiles.store import Profile


@dataclass(frozen=True)
class ProfileVerdict:
    """What the profile said about one photo (JSON: ``profile`` and ``anomaly_score``)."""

    name: str
    id: str
    sha256: str
    anomaly_score: float
    threshold: float
    false_alarm_rate: float

    @property
    def damaged(self) -> bool:
        return self.anomaly_score > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "hash": self.sha256,
                "threshold": round(self.threshold, 6), "false_alarm_rate": self.false_alarm_rate,
                "says": "damaged" if self.damaged else "intact"}


def judge(profile: Profile, feature_maps: np.ndarray) -> tuple[list[ProfileVerdict], np.ndarray]:
    """Score N×H×W×C feature maps; returns a verdict per photo and the N×H×W anomaly maps scaled
    so that the profile's threshold is 0.5 (0 = like the enrolled seals, 1 = twice the threshold):
    the same colours mean the same distance on every photo, unlike a per-photo normalisation."""
    scored = score_maps(feature_maps, profile.bank)
    verdicts = [ProfileVerdict(profile.name, profile.id, profile.sha256, float(s), profile.threshold,
                               float(profile.content["false_alarm_rate"])) for s in scored.scores]
    maps = np.clip(scored.maps / np.float32(2.0 * profile.threshold), 0.0, 1.0).astype(np.float32)
    return verdicts, maps


def combine(verdict: ProfileVerdict, classifier_alarm: bool) -> tuple[bool, bool]:
    """(damaged, needs_review) from the profile's verdict and the classifier's alarm."""
    return verdict.damaged, verdict.damaged != bool(classifier_alarm)


__all__ = ["ProfileVerdict", "combine", "judge"]
