"""Tilik's headless inference core.

Loads model packs (``models/<pack-id>/manifest.json`` + ONNX files), checks them, runs them with
onnxruntime and returns typed results. Imports neither Qt nor TensorFlow, so it runs in tests,
on the command line and behind the desktop app alike.
"""

# Before anything can import onnxruntime (see inference/privacy.py).
from inference.privacy import disable_telemetry

disable_telemetry()

from inference.errors import (  # noqa: E402
    ImageReadError,
    InferenceError,
    ManifestError,
    PackError,
    PackUnusableError,
    ProviderError,
    TilikError,
)

__all__ = [
    "ImageReadError",
    "InferenceError",
    "ManifestError",
    "PackError",
    "PackUnusableError",
    "ProviderError",
    "TilikError",
]
