"""Signature verification at runtime (numpy, Pillow and onnxruntime only).

- :mod:`~inference.signature.preprocess`: Otsu binarisation, noise removal, ROI, canvas, Zhang–Suen.
- :mod:`~inference.signature.glcm`: GLCM and its properties (matches scikit-image).
- :mod:`~inference.signature.overlay`: red/green/yellow overlay of aligned query and reference.
- :mod:`~inference.signature.features`: per-image descriptors and (query, reference) dichotomy vectors.
- :mod:`~inference.signature.verifier`: :class:`~inference.signature.verifier.Verifier`, the API.

Nothing is imported here; import the submodule you need.
"""
