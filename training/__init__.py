"""Tilik's training side: regenerates every bundled model pack from data.

Imported by nothing in the app; run as ``python -m training SUBCOMMAND``. Uses TensorFlow-cpu/Keras
and scikit-learn, and writes ``models/<pack-id>/`` (ONNX + manifest.json + CARD.md).
"""
