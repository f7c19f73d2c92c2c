"""Seal profiles (issue 25): learn what a site's intact seals look like from 10-50 photos, no
training run, and flag what departs from them, with a map of where.

- :mod:`inference.profiles.bank`: the memory bank (coreset of patch features) and its scores;
- :mod:`inference.profiles.store`: profiles on disk, hashed, retired never deleted;
- :mod:`inference.profiles.enrol`: photos → profile, through the pack's ONNX model;
- :mod:`inference.profiles.judge`: a photo's verdict from a profile, combined with the classifier.

The patch features come from the pack's own ONNX file (``outputs.patch_features``, added by
``python -m training.pipeline.patch_features``): no per-pack code.
"""

from inference.profiles.store import Profile, ProfileError, ProfileStore

__all__ = ["Profile", "ProfileError", "ProfileStore"]
