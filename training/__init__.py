"""Tilik's training side: regenerates every bundled model pack from data.

Imported by nothing in the app; run as ``python -m training SUBCOMMAND``. Uses TensorFlow-cpu/Keras
and scikit-learn, and writes ``models/<pack-id>/`` (ONNX + manifest.json + CARD.md).
"""

import os as _os

# No telemetry (inference/privacy.py): training imports onnxruntime directly, so set it here first.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
